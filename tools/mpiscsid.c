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
#include "tools/ctl_server.h"
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
	const struct mp_conf_disk *conf;
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
	struct nbd_server *nbd;
	struct disk *disks;
	size_t n_disks;
	size_t n_ready;
	uint32_t last_path_id;
	struct mp_linkmon *linkmon;
	struct mp_ctl *ctl;
	bool listening;
	int exit_status;
	ev_signal sig_int, sig_term;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mpiscsid [OPTIONS] [iscsi://HOST[:PORT]/IQN/LUN ...]\n"
		"Userspace iSCSI multipath initiator exporting each LU as an NBD disk.\n\n"
		"  -f, --foreground         stay in the foreground, log to stderr\n"
		"  -c, --config FILE        read FILE (INI format, see mpiscsi.conf(5))\n"
		"      --nbd unix:PATH      NBD listen address (default unix:/run/mpiscsi/nbd.sock)\n"
		"      --initiator-name IQN our iSCSI initiator name\n"
		"      --log-level LEVEL    err, warn, info or debug\n"
		"      --control PATH       control socket for mpiscsiadm (default /run/mpiscsi/control.sock)\n"
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

static void print_config(const struct mp_conf *c)
{
	static const char *const levels[] = { "err", "warn", "info", "debug" };
	printf("[global]\ninitiator_name = %s\nlog_level = %s\n\n[nbd]\nlisten = %s\n", c->initiator_name,
	       c->log_level >= 0 && c->log_level < 4 ? levels[c->log_level] : "?", c->nbd_listen);
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct mp_conf_disk *k = &c->disks[i];
		printf("\n[disk %s]\ntarget = %s\nlun = %u\n", k->name, k->target, k->lun);
		for (size_t j = 0; j < k->n_portals; j++)
			printf("portal = %s%s%s:%u\n", strchr(k->portals[j].host, ':') ? "[" : "",
			       k->portals[j].host, strchr(k->portals[j].host, ':') ? "]" : "", k->portals[j].port);
		for (size_t j = 0; j < k->n_interfaces; j++)
			printf("interface = %s\n", k->interfaces[j]);
		printf("export = %s\n", k->export_name);
		if (k->no_path_retry_s < 0)
			printf("no_path_retry = queue\n");
		else if (k->no_path_retry_s == 0)
			printf("no_path_retry = fail\n");
		else
			printf("no_path_retry = %d\n", k->no_path_retry_s);
		printf("max_retries = %u\n", k->max_retries);
		for (size_t j = 0; j < k->n_discovery; j++)
			printf("discovery = %s%s%s:%u\n", strchr(k->discovery[j].host, ':') ? "[" : "",
			       k->discovery[j].host, strchr(k->discovery[j].host, ':') ? "]" : "", k->discovery[j].port);
		printf("selector = %s\nrr_min_io = %u\n", k->selector, k->rr_min_io);
		for (size_t j = 0; j < k->n_prios; j++)
			printf("prio = %s %d\n", k->prios[j].target, k->prios[j].prio);
		if (k->failback == MP_FAILBACK_DEFERRED)
			printf("failback = %u\n", k->failback_delay_s);
		else
			printf("failback = %s\n", failback_name(k->failback));
		printf("noop_interval = %ums\nnoop_timeout = %ums\ncommand_timeout = %ums\n"
		       "login_timeout = %ums\nreconnect_max = %ums\n",
		       k->noop_interval_ms, k->noop_timeout_ms, k->command_timeout_ms, k->login_timeout_ms,
		       k->reconnect_max_ms);
		printf("marginal_flaps = %u\nmarginal_window = %ums\nmarginal_hold = %ums\n"
		       "marginal_latency_factor = %u\n", k->marginal_flaps, k->marginal_window_ms,
		       k->marginal_hold_ms, k->marginal_latency_factor);
		printf("alua = %s\nalua_explicit = %s\nalua_refresh = %ums\n", k->alua_off ? "off" : "auto",
		       k->alua_explicit ? "yes" : "no", k->alua_refresh_ms);
	}
}

