/* A libiscsi session to one target over one NIC and portal: connect, login, LUN scan, liveness, commands, teardown, reconnect. */
#include "initiator/session.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
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
#include "initiator/isid.h"
#include "initiator/pdu_guard.h"
#include "initiator/sock_guard.h"
#include "initiator/iscsi_path.h"
#include "initiator/report_luns.h"
#include "initiator/scsi_parse.h"
#include "mpath/classify.h"
#include "mpath/scsi_cdb.h"

#define RECONNECT_MIN_MS 100
/* The watchdog's period: NOP-Out, command deadlines and login deadline are checked this often. */
#define WATCHDOG_S 0.1
/* While a session waits out MP_ISCSI_AUTH_RETRY_S after a failed CHAP login, a reinstate (the
 * operator's, or the core's when a disk has no usable path left) logs in early only if the
 * last attempt is at least this old: sessions that all fail authentication would otherwise
 * reinstate each other in a loop. */
#define AUTH_REINSTATE_MIN_S 5.0
/* REPORT LUNS: first allocation (header + 511 LUNs); grown to what the target says it needs. */
#define SCAN_FIRST_ALLOC 4096u
/* UNIT ATTENTION re-issues of one scan command (a fresh login reports 29/xx first). */
#define SCAN_UA_RETRIES 5
/* Standard INQUIRY bytes the scan needs (qualifier, type). */
#define SCAN_INQUIRY_LEN 36
/* No per-service PDU budget (the guard's mp_pdu_guard_budget()): it was taken out when LIO
 * sessions went silent under load, which later proved to be the test guest's NIC, not the
 * budget (docs/RELIABILITY.md). A NOP-In storm is refused by the guard instead (more than 256
 * pings unanswered), which costs the path, not the loop. */
/* Login redirects followed in a row before the original portal is tried again. */
#define REDIRECTS_MAX 4

/* Where the session is. */
enum sess_state {
	SESS_IDLE = 0,   /* no context: waiting for the reconnect timer */
	SESS_CONNECTING, /* TCP connect in progress */
	SESS_LOGIN,      /* iSCSI login in progress */
	SESS_SCAN,       /* logged in, first LUN scan running; paths wait */
	SESS_FULL,       /* logged in and scanned: paths attach and take I/O */
};

/* The LUN scan's step. */
enum scan_step {
	SCAN_NONE = 0,   /* no scan running */
	SCAN_REPORT,     /* REPORT LUNS in flight */
	SCAN_INQUIRY,    /* INQUIRY of luns[inq_i] in flight */
};

/*
 * One command in flight. The libiscsi task is the first member so that
 * scsi_free_scsi_task(), which frees the task's own allocations and then the
 * task pointer, releases the whole struct in one place.
 */
struct itask {
	struct scsi_task task;
	struct mp_scsi_cmd *cmd;
	struct mp_iscsi_session *s;
	const struct mp_iscsi_path *owner; /* NULL: the session's own (LUN scan) */
	struct itask *prev, *next;
	struct iscsi_data out;
	ev_tstamp start;         /* when it was handed to libiscsi, for the command deadline */
	bool completed_in_submit; /* libiscsi called back from inside iscsi_scsi_command_async */
	enum mp_xport xport;      /* how libiscsi ended it, if it did so before our teardown */
};

struct mp_iscsi_session {
	ev_io io;                /* first: callbacks cast back */
	ev_prepare prep;         /* recomputes the poll mask before each loop iteration */
	ev_timer watchdog;       /* NOP-Out keepalive, command and login deadlines */
	ev_timer retry;          /* reconnect backoff, and deferred teardown (0 s) */
	ev_timer kick;           /* deferred rescan (0 s): never started from inside a callback chain */
	ev_timer notify;         /* tells the owner a scan's result (0 s), from the loop */
	bool notify_first;       /* that scan was the first after a login: paths attach after it */
	bool notify_ok;
	char notify_why[160];
	struct ev_loop *loop;
	struct iscsi_context *ctx;
	struct mp_pdu_guard *guard; /* checks every PDU before libiscsi sees it; NULL with the test hook */
	int guarded_fd;          /* the fd the guard is attached to, -1 if none */
	char redirect[280];      /* where the target sent the next login, "" if nowhere */
	char err_buf[200];       /* conn_error()'s text */
	unsigned redirects;      /* redirects followed since the last successful login */
	enum sess_state st;
	bool teardown_pending;
	char teardown_reason[160];
	char last_reason[160];   /* the previous teardown's reason, to log repeats once */
	struct itask *inflight;  /* doubly linked list of commands libiscsi holds */
	uint32_t backoff_ms;
	uint8_t isid[6];
	char initiator[224], target[224], portal[280], iface[16], name[304];
	struct mp_iscsi_session_opts o; /* timeouts; string members are not used after creation */
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
	uint32_t logins;
	uint32_t failed_logins;  /* attempts that failed (for tools: a login that waits for an outcome) */
	enum mp_iscsi_login_fail fail_kind; /* the last failed attempt's kind */
	char fail_detail[200];   /* and its detail */
	uint32_t scans_reported; /* luns_fn calls made */
	char chap_user[256];     /* for tools; "" without CHAP */
	char label[MP_ISCSI_LABEL_MAX]; /* "disk NAME" (or "session N" when the owner set none): login errors */
	char tag[MP_ISCSI_LABEL_MAX + 2]; /* "disk NAME: " or "": the prefix of every other line */
	/* LU paths on this session. */
	struct mp_iscsi_path **paths;
	size_t n_paths;
	/* LUN scan. */
	enum scan_step scan;
	bool scan_again;         /* a rescan was asked for while one ran */
	unsigned scan_ua_left;
	struct mp_scsi_cmd scan_cmd;
	uint8_t *scan_buf;
	uint32_t scan_alloc;
	uint32_t *scan_luns;     /* every LUN REPORT LUNS listed */
	size_t scan_n, inq_i;
	uint32_t *scan_da;       /* the direct-access ones found so far */
	size_t scan_n_da;
	size_t n_luns;           /* direct-access LUNs of the last good scan (for tools) */
	bool scanned_ok;         /* a scan succeeded: known_luns is its result */
	uint32_t *known_luns;
	uint32_t *warned;        /* LUNs whose non-disk type was logged (once each) */
	size_t n_warned;
};

