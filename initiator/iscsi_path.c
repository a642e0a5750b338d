/* A libiscsi session on the libev loop as an mp_path: connect, login, attach, submit, teardown, reconnect. */
#include "initiator/iscsi_path.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "initiator/attach.h"

#define RECONNECT_MIN_MS 100
/* The watchdog's period: NOP-Out, command deadlines and login deadline are checked this often. */
#define WATCHDOG_S 0.1
/* Re-check of a path refused because it led to another LU. */
#define REFUSED_RETRY_S 5.0
/* While a path waits out MP_ISCSI_AUTH_RETRY_S after a failed CHAP login, a reinstate (the
 * operator's, or the core's when the disk has no usable path left) logs in early only if
 * the last attempt is at least this old: paths of one disk that all fail authentication
 * would otherwise reinstate each other in a loop. */
#define AUTH_REINSTATE_MIN_S 5.0

/* Where the session is; the core's view is path.state. */
enum sess_state {
	SESS_IDLE = 0,   /* no context: waiting for the reconnect timer */
	SESS_CONNECTING, /* TCP connect in progress */
	SESS_LOGIN,      /* iSCSI login in progress */
	SESS_ATTACH,     /* logged in, reading the LU's identity */
	SESS_FULL,       /* joined the LU, takes I/O */
	SESS_REFUSED,    /* the LU behind this path is not the disk's: torn down, re-checked every 5 s */
};

/*
 * One command in flight. The libiscsi task is the first member so that
 * scsi_free_scsi_task(), which frees the task's own allocations and then the
 * task pointer, releases the whole struct in one place.
 */
struct itask {
	struct scsi_task task;
	struct mp_scsi_cmd *cmd;
	struct mp_iscsi_path *p;
	struct itask *prev, *next;
	struct iscsi_data out;
	ev_tstamp start;         /* when it was handed to libiscsi, for the command deadline */
	bool completed_in_submit; /* libiscsi called back from inside iscsi_scsi_command_async */
	enum mp_xport xport;      /* how libiscsi ended it, if it did so before our teardown */
};

struct mp_iscsi_path {
	ev_io io;                /* first: callbacks cast back */
	ev_prepare prep;         /* recomputes the poll mask before each loop iteration */
	ev_timer watchdog;       /* NOP-Out keepalive, command and login deadlines */
	ev_timer retry;          /* reconnect backoff, and deferred teardown (0 s) */
	struct ev_loop *loop;
	struct mp_path path;
	struct iscsi_context *ctx;
	enum sess_state st;
	bool teardown_pending;
	char teardown_reason[160];
	char last_reason[160];   /* the previous teardown's reason, to log repeats once */
	struct mp_attach *attach;
	struct itask *inflight;  /* doubly linked list of commands libiscsi holds */
	uint32_t backoff_ms;
	uint32_t isid_rnd;
	uint16_t isid_qual;
	char initiator[224], target[224], portal[280], iface[16];
	uint32_t lun;
	struct mp_iscsi_path_opts o; /* timeouts; string members are not used after creation */
	ev_tstamp state_since;   /* when st last changed */
	ev_tstamp last_rx;       /* last time the target sent us anything */
	ev_tstamp nop_sent;
	bool nop_outstanding;
	bool link_down;          /* our NIC is down: no point reconnecting until it is up */
	bool in_submit;          /* inside iscsi_scsi_command_async: callbacks must not complete */
	char egress[16];         /* NIC the session's socket uses (the bound one, or found at login) */
	bool auth_hold;          /* the last login failed CHAP authentication: next one after
				    MP_ISCSI_AUTH_RETRY_S (see AUTH_REINSTATE_MIN_S) */
	ev_tstamp auth_failed_at;
};

static const struct mp_path_ops iscsi_path_ops;
static void start_connect(struct mp_iscsi_path *p);

static struct mp_iscsi_path *from_path(struct mp_path *path)
{
	return mp_container_of(path, struct mp_iscsi_path, path);
}

