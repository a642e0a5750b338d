/* ALUA in the core: per-group access states shared by the paths, RTPG refresh and its triggers, explicit activation (STPG). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/classify.h"
#include "mpath/lu_int.h"
#include "mpath/rtpg.h"

/* Poll period while something is degraded (a group not active, a port offline), and while a group
 * transitions (the transition's end is when I/O can move back). */
#define ALUA_FAST_POLL_MS 1000
#define ALUA_TRANSITION_POLL_MS 250
/* Retry after a failed RTPG (no path, transport error, unit attention). */
#define ALUA_RETRY_MS 100
/* A group transitions for at most this long before it counts as unavailable (and polling slows). */
#define ALUA_TRANSITION_MAX_MS 60000
/* Explicit activation of one group at most this often. */
#define ALUA_STPG_INTERVAL_MS 2000

static void alua_tick(void *arg);
static void send_rtpg(struct mp_lu *lu, struct mp_path *only);

int mp_alua_init(struct mp_lu *lu)
{
	struct mp_alua *a = &lu->alua;
	memset(a, 0, sizeof(*a));
	a->rtpg.lu = a->stpg.lu = lu;
	a->timer = lu->clock.ops->timer_new(lu->clock.ctx, alua_tick, lu);
	return a->timer ? 0 : -1;
}

void mp_alua_fini(struct mp_lu *lu)
{
	struct mp_alua *a = &lu->alua;
	if (a->rtpg.busy || a->stpg.busy)
		mp_err("disk %s: freed with an ALUA command in flight", lu->name);
	if (a->timer)
		lu->clock.ops->timer_free(a->timer);
	a->timer = NULL;
}

static struct mp_alua_grp *grp_find(struct mp_alua *a, uint16_t id)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->g[i].id == id)
			return &a->g[i];
	return NULL;
}

static const struct mp_alua_grp *grp_of(const struct mp_lu *lu, const struct mp_path *p)
{
	if (!lu->alua.enabled || !p->has_tpg)
		return NULL;
	return grp_find((struct mp_alua *)&lu->alua, p->tpg);
}

static bool state_takes_io(uint8_t st)
{
	return st == MP_ALUA_AO || st == MP_ALUA_ANO || st == MP_ALUA_LBD;
}

bool mp_alua_path_io_ok(const struct mp_lu *lu, const struct mp_path *p)
{
	if (!lu->alua.enabled)
		return true;
	if (p->alua_port_offline)
		return false;
	const struct mp_alua_grp *g = grp_of(lu, p);
	return !g || state_takes_io(g->state);
}

bool mp_alua_path_standby(const struct mp_lu *lu, const struct mp_path *p)
{
	if (!lu->alua.enabled || p->alua_port_offline)
		return false;
	const struct mp_alua_grp *g = grp_of(lu, p);
	return g && g->state == MP_ALUA_STANDBY;
}

/* Path priority from its group's state: AO > ANO > LBD > standby > the rest; PREF breaks ties. */
static int32_t alua_prio(const struct mp_alua_grp *g)
{
	switch (g->state) {
	case MP_ALUA_AO:
		return g->pref ? 55 : 50;
	case MP_ALUA_ANO:
		return g->pref ? 15 : 10;
	case MP_ALUA_LBD:
		return 5;
	case MP_ALUA_STANDBY:
		return 1;
	default:
		return 0;
	}
}

/* Something a path could serve is not serving: how soon to poll (0: not degraded). */
static uint64_t degraded(const struct mp_lu *lu)
{
	const struct mp_alua *a = &lu->alua;
	uint64_t now = mp_clock_now(&lu->clock);
	for (size_t i = 0; i < a->n; i++)
		if (a->g[i].state == MP_ALUA_TRANSITIONING && now - a->g[i].since_ms < ALUA_TRANSITION_MAX_MS)
			return ALUA_TRANSITION_POLL_MS;
	bool have_ao = false;
	for (const struct mp_path *p = lu->paths; p; p = p->lu_next) {
		if (p->state != MP_PATH_UP || p->admin_failed)
			continue;
		if (p->alua_port_offline)
			return ALUA_FAST_POLL_MS;
		const struct mp_alua_grp *g = grp_of(lu, p);
		if (g && g->state == MP_ALUA_AO)
			have_ao = true;
		else if (g && g->state != MP_ALUA_ANO)
			return ALUA_FAST_POLL_MS;
	}
	return have_ao ? 0 : ALUA_FAST_POLL_MS;
}

