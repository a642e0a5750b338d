/* mpiscsid at run time: target specs, the shared session registry and SendTargets discovery per spec. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "initiator/discovery.h"
#include "initiator/isid.h"
#include "initiator/linkmon.h"
#include "mpath/selector.h"
#include "tools/mpiscsid/daemon.h"
#include "tools/mpiscsid/node_login.h"

#define DISCOVERY_RETRY_S 5.0

void portal_string(const struct mp_conf_portal *pt, char *buf, size_t len)
{
	if (strchr(pt->host, ':'))
		snprintf(buf, len, "[%s]:%u", pt->host, pt->port);
	else
		snprintf(buf, len, "%s:%u", pt->host, pt->port);
}

/* ---- CHAP for a session: names from the config that made it, secrets from the current one ---- */

/* Owned by the session's registry entry; the session may outlive the spec that made it. */
struct sess_chap {
	struct daemon *d;
	enum mp_conf_auth auth;
	char user[MP_CONF_CHAP_NAME_MAX], mutual_user[MP_CONF_CHAP_NAME_MAX];
};

static int session_chap(void *arg, struct mp_iscsi_chap *out, char *why, size_t n)
{
	const struct sess_chap *c = arg;
	out->user = c->user;
	out->mutual_user = c->auth == MP_CONF_AUTH_MUTUAL ? c->mutual_user : NULL;
	return mp_conf_chap_secrets(&c->d->conf, out->user, out->mutual_user, &out->secret, &out->mutual_secret,
				    why, n);
}

/* ---- the session registry ---- */

/* Registry entries also keep what a path needs to know of its session. */
struct sess_info {
	struct mp_conf_portal pt;
	char iface[16];
	struct sess_chap chap;
};

/* Kept in the registry entry beside the session handle. */
struct sess_box {
	struct sess_info info;
};

struct sess_entry *sess_entry_of(struct daemon *d, const struct mp_iscsi_session *s)
{
	for (size_t i = 0; i < d->n_sessions; i++)
		if (d->sessions[i].s == s)
			return &d->sessions[i];
	return NULL;
}

/* Same (NIC, portal, target): for the per-LU test hook, sessions of one nexus key. */
bool sess_same_key(const struct mp_iscsi_session *a, const struct mp_iscsi_session *b)
{
	return a == b || (strcmp(mp_iscsi_session_bound_iface(a), mp_iscsi_session_bound_iface(b)) == 0 &&
			  strcasecmp(mp_iscsi_session_portal(a), mp_iscsi_session_portal(b)) == 0 &&
			  strcmp(mp_iscsi_session_target(a), mp_iscsi_session_target(b)) == 0);
}

static struct sess_entry *sess_lookup(struct daemon *d, const char *iface, const char *portal, const char *target,
				      uint32_t lun_tag)
{
	for (size_t i = 0; i < d->n_sessions; i++) {
		struct mp_iscsi_session *s = d->sessions[i].s;
		if (d->sessions[i].lun_tag == lun_tag && strcmp(mp_iscsi_session_bound_iface(s), iface ? iface : "") == 0 &&
		    strcasecmp(mp_iscsi_session_portal(s), portal) == 0 && strcmp(mp_iscsi_session_target(s), target) == 0)
			return &d->sessions[i];
	}
	return NULL;
}

static void on_luns(void *arg, struct mp_iscsi_session *s, bool ok, const uint32_t *luns, size_t n, const char *why);

