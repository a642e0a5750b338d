/* An LU's redundancy audit: re-audit its paths on every change, log what started and cleared once it has settled, the getter. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mpath/lu_int.h"

int mp_lu_redundancy_init(struct mp_lu *lu)
{
	lu->sysfs_root = strdup(lu->opts.sysfs_root ? lu->opts.sysfs_root : "/sys");
	if (!lu->sysfs_root)
		return -1;
	lu->opts.sysfs_root = lu->sysfs_root; /* the caller's string may go after mp_lu_new */
	/* No path yet: the audit reads nothing and says no_path. It counts as logged (it never is:
	 * a disk that has not attached yet is not degraded, it is starting). */
	if (mp_redundancy_audit(NULL, 0, lu->sysfs_root, &lu->red) != 0) {
		mp_err("disk %s: redundancy audit: sysfs root %s: %s", lu->name, lu->sysfs_root, strerror(errno));
		return -1;
	}
	lu->red_logged = lu->red.mask;
	return 0;
}

void mp_lu_redundancy_fini(struct mp_lu *lu)
{
	free(lu->sysfs_root);
	lu->sysfs_root = NULL;
	lu->opts.sysfs_root = NULL;
}

void mp_lu_reaudit(struct mp_lu *lu)
{
	struct mp_audit_path *ap = NULL;
	struct mp_redundancy v;
	bool allow_marginal = false;
	int32_t group = 0;
	size_t n = 0;

	if (!lu->sysfs_root)
		return; /* before mp_lu_redundancy_init, or after fini */
	/* Only changes call this (never I/O), so a short-lived array is cheap enough. */
	if (lu->n_paths) {
		ap = calloc(lu->n_paths, sizeof(*ap));
		if (!ap) {
			if (!lu->red_err_logged)
				mp_err("disk %s: redundancy audit: out of memory; the last verdict stays", lu->name);
			lu->red_err_logged = true;
			return;
		}
	}
	bool any = mp_lu_io_view(lu, &allow_marginal, &group);
	if (!any)
		allow_marginal = true; /* (only standby paths can count then) */
	for (const struct mp_path *p = lu->paths; p && n < lu->n_paths; p = p->lu_next, n++) {
		bool io = any && mp_lu_usable(p, allow_marginal);
		/* A path to a standby group takes no I/O now but is a way to the LU: the core
		 * activates that group (STPG) when nothing else is left, or the target does. An
		 * active/passive array with one path per controller is redundant. */
		bool standby = !io && p->state == MP_PATH_UP && !p->admin_failed &&
			       (allow_marginal || !p->marginal) && mp_alua_path_standby(lu, p);
		ap[n] = (struct mp_audit_path){
			.iface = p->iface,
			.portal = p->portal,
			.usable = io || standby,
			.in_active_group = io && p->prio == group,
			.has_tpg = p->has_tpg,
			.tpg = p->tpg,
		};
	}
	int rc = mp_redundancy_audit(ap, n, lu->sysfs_root, &v);
	free(ap);
	if (rc != 0) {
		if (!lu->red_err_logged)
			mp_err("disk %s: redundancy audit failed: %s; the last verdict stays", lu->name, strerror(errno));
		lu->red_err_logged = true;
		return;
	}
	/* The settle time counts from the first change not yet logged. */
	if (v.mask != lu->red.mask && lu->red.mask == lu->red_logged)
		lu->red_pending_ms = mp_clock_now(&lu->clock);
	lu->red = v;
}

void mp_lu_redundancy_tick(struct mp_lu *lu, uint64_t now_ms)
{
	unsigned bits;
	int c;

	if (lu->red.mask == lu->red_logged || now_ms - lu->red_pending_ms < MP_LU_REDUNDANCY_SETTLE_MS)
		return;
	if (lu->drain_fn)
		return; /* being removed: its paths going away is no news */
	struct mp_spof_change ch = mp_spof_diff(lu->red_logged, lu->red.mask);
	bits = ch.started;
	while ((c = mp_spof_next(&bits)) >= 0) {
		mp_warn("disk %s: redundancy: %s", lu->name, lu->red.reason[c]);
		lu->red_warned |= MP_SPOF_BIT(c);
	}
	bits = ch.cleared;
	while ((c = mp_spof_next(&bits)) >= 0) {
		if (lu->red_warned & MP_SPOF_BIT(c))
			mp_info("disk %s: redundancy restored: %s no longer holds", lu->name, mp_spof_name((enum mp_spof)c));
		lu->red_warned &= ~MP_SPOF_BIT(c);
	}
	lu->red_logged = lu->red.mask;
}

int mp_lu_redundancy(const struct mp_lu *lu, struct mp_redundancy *out)
{
	if (!lu || !out) {
		errno = EINVAL;
		return -1;
	}
	*out = lu->red;
	return 0;
}