static void arm(struct mp_lu *lu, uint64_t ms)
{
	struct mp_alua *a = &lu->alua;
	uint64_t now = mp_clock_now(&lu->clock);
	if (a->timer_armed && a->timer_due_ms <= now + ms)
		return;
	a->timer_armed = true;
	a->timer_due_ms = now + ms;
	lu->clock.ops->timer_arm(a->timer, ms);
}

/* Next regular wake-up: fast while degraded, else the configured period (0 = no periodic refresh). */
static void arm_periodic(struct mp_lu *lu)
{
	if (!lu->alua.enabled)
		return;
	uint64_t fast = degraded(lu);
	if (fast)
		arm(lu, fast);
	else if (lu->opts.alua_refresh_s)
		arm(lu, (uint64_t)lu->opts.alua_refresh_s * 1000);
}

/* Priorities follow the groups' states. */
static void apply_prios(struct mp_lu *lu)
{
	for (struct mp_path *p = lu->paths; p; p = p->lu_next) {
		const struct mp_alua_grp *g = grp_of(lu, p);
		if (g)
			p->prio = alua_prio(g);
	}
}

static void set_grp_state(struct mp_lu *lu, struct mp_alua_grp *g, uint8_t st, bool pref, const char *how)
{
	if (g->state == st && g->pref == pref)
		return;
	mp_info("disk %s: ALUA group %" PRIu16 ": %s%s -> %s%s (%s)", lu->name, g->id, mp_alua_state_name(g->state),
		g->pref ? " (preferred)" : "", mp_alua_state_name(st), pref ? " (preferred)" : "", how);
	if (g->state != st)
		g->since_ms = mp_clock_now(&lu->clock);
	g->state = st;
	g->pref = pref;
}

static void maybe_activate(struct mp_lu *lu);

static void apply_rtpg(struct mp_lu *lu, const struct mp_rtpg *r, struct mp_path *via)
{
	struct mp_alua *a = &lu->alua;
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct mp_tpg_desc *d = &r->g[i];
		struct mp_alua_grp *g = grp_find(a, d->id);
		if (!g) {
			if (a->n == MP_RTPG_MAX_GROUPS)
				continue;
			g = &a->g[a->n++];
			memset(g, 0, sizeof(*g));
			g->id = d->id;
			g->state = d->state;
			g->pref = d->pref;
			g->since_ms = mp_clock_now(&lu->clock);
			mp_info("disk %s: ALUA group %" PRIu16 " %s%s", lu->name, g->id, mp_alua_state_name(g->state),
				g->pref ? " (preferred)" : "");
		} else {
			set_grp_state(lu, g, d->state, d->pref, "reported");
		}
		g->supported = d->supported;
	}
	/* The port the answer came through is not offline. */
	if (via && via->alua_port_offline) {
		via->alua_port_offline = false;
		mp_info("disk %s: path %" PRIu32 " %s: target port back online", lu->name, via->id, via->name);
	}
	for (const struct mp_path *p = lu->paths; p; p = p->lu_next)
		if (p->has_tpg && p->state == MP_PATH_UP && !grp_find(a, p->tpg) && !p->alua_warned) {
			((struct mp_path *)p)->alua_warned = true;
			mp_warn("disk %s: path %" PRIu32 " %s is in target port group %" PRIu16 ", which RTPG does not list",
				lu->name, p->id, p->name, p->tpg);
		}
	apply_prios(lu);
	mp_lu_usability_changed(lu, NULL, MP_USABILITY_ALUA, "ALUA state change");
	maybe_activate(lu);
}

/* ---- REPORT TARGET PORT GROUPS ---- */

/* The path to ask: one that takes I/O if any, else any logged-in path (RTPG works in standby). */
static struct mp_path *rtpg_path(struct mp_lu *lu)
{
	struct mp_path *fallback = NULL;
	for (struct mp_path *p = lu->paths; p; p = p->lu_next) {
		if (p->state != MP_PATH_UP || p->admin_failed || p->alua_port_offline)
			continue;
		if (mp_alua_path_io_ok(lu, p))
			return p;
		if (!fallback)
			fallback = p;
	}
	return fallback;
}

