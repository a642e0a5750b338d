/* mpiscsid: wires configuration -> iSCSI paths -> multipath core -> NBD exports on one libev loop. */
#include "common/version.h"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ev.h>

#include "common/evclock.h"
#include "common/log.h"
#include "initiator/discovery.h"
#include "initiator/iscsi_path.h"
#include "initiator/linkmon.h"
#include "mpath/selector.h"
#include "mpath/lu.h"
#include "tools/config.h"
#include "tools/nbd_setup.h"
#include "tools/ctl_server.h"
#include "tools/exports.h"
#include "tools/secrets.h"
#include "transport/nbd/nbd_server.h"


/* One SendTargets discovery portal of a disk. */
struct disc_req {
	ev_timer retry;                 /* first: the callback casts back */
	struct disk *k;
	const struct mp_conf_portal *portal;
	struct mp_discovery *h;         /* in progress, or NULL */
};

struct disk {
	struct daemon *d;
	const struct mp_conf_disk *conf; /* = own_conf: a reload replaces the daemon's config */
	struct mp_conf_disk *own_conf;
	bool from_config;               /* false: added at run time (mpiscsiadm -m node --login) */
	bool draining;                  /* removed: waits for its requests, then is freed */
	ev_timer drain;                 /* polls the LU while draining */
	ev_tstamp drain_deadline;
	struct disk *drain_next;
	struct mp_lu *lu;
	struct mp_iscsi_path **paths;
	size_t n_paths;
	struct mp_conf_portal *portals; /* portals that have paths (configured and discovered) */
	size_t n_portals;
	struct disc_req *disc;          /* one per discovery portal of the config */
	bool exported;
};

struct daemon {
	struct ev_loop *loop;
	struct mp_clock clock;
	struct mp_conf conf;
	struct mp_exports *exports;
	struct disk **disks;            /* running disks; pointers stay valid while they run */
	size_t n_disks;
	struct disk *draining;          /* removed disks still finishing their requests */
	/* What the configuration is built from, for reloads. */
	const char *conf_file;
	char **urls;
	int n_urls;
	const char *opt_nbd, *opt_iname, *opt_level;
	const char *control;
	unsigned node_seq;              /* names of disks added at run time */
	bool plain_close;               /* MPISCSI_TEST_PLAIN_CLOSE set: see mp_iscsi_path_opts */
	uint32_t last_path_id;
	struct mp_linkmon *linkmon;
	struct mp_ctl *ctl;
	bool listening;
	int exit_status;
	ev_signal sig_int, sig_term, sig_hup;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mpiscsid [OPTIONS] [iscsi://HOST[:PORT]/IQN/LUN ...]\n"
		"Userspace iSCSI multipath initiator exporting each LU as an NBD disk.\n\n"
		"  -f, --foreground         stay in the foreground, log to stderr\n"
		"  -c, --config FILE        read FILE (INI format, see mpiscsi.conf(5))\n"
		"      --nbd ADDRESS        NBD listen address, unix:PATH or tcp:HOST:PORT; replaces\n"
		"                           the file's (default unix:/run/mpiscsi/nbd.sock)\n"
		"      --initiator-name IQN our iSCSI initiator name\n"
		"      --log-level LEVEL    err, warn, info or debug\n"
		"      --control PATH       control socket for mpiscsiadm (default: [global] control,\n"
		"                           /run/mpiscsi/control.sock)\n"
		"      --check-config       validate the configuration, print it and exit\n"
		"  -h, --help               this text\n"
		"  -V, --version            print the version\n\n"
		"Each iscsi:// URL is a path; URLs naming the same target and LUN are paths of one disk.\n"
		"The NBD socket appears once every disk has attached. Exit status: 0 ok, 1 runtime\n"
		"failure, 2 usage or configuration error.\n");
}

static const char *failback_name(enum mp_failback f)
{
	switch (f) {
	case MP_FAILBACK_IMMEDIATE: return "immediate";
	case MP_FAILBACK_MANUAL: return "manual";
	case MP_FAILBACK_FOLLOWOVER: return "followover";
	case MP_FAILBACK_DEFERRED: return "deferred";
	}
	return "?";
}

static void print_disk(FILE *f, const struct mp_conf_disk *k);

/* The effective configuration as mpiscsi.conf text (--check-config, mpiscsiadm show config). */
static void print_config(FILE *f, const struct mp_conf *c)
{
	static const char *const levels[] = { "err", "warn", "info", "debug" };
	fprintf(f, "[global]\ninitiator_name = %s\nlog_level = %s\ncontrol = %s\ncontrol_max_clients = %u\n"
		"syslog = %s\n",
		c->initiator_name, c->log_level >= 0 && c->log_level < 4 ? levels[c->log_level] : "?", c->control,
		c->control_max_clients, c->syslog < 0 ? "auto" : c->syslog ? "yes" : "no");
	if (c->secrets_file[0]) /* the file's name and how many it holds; a secret is never shown */
		fprintf(f, "secrets = %s  # %zu CHAP secret(s): ********\n", c->secrets_file,
			mp_secrets_count(c->secrets));
	mp_conf_print_nbd(f, c);
	for (size_t i = 0; i < c->n_disks; i++)
		print_disk(f, &c->disks[i]);
}

