/* mpiscsiadm -m node --login in the daemon: add the sessions, wait (on a timer) for their outcome, answer, undo a failure. */
#include "tools/mpiscsid/node_login.h"

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "tools/mpiscsid/ctl_server.h"
#include "tools/mpiscsid/daemon.h"
#include "tools/mpiscsid/exports.h"

/* How often a login's progress is looked at: cheap (a few sessions and disks), and what an
 * operator waiting for the prompt does not notice. */
#define LOGIN_POLL_S 0.1
#define LOGIN_MAX_SESSIONS 32

/* One session the login added to one disk section. */
struct login_sess {
	struct tspec *sp;
	uint32_t sid;
	uint32_t fails0, scans0;   /* the session's counters when the login added it */
	char iface[16], portal[300];
	int err;                   /* 0 pending or done; else the failure (errno) */
	bool done;
	char why[240];
};

struct login_wait {
	ev_timer tick;             /* first: the callback casts back */
	struct daemon *d;
	struct mp_ctl_later *later;
	struct tspec *made;        /* the disk section made for this login, or NULL */
	char target[224];
	int64_t lun;
	double timeout_s;
	ev_tstamp deadline;
	struct login_sess s[LOGIN_MAX_SESSIONS];
	size_t n;
};

static bool spec_alive(const struct daemon *d, const struct tspec *sp)
{
	for (size_t i = 0; i < d->n_specs; i++)
		if (d->specs[i] == sp)
			return true;
	return false;
}

static struct mp_iscsi_session *session_by_id(const struct daemon *d, uint32_t sid)
{
	for (size_t i = 0; i < d->n_sessions; i++)
		if (mp_iscsi_session_id(d->sessions[i].s) == sid)
			return d->sessions[i].s;
	return NULL;
}

/* The errno a failure kind is told by (mpiscsiadm maps it to iscsiadm's exit status). */
static int fail_errno(enum mp_iscsi_login_fail f)
{
	switch (f) {
	case MP_LOGIN_FAIL_CONNECT: return EHOSTUNREACH;
	case MP_LOGIN_FAIL_AUTH: return EACCES;
	case MP_LOGIN_FAIL_NOT_FOUND: return ENXIO;
	case MP_LOGIN_FAIL_REJECTED: return EPERM;
	case MP_LOGIN_FAIL_NO_IFACE: return ENODEV;
	case MP_LOGIN_FAIL_NONE:
	case MP_LOGIN_FAIL_TIMEOUT:
	case MP_LOGIN_FAIL_LOST:
		break;
	}
	return ETIMEDOUT;
}

/*
 * Whether session x of the login is finished: logged in, its scan heard by its disk section,
 * and every LUN the section takes from it attached (or refused by the identity check), each
 * disk exported. Sets x->err when it failed for good.
 */
static bool sess_settled(struct login_wait *w, struct login_sess *x)
{
	struct daemon *d = w->d;
	struct mp_iscsi_session *s = session_by_id(d, x->sid);
	if (!s || !spec_alive(d, x->sp)) {
		x->err = ECANCELED;
		snprintf(x->why, sizeof(x->why), "the session was removed while logging in (logout or reload)");
		return true;
	}
	struct mp_iscsi_session_view v;
	mp_iscsi_session_view(s, &v);
	if (v.failed_logins > x->fails0 && mp_iscsi_login_fail_final(v.login_fail)) {
		x->err = fail_errno(v.login_fail);
		snprintf(x->why, sizeof(x->why), "%s: %s", mp_iscsi_login_fail_name(v.login_fail), v.login_error);
		return true;
	}
	if (!mp_iscsi_session_ready(s) || v.scans_reported <= x->scans0)
		return false;
	size_t luns = 0;
	for (size_t i = 0; i < d->n_disks; i++) {
		struct disk *k = d->disks[i];
		if (k->sp != x->sp)
			continue;
		for (size_t j = 0; j < k->n_paths; j++) {
			if (mp_iscsi_path_session(k->paths[j]) != s)
				continue;
			const char *st = mp_iscsi_path_state(k->paths[j]);
			if (strcmp(st, "refused") != 0 && !(strcmp(st, "attached") == 0 && k->exported))
				return false;
			luns++;
		}
	}
	if (w->lun >= 0 && !luns) {
		x->err = ENOENT;
		snprintf(x->why, sizeof(x->why), "the target reports no disk at LUN %" PRId64, w->lun);
	}
	return true;
}

