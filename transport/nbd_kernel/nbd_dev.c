/* The "nbd-device" front end: each disk as a kernel /dev/nbdN, attached over generic netlink with socketpairs served in transmission phase. */
#include "transport/export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/nbd-netlink.h>
#include "common/log.h"
#include "common/util.h"
#include "mpath/lu.h"
#include "transport/nbd/nbd_proto.h"
#include "transport/nbd_kernel/nbd_genl.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

#define SYS_BLOCK        "/sys/block"
#define REVIVE_FIRST_S   0.2   /* first retry: lets the kernel notice the old socket is dead */
#define REVIVE_MAX_S     30.0
#define SHORT_LIVED_S    2.0   /* a socket that dies this soon was probably refused (no dead slot) */
#define SLOT_GIVE_UP     3     /* consecutive short lives before a slot is left alone */

struct mp_export_fe_disk;

/* One of a disk's K connections. */
struct kslot {
	struct mp_export_fe_disk *k;
	struct nbd_conn *c;       /* NULL: no socket (dead in the kernel, or given up) */
	ev_tstamp since;          /* when the current socket was handed to the kernel */
	unsigned short_lived;     /* consecutive sockets that died within SHORT_LIVED_S */
	bool given_up;
};

struct mp_export_fe_disk {
	struct mp_export_fe *fe;
	struct mp_export_fe_disk *prev, *next;
	char name[64];
	char backend[260];        /* the LU designator: NBD_ATTR_BACKEND_IDENTIFIER */
	int index;                /* N of /dev/nbdN */
	struct mp_lu *lu;
	struct nbd_export_limits lim;
	struct mp_export_nbd_dev opt;
	struct kslot slots[MP_EXPORT_NBD_CONNECTIONS_MAX];
	unsigned n_slots;
	ev_timer revive;          /* replaces dead sockets (NBD_CMD_RECONFIGURE) */
	double backoff;
	bool draining;            /* removed: answering what it took, then NBD_CMD_DISCONNECT */
	bool in_drain_call;       /* inside remove: closes are counted afterwards */
};

struct mp_export_fe {
	struct ev_loop *loop;
	struct nbd_server *srv;   /* the kernel's connections; no listeners, no exports */
	struct nbd_genl *nl;
	struct mp_export_fe_disk *disks;     /* served */
	struct mp_export_fe_disk *draining;  /* removed, finishing */
	bool freeing;
};

static void list_add(struct mp_export_fe_disk **head, struct mp_export_fe_disk *k)
{
	k->prev = NULL;
	k->next = *head;
	if (*head)
		(*head)->prev = k;
	*head = k;
}

static void list_del(struct mp_export_fe_disk **head, struct mp_export_fe_disk *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		*head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->prev = k->next = NULL;
}

/*
 * A daemon that serves its own block device must never wait for that device to free
 * memory: under reclaim the kernel writes dirty pages of /dev/nbdN (or of a filesystem on
 * it) and waits for us to answer; if answering needs a page the kernel can only get by
 * writing to /dev/nbdN, both wait forever. PR_SET_IO_FLUSHER makes our allocations
 * behave as GFP_NOIO (reclaim never recurses into I/O) and exempts us from throttling of
 * dirty pages; mlockall keeps our own pages from being swapped out (a page fault that
 * must read swap back through a busy device would stall us the same way). Both are what
 * userspace NBD servers that back a local device (nbd-client, rbd-nbd) do.
 */
static void pin_memory(void)
{
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0)
		mp_warn("nbd-device: prctl(PR_SET_IO_FLUSHER): %s (needs CAP_SYS_RESOURCE); memory reclaim "
			"could deadlock on our own device", strerror(errno));
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		mp_warn("nbd-device: mlockall: %s (raise RLIMIT_MEMLOCK, LimitMEMLOCK=infinity); pages of the "
			"daemon may be swapped out to devices it serves", strerror(errno));
}

