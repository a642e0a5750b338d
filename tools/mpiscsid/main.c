/* mpiscsid: options, start-up, signals and the libev loop; the rest of the daemon lives beside it. */
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
#include "common/pidfile.h"
#include "initiator/discovery.h"
#include "initiator/isid.h"
#include "initiator/iscsi_path.h"
#include "initiator/linkmon.h"
#include "mpath/selector.h"
#include "mpath/lu.h"
#include "tools/mpiscsid/config.h"
#include "tools/mpiscsid/nbd_setup.h"
#include "tools/mpiscsid/exports.h"
#include "tools/mpiscsid/ctl_server.h"
#include "tools/mpiscsid/daemon.h"
#include "tools/mpiscsid/node_login.h"
#include "tools/mpiscsid/notify.h"
#include "tools/mpiscsid/secrets.h"
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
		"      --pidfile PATH       write the daemon's pid to PATH (locked; removed at exit);\n"
		"                           refuse to start while another live process holds it\n"
		"      --check-config       validate the configuration, print it and exit\n"
		"  -h, --help               this text\n"
		"  -V, --version            print the version\n\n"
		"Each iscsi:// URL is a path; URLs naming the same target and LUN are paths of one disk.\n"
		"No disk at all is fine (add them with mpiscsiadm -m node --login); a configuration\n"
		"file that does not exist counts as empty. The NBD socket opens at start and each disk\n"
		"is exported once it has attached (until then a client asking for it is told it is not\n"
		"ready yet). Under a service manager ($NOTIFY_SOCKET set) READY=1 is sent once the\n"
		"control socket and the NBD listeners are open and every disk's first logins have\n"
		"started. Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
}

/* file as an absolute name: resolved if it exists; else (a file that may appear later, read by
 * a reload) the working directory prefixed to a relative name. NULL if that fails. */
static char *absolute_path(const char *file)
{
	char *r = realpath(file, NULL);
	if (r || file[0] == '/')
		return r ? r : strdup(file);
	char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	size_t n = strlen(cwd) + strlen(file) + 2;
	r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", cwd, file);
	free(cwd);
	return r;
}

static void hup_cb(struct ev_loop *loop MP_UNUSED, ev_signal *w, int revents MP_UNUSED)
{
	struct daemon *d = w->data;
	char msg[256];
	mp_info("signal %d: reloading %s", w->signum, d->conf_file ? d->conf_file : "(no file)");
	daemon_reload(d, msg, sizeof(msg));
}

