/* An LU's paths: membership, identity guard, path groups by priority, selection, usability transitions and what follows them (failback, the redundancy audit), marginal damping. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/lu_int.h"

#define HOUSEKEEPING_MS 1000
/* Latency outliers are judged only on paths with this many completions in all, this many
 * new ones since the last check (a path that gets little I/O has a stale average), above
 * an absolute floor, and in this many consecutive checks. */
#define LATENCY_MIN_SAMPLES 64
#define LATENCY_FRESH_SAMPLES 16
#define LATENCY_FLOOR_US 20000
#define LATENCY_STRIKES 3

static void failback_fire(void *arg);
static void house_fire(void *arg);
static void regroup(struct mp_lu *lu, const char *why);

int mp_lu_paths_init(struct mp_lu *lu)
{
	char err[160];
	lu->sel = lu->opts.selector ? lu->opts.selector : mp_selector_find(MP_SELECTOR_DEFAULT);
	if (!lu->sel)
		return -1;
	lu->sel_st = lu->sel->create(lu->opts.selector_args, err, sizeof(err));
	if (!lu->sel_st) {
		mp_err("disk %s: selector %s: %s", lu->name, lu->sel->name, err);
		return -1;
	}
	lu->failback_timer = lu->clock.ops->timer_new(lu->clock.ctx, failback_fire, lu);
	lu->house_timer = lu->clock.ops->timer_new(lu->clock.ctx, house_fire, lu);
	if (!lu->failback_timer || !lu->house_timer)
		return -1;
	lu->clock.ops->timer_arm(lu->house_timer, HOUSEKEEPING_MS);
	return 0;
}

void mp_lu_paths_fini(struct mp_lu *lu)
{
	lu->clock.ops->timer_free(lu->failback_timer);
	lu->clock.ops->timer_free(lu->house_timer);
	lu->failback_timer = lu->house_timer = NULL;
	if (lu->sel && lu->sel_st)
		lu->sel->destroy(lu->sel_st);
	lu->sel_st = NULL;
	free(lu->cands);
	lu->cands = NULL;
}

struct mp_path *mp_lu_first_path(const struct mp_lu *lu) { return lu->paths; }
const char *mp_lu_selector_name(const struct mp_lu *lu) { return lu->sel ? lu->sel->name : "?"; }
int32_t mp_lu_active_prio(const struct mp_lu *lu) { return lu->have_active ? lu->active_prio : INT32_MIN; }

static bool usable(const struct mp_path *p, bool allow_marginal)
{
	return p->state == MP_PATH_UP && !p->admin_failed && (allow_marginal || !p->marginal) &&
	       mp_alua_path_io_ok(p->lu, p);
}

bool mp_lu_path_usable(const struct mp_path *p) { return p->lu && usable(p, false); }
bool mp_lu_usable(const struct mp_path *p, bool allow_marginal) { return usable(p, allow_marginal); }

bool mp_lu_any_usable(const struct mp_lu *lu)
{
	for (const struct mp_path *p = lu->paths; p; p = p->lu_next)
		if (usable(p, true))
			return true;
	return false;
}

/* Highest priority among usable paths; false if none. */
static bool best_prio(const struct mp_lu *lu, bool allow_marginal, int32_t *prio)
{
	bool found = false;
	for (const struct mp_path *p = lu->paths; p; p = p->lu_next) {
		if (usable(p, allow_marginal) && (!found || p->prio > *prio)) {
			*prio = p->prio;
			found = true;
		}
	}
	return found;
}

static size_t group_usable(const struct mp_lu *lu, int32_t prio, bool allow_marginal)
{
	size_t n = 0;
	for (const struct mp_path *p = lu->paths; p; p = p->lu_next)
		if (p->prio == prio && usable(p, allow_marginal))
			n++;
	return n;
}

bool mp_lu_io_view(const struct mp_lu *lu, bool *allow_marginal, int32_t *group)
{
	/* The two passes of mp_lu_select, without its failover's side effect. */
	for (int pass = 0; pass < 2; pass++) {
		bool am = pass == 1;
		int32_t best;
		if (!best_prio(lu, am, &best))
			continue;
		*allow_marginal = am;
		*group = lu->have_active && group_usable(lu, lu->active_prio, am) ? lu->active_prio : best;
		return true;
	}
	return false;
}

