/* The front-end registry and the contract-checking layer every call into a front end goes through (see transport/export.h). */
#include "transport/export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"

const struct mp_export_ops *const mp_export_registry[] = {
	&mp_export_socket_ops,
	&mp_export_nbd_device_ops,
	NULL,
};

const struct mp_export_ops *mp_export_find(const char *name)
{
	for (size_t i = 0; name && mp_export_registry[i]; i++)
		if (strcmp(mp_export_registry[i]->name, name) == 0)
			return mp_export_registry[i];
	return NULL;
}

/*
 * An instance and the handles it gave out. Handles are tracked so that removing one twice,
 * or one the front end never returned, is caught here (logged and ignored) instead of
 * reaching the front end as a double free.
 */
struct mp_export {
	const struct mp_export_ops *ops;
	struct mp_export_fe *fe;
	bool started;
	struct mp_export_fe_disk **disks;
	size_t n_disks, cap;
};

struct mp_export *mp_export_new(const struct mp_export_ops *ops, struct ev_loop *loop,
				const struct mp_export_config *cfg, char *err, size_t errlen)
{
	struct mp_export *ex = calloc(1, sizeof(*ex));
	if (!ex || !ops || !ops->create || !ops->add_disk || !ops->remove_disk || !ops->free) {
		int e = ex ? EINVAL : ENOMEM;
		snprintf(err, errlen, "%s: %s", ops && ops->name ? ops->name : "front end",
			 ex ? "incomplete ops table" : "out of memory");
		nbd_tls_creds_unref(cfg ? cfg->tls : NULL);  /* create() would have taken it */
		free(ex);
		errno = e;
		return NULL;
	}
	ex->ops = ops;
	err[0] = '\0';
	ex->fe = ops->create(loop, cfg, err, errlen);
	if (!ex->fe) {
		int e = errno ? errno : EIO;
		if (!err[0])
			snprintf(err, errlen, "%s: %s", ops->name, strerror(e));
		free(ex);
		errno = e;
		return NULL;
	}
	return ex;
}

const char *mp_export_name(const struct mp_export *ex) { return ex->ops->name; }

int mp_export_start(struct mp_export *ex, char *err, size_t errlen)
{
	if (ex->started) {
		snprintf(err, errlen, "%s: started twice", ex->ops->name);
		errno = EALREADY;
		return -1;
	}
	ex->started = true;
	if (!ex->ops->start)
		return 0;
	err[0] = '\0';
	if (ex->ops->start(ex->fe, err, errlen) == 0)
		return 0;
	int e = errno ? errno : EIO;
	if (!err[0])
		snprintf(err, errlen, "%s: %s", ex->ops->name, strerror(e));
	errno = e;
	return -1;
}

static ssize_t find_handle(const struct mp_export *ex, const struct mp_export_fe_disk *disk)
{
	for (size_t i = 0; i < ex->n_disks; i++)
		if (ex->disks[i] == disk)
			return (ssize_t)i;
	return -1;
}

int mp_export_add(struct mp_export *ex, const struct mp_export_disk *d, struct mp_export_fe_disk **out,
		  char *err, size_t errlen)
{
	*out = NULL;
	if (!d || !d->name || !d->lu) {
		snprintf(err, errlen, "%s: disk %s has no logical unit", ex->ops->name, d && d->name ? d->name : "?");
		errno = EINVAL;
		return -1;
	}
	if (ex->n_disks == ex->cap) {
		size_t cap = ex->cap ? ex->cap * 2 : 8;
		struct mp_export_fe_disk **nd = realloc(ex->disks, cap * sizeof(*nd));
		if (!nd) {
			snprintf(err, errlen, "disk %s: %s: out of memory", d->name, ex->ops->name);
			errno = ENOMEM;
			return -1;
		}
		ex->disks = nd;
		ex->cap = cap;
	}
	struct mp_export_fe_disk *h = NULL;
	err[0] = '\0';
	if (ex->ops->add_disk(ex->fe, d, &h, err, errlen) != 0) {
		int e = errno ? errno : EIO;
		if (!err[0])
			snprintf(err, errlen, "disk %s: %s: %s", d->name, ex->ops->name, strerror(e));
		errno = e;
		return -1;
	}
	if (!h) {  /* a front end must hand out a handle; a NULL one could not be removed */
		mp_err("%s: add_disk gave no handle for disk %s", ex->ops->name, d->name);
		abort();
	}
	ex->disks[ex->n_disks++] = h;
	*out = h;
	return 0;
}

void mp_export_remove(struct mp_export *ex, struct mp_export_fe_disk *disk)
{
	ssize_t i = find_handle(ex, disk);
	/* Test hook: without the check a second removal reaches the front end (a double free in
	 * a real one); tests/unit/test_export.c fails then. Never for production. */
	bool unchecked = getenv("MPISCSI_TEST_NO_EXPORT_GUARD") != NULL;
	if (i < 0 && !unchecked) {
		mp_err("%s: removing a disk that is not exported here (ignored)", ex->ops->name);
		return;
	}
	if (i >= 0)
		ex->disks[i] = ex->disks[--ex->n_disks];
	ex->ops->remove_disk(ex->fe, disk);
}

void mp_export_reload(struct mp_export *ex, const struct mp_export_config *cfg)
{
	if (ex->ops->reload)
		ex->ops->reload(ex->fe, cfg);
}

void mp_export_device(const struct mp_export *ex, const struct mp_export_fe_disk *disk, char *buf, size_t n)
{
	if (n)
		buf[0] = '\0';
	if (ex->ops->device && find_handle(ex, disk) >= 0)
		ex->ops->device(ex->fe, disk, buf, n);
}

size_t mp_export_disk_count(const struct mp_export *ex) { return ex->n_disks; }

void mp_export_free(struct mp_export *ex)
{
	if (!ex)
		return;
	ex->ops->free(ex->fe);  /* releases the disks still added, too */
	free(ex->disks);
	free(ex);
}