static void start_connect(struct mp_iscsi_session *s);
static void schedule_teardown(struct mp_iscsi_session *s, const char *reason);
static void scan_start(struct mp_iscsi_session *s);

/* An attempt to log in failed: remembered for tools (a waiting mpiscsiadm --login reads it). */
static void login_failed(struct mp_iscsi_session *s, enum mp_iscsi_login_fail kind, const char *detail)
{
	s->fail_kind = kind;
	snprintf(s->fail_detail, sizeof(s->fail_detail), "%s", detail && detail[0] ? detail : mp_iscsi_login_fail_name(kind));
	s->failed_logins++;
}

uint32_t mp_iscsi_session_id(const struct mp_iscsi_session *s) { return s->o.id; }
const char *mp_iscsi_session_target(const struct mp_iscsi_session *s) { return s->target; }
const char *mp_iscsi_session_portal(const struct mp_iscsi_session *s) { return s->portal; }
const char *mp_iscsi_session_bound_iface(const struct mp_iscsi_session *s) { return s->iface; }
const char *mp_iscsi_session_name(const struct mp_iscsi_session *s) { return s->name; }
const char *mp_iscsi_session_iface(const struct mp_iscsi_session *s) { return s->egress[0] ? s->egress : s->iface; }
bool mp_iscsi_session_lists_lun(const struct mp_iscsi_session *s, uint32_t lun, bool *known)
{
	*known = s->scanned_ok;
	for (size_t i = 0; s->scanned_ok && i < s->n_luns; i++)
		if (s->known_luns[i] == lun)
			return true;
	return false;
}

void mp_iscsi_session_set_label(struct mp_iscsi_session *s, const char *label)
{
	if (!label || !label[0]) {
		snprintf(s->label, sizeof(s->label), "session %u", s->o.id);
		s->tag[0] = '\0';
		return;
	}
	snprintf(s->label, sizeof(s->label), "%s", label);
	snprintf(s->tag, sizeof(s->tag), "%s: ", s->label);
}

const char *mp_iscsi_session_tag(const struct mp_iscsi_session *s) { return s->tag; }

size_t mp_iscsi_session_n_paths(const struct mp_iscsi_session *s) { return s->n_paths; }
bool mp_iscsi_session_ready(const struct mp_iscsi_session *s)
{
	return s->st == SESS_FULL && s->ctx && !s->teardown_pending;
}
struct ev_loop *mp_iscsi_session_loop(const struct mp_iscsi_session *s) { return s->loop; }

static void libiscsi_log(int level, const char *msg)
{
	mp_debug("libiscsi[%d]: %s", level, msg);
}

/* The NIC that owns the connected socket's local address, so link events reach unbound sessions too. */
static void find_egress(struct mp_iscsi_session *s)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct ifaddrs *ifa, *i;

	snprintf(s->egress, sizeof(s->egress), "%s", s->iface);
	if (s->iface[0] || !s->ctx || getsockname(iscsi_get_fd(s->ctx), (struct sockaddr *)&local, &len) != 0 ||
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
			snprintf(s->egress, sizeof(s->egress), "%s", i->ifa_name);
			break;
		}
	}
	freeifaddrs(ifa);
}

static void set_st(struct mp_iscsi_session *s, enum sess_state st)
{
	s->st = st;
	s->state_since = ev_now(s->loop);
	if (st == SESS_SCAN) {
		find_egress(s);
		s->last_rx = s->state_since;
		s->nop_outstanding = false;
	}
}

/* Why the connection failed: what the guard saw the target do, else libiscsi's words. */
static const char *conn_error(struct mp_iscsi_session *s)
{
	const char *g = s->guard ? mp_pdu_guard_error(s->guard) : NULL;
	if (g) {
		snprintf(s->err_buf, sizeof(s->err_buf), "the target broke the protocol: %s", g);
		return s->err_buf;
	}
	const char *e = s->ctx ? iscsi_get_error(s->ctx) : NULL;
	if (!e || !e[0])
		return "connection failed (no reason given)";
	/* With its own reconnect off, libiscsi reports a connection the target closed (or reset)
	 * as a refused reconnect: say what happened. */
	if (strstr(e, "reconnect_if_loggedin") || strstr(e, "Can not reconnect"))
		return "the target closed the connection";
	snprintf(s->err_buf, sizeof(s->err_buf), "%s", e);
	size_t n = strlen(s->err_buf);
	while (n && (s->err_buf[n - 1] == '\n' || s->err_buf[n - 1] == ' '))
		s->err_buf[--n] = '\0';
	return s->err_buf;
}

/*
 * The guard refused a login answer because it is a redirect (status class 1): RFC 7143
 * 11.13.5 has the initiator log in again at the address the target gave. True when the
 * session will do that (the teardown is scheduled).
 */
static bool follow_redirect(struct mp_iscsi_session *s)
{
	const char *to = s->guard ? mp_pdu_guard_redirect(s->guard) : NULL;
	if (!to || s->redirects >= REDIRECTS_MAX)
		return false;
	s->redirects++;
	snprintf(s->redirect, sizeof(s->redirect), "%s", to);
	mp_info("%ssession %u %s: the target redirects the login to %s", s->tag, s->o.id, s->name, to);
	s->backoff_ms = RECONNECT_MIN_MS;
	schedule_teardown(s, "login redirected");
	return true;
}

/* ---- event loop glue ---- */

static void prep_cb(struct ev_loop *loop, ev_prepare *w, int revents MP_UNUSED)
{
	struct mp_iscsi_session *s = mp_container_of(w, struct mp_iscsi_session, prep);
	int fd = s->ctx ? iscsi_get_fd(s->ctx) : -1;
	int want = 0;
	if (fd >= 0 && !s->teardown_pending) {
		int ev = iscsi_which_events(s->ctx);
		if (ev & POLLIN)
			want |= EV_READ;
		if (ev & POLLOUT)
			want |= EV_WRITE;
	}
	if (fd == s->io.fd && want == (s->io.events & (EV_READ | EV_WRITE)) && ev_is_active(&s->io) == (want != 0))
		return;
	ev_io_stop(loop, &s->io);
	if (fd >= 0 && want) {
		ev_io_set(&s->io, fd, want);
		ev_io_start(loop, &s->io);
	}
}