struct mp_path *mp_iscsi_path_core(struct mp_iscsi_path *p) { return &p->path; }

/* FNV-1a: a stable small hash, so the ISID survives restarts of the daemon too. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

uint16_t mp_iscsi_isid_qualifier(const char *iface, const char *portal)
{
	uint32_t h = fnv1a(fnv1a(2166136261u, iface ? iface : ""), portal);
	return (uint16_t)(h ^ (h >> 16));
}

static void libiscsi_log(int level, const char *msg)
{
	mp_debug("libiscsi[%d]: %s", level, msg);
}

/* The NIC that owns the connected socket's local address, so link events reach unbound paths too. */
static void find_egress(struct mp_iscsi_path *p)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct ifaddrs *ifa, *i;

	snprintf(p->egress, sizeof(p->egress), "%s", p->iface);
	if (p->iface[0] || !p->ctx || getsockname(iscsi_get_fd(p->ctx), (struct sockaddr *)&local, &len) != 0 ||
	    getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != local.ss_family)
			continue;
		bool same = false;
		if (local.ss_family == AF_INET)
			same = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
			       ((struct sockaddr_in *)&local)->sin_addr.s_addr;
		else if (local.ss_family == AF_INET6)
			same = memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				      &((struct sockaddr_in6 *)&local)->sin6_addr, sizeof(struct in6_addr)) == 0;
		if (same) {
			snprintf(p->egress, sizeof(p->egress), "%s", i->ifa_name);
			break;
		}
	}
	freeifaddrs(ifa);
}

static void set_st(struct mp_iscsi_path *p, enum sess_state st)
{
	p->st = st;
	p->state_since = ev_now(p->loop);
	if (st == SESS_FULL) {
		find_egress(p);
		p->last_rx = p->state_since;
		p->nop_outstanding = false;
	}
}

/* ---- event loop glue ---- */

static void io_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents);

static void schedule_teardown(struct mp_iscsi_path *p, const char *reason);

static void prep_cb(struct ev_loop *loop, ev_prepare *w, int revents MP_UNUSED)
{
	struct mp_iscsi_path *p = mp_container_of(w, struct mp_iscsi_path, prep);
	int fd = p->ctx ? iscsi_get_fd(p->ctx) : -1;
	int want = 0;
	if (fd >= 0 && !p->teardown_pending) {
		int ev = iscsi_which_events(p->ctx);
		if (ev & POLLIN)
			want |= EV_READ;
		if (ev & POLLOUT)
			want |= EV_WRITE;
	}
	if (fd == p->io.fd && want == (p->io.events & (EV_READ | EV_WRITE)) && ev_is_active(&p->io) == (want != 0))
		return;
	ev_io_stop(loop, &p->io);
	if (fd >= 0 && want) {
		ev_io_set(&p->io, fd, want);
		ev_io_start(loop, &p->io);
	}
}

static void io_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents)
{
	struct mp_iscsi_path *p = (struct mp_iscsi_path *)w;
	int pev = 0;
	if (revents & EV_READ) {
		pev |= POLLIN;
		p->last_rx = ev_now(p->loop);
	}
	if (revents & EV_WRITE)
		pev |= POLLOUT;
	if (p->ctx && iscsi_service(p->ctx, pev) < 0)
		schedule_teardown(p, iscsi_get_error(p->ctx));
}

static void nop_cb(struct iscsi_context *ctx MP_UNUSED, int status MP_UNUSED, void *command_data MP_UNUSED,
		   void *private_data)
{
	struct mp_iscsi_path *p = private_data;
	p->nop_outstanding = false;
}

/* The oldest command libiscsi holds (the list is newest first). */
static const struct itask *oldest_task(const struct mp_iscsi_path *p)
{
	const struct itask *t = p->inflight;
	while (t && t->next)
		t = t->next;
	return t;
}

