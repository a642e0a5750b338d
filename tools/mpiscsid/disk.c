/* mpiscsid's disks: one per LU a target spec takes, their paths, LUN reconciliation, export and drain. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/selector.h"
#include "tools/mpiscsid/daemon.h"
#include "tools/mpiscsid/exports.h"

/* LUNs a `luns` list can make into disks when the target's LUN list is unknown. */
#define EXPLICIT_LUNS_MAX 1024

/*
 * Once every target of the configuration has reported its LUNs and every disk is exported,
 * say so (once): the moment a whole configuration is served. Nothing waits for it any more
 * (the listeners opened at start and each disk is exported as it attaches), but operators
 * and tests use the line to know that everything configured is there.
 */
static void note_all_ready(struct daemon *d)
{
	if (d->all_ready_noted)
		return;
	size_t from_config = 0;
	for (size_t i = 0; i < d->n_specs; i++) {
		if (!d->specs[i]->from_config)
			continue;
		if (!d->specs[i]->scanned)
			return;
		from_config++;
	}
	if (!from_config)
		return; /* an empty start: nothing configured to be ready */
	for (size_t i = 0; i < d->n_disks; i++)
		if (!d->disks[i]->exported)
			return;
	d->all_ready_noted = true;
	mp_info("all %zu disk(s) attached and exported", d->n_disks);
}

void daemon_disk_ready(struct daemon *d, struct disk *k)
{
	if (k && !k->exported && k->sp) {
		/* Each front end of the disk's section; one that fails logs, the others serve. */
		size_t n = mp_exports_disk_ready(d->exports, k->name, k->export_name, k->sp->conf, k->lu);
		k->exported = true;
		mp_info("disk %s: exported as '%s' (%zu front end(s))", k->name, k->export_name, n);
	}
	note_all_ready(d);
}

static struct disk *disk_of(struct daemon *d, const struct tspec *sp, uint32_t lun)
{
	for (size_t i = 0; i < d->n_disks; i++)
		if (d->disks[i]->sp == sp && d->disks[i]->lun == lun)
			return d->disks[i];
	return NULL;
}

/* ---- names of disks not exported yet (the socket server asks, see nbd_pending_fn) ---- */

/* name[0..len) is EXPORT-<lun> for a LUN spec c takes, in the spelling disk names use. */
static bool lun_export_name(const struct mp_conf_disk *c, const char *name, size_t len, uint32_t *lun)
{
	size_t el = strlen(c->export_name);
	if (len < el + 2 || len > el + 11 || memcmp(name, c->export_name, el) != 0 || name[el] != '-')
		return false;
	char digits[12];
	memcpy(digits, name + el + 1, len - el - 1);
	digits[len - el - 1] = '\0';
	char *end;
	errno = 0;
	unsigned long v = strtoul(digits, &end, 10);
	if (errno || *end || digits[0] < '0' || digits[0] > '9' || v > UINT32_MAX)
		return false;
	char dn[MP_CONF_NAME_MAX], en[MP_CONF_NAME_MAX];
	if (!mp_conf_disk_wants_lun(c, (uint32_t)v) || mp_conf_disk_lun_names(c, (uint32_t)v, dn, en) != 0 ||
	    strlen(en) != len || memcmp(en, name, len) != 0)
		return false; /* (leading zeros, or a LUN the section does not take) */
	*lun = (uint32_t)v;
	return true;
}

/* How many of sp's sessions are logged in and scanned. */
static size_t spec_sessions_up(const struct tspec *sp)
{
	size_t up = 0;
	for (size_t i = 0; i < sp->n_sess; i++)
		up += mp_iscsi_session_ready(sp->sess[i]);
	return up;
}