static void disk_ready(struct mp_lu *lu, void *arg)
{
	struct disk *k = arg;
	struct daemon *d = k->d;
	char desc[320];
	const struct mp_lu_info *in = mp_lu_get_info(lu);

	snprintf(desc, sizeof(desc), "%s %s %s", in->vendor, in->product, in->designator);
	if (nbd_server_add_export(d->nbd, k->conf->export_name, desc, lu) != 0) {
		mp_err("disk %s: cannot add NBD export '%s'", k->conf->name, k->conf->export_name);
		d->exit_status = 1;
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	k->exported = true;
	if (++d->n_ready < d->n_disks || d->listening)
		return;
	char err[512];
	if (nbd_server_listen(d->nbd, d->conf.nbd_listen, err, sizeof(err)) != 0) {
		mp_err("%s", err);
		d->exit_status = 1;
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	d->listening = true;
	mp_info("all %zu disk(s) attached; NBD exports ready on %s", d->n_disks, d->conf.nbd_listen);
}

/* libiscsi wants "HOST:PORT", with IPv6 literals in brackets. */
static void portal_string(const struct mp_conf_portal *pt, char *buf, size_t len)
{
	if (strchr(pt->host, ':'))
		snprintf(buf, len, "[%s]:%u", pt->host, pt->port);
	else
		snprintf(buf, len, "%s:%u", pt->host, pt->port);
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
	if (err) {
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
		ev_timer_set(&r->retry, DISCOVERY_RETRY_S, 0.);
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

/* rtnetlink: a NIC changed state; tell the paths bound to it. */
static void link_changed(void *arg, const char *ifname, int ifindex MP_UNUSED, bool up)
{
	struct daemon *d = arg;
	mp_info("link %s %s", ifname, up ? "up" : "down");
	for (size_t i = 0; i < d->n_disks; i++)
		for (size_t j = 0; j < d->disks[i].n_paths; j++) {
			struct mp_iscsi_path *p = d->disks[i].paths[j];
			if (strcmp(mp_iscsi_path_iface(p), ifname) == 0)
				mp_iscsi_path_link_event(p, up);
		}
}

/* What the control socket sees of the daemon. */
static size_t model_n_disks(void *arg) { return ((struct daemon *)arg)->n_disks; }
static struct mp_lu *model_disk_lu(void *arg, size_t i) { return ((struct daemon *)arg)->disks[i].lu; }
static const char *model_disk_name(void *arg, size_t i) { return ((struct daemon *)arg)->disks[i].conf->name; }
static const char *model_disk_export(void *arg, size_t i)
{
	return ((struct daemon *)arg)->disks[i].conf->export_name;
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
	nbd_server_free(d->nbd);
	d->nbd = NULL;
	for (size_t i = 0; i < d->n_disks; i++) {
		struct disk *k = &d->disks[i];
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
	const char *control = "/run/mpiscsi/control.sock";
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
	mp_conf_init(&d.conf);
	if (file && mp_conf_load(&d.conf, file, err, sizeof(err)) != 0)
		goto config_error;
	for (int i = optind; i < argc; i++)
		if (mp_conf_add_url(&d.conf, argv[i], err, sizeof(err)) != 0)
			goto config_error;
	if (nbd && mp_conf_set(&d.conf, "nbd", "listen", nbd, err, sizeof(err)) != 0)
		goto config_error;
	if (iname && mp_conf_set(&d.conf, "global", "initiator_name", iname, err, sizeof(err)) != 0)
		goto config_error;
	if (level && mp_conf_set(&d.conf, "global", "log_level", level, err, sizeof(err)) != 0)
		goto config_error;
	if (mp_conf_validate(&d.conf, err, sizeof(err)) != 0)
		goto config_error;
	if (check) {
		print_config(&d.conf);
		mp_conf_free(&d.conf);
		return 0;
	}

	mp_log_init("mpiscsid", !foreground, (enum mp_log_level)d.conf.log_level);
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "mpiscsid: daemon: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	d.loop = ev_default_loop(EVFLAG_AUTO);
	mp_evclock_init(&d.clock, d.loop);
	d.nbd = nbd_server_new(d.loop);
	d.disks = calloc(d.conf.n_disks, sizeof(*d.disks));
	if (!d.nbd || !d.disks) {
		mp_err("out of memory");
		return 1;
	}
	d.n_disks = d.conf.n_disks;
	/* Link monitor first, so paths on a NIC that is already down start out failed. */
	d.linkmon = mp_linkmon_new(d.loop, link_changed, &d);
	if (!d.linkmon)
		mp_warn("no link monitor (rtnetlink): NIC failures are detected by timeouts only");
	for (size_t i = 0; i < d.n_disks; i++) {
		d.disks[i].d = &d;
		d.disks[i].conf = &d.conf.disks[i];
		if (disk_start(&d, &d.disks[i]) != 0) {
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
	};
	d.ctl = mp_ctl_new(d.loop, control, &model, err, sizeof(err));
	if (!d.ctl) {
		mp_err("control socket %s: %s", control, err);
		d.exit_status = 1;
		goto out;
	}
	ev_signal_init(&d.sig_int, stop_cb, SIGINT);
	ev_signal_init(&d.sig_term, stop_cb, SIGTERM);
	ev_signal_start(d.loop, &d.sig_int);
	ev_signal_start(d.loop, &d.sig_term);
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
