/* Where a disk is presented: the frontend key and the kernel NBD device's settings (see config_frontend.h, mpiscsi.conf(5)). */
#include "tools/mpiscsid/config_frontend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tools/mpiscsid/config_values.h"
#include "transport/export.h"

#define NBD_DEV_PREFIX   "/dev/nbd"
#define NBD_INDEX_MAX    1000000      /* far above any nbds_max in use */
#define NBD_TIMEOUT_MAX  86400000u    /* one day, in ms */
#define NBD_DEAD_DEFAULT 60000u

void cfg_frontend_defaults(struct mp_conf_disk *d)
{
	d->n_frontends = 0;  /* none listed: socket */
	d->nbd_connections = MP_EXPORT_NBD_CONNECTIONS_DEFAULT;
	d->nbd_timeout_ms = 0;  /* auto */
	d->nbd_dead_timeout_ms = NBD_DEAD_DEFAULT;
}

int cfg_set_frontend(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key, const char *v,
		     char *why, size_t n)
{
	char sh[CFG_SHOW_BUF], kind[sizeof(d->frontends[0].kind)];
	const char *arg = strchr(v, ':');
	size_t kl = arg ? (size_t)(arg - v) : strlen(v);
	int index = -1;

	if (d->n_frontends >= MP_CONF_MAX_FRONTENDS)
		return cfg_fail(why, n, "too many frontend lines (max %d)", MP_CONF_MAX_FRONTENDS);
	if (kl >= sizeof(kind) || !mp_export_find((memcpy(kind, v, kl), kind[kl] = '\0', kind)))
		return cfg_fail(why, n, "%s: '%s' is not 'socket', 'nbd-device' or 'nbd-device:/dev/nbdN'", key,
				cfg_show(v, sh));
	if (arg && strcmp(kind, "nbd-device") != 0)
		return cfg_fail(why, n, "%s: '%s': only nbd-device takes a device", key, cfg_show(v, sh));
	if (arg) {
		uint32_t idx;
		if (strncmp(arg + 1, NBD_DEV_PREFIX, strlen(NBD_DEV_PREFIX)) != 0 ||
		    cfg_parse_uint(arg + 1 + strlen(NBD_DEV_PREFIX), 0, NBD_INDEX_MAX, &idx) != CFG_NUM_OK)
			return cfg_fail(why, n, "%s: '%s': the device must be /dev/nbdN (N a number)", key,
					cfg_show(v, sh));
		index = (int)idx;
	}
	for (size_t i = 0; i < d->n_frontends; i++)
		if (strcmp(d->frontends[i].kind, kind) == 0)
			return cfg_fail(why, n, "%s: '%s': [disk %s] already has a %s front end (first at line %d)", key,
					cfg_show(v, sh), d->name, kind, d->frontends[i].line);
	struct mp_conf_frontend *f = &d->frontends[d->n_frontends++];
	snprintf(f->kind, sizeof(f->kind), "%s", kind);
	f->nbd_index = index;
	f->line = 0;  /* the parser sets it */
	return 0;
}

int cfg_set_nbd_connections(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key, const char *v,
			    char *why, size_t n)
{
	return cfg_set_number(key, v, 1, MP_EXPORT_NBD_CONNECTIONS_MAX, &d->nbd_connections, why, n);
}

int cfg_set_nbd_timeout(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key, const char *v,
			char *why, size_t n)
{
	if (strcmp(v, "auto") == 0) {
		d->nbd_timeout_ms = 0;
		return 0;
	}
	return cfg_set_time(key, v, 1000, NBD_TIMEOUT_MAX, false, true, &d->nbd_timeout_ms, why, n);
}

int cfg_set_nbd_dead_timeout(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key, const char *v,
			     char *why, size_t n)
{
	return cfg_set_time(key, v, 1000, NBD_TIMEOUT_MAX, true, true, &d->nbd_dead_timeout_ms, why, n);
}

bool mp_conf_has_frontend(const struct mp_conf_disk *d, const char *kind, int *nbd_index)
{
	if (d->n_frontends == 0 && strcmp(kind, "socket") == 0) {
		if (nbd_index)
			*nbd_index = -1;
		return true;
	}
	for (size_t i = 0; i < d->n_frontends; i++)
		if (strcmp(d->frontends[i].kind, kind) == 0) {
			if (nbd_index)
				*nbd_index = d->frontends[i].nbd_index;
			return true;
		}
	return false;
}

/*
 * The kernel's per-request timeout must be longer than the daemon can hold a request, so
 * that the daemon, not the kernel, decides when I/O fails: the daemon queues a request for
 * up to no_path_retry while no path is usable and then fails it with EIO, and before that
 * a request may use one command timeout on a path that then fails. A kernel timeout that
 * fires first would not fail the I/O either (with a timeout set the kernel requeues, and
 * the daemon replaces the socket it shut), but it resubmits the request while the first
 * copy is still queued. With no_path_retry = queue there is no bound: one day.
 */
uint32_t mp_conf_nbd_timeout_s(const struct mp_conf_disk *d)
{
	if (d->nbd_timeout_ms)
		return d->nbd_timeout_ms / 1000;
	if (d->no_path_retry_s < 0)
		return NBD_TIMEOUT_MAX / 1000;
	uint64_t s = (uint64_t)d->no_path_retry_s + (d->command_timeout_ms + 999) / 1000 + 30;
	return (uint32_t)MP_MIN(s, (uint64_t)NBD_TIMEOUT_MAX / 1000);
}

void mp_conf_print_frontends(FILE *f, const struct mp_conf_disk *d)
{
	/* The default (socket only) prints nothing, so configurations that never name a front end
	 * read back exactly as before. */
	for (size_t i = 0; i < d->n_frontends; i++) {
		if (d->frontends[i].nbd_index >= 0)
			fprintf(f, "frontend = %s:/dev/nbd%d\n", d->frontends[i].kind, d->frontends[i].nbd_index);
		else
			fprintf(f, "frontend = %s\n", d->frontends[i].kind);
	}
	if (mp_conf_has_frontend(d, "nbd-device", NULL)) {
		fprintf(f, "nbd_connections = %u\n", d->nbd_connections);
		if (d->nbd_timeout_ms)
			fprintf(f, "nbd_timeout = %u\n", d->nbd_timeout_ms / 1000);
		else
			fprintf(f, "nbd_timeout = auto  # %u s\n", mp_conf_nbd_timeout_s(d));
		fprintf(f, "nbd_dead_timeout = %u\n", d->nbd_dead_timeout_ms / 1000);
	}
}