/*
 * Silent path loss shows as silence: after noop_interval without any data from
 * the target, send a NOP-Out; if nothing at all arrives for noop_timeout after
 * that (a NOP-In may legitimately queue behind data on a slow link, so any data
 * counts), the path is dead. A command older than command_timeout also fails the
 * path, and so does a login that takes longer than login_timeout.
 */
static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_iscsi_path *p = mp_container_of(w, struct mp_iscsi_path, watchdog);
	ev_tstamp now = ev_now(loop);
	char why[128];

	if (!p->ctx || p->teardown_pending)
		return;
	if (p->st == SESS_CONNECTING || p->st == SESS_LOGIN || p->st == SESS_ATTACH) {
		if ((now - p->state_since) * 1000 >= p->o.login_timeout_ms) {
			snprintf(why, sizeof(why), "no login within %u ms", p->o.login_timeout_ms);
			schedule_teardown(p, why);
		}
		return;
	}
	if (p->st != SESS_FULL)
		return;
	if (p->o.noop_interval_ms) {
		double silent_ms = (now - p->last_rx) * 1000;
		if (p->nop_outstanding) {
			if (silent_ms >= p->o.noop_timeout_ms && (now - p->nop_sent) * 1000 >= p->o.noop_timeout_ms) {
				snprintf(why, sizeof(why), "no answer to NOP-Out within %u ms", p->o.noop_timeout_ms);
				schedule_teardown(p, why);
				return;
			}
		} else if (silent_ms >= p->o.noop_interval_ms) {
			if (iscsi_nop_out_async(p->ctx, nop_cb, NULL, 0, p) == 0) {
				p->nop_outstanding = true;
				p->nop_sent = now;
			}
		}
	}
	const struct itask *t = oldest_task(p);
	if (p->o.command_timeout_ms && t && (now - t->start) * 1000 >= p->o.command_timeout_ms) {
		snprintf(why, sizeof(why), "command 0x%02x unanswered for %u ms", t->task.cdb[0],
			 p->o.command_timeout_ms);
		schedule_teardown(p, why);
	}
}

/* ---- commands ---- */

static void task_complete(struct itask *t, enum mp_xport xport)
{
	struct mp_iscsi_path *p = t->p;
	struct mp_scsi_cmd *cmd = t->cmd;
	struct mp_scsi_result res = { .xport = xport };

	/* Unlink first: completion may submit new commands to this path. */
	if (t->prev)
		t->prev->next = t->next;
	else
		p->inflight = t->next;
	if (t->next)
		t->next->prev = t->prev;

	if (xport == MP_XPORT_OK) {
		res.status = (uint8_t)t->task.status;
		if (t->task.residual_status == SCSI_RESIDUAL_UNDERFLOW)
			res.residual = (uint32_t)MP_MIN(t->task.residual, (size_t)cmd->len);
		if (t->task.status == SCSI_STATUS_CHECK_CONDITION && t->task.datain.data &&
		    t->task.datain.size > 2) {
			/* libiscsi leaves the response's sense segment, 2-byte length first, in datain. */
			size_t n = MP_MIN((size_t)mp_be16(t->task.datain.data), (size_t)t->task.datain.size - 2);
			n = MP_MIN(n, sizeof(res.sense));
			memcpy(res.sense, t->task.datain.data + 2, n);
			res.sense_len = (uint8_t)n;
		}
	}
	/* Everything needed is copied: free the task in this one place, then complete. */
	scsi_free_scsi_task(&t->task);
	cmd->done(cmd, &res);
}