static void io_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents)
{
	struct mp_iscsi_session *s = (struct mp_iscsi_session *)w;
	int pev = 0;
	if (revents & EV_READ) {
		pev |= POLLIN;
		s->last_rx = ev_now(s->loop);
	}
	if (revents & EV_WRITE)
		pev |= POLLOUT;
	/* Once logged in, the service call that meets the guard's refusal cancels the tasks and
	 * returns 0; only a later call (which needs another POLLIN) would fail: tear down now. */
	int src = s->ctx ? iscsi_service(s->ctx, pev) : 0;
	if (src < 0 || (s->guard && mp_pdu_guard_failed(s->guard))) {
		if (!follow_redirect(s))
			schedule_teardown(s, conn_error(s));
	}
}

static void nop_cb(struct iscsi_context *ctx MP_UNUSED, int status MP_UNUSED, void *command_data MP_UNUSED,
		   void *private_data)
{
	struct mp_iscsi_session *s = private_data;
	s->nop_outstanding = false;
}

/* The oldest command libiscsi holds (the list is newest first). */
static const struct itask *oldest_task(const struct mp_iscsi_session *s)
{
	const struct itask *t = s->inflight;
	while (t && t->next)
		t = t->next;
	return t;
}

/*
 * Silent path loss shows as silence: after noop_interval without any data from
 * the target, send a NOP-Out; if nothing at all arrives for noop_timeout after
 * that (a NOP-In may legitimately queue behind data on a slow link, so any data
 * counts), the session is dead. A command older than command_timeout also fails
 * it, and so does a login (with its LUN scan) that takes longer than login_timeout.
 */
static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_iscsi_session *s = mp_container_of(w, struct mp_iscsi_session, watchdog);
	ev_tstamp now = ev_now(loop);
	char why[128];

	if (!s->ctx || s->teardown_pending)
		return;
	if (s->st == SESS_CONNECTING || s->st == SESS_LOGIN || s->st == SESS_SCAN) {
		if ((now - s->state_since) * 1000 >= s->o.login_timeout_ms) {
			/* Which step stalled tells a dead network (no TCP connection) from a target
			 * that accepts connections but does not answer the login. */
			snprintf(why, sizeof(why), "no %s within %u ms",
				 s->st == SESS_SCAN ? "LUN scan" : s->st == SESS_LOGIN ? "login (connected, no answer)"
							 : "login (TCP connection not established)",
				 s->o.login_timeout_ms);
			if (!s->teardown_pending)
				login_failed(s, MP_LOGIN_FAIL_TIMEOUT, why);
			schedule_teardown(s, why);
		}
		if (s->st != SESS_SCAN)
			return;
	}
	if (s->o.noop_interval_ms) {
		double silent_ms = (now - s->last_rx) * 1000;
		if (s->nop_outstanding) {
			if (silent_ms >= s->o.noop_timeout_ms && (now - s->nop_sent) * 1000 >= s->o.noop_timeout_ms) {
				snprintf(why, sizeof(why), "no answer to NOP-Out within %u ms", s->o.noop_timeout_ms);
				schedule_teardown(s, why);
				return;
			}
		} else if (silent_ms >= s->o.noop_interval_ms) {
			if (iscsi_nop_out_async(s->ctx, nop_cb, NULL, 0, s) == 0) {
				s->nop_outstanding = true;
				s->nop_sent = now;
			}
		}
	}
	const struct itask *t = oldest_task(s);
	if (s->o.command_timeout_ms && t && (now - t->start) * 1000 >= s->o.command_timeout_ms) {
		snprintf(why, sizeof(why), "command 0x%02x to LUN %d unanswered for %u ms", t->task.cdb[0],
			 t->task.lun, s->o.command_timeout_ms);
		schedule_teardown(s, why);
	}
}

/* ---- commands ---- */

/* UNIT ATTENTION 3F/0E: the target's LUN inventory changed; scan again (from the loop). */
static void note_sense(struct mp_iscsi_session *s, const struct mp_scsi_result *res)
{
	struct mp_completion cc;
	mp_classify_completion(res, &cc);
	if (cc.ua != MP_UA_LUNS_CHANGED)
		return;
	mp_info("%ssession %u %s: the target reports changed LUNs (3F/0E); rescanning", s->tag, s->o.id, s->name);
	mp_iscsi_session_rescan(s);
}

static void task_complete(struct itask *t, enum mp_xport xport)
{
	struct mp_iscsi_session *s = t->s;
	struct mp_scsi_cmd *cmd = t->cmd;
	struct mp_scsi_result res = { .xport = xport };

	/* Unlink first: completion may submit new commands to this session. */
	if (t->prev)
		t->prev->next = t->next;
	else
		s->inflight = t->next;
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
	if (xport == MP_XPORT_OK)
		note_sense(s, &res);
	cmd->done(cmd, &res);
}

static void task_cb(struct iscsi_context *ctx MP_UNUSED, int status, void *command_data MP_UNUSED,
		    void *private_data)
{
	struct itask *t = private_data;
	struct mp_iscsi_session *s = t->s;
	/*
	 * On a broken connection libiscsi may call back from inside
	 * iscsi_scsi_command_async. Completing there would re-issue the command from
	 * inside our own submit, possibly to this same session, recursively: instead the
	 * submit is turned into a refusal (see mp_iscsi_session_submit).
	 */
	if (s->in_submit) {
		t->completed_in_submit = true;
		schedule_teardown(s, "connection failed while sending a command");
		return;
	}
	switch (status) {
	case SCSI_STATUS_CANCELLED:
	case SCSI_STATUS_TIMEOUT:
	case SCSI_STATUS_ERROR:
		if (!s->ctx) {
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
		schedule_teardown(s, s->guard && mp_pdu_guard_failed(s->guard) ? conn_error(s)
				     : status == SCSI_STATUS_TIMEOUT ? "command timed out"
				     : status == SCSI_STATUS_ERROR ? "transport error"
				     : "connection failed, commands cancelled");
		break;
	default:
		task_complete(t, MP_XPORT_OK);
		break;
	}
}

int mp_iscsi_session_submit(struct mp_iscsi_session *s, struct mp_iscsi_path *owner, uint32_t lun,
			    struct mp_scsi_cmd *cmd)
{
	if (!s->ctx || s->teardown_pending || !(s->st == SESS_FULL || (s->st == SESS_SCAN && !owner))) {
		errno = ENOTCONN;
		return -1;
	}
	struct itask *t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return -1;
	}
	t->s = s;
	t->owner = owner;
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
	s->in_submit = true;
	/* libiscsi writes the number into the first two LUN bytes: flat space addressing above 255. */
	int rc = iscsi_scsi_command_async(s->ctx, mp_report_luns_wire(lun), &t->task, task_cb, out, t);
	s->in_submit = false;
	if (rc != 0 || t->completed_in_submit) {
		mp_debug("%ssession %u %s: submit failed: %s", s->tag, s->o.id, s->name, iscsi_get_error(s->ctx));
		scsi_free_scsi_task(&t->task);
		errno = ENOTCONN;
		return -1;
	}
	t->start = ev_now(s->loop);
	t->next = s->inflight;
	if (t->next)
		t->next->prev = t;
	s->inflight = t;
	return 0;
}