/* CHAP keys: user names only. Secrets stay in the secrets file and are never printed. */
static void print_chap(FILE *f, const char *pre, enum mp_conf_auth a, const char *user, const char *muser)
{
	fprintf(f, "%sauth = %s\n", pre, mp_conf_auth_name(a));
	if (user[0])
		fprintf(f, "%schap_user = %s\n", pre, user);
	if (muser[0])
		fprintf(f, "%schap_mutual_user = %s\n", pre, muser);
}

/* One [disk] section with every effective setting (also what a reload compares). */
static void print_disk(FILE *f, const struct mp_conf_disk *k)
{
	fprintf(f, "\n[disk %s]\ntarget = %s\nlun = %u\n", k->name, k->target, k->lun);
	for (size_t j = 0; j < k->n_portals; j++)
		fprintf(f, "portal = %s%s%s:%u\n", strchr(k->portals[j].host, ':') ? "[" : "",
		       k->portals[j].host, strchr(k->portals[j].host, ':') ? "]" : "", k->portals[j].port);
	for (size_t j = 0; j < k->n_interfaces; j++)
		fprintf(f, "interface = %s\n", k->interfaces[j]);
	fprintf(f, "export = %s\n", k->export_name);
	if (k->no_path_retry_s < 0)
		fprintf(f, "no_path_retry = queue\n");
	else if (k->no_path_retry_s == 0)
		fprintf(f, "no_path_retry = fail\n");
	else
		fprintf(f, "no_path_retry = %d\n", k->no_path_retry_s);
	fprintf(f, "max_retries = %u\n", k->max_retries);
	for (size_t j = 0; j < k->n_discovery; j++)
		fprintf(f, "discovery = %s%s%s:%u\n", strchr(k->discovery[j].host, ':') ? "[" : "",
		       k->discovery[j].host, strchr(k->discovery[j].host, ':') ? "]" : "", k->discovery[j].port);
	fprintf(f, "selector = %s\nrr_min_io = %u\n", k->selector, k->rr_min_io);
	for (size_t j = 0; j < k->n_prios; j++)
		fprintf(f, "prio = %s %d\n", k->prios[j].target, k->prios[j].prio);
	if (k->failback == MP_FAILBACK_DEFERRED)
		fprintf(f, "failback = %u\n", k->failback_delay_s);
	else
		fprintf(f, "failback = %s\n", failback_name(k->failback));
	fprintf(f, "noop_interval = %ums\nnoop_timeout = %ums\ncommand_timeout = %ums\n"
	       "login_timeout = %ums\nreconnect_max = %ums\n",
	       k->noop_interval_ms, k->noop_timeout_ms, k->command_timeout_ms, k->login_timeout_ms,
	       k->reconnect_max_ms);
	fprintf(f, "marginal_flaps = %u\nmarginal_window = %ums\nmarginal_hold = %ums\n"
	       "marginal_latency_factor = %u\n", k->marginal_flaps, k->marginal_window_ms,
	       k->marginal_hold_ms, k->marginal_latency_factor);
	fprintf(f, "alua = %s\nalua_explicit = %s\nalua_refresh = %ums\n", k->alua_off ? "off" : "auto",
	       k->alua_explicit ? "yes" : "no", k->alua_refresh_ms);
	mp_conf_print_frontends(f, k);
	print_chap(f, "", k->auth, k->chap_user, k->chap_mutual_user);
	if (k->n_discovery)
		print_chap(f, "discovery_", k->discovery_auth, k->discovery_chap_user, k->discovery_chap_mutual_user);
}

