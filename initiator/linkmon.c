/* Link monitor: an rtnetlink socket (libnl) on the libev loop, a table of links, change reports. */
#include "initiator/linkmon.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"

#define RECV_BUF_SIZE     (64 * 1024)   /* larger than any one link dump datagram */
#define DEFAULT_RCVBUF    (1024 * 1024)
#define INITIAL_DUMP_MS   2000
#define DUMP_WATCHDOG_S   5.0           /* a dump that never ends is restarted */
#define DUMP_RETRY_S      0.1           /* after a failed dump request */
#define MAX_DGRAMS_PER_CB 64            /* let other watchers run during a storm */

_Static_assert(MP_IFNAMSIZ == IFNAMSIZ, "MP_IFNAMSIZ must match the kernel's IFNAMSIZ");

bool mp_link_is_up(unsigned flags, int operstate)
{
	if (!(flags & IFF_UP))
		return false;
	if (operstate < 0)
		return (flags & IFF_RUNNING) != 0;
	if (!(flags & IFF_LOWER_UP))
		return false;
	return operstate == IF_OPER_UP || operstate == IF_OPER_UNKNOWN;
}

static int parse_einval(void)
{
	errno = EINVAL;
	return -1;
}

int mp_linkmon_parse(const void *buf, size_t len, struct mp_link_msg *out)
{
	const struct nlmsghdr *h = buf;
	if (!buf || len < sizeof(*h) || h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len)
		return parse_einval();
	if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
		return 0;
	if (!nlmsg_valid_hdr(h, (int)sizeof(struct ifinfomsg)))
		return parse_einval();

	const struct ifinfomsg *ifi = nlmsg_data(h);
	struct mp_link_msg m = { .del = h->nlmsg_type == RTM_DELLINK, .ifindex = ifi->ifi_index,
				 .flags = ifi->ifi_flags, .operstate = -1 };
	if (m.ifindex <= 0)
		return parse_einval();

	bool have_name = false;
	const struct nlattr *a;
	int rem;
	nla_for_each_attr(a, nlmsg_attrdata(h, (int)sizeof(*ifi)), nlmsg_attrlen(h, (int)sizeof(*ifi)), rem) {
		const uint8_t *data = nla_data(a);
		int alen = nla_len(a);
		switch (nla_type(a)) {
		case IFLA_IFNAME: {
			const uint8_t *nul = alen > 0 ? memchr(data, 0, (size_t)alen) : NULL;
			if (!nul || nul == data || (size_t)(nul - data) >= sizeof(m.ifname))
				return parse_einval();
			memcpy(m.ifname, data, (size_t)(nul - data) + 1);
			have_name = true;
			break;
		}
		case IFLA_OPERSTATE:
			if (alen < 1)
				return parse_einval();
			m.operstate = data[0];
			break;
		default:
			break;
		}
	}
	/* A partial attribute header or an attribute running past the message. */
	if (rem > 0 || !have_name)
		return parse_einval();
	m.up = !m.del && mp_link_is_up(m.flags, m.operstate);
	*out = m;
	return 1;
}

/* ---- the monitor ---- */

struct link_ent {
	int ifindex;
	bool up;
	unsigned gen;            /* dump generation in which this link was last seen */
	char name[MP_IFNAMSIZ];
};

struct mp_linkmon {
	ev_io io;                /* first: the netlink socket */
	ev_timer timer;          /* dump watchdog, or retry of a failed dump request */
	struct ev_loop *loop;
	struct nl_sock *sk;
	int fd;
	mp_link_fn *fn;
	void *arg;
	struct link_ent *ents;
	size_t n, cap;
	uint32_t seq;            /* sequence number of the latest dump request */
	unsigned gen;            /* generation of the latest dump */
	bool dumping;            /* a dump is outstanding: its replies carry seq */
	bool dump_again;         /* it was overrun or interrupted: dump once more when it ends */
	bool initial;            /* no dump has completed yet: fill the table silently */
	bool dead;               /* mp_linkmon_free() was called from inside fn */
	int depth;               /* > 0 while a callback of ours is on the stack */
	unsigned resyncs;
	uint8_t *buf;
};

static void linkmon_destroy(struct mp_linkmon *m)
{
	ev_io_stop(m->loop, &m->io);
	ev_timer_stop(m->loop, &m->timer);
	if (m->sk)
		nl_socket_free(m->sk);   /* closes fd */
	free(m->ents);
	free(m->buf);
	free(m);
}

static void report(struct mp_linkmon *m, const char *name, int ifindex, bool up)
{
	if (m->initial || m->dead || !m->fn)
		return;
	mp_info("link %s (index %d) is %s", name, ifindex, up ? "up" : "down");
	m->depth++;
	m->fn(m->arg, name, ifindex, up);
	m->depth--;
}

static struct link_ent *find_index(struct mp_linkmon *m, int ifindex)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->ents[i].ifindex == ifindex)
			return &m->ents[i];
	return NULL;
}

