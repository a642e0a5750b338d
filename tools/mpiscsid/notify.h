/* mpiscsid's service-manager notifications: readiness, STATUS lines, reload and stop. */
#ifndef MP_TOOLS_NOTIFY_H
#define MP_TOOLS_NOTIFY_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

struct daemon;

/*
 * READY=1 is sent on the loop's first turn: the control socket listens and every configured
 * target spec has started its sessions (their first logins are under way or done). It does not
 * mean the disks are exported: STATUS says how many are, and is sent again whenever that
 * changes (checked once a second).
 */
struct daemon_notifier {
	ev_timer timer;            /* first: the callback casts back */
	struct daemon *d;
	bool active;               /* NOTIFY_SOCKET was set at start */
	bool ready;                /* READY=1 was sent */
	char status[160];          /* the STATUS text last sent */
};

/* Arm the first-turn READY=1 and the STATUS updates; nothing at all when NOTIFY_SOCKET is unset. */
void daemon_notify_start(struct daemon_notifier *n, struct daemon *d);
/* STOPPING=1 and no more updates (call once the loop has ended). */
void daemon_notify_stop(struct daemon_notifier *n);
/* "N disk(s), M ready, NBD exports open" (or "... not open yet ..."): what STATUS says. */
void daemon_status_text(const struct daemon *d, char *buf, size_t len);
/* Send state to the service manager; a failure is logged, as a warning the first time a process
 * sees one. Returns what mp_sd_notify returns. */
int daemon_notify_send(const char *state);

#endif
