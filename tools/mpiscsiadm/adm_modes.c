/* mpiscsiadm's iscsiadm-style modes: -m discovery (no daemon needed), -m node (login/logout), -m session. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "common/log.h"
#include "common/util.h"
#include "initiator/discovery.h"
#include "tools/mpiscsiadm/adm.h"
#include "tools/mpiscsid/config.h"
#include "tools/ctl/ctl_proto.h"

struct mode_opts {
	struct cli_opts cli;
	const char *mode, *type, *portal, *target, *iface, *initiator;
	int64_t lun;                 /* -1: not given */
	int print_level;             /* -P */
	bool login, logout, help;
};

static void mode_usage(FILE *f, const char *mode)
{
	bool all = !mode;
	fprintf(f, "Usage (iscsiadm style):\n");
	if (all || strcmp(mode, "discovery") == 0)
		fprintf(f,
			"  mpiscsiadm -m discovery -t sendtargets -p HOST[:PORT] [-I IFACE] [--initiator-name IQN] [--json]\n"
			"      ask the portal which targets and portals it has (SendTargets); prints\n"
			"      \"HOST:PORT,TPGT IQN\" lines. Needs no daemon.\n");
	if (all || strcmp(mode, "node") == 0)
		fprintf(f,
			"  mpiscsiadm -m node -T IQN -p HOST[:PORT] [-I IFACE] [--lun N] --login [--timeout S]\n"
			"      the daemon logs in: the portal's sessions join the disks of that target (and\n"
			"      LUN), or new disks are made: every LUN the target reports, or LUN N. Waits (up\n"
			"      to S seconds, default %d) until logged in and attached; exit status as iscsiadm's\n"
			"      (4 unreachable, 8 timed out, 15 already present, 19 target not found or\n"
			"      rejected, 21 no such LUN, 24 authentication failed, 7 no such NIC).\n"
			"  mpiscsiadm -m node -T IQN [-p HOST[:PORT]] [-I IFACE] [--lun N] --logout\n"
			"      the daemon logs out of that portal (or all of the target's portals), through\n"
			"      that NIC (or all); a disk left without paths is drained and removed (21: none).\n",
			ADM_DEFAULT_TIMEOUT_S);
	if (all || strcmp(mode, "session") == 0)
		fprintf(f,
			"  mpiscsiadm -m session [-P 0|1|2|3] [--json]\n"
			"      the daemon's iSCSI sessions (one per NIC, portal and target); -P 1 adds portal,\n"
			"      interface, ISID and states, -P 2 the session parameters, -P 3 the LUNs and\n"
			"      disks each session carries.\n");
	fprintf(f,
		"Options: -s, --control PATH (or --socket; default %s), --timeout SECS (default %d), -j, --json.\n"
		"With -m, -t is the discovery type as in iscsiadm; the timeout is --timeout.\n"
		"Exit status: 0 ok, 1 refused (by the daemon or the target), 2 usage error,\n"
		"3 cannot reach the daemon or the portal.\n",
		MP_CTL_DEFAULT_SOCKET, ADM_DEFAULT_TIMEOUT_S);
}

/* ---- -m discovery ---- */

struct disc_run {
	const struct mode_opts *o;
	bool done;
	int status;
	json_object *json;
};

static void disc_done(void *arg, int err, const struct mp_discovery_result *res, const char *msg)
{
	struct disc_run *r = arg;
	r->done = true;
	if (err) {
		fprintf(stderr, "mpiscsiadm: %s\n", msg);
		r->status = err == ENOTCONN || err == ETIMEDOUT ? EXIT_UNREACHABLE : EXIT_REFUSED;
		return;
	}
	r->status = EXIT_OK;
	for (size_t i = 0; i < res->n; i++) {
		const struct mp_discovered *e = &res->entries[i];
		char p[300];
		if (mp_portal_format(&e->portal, false, p, sizeof(p)) < 0)
			continue;
		/* A target listed without an address is at the discovery portal; iscsiadm shows TPGT -1. */
		int tpgt = e->portal.has_tpgt ? e->portal.tpgt : -1;
		if (r->json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "portal", json_object_new_string(p));
			json_object_object_add(o, "tpgt", json_object_new_int(tpgt));
			json_object_object_add(o, "target", json_object_new_string(e->target));
			json_object_array_add(r->json, o);
		} else {
			printf("%s,%d %s\n", p, tpgt, e->target);
		}
	}
	if (res->skipped)
		fprintf(stderr, "mpiscsiadm: %zu malformed SendTargets entries left out\n", res->skipped);
}