static void task_cb(struct iscsi_context *ctx MP_UNUSED, int status, void *command_data MP_UNUSED,
		    void *private_data)
{
	struct itask *t = private_data;
	struct mp_iscsi_path *p = t->p;
	/*
	 * On a broken connection libiscsi may call back from inside
	 * iscsi_scsi_command_async. Completing there would re-issue the command from
	 * inside our own submit, possibly to this same path, recursively: instead the
	 * submit is turned into a refusal (see path_submit).
	 */
	if (p->in_submit) {
		t->completed_in_submit = true;
		schedule_teardown(p, "connection failed while sending a command");
		return;
	}
	switch (status) {
	case SCSI_STATUS_CANCELLED:
	case SCSI_STATUS_TIMEOUT:
	case SCSI_STATUS_ERROR:
		if (!p->ctx) {
			/* Our own teardown: the socket is closed already. */
			task_complete(t, MP_XPORT_CANCELLED);
			break;
		}
		/* The connection broke under libiscsi, and its socket may still hold this
		 * command's PDUs. The command stays on our list and is completed (and so
		 * re-issued elsewhere) only by the teardown, after the socket is closed
		 * abortively: never while a copy of a WRITE could still leave this host. */
		t->xport = status == SCSI_STATUS_TIMEOUT ? MP_XPORT_TIMEOUT
			   : status == SCSI_STATUS_ERROR ? MP_XPORT_ERROR : MP_XPORT_CANCELLED;
		schedule_teardown(p, status == SCSI_STATUS_TIMEOUT ? "command timed out"
				     : status == SCSI_STATUS_ERROR ? "transport error"
				     : "connection failed, commands cancelled");
		break;
	default:
		task_complete(t, MP_XPORT_OK);
		break;
	}
}

static int path_submit(struct mp_path *path, struct mp_scsi_cmd *cmd)
{
	struct mp_iscsi_path *p = from_path(path);
	if (!p->ctx || p->teardown_pending || (p->st != SESS_FULL && p->st != SESS_ATTACH)) {
		errno = ENOTCONN;
		return -1;
	}
	struct itask *t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return -1;
	}
	t->p = p;
	t->cmd = cmd;
	t->task.cdb_size = cmd->cdb_len;
	memcpy(t->task.cdb, cmd->cdb, cmd->cdb_len);
	t->task.expxferlen = (int)cmd->len;
	struct iscsi_data *out = NULL;
	switch (cmd->dir) {
	case MP_DIR_NONE:
		t->task.xfer_dir = SCSI_XFER_NONE;
		t->task.expxferlen = 0;
		break;
	case MP_DIR_READ:
		t->task.xfer_dir = SCSI_XFER_READ;
		break;
	case MP_DIR_WRITE:
		t->task.xfer_dir = SCSI_XFER_WRITE;
		t->out.size = cmd->len;
		t->out.data = cmd->buf;
		out = &t->out;
		break;
	}
	/* Reads land straight in the caller's buffer, no copy. */
	if (cmd->dir == MP_DIR_READ && cmd->len &&
	    scsi_task_add_data_in_buffer(&t->task, (int)cmd->len, cmd->buf) != 0) {
		scsi_free_scsi_task(&t->task);
		errno = ENOMEM;
		return -1;
	}
	p->in_submit = true;
	int rc = iscsi_scsi_command_async(p->ctx, (int)p->lun, &t->task, task_cb, out, t);
	p->in_submit = false;
	if (rc != 0 || t->completed_in_submit) {
		mp_debug("path %s: submit failed: %s", path->name, iscsi_get_error(p->ctx));
		scsi_free_scsi_task(&t->task);
		errno = ENOTCONN;
		return -1;
	}
	t->start = ev_now(p->loop);
	t->next = p->inflight;
	if (t->next)
		t->next->prev = t;
	p->inflight = t;
	return 0;
}

/* ---- session lifecycle ---- */

/*
 * Every close of a session socket is abortive (SO_LINGER 0: RST, send queue
 * dropped). A plain close() leaves unacknowledged PDUs in the kernel, which
 * keeps retransmitting them after we have given up on the path: a WRITE we
 * re-issued elsewhere (and possibly overwrote since) would land a second
 * time, late, once the path heals. With an abortive close nothing of the old
 * connection leaves this host after the teardown, and the teardown happens
 * before its commands are completed for re-issue (see destroy_context).
 */