size_t mp_iscsi_session_inflight(const struct mp_iscsi_session *s, const struct mp_iscsi_path *owner)
{
	size_t n = 0;
	for (const struct itask *t = s->inflight; t; t = t->next)
		n += t->owner == owner;
	return n;
}

/* ---- LUN scan: REPORT LUNS, then a standard INQUIRY of each LUN ---- */

static void scan_done_cb(struct mp_scsi_cmd *cmd, const struct mp_scsi_result *res);

static bool scan_warned(struct mp_iscsi_session *s, uint32_t lun)
{
	for (size_t i = 0; i < s->n_warned; i++)
		if (s->warned[i] == lun)
			return true;
	uint32_t *w = realloc(s->warned, (s->n_warned + 1) * sizeof(*w));
	if (w) {
		s->warned = w;
		s->warned[s->n_warned++] = lun;
	}
	return false;
}

/* LUN lun was a connected disk in the last good scan. */
static bool scan_was_known(const struct mp_iscsi_session *s, uint32_t lun)
{
	for (size_t i = 0; s->scanned_ok && i < s->n_luns; i++)
		if (s->known_luns[i] == lun)
			return true;
	return false;
}

static int scan_submit(struct mp_iscsi_session *s, uint32_t lun)
{
	s->scan_cmd.done = scan_done_cb;
	s->scan_cmd.buf = s->scan_buf;
	s->scan_cmd.dir = MP_DIR_READ;
	return mp_iscsi_session_submit(s, NULL, lun, &s->scan_cmd);
}

static int scan_ask_report(struct mp_iscsi_session *s, uint32_t alloc)
{
	uint8_t *b = realloc(s->scan_buf, alloc);
	if (!b)
		return -1;
	s->scan_buf = b;
	s->scan_alloc = alloc;
	s->scan = SCAN_REPORT;
	memset(s->scan_cmd.cdb, 0, sizeof(s->scan_cmd.cdb));
	mp_report_luns_cdb(s->scan_cmd.cdb, alloc);
	s->scan_cmd.cdb_len = 12;
	s->scan_cmd.len = alloc;
	return scan_submit(s, 0);
}

static int scan_ask_inquiry(struct mp_iscsi_session *s)
{
	s->scan = SCAN_INQUIRY;
	s->scan_cmd.cdb_len = mp_cdb_inquiry(s->scan_cmd.cdb, SCAN_INQUIRY_LEN);
	s->scan_cmd.len = SCAN_INQUIRY_LEN;
	return scan_submit(s, s->scan_luns[s->inq_i]);
}

/* The scan ended (ok or not): tell the owner, let the paths attach, and rescan if asked meanwhile. */
static void scan_finish(struct mp_iscsi_session *s, bool ok, const char *why)
{
	s->scan = SCAN_NONE;
	if (!s->ctx || s->teardown_pending)
		return; /* a teardown cancelled it; the next login scans again */
	if (!ok) {
		mp_warn("%ssession %u %s: LUN scan failed: %s; keeping the LUNs known so far", s->tag, s->o.id,
			s->name, why);
	} else {
		uint32_t *k = realloc(s->known_luns, MP_MAX(s->scan_n_da, 1) * sizeof(*k));
		if (k) {
			memcpy(k, s->scan_da, s->scan_n_da * sizeof(*k));
			s->known_luns = k;
			s->n_luns = s->scan_n_da;
			s->scanned_ok = true;
		} else {
			ok = false;
			why = "out of memory";
		}
	}
	if (s->st == SESS_SCAN) {
		set_st(s, SESS_FULL);
		s->notify_first = true;
	}
	/* The owner hears it from the loop, not from inside libiscsi's callback chain (it may free
	 * paths, which can reset this session). */
	s->notify_ok = ok;
	snprintf(s->notify_why, sizeof(s->notify_why), "%s", why ? why : "");
	ev_timer_stop(s->loop, &s->notify);
	ev_timer_set(&s->notify, 0., 0.);
	ev_timer_start(s->loop, &s->notify);
}

static void notify_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_iscsi_session *s = mp_container_of(w, struct mp_iscsi_session, notify);
	bool first = s->notify_first;
	s->notify_first = false;
	if (!s->ctx || s->teardown_pending)
		return; /* the next login scans again */
	/* The owner adds paths for new LUNs (they attach at once) and frees those of LUNs gone. */
	s->o.luns(s->o.luns_arg, s, s->notify_ok, s->notify_ok ? s->known_luns : NULL,
		  s->notify_ok ? s->n_luns : 0, s->notify_ok ? NULL : s->notify_why);
	s->scans_reported++;
	if (first && s->ctx && !s->teardown_pending)
		for (size_t i = 0; i < s->n_paths; i++)
			mp_iscsi_path_session_up(s->paths[i]);
	if (s->scan_again) {
		s->scan_again = false;
		scan_start(s);
	}
}

static void scan_next_inquiry(struct mp_iscsi_session *s)
{
	s->scan_ua_left = SCAN_UA_RETRIES;
	if (s->inq_i >= s->scan_n) {
		scan_finish(s, true, NULL);
		return;
	}
	if (scan_ask_inquiry(s) != 0)
		scan_finish(s, false, "cannot send INQUIRY");
}