static int mode_discovery(const struct mode_opts *o)
{
	if (!o->type || (strcmp(o->type, "sendtargets") != 0 && strcmp(o->type, "st") != 0)) {
		fprintf(stderr, "mpiscsiadm: -m discovery needs -t sendtargets (the only discovery type)\n");
		return EXIT_USAGE;
	}
	if (!o->portal) {
		fprintf(stderr, "mpiscsiadm: -m discovery needs -p HOST[:PORT]\n");
		return EXIT_USAGE;
	}
	struct mp_conf defaults;
	mp_conf_init(&defaults); /* the default initiator name, as mpiscsid uses it */
	struct mp_discovery_opts d = {
		.initiator_name = o->initiator ? o->initiator : defaults.initiator_name,
		.portal = o->portal,
		.iface = o->iface,
		.timeout_ms = (unsigned)MP_MIN(o->cli.timeout_s * 1000, 600000L),
	};
	mp_log_init("mpiscsiadm", false, MP_LOG_ERR);
	signal(SIGPIPE, SIG_IGN);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct disc_run r = { .o = o, .status = EXIT_UNREACHABLE,
			      .json = o->cli.json ? json_object_new_array() : NULL };
	struct mp_discovery *h = loop ? mp_discovery_start(loop, &d, disc_done, &r) : NULL;
	if (!h) {
		fprintf(stderr, "mpiscsiadm: discovery via %s: %s\n", o->portal, strerror(errno ? errno : ENOMEM));
		mp_conf_free(&defaults);
		json_object_put(r.json);
		if (loop)
			ev_loop_destroy(loop);
		return errno == EINVAL ? EXIT_USAGE : EXIT_UNREACHABLE;
	}
	ev_run(loop, 0);
	if (!r.done) {
		fprintf(stderr, "mpiscsiadm: discovery via %s ended without a result\n", o->portal);
		mp_discovery_cancel(h);
	}
	ev_loop_destroy(loop);
	mp_conf_free(&defaults);
	if (r.json) {
		if (r.status == EXIT_OK) {
			json_object *top = json_object_new_object();
			json_object_object_add(top, "targets", r.json);
			r.status = adm_print_json(top);
			json_object_put(top);
		} else {
			json_object_put(r.json);
		}
	}
	return r.status;
}

/* ---- -m node ---- */

/* iscsiadm writes a portal "HOST,PORT". */
static void portal_comma(const char *portal, char *buf, size_t len)
{
	const char *colon = strrchr(portal, ':'), *bracket = strrchr(portal, ']');
	if (colon && (!bracket || colon > bracket))
		snprintf(buf, len, "%.*s,%s", (int)(colon - portal), portal, colon + 1);
	else
		snprintf(buf, len, "%s,3260", portal);
}