static void set_abortive_close(struct iscsi_context *ctx)
{
	int fd = iscsi_get_fd(ctx);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0)
		mp_warn("SO_LINGER on iSCSI socket: %s", strerror(errno));
}

static void destroy_context(struct mp_iscsi_path *p)
{
	if (p->attach) {
		mp_attach_cancel(p->attach);
		p->attach = NULL;
	}
	if (p->ctx) {
		struct iscsi_context *ctx = p->ctx;
		p->ctx = NULL;
		/* libiscsi closes the socket first (abortively: SO_LINGER 0 was set when it was
		 * created, see start_connect), then completes queued commands CANCELLED; our
		 * callback completes them. */
		iscsi_destroy_context(ctx);
	}
	/* Anything libiscsi did not call back for is completed CANCELLED now: exactly once either way. */
	while (p->inflight)
		task_complete(p->inflight, p->inflight->xport != MP_XPORT_OK ? p->inflight->xport
									     : MP_XPORT_CANCELLED);
	ev_io_stop(p->loop, &p->io);
	ev_io_set(&p->io, -1, 0);
}

static void retry_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_iscsi_path *p = mp_container_of(w, struct mp_iscsi_path, retry);
	if (p->teardown_pending) {
		p->teardown_pending = false;
		/* A lost session is news; a reconnect attempt that fails again is news only when the
		 * reason changes (no log line per attempt during a long outage). */
		if (p->st == SESS_FULL)
			mp_warn("path %s: session lost: %s; reconnecting", p->path.name, p->teardown_reason);
		else if (!p->auth_hold && strcmp(p->last_reason, p->teardown_reason) != 0)
			mp_info("path %s: reconnect failed: %s; retrying every <= %u ms", p->path.name,
				p->teardown_reason, MP_MAX(p->o.reconnect_max_ms, RECONNECT_MIN_MS));
		snprintf(p->last_reason, sizeof(p->last_reason), "%s", p->teardown_reason);
		destroy_context(p);
		/* A path that led to another LU is checked again, but slowly: the target may be
		 * reconfigured back. It stays failed until an attach shows the disk's own LU. */
		double delay = p->st == SESS_REFUSED ? REFUSED_RETRY_S
			       : p->auth_hold ? MP_ISCSI_AUTH_RETRY_S : p->backoff_ms / 1000.0;
		set_st(p, SESS_IDLE);
		ev_timer_set(&p->retry, delay, 0.);
		ev_timer_start(p->loop, &p->retry);
		p->backoff_ms = MP_MIN(p->backoff_ms * 2, MP_MAX(p->o.reconnect_max_ms, RECONNECT_MIN_MS));
		return;
	}
	start_connect(p);
}

/*
 * The session failed. The core stops using the path now; the context is torn
 * down from a zero timer, never from inside a libiscsi callback.
 */
static void schedule_teardown(struct mp_iscsi_path *p, const char *reason)
{
	if (p->teardown_pending)
		return;
	p->teardown_pending = true;
	snprintf(p->teardown_reason, sizeof(p->teardown_reason), "%s", reason ? reason : "unknown");
	if (p->path.lu && p->path.state != MP_PATH_FAILED)
		mp_lu_path_down(p->path.lu, &p->path, p->teardown_reason);
	ev_timer_stop(p->loop, &p->retry);
	ev_timer_set(&p->retry, 0., 0.);
	ev_timer_start(p->loop, &p->retry);
}