static void scan_done_cb(struct mp_scsi_cmd *cmd, const struct mp_scsi_result *res)
{
	struct mp_iscsi_session *s = mp_container_of(cmd, struct mp_iscsi_session, scan_cmd);
	char why[160];
	const char *what = s->scan == SCAN_REPORT ? "REPORT LUNS" : "INQUIRY";
	struct mp_completion cc;

	if (res->xport != MP_XPORT_OK) {
		scan_finish(s, false, "the connection failed");
		return;
	}
	mp_classify_completion(res, &cc);
	const struct mp_sense sn = cc.sense;
	if (res->status != SCSI_STATUS_GOOD) {
		bool ua = cc.ua != MP_UA_NONE;
		if (ua && s->scan_ua_left) {
			s->scan_ua_left--;
			if (scan_submit(s, s->scan == SCAN_REPORT ? 0 : s->scan_luns[s->inq_i]) != 0)
				scan_finish(s, false, "cannot send a command");
			return;
		}
		if (s->scan == SCAN_INQUIRY) {
			/* One LUN that does not answer INQUIRY is left out, the others go on; unless the
			 * target said the LUN is not there (25/00), a LUN the last scan found keeps its
			 * verdict: BUSY or TASK SET FULL under load must not take a working path away. */
			uint32_t lun = s->scan_luns[s->inq_i];
			bool gone = sn.key == MP_SK_ILLEGAL_REQUEST && sn.asc == MP_ASC_LU_NOT_SUPPORTED;
			bool keep = !gone && scan_was_known(s, lun);
			mp_warn("%ssession %u %s: LUN %u: INQUIRY status 0x%02x sense %x/%02x/%02x; %s", s->tag,
				s->o.id, s->name, lun, res->status, sn.key, sn.asc, sn.ascq,
				keep ? "kept as the last scan found it" : "not used");
			if (keep)
				s->scan_da[s->scan_n_da++] = lun;
			s->inq_i++;
			scan_next_inquiry(s);
			return;
		}
		snprintf(why, sizeof(why), "%s status 0x%02x sense %x/%02x/%02x", what, res->status, sn.key, sn.asc,
			 sn.ascq);
		scan_finish(s, false, why);
		return;
	}
	size_t got = cmd->len - MP_MIN(res->residual, cmd->len);
	if (s->scan == SCAN_REPORT) {
		uint32_t need = 0;
		size_t n = 0, skipped = 0;
		size_t max = (MP_REPORT_LUNS_ALLOC_MAX - 8) / 8;
		uint32_t *luns = realloc(s->scan_luns, max * sizeof(*luns));
		uint32_t *da = luns ? realloc(s->scan_da, max * sizeof(*da)) : NULL;
		if (luns)
			s->scan_luns = luns;
		if (da)
			s->scan_da = da;
		if (!luns || !da) {
			scan_finish(s, false, "out of memory");
			return;
		}
		if (mp_report_luns_parse(s->scan_buf, got, s->scan_luns, max, &n, &need, &skipped) != 0) {
			snprintf(why, sizeof(why), "malformed REPORT LUNS answer (%zu bytes)", got);
			scan_finish(s, false, why);
			return;
		}
		if (need > s->scan_alloc && s->scan_alloc < MP_REPORT_LUNS_ALLOC_MAX) {
			/* The list is longer than the buffer: ask again with the length it needs. */
			if (scan_ask_report(s, MP_MIN(need, MP_REPORT_LUNS_ALLOC_MAX)) != 0)
				scan_finish(s, false, "cannot send REPORT LUNS");
			return;
		}
		if (skipped)
			mp_warn("%ssession %u %s: %zu LUN(s) in an addressing method this initiator does not use",
				s->tag, s->o.id, s->name, skipped);
		s->scan_n = n;
		s->inq_i = 0;
		s->scan_n_da = 0;
		scan_next_inquiry(s);
		return;
	}
	struct mp_inquiry inq;
	uint32_t lun = s->scan_luns[s->inq_i];
	if (mp_parse_inquiry(s->scan_buf, got, &inq) != 0) {
		bool keep = scan_was_known(s, lun);
		mp_warn("%ssession %u %s: LUN %u: malformed INQUIRY answer; %s", s->tag, s->o.id, s->name, lun,
			keep ? "kept as the last scan found it" : "not used");
		if (keep)
			s->scan_da[s->scan_n_da++] = lun;
	} else if (inq.qualifier == 0 && inq.peripheral_type == 0) {
		s->scan_da[s->scan_n_da++] = lun;
	} else if (!scan_warned(s, lun)) {
		mp_info("%ssession %u %s: LUN %u is not a connected disk (qualifier %u, type 0x%02x, %s %s); skipped",
			s->tag, s->o.id, s->name, lun, inq.qualifier, inq.peripheral_type, inq.vendor, inq.product);
	}
	s->inq_i++;
	scan_next_inquiry(s);
}

static void scan_start(struct mp_iscsi_session *s)
{
	if (s->scan != SCAN_NONE) {
		s->scan_again = true;
		return;
	}
	if (!s->ctx || s->teardown_pending || (s->st != SESS_SCAN && s->st != SESS_FULL))
		return;
	s->scan_ua_left = SCAN_UA_RETRIES;
	if (scan_ask_report(s, MP_MAX(s->scan_alloc, SCAN_FIRST_ALLOC)) != 0) {
		s->scan = SCAN_NONE;
		scan_finish(s, false, "cannot send REPORT LUNS");
	}
}

static void kick_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	scan_start(mp_container_of(w, struct mp_iscsi_session, kick));
}

void mp_iscsi_session_rescan(struct mp_iscsi_session *s)
{
	if (s->st != SESS_FULL || s->teardown_pending)
		return; /* the next login scans anyway */
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_set(&s->kick, 0., 0.);
	ev_timer_start(s->loop, &s->kick);
}

/* ---- session lifecycle ---- */

