/* mpiscsid's control socket: serves the ctl_proto protocol to mpiscsiadm on the daemon's libev loop. */
#ifndef MP_TOOLS_CTL_SERVER_H
#define MP_TOOLS_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <ev.h>

struct mp_lu;
struct mp_ctl;
struct mp_path;
struct mp_iscsi_session_view;

/*
 * How the server reads the daemon's disks without knowing its structs. Disks
 * are indexed 0..n_disks()-1; the index of a disk must not change while the
 * server runs. disk_lu may return NULL for a disk without an LU yet;
 * disk_export may return NULL (not exported). Strings and LUs are only
 * borrowed for the duration of one request.
 */
/* One LU path on a session, for -m session -P 3. */
struct mp_ctl_session_lun {
	uint32_t lun;
	uint32_t path_id;
	const char *disk, *export_name;   /* borrowed: valid during the call's caller */
	const char *path_state;           /* the core's: "up", "down", ... */
	const struct mp_lu_info *info;    /* NULL until the disk attached */
};

/* Where one path leads, for path objects: borrowed strings, valid during the request. */
struct mp_ctl_path_where {
	const char *target;               /* target IQN */
	const char *portal;               /* "HOST:PORT" */
	uint32_t lun;
};

/* What a reload did, by target section (reconfigure's JSON reply). */
struct mp_ctl_reload_counts {
	unsigned added, removed, changed, unchanged, failed;
};

/*
 * A reply given later. node-login answers once the login has an outcome: the model takes the
 * request's later (returns 1) and calls mp_ctl_later_login_done() exactly once, from the loop,
 * by its own deadline. Meanwhile the client's connection waits (nothing more is read from it,
 * the stall and idle timeouts do not apply); a client that goes away does not cancel the
 * login (its outcome is then dropped). mp_ctl_free() calls the cancel function of every later
 * not answered yet (the model then drops its wait without calling done).
 */
struct mp_ctl_later;

/* One session (NIC, portal) of a node login: err 0 logged in, else errno and why. */
struct mp_ctl_login_session {
	const char *iface;               /* "" when unbound */
	const char *portal;              /* "HOST:PORT" */
	int err;
	const char *error;               /* NULL when err is 0 */
};
/* One LUN the login brought: the disk it became. */
struct mp_ctl_login_disk {
	uint32_t lun;
	const char *disk, *export_name;
	const char *device;              /* "/dev/nbdN", "" if none */
	const char *state;               /* "attached" or "refused" (a path the disk's identity refused) */
};
/* A login's outcome: err 0 when every session logged in and its LUNs attached. */
struct mp_ctl_login_result {
	int err;
	const char *message;             /* the summary; on failure the reason per portal */
	const struct mp_ctl_login_session *sessions;
	size_t n_sessions;
	const struct mp_ctl_login_disk *disks;
	size_t n_disks;
};
/* Answer a deferred node-login (strings are copied); frees l. */
void mp_ctl_later_login_done(struct mp_ctl_later *l, const struct mp_ctl_login_result *r);
void mp_ctl_later_set_cancel(struct mp_ctl_later *l, void (*cancel)(void *arg), void *arg);

struct mp_ctl_model {
	void *arg;
	size_t (*n_disks)(void *arg);
	struct mp_lu *(*disk_lu)(void *arg, size_t i);
	const char *(*disk_name)(void *arg, size_t i);
	const char *(*disk_export)(void *arg, size_t i);
	/* Optional: the kernel block device(s) of disk i ("/dev/nbd0"), "" if none; at most n bytes. */
	void (*disk_device)(void *arg, size_t i, char *buf, size_t n);
	/* Optional (NULL: the command answers ENOSYS). Each returns 0, or -1 with errno set and a
	 * message in msg. */
	/* The daemon's iSCSI sessions: how many, session i's view, and the LU paths on it. */
	size_t (*n_sessions)(void *arg);
	bool (*session)(void *arg, size_t i, struct mp_iscsi_session_view *v);
	size_t (*session_luns)(void *arg, size_t i, struct mp_ctl_session_lun *out, size_t max);
	/* Write the running configuration as mpiscsi.conf text (never a secret). */
	int (*config_text)(void *arg, FILE *f);
	const char *(*config_file)(void *arg);
	/* Reload; msg gets the summary, or the configuration error (FILE:LINE: ...); counts (never
	 * NULL) what changed on success. */
	int (*reconfigure)(void *arg, struct mp_ctl_reload_counts *counts, char *msg, size_t len);
	/* Optional: fill *out for path p of disk i; false when the path is not the daemon's. */
	bool (*path_where)(void *arg, size_t i, const struct mp_path *p, struct mp_ctl_path_where *out);
	/* lun < 0: every LUN the target reports; iface NULL: the target's NICs (or none). Returns
	 * -1 (refused now: errno, msg) or 1: later taken, answered within timeout_s (+ 1 s). */
	int (*node_login)(void *arg, const char *target, const char *portal, int64_t lun, const char *iface,
			  double timeout_s, struct mp_ctl_later *later, char *msg, size_t len);
	/* portal NULL: every portal; lun < 0: every LUN; iface NULL: every NIC. */
	int (*node_logout)(void *arg, const char *target, const char *portal, int64_t lun, const char *iface,
			   char *msg, size_t len);
};