static void disk_ready(struct mp_lu *lu, void *arg)
{
	struct disk *k = arg;
	struct daemon *d = k->d;
	if (k->draining)
		return;
	mp_exports_disk_ready(d->exports, k->conf->name, k->conf->export_name, k->conf, lu); /* a failing front end logs; the others serve */
	k->exported = true;
	if (d->listening)
		return;
	for (size_t i = 0; i < d->n_disks; i++)
		if (!d->disks[i]->exported)
			return; /* the socket appears once every configured disk has attached */
	char err[512], where[MP_CONF_MAX_LISTEN * (MP_CONF_LISTEN_LEN + 2)];
	if (mp_exports_start(d->exports, &d->conf, err, sizeof(err)) != 0) {
		mp_err("%s", err);
		d->exit_status = 1;
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	d->listening = true;
	mp_nbd_listen_summary(&d->conf, where, sizeof(where));
	mp_info("all %zu disk(s) attached; NBD exports ready on %s", d->n_disks, where);
}

/* libiscsi wants "HOST:PORT", with IPv6 literals in brackets. */
static void portal_string(const struct mp_conf_portal *pt, char *buf, size_t len)
{
	if (strchr(pt->host, ':'))
		snprintf(buf, len, "[%s]:%u", pt->host, pt->port);
	else
		snprintf(buf, len, "%s:%u", pt->host, pt->port);
}

/*
 * CHAP credentials of a disk's path for its next login: the names from the disk's
 * configuration, the secrets from the daemon's current one, so that a reload with a
 * changed secrets file applies at the next login of paths it leaves running.
 */
static int disk_chap(void *arg, struct mp_iscsi_chap *out, char *why, size_t n)
{
	const struct disk *k = arg;
	const struct mp_conf_disk *c = k->conf;
	out->user = c->chap_user;
	out->mutual_user = c->auth == MP_CONF_AUTH_MUTUAL ? c->chap_mutual_user : NULL;
	return mp_conf_chap_secrets(&k->d->conf, out->user, out->mutual_user, &out->secret, &out->mutual_secret,
				    why, n);
}

/* One path of disk k: NIC iface (or none) to the portal pt. */
static int disk_add_path(struct daemon *d, struct disk *k, const struct mp_conf_portal *pt, const char *iface)
{
	const struct mp_conf_disk *c = k->conf;
	char portal[300];
	struct mp_iscsi_path_opts po;

	struct mp_iscsi_path **np = realloc(k->paths, (k->n_paths + 1) * sizeof(*np));
	if (!np)
		return -1;
	k->paths = np;
	portal_string(pt, portal, sizeof(portal));
	mp_iscsi_path_opts_default(&po);
	po.initiator_name = d->conf.initiator_name;
	po.target = c->target;
	po.portal = portal;
	po.iface = iface;
	po.lun = c->lun;
	po.id = ++d->last_path_id;
	po.prio = mp_conf_path_prio(c, iface, pt);
	po.noop_interval_ms = c->noop_interval_ms;
	po.noop_timeout_ms = c->noop_timeout_ms;
	po.command_timeout_ms = c->command_timeout_ms;
	po.login_timeout_ms = c->login_timeout_ms;
	po.reconnect_max_ms = c->reconnect_max_ms;
	/* Test hook: show that stale writes land without the abortive close (never for production). */
	po.plain_close = d->plain_close;
	if (c->auth != MP_CONF_AUTH_NONE) {
		po.chap = disk_chap;
		po.chap_arg = k;
	}
	struct mp_iscsi_path *p = mp_iscsi_path_new(d->loop, k->lu, &po);
	if (!p)
		return -1;
	k->paths[k->n_paths++] = p;
	if (iface && d->linkmon && mp_linkmon_is_up(d->linkmon, iface) == 0)
		mp_iscsi_path_link_event(p, false);
	return 0;
}

/* One path per (interface, portal) pair; without interfaces, one per portal. */
static int disk_add_portal(struct daemon *d, struct disk *k, const struct mp_conf_portal *pt)
{
	const struct mp_conf_disk *c = k->conf;
	for (size_t i = 0; i < k->n_portals; i++)
		if (k->portals[i].port == pt->port && strcasecmp(k->portals[i].host, pt->host) == 0)
			return 0; /* already has its paths */
	struct mp_conf_portal *np = realloc(k->portals, (k->n_portals + 1) * sizeof(*np));
	if (!np)
		return -1;
	k->portals = np;
	k->portals[k->n_portals++] = *pt;
	if (!c->n_interfaces)
		return disk_add_path(d, k, pt, NULL);
	for (size_t i = 0; i < c->n_interfaces; i++)
		if (disk_add_path(d, k, pt, c->interfaces[i]) != 0)
			return -1;
	return 0;
}

#define DISCOVERY_RETRY_S 5.0

static void disc_start(struct disc_req *r);

static void disc_done(void *arg, int err, const struct mp_discovery_result *res, const char *msg)
{
	struct disc_req *r = arg;
	struct disk *k = r->k;
	size_t added = 0, before = k->n_paths;

	r->h = NULL;
	if (err == EKEYREJECTED) {
		mp_err("disk %s: %s (check discovery_chap_user/secret)%s", k->conf->name, msg,
		       k->n_paths ? "" : "; next discovery in 30 s");
	} else if (err) {
		mp_warn("disk %s: %s", k->conf->name, msg);
	} else {
		for (size_t i = 0; i < res->n; i++) {
			const struct mp_discovered *e = &res->entries[i];
			if (strcmp(e->target, k->conf->target) != 0)
				continue;
			struct mp_conf_portal pt = { .port = e->portal.port };
			snprintf(pt.host, sizeof(pt.host), "%s", e->portal.host);
			if (disk_add_portal(k->d, k, &pt) != 0)
				mp_err("disk %s: cannot add paths to %s: %s", k->conf->name, pt.host, strerror(errno));
			added++;
		}
		mp_info("disk %s: discovery via %s:%u: %zu portal(s) of %s, %zu new path(s)", k->conf->name,
			r->portal->host, r->portal->port, added, k->conf->target, k->n_paths - before);
	}
	/* A disk with no path at all keeps asking; otherwise discovery was a one-off. */
	if (k->n_paths == 0) {
		ev_timer_set(&r->retry, err == EKEYREJECTED ? MP_ISCSI_AUTH_RETRY_S : DISCOVERY_RETRY_S, 0.);
		ev_timer_start(k->d->loop, &r->retry);
	}
}

static void disc_retry_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	disc_start((struct disc_req *)w);
}