/* The login's outcome, as iscsiadm prints it, and the disks its LUNs became. */
static int node_login_report(const struct mode_opts *o, int rc, int err, json_object *data)
{
	char pc[320];
	if (rc != EXIT_OK) {
		portal_comma(o->portal, pc, sizeof(pc));
		int st = rc == EXIT_REFUSED ? adm_iscsi_exit(err) : rc;
		if (rc == EXIT_REFUSED) {
			printf("Logging in to [iface: %s, target: %s, portal: %s]\n", o->iface ? o->iface : "default",
			       o->target, pc);
			fflush(stdout);
			fprintf(stderr, "mpiscsiadm: Could not login to [iface: %s, target: %s, portal: %s].\n",
				o->iface ? o->iface : "default", o->target, pc);
			fprintf(stderr, "mpiscsiadm: initiator reported error (%d - %s): %s\n", st,
				adm_iscsi_exit_text(st), adm_gets(data, "message", ""));
			if (o->cli.json)
				adm_print_json(data);
		}
		return st;
	}
	if (o->cli.json)
		return adm_print_json(data);
	json_object *ss = adm_get(data, "sessions"), *ds = adm_get(data, "disks");
	for (size_t i = 0; i < adm_arr_len(ss); i++) {
		json_object *x = json_object_array_get_idx(ss, i);
		const char *ifc = adm_gets(x, "iface", "");
		portal_comma(adm_gets(x, "portal", "?"), pc, sizeof(pc));
		printf("Logging in to [iface: %s, target: %s, portal: %s]\n", ifc[0] ? ifc : "default", o->target, pc);
	}
	for (size_t i = 0; i < adm_arr_len(ss); i++) {
		json_object *x = json_object_array_get_idx(ss, i);
		const char *ifc = adm_gets(x, "iface", "");
		portal_comma(adm_gets(x, "portal", "?"), pc, sizeof(pc));
		printf("Login to [iface: %s, target: %s, portal: %s] successful.\n", ifc[0] ? ifc : "default", o->target,
		       pc);
	}
	/* Which LUN became which disk: never a silent LUN 0. */
	for (size_t i = 0; i < adm_arr_len(ds); i++) {
		json_object *x = json_object_array_get_idx(ds, i);
		const char *dev = adm_gets(x, "device", NULL);
		bool refused = strcmp(adm_gets(x, "state", ""), "refused") == 0;
		printf("LUN %" PRId64 ": disk %s, export %s%s%s%s\n", adm_geti(x, "lun", -1), adm_gets(x, "disk", "?"),
		       adm_gets(x, "export", "-"), dev ? ", " : "", dev ? dev : "",
		       refused ? " (path refused: another LU than the disk's)" : "");
	}
	if (!adm_arr_len(ds))
		printf("No disk LUN: the target reports no direct-access LUN%s.\n", o->lun >= 0 ? " by that number" : "");
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_UNREACHABLE;
}

static int mode_node(const struct mode_opts *o)
{
	if (o->login == o->logout) {
		fprintf(stderr, "mpiscsiadm: -m node needs one of --login (-l) or --logout (-u)\n");
		return EXIT_USAGE;
	}
	if (!o->target || (o->login && !o->portal)) {
		fprintf(stderr, "mpiscsiadm: -m node %s needs -T IQN%s\n", o->login ? "--login" : "--logout",
			o->login ? " and -p HOST[:PORT]" : "");
		return EXIT_USAGE;
	}
	json_object *args = json_object_new_object(), *data = NULL;
	json_object_object_add(args, "target", json_object_new_string(o->target));
	if (o->portal)
		json_object_object_add(args, "portal", json_object_new_string(o->portal));
	if (o->lun >= 0)
		json_object_object_add(args, "lun", json_object_new_int64(o->lun));
	if (o->iface)
		json_object_object_add(args, "iface", json_object_new_string(o->iface));
	/* A login answers once it has an outcome (the daemon's deadline is --timeout): the reply
	 * is waited for a little longer than that. */
	struct cli_opts co = o->cli;
	if (o->login) {
		json_object_object_add(args, "timeout_s", json_object_new_int64(o->cli.timeout_s));
		co.timeout_s = o->cli.timeout_s + 10;
	}
	int err = 0;
	int rc = adm_call_ex(&co, o->login ? "node-login" : "node-logout", args, &data, &err);
	if (o->login) {
		rc = node_login_report(o, rc, err, data);
		json_object_put(data);
		return rc;
	}
	if (rc == EXIT_REFUSED) {
		fprintf(stderr, "mpiscsiadm: %s: %s\n", adm_gets(data, "code", "?"), adm_gets(data, "message", ""));
		if (o->cli.json)
			adm_print_json(data);
		json_object_put(data);
		return adm_iscsi_exit(err);
	}
	if (rc != EXIT_OK)
		return rc;
	if (o->cli.json) {
		rc = adm_print_json(data);
	} else {
		/* iscsiadm's wording; the NIC only when -I named one (it is honoured: only its sessions go). */
		char pc[320] = "all";
		if (o->portal)
			portal_comma(o->portal, pc, sizeof(pc));
		printf("Logout of [%s%s%starget: %s, portal: %s] successful: %s\n", o->iface ? "iface: " : "",
		       o->iface ? o->iface : "", o->iface ? ", " : "", o->target, pc, adm_gets(data, "result", ""));
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_UNREACHABLE;
	}
	json_object_put(data);
	return rc;
}