bool daemon_export_pending(void *arg, const char *name, size_t len, char *why, size_t n)
{
	struct daemon *d = arg;
	if (len == 0) {
		/* The default export is the first one exported: none is, yet. */
		for (size_t i = 0; i < d->n_specs; i++)
			if (mp_conf_has_frontend(d->specs[i]->conf, "socket", NULL)) {
				snprintf(why, n, "no disk is ready yet (%zu configured); ask again later", d->n_specs);
				return true;
			}
		return false;
	}
	/* A disk that exists and waits for its first path. */
	for (size_t i = 0; i < d->n_disks; i++) {
		const struct disk *k = d->disks[i];
		if (k->exported || !k->sp || !mp_conf_has_frontend(k->sp->conf, "socket", NULL) ||
		    strlen(k->export_name) != len || memcmp(k->export_name, name, len) != 0)
			continue;
		snprintf(why, n, "disk %s is not ready yet: none of its %zu path(s) has attached "
			 "(%zu of %zu session(s) logged in)", k->name, k->n_paths, spec_sessions_up(k->sp),
			 k->sp->n_sess);
		return true;
	}
	/* A disk the configuration names whose target has not (yet) reported its LUN. */
	for (size_t i = 0; i < d->n_specs; i++) {
		const struct tspec *sp = d->specs[i];
		const struct mp_conf_disk *c = sp->conf;
		uint32_t lun;
		if (!mp_conf_has_frontend(c, "socket", NULL))
			continue;
		if (c->lun_mode == MP_CONF_LUNS_ONE) {
			if (strlen(c->export_name) != len || memcmp(c->export_name, name, len) != 0)
				continue;
			lun = c->lun;
		} else if (!lun_export_name(c, name, len, &lun)) {
			continue;
		}
		char dn[MP_CONF_NAME_MAX], en[MP_CONF_NAME_MAX];
		if (disk_of(d, sp, lun) || mp_conf_disk_lun_names(c, lun, dn, en) != 0)
			continue; /* (its disk exists: it was answered above, or it is exported elsewhere) */
		size_t up = spec_sessions_up(sp);
		if (!up)
			snprintf(why, n, "disk %s is not ready yet: not logged in to %s (%zu session(s) trying)", dn,
				 c->target, sp->n_sess);
		else if (!sp->scanned)
			snprintf(why, n, "disk %s is not ready yet: waiting for the LUN list of %s", dn, c->target);
		else if (c->lun_mode == MP_CONF_LUNS_ALL)
			continue; /* every LUN the target lists is a disk already: this one is not there */
		else
			snprintf(why, n, "disk %s is not ready yet: %s does not list LUN %u as a disk", dn, c->target,
				 lun);
		return true;
	}
	return false;
}

void daemon_disk_unexport(struct daemon *d, struct disk *k)
{
	if (k->exported)
		mp_exports_disk_removed(d->exports, k->name);
	k->exported = false;
}


struct disk *disk_find(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->n_disks; i++)
		if (strcmp(d->disks[i]->name, name) == 0)
			return d->disks[i];
	return NULL;
}

static void lu_ready(struct mp_lu *lu MP_UNUSED, void *arg)
{
	struct disk *k = arg;
	if (!k->draining)
		daemon_disk_ready(k->d, k);
}

/* A new disk for LUN lun of spec sp (not yet with paths). NULL with errno on failure. */
static struct disk *disk_new(struct daemon *d, struct tspec *sp, uint32_t lun, bool discovered)
{
	const struct mp_conf_disk *c = sp->conf;
	struct mp_lu_opts lo;
	char name[MP_CONF_NAME_MAX], exp[MP_CONF_NAME_MAX];

	if (mp_conf_disk_lun_names(c, lun, name, exp) != 0) {
		mp_err("disk %s: LUN %u: the disk's name would be longer than %d bytes", c->name, lun,
		       MP_CONF_NAME_MAX - 1);
		return NULL;
	}
	for (size_t i = 0; i < d->n_disks; i++)
		if (strcmp(d->disks[i]->name, name) == 0 || strcmp(d->disks[i]->export_name, exp) == 0) {
			mp_err("disk %s (%s LUN %u): name or export '%s' is taken by disk %s", name, c->target, lun,
			       exp, d->disks[i]->name);
			errno = EEXIST;
			return NULL;
		}
	mp_lu_opts_default(&lo);
	lo.no_path_retry_s = c->no_path_retry_s;
	lo.max_retries = c->max_retries;
	lo.selector = mp_selector_find(c->selector);
	if (!lo.selector) {
		mp_err("disk %s: unknown selector '%s'", name, c->selector);
		errno = EINVAL;
		return NULL;
	}
	snprintf(lo.selector_args, sizeof(lo.selector_args), "rr_min_io=%u", c->rr_min_io);
	if (strcmp(lo.selector->name, "round-robin") != 0)
		lo.selector_args[0] = '\0';
	lo.failback = c->failback;
	lo.failback_delay_s = c->failback_delay_s;
	lo.marginal_flaps = c->marginal_flaps;
	lo.marginal_window_s = c->marginal_window_ms / 1000;
	lo.marginal_hold_s = c->marginal_hold_ms / 1000;
	lo.marginal_latency_factor = c->marginal_latency_factor;
	lo.alua_off = c->alua_off;
	lo.alua_explicit = c->alua_explicit;
	lo.alua_refresh_s = c->alua_refresh_ms / 1000;
	/* Test hook (docs/TESTING.md): a fake sysfs tree for the redundancy audit's NIC -> card lookup. */
	lo.sysfs_root = getenv("MPISCSI_TEST_SYSFS_ROOT");
	if (lo.sysfs_root)
		mp_warn("disk %s: MPISCSI_TEST_SYSFS_ROOT set: NICs' cards are read from %s, not /sys (tests only)",
			name, lo.sysfs_root);