/* Remove entry e; report it down under its name if it was up. */
static void remove_ent(struct mp_linkmon *m, struct link_ent *e)
{
	struct link_ent old = *e;
	*e = m->ents[--m->n];
	if (old.up)
		report(m, old.name, old.ifindex, false);
}

static int add_ent(struct mp_linkmon *m, const struct mp_link_msg *lm)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct link_ent *e = realloc(m->ents, cap * sizeof(*e));
		if (!e)
			return -1;
		m->ents = e;
		m->cap = cap;
	}
	struct link_ent *e = &m->ents[m->n++];
	e->ifindex = lm->ifindex;
	e->up = lm->up;
	e->gen = m->gen;
	memcpy(e->name, lm->ifname, sizeof(e->name));
	return 0;
}

static void apply(struct mp_linkmon *m, const struct mp_link_msg *lm)
{
	struct link_ent *e = find_index(m, lm->ifindex);
	if (lm->del) {
		if (e)
			remove_ent(m, e);
		return;
	}
	if (e && strcmp(e->name, lm->ifname) != 0) {
		remove_ent(m, e);   /* renamed: the old name is gone */
		e = NULL;
	}
	if (!e) {
		if (add_ent(m, lm) != 0) {
			/* Lost track of one link: read the whole table again later. */
			mp_err("link monitor: out of memory for link %s", lm->ifname);
			m->dump_again = true;
			return;
		}
		report(m, lm->ifname, lm->ifindex, lm->up);
		return;
	}
	e->gen = m->gen;
	if (e->up != lm->up) {
		e->up = lm->up;
		report(m, e->name, e->ifindex, e->up);
	}
}

static void start_dump(struct mp_linkmon *m)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = RTM_GETLINK;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = ++m->seq;
	req.i.ifi_family = AF_UNSPEC;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	ev_timer_stop(m->loop, &m->timer);
	if (sendto(m->fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		mp_warn("link monitor: link table request failed: %s; retrying", strerror(errno));
		m->dumping = false;
		ev_timer_set(&m->timer, DUMP_RETRY_S, 0.);
	} else {
		m->dumping = true;
		m->dump_again = false;
		m->gen++;
		ev_timer_set(&m->timer, DUMP_WATCHDOG_S, 0.);
	}
	ev_timer_start(m->loop, &m->timer);
}

/* The table may be stale (overrun, truncation): read it again, now or after the dump in flight. */
static void resync(struct mp_linkmon *m, const char *why)
{
	m->resyncs++;
	mp_warn("link monitor: %s; re-reading the link table", why);
	if (m->dumping)
		m->dump_again = true;
	else
		start_dump(m);
}

static void dump_done(struct mp_linkmon *m)
{
	m->dumping = false;
	ev_timer_stop(m->loop, &m->timer);
	if (m->dump_again) {
		start_dump(m);
		return;
	}
	/* Links the complete dump did not list are gone (their RTM_DELLINK was lost). */
	for (size_t i = m->n; i-- > 0;)
		if (m->ents[i].gen != m->gen)
			remove_ent(m, &m->ents[i]);
	m->initial = false;
}

static void process(struct mp_linkmon *m, const uint8_t *buf, size_t len)
{
	int rem = (int)len;
	for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
		bool ours = m->dumping && h->nlmsg_seq == m->seq;
		if (ours && (h->nlmsg_flags & NLM_F_DUMP_INTR))
			m->dump_again = true;   /* the table changed during the dump */
		switch (h->nlmsg_type) {
		case NLMSG_DONE:
			if (ours)
				dump_done(m);
			break;
		case NLMSG_ERROR:
			if (ours) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				int err = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) ? -e->error : EPROTO;
				mp_warn("link monitor: link table dump failed: %s; retrying", strerror(err));
				m->dumping = false;
				ev_timer_stop(m->loop, &m->timer);
				ev_timer_set(&m->timer, DUMP_RETRY_S, 0.);
				ev_timer_start(m->loop, &m->timer);
			}
			break;
		case NLMSG_OVERRUN:
			resync(m, "netlink overrun");
			break;
		default: {
			struct mp_link_msg lm;
			int r = mp_linkmon_parse(h, h->nlmsg_len, &lm);
			if (r < 0)
				mp_warn("link monitor: malformed link message (type %u, %u bytes) ignored",
					h->nlmsg_type, h->nlmsg_len);
			else if (r > 0) {
				char ops[32] = "none";
				if (lm.operstate >= 0)
					rtnl_link_operstate2str((uint8_t)lm.operstate, ops, sizeof(ops));
				mp_debug("link monitor: %s %s index %d flags 0x%x operstate %s",
					 lm.del ? "del" : "new", lm.ifname, lm.ifindex, lm.flags, ops);
				apply(m, &lm);
			}
			break;
		}
		}
	}
}