/*
 * Every close of a session socket is abortive (SO_LINGER 0: RST, send queue
 * dropped). A plain close() leaves unacknowledged PDUs in the kernel, which
 * keeps retransmitting them after we have given up on the session: a WRITE we
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

static void destroy_context(struct mp_iscsi_session *s)
{
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_stop(s->loop, &s->notify);
	s->notify_first = false;
	if (s->guarded_fd >= 0) {
		mp_sock_guard_detach(s->guarded_fd);
		s->guarded_fd = -1;
	}
	if (s->ctx) {
		struct iscsi_context *ctx = s->ctx;
		s->ctx = NULL;
		/* libiscsi closes the socket first (abortively: SO_LINGER 0 was set when it was
		 * created, see start_connect), then completes queued commands CANCELLED; our
		 * callback completes them. */
		iscsi_destroy_context(ctx);
	}
	/* Anything libiscsi did not call back for is completed CANCELLED now: exactly once either way. */
	while (s->inflight)
		task_complete(s->inflight, s->inflight->xport != MP_XPORT_OK ? s->inflight->xport
									     : MP_XPORT_CANCELLED);
	s->scan = SCAN_NONE;
	s->scan_again = false;
	ev_io_stop(s->loop, &s->io);
	ev_io_set(&s->io, -1, 0);
}

static void retry_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_iscsi_session *s = mp_container_of(w, struct mp_iscsi_session, retry);
	if (s->teardown_pending) {
		s->teardown_pending = false;
		/* A lost session is news; a reconnect attempt that fails again is news only when the
		 * reason changes (no log line per attempt during a long outage). */
		if (s->st == SESS_FULL || s->st == SESS_SCAN)
			mp_warn("%ssession %u %s: lost: %s; reconnecting", s->tag, s->o.id, s->name, s->teardown_reason);
		else if (!s->auth_hold && strcmp(s->last_reason, s->teardown_reason) != 0)
			mp_info("%ssession %u %s: reconnect failed: %s; retrying every <= %u ms", s->tag, s->o.id, s->name,
				s->teardown_reason, MP_MAX(s->o.reconnect_max_ms, RECONNECT_MIN_MS));
		snprintf(s->last_reason, sizeof(s->last_reason), "%s", s->teardown_reason);
		destroy_context(s);
		double delay = s->auth_hold ? MP_ISCSI_AUTH_RETRY_S : s->backoff_ms / 1000.0;
		set_st(s, SESS_IDLE);
		ev_timer_set(&s->retry, delay, 0.);
		ev_timer_start(s->loop, &s->retry);
		s->backoff_ms = MP_MIN(s->backoff_ms * 2, MP_MAX(s->o.reconnect_max_ms, RECONNECT_MIN_MS));
		return;
	}
	start_connect(s);
}

/*
 * The session failed. Every path on it stops taking I/O now; the context is torn
 * down from a zero timer, never from inside a libiscsi callback.
 */
static void schedule_teardown(struct mp_iscsi_session *s, const char *reason)
{
	if (s->teardown_pending)
		return;
	s->teardown_pending = true;
	snprintf(s->teardown_reason, sizeof(s->teardown_reason), "%s", reason && reason[0] ? reason : "unknown");
	for (size_t i = 0; i < s->n_paths; i++)
		mp_iscsi_path_session_down(s->paths[i], s->teardown_reason);
	ev_timer_stop(s->loop, &s->retry);
	ev_timer_set(&s->retry, 0., 0.);
	ev_timer_start(s->loop, &s->retry);
}

/*
 * No login for MP_ISCSI_AUTH_RETRY_S: credentials that failed once fail again, and quick
 * retries could get the account locked out on the target. One error line per attempt.
 */
static void auth_failed(struct mp_iscsi_session *s, const char *what, const char *hint, const char *detail)
{
	mp_err("%s: target %s, portal %s%s%s: %s (%s): %s; next login in %.0f s", s->label, s->target,
	       s->portal, s->iface[0] ? " via " : "", s->iface, what, hint, detail, MP_ISCSI_AUTH_RETRY_S);
	s->auth_hold = true;
	s->auth_failed_at = ev_now(s->loop);
	login_failed(s, MP_LOGIN_FAIL_AUTH, what);
	schedule_teardown(s, what);
}

static void login_cb(struct iscsi_context *ctx, int status, void *command_data MP_UNUSED, void *private_data)
{
	struct mp_iscsi_session *s = private_data;
	char isid[16];
	if (status != SCSI_STATUS_GOOD) {
		if (follow_redirect(s))
			return;
		enum mp_iscsi_auth_fail af = mp_iscsi_auth_failure(iscsi_get_error(ctx));
		if (af == MP_AUTH_FAIL_REFUSED)
			auth_failed(s, mp_iscsi_auth_fail_text(af), s->o.chap ? "check chap_user/secret"
				    : "the target wants CHAP: set auth, chap_user and its secret", iscsi_get_error(ctx));
		else if (af == MP_AUTH_FAIL_MUTUAL)
			auth_failed(s, mp_iscsi_auth_fail_text(af), "check chap_mutual_user/secret",
				    iscsi_get_error(ctx));
		else {
			const char *e = conn_error(s);
			int st = mp_iscsi_login_status(iscsi_get_error(ctx));
			mp_err("%ssession %u %s: login to %s failed: %s", s->tag, s->o.id, s->name, s->target, e);
			/* Class 2 is the initiator's fault (0203 not found, 0204 removed), class 3 the
			 * target's; anything else broke the connection. */
			login_failed(s, st == 0x0203 || st == 0x0204 ? MP_LOGIN_FAIL_NOT_FOUND
					: st >= 0x0200 && st < 0x0400 ? MP_LOGIN_FAIL_REJECTED : MP_LOGIN_FAIL_LOST, e);
		}
		schedule_teardown(s, "login failed");
		return;
	}
	s->auth_hold = false;
	s->redirects = 0;
	s->logins++;
	mp_isid_text(s->isid, isid, sizeof(isid));
	mp_info("%ssession %u %s: logged in to %s, ISID %s", s->tag, s->o.id, s->name, s->target, isid);
	s->backoff_ms = RECONNECT_MIN_MS;
	s->last_reason[0] = '\0';
	set_st(s, SESS_SCAN);
	scan_start(s);
}