	struct disk *k = calloc(1, sizeof(*k));
	struct disk **nd = realloc(d->disks, (d->n_disks + 1) * sizeof(*nd));
	if (nd)
		d->disks = nd;
	if (!k || !nd) {
		free(k);
		errno = ENOMEM;
		return NULL;
	}
	k->d = d;
	k->sp = sp;
	k->lun = lun;
	k->discovered = discovered;
	k->no_path_retry_s = c->no_path_retry_s;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->export_name, sizeof(k->export_name), "%s", exp);
	ev_timer_init(&k->drain, NULL, 0., 0.);
	k->lu = mp_lu_new(name, &d->clock, &lo);
	if (!k->lu) {
		free(k);
		errno = ENOMEM;
		return NULL;
	}
	mp_lu_set_ready_cb(k->lu, lu_ready, k);
	d->disks[d->n_disks++] = k;
	mp_info("disk %s: %s LUN %u, selector %s", name, c->target, lun, lo.selector->name);
	return k;
}

static bool disk_has_path_on(const struct disk *k, const struct mp_iscsi_session *s)
{
	for (size_t j = 0; j < k->n_paths; j++)
		if (sess_same_key(mp_iscsi_path_session(k->paths[j]), s))
			return true;
	return false;
}

/* A path of disk k over session s (for the per-LU test hook: over that LU's own session). */
static int disk_add_path(struct daemon *d, struct disk *k, struct mp_iscsi_session *s)
{
	const struct mp_conf_portal *pt;
	const char *iface;
	sess_entry_where(sess_entry_of(d, s), &pt, &iface);
	if (d->session_per_lu && k->sp) {
		bool created;
		s = sess_get(d, k->sp, pt, iface, k->lun + 1, &created);
		if (!s)
			return -1;
	}
	struct mp_iscsi_path **np = realloc(k->paths, (k->n_paths + 1) * sizeof(*np));
	if (!np)
		return -1;
	k->paths = np;
	struct mp_iscsi_path_opts po = {
		.lun = k->lun,
		.id = ++d->last_path_id,
		.prio = k->sp ? mp_conf_path_prio(k->sp->conf, iface, pt)
			      : MP_CONF_PRIO_DEFAULT,
	};
	struct mp_iscsi_path *p = mp_iscsi_path_new(s, k->lu, &po);
	if (!p)
		return -1;
	k->paths[k->n_paths++] = p;
	return 0;
}

/* Free path j of disk k. */
static void disk_drop_path(struct disk *k, size_t j)
{
	mp_iscsi_path_free(k->paths[j]);
	memmove(k->paths + j, k->paths + j + 1, (k->n_paths - j - 1) * sizeof(*k->paths));
	k->n_paths--;
}

void disks_drop_paths_over(struct daemon *d, const struct tspec *sp, const struct mp_iscsi_session *s)
{
	for (size_t k = 0; k < d->n_disks; k++) {
		struct disk *dk = d->disks[k];
		if (dk->sp != sp)
			continue;
		for (size_t j = 0; j < dk->n_paths;) {
			if (sess_same_key(mp_iscsi_path_session(dk->paths[j]), s))
				disk_drop_path(dk, j);
			else
				j++;
		}
	}
}

void disk_free(struct daemon *d, struct disk *k)
{
	ev_timer_stop(d->loop, &k->drain);
	while (k->n_paths)
		disk_drop_path(k, k->n_paths - 1);
	free(k->paths);
	mp_lu_free(k->lu);
	free(k);
	sessions_gc(d);
}

/* The drain ended (nothing left in the core, or its deadline passed): the disk goes. What is
 * still in the core then fails (paths freed, the LU fails what waits with ESHUTDOWN). */
static void drain_end(struct disk *k)
{
	struct daemon *d = k->d;
	uint32_t left = mp_lu_requests(k->lu);
	if (left)
		mp_warn("disk %s: %u request(s) still unfinished after draining; they fail now", k->name, left);
	mp_info("disk %s: removed", k->name);
	for (struct disk **pp = &d->draining; *pp; pp = &(*pp)->drain_next)
		if (*pp == k) {
			*pp = k->drain_next;
			break;
		}
	disk_free(d, k); /* stops the deadline; mp_lu_free drops a drain still pending */
}

/* mp_lu_drain's callback: from the loop, so the LU may be freed here. */
static void drained(struct mp_lu *lu MP_UNUSED, void *arg)
{
	drain_end(arg);
}

static void drain_deadline(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	drain_end(mp_container_of(w, struct disk, drain));
}