/* Read one datagram. 1: handled (or skipped), 0: nothing more to read, -1: socket error. */
static int recv_one(struct mp_linkmon *m)
{
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = m->buf, .iov_len = RECV_BUF_SIZE };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(m->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0) {
		if (errno == EINTR)
			return 1;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ENOBUFS) {
			/* Events were dropped: the table may be stale. */
			resync(m, "netlink receive buffer overrun (ENOBUFS)");
			return 1;
		}
		mp_err("link monitor: netlink receive failed: %s", strerror(errno));
		return -1;
	}
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > RECV_BUF_SIZE) {
		resync(m, "truncated netlink message");
		return 1;
	}
	if (mh.msg_namelen < sizeof(from) || from.nl_pid != 0)
		return 1;   /* only the kernel speaks rtnetlink to us */
	process(m, m->buf, (size_t)n);
	return 1;
}

static void io_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents MP_UNUSED)
{
	struct mp_linkmon *m = (struct mp_linkmon *)w;
	m->depth++;
	for (int i = 0; i < MAX_DGRAMS_PER_CB && !m->dead; i++) {
		int r = recv_one(m);
		if (r <= 0)
			break;
	}
	m->depth--;
	if (m->dead && m->depth == 0)
		linkmon_destroy(m);
}

static void timer_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_linkmon *m = mp_container_of(w, struct mp_linkmon, timer);
	if (m->dumping)
		mp_warn("link monitor: link table dump did not finish in %.0f s; asking again", DUMP_WATCHDOG_S);
	m->dumping = false;
	start_dump(m);
}

static int set_rcvbuf(int fd, int bytes)
{
	/* SO_RCVBUFFORCE passes net.core.rmem_max when we have CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0)
		return 0;
	return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

int mp_linkmon_set_rcvbuf(struct mp_linkmon *m, int bytes)
{
	if (!m || bytes <= 0) {
		errno = EINVAL;
		return -1;
	}
	return set_rcvbuf(m->fd, bytes);
}

unsigned mp_linkmon_resyncs(const struct mp_linkmon *m) { return m->resyncs; }

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read until the first complete dump ended; bounded by INITIAL_DUMP_MS. */
static int initial_dump(struct mp_linkmon *m)
{
	int64_t deadline = now_ms() + INITIAL_DUMP_MS;
	while (m->initial) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* The loop's timers do not run yet: (re)send the request here, at most every 100 ms. */
		if (!m->dumping) {
			start_dump(m);
			if (!m->dumping) {
				poll(NULL, 0, (int)MP_MIN(left, (int64_t)100));
				continue;
			}
		}
		struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		while ((r = recv_one(m)) > 0 && m->initial)
			;
		if (r < 0)
			return -1;
	}
	return 0;
}

struct mp_linkmon *mp_linkmon_new(struct ev_loop *loop, mp_link_fn *fn, void *arg)
{
	struct mp_linkmon *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->loop = loop;
	m->fn = fn;
	m->arg = arg;
	m->initial = true;
	m->seq = (uint32_t)time(NULL);
	ev_io_init(&m->io, io_cb, -1, EV_READ);
	ev_timer_init(&m->timer, timer_cb, 0., 0.);
	int err = ENOMEM, r;
	m->buf = malloc(RECV_BUF_SIZE);
	m->sk = nl_socket_alloc();
	if (!m->buf || !m->sk)
		goto fail;
	if ((r = nl_connect(m->sk, NETLINK_ROUTE)) < 0 ||
	    (r = nl_socket_add_membership(m->sk, RTNLGRP_LINK)) < 0 ||
	    (r = nl_socket_set_nonblocking(m->sk)) < 0) {
		mp_err("link monitor: netlink socket: %s", nl_geterror(r));
		err = EIO;
		goto fail;
	}
	m->fd = nl_socket_get_fd(m->sk);
	if (set_rcvbuf(m->fd, DEFAULT_RCVBUF) != 0)
		mp_debug("link monitor: cannot grow the receive buffer: %s", strerror(errno));
	if (initial_dump(m) != 0) {
		err = errno;
		mp_err("link monitor: reading the link table: %s", strerror(err));
		goto fail;
	}
	ev_io_set(&m->io, m->fd, EV_READ);
	ev_io_start(loop, &m->io);
	mp_debug("link monitor: %zu links", m->n);
	return m;
fail:
	linkmon_destroy(m);
	errno = err;
	return NULL;
}

void mp_linkmon_free(struct mp_linkmon *m)
{
	if (!m || m->dead)
		return;
	if (m->depth > 0) {
		/* Inside our own callback: io_cb frees it when the stack unwinds. */
		m->dead = true;
		m->fn = NULL;
		ev_io_stop(m->loop, &m->io);
		ev_timer_stop(m->loop, &m->timer);
		return;
	}
	linkmon_destroy(m);
}

int mp_linkmon_is_up(const struct mp_linkmon *m, const char *ifname)
{
	if (!m || !ifname)
		return -1;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->ents[i].name, ifname) == 0)
			return m->ents[i].up ? 1 : 0;
	return -1;
}