/* Take failed sessions out again, and the disk section made for the login if nothing worked. */
static void undo_failed(struct login_wait *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct login_sess *x = &w->s[i];
		if (!x->err || !spec_alive(w->d, x->sp))
			continue;
		struct mp_conf_portal pt = { 0 };
		const char *colon = strrchr(x->portal, ':');
		snprintf(pt.host, sizeof(pt.host), "%.*s", (int)(colon ? colon - x->portal : 0), x->portal);
		if (pt.host[0] == '[') { /* "[v6]:port" */
			memmove(pt.host, pt.host + 1, strlen(pt.host));
			pt.host[strlen(pt.host) - 1] = '\0';
		}
		pt.port = colon ? (uint16_t)atoi(colon + 1) : 3260;
		/* (iface "" matches only the unbound session: other sessions to the portal stay) */
		spec_drop_sessions(x->sp, &pt, x->iface);
	}
	if (w->made && spec_alive(w->d, w->made) && w->made->n_sess == 0)
		spec_remove(w->d, w->made, "login failed");
}

static void login_finish(struct login_wait *w)
{
	struct daemon *d = w->d;
	ev_timer_stop(d->loop, &w->tick);
	struct mp_ctl_login_session ss[LOGIN_MAX_SESSIONS];
	struct mp_ctl_login_disk *ds = NULL;
	char devs[64][64];
	size_t nd = 0;
	int err = 0;
	char msg[1024] = "";
	size_t used = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct login_sess *x = &w->s[i];
		ss[i] = (struct mp_ctl_login_session){ .iface = x->iface, .portal = x->portal, .err = x->err,
						       .error = x->why };
		if (!x->err)
			continue;
		if (!err)
			err = x->err;
		if (used < sizeof(msg))
			used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s%s%s%s: %s", used ? "; " : "",
						 x->portal, x->iface[0] ? " via " : "", x->iface, x->why);
	}
	undo_failed(w);
	if (!err) {
		/* The LUNs the login's sessions carry now, each with its disk. */
		ds = calloc(d->n_disks ? d->n_disks : 1, sizeof(*ds));
		for (size_t i = 0; ds && i < d->n_disks; i++) {
			struct disk *k = d->disks[i];
			const char *state = NULL;
			for (size_t j = 0; j < k->n_paths; j++)
				for (size_t q = 0; q < w->n; q++)
					if (k->sp == w->s[q].sp &&
					    mp_iscsi_session_id(mp_iscsi_path_session(k->paths[j])) == w->s[q].sid &&
					    (!state || strcmp(state, "refused") == 0))
						state = strcmp(mp_iscsi_path_state(k->paths[j]), "refused") == 0 ? "refused"
														   : "attached";
			if (!state)
				continue;
			char *dev = nd < MP_ARRAY_SIZE(devs) ? devs[nd] : NULL;
			if (dev)
				mp_exports_device(d->exports, k->name, dev, sizeof(devs[0]));
			ds[nd++] = (struct mp_ctl_login_disk){ .lun = k->lun, .disk = k->name, .export_name = k->export_name,
							       .device = dev ? dev : "", .state = state };
		}
		snprintf(msg, sizeof(msg), "%zu session(s) to %s logged in, %zu LUN(s) attached", w->n, w->target, nd);
		mp_info("control: login: %s", msg);
	}
	struct mp_ctl_login_result r = { .err = err, .message = msg, .sessions = ss, .n_sessions = w->n,
					 .disks = ds, .n_disks = nd };
	mp_ctl_later_login_done(w->later, &r);
	free(ds);
	free(w);
}

