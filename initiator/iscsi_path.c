/* An LU path on a shared iSCSI session: attach when the session is ready, submit through it, go down with it. */
#include "initiator/iscsi_path.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "initiator/attach.h"

/* Re-check of a path refused because it led to another LU (the target may be reconfigured back). */
#define REFUSED_RETRY_S 5.0
/* A failed attach (a command refused or answered with an error) is tried again after this. */
#define REATTACH_S 1.0

/* Where the path is; the core's view is path.state. */
enum ipath_state {
	IP_WAIT = 0,  /* the session is not ready, or an attach failed and waits for its retry */
	IP_ATTACH,    /* reading the LU's identity */
	IP_UP,        /* joined the LU */
	IP_REFUSED,   /* the LU behind this path is not the disk's: re-checked every REFUSED_RETRY_S */
};

struct mp_iscsi_path {
	struct mp_path path;
	struct mp_iscsi_session *s;
	uint32_t lun;
	enum ipath_state st;
	struct mp_attach *attach;
	ev_timer retry;              /* re-attach after a failure or refusal */
};

static const struct mp_path_ops iscsi_path_ops;

static struct mp_iscsi_path *from_path(struct mp_path *path)
{
	return mp_container_of(path, struct mp_iscsi_path, path);
}

struct mp_path *mp_iscsi_path_core(struct mp_iscsi_path *p) { return &p->path; }
struct mp_iscsi_session *mp_iscsi_path_session(const struct mp_iscsi_path *p) { return p->s; }
uint32_t mp_iscsi_path_lun(const struct mp_iscsi_path *p) { return p->lun; }

const char *mp_iscsi_path_state(const struct mp_iscsi_path *p)
{
	static const char *const names[] = {
		[IP_WAIT] = "waiting", [IP_ATTACH] = "attach", [IP_UP] = "attached", [IP_REFUSED] = "refused",
	};
	return p->st < MP_ARRAY_SIZE(names) ? names[p->st] : "?";
}

static void start_attach(struct mp_iscsi_path *p);

static void retry_later(struct mp_iscsi_path *p, double s)
{
	struct ev_loop *loop = mp_iscsi_session_loop(p->s);
	ev_timer_stop(loop, &p->retry);
	ev_timer_set(&p->retry, s, 0.);
	ev_timer_start(loop, &p->retry);
}

static void attach_done(void *arg, int err, const struct mp_lu_info *info, const char *msg)
{
	struct mp_iscsi_path *p = arg;
	char why[600];
	p->attach = NULL;
	if (err) {
		/* A transport failure is the session's (it tears itself down); anything else is this
		 * LU's, and only this path waits and tries again. */
		if (!mp_iscsi_session_ready(p->s))
			return;
		mp_err("disk %s: path %" PRIu32 " %s LUN %" PRIu32 ": attach failed: %s; retrying in %.0f s",
		       p->path.lu ? mp_lu_name(p->path.lu) : "?", p->path.id, p->path.name, p->lun,
		       msg ? msg : strerror(err), REATTACH_S);
		p->st = IP_WAIT;
		p->path.state = MP_PATH_DOWN;
		retry_later(p, REATTACH_S);
		return;
	}
	if (mp_lu_path_attached(p->path.lu, &p->path, info, why, sizeof(why)) != 0) {
		if (p->st != IP_REFUSED || p->path.state != MP_PATH_FAILED)
			mp_err("%s", why);
		p->st = IP_REFUSED;
		p->path.state = MP_PATH_FAILED;
		retry_later(p, REFUSED_RETRY_S);
		return;
	}
	p->st = IP_UP;
}

static void start_attach(struct mp_iscsi_path *p)
{
	if (!mp_iscsi_session_ready(p->s) || p->attach)
		return;
	bool refused = p->st == IP_REFUSED;
	p->st = IP_ATTACH;
	if (!refused)
		p->path.state = MP_PATH_ATTACHING;
	p->attach = mp_attach_start(&p->path, NULL, attach_done, p);
	if (!p->attach) {
		mp_err("disk %s: path %" PRIu32 " %s: cannot start attach: %s", p->path.lu ? mp_lu_name(p->path.lu) : "?",
		       p->path.id, p->path.name, strerror(errno));
		p->st = refused ? IP_REFUSED : IP_WAIT;
		retry_later(p, REATTACH_S);
	}
}