/* ---- -m session ---- */

static void print_session(json_object *s, int level)
{
	const char *iface = adm_gets(s, "iface", "");
	if (level == 0) {
		printf("tcp: [%" PRId64 "] %s %s (%s, %zu LUN(s))\n", adm_geti(s, "sid", -1), adm_gets(s, "portal", "?"),
		       adm_gets(s, "target", "?"), adm_gets(s, "session_state", "?"), adm_arr_len(adm_get(s, "luns")));
		return;
	}
	printf("Target: %s\n", adm_gets(s, "target", "?"));
	printf("\tCurrent Portal: %s\n", adm_gets(s, "portal", "?"));
	printf("\tPersistent Portal: %s\n", adm_gets(s, "portal", "?"));
	printf("\t\t**********\n\t\tInterface:\n\t\t**********\n");
	printf("\t\tIface Name: %s\n", iface[0] ? iface : "default");
	printf("\t\tIface Initiatorname: %s\n", adm_gets(s, "initiator", "?"));
	printf("\t\tIface Netdev: %s\n", adm_gets(s, "egress", "")[0] ? adm_gets(s, "egress", "") : "<empty>");
	printf("\t\tSID: %" PRId64 "\n", adm_geti(s, "sid", -1));
	printf("\t\tISID: %s\n", adm_gets(s, "isid", "?"));
	printf("\t\tiSCSI Connection State: %s\n", adm_getb(s, "logged_in") ? "LOGGED IN" : "FAILED");
	printf("\t\tiSCSI Session State: %s\n", adm_gets(s, "session_state", "?"));
	printf("\t\tLogins: %" PRId64 "\n", adm_geti(s, "logins", 0));
	const char *le = adm_gets(s, "last_error", "");
	printf("\t\tLast Error: %s\n", le[0] ? le : "<none>");
	if (level >= 2) {
		json_object *p = adm_get(s, "params");
		printf("\t\t*********\n\t\tTimeouts:\n\t\t*********\n");
		printf("\t\tNOP-Out Interval: %" PRId64 " ms\n", adm_geti(p, "noop_interval_ms", 0));
		printf("\t\tNOP-Out Timeout: %" PRId64 " ms\n", adm_geti(p, "noop_timeout_ms", 0));
		printf("\t\tCommand Timeout: %" PRId64 " ms\n", adm_geti(p, "command_timeout_ms", 0));
		printf("\t\tLogin Timeout: %" PRId64 " ms\n", adm_geti(p, "login_timeout_ms", 0));
		printf("\t\tReconnect Backoff Max: %" PRId64 " ms\n", adm_geti(p, "reconnect_max_ms", 0));
		printf("\t\t*****\n\t\tCHAP:\n\t\t*****\n");
		const char *cu = adm_gets(p, "chap_user", "");
		printf("\t\tusername: %s\n", cu[0] ? cu : "<empty>");
		printf("\t\tpassword: %s\n", cu[0] ? "********" : "<empty>");
		printf("\t\t************************\n\t\tOffered iSCSI params:\n\t\t************************\n");
		printf("\t\tHeaderDigest: %s\n", adm_gets(p, "header_digest", "?"));
		printf("\t\t(libiscsi does not report the negotiated values)\n");
	}
	if (level >= 3) {
		printf("\t\t************************\n\t\tAttached SCSI devices:\n\t\t************************\n");
		json_object *luns = adm_get(s, "luns");
		for (size_t i = 0; i < adm_arr_len(luns); i++) {
			json_object *l = json_object_array_get_idx(luns, i);
			printf("\t\tLun: %" PRId64 "\tpath: %" PRId64 " (%s)\tdisk: %s\texport: %s\tdesignator: %s\t"
			       "size: %" PRId64 " bytes\n", adm_geti(l, "lun", 0), adm_geti(l, "path_id", 0),
			       adm_gets(l, "path_state", "?"), adm_gets(l, "disk", "?"), adm_gets(l, "export", "-"),
			       adm_gets(l, "designator", "-"), adm_geti(l, "size_bytes", 0));
		}
	}
}

