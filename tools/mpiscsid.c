/* mpiscsid: wires configuration -> iSCSI paths -> multipath core -> NBD exports on one libev loop. */
#include "common/version.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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
#include "initiator/isid.h"
#include "initiator/iscsi_path.h"
#include "initiator/linkmon.h"
#include "mpath/selector.h"
#include "mpath/lu.h"
#include "tools/config.h"
#include "tools/nbd_setup.h"
#include "tools/ctl_server.h"
#include "tools/daemon.h"
#include "tools/secrets.h"
#include "transport/nbd/nbd_server.h"


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
		"control_max_pending = %u\n"
		"syslog = %s\n",
		c->initiator_name, c->log_level >= 0 && c->log_level < 4 ? levels[c->log_level] : "?", c->control,
		c->control_max_clients, c->control_max_pending, c->syslog < 0 ? "auto" : c->syslog ? "yes" : "no");
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
	char luns[400];
	mp_conf_luns_text(k, luns, sizeof(luns));
	fprintf(f, "\n[disk %s]\ntarget = %s\n%s%s", k->name, k->target, luns[0] ? luns : "# every LUN",
		"\n");
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
	print_chap(f, "", k->auth, k->chap_user, k->chap_mutual_user);
	if (k->n_discovery)
		print_chap(f, "discovery_", k->discovery_auth, k->discovery_chap_user, k->discovery_chap_mutual_user);
}

/* All configured targets have reported their LUNs and every disk is exported: open the listeners
 * (clients asking for a disk before that would be told it does not exist). */