static void connect_cb(struct iscsi_context *ctx, int status, void *command_data MP_UNUSED, void *private_data)
{
	struct mp_iscsi_session *s = private_data;
	if (status != SCSI_STATUS_GOOD) {
		/* Either the connect failed, or (second call) an established connection went away. */
		if (s->st == SESS_CONNECTING || s->st == SESS_LOGIN || s->st == SESS_SCAN)
			login_failed(s, s->st == SESS_CONNECTING ? MP_LOGIN_FAIL_CONNECT : MP_LOGIN_FAIL_LOST,
				     conn_error(s));
		schedule_teardown(s, s->st == SESS_CONNECTING ? "connect failed" : conn_error(s));
		return;
	}
	if (s->st != SESS_CONNECTING)
		return;
	set_st(s, SESS_LOGIN);
	if (iscsi_login_async(ctx, login_cb, s) != 0)
		schedule_teardown(s, conn_error(s));
}

static void start_connect(struct mp_iscsi_session *s)
{
	/* libiscsi logs in unbound when it cannot bind to the NIC: a session named after a NIC
	 * that does not exist waits for it instead (it may be hot-plugged or renamed later). */
	if (s->iface[0] && !s->o.no_nic_check && if_nametoindex(s->iface) == 0) {
		char why[64];
		snprintf(why, sizeof(why), "no network interface %s", s->iface);
		login_failed(s, MP_LOGIN_FAIL_NO_IFACE, why);
		schedule_teardown(s, why);
		return;
	}
	struct iscsi_context *ctx = iscsi_create_context(s->initiator);
	if (!ctx) {
		schedule_teardown(s, "cannot create iSCSI context");
		return;
	}
	s->ctx = ctx;
	iscsi_set_log_fn(ctx, libiscsi_log);
	iscsi_set_log_level(ctx, mp_log_get_level() >= MP_LOG_DEBUG ? 2 : 0);
	iscsi_set_targetname(ctx, s->target);
	if (s->o.chap) {
		/* Fetched for every login, so that a changed secret is used at the next one. */
		struct mp_iscsi_chap c = { 0 };
		char why[256] = "";
		if (s->o.chap(s->o.chap_arg, &c, why, sizeof(why)) != 0 || mp_iscsi_chap_apply(ctx, &c) != 0) {
			auth_failed(s, "no CHAP credentials", "check the secrets file",
				    why[0] ? why : "a CHAP name or secret is empty or longer than 255 bytes");
			return;
		}
		snprintf(s->chap_user, sizeof(s->chap_user), "%s", c.user ? c.user : "");
	}
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_noautoreconnect(ctx, 1);
	/* The same ISID on every reconnect keeps the I_T nexus (and reservations) across failures. */
	iscsi_set_isid_random(ctx, (uint32_t)s->isid[1] << 16 | (uint32_t)s->isid[2] << 8 | s->isid[3],
			      (uint16_t)(s->isid[4] << 8 | s->isid[5]));
	if (s->iface[0])
		iscsi_set_bind_interfaces(ctx, s->iface);
	set_st(s, SESS_CONNECTING);
	/* A redirect applies to the next login only; later reconnects start at the configured portal. */
	const char *portal = s->redirect[0] ? s->redirect : s->portal;
	int rc = iscsi_connect_async(ctx, portal, connect_cb, s);
	s->redirect[0] = '\0';
	if (rc != 0) {
		login_failed(s, MP_LOGIN_FAIL_CONNECT, iscsi_get_error(ctx));
		schedule_teardown(s, iscsi_get_error(ctx));
		return;
	}
	if (!s->o.plain_close)
		set_abortive_close(ctx); /* also covers closes libiscsi makes on its own */
	/* Every byte of the new connection passes the guard before libiscsi sees it. */
	if (s->guard) {
		mp_pdu_guard_reset(s->guard);
		if (mp_sock_guard_attach(iscsi_get_fd(ctx), s->guard) != 0) {
			schedule_teardown(s, "cannot guard the connection (descriptor out of range)");
			return;
		}
		s->guarded_fd = iscsi_get_fd(ctx);
	}
}

void mp_iscsi_session_fail(struct mp_iscsi_session *s, const char *reason)
{
	if (s->st == SESS_IDLE && !s->teardown_pending)
		return;
	schedule_teardown(s, reason);
}

/* After a failed CHAP login, an early login again only when the last try is AUTH_REINSTATE_MIN_S old. */
static bool auth_too_soon(const struct mp_iscsi_session *s)
{
	return s->auth_hold && ev_now(s->loop) - s->auth_failed_at < AUTH_REINSTATE_MIN_S;
}

/* Reconnect now if the session is waiting to. */
void mp_iscsi_session_reinstate(struct mp_iscsi_session *s)
{
	if (s->st != SESS_IDLE || s->teardown_pending || auth_too_soon(s) || s->link_down)
		return;
	s->backoff_ms = RECONNECT_MIN_MS;
	ev_timer_stop(s->loop, &s->retry);
	ev_timer_set(&s->retry, 0., 0.);
	ev_timer_start(s->loop, &s->retry);
}

void mp_iscsi_session_opts_default(struct mp_iscsi_session_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->noop_interval_ms = 500;
	o->noop_timeout_ms = 1000;
	o->command_timeout_ms = 10000;
	o->login_timeout_ms = 3000;
	o->reconnect_max_ms = 1000;
}

void mp_iscsi_session_link_event(struct mp_iscsi_session *s, bool up)
{
	if (!up) {
		s->link_down = true;
		if (s->st != SESS_IDLE)
			schedule_teardown(s, "link down");
		return;
	}
	bool was_down = s->link_down;
	s->link_down = false;
	/* Waiting to reconnect: do it now, from the start of the backoff. */
	if (was_down && s->st == SESS_IDLE && !s->teardown_pending && !auth_too_soon(s)) {
		s->backoff_ms = RECONNECT_MIN_MS;
		ev_timer_stop(s->loop, &s->retry);
		ev_timer_set(&s->retry, 0., 0.);
		ev_timer_start(s->loop, &s->retry);
	}
}

