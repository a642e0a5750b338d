/* One iSCSI session (NIC or none, portal, target IQN) on the libev loop, shared by the LU paths of every LUN it carries. */
#ifndef MP_INITIATOR_SESSION_H
#define MP_INITIATOR_SESSION_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "initiator/chap.h"
#include "mpath/scsi_cmd.h"

/*
 * The iSCSI unit is the session to a target (the I_T nexus): it carries every LUN of the
 * target that the portal exposes. A session owns the libiscsi context, the login (CHAP),
 * liveness (NOP-Out, command deadlines), link events, reconnect with backoff and the ISID;
 * an LU's path (initiator/iscsi_path.h) is (session, LUN) and submits through it. A state
 * change of the session reaches every path on it at once.
 *
 * After every login, and after a command on it reports UNIT ATTENTION 3F/0E (REPORTED LUNS
 * DATA HAS CHANGED), the session scans its LUNs: REPORT LUNS (re-asked with a larger buffer
 * when the list is longer), then a standard INQUIRY of each LUN. The owner hears the
 * direct-access LUNs (peripheral qualifier 0, type 0) through luns_fn; other types are
 * logged once per session and LUN. Paths start their attach only after the scan.
 */

/*
 * Fill c with the CHAP credentials for the next login; c's strings need to stay valid only
 * until the call's caller returns to the loop (libiscsi copies them). Called before every
 * login, so a secret that changed (a reloaded secrets file) is used at the next one.
 * Returns 0, or -1 with why (never a secret) when there are no credentials to use.
 */
typedef int mp_iscsi_chap_fn(void *arg, struct mp_iscsi_chap *c, char *why, size_t n);

struct mp_iscsi_session;

/*
 * The LUN scan finished. ok: luns[0..n) are the direct-access LUNs the target reports now
 * (ascending). !ok: the scan failed (refused, malformed answer, transport error); why says
 * so, luns is NULL, and the owner keeps the LUN set it had. Called from the event loop,
 * never from inside a session function the owner called; the owner may add and free paths
 * of this session in it, but must not free the session.
 */
typedef void mp_iscsi_luns_fn(void *arg, struct mp_iscsi_session *s, bool ok, const uint32_t *luns, size_t n,
			      const char *why);

struct mp_iscsi_session_opts {
	const char *initiator_name;  /* our IQN */
	const char *target;          /* target IQN */
	const char *portal;          /* "HOST:PORT" or "[V6]:PORT" as libiscsi takes it */
	const char *iface;           /* NIC to bind to, or NULL */
	uint32_t id;                 /* the session's number for tools (SID) */
	uint8_t isid[6];             /* from mp_isid_derive(); stable across reconnects */
	uint32_t noop_interval_ms;   /* NOP-Out after this long without data from the target; 0 = off */
	uint32_t noop_timeout_ms;    /* no data for this long after a NOP-Out: the session is dead */
	uint32_t command_timeout_ms; /* a command older than this fails the session; 0 = no deadline */
	uint32_t login_timeout_ms;   /* connect + login + LUN scan must finish within this */
	uint32_t reconnect_max_ms;   /* reconnect backoff ceiling (it starts at 100 ms and doubles) */
	bool no_pdu_guard;           /* TEST ONLY: let libiscsi see the target's PDUs unchecked (shows what
	                              * the guard prevents: tests/e2e/t_76_hostile.sh) */
	bool no_nic_check;           /* TEST ONLY: connect even when the bound NIC does not exist (libiscsi
	                              * then logs in unbound: the bug tests/e2e/t_63_login.sh shows) */
	bool plain_close;            /* TEST ONLY: close sockets gracefully, so a dead connection's unsent
	                              * PDUs may still be delivered late (shows what the abortive close
	                              * prevents: tests/e2e/t_74_stale_write.sh) */
	mp_iscsi_chap_fn *chap;      /* CHAP credentials for each login; NULL = no authentication. A
				      * login refused for authentication is retried only after
				      * MP_ISCSI_AUTH_RETRY_S. */
	void *chap_arg;              /* for chap; must outlive the session */
	mp_iscsi_luns_fn *luns;      /* LUN scan results; required */
	void *luns_arg;
};

/* Defaults: NOP every 0.5 s of silence, 1 s to answer, 10 s command deadline, 3 s login, 1 s backoff cap. */
void mp_iscsi_session_opts_default(struct mp_iscsi_session_opts *o);

/* Create the session and start connecting. NULL with errno on failure. */
struct mp_iscsi_session *mp_iscsi_session_new(struct ev_loop *loop, const struct mp_iscsi_session_opts *o);
/* Close (abortively) and free. Every path of the session must have been freed first. */
void mp_iscsi_session_free(struct mp_iscsi_session *s);

/* Identity, for the owner's registry and for tools. */
uint32_t mp_iscsi_session_id(const struct mp_iscsi_session *s);
const char *mp_iscsi_session_target(const struct mp_iscsi_session *s);
const char *mp_iscsi_session_portal(const struct mp_iscsi_session *s);
const char *mp_iscsi_session_bound_iface(const struct mp_iscsi_session *s); /* "" if none */
/* "IFACE->HOST:PORT" or "HOST:PORT", for logs. */
const char *mp_iscsi_session_name(const struct mp_iscsi_session *s);
/* The NIC the session is bound to, or the one its last connection went out of; "" if unknown. */
const char *mp_iscsi_session_iface(const struct mp_iscsi_session *s);
/*
 * Who the session works for, e.g. "disk data" or "disks a, b and 14 more" (at most
 * MP_ISCSI_LABEL_MAX - 1 bytes kept): every log line about the session starts with it
 * ("disk data: session 3 eth1->198.18.1.2:3260: ..."), so that an operator sees which
 * disks a failing login or a lost session concerns. "" (the default): no prefix, and
 * login errors name the session by its number.
 */