static void attach_done(void *arg, int err, const struct mp_lu_info *info, const char *msg)
{
	struct mp_iscsi_path *p = arg;
	char why[600];
	p->attach = NULL;
	if (err) {
		mp_err("path %s: attach failed: %s", p->path.name, msg ? msg : strerror(err));
		schedule_teardown(p, "attach failed");
		return;
	}
	if (mp_lu_path_attached(p->path.lu, &p->path, info, why, sizeof(why)) != 0) {
		mp_err("%s", why);
		set_st(p, SESS_REFUSED);
		p->path.state = MP_PATH_FAILED;
		schedule_teardown(p, "LU identity differs");
		return;
	}
	set_st(p, SESS_FULL);
	p->backoff_ms = RECONNECT_MIN_MS;
	p->last_reason[0] = '\0';
}

/*
 * No login for MP_ISCSI_AUTH_RETRY_S: credentials that failed once fail again, and quick
 * retries could get the account locked out on the target. One error line per attempt.
 */
static void auth_failed(struct mp_iscsi_path *p, const char *what, const char *hint, const char *detail)
{
	mp_err("disk %s: target %s, portal %s%s%s: %s (%s): %s; next login in %.0f s",
	       p->path.lu ? mp_lu_name(p->path.lu) : "?", p->target, p->portal, p->iface[0] ? " via " : "",
	       p->iface, what, hint, detail, MP_ISCSI_AUTH_RETRY_S);
	p->auth_hold = true;
	p->auth_failed_at = ev_now(p->loop);
	schedule_teardown(p, what);
}

static void login_cb(struct iscsi_context *ctx, int status, void *command_data MP_UNUSED, void *private_data)
{
	struct mp_iscsi_path *p = private_data;
	if (status != SCSI_STATUS_GOOD) {
		enum mp_iscsi_auth_fail af = mp_iscsi_auth_failure(iscsi_get_error(ctx));
		if (af == MP_AUTH_FAIL_REFUSED)
			auth_failed(p, mp_iscsi_auth_fail_text(af), p->o.chap ? "check chap_user/secret"
				    : "the target wants CHAP: set auth, chap_user and its secret", iscsi_get_error(ctx));
		else if (af == MP_AUTH_FAIL_MUTUAL)
			auth_failed(p, mp_iscsi_auth_fail_text(af), "check chap_mutual_user/secret",
				    iscsi_get_error(ctx));
		else
			mp_err("path %s: login to %s failed: %s", p->path.name, p->target, iscsi_get_error(ctx));
		schedule_teardown(p, "login failed");
		return;
	}
	p->auth_hold = false;
	mp_info("path %s: logged in to %s", p->path.name, p->target);
	set_st(p, SESS_ATTACH);
	p->path.state = MP_PATH_ATTACHING;
	p->attach = mp_attach_start(&p->path, NULL, attach_done, p);
	if (!p->attach)
		schedule_teardown(p, "cannot start attach");
}

static void connect_cb(struct iscsi_context *ctx, int status, void *command_data MP_UNUSED, void *private_data)
{
	struct mp_iscsi_path *p = private_data;
	if (status != SCSI_STATUS_GOOD) {
		/* Either the connect failed, or (second call) an established connection went away. */
		schedule_teardown(p, p->st == SESS_CONNECTING ? "connect failed" : iscsi_get_error(ctx));
		return;
	}
	if (p->st != SESS_CONNECTING)
		return;
	set_st(p, SESS_LOGIN);
	if (iscsi_login_async(ctx, login_cb, p) != 0)
		schedule_teardown(p, iscsi_get_error(ctx));
}