/* The session for (iface, portal, target) of spec sp: the running one, or a new one. */
struct mp_iscsi_session *sess_get(struct daemon *d, struct tspec *sp, const struct mp_conf_portal *pt,
					 const char *iface, uint32_t lun_tag, bool *created)
{
	const struct mp_conf_disk *c = sp->conf;
	char portal[300];
	portal_string(pt, portal, sizeof(portal));
	*created = false;
	struct sess_entry *e = sess_lookup(d, iface, portal, c->target, lun_tag);
	if (e)
		return e->s;

	struct sess_entry *ne = realloc(d->sessions, (d->n_sessions + 1) * sizeof(*ne));
	struct sess_box *box = calloc(1, sizeof(*box));
	if (ne)
		d->sessions = ne;
	if (!ne || !box) {
		free(box);
		errno = ENOMEM;
		return NULL;
	}
	box->info.pt = *pt;
	snprintf(box->info.iface, sizeof(box->info.iface), "%s", iface ? iface : "");
	box->info.chap.d = d;
	box->info.chap.auth = c->auth;
	snprintf(box->info.chap.user, sizeof(box->info.chap.user), "%s", c->chap_user);
	snprintf(box->info.chap.mutual_user, sizeof(box->info.chap.mutual_user), "%s", c->chap_mutual_user);

	struct mp_iscsi_session_opts o;
	mp_iscsi_session_opts_default(&o);
	o.initiator_name = d->conf.initiator_name;
	o.target = c->target;
	o.portal = portal;
	o.iface = iface;
	o.id = ++d->last_session_id;
	o.noop_interval_ms = c->noop_interval_ms;
	o.noop_timeout_ms = c->noop_timeout_ms;
	o.command_timeout_ms = c->command_timeout_ms;
	o.login_timeout_ms = c->login_timeout_ms;
	o.reconnect_max_ms = c->reconnect_max_ms;
	/* Test hook: show that stale writes land without the abortive close (never for production). */
	o.plain_close = d->plain_close;
	o.no_pdu_guard = d->no_pdu_guard; /* test hook: see tests/e2e/t_76_hostile.sh */
	o.no_nic_check = getenv(NODE_LOGIN_TEST_NO_NIC_CHECK_ENV) != NULL; /* test hook: t_63_login.sh */
	if (c->auth != MP_CONF_AUTH_NONE) {
		o.chap = session_chap;
		o.chap_arg = &box->info.chap;
	}
	o.luns = on_luns;
	o.luns_arg = d;
	/* ISID: unique among our sessions to this target. The test hook reproduces the old bug:
	 * a session per LU, every one with the same ISID. */
	uint8_t(*taken)[6] = calloc(d->n_sessions + 1, sizeof(*taken));
	size_t nt = 0;
	for (size_t i = 0; taken && i < d->n_sessions && !d->session_per_lu; i++) {
		struct mp_iscsi_session_view v;
		mp_iscsi_session_view(d->sessions[i].s, &v);
		if (strcmp(v.target, c->target) == 0)
			memcpy(taken[nt++], v.isid, 6);
	}
	unsigned bump = mp_isid_pick(d->conf.initiator_name, iface, portal, c->target, (const uint8_t(*)[6])taken, nt,
				     o.isid);
	free(taken);
	if (bump)
		mp_info("disk %s: session %u: derived ISID taken by another session to %s: qualifier moved by %u",
			c->name, o.id, c->target, bump);
	struct mp_iscsi_session *s = mp_iscsi_session_new(d->loop, &o);
	if (!s) {
		free(box);
		return NULL;
	}
	d->sessions[d->n_sessions++] = (struct sess_entry){ .s = s, .lun_tag = lun_tag, .box = box };
	*created = true;
	if (iface && d->linkmon && mp_linkmon_is_up(d->linkmon, iface) == 0)
		mp_iscsi_session_link_event(s, false);
	return s;
}

static struct sess_info *entry_info(const struct sess_entry *e) { return &((struct sess_box *)e->box)->info; }

void sess_entry_where(const struct sess_entry *e, const struct mp_conf_portal **pt, const char **iface)
{
	const struct sess_info *si = entry_info(e);
	*pt = &si->pt;
	*iface = si->iface[0] ? si->iface : NULL;
}

bool spec_uses(const struct tspec *sp, const struct mp_iscsi_session *s)
{
	for (size_t i = 0; i < sp->n_sess; i++)
		if (sp->sess[i] == s)
			return true;
	return false;
}

void sessions_gc(struct daemon *d)
{
	for (size_t i = 0; i < d->n_sessions;) {
		struct sess_entry *e = &d->sessions[i];
		bool used = mp_iscsi_session_n_paths(e->s) > 0;
		for (size_t j = 0; j < d->n_specs && !used; j++)
			used = spec_uses(d->specs[j], e->s);
		if (used) {
			i++;
			continue;
		}
		mp_info("%ssession %u %s: logged out", mp_iscsi_session_tag(e->s), mp_iscsi_session_id(e->s),
			mp_iscsi_session_name(e->s));
		mp_iscsi_session_free(e->s);
		free(e->box);
		memmove(d->sessions + i, d->sessions + i + 1, (d->n_sessions - i - 1) * sizeof(*d->sessions));
		d->n_sessions--;
	}
}