static void disc_start(struct disc_req *r)
{
	struct disk *k = r->k;
	const struct mp_conf_disk *c = k->conf;
	char portal[300];
	portal_string(r->portal, portal, sizeof(portal));
	struct mp_discovery_opts o = {
		.initiator_name = k->d->conf.initiator_name,
		.portal = portal,
		.iface = c->n_interfaces ? c->interfaces[0] : NULL,
		.timeout_ms = c->login_timeout_ms,
	};
	struct mp_iscsi_chap chap = { 0 };
	char why[512];
	if (c->discovery_auth != MP_CONF_AUTH_NONE) {
		chap.user = c->discovery_chap_user;
		chap.mutual_user = c->discovery_auth == MP_CONF_AUTH_MUTUAL ? c->discovery_chap_mutual_user : NULL;
		if (mp_conf_chap_secrets(&k->d->conf, chap.user, chap.mutual_user, &chap.secret, &chap.mutual_secret,
					 why, sizeof(why)) != 0) {
			mp_err("disk %s: discovery via %s: %s; next try in 30 s", c->name, portal, why);
			ev_timer_set(&r->retry, MP_ISCSI_AUTH_RETRY_S, 0.);
			ev_timer_start(k->d->loop, &r->retry);
			return;
		}
		o.chap = &chap;
	}
	r->h = mp_discovery_start(k->d->loop, &o, disc_done, r);
	if (!r->h) {
		mp_warn("disk %s: discovery via %s: %s", c->name, portal, strerror(errno));
		ev_timer_set(&r->retry, DISCOVERY_RETRY_S, 0.);
		ev_timer_start(k->d->loop, &r->retry);
	}
}

static int disk_start(struct daemon *d, struct disk *k)
{
	const struct mp_conf_disk *c = k->conf;
	struct mp_lu_opts lo;

	mp_lu_opts_default(&lo);
	lo.no_path_retry_s = c->no_path_retry_s;
	lo.max_retries = c->max_retries;
	lo.selector = mp_selector_find(c->selector);
	if (!lo.selector) {
		mp_err("disk %s: unknown selector '%s'", c->name, c->selector);
		errno = EINVAL;
		return -1;
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
	k->lu = mp_lu_new(c->name, &d->clock, &lo);
	if (!k->lu)
		return -1;
	mp_lu_set_ready_cb(k->lu, disk_ready, k);
	for (size_t j = 0; j < c->n_portals; j++)
		if (disk_add_portal(d, k, &c->portals[j]) != 0)
			return -1;
	if (c->n_discovery) {
		k->disc = calloc(c->n_discovery, sizeof(*k->disc));
		if (!k->disc)
			return -1;
		for (size_t j = 0; j < c->n_discovery; j++) {
			struct disc_req *r = &k->disc[j];
			r->k = k;
			r->portal = &c->discovery[j];
			ev_timer_init(&r->retry, disc_retry_cb, 0., 0.);
			disc_start(r);
		}
	}
	mp_info("disk %s: %s LUN %u over %zu path(s), selector %s, failback %s", c->name, c->target, c->lun,
		k->n_paths, lo.selector->name, failback_name(c->failback));
	return 0;
}

/* ---- disks at run time: add, drain and remove ---- */

/* Free everything of a disk (paths first: their commands complete CANCELLED into the LU). */
static void disk_free(struct daemon *d, struct disk *k)
{
	ev_timer_stop(d->loop, &k->drain);
	for (size_t j = 0; j < k->n_paths; j++)
		mp_iscsi_path_free(k->paths[j]);
	for (size_t j = 0; k->disc && j < k->conf->n_discovery; j++) {
		ev_timer_stop(d->loop, &k->disc[j].retry);
		mp_discovery_cancel(k->disc[j].h);
	}
	free(k->disc);
	free(k->paths);
	free(k->portals);
	mp_lu_free(k->lu);
	free(k->own_conf);
	free(k);
}

/* Start a disk from its configuration and add it to the running set. */
static struct disk *disk_new(struct daemon *d, const struct mp_conf_disk *c, bool from_config)
{
	struct disk *k = calloc(1, sizeof(*k));
	struct mp_conf_disk *own = malloc(sizeof(*own));
	struct disk **nd = realloc(d->disks, (d->n_disks + 1) * sizeof(*nd));
	if (nd)
		d->disks = nd;
	if (!k || !own || !nd) {
		free(k);
		free(own);
		errno = ENOMEM;
		return NULL;
	}
	*own = *c;
	k->d = d;
	k->own_conf = own;
	k->conf = own;
	k->from_config = from_config;
	ev_timer_init(&k->drain, NULL, 0., 0.);
	if (disk_start(d, k) != 0) {
		int e = errno;
		disk_free(d, k);
		errno = e;
		return NULL;
	}
	d->disks[d->n_disks++] = k;
	return k;
}

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents MP_UNUSED)
{
	struct disk *k = mp_container_of(w, struct disk, drain);
	struct daemon *d = k->d;
	uint32_t left = k->lu ? mp_lu_requests(k->lu) : 0;
	if (left && ev_now(loop) < k->drain_deadline)
		return;
	if (left)
		mp_warn("disk %s: %u request(s) still unfinished after draining; they fail now", k->conf->name,
			left);
	mp_info("disk %s: removed", k->conf->name);
	for (struct disk **pp = &d->draining; *pp; pp = &(*pp)->drain_next)
		if (*pp == k) {
			*pp = k->drain_next;
			break;
		}
	disk_free(d, k);
}