static void login_tick(struct ev_loop *loop, ev_timer *t, int revents MP_UNUSED)
{
	struct login_wait *w = (struct login_wait *)t;
	bool all = true, late = ev_now(loop) >= w->deadline;
	for (size_t i = 0; i < w->n; i++) {
		struct login_sess *x = &w->s[i];
		if (!x->done)
			x->done = sess_settled(w, x);
		all &= x->done;
	}
	if (!all && late) {
		/* Out of time: what is still pending failed with its last reason (iscsid gives up the
		 * same way after its login timeout and retries). */
		for (size_t i = 0; i < w->n; i++) {
			struct login_sess *x = &w->s[i];
			if (x->done)
				continue;
			x->done = true;
			struct mp_iscsi_session *s = session_by_id(w->d, x->sid);
			struct mp_iscsi_session_view v = { 0 };
			if (s)
				mp_iscsi_session_view(s, &v);
			if (s && v.failed_logins > x->fails0) {
				x->err = fail_errno(v.login_fail);
				snprintf(x->why, sizeof(x->why), "%s: %s (no login within %.0f s)",
					 mp_iscsi_login_fail_name(v.login_fail), v.login_error, w->timeout_s);
			} else {
				x->err = ETIMEDOUT;
				snprintf(x->why, sizeof(x->why), "%s within %.0f s",
					 s && mp_iscsi_session_ready(s) ? "LUNs not attached" : "no login", w->timeout_s);
			}
		}
		all = true;
	}
	if (all)
		login_finish(w);
}

/* The daemon stops with the login still waiting (mp_ctl_free): drop it; its sessions go with the daemon. */
static void login_cancel(void *arg)
{
	struct login_wait *w = arg;
	ev_timer_stop(w->d->loop, &w->tick);
	free(w);
}

/* Record the sessions of sp that are not in before[0..nb) as the login's. */
static void note_new(struct login_wait *w, struct tspec *sp, struct mp_iscsi_session *const *before, size_t nb)
{
	for (size_t j = 0; j < sp->n_sess && w->n < LOGIN_MAX_SESSIONS; j++) {
		struct mp_iscsi_session *s = sp->sess[j];
		bool old = false;
		for (size_t k = 0; k < nb && !old; k++)
			old = before[k] == s;
		if (old)
			continue;
		struct mp_iscsi_session_view v;
		mp_iscsi_session_view(s, &v);
		struct login_sess *x = &w->s[w->n++];
		*x = (struct login_sess){ .sp = sp, .sid = v.id, .fails0 = v.failed_logins, .scans0 = v.scans_reported };
		snprintf(x->iface, sizeof(x->iface), "%s", mp_iscsi_session_bound_iface(s));
		snprintf(x->portal, sizeof(x->portal), "%s", mp_iscsi_session_portal(s));
	}
}

/* The NIC must exist (down is fine: it may come up); libiscsi would otherwise log in unbound. */
static int check_nic(const char *iface, char *msg, size_t len)
{
	if (!iface || getenv(NODE_LOGIN_TEST_NO_NIC_CHECK_ENV) || if_nametoindex(iface) != 0)
		return 0;
	snprintf(msg, len, "interface %s: no such network interface on this host", iface);
	errno = ENODEV;
	return -1;
}