static void rtpg_done(struct mp_scsi_cmd *cmd, const struct mp_scsi_result *res)
{
	struct mp_alua_cmd *c = mp_container_of(cmd, struct mp_alua_cmd, cmd);
	struct mp_lu *lu = c->lu;
	struct mp_alua *a = &lu->alua;
	struct mp_path *via = c->path;
	c->busy = false;
	c->path = NULL;
	if (!a->enabled)
		return;

	if (res->xport == MP_XPORT_OK && res->status == 0) {
		struct mp_rtpg r;
		size_t got = cmd->len - MP_MIN(res->residual, cmd->len);
		/* A truncated answer (more groups than the buffer holds) still carries whole descriptors
		 * for the first groups: those are used; the rest stay as they were. */
		if (mp_rtpg_parse(c->buf, got, &r) == 0 && r.n_groups > 0) {
			a->failures = 0;
			apply_rtpg(lu, &r, via);
		} else {
			a->failures++;
			mp_warn("disk %s: path %" PRIu32 " %s: unusable REPORT TARGET PORT GROUPS answer (%zu bytes)",
				lu->name, via ? via->id : 0, via ? via->name : "?", got);
		}
	} else {
		a->failures++;
		struct mp_completion cc;
		mp_classify_completion(res, &cc);
		const struct mp_sense sn = cc.sense;
		if (sn.key == MP_SK_ILLEGAL_REQUEST && !a->no_extended) {
			/* Some targets reject the extended-header request: ask the plain way. */
			a->no_extended = true;
			a->refresh_wanted = true;
		} else if (sn.key == MP_SK_ILLEGAL_REQUEST) {
			mp_warn("disk %s: the target reports ALUA support but rejects REPORT TARGET PORT GROUPS "
				"(sense %x/%02x/%02x): ALUA off for this disk", lu->name, sn.key, sn.asc, sn.ascq);
			a->enabled = false;
			mp_lu_usability_changed(lu, NULL, MP_USABILITY_ALUA, "ALUA off");
			return;
		} else if (cc.alua == MP_PORT_OFFLINE && via) {
			if (!via->alua_port_offline)
				mp_warn("disk %s: path %" PRIu32 " %s: target port offline", lu->name, via->id, via->name);
			via->alua_port_offline = true;
			mp_lu_usability_changed(lu, via, MP_USABILITY_ALUA, "target port offline");
			a->refresh_wanted = true;
		} else {
			/* Unit attention (answer again at once), a dying path, BUSY: soon, maybe elsewhere. */
			a->refresh_wanted = true;
			mp_debug("disk %s: RTPG on %s failed (transport %d, status 0x%02x, sense %x/%02x/%02x)",
				 lu->name, via ? via->name : "?", (int)res->xport, res->status, sn.key, sn.asc, sn.ascq);
		}
	}
	if (a->refresh_wanted) {
		a->refresh_wanted = false;
		if (a->failures > 3)
			arm(lu, ALUA_RETRY_MS);
		else
			send_rtpg(lu, NULL);
	}
	arm_periodic(lu);
}

static bool submit_rtpg(struct mp_lu *lu, struct mp_path *p)
{
	struct mp_alua_cmd *c = &lu->alua.rtpg;
	c->cmd.cdb_len = mp_cdb_report_tpgs(c->cmd.cdb, sizeof(c->buf), !lu->alua.no_extended);
	c->cmd.dir = MP_DIR_READ;
	c->cmd.buf = c->buf;
	c->cmd.len = sizeof(c->buf);
	c->cmd.done = rtpg_done;
	c->path = p;
	c->busy = true;
	if (p->ops->submit(p, &c->cmd) == 0)
		return true;
	c->busy = false;
	c->path = NULL;
	return false;
}

/* Ask for the groups' states now (through `only` if given), or as soon as the one in flight is back. */
static void send_rtpg(struct mp_lu *lu, struct mp_path *only)
{
	struct mp_alua *a = &lu->alua;
	if (!a->enabled)
		return;
	if (a->rtpg.busy) {
		a->refresh_wanted = true;
		return;
	}
	struct mp_path *p = only ? only : rtpg_path(lu);
	if (p && submit_rtpg(lu, p))
		return;
	/* No path takes it now: try again shortly (a path coming up also triggers a refresh). */
	arm(lu, ALUA_RETRY_MS * 10);
}