/*
 * Take a disk out of service: its export goes (its clients are disconnected), it
 * leaves the running set, and it is freed once the requests it holds have
 * finished on its paths (or after no_path_retry plus 10 s).
 */
static void disk_remove(struct daemon *d, struct disk *k, const char *why)
{
	for (size_t i = 0; i < d->n_disks; i++)
		if (d->disks[i] == k) {
			memmove(d->disks + i, d->disks + i + 1, (d->n_disks - i - 1) * sizeof(*d->disks));
			d->n_disks--;
			break;
		}
	mp_info("disk %s: %s: draining", k->conf->name, why);
	if (k->exported)
		mp_exports_disk_removed(d->exports, k->conf->name);
	k->exported = false;
	k->draining = true;
	k->drain_next = d->draining;
	d->draining = k;
	int32_t npr = k->conf->no_path_retry_s;
	k->drain_deadline = ev_now(d->loop) + (npr > 0 ? npr : 0) + 10.;
	ev_timer_init(&k->drain, drain_cb, 0., 0.1);
	ev_timer_again(d->loop, &k->drain);
}

static struct disk *find_running(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->n_disks; i++)
		if (strcmp(d->disks[i]->conf->name, name) == 0)
			return d->disks[i];
	return NULL;
}

/* ---- configuration and reload ---- */

/* The configuration from the file, the URLs and the command-line overrides, validated. */
static int conf_build(const struct daemon *d, struct mp_conf *c, char *err, size_t len)
{
	mp_conf_init(c);
	if (d->conf_file && mp_conf_load(c, d->conf_file, err, len) != 0)
		return -1;
	for (int i = 0; i < d->n_urls; i++)
		if (mp_conf_add_url(c, d->urls[i], err, len) != 0)
			return -1;
	if (d->opt_nbd && mp_conf_set(c, "nbd", "listen", d->opt_nbd, err, len) != 0)
		return -1;
	if (d->opt_iname && mp_conf_set(c, "global", "initiator_name", d->opt_iname, err, len) != 0)
		return -1;
	if (d->opt_level && mp_conf_set(c, "global", "log_level", d->opt_level, err, len) != 0)
		return -1;
	if (d->control && mp_conf_set(c, "global", "control", d->control, err, len) != 0)
		return -1;
	if (mp_conf_validate(c, err, len) != 0)
		return -1;
	return mp_conf_load_secrets(c, err, len); /* CHAP: checked at every start and reload */
}

/* Render a disk's effective settings (the same text --check-config prints). */
static char *disk_text(const struct mp_conf_disk *k)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	print_disk(f, k);
	fclose(f);
	return text;
}

/* Same disk, nothing to restart: every effective setting equal (compared as rendered text, so
 * bytes a struct holds beyond a string's end do not count). When in doubt: changed. */
