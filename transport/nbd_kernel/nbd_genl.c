/* One request to the kernel's "nbd" generic netlink family and its answer (see nbd_genl.h). */
#include "transport/nbd_kernel/nbd_genl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

struct nbd_genl {
	struct nl_sock *sk;
	int family;          /* -1 until "nbd" was found */
};

struct nbd_genl *nbd_genl_open(char *err, size_t errlen)
{
	struct nbd_genl *g = calloc(1, sizeof(*g));
	int r;

	if (!g || !(g->sk = nl_socket_alloc())) {
		free(g);
		snprintf(err, errlen, "netlink: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	g->family = -1;
	if ((r = genl_connect(g->sk)) < 0) {
		snprintf(err, errlen, "generic netlink socket: %s", nl_geterror(r));
		nl_socket_free(g->sk);
		free(g);
		errno = EIO;
		return NULL;
	}
	/* A kernel that never answers must not hold the daemon's loop for long. */
	struct timeval tv = { .tv_sec = NBD_GENL_TIMEOUT_MS / 1000, .tv_usec = (NBD_GENL_TIMEOUT_MS % 1000) * 1000 };
	setsockopt(nl_socket_get_fd(g->sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return g;
}

void nbd_genl_close(struct nbd_genl *g)
{
	if (!g)
		return;
	nl_socket_free(g->sk);
	free(g);
}

/* What one exchange collects. */
struct exch {
	uint8_t cmd;
	bool done;
	bool have_reply;
	int kerr;                /* the kernel's errno, 0 if it acknowledged */
	uint32_t index;          /* CONNECT */
	struct nbd_nl_dev *devs; /* STATUS */
	size_t max, n;
};

static int valid_cb(struct nl_msg *m, void *arg)
{
	struct exch *x = arg;
	struct nlmsghdr *h = nlmsg_hdr(m);

	if (x->cmd == NBD_CMD_CONNECT && nbd_nl_parse_connect_reply(h, &x->index) == 0)
		x->have_reply = true;
	else if (x->cmd == NBD_CMD_STATUS && nbd_nl_parse_status(h, x->devs, x->max, &x->n) == 0)
		x->have_reply = true;
	return NL_OK;
}

static int ack_cb(struct nl_msg *m, void *arg)
{
	(void)m;
	((struct exch *)arg)->done = true;
	return NL_STOP;
}

static int err_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct exch *x = arg;
	(void)who;
	x->kerr = e->error < 0 ? -e->error : e->error;
	x->done = true;
	return NL_STOP;
}

static const char *cmd_name(uint8_t cmd)
{
	switch (cmd) {
	case NBD_CMD_CONNECT: return "NBD_CMD_CONNECT";
	case NBD_CMD_DISCONNECT: return "NBD_CMD_DISCONNECT";
	case NBD_CMD_RECONFIGURE: return "NBD_CMD_RECONFIGURE";
	case NBD_CMD_STATUS: return "NBD_CMD_STATUS";
	}
	return "nbd netlink request";
}

static const char *kerr_hint(int e)
{
	switch (e) {
	case EBUSY: return " (the device is in use: pick another nbd device or free it)";
	case EPERM: return " (the daemon needs CAP_SYS_ADMIN)";
	case EINVAL: return " (the kernel refused the settings, or the device belongs to another backend)";
	case ENOSPC: return " (no free nbd device: load the module with a larger nbds_max)";
	}
	return "";
}

static int exchange(struct nbd_genl *g, const struct nbd_nl_config *cfg, struct exch *x, char *err, size_t errlen)
{
	if (g->family < 0) {
		int f = genl_ctrl_resolve(g->sk, NBD_GENL_FAMILY_NAME);
		if (f < 0) {
			snprintf(err, errlen, "the kernel has no \"nbd\" netlink family: the nbd module is not "
				 "loaded (run: modprobe nbd)");
			errno = ENODEV;
			return -1;
		}
		g->family = f;
	}
	struct nl_msg *m = nbd_nl_build(g->family, x->cmd, cfg);
	if (!m) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot build the message: %s", cmd_name(x->cmd), strerror(e));
		errno = e;
		return -1;
	}
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(m);
		snprintf(err, errlen, "netlink: out of memory");
		errno = ENOMEM;
		return -1;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, x);
	nl_cb_err(cb, NL_CB_CUSTOM, err_cb, x);
	int r = nl_send_auto(g->sk, m);
	nlmsg_free(m);
	/* Bounded: each receive waits at most NBD_GENL_TIMEOUT_MS (SO_RCVTIMEO); a few messages at most. */
	for (int i = 0; r >= 0 && !x->done && i < 16; i++) {
		r = nl_recvmsgs(g->sk, cb);
		if (x->done)
			break;
	}
	nl_cb_put(cb);
	if (x->kerr) {
		if (x->kerr == ENOENT || x->kerr == EOPNOTSUPP)
			g->family = -1;  /* the module went away: look it up again next time */
		snprintf(err, errlen, "%s: %s%s", cmd_name(x->cmd), strerror(x->kerr), kerr_hint(x->kerr));
		errno = x->kerr;
		return -1;
	}
	if (!x->done) {
		snprintf(err, errlen, "%s: no answer from the kernel (%s)", cmd_name(x->cmd),
			 r < 0 ? nl_geterror(r) : "timed out");
		g->family = -1;
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}

int nbd_genl_connect(struct nbd_genl *g, const struct nbd_nl_config *cfg, uint32_t *index, char *err, size_t errlen)
{
	struct exch x = { .cmd = NBD_CMD_CONNECT };
	if (exchange(g, cfg, &x, err, errlen) < 0)
		return -1;
	if (!x.have_reply) {
		snprintf(err, errlen, "NBD_CMD_CONNECT: the kernel did not say which device it attached");
		errno = EPROTO;
		return -1;
	}
	*index = x.index;
	return 0;
}

int nbd_genl_reconfigure(struct nbd_genl *g, const struct nbd_nl_config *cfg, char *err, size_t errlen)
{
	struct exch x = { .cmd = NBD_CMD_RECONFIGURE };
	return exchange(g, cfg, &x, err, errlen);
}

int nbd_genl_disconnect(struct nbd_genl *g, int index, char *err, size_t errlen)
{
	struct nbd_nl_config cfg = { .index = index };
	struct exch x = { .cmd = NBD_CMD_DISCONNECT };
	return exchange(g, &cfg, &x, err, errlen);
}

int nbd_genl_status(struct nbd_genl *g, int index, struct nbd_nl_dev *out, size_t max, size_t *n,
		    char *err, size_t errlen)
{
	struct nbd_nl_config cfg = { .index = index };
	struct exch x = { .cmd = NBD_CMD_STATUS, .devs = out, .max = max };
	*n = 0;
	if (exchange(g, &cfg, &x, err, errlen) < 0)
		return -1;
	if (!x.have_reply) {
		snprintf(err, errlen, "NBD_CMD_STATUS: no device list in the answer");
		errno = EPROTO;
		return -1;
	}
	*n = x.n;
	return 0;
}