static struct mp_export_fe *dev_create(struct ev_loop *loop, const struct mp_export_config *cfg, char *err,
				       size_t errlen)
{
	nbd_tls_creds_unref(cfg ? cfg->tls : NULL);  /* the kernel's sockets never use TLS */
	struct mp_export_fe *fe = calloc(1, sizeof(*fe));
	if (!fe) {
		snprintf(err, errlen, "nbd-device: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	fe->loop = loop;
	fe->srv = nbd_server_new(loop);
	fe->nl = nbd_genl_open(err, errlen);
	if (!fe->srv || !fe->nl) {
		int e = fe->srv ? errno : ENOMEM;
		if (!fe->srv)
			snprintf(err, errlen, "nbd-device: out of memory");
		nbd_server_free(fe->srv);
		nbd_genl_close(fe->nl);
		free(fe);
		errno = e;
		return NULL;
	}
	pin_memory();
	return fe;
}

/* /sys/block/nbdN/FILE into buf without the newline; -1 if absent or unreadable. */
static int sysfs_read(int index, const char *file, char *buf, size_t n)
{
	char path[128];
	snprintf(path, sizeof(path), SYS_BLOCK "/nbd%d/%s", index, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The device a previous daemon attached for backend, or -1. */
static int find_attached(const char *backend)
{
	DIR *d = opendir(SYS_BLOCK);
	struct dirent *e;
	int found = -1;
	char b[300];

	if (!d)
		return -1;
	while ((e = readdir(d)) && found < 0) {
		char *end;
		if (strncmp(e->d_name, "nbd", 3) != 0)
			continue;
		long n = strtol(e->d_name + 3, &end, 10);
		if (end == e->d_name + 3 || *end || n < 0 || n > 1000000)
			continue;
		if (sysfs_read((int)n, "backend", b, sizeof(b)) == 0 && strcmp(b, backend) == 0)
			found = (int)n;
	}
	closedir(d);
	return found;
}

static void conn_closed(void *arg, struct nbd_conn *c);

/*
 * Ask udev to look at the device again: the kernel announces the size before the backend
 * identifier can be read, so the rule making /dev/disk/by-id/mpiscsi-<designator>
 * (etc/99-mpiscsi.rules) needs a change event after the attach. Best effort.
 */
static void uevent_change(int index)
{
	char path[96];
	snprintf(path, sizeof(path), SYS_BLOCK "/nbd%d/uevent", index);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "change", 6) < 0)
		mp_debug("nbd-device: %s: %s", path, strerror(errno));
	close(fd);
}

static void close_fds(int *pair_fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pair_fds[i] >= 0)
			close(pair_fds[i]);
}

/*
 * Make a socketpair for each slot in want[0..n): ours[i] is served by the daemon, theirs[i]
 * goes to the kernel. 0, or -1 with errno (every fd made so far closed).
 */
static int make_pairs(size_t n, int *ours, int *theirs)
{
	for (size_t i = 0; i < n; i++)
		ours[i] = theirs[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
			int e = errno;
			close_fds(ours, n);
			close_fds(theirs, n);
			errno = e;
			return -1;
		}
		int fl = fcntl(sv[0], F_GETFL);
		fcntl(sv[0], F_SETFL, fl | O_NONBLOCK);
		ours[i] = sv[0];
		theirs[i] = sv[1];
	}
	return 0;
}

/* The daemon starts serving its end of slot s. */
static void slot_attach(struct mp_export_fe_disk *k, struct kslot *s, int fd)
{
	s->k = k;
	s->since = ev_now(k->fe->loop);
	s->c = nbd_server_attach(k->fe->srv, fd, k->lu, &k->lim, conn_closed, s);
	if (!s->c)
		mp_err("disk %s: /dev/nbd%d: out of memory for a connection", k->name, k->index);
}

static void fill_config(const struct mp_export_fe_disk *k, struct nbd_nl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->index = k->index;
	cfg->size_bytes = k->lim.size;
	cfg->block_size = k->lim.min_block;
	cfg->timeout_s = k->opt.timeout_s;
	cfg->dead_timeout_s = k->opt.dead_timeout_s;
	cfg->server_flags = k->lim.tflags;
	snprintf(cfg->backend, sizeof(cfg->backend), "%s", k->backend);
}