struct mp_iscsi_session *mp_iscsi_session_new(struct ev_loop *loop, const struct mp_iscsi_session_opts *o)
{
	if (!o->luns || !o->initiator_name || !o->target || !o->portal) {
		errno = EINVAL;
		return NULL;
	}
	struct mp_iscsi_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	snprintf(s->initiator, sizeof(s->initiator), "%s", o->initiator_name);
	snprintf(s->target, sizeof(s->target), "%s", o->target);
	snprintf(s->portal, sizeof(s->portal), "%s", o->portal);
	snprintf(s->iface, sizeof(s->iface), "%s", o->iface ? o->iface : "");
	snprintf(s->egress, sizeof(s->egress), "%s", s->iface);
	s->o = *o;
	s->o.initiator_name = s->o.target = s->o.portal = s->o.iface = NULL; /* copied above */
	memcpy(s->isid, o->isid, sizeof(s->isid));
	if (s->iface[0])
		snprintf(s->name, sizeof(s->name), "%s->%s", s->iface, s->portal);
	else
		snprintf(s->name, sizeof(s->name), "%s", s->portal);
	s->backoff_ms = RECONNECT_MIN_MS;
	s->guarded_fd = -1;
	if (!o->no_pdu_guard && !(s->guard = mp_pdu_guard_new())) {
		free(s);
		return NULL;
	}
	mp_iscsi_session_set_label(s, NULL);
	ev_io_init(&s->io, io_cb, -1, 0);
	ev_prepare_init(&s->prep, prep_cb);
	ev_prepare_start(loop, &s->prep);
	ev_timer_init(&s->watchdog, watchdog_cb, WATCHDOG_S, WATCHDOG_S);
	ev_timer_start(loop, &s->watchdog);
	ev_timer_init(&s->retry, retry_cb, 0., 0.);
	ev_timer_init(&s->kick, kick_cb, 0., 0.);
	ev_timer_init(&s->notify, notify_cb, 0., 0.);
	set_st(s, SESS_IDLE);
	/* Connect from the loop: the owner registers the session before any callback. */
	ev_timer_start(loop, &s->retry);
	return s;
}

void mp_iscsi_session_free(struct mp_iscsi_session *s)
{
	if (!s)
		return;
	/* Paths are gone; whatever is still in flight is the session's own (the scan). */
	destroy_context(s);
	ev_prepare_stop(s->loop, &s->prep);
	ev_timer_stop(s->loop, &s->watchdog);
	ev_timer_stop(s->loop, &s->retry);
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_stop(s->loop, &s->notify);
	free(s->paths);
	free(s->scan_buf);
	free(s->scan_luns);
	free(s->scan_da);
	free(s->warned);
	free(s->known_luns);
	mp_pdu_guard_free(s->guard);
	free(s);
}

void mp_iscsi_session_add_path(struct mp_iscsi_session *s, struct mp_iscsi_path *p)
{
	struct mp_iscsi_path **np = realloc(s->paths, (s->n_paths + 1) * sizeof(*np));
	if (!np) {
		/* Not registered: the path never hears "up" and so never takes I/O. */
		mp_err("%ssession %u %s: out of memory adding a path", s->tag, s->o.id, s->name);
		return;
	}
	s->paths = np;
	s->paths[s->n_paths++] = p;
	if (mp_iscsi_session_ready(s))
		mp_iscsi_path_session_up(p);
}

void mp_iscsi_session_remove_path(struct mp_iscsi_session *s, struct mp_iscsi_path *p)
{
	for (size_t i = 0; i < s->n_paths; i++)
		if (s->paths[i] == p) {
			memmove(s->paths + i, s->paths + i + 1, (s->n_paths - i - 1) * sizeof(*s->paths));
			s->n_paths--;
			break;
		}
	if (!mp_iscsi_session_inflight(s, p))
		return;
	/*
	 * The path's commands are still in flight on this shared session. Completing them now
	 * would let the core re-issue a WRITE elsewhere while this connection may still deliver
	 * the old one (see set_abortive_close), so the session is closed abortively first: its
	 * other LUs' paths go down and come back with the reconnect.
	 */
	snprintf(s->teardown_reason, sizeof(s->teardown_reason), "a path was removed with commands in flight");
	mp_warn("%ssession %u %s: %s; resetting the session", s->tag, s->o.id, s->name, s->teardown_reason);
	if (!s->teardown_pending) {
		s->teardown_pending = true;
		for (size_t i = 0; i < s->n_paths; i++)
			mp_iscsi_path_session_down(s->paths[i], s->teardown_reason);
	}
	destroy_context(s);
	s->teardown_pending = false;
	set_st(s, SESS_IDLE);
	ev_timer_stop(s->loop, &s->retry);
	ev_timer_set(&s->retry, s->backoff_ms / 1000.0, 0.);
	ev_timer_start(s->loop, &s->retry);
}

void mp_iscsi_session_view(const struct mp_iscsi_session *s, struct mp_iscsi_session_view *v)
{
	static const char *const names[] = {
		[SESS_IDLE] = "idle", [SESS_CONNECTING] = "connecting", [SESS_LOGIN] = "login",
		[SESS_SCAN] = "scan", [SESS_FULL] = "logged-in",
	};
	memset(v, 0, sizeof(*v));
	v->id = s->o.id;
	v->initiator = s->initiator;
	v->target = s->target;
	v->portal = s->portal;
	v->iface = s->iface;
	v->egress = s->egress;
	memcpy(v->isid, s->isid, sizeof(v->isid));
	v->state = s->st < MP_ARRAY_SIZE(names) ? names[s->st] : "?";
	v->logged_in = (s->st == SESS_FULL || s->st == SESS_SCAN) && !s->teardown_pending;
	v->state_age_s = ev_now(s->loop) - s->state_since;
	v->last_error = s->last_reason;
	v->logins = s->logins;
	v->login_fail = s->fail_kind;
	v->login_error = s->fail_detail;
	v->failed_logins = s->failed_logins;
	v->scans_reported = s->scans_reported;
	v->n_luns = s->n_luns;
	v->noop_interval_ms = s->o.noop_interval_ms;
	v->noop_timeout_ms = s->o.noop_timeout_ms;
	v->command_timeout_ms = s->o.command_timeout_ms;
	v->login_timeout_ms = s->o.login_timeout_ms;
	v->reconnect_max_ms = s->o.reconnect_max_ms;
	v->header_digest = "CRC32C,None";
	v->chap_user = s->chap_user;
}