static bool disk_conf_same(const struct mp_conf_disk *a, const struct mp_conf_disk *b)
{
	char *x = disk_text(a), *y = disk_text(b);
	bool same = x && y && strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

static int daemon_reload(struct daemon *d, char *msg, size_t len)
{
	struct mp_conf nc;
	char err[1024];
	if (conf_build(d, &nc, err, sizeof(err)) != 0) {
		mp_err("reload: %s; the running configuration stays", err);
		snprintf(msg, len, "%s", err);
		mp_conf_free(&nc);
		errno = EINVAL;
		return -1;
	}
	/* Export names must stay unique against disks added at run time. */
	for (size_t j = 0; j < nc.n_disks; j++)
		for (size_t i = 0; i < d->n_disks; i++) {
			const struct mp_conf_disk *o = d->disks[i]->conf;
			if (!d->disks[i]->from_config &&
			    (strcmp(o->export_name, nc.disks[j].export_name) == 0 || strcmp(o->name, nc.disks[j].name) == 0)) {
				snprintf(msg, len, "disk %s: name or export '%s' is taken by a disk added at run time",
					 nc.disks[j].name, nc.disks[j].export_name);
				mp_err("reload: %s; the running configuration stays", msg);
				mp_conf_free(&nc);
				errno = EEXIST;
				return -1;
			}
		}
	if (strcmp(nc.initiator_name, d->conf.initiator_name) != 0)
		mp_warn("reload: initiator_name changes only with a restart");
	if (!mp_conf_nbd_same(&nc, &d->conf))
		mp_warn("reload: [nbd] listen and TLS settings change only with a restart");
	if (strcmp(nc.control, d->conf.control) != 0)
		mp_warn("reload: control changes only with a restart");
	mp_exports_reload(d->exports, &nc); /* limits apply to new connections and requests at once */
	if (nc.log_level != d->conf.log_level)
		mp_log_set_level((enum mp_log_level)nc.log_level);
	unsigned added = 0, removed = 0, changed = 0, kept = 0, failed = 0;
	for (size_t i = 0; i < d->n_disks;) {
		struct disk *k = d->disks[i];
		const struct mp_conf_disk *n = NULL;
		for (size_t j = 0; j < nc.n_disks && k->from_config; j++)
			if (strcmp(nc.disks[j].name, k->conf->name) == 0)
				n = &nc.disks[j];
		if (!k->from_config || (n && disk_conf_same(k->conf, n))) {
			kept += k->from_config;
			i++;
			continue;
		}
		disk_remove(d, k, n ? "configuration changed" : "no longer in the configuration");
		if (n)
			changed++;
		else
			removed++;
	}
	for (size_t j = 0; j < nc.n_disks; j++) {
		if (find_running(d, nc.disks[j].name))
			continue;
		if (!disk_new(d, &nc.disks[j], true)) {
			mp_err("reload: disk %s: cannot start: %s", nc.disks[j].name, strerror(errno));
			failed++;
		} else {
			added++;
		}
	}
	mp_conf_free(&d->conf);
	d->conf = nc;
	/* Paths waiting to reconnect (e.g. held back after a CHAP failure) try the new
	 * configuration (secrets) now rather than at the end of their backoff. */
	for (size_t i = 0; i < d->n_disks; i++)
		for (size_t j = 0; j < d->disks[i]->n_paths; j++) {
			struct mp_path *p = mp_iscsi_path_core(d->disks[i]->paths[j]);
			if (p->state == MP_PATH_DOWN && p->ops->reinstate)
				p->ops->reinstate(p);
		}
	added -= MP_MIN(added, changed); /* a changed disk is removed and started again */
	snprintf(msg, len, "%u added, %u removed, %u changed, %u unchanged%s", added, removed, changed, kept,
		 failed ? ", some failed to start (see the log)" : "");
	mp_info("reload: %s", msg);
	return 0;
}

static void hup_cb(struct ev_loop *loop MP_UNUSED, ev_signal *w, int revents MP_UNUSED)
{
	struct daemon *d = w->data;
	char msg[256];
	mp_info("signal %d: reloading %s", w->signum, d->conf_file ? d->conf_file : "(no file)");
	daemon_reload(d, msg, sizeof(msg));
}

/* ---- control socket operations ---- */

static bool model_session(void *arg, const struct mp_path *path, struct mp_iscsi_session_view *v)
{
	struct daemon *d = arg;
	for (size_t i = 0; i < d->n_disks; i++)
		for (size_t j = 0; j < d->disks[i]->n_paths; j++)
			if (mp_iscsi_path_core(d->disks[i]->paths[j]) == path) {
				mp_iscsi_path_session(d->disks[i]->paths[j], v);
				return true;
			}
	return false;
}

static int model_config_text(void *arg, FILE *f)
{
	struct daemon *d = arg;
	print_config(f, &d->conf);
	/* Disks added at run time are not in the file: listed as comments. */
	for (size_t i = 0; i < d->n_disks; i++)
		if (!d->disks[i]->from_config)
			fprintf(f, "\n# [disk %s] added at run time: %s LUN %u\n", d->disks[i]->conf->name,
				d->disks[i]->conf->target, d->disks[i]->conf->lun);
	return ferror(f) ? -1 : 0;
}

static const char *model_config_file(void *arg) { return ((struct daemon *)arg)->conf_file; }

static int model_reconfigure(void *arg, char *msg, size_t len) { return daemon_reload(arg, msg, len); }

static int model_node_login(void *arg, const char *target, const char *portal, uint32_t lun, const char *iface,
			    char *msg, size_t len)
{
	struct daemon *d = arg;
	char url[700], err[600];
	struct mp_conf tmp;
	/* One URL gives a disk config with the defaults; the portal is checked there too. */
	snprintf(url, sizeof(url), "iscsi://%s/%s/%u", portal, target, lun);
	mp_conf_init(&tmp);
	snprintf(tmp.initiator_name, sizeof(tmp.initiator_name), "%s", d->conf.initiator_name);
	if (mp_conf_add_url(&tmp, url, err, sizeof(err)) != 0 || tmp.n_disks != 1) {
		snprintf(msg, len, "%s", err);
		mp_conf_free(&tmp);
		errno = EINVAL;
		return -1;
	}
	struct mp_conf_disk *nc = &tmp.disks[0];
	if (iface) {
		snprintf(nc->interfaces[0], sizeof(nc->interfaces[0]), "%s", iface);
		nc->n_interfaces = 1;
	}
	/* The disk of this target and LUN, if one runs: the portal's paths join it. */
	for (size_t i = 0; i < d->n_disks; i++) {
		struct disk *k = d->disks[i];
		if (k->conf->lun != lun || strcmp(k->conf->target, target) != 0)
			continue;
		size_t before = k->n_paths;
		int rc = iface ? disk_add_path(d, k, &nc->portals[0], iface) : disk_add_portal(d, k, &nc->portals[0]);
		mp_conf_free(&tmp);
		if (rc != 0) {
			snprintf(msg, len, "disk %s: cannot add paths: %s", k->conf->name, strerror(errno));
			return -1;
		}
		snprintf(msg, len, "disk %s: %zu new path(s) to %s", k->conf->name, k->n_paths - before, portal);
		mp_info("control: %s", msg);
		return 0;
	}
	/* A new disk, named after the target (its part after the last ':') and the LUN. */
	const char *tail = strrchr(target, ':');
	tail = tail ? tail + 1 : target;
	snprintf(nc->name, sizeof(nc->name), "%.40s-%u", tail, lun);
	for (const char *c = nc->name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '_' || *c == '.'))
			snprintf(nc->name, sizeof(nc->name), "node%u", ++d->node_seq);
	if (find_running(d, nc->name))
		snprintf(nc->name, sizeof(nc->name), "node%u", ++d->node_seq);
	snprintf(nc->export_name, sizeof(nc->export_name), "%s", nc->name);
	struct disk *k = disk_new(d, nc, false);
	if (!k) {
		snprintf(msg, len, "cannot start a disk for %s LUN %u: %s", target, lun, strerror(errno));
		mp_conf_free(&tmp);
		return -1;
	}
	snprintf(msg, len, "disk %s: %s LUN %u via %s, export '%s' once attached", k->conf->name, target, lun,
		 portal, k->conf->export_name);
	mp_info("control: %s", msg);
	mp_conf_free(&tmp);
	return 0;
}