static void check_listen(struct daemon *d)
{
	if (d->listening)
		return;
	for (size_t i = 0; i < d->n_specs; i++)
		if (d->specs[i]->from_config && !d->specs[i]->scanned)
			return;
	for (size_t i = 0; i < d->n_disks; i++)
		if (!d->disks[i]->exported)
			return; /* the socket appears once every configured disk has attached */
	char err[512], where[MP_CONF_MAX_LISTEN * (MP_CONF_LISTEN_LEN + 2)];
	if (mp_nbd_listen_all(d->nbd, &d->conf, err, sizeof(err)) != 0) {
		mp_err("%s", err);
		d->exit_status = 1;
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	d->listening = true;
	mp_nbd_listen_summary(&d->conf, where, sizeof(where));
	mp_info("all %zu disk(s) attached; NBD exports ready on %s", d->n_disks, where);
}

void daemon_disk_ready(struct daemon *d, struct disk *k)
{
	char desc[320];
	if (k && !k->exported) {
		const struct mp_lu_info *in = mp_lu_get_info(k->lu);
		snprintf(desc, sizeof(desc), "%s %s %s", in->vendor, in->product, in->designator);
		if (nbd_server_add_export(d->nbd, k->export_name, desc, k->lu) != 0) {
			mp_err("disk %s: cannot add NBD export '%s'", k->name, k->export_name);
			return;
		}
		k->exported = true;
	}
	check_listen(d);
}

void daemon_disk_unexport(struct daemon *d, struct disk *k)
{
	if (k->exported)
		nbd_server_remove_export(d->nbd, k->export_name);
	k->exported = false;
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
	/* Names must stay unique against targets added at run time. */
	for (size_t j = 0; j < nc.n_disks; j++)
		for (size_t i = 0; i < d->n_specs; i++) {
			const struct mp_conf_disk *o = d->specs[i]->conf;
			if (!d->specs[i]->from_config &&
			    (strcmp(o->export_name, nc.disks[j].export_name) == 0 || strcmp(o->name, nc.disks[j].name) == 0 ||
			     (strcmp(o->target, nc.disks[j].target) == 0 && mp_conf_disks_overlap(o, &nc.disks[j])))) {
				snprintf(msg, len, "disk %s: its name, export or LUNs are taken by %s, added at run time",
					 nc.disks[j].name, o->name);
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
	mp_nbd_apply_limits(d->nbd, &nc); /* limits apply to new connections and requests at once */
	if (d->ctl) {
		mp_ctl_set_max_clients(d->ctl, nc.control_max_clients);
		mp_ctl_set_max_pending(d->ctl, nc.control_max_pending);
	}
	if (nc.log_level != d->conf.log_level)
		mp_log_set_level((enum mp_log_level)nc.log_level);
	unsigned added = 0, removed = 0, changed = 0, kept = 0, failed = 0;
	for (size_t i = 0; i < d->n_specs;) {
		struct tspec *sp = d->specs[i];
		const struct mp_conf_disk *n = NULL;
		for (size_t j = 0; j < nc.n_disks && sp->from_config; j++)
			if (strcmp(nc.disks[j].name, sp->conf->name) == 0)
				n = &nc.disks[j];
		if (!sp->from_config || (n && disk_conf_same(sp->conf, n))) {
			kept += sp->from_config;
			i++;
			continue;
		}
		spec_remove(d, sp, n ? "configuration changed" : "no longer in the configuration");
		if (n)
			changed++;
		else
			removed++;
	}
	/* The secrets of the new configuration are used from here on (sessions fetch them at
	 * every login). */
	struct mp_conf old = d->conf;
	d->conf = nc;
	for (size_t j = 0; j < d->conf.n_disks; j++) {
		if (spec_find(d, d->conf.disks[j].name))
			continue;
		if (!spec_new(d, &d->conf.disks[j], true)) {
			mp_err("reload: disk %s: cannot start: %s", d->conf.disks[j].name, strerror(errno));
			failed++;
		} else {
			added++;
		}
	}
	mp_conf_free(&old);
	/* Sessions waiting to reconnect (e.g. held back after a CHAP failure) try the new
	 * configuration (secrets) now rather than at the end of their backoff. */
	for (size_t i = 0; i < d->n_sessions; i++)
		mp_iscsi_session_reinstate(d->sessions[i].s);
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

static size_t model_n_sessions(void *arg) { return ((struct daemon *)arg)->n_sessions; }

static bool model_session(void *arg, size_t i, struct mp_iscsi_session_view *v)
{
	struct daemon *d = arg;
	if (i >= d->n_sessions)
		return false;
	mp_iscsi_session_view(d->sessions[i].s, v);
	return true;
}

static size_t model_session_luns(void *arg, size_t i, struct mp_ctl_session_lun *out, size_t max)
{
	struct daemon *d = arg;
	size_t n = 0;
	if (i >= d->n_sessions)
		return 0;
	for (size_t k = 0; k < d->n_disks; k++)
		for (size_t j = 0; j < d->disks[k]->n_paths && n < max; j++) {
			struct mp_iscsi_path *p = d->disks[k]->paths[j];
			if (mp_iscsi_path_session(p) != d->sessions[i].s)
				continue;
			out[n++] = (struct mp_ctl_session_lun){
				.lun = mp_iscsi_path_lun(p),
				.path_id = mp_iscsi_path_core(p)->id,
				.disk = d->disks[k]->name,
				.export_name = d->disks[k]->export_name,
				.path_state = mp_path_state_name(mp_iscsi_path_core(p)->state),
				.info = mp_lu_get_info(d->disks[k]->lu),
			};
		}
	return n;
}

static int model_config_text(void *arg, FILE *f)
{
	struct daemon *d = arg;
	print_config(f, &d->conf);
	/* Targets added at run time are not in the file: listed as comments. */
	for (size_t i = 0; i < d->n_specs; i++)
		if (!d->specs[i]->from_config) {
			char luns[400];
			mp_conf_luns_text(d->specs[i]->conf, luns, sizeof(luns));
			fprintf(f, "\n# [disk %s] added at run time: %s, %s\n", d->specs[i]->conf->name,
				d->specs[i]->conf->target, luns[0] ? luns : "every LUN");
		}
	return ferror(f) ? -1 : 0;
}

static const char *model_config_file(void *arg) { return ((struct daemon *)arg)->conf_file; }

static int model_reconfigure(void *arg, char *msg, size_t len) { return daemon_reload(arg, msg, len); }

static int model_node_login(void *arg, const char *target, const char *portal, int64_t lun, const char *iface,
			    char *msg, size_t len)
{
	struct daemon *d = arg;
	char url[700], err[600];
	struct mp_conf tmp;
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
	struct mp_conf_disk *nc = &tmp.disks[0];
	if (iface) {
		snprintf(nc->interfaces[0], sizeof(nc->interfaces[0]), "%s", iface);
		nc->n_interfaces = 1;
	}
	/* The target specs that take the same LUNs (without --lun: every spec of the target): the
	 * portal's sessions join them, unless they have them already (iscsiadm says "session
	 * already present"). */
	char want[300];
	portal_string(&nc->portals[0], want, sizeof(want));
	size_t matched = 0, present = 0;
	int made = 0;
	char names[256] = "";
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
		int rc = spec_add_portal(sp, &nc->portals[0], iface);
		if (rc < 0) {
			snprintf(msg, len, "disk %s: cannot add sessions: %s", sp->conf->name, strerror(errno));
			mp_conf_free(&tmp);
			return -1;
		}
		made += rc;
		size_t l = strlen(names);
		snprintf(names + l, sizeof(names) - l, "%s%s", l ? "," : "", sp->conf->name);
	}
	if (matched) {
		mp_conf_free(&tmp);
		if (present == matched) {
			snprintf(msg, len, "session already present: %s via %s%s%s", target, want, iface ? " on " : "",
				 iface ? iface : "");
			errno = EEXIST;
			return -1;
		}
		snprintf(msg, len, "disk %s: %d new session(s) to %s", names, made, portal);
		mp_info("control: %s", msg);
		return 0;
	}
	/* A new target spec, named after the target (its part after the last ':') and the LUN. */
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
	for (size_t i = 0; i < d->n_specs; i++)
		if (strcmp(d->specs[i]->conf->target, target) == 0 && mp_conf_disks_overlap(d->specs[i]->conf, nc)) {
			snprintf(msg, len, "%s: its LUNs are served by disk %s already", target, d->specs[i]->conf->name);
			mp_conf_free(&tmp);
			errno = EEXIST;
			return -1;
		}
	struct tspec *sp = spec_new(d, nc, false);
	if (!sp) {
		snprintf(msg, len, "cannot log in to %s: %s", target, strerror(errno));
		mp_conf_free(&tmp);
		return -1;
	}
	if (lun >= 0)
		snprintf(msg, len, "disk %s: %s LUN %" PRId64 " via %s, export '%s' once attached", nc->name, target, lun,
			 portal, nc->export_name);
	else
		snprintf(msg, len, "%s via %s: every LUN becomes a disk %s-<lun> once attached", target, portal, nc->name);
	mp_info("control: %s", msg);
	mp_conf_free(&tmp);
	return 0;
}

static int model_node_logout(void *arg, const char *target, const char *portal, int64_t lun, const char *iface,
			     char *msg, size_t len)
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
	size_t sessions = 0, specs = 0;
	for (size_t i = 0; i < d->n_specs;) {
		struct tspec *sp = d->specs[i];
		if (strcmp(sp->conf->target, target) != 0 ||
		    (lun >= 0 && !mp_conf_disk_wants_lun(sp->conf, (uint32_t)lun))) {
			i++;
			continue;
		}
		size_t n = spec_drop_sessions(sp, portal ? &cp : NULL, iface);
		sessions += n;
		if (sp->n_sess || sp->conf->n_discovery) {
			i++;
			continue;
		}
		/* No session left: the target's disks are drained and removed. */
		specs++;
		spec_remove(d, sp, "logged out");
	}
	if (!sessions && !specs) {
		snprintf(msg, len, "no session to %s%s%s%s%s", target, portal ? " via " : "", portal ? portal : "",
			 iface ? " on " : "", iface ? iface : "");
		errno = ENOENT;
		return -1;
	}
	snprintf(msg, len, "%zu session(s) logged out, %zu target(s) removed", sessions, specs);
	mp_info("control: %s (%s%s%s)", msg, target, portal ? " via " : "", portal ? portal : "");
	return 0;
}

/* rtnetlink: a NIC changed state; tell the sessions bound to it (or leaving through it). */
static void link_changed(void *arg, const char *ifname, int ifindex MP_UNUSED, bool up)
{
	mp_info("link %s %s", ifname, up ? "up" : "down");
	sessions_link_event(arg, ifname, up);
}

/* What the control socket sees of the daemon. */
static size_t model_n_disks(void *arg) { return ((struct daemon *)arg)->n_disks; }
static struct mp_lu *model_disk_lu(void *arg, size_t i) { return ((struct daemon *)arg)->disks[i]->lu; }
static const char *model_disk_name(void *arg, size_t i) { return ((struct daemon *)arg)->disks[i]->name; }
static const char *model_disk_export(void *arg, size_t i)
{
	return ((struct daemon *)arg)->disks[i]->export_name;
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents MP_UNUSED)
{
	mp_info("signal %d: shutting down", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void daemon_teardown(struct daemon *d)
{
	/* The NBD server first: no new requests; requests still in the core keep their
	 * connection objects. Then the disks with their paths (in-flight commands complete
	 * CANCELLED and wait in the core; the LUs fail what waits with ESHUTDOWN), then the
	 * specs, and the sessions nothing uses any more. */
	mp_ctl_free(d->ctl);
	d->ctl = NULL;
	nbd_server_free(d->nbd);
	d->nbd = NULL;
	while (d->n_disks) {
		struct disk *k = d->disks[--d->n_disks];
		disk_free(d, k);
	}
	while (d->draining) {
		struct disk *k = d->draining;
		d->draining = k->drain_next;
		disk_free(d, k);
	}
	while (d->n_specs)
		spec_remove(d, d->specs[d->n_specs - 1], "shutting down");
	sessions_gc(d);
	free(d->disks);
	free(d->specs);
	free(d->sessions);
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
	if (getenv("MPISCSI_TEST_NO_PDU_GUARD")) {
		d.no_pdu_guard = true;
		fprintf(stderr, "mpiscsid: MPISCSI_TEST_NO_PDU_GUARD set: targets' PDUs reach libiscsi unchecked "
			"(tests only)\n");
	}
	if (getenv("MPISCSI_TEST_SESSION_PER_LU")) {
		d.session_per_lu = true;
		fprintf(stderr, "mpiscsid: MPISCSI_TEST_SESSION_PER_LU set: one session per LU with one ISID "
			"(the old bug; tests only)\n");
	}
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
	d.nbd = nbd_server_new(d.loop);
	if (!d.nbd) {
		mp_err("out of memory");
		return 1;
	}
	nbd_server_set_tls(d.nbd, tls);
	mp_nbd_apply_limits(d.nbd, &d.conf);
	/* Link monitor first, so paths on a NIC that is already down start out failed. */
	d.linkmon = mp_linkmon_new(d.loop, link_changed, &d);
	if (!d.linkmon)
		mp_warn("no link monitor (rtnetlink): NIC failures are detected by timeouts only");
	for (size_t i = 0; i < d.conf.n_disks; i++) {
		if (!spec_new(&d, &d.conf.disks[i], true)) {
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
		.n_sessions = model_n_sessions,
		.session = model_session,
		.session_luns = model_session_luns,
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
	mp_ctl_set_max_pending(d.ctl, d.conf.control_max_pending);
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