static void start_connect(struct mp_iscsi_path *p)
{
	struct iscsi_context *ctx = iscsi_create_context(p->initiator);
	if (!ctx) {
		schedule_teardown(p, "cannot create iSCSI context");
		return;
	}
	p->ctx = ctx;
	iscsi_set_log_fn(ctx, libiscsi_log);
	iscsi_set_log_level(ctx, mp_log_get_level() >= MP_LOG_DEBUG ? 2 : 0);
	iscsi_set_targetname(ctx, p->target);
	if (p->o.chap) {
		/* Fetched for every login, so that a changed secret is used at the next one. */
		struct mp_iscsi_chap c = { 0 };
		char why[256] = "";
		if (p->o.chap(p->o.chap_arg, &c, why, sizeof(why)) != 0 || mp_iscsi_chap_apply(ctx, &c) != 0) {
			auth_failed(p, "no CHAP credentials", "check the secrets file",
				    why[0] ? why : "a CHAP name or secret is empty or longer than 255 bytes");
			return;
		}
	}
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_noautoreconnect(ctx, 1);
	/* The same ISID on every reconnect keeps the I_T nexus (and reservations) across failures. */
	iscsi_set_isid_random(ctx, p->isid_rnd, p->isid_qual);
	if (p->iface[0])
		iscsi_set_bind_interfaces(ctx, p->iface);
	set_st(p, SESS_CONNECTING);
	if (iscsi_connect_async(ctx, p->portal, connect_cb, p) != 0)
		schedule_teardown(p, iscsi_get_error(ctx));
	else if (!p->o.plain_close)
		set_abortive_close(ctx); /* also covers closes libiscsi makes on its own */
}

static void path_fail(struct mp_path *path, const char *reason)
{
	schedule_teardown(from_path(path), reason);
}

/* Reconnect now if the path is waiting to (after a failure or a refusal). */
/* After a failed CHAP login, an early login again only when the last try is AUTH_REINSTATE_MIN_S old. */
static bool auth_too_soon(const struct mp_iscsi_path *p)
{
	return p->auth_hold && ev_now(p->loop) - p->auth_failed_at < AUTH_REINSTATE_MIN_S;
}

static void path_reinstate(struct mp_path *path)
{
	struct mp_iscsi_path *p = from_path(path);
	if (p->st != SESS_IDLE || p->teardown_pending || auth_too_soon(p))
		return;
	p->backoff_ms = RECONNECT_MIN_MS;
	ev_timer_stop(p->loop, &p->retry);
	ev_timer_set(&p->retry, 0., 0.);
	ev_timer_start(p->loop, &p->retry);
}

static const struct mp_path_ops iscsi_path_ops = {
	.kind = "iscsi",
	.submit = path_submit,
	.fail = path_fail,
	.reinstate = path_reinstate,
};

void mp_iscsi_path_opts_default(struct mp_iscsi_path_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->prio = 50;
	o->noop_interval_ms = 500;
	o->noop_timeout_ms = 1000;
	o->command_timeout_ms = 10000;
	o->login_timeout_ms = 3000;
	o->reconnect_max_ms = 1000;
}

const char *mp_iscsi_path_iface(const struct mp_iscsi_path *p) { return p->egress[0] ? p->egress : p->iface; }

void mp_iscsi_path_link_event(struct mp_iscsi_path *p, bool up)
{
	if (!up) {
		p->link_down = true;
		if (p->st != SESS_IDLE && p->st != SESS_REFUSED)
			schedule_teardown(p, "link down");
		return;
	}
	bool was_down = p->link_down;
	p->link_down = false;
	/* Waiting to reconnect: do it now, from the start of the backoff. */
	if (was_down && p->st == SESS_IDLE && !p->teardown_pending && !auth_too_soon(p)) {
		p->backoff_ms = RECONNECT_MIN_MS;
		ev_timer_stop(p->loop, &p->retry);
		ev_timer_set(&p->retry, 0., 0.);
		ev_timer_start(p->loop, &p->retry);
	}
}

