/* SendTargets discovery from the command line, printing "HOST:PORT,TPGT IQN" lines like iscsiadm -m discovery. */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "initiator/discovery.h"

/*
 * Usage: discover [-t TIMEOUT_MS] [-i INITIATOR_IQN] [-d] PORTAL [IFACE]
 * Exit 0 after printing the targets (none is fine), 1 with the error on stderr.
 */

#define DEFAULT_INITIATOR "iqn.2026-11.org.mpiscsi:discover"

struct run {
	int status;
	bool done;
};

static void on_done(void *arg, int err, const struct mp_discovery_result *res, const char *msg)
{
	struct run *r = arg;
	r->done = true;
	if (err) {
		fprintf(stderr, "discover: %s (%s)\n", msg, strerror(err));
		r->status = 1;
		return;
	}
	for (size_t i = 0; i < res->n; i++) {
		char p[300];
		if (mp_portal_format(&res->entries[i].portal, true, p, sizeof(p)) < 0)
			continue;
		/* A target listed without an address is reachable at the discovery portal: iscsiadm shows ",-1". */
		printf("%s%s %s\n", p, res->entries[i].portal.has_tpgt ? "" : ",-1", res->entries[i].target);
	}
	if (res->skipped)
		fprintf(stderr, "discover: %zu malformed entries left out\n", res->skipped);
	r->status = 0;
}

int main(int argc, char **argv)
{
	struct mp_discovery_opts o = { .initiator_name = DEFAULT_INITIATOR };
	bool debug = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			o.timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc)
			o.initiator_name = argv[++i];
		else if (strcmp(argv[i], "-d") == 0)
			debug = true;
		else
			break;
	}
	if (argc - i < 1 || argc - i > 2) {
		fprintf(stderr, "usage: %s [-t TIMEOUT_MS] [-i INITIATOR_IQN] [-d] PORTAL [IFACE]\n", argv[0]);
		return 2;
	}
	o.portal = argv[i];
	o.iface = argc - i == 2 ? argv[i + 1] : NULL;
	mp_log_init("discover", false, debug ? MP_LOG_DEBUG : MP_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);   /* a target that hangs up is an error result, not a signal */

	struct ev_loop *loop = ev_default_loop(0);
	struct run r = { .status = 1 };
	struct mp_discovery *d = mp_discovery_start(loop, &o, on_done, &r);
	if (!d) {
		fprintf(stderr, "discover: %s: %s\n", o.portal, strerror(errno));
		return 1;
	}
	ev_run(loop, 0);
	if (!r.done) {
		/* The loop ran dry without a result: a bug in the discovery code. */
		fprintf(stderr, "discover: no result delivered\n");
		mp_discovery_cancel(d);
		r.status = 1;
	}
	ev_loop_destroy(loop);
	return r.status;
}