/* Remove the paths of disk k that go to portal (all if NULL); returns how many. */
static size_t disk_drop_paths(struct disk *k, const struct mp_conf_portal *portal)
{
	size_t n = 0;
	for (size_t j = 0; j < k->n_paths;) {
		struct mp_iscsi_session_view v;
		mp_iscsi_path_session(k->paths[j], &v);
		char want[300] = "";
		if (portal)
			portal_string(portal, want, sizeof(want));
		if (portal && strcasecmp(v.portal, want) != 0) {
			j++;
			continue;
		}
		mp_iscsi_path_free(k->paths[j]);
		memmove(k->paths + j, k->paths + j + 1, (k->n_paths - j - 1) * sizeof(*k->paths));
		k->n_paths--;
		n++;
	}
	return n;
}

static int model_node_logout(void *arg, const char *target, const char *portal, int64_t lun, char *msg, size_t len)
{
	struct daemon *d = arg;
	struct mp_portal pp;
	struct mp_conf_portal cp;
	if (portal) {
		if (mp_portal_parse(portal, strlen(portal), &pp) != 0) {
			snprintf(msg, len, "'%s' is not a portal (HOST[:PORT])", portal);
			errno = EINVAL;
			return -1;
		}
		memset(&cp, 0, sizeof(cp));
		snprintf(cp.host, sizeof(cp.host), "%s", pp.host);
		cp.port = pp.port;
	}
	size_t paths = 0, disks = 0;
	for (size_t i = 0; i < d->n_disks;) {
		struct disk *k = d->disks[i];
		if (strcmp(k->conf->target, target) != 0 || (lun >= 0 && k->conf->lun != (uint32_t)lun)) {
			i++;
			continue;
		}
		size_t left = k->n_paths;
		if (portal && left) {
			/* Drain first if this takes the last path; otherwise the others carry the I/O. */
			size_t to_drop = 0;
			char want[300];
			portal_string(&cp, want, sizeof(want));
			for (size_t j = 0; j < k->n_paths; j++) {
				struct mp_iscsi_session_view v;
				mp_iscsi_path_session(k->paths[j], &v);
				to_drop += strcasecmp(v.portal, want) == 0;
			}
			if (to_drop < left) {
				paths += disk_drop_paths(k, &cp);
				i++;
				continue;
			}
		}
		paths += k->n_paths;
		disks++;
		disk_remove(d, k, "logged out");
	}
	if (!paths && !disks) {
		snprintf(msg, len, "no session to %s%s%s", target, portal ? " via " : "", portal ? portal : "");
		errno = ENOENT;
		return -1;
	}
	snprintf(msg, len, "%zu path(s) logged out, %zu disk(s) removed", paths, disks);
	mp_info("control: %s (%s%s%s)", msg, target, portal ? " via " : "", portal ? portal : "");
	return 0;
}

/* rtnetlink: a NIC changed state; tell the paths bound to it. */
static void link_changed(void *arg, const char *ifname, int ifindex MP_UNUSED, bool up)
{
	struct daemon *d = arg;
	mp_info("link %s %s", ifname, up ? "up" : "down");
	for (size_t i = 0; i < d->n_disks; i++)
		for (size_t j = 0; j < d->disks[i]->n_paths; j++) {
			struct mp_iscsi_path *p = d->disks[i]->paths[j];
			if (strcmp(mp_iscsi_path_iface(p), ifname) == 0)
				mp_iscsi_path_link_event(p, up);
		}
}

/* What the control socket sees of the daemon. */
static size_t model_n_disks(void *arg) { return ((struct daemon *)arg)->n_disks; }
static struct mp_lu *model_disk_lu(void *arg, size_t i) { return ((struct daemon *)arg)->disks[i]->lu; }
static const char *model_disk_name(void *arg, size_t i) { return ((struct daemon *)arg)->disks[i]->conf->name; }
static const char *model_disk_export(void *arg, size_t i)
{
	return ((struct daemon *)arg)->disks[i]->conf->export_name;
}