struct mp_iscsi_path *mp_iscsi_path_new(struct ev_loop *loop, struct mp_lu *lu,
					const struct mp_iscsi_path_opts *o)
{
	struct mp_iscsi_path *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = loop;
	p->path.ops = &iscsi_path_ops;
	snprintf(p->initiator, sizeof(p->initiator), "%s", o->initiator_name);
	snprintf(p->target, sizeof(p->target), "%s", o->target);
	snprintf(p->portal, sizeof(p->portal), "%s", o->portal);
	snprintf(p->iface, sizeof(p->iface), "%s", o->iface ? o->iface : "");
	snprintf(p->egress, sizeof(p->egress), "%s", p->iface);
	p->lun = o->lun;
	p->o = *o;
	p->o.initiator_name = p->o.target = p->o.portal = p->o.iface = NULL; /* copied above */
	p->path.id = o->id;
	p->path.prio = o->prio;
	snprintf(p->path.iface, sizeof(p->path.iface), "%s", p->iface);
	if (p->iface[0])
		snprintf(p->path.name, sizeof(p->path.name), "%s->%s", p->iface, p->portal);
	else
		snprintf(p->path.name, sizeof(p->path.name), "%s", p->portal);
	p->isid_rnd = fnv1a(2166136261u, p->initiator) & 0xffffff;
	p->isid_qual = mp_iscsi_isid_qualifier(p->iface, p->portal);
	p->backoff_ms = RECONNECT_MIN_MS;
	ev_io_init(&p->io, io_cb, -1, 0);
	ev_prepare_init(&p->prep, prep_cb);
	ev_prepare_start(loop, &p->prep);
	ev_timer_init(&p->watchdog, watchdog_cb, WATCHDOG_S, WATCHDOG_S);
	ev_timer_start(loop, &p->watchdog);
	ev_timer_init(&p->retry, retry_cb, 0., 0.);
	mp_lu_add_path(lu, &p->path);
	start_connect(p);
	return p;
}

void mp_iscsi_path_free(struct mp_iscsi_path *p)
{
	if (!p)
		return;
	if (p->path.lu)
		mp_lu_path_down(p->path.lu, &p->path, "shutting down");
	p->path.state = MP_PATH_FAILED;
	destroy_context(p);
	ev_prepare_stop(p->loop, &p->prep);
	ev_timer_stop(p->loop, &p->watchdog);
	ev_timer_stop(p->loop, &p->retry);
	if (p->path.lu)
		mp_lu_remove_path(p->path.lu, &p->path);
	free(p);
}

void mp_iscsi_path_session(const struct mp_iscsi_path *p, struct mp_iscsi_session_view *v)
{
	static const char *const names[] = {
		[SESS_IDLE] = "idle", [SESS_CONNECTING] = "connecting", [SESS_LOGIN] = "login",
		[SESS_ATTACH] = "attach", [SESS_FULL] = "logged-in", [SESS_REFUSED] = "refused",
	};
	memset(v, 0, sizeof(*v));
	v->initiator = p->initiator;
	v->target = p->target;
	v->portal = p->portal;
	v->iface = p->iface;
	v->egress = p->egress;
	v->lun = p->lun;
	/* The ISID as libiscsi's iscsi_set_isid_random() lays it out: type 0x80, 24-bit number, qualifier. */
	v->isid[0] = 0x80;
	v->isid[1] = (uint8_t)(p->isid_rnd >> 16);
	v->isid[2] = (uint8_t)(p->isid_rnd >> 8);
	v->isid[3] = (uint8_t)p->isid_rnd;
	v->isid[4] = (uint8_t)(p->isid_qual >> 8);
	v->isid[5] = (uint8_t)p->isid_qual;
	v->state = p->st < MP_ARRAY_SIZE(names) ? names[p->st] : "?";
	v->logged_in = p->st == SESS_FULL || p->st == SESS_ATTACH;
	v->state_age_s = ev_now(p->loop) - p->state_since;
	v->last_error = p->last_reason;
	v->noop_interval_ms = p->o.noop_interval_ms;
	v->noop_timeout_ms = p->o.noop_timeout_ms;
	v->command_timeout_ms = p->o.command_timeout_ms;
	v->login_timeout_ms = p->o.login_timeout_ms;
	v->reconnect_max_ms = p->o.reconnect_max_ms;
	v->header_digest = "CRC32C,None";
}
