/* The daemon's front ends and each disk's place in them (see exports.h). */
#include "tools/mpiscsid/exports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mpath/lu.h"

/* One disk in one front end. */
struct disk_fe {
	size_t fe;                        /* index into mp_exports.fe */
	struct mp_export_fe_disk *h;
};

struct disk_rec {
	struct disk_rec *next;
	char name[MP_CONF_NAME_MAX];
	struct disk_fe in[MP_CONF_MAX_FRONTENDS];
	size_t n_in;
};

#define MAX_FE 8

struct mp_exports {
	struct ev_loop *loop;
	struct mp_export *fe[MAX_FE];     /* created front ends, in creation order */
	size_t n_fe;
	struct nbd_tls_creds *tls;        /* for a socket front end created later; NULL once given */
	bool started;
	struct mp_export_config cfg;      /* the latest [nbd] settings; listen specs point into conf_listen */
	char conf_listen[MP_CONF_MAX_LISTEN][MP_CONF_LISTEN_LEN];
	struct disk_rec *disks;
};

static void limits_from(const struct mp_conf *c, struct nbd_limits *l)
{
	l->max_clients = c->nbd.max_clients;
	l->max_handshakes = c->nbd.max_handshakes;
	l->handshake_timeout_ms = c->nbd.handshake_timeout_ms;
	l->max_inflight = c->nbd.max_inflight;
	l->max_inflight_bytes = (uint64_t)c->nbd.max_inflight_mib << 20;
	l->max_request = c->nbd.max_request_kib << 10;
}

/* The seam's settings from the [nbd] section (tls left NULL). */
static void config_from(struct mp_exports *ex, const struct mp_conf *c)
{
	struct mp_export_config *o = &ex->cfg;
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < c->nbd.n_listen && i < MP_EXPORT_MAX_LISTEN && i < MP_CONF_MAX_LISTEN; i++) {
		snprintf(ex->conf_listen[i], sizeof(ex->conf_listen[i]), "%s", c->nbd.listen[i]);
		o->listen[i].spec = ex->conf_listen[i];
		switch (mp_conf_listen_tls(c, i)) {
		case MP_CONF_LISTEN_PLAIN: o->listen[i].tls = NBD_TLS_NONE; break;
		case MP_CONF_LISTEN_TLS_OPTIONAL: o->listen[i].tls = NBD_TLS_OPTIONAL; break;
		case MP_CONF_LISTEN_TLS_REQUIRED: o->listen[i].tls = NBD_TLS_REQUIRED; break;
		}
		o->n_listen = i + 1;
	}
	o->insecure = c->nbd.insecure;
	limits_from(c, &o->limits);
}

static ssize_t fe_find(const struct mp_exports *ex, const char *kind)
{
	for (size_t i = 0; i < ex->n_fe; i++)
		if (strcmp(mp_export_name(ex->fe[i]), kind) == 0)
			return (ssize_t)i;
	return -1;
}

/* The front end kind, created (and started, if the others were) on first use. -1 with err. */
static ssize_t fe_get(struct mp_exports *ex, const char *kind, char *err, size_t errlen)
{
	ssize_t i = fe_find(ex, kind);
	if (i >= 0)
		return i;
	const struct mp_export_ops *ops = mp_export_find(kind);
	if (!ops || ex->n_fe == MAX_FE) {
		snprintf(err, errlen, "no front end called '%s'", kind);
		errno = EINVAL;
		return -1;
	}
	struct mp_export_config cfg = ex->cfg;
	if (strcmp(kind, "socket") == 0) {
		cfg.tls = ex->tls;  /* handed over */
		ex->tls = NULL;
	}
	struct mp_export *fe = mp_export_new(ops, ex->loop, &cfg, err, errlen);
	if (!fe)
		return -1;
	if (ex->started && mp_export_start(fe, err, errlen) != 0) {
		mp_export_free(fe);
		return -1;
	}
	ex->fe[ex->n_fe] = fe;
	return (ssize_t)ex->n_fe++;
}