void sessions_link_event(struct daemon *d, const char *ifname, bool up)
{
	for (size_t i = 0; i < d->n_sessions; i++)
		if (strcmp(mp_iscsi_session_iface(d->sessions[i].s), ifname) == 0)
			mp_iscsi_session_link_event(d->sessions[i].s, up);
}

static void on_luns(void *arg, struct mp_iscsi_session *s, bool ok, const uint32_t *luns, size_t n,
		    const char *why MP_UNUSED)
{
	struct daemon *d = arg;
	struct sess_entry *e = sess_entry_of(d, s);
	if (!e || e->lun_tag)
		return; /* (a per-LU session of the test hook serves the one path made for it) */
	for (size_t i = 0; i < d->n_specs; i++) {
		struct tspec *sp = d->specs[i];
		if (!spec_uses(sp, s))
			continue;
		disks_reconcile(sp, s, ok, luns, n);
		sp->scanned = true;
	}
	daemon_disk_ready(d, NULL);
}

/* ---- discovery ---- */

static void disc_start(struct disc_req *r);

static void disc_done(void *arg, int err, const struct mp_discovery_result *res, const char *msg)
{
	struct disc_req *r = arg;
	struct tspec *sp = r->sp;
	size_t added = 0, before = sp->n_sess;

	r->h = NULL;
	if (err == EKEYREJECTED) {
		mp_err("disk %s: %s (check discovery_chap_user/secret)%s", sp->conf->name, msg,
		       sp->n_sess ? "" : "; next discovery in 30 s");
	} else if (err) {
		mp_warn("disk %s: %s", sp->conf->name, msg);
	} else {
		for (size_t i = 0; i < res->n; i++) {
			const struct mp_discovered *e = &res->entries[i];
			if (strcmp(e->target, sp->conf->target) != 0)
				continue;
			struct mp_conf_portal pt = { .port = e->portal.port };
			snprintf(pt.host, sizeof(pt.host), "%s", e->portal.host);
			if (spec_add_portal(sp, &pt, NULL) < 0 && errno != EEXIST)
				mp_err("disk %s: cannot add sessions to %s: %s", sp->conf->name, pt.host, strerror(errno));
			added++;
		}
		mp_info("disk %s: discovery via %s:%u: %zu portal(s) of %s, %zu new session(s)", sp->conf->name,
			r->portal->host, r->portal->port, added, sp->conf->target, sp->n_sess - before);
	}
	/* A spec with no session at all keeps asking; otherwise discovery was a one-off. */
	if (sp->n_sess == 0) {
		ev_timer_set(&r->retry, err == EKEYREJECTED ? MP_ISCSI_AUTH_RETRY_S : DISCOVERY_RETRY_S, 0.);
		ev_timer_start(sp->d->loop, &r->retry);
	}
}

static void disc_retry_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	disc_start((struct disc_req *)w);
}

static void disc_start(struct disc_req *r)
{
	struct tspec *sp = r->sp;
	const struct mp_conf_disk *c = sp->conf;
	char portal[300];
	portal_string(r->portal, portal, sizeof(portal));
	struct mp_discovery_opts o = {
		.initiator_name = sp->d->conf.initiator_name,
		.portal = portal,
		.iface = c->n_interfaces ? c->interfaces[0] : NULL,
		.timeout_ms = c->login_timeout_ms,
	};
	struct mp_iscsi_chap chap = { 0 };
	char why[512];
	if (c->discovery_auth != MP_CONF_AUTH_NONE) {
		chap.user = c->discovery_chap_user;
		chap.mutual_user = c->discovery_auth == MP_CONF_AUTH_MUTUAL ? c->discovery_chap_mutual_user : NULL;
		if (mp_conf_chap_secrets(&sp->d->conf, chap.user, chap.mutual_user, &chap.secret, &chap.mutual_secret,
					 why, sizeof(why)) != 0) {
			mp_err("disk %s: discovery via %s: %s; next try in 30 s", c->name, portal, why);
			ev_timer_set(&r->retry, MP_ISCSI_AUTH_RETRY_S, 0.);
			ev_timer_start(sp->d->loop, &r->retry);
			return;
		}
		o.chap = &chap;
	}
	r->h = mp_discovery_start(sp->d->loop, &o, disc_done, r);
	if (!r->h) {
		mp_warn("disk %s: discovery via %s: %s", c->name, portal, strerror(errno));
		ev_timer_set(&r->retry, DISCOVERY_RETRY_S, 0.);
		ev_timer_start(sp->d->loop, &r->retry);
	}
}