static void set_active(struct mp_lu *lu, int32_t prio, const char *why)
{
	if (lu->have_active && lu->active_prio == prio)
		return;
	if (lu->have_active)
		mp_info("disk %s: path group %" PRId32 " -> %" PRId32 " (%s)", lu->name, lu->active_prio, prio, why);
	lu->active_prio = prio;
	lu->have_active = true;
}

struct mp_path *mp_lu_select(struct mp_lu *lu, uint32_t bytes)
{
	/* Marginal paths only when nothing else is left: a bad path beats no path. */
	for (int pass = 0; pass < 2; pass++) {
		bool allow_marginal = pass == 1;
		if (!lu->have_active || group_usable(lu, lu->active_prio, allow_marginal) == 0) {
			int32_t prio;
			if (!best_prio(lu, allow_marginal, &prio))
				continue;
			set_active(lu, prio, "failover: no usable path in the active group");
		}
		size_t n = 0;
		for (struct mp_path *p = lu->paths; p; p = p->lu_next)
			if (p->prio == lu->active_prio && usable(p, allow_marginal))
				lu->cands[n++] = p;
		if (n)
			return lu->sel->select(lu->sel_st, lu->cands, n, bytes);
	}
	return NULL;
}

void mp_lu_io_start(struct mp_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t now_us)
{
	p->inflight++;
	p->inflight_bytes += bytes;
	p->submitted++;
	lu->sel->start_io(lu->sel_st, p, bytes, now_us);
}

void mp_lu_io_end(struct mp_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t start_us, bool failed)
{
	uint64_t now = mp_clock_now_us(&lu->clock);
	p->inflight--;
	p->inflight_bytes -= bytes;
	if (failed) {
		p->errors++;
	} else {
		uint64_t lat = now > start_us ? now - start_us : 0;
		p->completed++;
		/* EWMA with weight 1/8, in signed arithmetic so it can move both ways. */
		p->lat_ewma_us = p->lat_ewma_us ? (uint64_t)((int64_t)p->lat_ewma_us +
							     ((int64_t)lat - (int64_t)p->lat_ewma_us) / 8)
						: lat;
	}
	if (p->lu == lu)
		lu->sel->end_io(lu->sel_st, p, bytes, start_us, now);
}

void mp_lu_add_path(struct mp_lu *lu, struct mp_path *path)
{
	struct mp_path **c = realloc(lu->cands, (lu->n_paths + 1) * sizeof(*c));
	if (c)
		lu->cands = c;
	/* On ENOMEM the scratch array keeps its size; the path is still tracked, but
	 * selection could overrun, so refuse to let it take I/O. */
	path->lu = lu;
	path->state = MP_PATH_DOWN;
	path->admin_failed = !c;
	path->lu_next = NULL;
	path->last_state_change_ms = mp_clock_now(&lu->clock);
	struct mp_path **pp = &lu->paths;
	while (*pp)
		pp = &(*pp)->lu_next;
	*pp = path;
	if (c)
		lu->n_paths++;
	lu->sel->add_path(lu->sel_st, path);
	mp_lu_reaudit(lu);
}

void mp_lu_remove_path(struct mp_lu *lu, struct mp_path *path)
{
	if (path->state == MP_PATH_UP)
		mp_lu_path_down(lu, path, "removed");
	for (struct mp_path **pp = &lu->paths; *pp; pp = &(*pp)->lu_next) {
		if (*pp == path) {
			*pp = path->lu_next;
			lu->n_paths--;
			break;
		}
	}
	lu->sel->remove_path(lu->sel_st, path);
	path->lu = NULL;
	path->lu_next = NULL;
	mp_lu_reaudit(lu);
}

