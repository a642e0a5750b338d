/* mpiscsid: wires configuration -> iSCSI paths -> multipath core -> NBD exports on one libev loop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "common/evclock.h"
#include "common/log.h"
#include "initiator/iscsi_path.h"
#include "mpath/lu.h"
#include "tools/config.h"
#include "transport/nbd/nbd_server.h"

#define MPISCSI_VERSION "0.1.0"
#define DEFAULT_COMMAND_TIMEOUT_S 30

struct disk {
	struct daemon *d;
	const struct mp_conf_disk *conf;
	struct mp_lu *lu;
	struct mp_iscsi_path **paths;
	size_t n_paths;
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
		"      --check-config       validate the configuration, print it and exit\n"
		"  -h, --help               this text\n"
		"  -V, --version            print the version\n\n"
		"Each iscsi:// URL is a path; URLs naming the same target and LUN are paths of one disk.\n"
		"The NBD socket appears once every disk has attached. Exit status: 0 ok, 1 runtime\n"
		"failure, 2 usage or configuration error.\n");
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

static int disk_start(struct daemon *d, struct disk *k)
{
	const struct mp_conf_disk *c = k->conf;
	struct mp_lu_opts lo;

	mp_lu_opts_default(&lo);
	lo.no_path_retry_s = c->no_path_retry_s;
	lo.max_retries = c->max_retries;
	k->lu = mp_lu_new(c->name, &d->clock, &lo);
	if (!k->lu)
		return -1;
	mp_lu_set_ready_cb(k->lu, disk_ready, k);
	size_t nif = c->n_interfaces ? c->n_interfaces : 1;
	k->paths = calloc(c->n_portals * nif, sizeof(*k->paths));
	if (!k->paths)
		return -1;
	/* One path per (interface, portal) pair. */
	for (size_t i = 0; i < nif; i++) {
		for (size_t j = 0; j < c->n_portals; j++) {
			char portal[300];
			portal_string(&c->portals[j], portal, sizeof(portal));
			struct mp_iscsi_path_opts po = {
				.initiator_name = d->conf.initiator_name,
				.target = c->target,
				.portal = portal,
				.iface = c->n_interfaces ? c->interfaces[i] : NULL,
				.lun = c->lun,
				.command_timeout_s = DEFAULT_COMMAND_TIMEOUT_S,
			};
			struct mp_iscsi_path *p = mp_iscsi_path_new(d->loop, k->lu, &po);
			if (!p)
				return -1;
			k->paths[k->n_paths++] = p;
		}
	}
	mp_info("disk %s: %s LUN %u over %zu path(s)", c->name, c->target, c->lun, k->n_paths);
	return 0;
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
	nbd_server_free(d->nbd);
	d->nbd = NULL;
	for (size_t i = 0; i < d->n_disks; i++) {
		struct disk *k = &d->disks[i];
		for (size_t j = 0; j < k->n_paths; j++)
			mp_iscsi_path_free(k->paths[j]);
		free(k->paths);
		mp_lu_free(k->lu);
	}
	free(d->disks);
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .exit_status = 0 };
	const char *file = NULL, *nbd = NULL, *iname = NULL, *level = NULL;
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
	for (size_t i = 0; i < d.n_disks; i++) {
		d.disks[i].d = &d;
		d.disks[i].conf = &d.conf.disks[i];
		if (disk_start(&d, &d.disks[i]) != 0) {
			mp_err("disk %s: cannot start: %s", d.conf.disks[i].name, strerror(errno));
			d.exit_status = 1;
			goto out;
		}
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