void disk_remove(struct daemon *d, struct disk *k, const char *why)
{
	for (size_t i = 0; i < d->n_disks; i++)
		if (d->disks[i] == k) {
			memmove(d->disks + i, d->disks + i + 1, (d->n_disks - i - 1) * sizeof(*d->disks));
			d->n_disks--;
			break;
		}
	mp_info("disk %s: %s: draining", k->name, why);
	daemon_disk_unexport(d, k);
	k->sp = NULL;
	k->draining = true;
	k->drain_next = d->draining;
	d->draining = k;
	/* Queued requests get no_path_retry to find a path, and then 10 s more to finish. */
	int32_t npr = k->no_path_retry_s;
	ev_timer_init(&k->drain, drain_deadline, (npr > 0 ? npr : 0) + 10., 0.);
	ev_timer_start(d->loop, &k->drain);
	mp_lu_drain(k->lu, drained, k);
}

/* ---- LUN reconciliation: what a session reports -> the spec's disks and paths ---- */

static bool listed(const uint32_t *luns, size_t n, uint32_t lun)
{
	for (size_t i = 0; i < n; i++)
		if (luns[i] == lun)
			return true;
	return false;
}

/*
 * Make sure LUN lun of sp has a disk with a path over s, and over every other session of sp
 * that has not said otherwise (not scanned yet, or listing the LUN): paths are made in the
 * spec's session order, so path numbers and order follow the configuration, not which
 * session happened to log in first. A session that then does not list the LUN drops its path
 * in its own reconcile, before the path tries to attach.
 */
static void want_lun(struct tspec *sp, struct mp_iscsi_session *s, uint32_t lun)
{
	struct daemon *d = sp->d;
	struct disk *k = disk_of(d, sp, lun);
	if (!k) {
		k = disk_new(d, sp, lun, sp->conf->lun_mode == MP_CONF_LUNS_ALL);
		if (!k)
			return;
	}
	for (size_t i = 0; i < sp->n_sess; i++) {
		struct mp_iscsi_session *o = sp->sess[i];
		bool known;
		if (o != s && !mp_iscsi_session_lists_lun(o, lun, &known) && known)
			continue;
		if (!disk_has_path_on(k, o) && disk_add_path(d, k, o) != 0)
			mp_err("disk %s: cannot add a path over session %u: %s", k->name, mp_iscsi_session_id(o),
			       strerror(errno));
	}
	if (!disk_has_path_on(k, s) && disk_add_path(d, k, s) != 0)
		mp_err("disk %s: cannot add a path over session %u: %s", k->name, mp_iscsi_session_id(s),
		       strerror(errno));
}

void disks_reconcile(struct tspec *sp, struct mp_iscsi_session *s, bool ok, const uint32_t *luns, size_t n)
{
	struct daemon *d = sp->d;
	const struct mp_conf_disk *c = sp->conf;
	if (ok) {
		/* Paths over s to LUNs the target no longer lists go; a discovered disk left with no
		 * path goes too. A configured LUN keeps its disk and gets its path back if it returns. */
		for (size_t i = 0; i < d->n_disks;) {
			struct disk *k = d->disks[i];
			if (k->sp != sp || listed(luns, n, k->lun)) {
				i++;
				continue;
			}
			for (size_t j = 0; j < k->n_paths;) {
				if (sess_same_key(mp_iscsi_path_session(k->paths[j]), s)) {
					mp_warn("disk %s: LUN %u is no longer reported through session %u %s; path "
						"%" PRIu32 " removed", k->name, k->lun, mp_iscsi_session_id(s),
						mp_iscsi_session_name(s), mp_iscsi_path_core(k->paths[j])->id);
					disk_drop_path(k, j);
				} else {
					j++;
				}
			}
			if (k->discovered && !k->n_paths)
				disk_remove(d, k, "its LUN is gone from the target"); /* (leaves d->disks) */
			else
				i++;
		}
		for (size_t i = 0; i < n; i++)
			if (mp_conf_disk_wants_lun(c, luns[i]))
				want_lun(sp, s, luns[i]);
		if (c->lun_mode == MP_CONF_LUNS_ONE && !listed(luns, n, c->lun))
			mp_warn("disk %s: %s does not list LUN %u as a disk through session %u %s", c->name, c->target,
				c->lun, mp_iscsi_session_id(s), mp_iscsi_session_name(s));
		return;
	}
	/* The scan failed: the LUNs the configuration names are tried anyway (their attach checks
	 * what is there); nothing is removed. */
	if (c->lun_mode == MP_CONF_LUNS_ONE) {
		want_lun(sp, s, c->lun);
	} else if (c->lun_mode == MP_CONF_LUNS_LIST) {
		size_t made = 0;
		for (size_t r = 0; r < c->n_luns; r++)
			for (uint32_t l = c->luns[r].lo; l <= c->luns[r].hi && made < EXPLICIT_LUNS_MAX; l++, made++)
				want_lun(sp, s, l);
	}
}