/* A path became usable again (up, reinstated, no longer marginal): fail back per policy. */
static void consider_failback(struct mp_lu *lu, struct mp_path *path)
{
	int32_t best;
	if (!best_prio(lu, false, &best) || !lu->have_active || best <= lu->active_prio ||
	    group_usable(lu, lu->active_prio, false) == 0)
		return; /* nothing better, or the active group is empty: selection fails over by itself */
	switch (lu->opts.failback) {
	case MP_FAILBACK_IMMEDIATE:
		set_active(lu, best, "failback");
		break;
	case MP_FAILBACK_MANUAL:
		mp_info("disk %s: path group %" PRId32 " usable again; failback is manual", lu->name, best);
		break;
	case MP_FAILBACK_FOLLOWOVER:
		/* Only when this path is the first of its group to come back. */
		if (path->prio == best && group_usable(lu, best, false) == 1)
			set_active(lu, best, "failback (followover)");
		break;
	case MP_FAILBACK_DEFERRED:
		lu->clock.ops->timer_arm(lu->failback_timer, (uint64_t)lu->opts.failback_delay_s * 1000);
		break;
	}
}

static void failback_fire(void *arg)
{
	struct mp_lu *lu = arg;
	int32_t best;
	if (best_prio(lu, false, &best) && (!lu->have_active || best > lu->active_prio)) {
		set_active(lu, best, "deferred failback");
		mp_lu_reaudit(lu); /* the active group changed outside mp_lu_usability_changed */
	}
}

int mp_lu_path_attached(struct mp_lu *lu, struct mp_path *path, const struct mp_lu_info *info,
			char *err, size_t errlen)
{
	if (info->capacity_unknown && !lu->have_info) {
		snprintf(err, errlen, "disk %s: path %s: READ CAPACITY refused in the port's ALUA state; "
			 "the disk's size is not known yet", lu->name, path->name);
		return -1;
	}
	if (lu->have_info && strcmp(lu->info.designator, info->designator) != 0) {
		snprintf(err, errlen, "disk %s: path %s leads to LU %s, but the disk is LU %s: path refused",
			 lu->name, path->name, info->designator, lu->info.designator);
		return -1;
	}
	if (!lu->have_info) {
		if (info->block_size < 512 || info->block_size > (1u << 20) ||
		    (info->block_size & (info->block_size - 1))) {
			snprintf(err, errlen, "path %s: unusable logical block size %" PRIu32, path->name,
				 info->block_size);
			return -1;
		}
		lu->zero_block = calloc(1, info->block_size);
		if (!lu->zero_block) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		lu->info = *info;
		lu->have_info = true;
		mp_info("disk %s: %s %s, %" PRIu64 " blocks of %" PRIu32 " bytes, id %s%s%s", lu->name,
			info->vendor, info->product, info->num_blocks, info->block_size, info->designator,
			info->serial[0] ? ", serial " : "", info->serial);
	} else if (!info->capacity_unknown && lu->info.block_size != info->block_size) {
		/* (A port whose ALUA state refused READ CAPACITY joins with the disk's size.) */
		snprintf(err, errlen, "disk %s: path %s reports block size %" PRIu32 ", the disk has %" PRIu32
			 ": path refused", lu->name, path->name, info->block_size, lu->info.block_size);
		return -1;
	}
	path->state = MP_PATH_UP;
	path->last_state_change_ms = mp_clock_now(&lu->clock);
	mp_alua_path_attached(lu, path, info);
	char tpg[48] = "";
	if (path->has_tpg)
		snprintf(tpg, sizeof(tpg), ", target port group %" PRIu16, path->tpg);
	mp_info("disk %s: path %" PRIu32 " %s up (prio %" PRId32 "%s%s)", lu->name, path->id, path->name, path->prio, tpg,
		path->marginal ? ", marginal: kept out for now" : "");
	if (!lu->ready_called) {
		lu->ready_called = true;
		if (lu->ready_fn)
			lu->ready_fn(lu, lu->ready_arg);
	}
	mp_lu_usability_changed(lu, path, MP_USABILITY_PATH_UP, "path up");
	return 0;
}

/* Count a failure; enough of them within the window make the path marginal. */
static void note_failure(struct mp_lu *lu, struct mp_path *p)
{
	const struct mp_lu_opts *o = &lu->opts;
	uint64_t now = mp_clock_now(&lu->clock);
	if (!o->marginal_flaps)
		return;
	if (now - p->fail_window_start_ms > (uint64_t)o->marginal_window_s * 1000 || !p->recent_failures) {
		p->fail_window_start_ms = now;
		p->recent_failures = 0;
	}
	if (++p->recent_failures >= o->marginal_flaps && !p->marginal) {
		p->marginal = true;
		p->marginal_until_ms = now + (uint64_t)o->marginal_hold_s * 1000;
		mp_warn("disk %s: path %" PRIu32 " %s marginal: %" PRIu32 " failures within %" PRIu32 " s; kept out for %" PRIu32
			" s", lu->name, p->id, p->name, p->recent_failures, o->marginal_window_s, o->marginal_hold_s);
	}
}