/* ---- what a session's log lines name it by ---- */

/* Names shown in a label before "and N more": lines stay short when a session serves many disks. */
#define LABEL_NAMES_MAX 3

/*
 * The disks (target specs: config sections, URL groups, run-time nodes) session s serves, for
 * its log lines: "disk a", "disks a and b", "disks a, b and c", "disks a, b and 14 more".
 * Specs in the daemon's order, so the same configuration gives the same label.
 */
static void session_relabel(struct daemon *d, struct mp_iscsi_session *s)
{
	const char *names[LABEL_NAMES_MAX];
	size_t users = 0;
	for (size_t i = 0; i < d->n_specs; i++)
		if (spec_uses(d->specs[i], s)) {
			if (users < LABEL_NAMES_MAX)
				names[users] = d->specs[i]->conf->name;
			users++;
		}
	char label[MP_ISCSI_LABEL_MAX];
	if (users == 0)
		label[0] = '\0'; /* (none left: the session's own number) */
	else if (users == 1)
		snprintf(label, sizeof(label), "disk %s", names[0]);
	else if (users == 2)
		snprintf(label, sizeof(label), "disks %s and %s", names[0], names[1]);
	else if (users == 3)
		snprintf(label, sizeof(label), "disks %s, %s and %s", names[0], names[1], names[2]);
	else
		snprintf(label, sizeof(label), "disks %s, %s and %zu more", names[0], names[1], users - 2);
	mp_iscsi_session_set_label(s, label);
}

/* Every session's label, after a spec stopped using some. */
static void sessions_relabel(struct daemon *d)
{
	for (size_t i = 0; i < d->n_sessions; i++)
		session_relabel(d, d->sessions[i].s);
}

/* ---- target specs ---- */

struct tspec *spec_find(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->n_specs; i++)
		if (strcmp(d->specs[i]->conf->name, name) == 0)
			return d->specs[i];
	return NULL;
}

/* One session of sp to pt through iface (NULL: none). 1 new, 0 already the spec's, -1 error. */
static int spec_add_session(struct tspec *sp, const struct mp_conf_portal *pt, const char *iface)
{
	bool created;
	struct mp_iscsi_session *s = sess_get(sp->d, sp, pt, iface, 0, &created);
	if (!s)
		return -1;
	if (spec_uses(sp, s))
		return 0;
	struct mp_iscsi_session **ns = realloc(sp->sess, (sp->n_sess + 1) * sizeof(*ns));
	if (!ns) {
		sessions_gc(sp->d);
		errno = ENOMEM;
		return -1;
	}
	sp->sess = ns;
	sp->sess[sp->n_sess++] = s;
	session_relabel(sp->d, s);
	/* A session another spec already runs: scan it again so that this spec hears its LUNs. */
	if (!created)
		mp_iscsi_session_rescan(s);
	return 1;
}

int spec_add_portal(struct tspec *sp, const struct mp_conf_portal *pt, const char *iface)
{
	const struct mp_conf_disk *c = sp->conf;
	bool known = false;
	for (size_t i = 0; i < sp->n_portals && !known; i++)
		known = sp->portals[i].port == pt->port && strcasecmp(sp->portals[i].host, pt->host) == 0;
	if (!known) {
		struct mp_conf_portal *np = realloc(sp->portals, (sp->n_portals + 1) * sizeof(*np));
		if (!np)
			return -1;
		sp->portals = np;
		sp->portals[sp->n_portals++] = *pt;
	}
	int made = 0, rc;
	if (iface) {
		rc = spec_add_session(sp, pt, iface);
		if (rc == 0) {
			errno = EEXIST;
			return -1;
		}
		return rc;
	}
	if (!c->n_interfaces) {
		rc = spec_add_session(sp, pt, NULL);
		if (rc < 0)
			return -1;
		if (rc == 0 && known) {
			errno = EEXIST;
			return -1;
		}
		return rc;
	}
	for (size_t i = 0; i < c->n_interfaces; i++) {
		rc = spec_add_session(sp, pt, c->interfaces[i]);
		if (rc < 0)
			return -1;
		made += rc;
	}
	if (!made && known) {
		errno = EEXIST;
		return -1;
	}
	return made;
}

