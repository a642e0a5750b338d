/* The "socket" front end: the NBD server (transport/nbd/) with its listeners, TLS and limits behind the export seam. */
#include "transport/export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "transport/nbd/nbd_addr.h"
#include "transport/nbd/nbd_proto.h"

struct mp_export_fe {
	struct nbd_server *srv;
	struct mp_export_config cfg;  /* listen specs are copied into spec[] below */
	char spec[MP_EXPORT_MAX_LISTEN][NBD_ADDR_SPEC_MAX + 1];
	bool listening;
	struct mp_export_fe_disk *disks;  /* handles given out, freed with the front end */
};

struct mp_export_fe_disk {
	struct mp_export_fe_disk *prev, *next;
	char export_name[NBD_MAX_STRING + 1];
};

static void set_limits(struct mp_export_fe *fe, const struct mp_export_config *cfg)
{
	nbd_server_set_limits(fe->srv, &cfg->limits);
}

static struct mp_export_fe *sock_create(struct ev_loop *loop, const struct mp_export_config *cfg, char *err,
					size_t errlen)
{
	struct mp_export_fe *fe = calloc(1, sizeof(*fe));
	if (fe)
		fe->srv = nbd_server_new(loop);
	if (!fe || !fe->srv) {
		free(fe);
		nbd_tls_creds_unref(cfg->tls);
		snprintf(err, errlen, "socket: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (cfg->n_listen > MP_EXPORT_MAX_LISTEN) {
		nbd_server_free(fe->srv);
		free(fe);
		nbd_tls_creds_unref(cfg->tls);
		snprintf(err, errlen, "socket: more than %d listen addresses", MP_EXPORT_MAX_LISTEN);
		errno = EINVAL;
		return NULL;
	}
	fe->cfg = *cfg;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		snprintf(fe->spec[i], sizeof(fe->spec[i]), "%s", cfg->listen[i].spec);
		fe->cfg.listen[i].spec = fe->spec[i];
	}
	fe->cfg.tls = NULL;  /* the server holds the reference */
	nbd_server_set_tls(fe->srv, cfg->tls);
	nbd_server_set_pending(fe->srv, cfg->pending, cfg->pending_arg);
	set_limits(fe, cfg);
	return fe;
}

static int sock_start(struct mp_export_fe *fe, char *err, size_t errlen)
{
	for (size_t i = 0; i < fe->cfg.n_listen; i++) {
		struct nbd_listen_opts o = { .tls = fe->cfg.listen[i].tls, .insecure = fe->cfg.insecure };
		if (nbd_server_listen_opts(fe->srv, fe->cfg.listen[i].spec, &o, err, errlen) != 0)
			return -1;
	}
	fe->listening = true;
	return 0;
}

static int sock_add_disk(struct mp_export_fe *fe, const struct mp_export_disk *d, struct mp_export_fe_disk **out,
			 char *err, size_t errlen)
{
	const char *name = d->export_name ? d->export_name : d->name;
	struct mp_export_fe_disk *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "disk %s: socket export: out of memory", d->name);
		errno = ENOMEM;
		return -1;
	}
	snprintf(h->export_name, sizeof(h->export_name), "%s", name);
	if (nbd_server_add_export(fe->srv, name, d->description, d->lu) != 0) {
		int e = errno;
		snprintf(err, errlen, "disk %s: cannot add NBD export '%s': %s", d->name, name,
			 e == EEXIST ? "the name is taken" : strerror(e));
		free(h);
		errno = e;
		return -1;
	}
	h->next = fe->disks;
	if (fe->disks)
		fe->disks->prev = h;
	fe->disks = h;
	*out = h;
	return 0;
}

/* The export goes and its clients are disconnected; requests in the core finish into orphaned connections. */
static void sock_remove_disk(struct mp_export_fe *fe, struct mp_export_fe_disk *h)
{
	nbd_server_remove_export(fe->srv, h->export_name);
	if (h->prev)
		h->prev->next = h->next;
	else
		fe->disks = h->next;
	if (h->next)
		h->next->prev = h->prev;
	free(h);
}

/* Limits apply to new connections and requests at once; listeners and TLS change only with a restart. */
static void sock_reload(struct mp_export_fe *fe, const struct mp_export_config *cfg)
{
	set_limits(fe, cfg);
}

static void sock_free(struct mp_export_fe *fe)
{
	/* nbd_server_free frees the exports; the handles are only names. */
	nbd_server_free(fe->srv);
	while (fe->disks) {
		struct mp_export_fe_disk *h = fe->disks;
		fe->disks = h->next;
		free(h);
	}
	free(fe);
}

const struct mp_export_ops mp_export_socket_ops = {
	.name = "socket",
	.create = sock_create,
	.start = sock_start,
	.add_disk = sock_add_disk,
	.remove_disk = sock_remove_disk,
	.reload = sock_reload,
	.free = sock_free,
};