void mp_lu_path_down(struct mp_lu *lu, struct mp_path *path, const char *reason)
{
	if (path->state == MP_PATH_UP) {
		mp_warn("disk %s: path %" PRIu32 " %s down: %s", lu->name, path->id, path->name, reason);
		note_failure(lu, path);
	}
	if (path->state != MP_PATH_FAILED)
		path->state = MP_PATH_DOWN;
	path->last_state_change_ms = mp_clock_now(&lu->clock);
	mp_lu_usability_changed(lu, path, MP_USABILITY_PATH_DOWN, reason);
}

/* mp_lu_usability_changed without the audit that follows every call of it. */
static void apply_usability(struct mp_lu *lu, struct mp_path *path, enum mp_usability_cause cause,
			    const char *why)
{
	bool was = lu->any_usable, now = mp_lu_any_usable(lu);
	lu->any_usable = now;
	if (was && !now) {
		lu->down_since_ms = mp_clock_now(&lu->clock);
		if (cause == MP_USABILITY_ALUA)
			mp_warn("disk %s: no path can take I/O in its ALUA state (%s)", lu->name, why);
		/* A path went down and nothing usable is left (e.g. a second fault while the first
		 * one's paths are still in reconnect backoff): every other path waiting to reconnect
		 * tries now. Only on the transition to all-down (a reconnect that fails again while
		 * everything is down is not one), so failing reconnects cannot wake each other in a
		 * loop. */
		if (cause == MP_USABILITY_PATH_DOWN)
			for (struct mp_path *q = lu->paths; q; q = q->lu_next)
				if (q != path && q->state == MP_PATH_DOWN && !q->admin_failed && q->ops->reinstate)
					q->ops->reinstate(q);
	}
	switch (cause) {
	case MP_USABILITY_PATH_DOWN:
	case MP_USABILITY_ADMIN_FAIL:
	case MP_USABILITY_MARGINAL:
		/* A path went out: mp_lu_select fails over by itself, and what finds no path waits. */
		return;
	case MP_USABILITY_PATH_UP:
		/* Also when this path cannot take I/O itself yet (marginal, or a group not active):
		 * the policy looks at every path. */
		break;
	case MP_USABILITY_REINSTATE:
	case MP_USABILITY_MARGINAL_END:
		if (!path || !usable(path, false))
			return; /* not back for I/O yet: its attach (PATH_UP) comes later */
		break;
	case MP_USABILITY_ALUA:
		if (!now)
			return;
		regroup(lu, why);
		mp_lu_resume_waiting(lu);
		return;
	}
	if (path)
		consider_failback(lu, path);
	mp_lu_resume_waiting(lu);
}

void mp_lu_usability_changed(struct mp_lu *lu, struct mp_path *path, enum mp_usability_cause cause,
			     const char *why)
{
	apply_usability(lu, path, cause, why);
	/* After everything that followed (failback, regroup): the verdict sees the active group as
	 * the change left it. */
	mp_lu_reaudit(lu);
}

/* Marginal paths whose hold ran out come back; paths far slower than their group's best go out;
 * the redundancy verdict is logged once it has settled. */
