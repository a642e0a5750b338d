/* mpiscsid's service-manager notifications: READY=1 on the loop's first turn, STATUS as disks attach, STOPPING=1. */
#include "tools/mpiscsid/notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/sd_notify.h"
#include "tools/mpiscsid/daemon.h"

/* How often the STATUS text is recomputed (it is sent only when it changed). */
#define STATUS_PERIOD_S 1.0

void daemon_status_text(const struct daemon *d, char *buf, size_t len)
{
	size_t ready = 0;
	for (size_t i = 0; i < d->n_disks; i++)
		ready += d->disks[i]->exported;
	snprintf(buf, len, "%zu disk(s), %zu ready, NBD exports %s", d->n_disks, ready,
		 d->listening ? "open" : "not open yet");
}

int daemon_notify_send(const char *state)
{
	/* Only the event-loop thread calls this; the flag just keeps a broken socket from
	 * filling the log with one warning a second. */
	static bool warned;
	int r = mp_sd_notify(state);
	if (r < 0) {
		int e = errno;
		if (!warned)
			mp_warn("service manager notification to NOTIFY_SOCKET=%s failed: %s", getenv("NOTIFY_SOCKET"),
				strerror(e));
		else
			mp_debug("service manager notification failed: %s", strerror(e));
		warned = true;
		errno = e;
	}
	return r;
}

static void notify_tick(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct daemon_notifier *n = (struct daemon_notifier *)w;
	char status[sizeof(n->status)], msg[sizeof(n->status) + 32];

	daemon_status_text(n->d, status, sizeof(status));
	if (n->ready && strcmp(status, n->status) == 0)
		return;
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", n->ready ? "" : "READY=1\n", status);
	if (daemon_notify_send(msg) >= 0) {
		if (!n->ready)
			mp_info("service manager told: ready (%s)", status);
		n->ready = true;
		snprintf(n->status, sizeof(n->status), "%s", status);
	}
}

void daemon_notify_start(struct daemon_notifier *n, struct daemon *d)
{
	const char *s = getenv("NOTIFY_SOCKET");
	memset(n, 0, sizeof(*n));
	n->d = d;
	if (!s || !s[0])
		return;
	n->active = true;
	/* 0 s: fires on the loop's first turn, after everything main() started before ev_run. */
	ev_timer_init(&n->timer, notify_tick, 0., STATUS_PERIOD_S);
	ev_timer_start(d->loop, &n->timer);
}

void daemon_notify_stop(struct daemon_notifier *n)
{
	if (!n->active)
		return;
	ev_timer_stop(n->d->loop, &n->timer);
	n->active = false;
	daemon_notify_send("STOPPING=1\nSTATUS=shutting down");
}