struct mp_exports *mp_exports_new(struct ev_loop *loop, const struct mp_conf *c, struct nbd_tls_creds *tls,
				  nbd_pending_fn *pending, void *pending_arg, char *err, size_t errlen)
{
	struct mp_exports *ex = calloc(1, sizeof(*ex));
	if (!ex) {
		nbd_tls_creds_unref(tls);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ex->loop = loop;
	ex->tls = tls;
	config_from(ex, c);
	ex->cfg.pending = pending;
	ex->cfg.pending_arg = pending_arg;
	/* Created now, not at the first ready disk: the socket server so that start() listens
	 * while disks are still attaching, the kernel device so that memory is pinned before
	 * the daemon serves anything. With no disk configured the socket server is created
	 * too: disks added at run time (mpiscsiadm -m node --login) use it by default, and
	 * clients find the socket from the start. */
	for (const struct mp_export_ops *const *o = mp_export_registry; *o; o++) {
		bool used = c->n_disks == 0 && strcmp((*o)->name, "socket") == 0;
		for (size_t i = 0; i < c->n_disks && !used; i++)
			used = mp_conf_has_frontend(&c->disks[i], (*o)->name, NULL);
		if (used && fe_get(ex, (*o)->name, err, errlen) < 0) {
			mp_exports_free(ex);
			return NULL;
		}
	}
	return ex;
}

int mp_exports_start(struct mp_exports *ex, const struct mp_conf *c MP_UNUSED, char *err, size_t errlen)
{
	ex->started = true;
	for (size_t i = 0; i < ex->n_fe; i++)
		if (mp_export_start(ex->fe[i], err, errlen) != 0)
			return -1;
	return 0;
}

static struct disk_rec *rec_find(const struct mp_exports *ex, const char *name, struct disk_rec ***pp)
{
	struct disk_rec **p = (struct disk_rec **)&ex->disks;
	while (*p && strcmp((*p)->name, name) != 0)
		p = &(*p)->next;
	if (pp)
		*pp = p;
	return *p;
}

size_t mp_exports_disk_ready(struct mp_exports *ex, const char *name, const char *export_name,
			     const struct mp_conf_disk *d, struct mp_lu *lu)
{
	const struct mp_lu_info *in = mp_lu_get_info(lu);
	char desc[320], err[768];

	if (rec_find(ex, name, NULL)) {
		mp_warn("disk %s: already exported", name);
		return 0;
	}
	struct disk_rec *r = calloc(1, sizeof(*r));
	if (!r) {
		mp_err("disk %s: cannot export: out of memory", name);
		return 0;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(desc, sizeof(desc), "%s %s %s", in ? in->vendor : "", in ? in->product : "", in ? in->designator : "");
	struct mp_export_disk ed = {
		.name = name,
		.export_name = export_name ? export_name : name,
		.description = desc,
		.lu = lu,
		.nbd_dev = {
			.index = -1,
			.connections = d->nbd_connections,
			.timeout_s = mp_conf_nbd_timeout_s(d),
			.dead_timeout_s = d->nbd_dead_timeout_ms / 1000,
		},
	};
	for (const struct mp_export_ops *const *o = mp_export_registry; *o; o++) {
		if (!mp_conf_has_frontend(d, (*o)->name, &ed.nbd_dev.index))
			continue;
		ssize_t fi = fe_get(ex, (*o)->name, err, sizeof(err));
		struct mp_export_fe_disk *h = NULL;
		if (fi < 0 || mp_export_add(ex->fe[fi], &ed, &h, err, sizeof(err)) != 0) {
			/* This front end only: the disk's others, and the daemon, go on. */
			if (strncmp(err, "disk ", 5) == 0)
				mp_err("%s", err);
			else
				mp_err("disk %s: %s", name, err);
			continue;
		}
		r->in[r->n_in].fe = (size_t)fi;
		r->in[r->n_in].h = h;
		r->n_in++;
	}
	r->next = ex->disks;
	ex->disks = r;
	return r->n_in;
}

void mp_exports_disk_removed(struct mp_exports *ex, const char *name)
{
	struct disk_rec **pp;
	struct disk_rec *r = rec_find(ex, name, &pp);
	if (!r)
		return;
	*pp = r->next;
	for (size_t i = 0; i < r->n_in; i++)
		mp_export_remove(ex->fe[r->in[i].fe], r->in[i].h);
	free(r);
}

void mp_exports_reload(struct mp_exports *ex, const struct mp_conf *c)
{
	/* Listen addresses and TLS stay as they were (the daemon warns); limits are new. */
	limits_from(c, &ex->cfg.limits);
	for (size_t i = 0; i < ex->n_fe; i++)
		mp_export_reload(ex->fe[i], &ex->cfg);
}

void mp_exports_device(const struct mp_exports *ex, const char *name, char *buf, size_t n)
{
	size_t used = 0;
	if (n)
		buf[0] = '\0';
	const struct disk_rec *r = rec_find(ex, name, NULL);
	for (size_t i = 0; r && i < r->n_in && used < n; i++) {
		char dev[64];
		mp_export_device(ex->fe[r->in[i].fe], r->in[i].h, dev, sizeof(dev));
		if (!dev[0])
			continue;
		int w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", dev);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

void mp_exports_free(struct mp_exports *ex)
{
	if (!ex)
		return;
	for (size_t i = 0; i < ex->n_fe; i++)
		mp_export_free(ex->fe[i]);
	while (ex->disks) {
		struct disk_rec *r = ex->disks;
		ex->disks = r->next;
		free(r);
	}
	nbd_tls_creds_unref(ex->tls);
	free(ex);
}