/*
 * Contract
 * - Everything runs on the loop given to mp_ctl_new(); nothing blocks, nothing
 *   is thread-safe. Requests are handled synchronously from the loop: each
 *   reply is built completely before anything else runs, except node-login's,
 *   which comes later (struct mp_ctl_later above) while the loop goes on.
 * - Limits: MP_CTL_MAX_CLIENTS connections; of those at most MP_CTL_MAX_PENDING
 *   "pending" ones, that have not sent a complete first request yet. A newcomer
 *   that finds the pending budget full, or every slot taken while some client is
 *   pending, takes the place of the OLDEST pending client, which is closed
 *   (connections that never send a byte cannot lock mpiscsiadm out; a client with
 *   a request in progress, or past its first one, is never closed for a newcomer).
 *   With every slot held by non-pending clients a newcomer is sent an EBUSY error
 *   reply and closed. Per client one MP_CTL_MAX_REQUEST input buffer and at
 *   most one reply (MP_CTL_MAX_REPLY) waiting to be sent. While a reply waits,
 *   the server reads nothing more from that client (pipelined requests wait in
 *   the socket), so a client that does not read only ever costs its own slot.
 * - A line that is not a valid request gets an error reply and the connection
 *   goes on (the newline resynchronises the stream). A line longer than
 *   MP_CTL_MAX_REQUEST gets an EMSGSIZE error reply and the connection is
 *   closed once the reply is sent.
 * - Timeouts: a pending client that has not sent its first complete request
 *   MP_CTL_PENDING_TIMEOUT seconds after accept is closed; later, a client with a
 *   partial request or an unsent reply that makes no progress for
 *   MP_CTL_STALL_TIMEOUT seconds is closed; an idle client is closed after
 *   MP_CTL_IDLE_TIMEOUT seconds.
 * - Peer closing its sending side (shutdown(SHUT_WR)) is fine: buffered
 *   requests, including a last one without a newline, are answered first.
 */
#define MP_CTL_MAX_CLIENTS   16u
/* mpiscsiadm writes its request right after connect(), so a legitimate client is pending for
 * microseconds: 8 covers several tools connecting at once and leaves half of the default
 * table to clients with requests in progress. */
#define MP_CTL_MAX_PENDING   8u
#define MP_CTL_PENDING_TIMEOUT 5.0
#define MP_CTL_EVICT_LOG_INTERVAL 10.0  /* at most one line about evictions this often */
/* Test hook, read once by mp_ctl_new(): with it set, pending clients are never evicted. */
#define MP_CTL_TEST_NO_BUDGET_ENV "MPISCSI_TEST_NO_HANDSHAKE_BUDGET"
#define MP_CTL_STALL_TIMEOUT 30.0
#define MP_CTL_IDLE_TIMEOUT  300.0

/*
 * Listen on the Unix socket path: its parent directory is created (0755) if
 * missing; an existing socket there is removed only if nothing answers on it
 * (EADDRINUSE if something does; any other kind of file there is EEXIST); the
 * socket gets mode 0600. model is copied; model->arg and the LUs it returns
 * must outlive the server. Returns NULL with errno set and a message in err.
 */
struct mp_ctl *mp_ctl_new(struct ev_loop *loop, const char *path, const struct mp_ctl_model *model,
			  char *err, size_t errlen);

/* At most n clients at once (0: MP_CTL_MAX_CLIENTS); one more gets an EBUSY reply and is closed. */
void mp_ctl_set_max_clients(struct mp_ctl *ctl, unsigned n);

/* At most n pending clients (no complete request yet) at once (0: MP_CTL_MAX_PENDING); a newcomer
 * beyond that closes the oldest pending one. */
void mp_ctl_set_max_pending(struct mp_ctl *ctl, unsigned n);

/* Connected clients, for tests; of those, the pending ones; pending clients closed for newcomers. */
unsigned mp_ctl_client_count(const struct mp_ctl *ctl);
unsigned mp_ctl_pending_count(const struct mp_ctl *ctl);
uint64_t mp_ctl_evictions(const struct mp_ctl *ctl);

/* Close every client, stop listening, unlink the socket (if it is still ours), free. NULL is fine. */
void mp_ctl_free(struct mp_ctl *ctl);

#endif