static void retry_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_iscsi_path *p = mp_container_of(w, struct mp_iscsi_path, retry);
	if (p->st == IP_WAIT || p->st == IP_REFUSED)
		start_attach(p);
}

void mp_iscsi_path_session_up(struct mp_iscsi_path *p)
{
	if (p->st == IP_ATTACH || p->st == IP_UP || p->st == IP_REFUSED)
		return; /* (a refused path is re-checked by its own timer) */
	start_attach(p);
}

void mp_iscsi_path_session_down(struct mp_iscsi_path *p, const char *reason)
{
	if (p->attach) {
		mp_attach_cancel(p->attach);
		p->attach = NULL;
	}
	if (p->path.lu && p->path.state != MP_PATH_FAILED)
		mp_lu_path_down(p->path.lu, &p->path, reason);
	if (p->st != IP_REFUSED) {
		p->st = IP_WAIT;
		ev_timer_stop(mp_iscsi_session_loop(p->s), &p->retry);
	}
}

static int path_submit(struct mp_path *path, struct mp_scsi_cmd *cmd)
{
	struct mp_iscsi_path *p = from_path(path);
	if (p->st != IP_ATTACH && p->st != IP_UP) {
		errno = ENOTCONN;
		return -1;
	}
	return mp_iscsi_session_submit(p->s, p, p->lun, cmd);
}

/* The core gave up on the path (an unusable answer): the connection is reset, as open-iscsi's
 * error handling escalates, so nothing of the old connection can arrive late. */
static void path_fail(struct mp_path *path, const char *reason)
{
	mp_iscsi_session_fail(from_path(path)->s, reason);
}

static void path_reinstate(struct mp_path *path)
{
	struct mp_iscsi_path *p = from_path(path);
	if (p->st == IP_REFUSED || p->st == IP_WAIT)
		start_attach(p);
	mp_iscsi_session_reinstate(p->s);
}

static const struct mp_path_ops iscsi_path_ops = {
	.kind = "iscsi",
	.submit = path_submit,
	.fail = path_fail,
	.reinstate = path_reinstate,
};

struct mp_iscsi_path *mp_iscsi_path_new(struct mp_iscsi_session *s, struct mp_lu *lu,
					const struct mp_iscsi_path_opts *o)
{
	struct mp_iscsi_path *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->s = s;
	p->lun = o->lun;
	p->path.ops = &iscsi_path_ops;
	p->path.id = o->id;
	p->path.prio = o->prio;
	snprintf(p->path.iface, sizeof(p->path.iface), "%s", mp_iscsi_session_bound_iface(s));
	snprintf(p->path.name, sizeof(p->path.name), "%s", mp_iscsi_session_name(s));
	snprintf(p->path.portal, sizeof(p->path.portal), "%s", mp_iscsi_session_portal(s));
	ev_timer_init(&p->retry, retry_cb, 0., 0.);
	mp_lu_add_path(lu, &p->path);
	mp_iscsi_session_add_path(s, p); /* attaches at once if the session is ready */
	return p;
}

void mp_iscsi_path_free(struct mp_iscsi_path *p)
{
	if (!p)
		return;
	ev_timer_stop(mp_iscsi_session_loop(p->s), &p->retry);
	if (p->attach) {
		mp_attach_cancel(p->attach);
		p->attach = NULL;
	}
	if (p->path.lu)
		mp_lu_path_down(p->path.lu, &p->path, "removed");
	p->path.state = MP_PATH_FAILED;
	p->st = IP_WAIT;
	/* Commands of this path still in flight reset the session, which completes them. */
	mp_iscsi_session_remove_path(p->s, p);
	if (p->path.lu)
		mp_lu_remove_path(p->path.lu, &p->path);
	free(p);
}