size_t spec_drop_sessions(struct tspec *sp, const struct mp_conf_portal *portal, const char *iface)
{
	struct daemon *d = sp->d;
	char want[300] = "";
	size_t n = 0;
	if (portal)
		portal_string(portal, want, sizeof(want));
	for (size_t i = 0; i < sp->n_sess;) {
		struct mp_iscsi_session *s = sp->sess[i];
		if ((portal && strcasecmp(mp_iscsi_session_portal(s), want) != 0) ||
		    (iface && strcmp(mp_iscsi_session_bound_iface(s), iface) != 0)) {
			i++;
			continue;
		}
		disks_drop_paths_over(d, sp, s);
		memmove(sp->sess + i, sp->sess + i + 1, (sp->n_sess - i - 1) * sizeof(*sp->sess));
		sp->n_sess--;
		n++;
	}
	sessions_gc(d);
	sessions_relabel(d);
	return n;
}

static void spec_free(struct tspec *sp)
{
	for (size_t j = 0; sp->disc && j < sp->conf->n_discovery; j++) {
		ev_timer_stop(sp->d->loop, &sp->disc[j].retry);
		mp_discovery_cancel(sp->disc[j].h);
	}
	free(sp->disc);
	free(sp->sess);
	free(sp->portals);
	free(sp->conf);
	free(sp);
}

struct tspec *spec_new(struct daemon *d, const struct mp_conf_disk *c, bool from_config)
{
	struct tspec *sp = calloc(1, sizeof(*sp));
	struct mp_conf_disk *own = malloc(sizeof(*own));
	struct tspec **ns = realloc(d->specs, (d->n_specs + 1) * sizeof(*ns));
	if (ns)
		d->specs = ns;
	if (!sp || !own || !ns) {
		free(sp);
		free(own);
		errno = ENOMEM;
		return NULL;
	}
	*own = *c;
	sp->d = d;
	sp->conf = own;
	sp->from_config = from_config;
	d->specs[d->n_specs++] = sp;
	for (size_t j = 0; j < c->n_portals; j++)
		if (spec_add_portal(sp, &c->portals[j], NULL) < 0 && errno != EEXIST)
			goto fail;
	if (c->n_discovery) {
		sp->disc = calloc(c->n_discovery, sizeof(*sp->disc));
		if (!sp->disc)
			goto fail;
		for (size_t j = 0; j < c->n_discovery; j++) {
			struct disc_req *r = &sp->disc[j];
			r->sp = sp;
			r->portal = &sp->conf->discovery[j];
			ev_timer_init(&r->retry, disc_retry_cb, 0., 0.);
			disc_start(r);
		}
	}
	char luns[400];
	mp_conf_luns_text(c, luns, sizeof(luns));
	mp_info("disk %s: target %s, %s, over %zu session(s)", c->name, c->target, luns[0] ? luns : "every LUN",
		sp->n_sess);
	return sp;
fail:;
	int e = errno;
	spec_remove(d, sp, "cannot start");
	errno = e;
	return NULL;
}

void spec_remove(struct daemon *d, struct tspec *sp, const char *why)
{
	for (size_t i = 0; i < d->n_specs; i++)
		if (d->specs[i] == sp) {
			memmove(d->specs + i, d->specs + i + 1, (d->n_specs - i - 1) * sizeof(*d->specs));
			d->n_specs--;
			break;
		}
	for (size_t i = 0; i < d->n_disks;) {
		if (d->disks[i]->sp == sp)
			disk_remove(d, d->disks[i], why); /* (leaves d->disks) */
		else
			i++;
	}
	spec_free(sp);
	sessions_gc(d);
	sessions_relabel(d);
}