void mp_alua_refresh(struct mp_lu *lu, const char *why)
{
	if (!lu->alua.enabled)
		return;
	mp_debug("disk %s: ALUA refresh (%s)", lu->name, why);
	send_rtpg(lu, NULL);
}

/* ---- SET TARGET PORT GROUPS ---- */

static void stpg_done(struct mp_scsi_cmd *cmd, const struct mp_scsi_result *res)
{
	struct mp_alua_cmd *c = mp_container_of(cmd, struct mp_alua_cmd, cmd);
	struct mp_lu *lu = c->lu;
	struct mp_path *via = c->path;
	c->busy = false;
	c->path = NULL;
	if (res->xport == MP_XPORT_OK && res->status == 0) {
		mp_info("disk %s: ALUA group %" PRIu16 " activated (SET TARGET PORT GROUPS via %s)", lu->name,
			c->tpg, via ? via->name : "?");
	} else {
		struct mp_completion cc;
		mp_classify_completion(res, &cc);
		const struct mp_sense sn = cc.sense;
		mp_warn("disk %s: SET TARGET PORT GROUPS for group %" PRIu16 " failed (transport %d, status 0x%02x, "
			"sense %x/%02x/%02x)", lu->name, c->tpg, (int)res->xport, res->status, sn.key, sn.asc, sn.ascq);
	}
	/* Either way, learn what the target did. */
	send_rtpg(lu, NULL);
	arm_periodic(lu);
}

/* No path can take I/O but a standby group could: ask the target to make it active/optimized. */
static void maybe_activate(struct mp_lu *lu)
{
	struct mp_alua *a = &lu->alua;
	uint64_t now = mp_clock_now(&lu->clock);
	if (!a->enabled || !a->explicit_sup || !lu->opts.alua_explicit || a->stpg.busy || mp_lu_any_usable(lu))
		return;
	if (a->last_stpg_ms && now - a->last_stpg_ms < ALUA_STPG_INTERVAL_MS) {
		arm(lu, ALUA_STPG_INTERVAL_MS - (now - a->last_stpg_ms));
		return;
	}
	struct mp_path *best = NULL;
	const struct mp_alua_grp *bg = NULL;
	for (struct mp_path *p = lu->paths; p; p = p->lu_next) {
		const struct mp_alua_grp *g = grp_of(lu, p);
		if (p->state != MP_PATH_UP || p->admin_failed || p->alua_port_offline || !g ||
		    g->state != MP_ALUA_STANDBY || (g->supported && !(g->supported & MP_TPG_SUP_AO)))
			continue;
		if (!best || (g->pref && !bg->pref)) {
			best = p;
			bg = g;
		}
	}
	if (!best)
		return;
	struct mp_alua_cmd *c = &a->stpg;
	int plen = mp_stpg_param_build(c->buf, sizeof(c->buf), bg->id, MP_ALUA_AO);
	if (plen < 0)
		return;
	c->cmd.cdb_len = mp_cdb_set_tpgs(c->cmd.cdb, (uint32_t)plen);
	c->cmd.dir = MP_DIR_WRITE;
	c->cmd.buf = c->buf;
	c->cmd.len = (uint32_t)plen;
	c->cmd.done = stpg_done;
	c->path = best;
	c->tpg = bg->id;
	c->busy = true;
	a->last_stpg_ms = now;
	mp_info("disk %s: no active path; asking the target to activate ALUA group %" PRIu16 " via %s", lu->name,
		bg->id, best->name);
	if (best->ops->submit(best, &c->cmd) != 0) {
		c->busy = false;
		c->path = NULL;
		arm(lu, ALUA_STPG_INTERVAL_MS);
	}
}

/* ---- triggers ---- */

static void alua_tick(void *arg)
{
	struct mp_lu *lu = arg;
	struct mp_alua *a = &lu->alua;
	a->timer_armed = false;
	if (!a->enabled)
		return;
	/* A port that went offline is probed on its own path: only an answer there shows it is back. */
	for (struct mp_path *p = lu->paths; p; p = p->lu_next) {
		if (p->alua_port_offline && p->state == MP_PATH_UP && !p->admin_failed && !a->rtpg.busy) {
			submit_rtpg(lu, p);
			break;
		}
	}
	send_rtpg(lu, NULL);
	maybe_activate(lu);
	arm_periodic(lu);
}