static void model_disk_device(void *arg, size_t i, char *buf, size_t n)
{
	struct daemon *d = arg;
	mp_exports_device(d->exports, d->disks[i]->conf->name, buf, n);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents MP_UNUSED)
{
	mp_info("signal %d: shutting down", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void daemon_teardown(struct daemon *d)
{
	/* The NBD server first: no new requests; requests still in the core keep their
	 * connection objects. Then the paths (in-flight commands complete CANCELLED and wait
	 * in the core), then the LUs, which fail what waits with ESHUTDOWN. */
	mp_ctl_free(d->ctl);
	d->ctl = NULL;
	mp_exports_free(d->exports);
	d->exports = NULL;
	for (size_t i = 0; i < d->n_disks; i++)
		disk_free(d, d->disks[i]);
	d->n_disks = 0;
	while (d->draining) {
		struct disk *k = d->draining;
		d->draining = k->drain_next;
		disk_free(d, k);
	}
	free(d->disks);
	mp_linkmon_free(d->linkmon);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "nbd", required_argument, NULL, 'n' },
		{ "initiator-name", required_argument, NULL, 'i' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "control", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .exit_status = 0 };
	const char *file = NULL, *nbd = NULL, *iname = NULL, *level = NULL;
	const char *control = NULL;
	bool foreground = false, check = false;
	char err[1024];
	int opt;

	while ((opt = getopt_long(argc, argv, "fc:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': foreground = true; break;
		case 'c': file = optarg; break;
		case 'n': nbd = optarg; break;
		case 'i': iname = optarg; break;
		case 'l': level = optarg; break;
		case 'C': check = true; break;
		case 'S': control = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mpiscsid %s\n", MPISCSI_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* Kept for reloads: the same file, URLs and overrides build every later configuration. */
	d.conf_file = file;
	d.urls = argv + optind;
	d.n_urls = argc - optind;
	d.opt_nbd = nbd;
	d.opt_iname = iname;
	d.opt_level = level;
	d.control = control;
	if (getenv("MPISCSI_TEST_PLAIN_CLOSE")) {
		d.plain_close = true;
		fprintf(stderr, "mpiscsid: MPISCSI_TEST_PLAIN_CLOSE set: stale-write protection OFF (tests only)\n");
	}
	if (conf_build(&d, &d.conf, err, sizeof(err)) != 0)
		goto config_error;
	/* TLS keys are read before detaching: a bad key file is reported on the terminal. */
	struct nbd_tls_creds *tls = NULL;
	if (mp_nbd_tls_load(&d.conf, &tls, err, sizeof(err)) != 0)
		goto config_error;
	if (check) {
		nbd_tls_creds_unref(tls);
		print_config(stdout, &d.conf);
		mp_conf_free(&d.conf);
		return 0;
	}

	control = d.conf.control;
	/* syslog = auto: the journal/syslog as a service, stderr in the foreground. */
	mp_log_init("mpiscsid", d.conf.syslog < 0 ? !foreground : d.conf.syslog == 1,
		    (enum mp_log_level)d.conf.log_level);
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "mpiscsid: daemon: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	d.loop = ev_default_loop(EVFLAG_AUTO);
	mp_evclock_init(&d.clock, d.loop);
	d.exports = mp_exports_new(d.loop, &d.conf, tls, err, sizeof(err));
	if (!d.exports) {
		mp_err("%s", err);
		return 1;
	}
	/* Link monitor first, so paths on a NIC that is already down start out failed. */
	d.linkmon = mp_linkmon_new(d.loop, link_changed, &d);
	if (!d.linkmon)
		mp_warn("no link monitor (rtnetlink): NIC failures are detected by timeouts only");
	for (size_t i = 0; i < d.conf.n_disks; i++) {
		if (!disk_new(&d, &d.conf.disks[i], true)) {
			mp_err("disk %s: cannot start: %s", d.conf.disks[i].name, strerror(errno));
			d.exit_status = 1;
			goto out;
		}
	}
	const struct mp_ctl_model model = {
		.arg = &d,
		.n_disks = model_n_disks,
		.disk_lu = model_disk_lu,
		.disk_name = model_disk_name,
		.disk_export = model_disk_export,
		.disk_device = model_disk_device,
		.session = model_session,
		.config_text = model_config_text,
		.config_file = model_config_file,
		.reconfigure = model_reconfigure,
		.node_login = model_node_login,
		.node_logout = model_node_logout,
	};
	d.ctl = mp_ctl_new(d.loop, control, &model, err, sizeof(err));
	if (!d.ctl) {
		mp_err("control socket %s: %s", control, err);
		d.exit_status = 1;
		goto out;
	}
	mp_ctl_set_max_clients(d.ctl, d.conf.control_max_clients);
	ev_signal_init(&d.sig_int, stop_cb, SIGINT);
	ev_signal_init(&d.sig_term, stop_cb, SIGTERM);
	ev_signal_start(d.loop, &d.sig_int);
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_init(&d.sig_hup, hup_cb, SIGHUP);
	d.sig_hup.data = &d;
	ev_signal_start(d.loop, &d.sig_hup);
	ev_run(d.loop, 0);
out:
	daemon_teardown(&d);
	mp_conf_free(&d.conf);
	ev_loop_destroy(d.loop);
	return d.exit_status;

config_error:
	fprintf(stderr, "mpiscsid: %s\n", err);
	mp_conf_free(&d.conf);
	return 2;
}