static void house_fire(void *arg)
{
	struct mp_lu *lu = arg;
	const struct mp_lu_opts *o = &lu->opts;
	uint64_t now = mp_clock_now(&lu->clock);

	lu->clock.ops->timer_arm(lu->house_timer, HOUSEKEEPING_MS);
	mp_lu_redundancy_tick(lu, now);
	for (struct mp_path *p = lu->paths; p; p = p->lu_next) {
		if (p->marginal && now >= p->marginal_until_ms) {
			p->marginal = false;
			p->recent_failures = 0;
			p->lat_ewma_us = 0;
			mp_info("disk %s: path %" PRIu32 " %s no longer marginal", lu->name, p->id, p->name);
			mp_lu_usability_changed(lu, p, MP_USABILITY_MARGINAL_END, "marginal hold over");
		}
	}
	if (!o->marginal_latency_factor)
		return;
	for (struct mp_path *p = lu->paths; p; p = p->lu_next) {
		uint64_t fresh = p->completed - p->lat_checked_completed;
		p->lat_checked_completed = p->completed;
		if (!usable(p, false) || p->completed < LATENCY_MIN_SAMPLES || fresh < LATENCY_FRESH_SAMPLES ||
		    p->lat_ewma_us < LATENCY_FLOOR_US) {
			p->lat_strikes = 0;
			continue;
		}
		uint64_t best = UINT64_MAX;
		for (struct mp_path *q = lu->paths; q; q = q->lu_next)
			if (q != p && q->prio == p->prio && usable(q, false) && q->completed >= LATENCY_MIN_SAMPLES &&
			    q->lat_ewma_us)
				best = MP_MIN(best, q->lat_ewma_us);
		if (best == UINT64_MAX || p->lat_ewma_us <= best * o->marginal_latency_factor) {
			p->lat_strikes = 0;
			continue;
		}
		if (++p->lat_strikes < LATENCY_STRIKES)
			continue;
		p->lat_strikes = 0;
		p->marginal = true;
		p->marginal_until_ms = now + (uint64_t)o->marginal_hold_s * 1000;
		mp_warn("disk %s: path %" PRIu32 " %s marginal: latency %" PRIu64 " us vs %" PRIu64
			" us on its peers for %d s; kept out for %" PRIu32 " s",
			lu->name, p->id, p->name, p->lat_ewma_us, best, LATENCY_STRIKES, o->marginal_hold_s);
		mp_lu_usability_changed(lu, p, MP_USABILITY_MARGINAL, "latency");
	}
}

static bool has_path(const struct mp_lu *lu, const struct mp_path *path)
{
	for (const struct mp_path *p = lu->paths; p; p = p->lu_next)
		if (p == path)
			return true;
	return false;
}

int mp_lu_path_admin_fail(struct mp_lu *lu, struct mp_path *path)
{
	if (!has_path(lu, path)) {
		errno = ENOENT;
		return -1;
	}
	if (!path->admin_failed)
		mp_warn("disk %s: path %" PRIu32 " %s failed by operator", lu->name, path->id, path->name);
	path->admin_failed = true;
	mp_lu_usability_changed(lu, path, MP_USABILITY_ADMIN_FAIL, "failed by operator");
	return 0;
}

int mp_lu_path_reinstate(struct mp_lu *lu, struct mp_path *path)
{
	if (!has_path(lu, path)) {
		errno = ENOENT;
		return -1;
	}
	if (path->admin_failed || path->marginal)
		mp_info("disk %s: path %" PRIu32 " %s reinstated by operator", lu->name, path->id, path->name);
	path->admin_failed = false;
	path->marginal = false;
	path->recent_failures = 0;
	if (path->state != MP_PATH_UP && path->ops->reinstate)
		path->ops->reinstate(path);
	mp_lu_usability_changed(lu, path, MP_USABILITY_REINSTATE, "reinstated by operator");
	return 0;
}

/* Priorities changed (ALUA): pick the best usable group, unless failback is manual and the active
 * group still has a usable path. */
static void regroup(struct mp_lu *lu, const char *why)
{
	int32_t best;
	if (!best_prio(lu, false, &best) && !best_prio(lu, true, &best))
		return;
	if (!lu->have_active || group_usable(lu, lu->active_prio, true) == 0) {
		set_active(lu, best, why);
		return;
	}
	if (best == lu->active_prio)
		return;
	if (lu->opts.failback == MP_FAILBACK_MANUAL && best > lu->active_prio) {
		mp_info("disk %s: path group %" PRId32 " is better now (%s); failback is manual", lu->name, best, why);
		return;
	}
	lu->clock.ops->timer_cancel(lu->failback_timer);
	set_active(lu, best, why);
}

int mp_lu_switch_group(struct mp_lu *lu, int32_t prio)
{
	if (group_usable(lu, prio, true) == 0) {
		errno = ENOENT;
		return -1;
	}
	lu->clock.ops->timer_cancel(lu->failback_timer);
	set_active(lu, prio, "operator");
	mp_lu_reaudit(lu); /* the active group changed outside mp_lu_usability_changed */
	return 0;
}