/* Replace every dead socket of k with a fresh one (NBD_CMD_RECONFIGURE). */
static int revive_now(struct mp_export_fe_disk *k, char *err, size_t errlen)
{
	struct kslot *want[MP_EXPORT_NBD_CONNECTIONS_MAX];
	int ours[MP_EXPORT_NBD_CONNECTIONS_MAX], theirs[MP_EXPORT_NBD_CONNECTIONS_MAX];
	size_t n = 0;
	struct nbd_nl_config cfg;

	for (unsigned i = 0; i < k->n_slots; i++)
		if (!k->slots[i].c && !k->slots[i].given_up)
			want[n++] = &k->slots[i];
	if (!n)
		return 0;
	if (make_pairs(n, ours, theirs) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	fill_config(k, &cfg);
	for (size_t i = 0; i < n; i++)
		cfg.fds[i] = theirs[i];
	cfg.n_fds = n;
	int r = nbd_genl_reconfigure(k->fe->nl, &cfg, err, errlen);
	close_fds(theirs, n);  /* the kernel holds its own reference to each it took */
	if (r != 0) {
		close_fds(ours, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		slot_attach(k, want[i], ours[i]);
	return 0;
}

static void revive_cb(struct ev_loop *loop, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_export_fe_disk *k = mp_container_of(w, struct mp_export_fe_disk, revive);
	char err[512];

	if (revive_now(k, err, sizeof(err)) == 0) {
		mp_info("disk %s: /dev/nbd%d: connection(s) to the kernel replaced", k->name, k->index);
		return;
	}
	k->backoff = MP_MIN(k->backoff * 2, REVIVE_MAX_S);
	mp_warn("disk %s: /dev/nbd%d: cannot replace a dead connection: %s; next try in %.1f s", k->name, k->index,
		err, k->backoff);
	ev_timer_set(&k->revive, k->backoff, 0.);
	ev_timer_start(loop, &k->revive);
}

static void finish_removal(struct mp_export_fe_disk *k)
{
	struct mp_export_fe *fe = k->fe;
	char err[512];

	list_del(&fe->draining, k);
	if (nbd_genl_disconnect(fe->nl, k->index, err, sizeof(err)) != 0)
		mp_warn("disk %s: /dev/nbd%d: %s", k->name, k->index, err);
	else
		mp_info("disk %s: /dev/nbd%d disconnected", k->name, k->index);
	free(k);
}

static bool all_closed(const struct mp_export_fe_disk *k)
{
	for (unsigned i = 0; i < k->n_slots; i++)
		if (k->slots[i].c)
			return false;
	return true;
}

/* A connection closed: the kernel shut its end (request timeout, disconnect), or a drain finished. */
static void conn_closed(void *arg, struct nbd_conn *c MP_UNUSED)
{
	struct kslot *s = arg;
	struct mp_export_fe_disk *k = s->k;
	struct mp_export_fe *fe = k->fe;

	s->c = NULL;
	if (fe->freeing)
		return;
	if (k->draining) {
		if (!k->in_drain_call && all_closed(k))
			finish_removal(k);
		return;
	}
	ev_tstamp now = ev_now(fe->loop);
	if (now - s->since < SHORT_LIVED_S) {
		if (++s->short_lived >= SLOT_GIVE_UP) {
			s->given_up = true;
			mp_warn("disk %s: /dev/nbd%d: the kernel keeps refusing a connection (it may have been "
				"attached with fewer); going on with the others", k->name, k->index);
			return;
		}
	} else {
		s->short_lived = 0;
		k->backoff = REVIVE_FIRST_S;
	}
	mp_info("disk %s: /dev/nbd%d: the kernel closed a connection; replacing it", k->name, k->index);
	if (!ev_is_active(&k->revive)) {
		ev_timer_set(&k->revive, s->short_lived ? k->backoff : REVIVE_FIRST_S, 0.);
		ev_timer_start(fe->loop, &k->revive);
	}
}

static int check_block_size(const struct mp_export_disk *d, uint32_t bs, char *err, size_t errlen)
{
	long page = sysconf(_SC_PAGESIZE);
	if (bs < 512 || (bs & (bs - 1)) || (page > 0 && bs > (uint32_t)page)) {
		snprintf(err, errlen, "disk %s: block size %u is not one the kernel NBD driver takes (a power of two "
			 "from 512 to the page size, %ld): use frontend = socket for this disk", d->name, bs, page);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Is /dev/nbdN in use by something that is not this backend? Says why in err. */
static bool device_busy(const struct mp_export_disk *d, int index, const char *backend, char *err, size_t errlen)
{
	char b[300];
	if (sysfs_read(index, "backend", b, sizeof(b)) == 0 && b[0] && strcmp(b, backend) != 0) {
		snprintf(err, errlen, "disk %s: /dev/nbd%d is in use by another backend ('%s'): name a free device "
			 "(frontend = nbd-device:/dev/nbdN) or free it (nbd-client -d /dev/nbd%d)", d->name, index, b,
			 index);
		return true;
	}
	if ((sysfs_read(index, "backend", b, sizeof(b)) != 0 || !b[0]) && sysfs_read(index, "pid", b, sizeof(b)) == 0) {
		snprintf(err, errlen, "disk %s: /dev/nbd%d is in use (connected by process %s): name a free device "
			 "(frontend = nbd-device:/dev/nbdN) or free it (nbd-client -d /dev/nbd%d)", d->name, index, b,
			 index);
		return true;
	}
	return false;
}

static int dev_add_disk(struct mp_export_fe *fe, const struct mp_export_disk *d, struct mp_export_fe_disk **out,
			char *err, size_t errlen)
{
	const struct mp_lu_info *info = mp_lu_get_info(d->lu);
	char why[512];

	if (!info || !info->block_size) {
		snprintf(err, errlen, "disk %s: not ready", d->name);
		errno = EINVAL;
		return -1;
	}
	if (check_block_size(d, info->block_size, err, errlen) != 0)
		return -1;
	if (!info->designator[0]) {
		snprintf(err, errlen, "disk %s: the LU reports no designator (VPD 0x83) to name the device by", d->name);
		errno = EINVAL;
		return -1;
	}
	struct mp_export_fe_disk *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "disk %s: nbd-device: out of memory", d->name);
		errno = ENOMEM;
		return -1;
	}
	k->fe = fe;
	k->lu = d->lu;
	k->opt = d->nbd_dev;
	snprintf(k->name, sizeof(k->name), "%s", d->name);
	snprintf(k->backend, sizeof(k->backend), "%s", info->designator);
	k->lim.size = info->num_blocks * info->block_size;
	k->lim.min_block = info->block_size;
	k->lim.max_payload = NBD_MAX_PAYLOAD;
	k->lim.tflags = (uint16_t)nbd_nl_server_flags(info->lbpu, info->write_protect);
	k->n_slots = k->opt.connections ? MP_MIN(k->opt.connections, MP_EXPORT_NBD_CONNECTIONS_MAX) : 1;
	if (!(k->lim.tflags & NBD_FLAG_CAN_MULTI_CONN))
		k->n_slots = 1;  /* several connections only with multi-conn semantics */
	k->backoff = REVIVE_FIRST_S;
	ev_timer_init(&k->revive, revive_cb, 0., 0.);
	for (unsigned i = 0; i < k->n_slots; i++)
		k->slots[i].k = k;

	/* A device a previous daemon attached for this LU keeps its number (and its mounts). */
	int prev = find_attached(k->backend);
	if (prev >= 0 && (d->nbd_dev.index < 0 || d->nbd_dev.index == prev)) {
		k->index = prev;
		if (revive_now(k, why, sizeof(why)) == 0) {
			mp_info("disk %s: /dev/nbd%d reattached (backend %s, %u connection(s))", d->name, k->index,
				k->backend, k->n_slots);
			goto added;
		}
		mp_warn("disk %s: /dev/nbd%d was attached for this LU but cannot be reattached: %s; attaching anew",
			d->name, prev, why);
		k->index = d->nbd_dev.index;
	} else if (prev >= 0) {
		mp_warn("disk %s: this LU is still attached as /dev/nbd%d, but /dev/nbd%d is configured", d->name, prev,
			d->nbd_dev.index);
	}
	k->index = d->nbd_dev.index;
	if (k->index >= 0 && device_busy(d, k->index, k->backend, err, errlen)) {
		free(k);
		errno = EBUSY;
		return -1;
	}

	int ours[MP_EXPORT_NBD_CONNECTIONS_MAX], theirs[MP_EXPORT_NBD_CONNECTIONS_MAX];
	struct nbd_nl_config cfg;
	if (make_pairs(k->n_slots, ours, theirs) != 0) {
		int e = errno;
		snprintf(err, errlen, "disk %s: socketpair: %s", d->name, strerror(e));
		free(k);
		errno = e;
		return -1;
	}
	fill_config(k, &cfg);
	for (unsigned i = 0; i < k->n_slots; i++)
		cfg.fds[i] = theirs[i];
	cfg.n_fds = k->n_slots;
	uint32_t index = 0;
	int r = nbd_genl_connect(fe->nl, &cfg, &index, why, sizeof(why));
	close_fds(theirs, k->n_slots);
	if (r != 0) {
		int e = errno;
		close_fds(ours, k->n_slots);
		if (k->index >= 0)
			snprintf(err, errlen, "disk %s: cannot attach /dev/nbd%d: %s", d->name, k->index, why);
		else
			snprintf(err, errlen, "disk %s: cannot attach an nbd device: %s", d->name, why);
		free(k);
		errno = e;
		return -1;
	}
	k->index = (int)index;
	for (unsigned i = 0; i < k->n_slots; i++)
		slot_attach(k, &k->slots[i], ours[i]);
	mp_info("disk %s: attached as /dev/nbd%d (%llu bytes, block %u, %u connection(s), timeout %u s, "
		"dead-connection timeout %u s, backend %s)", d->name, k->index, (unsigned long long)k->lim.size,
		k->lim.min_block, k->n_slots, k->opt.timeout_s, k->opt.dead_timeout_s, k->backend);
added:
	uevent_change(k->index);
	list_add(&fe->disks, k);
	*out = k;
	return 0;
}

static void dev_remove_disk(struct mp_export_fe *fe, struct mp_export_fe_disk *k)
{
	ev_timer_stop(fe->loop, &k->revive);
	list_del(&fe->disks, k);
	list_add(&fe->draining, k);
	k->draining = true;
	mp_info("disk %s: /dev/nbd%d: draining before disconnect", k->name, k->index);
	k->in_drain_call = true;
	for (unsigned i = 0; i < k->n_slots; i++)
		if (k->slots[i].c)
			nbd_server_conn_drain(k->slots[i].c);
	k->in_drain_call = false;
	if (all_closed(k))
		finish_removal(k);
}

static void dev_device(const struct mp_export_fe *fe MP_UNUSED, const struct mp_export_fe_disk *k, char *buf,
		       size_t n)
{
	snprintf(buf, n, "/dev/nbd%d", k->index);
}

static void dev_free(struct mp_export_fe *fe)
{
	char err[512];

	fe->freeing = true;  /* connection callbacks from here on change nothing */
	nbd_server_free(fe->srv);
	while (fe->disks) {
		struct mp_export_fe_disk *k = fe->disks;
		ev_timer_stop(fe->loop, &k->revive);
		list_del(&fe->disks, k);
		/* No disconnect: the kernel keeps the device for the next daemon (dead-connection timeout). */
		mp_info("disk %s: /dev/nbd%d left attached for the next daemon", k->name, k->index);
		free(k);
	}
	while (fe->draining) {
		struct mp_export_fe_disk *k = fe->draining;
		list_del(&fe->draining, k);
		if (nbd_genl_disconnect(fe->nl, k->index, err, sizeof(err)) != 0)
			mp_warn("disk %s: /dev/nbd%d: %s", k->name, k->index, err);
		free(k);
	}
	nbd_genl_close(fe->nl);
	free(fe);
}

const struct mp_export_ops mp_export_nbd_device_ops = {
	.name = "nbd-device",
	.create = dev_create,
	.add_disk = dev_add_disk,
	.remove_disk = dev_remove_disk,
	.device = dev_device,
	.free = dev_free,
};
