/* Runs the link monitor and prints one "IFNAME up|down" line per reported change (end-to-end test helper). */
#include <errno.h>
#include <ev.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "initiator/linkmon.h"

/*
 * Usage: linkmon_watch [--rcvbuf BYTES] [--debug]
 * stdout: "# ready N" once the initial table is read, "# initial IFNAME up|down"
 * for every link then, and "IFNAME up|down" per change, each line flushed.
 * SIGUSR1 prints "# resyncs N". SIGTERM/SIGINT: clean exit 0.
 */

struct watch {
	ev_signal sigterm;       /* first: the exit signals */
	ev_signal sigint;
	ev_signal sigusr1;
	struct mp_linkmon *lm;
};

static void on_link(void *arg MP_UNUSED, const char *ifname, int ifindex MP_UNUSED, bool up)
{
	printf("%s %s\n", ifname, up ? "up" : "down");
	fflush(stdout);
}

static void on_stop(struct ev_loop *loop, ev_signal *w MP_UNUSED, int revents MP_UNUSED)
{
	ev_break(loop, EVBREAK_ALL);
}

static void on_usr1(struct ev_loop *loop MP_UNUSED, ev_signal *w, int revents MP_UNUSED)
{
	struct watch *wt = mp_container_of(w, struct watch, sigusr1);
	printf("# resyncs %u\n", mp_linkmon_resyncs(wt->lm));
	fflush(stdout);
}

/* The initial table, read through the public query for every link the kernel names. */
static void print_initial(struct mp_linkmon *lm)
{
	struct if_nameindex *ifs = if_nameindex();
	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		int st = mp_linkmon_is_up(lm, i->if_name);
		printf("# initial %s %s\n", i->if_name, st > 0 ? "up" : st == 0 ? "down" : "unknown");
	}
	if (ifs)
		if_freenameindex(ifs);
}

int main(int argc, char **argv)
{
	int rcvbuf = 0;
	bool debug = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rcvbuf") == 0 && i + 1 < argc)
			rcvbuf = atoi(argv[++i]);
		else if (strcmp(argv[i], "--debug") == 0)
			debug = true;
		else {
			fprintf(stderr, "usage: %s [--rcvbuf BYTES] [--debug]\n", argv[0]);
			return 2;
		}
	}
	mp_log_init("linkmon_watch", false, debug ? MP_LOG_DEBUG : MP_LOG_INFO);
	struct ev_loop *loop = ev_default_loop(0);
	struct watch w = { 0 };
	w.lm = mp_linkmon_new(loop, on_link, &w);
	if (!w.lm) {
		fprintf(stderr, "linkmon_watch: %s\n", strerror(errno));
		return 1;
	}
	if (rcvbuf > 0 && mp_linkmon_set_rcvbuf(w.lm, rcvbuf) != 0) {
		fprintf(stderr, "linkmon_watch: rcvbuf: %s\n", strerror(errno));
		mp_linkmon_free(w.lm);
		return 1;
	}
	ev_signal_init(&w.sigterm, on_stop, SIGTERM);
	ev_signal_init(&w.sigint, on_stop, SIGINT);
	ev_signal_init(&w.sigusr1, on_usr1, SIGUSR1);
	ev_signal_start(loop, &w.sigterm);
	ev_signal_start(loop, &w.sigint);
	ev_signal_start(loop, &w.sigusr1);
	print_initial(w.lm);
	printf("# ready\n");
	fflush(stdout);
	ev_run(loop, 0);
	mp_linkmon_free(w.lm);
	ev_signal_stop(loop, &w.sigterm);
	ev_signal_stop(loop, &w.sigint);
	ev_signal_stop(loop, &w.sigusr1);
	ev_loop_destroy(loop);
	return 0;
}