#define MP_ISCSI_LABEL_MAX 192
void mp_iscsi_session_set_label(struct mp_iscsi_session *s, const char *label);
/* "LABEL: " or "" (no label): for the owner's own lines about the session. */
const char *mp_iscsi_session_tag(const struct mp_iscsi_session *s);
/* Number of LU paths on the session. */
size_t mp_iscsi_session_n_paths(const struct mp_iscsi_session *s);
/* Whether the last good scan listed lun as a disk; false (and *known false) before any. */
bool mp_iscsi_session_lists_lun(const struct mp_iscsi_session *s, uint32_t lun, bool *known);
/* Logged in and scanned: paths may attach and take I/O. */
bool mp_iscsi_session_ready(const struct mp_iscsi_session *s);

/* The NIC the session is bound to (or left through) went down (fail now) or came up (reconnect now). */
void mp_iscsi_session_link_event(struct mp_iscsi_session *s, bool up);
/* Drop the session (every path on it goes down); it reconnects after its backoff. */
void mp_iscsi_session_fail(struct mp_iscsi_session *s, const char *reason);
/* If waiting to reconnect, try now (an operator reinstated a path, or a disk lost its last path). */
void mp_iscsi_session_reinstate(struct mp_iscsi_session *s);
/* Scan the LUNs again (now if logged in; otherwise the next login scans anyway). */
void mp_iscsi_session_rescan(struct mp_iscsi_session *s);

/* Why the last failed attempt to log in failed (mpiscsiadm maps these to iscsiadm's exit statuses). */
enum mp_iscsi_login_fail {
	MP_LOGIN_FAIL_NONE = 0,   /* no attempt failed yet */
	MP_LOGIN_FAIL_CONNECT,    /* TCP connect failed (refused, unreachable); retried with backoff */
	MP_LOGIN_FAIL_TIMEOUT,    /* no login (or first LUN scan) within login_timeout; retried */
	MP_LOGIN_FAIL_LOST,       /* the connection broke during login or scan; retried */
	MP_LOGIN_FAIL_AUTH,       /* CHAP refused, or no credentials (status 0201/0202); held 30 s */
	MP_LOGIN_FAIL_NOT_FOUND,  /* login status 0203/0204: no such target at this portal */
	MP_LOGIN_FAIL_REJECTED,   /* any other login reject (status class 2 or 3) */
	MP_LOGIN_FAIL_NO_IFACE,   /* the NIC the session is bound to does not exist: never sent unbound */
};
/* Whether a failure of this kind will not go away by retrying soon (the target said no). */
bool mp_iscsi_login_fail_final(enum mp_iscsi_login_fail f);
/* "connect failed", "login timed out", ... */
const char *mp_iscsi_login_fail_name(enum mp_iscsi_login_fail f);
/* The login status (class << 8 | detail) in libiscsi's error text ("...Status: Text(515)"), or -1. */
int mp_iscsi_login_status(const char *libiscsi_error);

/* What tools show of a session (mpiscsiadm -m session). */
struct mp_iscsi_session_view {
	uint32_t id;
	const char *initiator;        /* borrowed from the session; valid while it lives */
	const char *target;
	const char *portal;
	const char *iface;            /* bound NIC, "" if none */
	const char *egress;           /* NIC the session left through, "" if unknown */
	uint8_t isid[6];
	const char *state;            /* "idle", "connecting", "login", "scan", "logged-in" */
	bool logged_in;
	double state_age_s;           /* seconds in this state */
	const char *last_error;       /* the last teardown's reason, "" if none */
	enum mp_iscsi_login_fail login_fail; /* the last failed login attempt's kind */
	const char *login_error;      /* its detail (libiscsi's or ours), "" if none */
	uint32_t failed_logins;       /* failed attempts since the session was created */
	uint32_t scans_reported;      /* LUN scans the owner was told of (luns_fn calls) */
	uint32_t logins;              /* successful logins since the session was created */
	size_t n_luns;                /* direct-access LUNs of the last scan */
	uint32_t noop_interval_ms, noop_timeout_ms, command_timeout_ms, login_timeout_ms, reconnect_max_ms;
	const char *header_digest;    /* what is offered at login */
	const char *chap_user;        /* "" without CHAP */
};
void mp_iscsi_session_view(const struct mp_iscsi_session *s, struct mp_iscsi_session_view *v);

/* ---- for initiator/iscsi_path.c only ---- */

struct mp_iscsi_path;
/* Register / unregister an LU path; a registered path hears session_up/down. */
void mp_iscsi_session_add_path(struct mp_iscsi_session *s, struct mp_iscsi_path *p);
void mp_iscsi_session_remove_path(struct mp_iscsi_session *s, struct mp_iscsi_path *p);
/*
 * Send cmd to LUN lun for path owner (NULL: the session's own). Contract of mp_path_ops
 * submit: 0 and cmd->done() exactly once later, or -1 with errno and no done().
 */
int mp_iscsi_session_submit(struct mp_iscsi_session *s, struct mp_iscsi_path *owner, uint32_t lun,
			    struct mp_scsi_cmd *cmd);
/* Commands of owner that libiscsi still holds. */
size_t mp_iscsi_session_inflight(const struct mp_iscsi_session *s, const struct mp_iscsi_path *owner);
struct ev_loop *mp_iscsi_session_loop(const struct mp_iscsi_session *s);

#endif