void mp_alua_path_attached(struct mp_lu *lu, struct mp_path *p, const struct mp_lu_info *info)
{
	struct mp_alua *a = &lu->alua;
	p->has_tpg = info->has_tpg;
	p->tpg = info->tpg;
	p->has_rel_port = info->has_rel_port;
	p->rel_port = info->rel_port;
	p->alua_port_offline = false;
	if (!a->enabled && !a->decided) {
		a->decided = true;
		if (info->tpgs && !lu->opts.alua_off) {
			a->enabled = true;
			a->explicit_sup = (info->tpgs & 0x2) != 0;
			mp_info("disk %s: ALUA %s%s", lu->name,
				info->tpgs == 3 ? "implicit and explicit" : info->tpgs == 2 ? "explicit" : "implicit",
				a->explicit_sup && !lu->opts.alua_explicit ? " (alua_explicit = no: no STPG)" : "");
		}
	}
	if (!a->enabled)
		return;
	/* Until the table says otherwise, a known group's priority holds; a fresh path learns it now. */
	const struct mp_alua_grp *g = grp_of(lu, p);
	if (g)
		p->prio = alua_prio(g);
	send_rtpg(lu, NULL);
	arm_periodic(lu);
}

enum mp_alua_act mp_alua_on_check(struct mp_lu *lu, struct mp_path *p, const struct mp_scsi_result *res)
{
	struct mp_alua *a = &lu->alua;
	if (!a->enabled)
		return MP_ALUA_NONE;
	struct mp_completion cc;
	mp_classify_completion(res, &cc);
	switch (cc.ua) {
	case MP_UA_ALUA_CHANGED:
	case MP_UA_ALUA_TRANSITION_FAILED:
	case MP_UA_RESET:
	case MP_UA_LUNS_CHANGED:
		/* The target's groups, or what this nexus knows of them, may have changed: ask again. */
		mp_alua_refresh(lu, "unit attention");
		return MP_ALUA_NONE;
	case MP_UA_PARAMS_CHANGED:
	case MP_UA_OTHER:
		return MP_ALUA_NONE;
	case MP_UA_NONE:
		break;
	}
	uint8_t st;
	switch (cc.alua) {
	case MP_PORT_TRANSITIONING: st = MP_ALUA_TRANSITIONING; break;
	case MP_PORT_STANDBY: st = MP_ALUA_STANDBY; break;
	case MP_PORT_UNAVAILABLE: st = MP_ALUA_UNAVAILABLE; break;
	case MP_PORT_OFFLINE: st = MP_ALUA_OFFLINE; break;
	case MP_PORT_ALUA_NONE:
	default: return MP_ALUA_NONE;
	}
	if (st == MP_ALUA_OFFLINE) {
		if (!p->alua_port_offline)
			mp_warn("disk %s: path %" PRIu32 " %s: target port offline", lu->name, p->id, p->name);
		p->alua_port_offline = true;
	} else {
		struct mp_alua_grp *g = p->has_tpg ? grp_find(a, p->tpg) : NULL;
		if (!g) {
			mp_alua_refresh(lu, "ALUA sense on a path of unknown group");
			return MP_ALUA_NONE;
		}
		set_grp_state(lu, g, st, g->pref, "sense data");
		apply_prios(lu);
	}
	mp_alua_refresh(lu, "ALUA sense data");
	mp_lu_usability_changed(lu, p, MP_USABILITY_ALUA, "ALUA sense data");
	maybe_activate(lu);
	arm_periodic(lu);
	return MP_ALUA_REDISPATCH;
}

/* ---- views for tools ---- */

bool mp_lu_alua_enabled(const struct mp_lu *lu) { return lu->alua.enabled; }

size_t mp_lu_alua_groups(const struct mp_lu *lu, struct mp_alua_view *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < lu->alua.n && n < max; i++, n++) {
		out[n].id = lu->alua.g[i].id;
		out[n].state = lu->alua.g[i].state;
		out[n].pref = lu->alua.g[i].pref;
		out[n].supported = lu->alua.g[i].supported;
	}
	return n;
}

int mp_lu_path_alua_state(const struct mp_lu *lu, const struct mp_path *p)
{
	if (p->alua_port_offline)
		return MP_ALUA_OFFLINE;
	const struct mp_alua_grp *g = grp_of(lu, p);
	return g ? g->state : -1;
}