int node_login_start(struct daemon *d, const char *target, const char *portal, int64_t lun, const char *iface,
		     double timeout_s, struct mp_ctl_later *later, char *msg, size_t len)
{
	char url[700], err[600];
	struct mp_conf tmp;
	if (check_nic(iface, msg, len) != 0)
		return -1;
	/* One URL gives a target config with the defaults; the portal is checked there too. */
	if (lun >= 0)
		snprintf(url, sizeof(url), "iscsi://%s/%s/%" PRId64, portal, target, lun);
	else
		snprintf(url, sizeof(url), "iscsi://%s/%s", portal, target);
	mp_conf_init(&tmp);
	snprintf(tmp.initiator_name, sizeof(tmp.initiator_name), "%s", d->conf.initiator_name);
	if (mp_conf_add_url(&tmp, url, err, sizeof(err)) != 0 || tmp.n_disks != 1) {
		snprintf(msg, len, "%s", err);
		mp_conf_free(&tmp);
		errno = EINVAL;
		return -1;
	}
	struct login_wait *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(msg, len, "out of memory");
		mp_conf_free(&tmp);
		errno = ENOMEM;
		return -1;
	}
	w->d = d;
	w->later = later;
	w->lun = lun;
	w->timeout_s = timeout_s;
	snprintf(w->target, sizeof(w->target), "%s", target);
	struct mp_conf_disk *nc = &tmp.disks[0];
	if (iface) {
		snprintf(nc->interfaces[0], sizeof(nc->interfaces[0]), "%s", iface);
		nc->n_interfaces = 1;
	}
	/* The disk sections that take the same LUNs (without --lun: every section of the target):
	 * the portal's sessions join them, unless they have them already (iscsiadm says "session
	 * already present"). */
	char want[300];
	portal_string(&nc->portals[0], want, sizeof(want));
	size_t matched = 0, present = 0;
	for (size_t i = 0; i < d->n_specs; i++) {
		struct tspec *sp = d->specs[i];
		if (strcmp(sp->conf->target, target) != 0 ||
		    (nc->lun_mode == MP_CONF_LUNS_ONE &&
		     (sp->conf->lun_mode != MP_CONF_LUNS_ONE || sp->conf->lun != nc->lun)))
			continue;
		matched++;
		bool has = false;
		for (size_t j = 0; j < sp->n_sess && !has; j++) {
			struct mp_iscsi_session *s = sp->sess[j];
			has = strcasecmp(mp_iscsi_session_portal(s), want) == 0 &&
			      (!iface || strcmp(mp_iscsi_session_bound_iface(s), iface) == 0);
		}
		if (has) {
			present++;
			continue;
		}
		struct mp_iscsi_session **before = malloc((sp->n_sess + 1) * sizeof(*before));
		if (!before)
			goto nomem;
		memcpy(before, sp->sess, sp->n_sess * sizeof(*before));
		size_t nb = sp->n_sess;
		int rc = spec_add_portal(sp, &nc->portals[0], iface);
		if (rc < 0 && errno != EEXIST) {
			snprintf(msg, len, "disk %s: cannot add sessions: %s", sp->conf->name, strerror(errno));
			free(before);
			goto fail;
		}
		note_new(w, sp, before, nb);
		free(before);
	}
	if (matched && present == matched) {
		snprintf(msg, len, "session already present: %s via %s%s%s", target, want, iface ? " on " : "",
			 iface ? iface : "");
		errno = EEXIST;
		goto fail;
	}
	if (!matched) {
		/* A new disk section, named after the target (its part after the last ':') and the LUN. */
		const char *tail = strrchr(target, ':');
		tail = tail ? tail + 1 : target;
		if (lun >= 0)
			snprintf(nc->name, sizeof(nc->name), "%.40s-%" PRId64, tail, lun);
		else
			snprintf(nc->name, sizeof(nc->name), "%.40s", tail);
		for (const char *c = nc->name; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			      *c == '-' || *c == '_' || *c == '.'))
				snprintf(nc->name, sizeof(nc->name), "node%u", ++d->node_seq);
		if (spec_find(d, nc->name) || disk_find(d, nc->name))
			snprintf(nc->name, sizeof(nc->name), "node%u", ++d->node_seq);
		snprintf(nc->export_name, sizeof(nc->export_name), "%s", nc->name);
		struct tspec *sp = spec_new(d, nc, false);
		if (!sp) {
			snprintf(msg, len, "cannot log in to %s: %s", target, strerror(errno));
			goto fail;
		}
		w->made = sp;
		note_new(w, sp, NULL, 0);
	}
	mp_conf_free(&tmp);
	if (!w->n) {
		/* Every matching section had the session already through some NIC it adds. */
		snprintf(msg, len, "session already present: %s via %s", target, want);
		free(w);
		errno = EEXIST;
		return -1;
	}
	mp_info("control: logging in to %s via %s%s%s: %zu new session(s), waiting up to %.0f s", target, want,
		iface ? " on " : "", iface ? iface : "", w->n, timeout_s);
	w->deadline = ev_now(d->loop) + timeout_s;
	ev_timer_init(&w->tick, login_tick, LOGIN_POLL_S, LOGIN_POLL_S);
	ev_timer_start(d->loop, &w->tick);
	mp_ctl_later_set_cancel(later, login_cancel, w);
	return 1;
nomem:
	snprintf(msg, len, "out of memory");
	errno = ENOMEM;
fail:;
	int e = errno;
	/* Sessions already added to other sections go again. */
	for (size_t i = 0; i < w->n; i++)
		w->s[i].err = e;
	undo_failed(w);
	mp_conf_free(&tmp);
	free(w);
	errno = e;
	return -1;
}