/* rtnetlink: a NIC changed state; tell the sessions bound to it (or leaving through it). */
static void link_changed(void *arg, const char *ifname, int ifindex MP_UNUSED, bool up)
{
	mp_info("link %s %s", ifname, up ? "up" : "down");
	sessions_link_event(arg, ifname, up);
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
	mp_exports_free(d->exports);
	d->exports = NULL;
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
		{ "pidfile", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .exit_status = 0 };
	const char *file = NULL, *nbd = NULL, *iname = NULL, *level = NULL;
	const char *control = NULL, *pidpath = NULL;
	struct mp_pidfile *pidfile = NULL;
	struct daemon_notifier notifier;
	char *conf_abs = NULL;
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
		case 'P': pidpath = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mpiscsid %s\n", MPISCSI_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (pidpath && !pidpath[0]) {
		fprintf(stderr, "mpiscsid: --pidfile needs a path\n");
		return 2;
	}
	/* Kept for reloads: the same file, URLs and overrides build every later configuration.
	 * The file's name is made absolute first: detaching changes to /, and a reload must read
	 * the file it started with. (A name realpath cannot resolve is kept: loading it reports
	 * the error.) */
	if (file && !getenv("MPISCSI_TEST_RELATIVE_CONFIG"))
		conf_abs = absolute_path(file);
	else if (file)
		fprintf(stderr, "mpiscsid: MPISCSI_TEST_RELATIVE_CONFIG set: the config path is kept as given "
			"(the old bug; tests only)\n");
	d.conf_file = conf_abs ? conf_abs : file;
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
	bool conf_absent = false;
	if (daemon_conf_build(&d, &d.conf, &conf_absent, err, sizeof(err)) != 0)
		goto config_error;
	/* TLS keys are read before detaching: a bad key file is reported on the terminal. */
	struct nbd_tls_creds *tls = NULL;
	if (mp_nbd_tls_load(&d.conf, &tls, err, sizeof(err)) != 0)
		goto config_error;
	/* Only the check refuses a NIC that does not exist: a running daemon's sessions wait for it. */
	if (check && !getenv(NODE_LOGIN_TEST_NO_NIC_CHECK_ENV) && mp_conf_check_nics(&d.conf, err, sizeof(err)) != 0) {
		nbd_tls_creds_unref(tls);
		goto config_error;
	}
	if (check) {
		if (conf_absent)
			fprintf(stderr, "mpiscsid: %s does not exist: an empty configuration\n", d.conf_file);
		nbd_tls_creds_unref(tls);
		mp_conf_print(stdout, &d.conf);
		mp_conf_free(&d.conf);
		free(conf_abs);
		return 0;
	}
	/* Taken before detaching, so that a second daemon is refused on the terminal; the lock
	 * follows the open file into the detached process, which then writes its own pid. */
	if (pidpath) {
		pid_t holder;
		pidfile = mp_pidfile_open(pidpath, &holder);
		if (!pidfile) {
			if (errno == EEXIST && holder)
				fprintf(stderr, "mpiscsid: pidfile %s: %s: held by running process %ld\n", pidpath,
					strerror(EEXIST), (long)holder);
			else
				fprintf(stderr, "mpiscsid: pidfile %s: %s\n", pidpath, strerror(errno));
			nbd_tls_creds_unref(tls);
			mp_conf_free(&d.conf);
			free(conf_abs);
			return 1;
		}
	}

	control = d.conf.control;
	/* syslog = auto: the journal/syslog as a service, stderr in the foreground. */
	mp_log_init("mpiscsid", d.conf.syslog < 0 ? !foreground : d.conf.syslog == 1,
		    (enum mp_log_level)d.conf.log_level);
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "mpiscsid: daemon: %s\n", strerror(errno));
		mp_pidfile_remove(pidfile);
		return 1;
	}
	if (pidfile && mp_pidfile_write(pidfile) != 0) {
		mp_err("pidfile %s: %s", pidpath, strerror(errno));
		mp_pidfile_remove(pidfile);
		return 1;
	}
	if (conf_absent)
		mp_info("%s does not exist: no disk is configured from it (a reload reads it once it is there)",
			d.conf_file);
	if (!d.conf.n_disks)
		mp_info("no disk configured: add disks with mpiscsiadm -m node --login, or configure them and reload");
	signal(SIGPIPE, SIG_IGN);
	d.loop = ev_default_loop(EVFLAG_AUTO);
	mp_evclock_init(&d.clock, d.loop);
	d.exports = mp_exports_new(d.loop, &d.conf, tls, daemon_export_pending, &d, err, sizeof(err));
	if (!d.exports) {
		mp_err("%s", err);
		mp_pidfile_remove(pidfile);
		return 1;
	}
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
	struct mp_ctl_model model;
	daemon_ctl_model(&d, &model);
	d.ctl = mp_ctl_new(d.loop, control, &model, err, sizeof(err));
	if (!d.ctl) {
		mp_err("control socket %s: %s", control, err);
		d.exit_status = 1;
		goto out;
	}
	mp_ctl_set_max_clients(d.ctl, d.conf.control_max_clients);
	mp_ctl_set_max_pending(d.ctl, d.conf.control_max_pending);
	/* The front ends serve from now on, whatever the disks do: each disk is added as it
	 * attaches (daemon_disk_ready), so a disk that cannot attach holds back no other. */
	if (mp_exports_start(d.exports, &d.conf, err, sizeof(err)) != 0) {
		mp_err("%s", err);
		d.exit_status = 1;
		goto out;
	}
	d.listening = true;
	ev_signal_init(&d.sig_int, stop_cb, SIGINT);
	ev_signal_init(&d.sig_term, stop_cb, SIGTERM);
	ev_signal_start(d.loop, &d.sig_int);
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_init(&d.sig_hup, hup_cb, SIGHUP);
	d.sig_hup.data = &d;
	ev_signal_start(d.loop, &d.sig_hup);
	daemon_notify_start(&notifier, &d);
	ev_run(d.loop, 0);
	daemon_notify_stop(&notifier);
out:
	daemon_teardown(&d);
	mp_conf_free(&d.conf);
	ev_loop_destroy(d.loop);
	mp_pidfile_remove(pidfile);
	free(conf_abs);
	return d.exit_status;

config_error:
	fprintf(stderr, "mpiscsid: %s\n", err);
	mp_conf_free(&d.conf);
	free(conf_abs);
	return 2;
}