static int mode_session(const struct mode_opts *o)
{
	json_object *data = NULL;
	int rc = adm_call(&o->cli, "show-sessions", NULL, &data);
	if (rc != EXIT_OK)
		return rc;
	if (o->cli.json) {
		rc = adm_print_json(data);
		json_object_put(data);
		return rc;
	}
	json_object *ss = adm_get(data, "sessions");
	if (adm_arr_len(ss) == 0) {
		/* As iscsiadm: no sessions is exit status 21 there; here it is simply an empty list. */
		printf("No active sessions.\n");
	}
	for (size_t i = 0; i < adm_arr_len(ss); i++)
		print_session(json_object_array_get_idx(ss, i), o->print_level);
	json_object_put(data);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_UNREACHABLE;
}

int adm_mode_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "type", required_argument, NULL, 't' },
		{ "portal", required_argument, NULL, 'p' },
		{ "targetname", required_argument, NULL, 'T' },
		{ "interface", required_argument, NULL, 'I' },
		{ "print", required_argument, NULL, 'P' },
		{ "login", no_argument, NULL, 'l' },
		{ "logout", no_argument, NULL, 'u' },
		{ "lun", required_argument, NULL, 'L' },
		{ "initiator-name", required_argument, NULL, 'i' },
		{ "control", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 's' },  /* the older name, kept */
		{ "timeout", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mode_opts o = { .cli = { .socket = MP_CTL_DEFAULT_SOCKET, .timeout_s = ADM_DEFAULT_TIMEOUT_S },
			       .lun = -1 };
	int64_t v;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:t:p:T:I:P:lus:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm': o.mode = optarg; break;
		case 't': o.type = optarg; break;
		case 'p': o.portal = optarg; break;
		case 'T': o.target = optarg; break;
		case 'I': o.iface = optarg; break;
		case 'l': o.login = true; break;
		case 'u': o.logout = true; break;
		case 'i': o.initiator = optarg; break;
		case 's': o.cli.socket = optarg; break;
		case 'j': o.cli.json = true; break;
		case 'h': o.help = true; break;
		case 'P':
			if (adm_parse_i64(optarg, 0, 3, &v) < 0) {
				fprintf(stderr, "mpiscsiadm: -P wants 0, 1, 2 or 3, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			o.print_level = (int)v;
			break;
		case 'L':
			if (adm_parse_i64(optarg, 0, 16383, &v) < 0) {
				fprintf(stderr, "mpiscsiadm: --lun wants 0..16383, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			o.lun = v;
			break;
		case 'o':
			if (adm_parse_i64(optarg, 1, 86400, &v) < 0) {
				fprintf(stderr, "mpiscsiadm: --timeout wants 1..86400 seconds, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			o.cli.timeout_s = (long)v;
			break;
		default:
			mode_usage(stderr, NULL);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mpiscsiadm: unexpected argument '%s' with -m\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!o.mode) {
		mode_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	if (strcmp(o.mode, "discovery") == 0 || strcmp(o.mode, "discoverydb") == 0)
		return o.help ? (mode_usage(stdout, "discovery"), EXIT_OK) : mode_discovery(&o);
	if (strcmp(o.mode, "node") == 0)
		return o.help ? (mode_usage(stdout, "node"), EXIT_OK) : mode_node(&o);
	if (strcmp(o.mode, "session") == 0)
		return o.help ? (mode_usage(stdout, "session"), EXIT_OK) : mode_session(&o);
	fprintf(stderr, "mpiscsiadm: unknown mode '%s' (discovery, node, session)\n", o.mode);
	return EXIT_USAGE;
}
