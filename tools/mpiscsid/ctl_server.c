/* mpiscsid's control socket: Unix listener, non-blocking clients, command handlers over the model. */
#include "tools/mpiscsid/ctl_server.h"
#include "tools/mpiscsid/ctl_redundancy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/admission.h"
#include "common/listener.h"
#include "common/log.h"
#include "common/unix_listen.h"
#include "common/util.h"
#include "initiator/session.h"
#include "mpath/lu.h"
#include "mpath/rtpg.h"
#include "tools/ctl/ctl_proto.h"
#include "tools/mpiscsid/ctl_int.h"

static void client_run(struct ctl_client *c);
static void client_close(struct ctl_client *c);

/* ---- command handlers (the show and path commands: ctl_show.c) ---- */

static int cmd_reconfigure(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
			   struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	char msg[256] = "";
	struct mp_ctl_reload_counts c = { 0 };
	if (!m->reconfigure) {
		mp_ctl_error_set(err, ENOSYS, "this daemon cannot reload");
		return -1;
	}
	if (m->reconfigure(m->arg, &c, msg, sizeof(msg)) != 0) {
		mp_ctl_error_set(err, errno ? errno : EINVAL, "%s", msg);
		return -1;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "result", json_object_new_string(msg));
	json_object_object_add(*data, "added", json_object_new_int64(c.added));
	json_object_object_add(*data, "removed", json_object_new_int64(c.removed));
	json_object_object_add(*data, "changed", json_object_new_int64(c.changed));
	json_object_object_add(*data, "unchanged", json_object_new_int64(c.unchanged));
	json_object_object_add(*data, "failed", json_object_new_int64(c.failed));
	return 0;
}

static int cmd_node(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
		    struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	bool login = req->spec->id == MP_CTL_CMD_NODE_LOGIN;
	const char *target = NULL, *portal = NULL, *iface = NULL;
	int64_t lun = -1, timeout_s = 30;
	char msg[256] = "";
	mp_ctl_arg_string(req, "target", &target);
	mp_ctl_arg_string(req, "portal", &portal);
	mp_ctl_arg_string(req, "iface", &iface);
	mp_ctl_arg_int(req, "lun", &lun);
	mp_ctl_arg_int(req, "timeout_s", &timeout_s);
	if (login ? !m->node_login : !m->node_logout) {
		mp_ctl_error_set(err, ENOSYS, "this daemon cannot log in or out at run time");
		return -1;
	}
	errno = 0;
	int rc;
	if (login) {
		/* The reply waits for the login's outcome: the model answers through later. */
		struct mp_ctl_later *l = ctl->serving ? calloc(1, sizeof(*l)) : NULL;
		if (!l) {
			mp_ctl_error_set(err, ENOMEM, "out of memory");
			return -1;
		}
		l->ctl = ctl;
		rc = m->node_login(m->arg, target, portal, lun, iface, (double)timeout_s, l, msg, sizeof(msg));
		if (rc == 1) {
			l->c = ctl->serving;
			l->c->later = l;
			l->next = ctl->laters;
			if (l->next)
				l->next->prev = l;
			ctl->laters = l;
			return 1;
		}
		free(l);
	} else {
		rc = m->node_logout(m->arg, target, portal, lun, iface, msg, sizeof(msg));
	}
	if (rc != 0) {
		mp_ctl_error_set(err, errno ? errno : EINVAL, "%s", msg);
		return -1;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "result", json_object_new_string(msg));
	return 0;
}

static void later_unlink(struct mp_ctl_later *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		l->ctl->laters = l->next;
	if (l->next)
		l->next->prev = l->prev;
}

void mp_ctl_later_set_cancel(struct mp_ctl_later *l, void (*cancel)(void *arg), void *arg)
{
	l->cancel = cancel;
	l->cancel_arg = arg;
}

static json_object *login_json(const struct mp_ctl_login_result *r)
{
	json_object *o = json_object_new_object(), *ss = json_object_new_array(), *ds = json_object_new_array();
	json_object_object_add(o, "result", json_object_new_string(r->message ? r->message : ""));
	for (size_t i = 0; i < r->n_sessions; i++) {
		const struct mp_ctl_login_session *x = &r->sessions[i];
		json_object *so = json_object_new_object();
		json_object_object_add(so, "iface", json_object_new_string(x->iface ? x->iface : ""));
		json_object_object_add(so, "portal", json_object_new_string(x->portal ? x->portal : ""));
		json_object_object_add(so, "logged_in", json_object_new_boolean(x->err == 0));
		json_object_object_add(so, "code", x->err ? json_object_new_string(mp_ctl_errno_code(x->err)) : NULL);
		json_object_object_add(so, "error", str_or_null(x->err ? x->error : NULL));
		json_object_array_add(ss, so);
	}
	for (size_t i = 0; i < r->n_disks; i++) {
		const struct mp_ctl_login_disk *x = &r->disks[i];
		json_object *d = json_object_new_object();
		json_object_object_add(d, "lun", json_object_new_int64(x->lun));
		json_object_object_add(d, "disk", str_or_null(x->disk));
		json_object_object_add(d, "export", str_or_null(x->export_name));
		json_object_object_add(d, "device", x->device && x->device[0] ? json_object_new_string(x->device) : NULL);
		json_object_object_add(d, "state", str_or_null(x->state));
		json_object_array_add(ds, d);
	}
	json_object_object_add(o, "sessions", ss);
	json_object_object_add(o, "disks", ds);
	return o;
}

void mp_ctl_later_login_done(struct mp_ctl_later *l, const struct mp_ctl_login_result *r)
{
	struct ctl_client *c = l->c;
	later_unlink(l);
	free(l);
	if (r->err)
		mp_info("control: node-login refused: %s", r->message ? r->message : "");
	if (!c)
		return; /* the client went away: nobody to tell */
	c->later = NULL;
	char *reply;
	if (r->err) {
		struct mp_ctl_error e;
		mp_ctl_error_set(&e, r->err, "%s", r->message ? r->message : "login failed");
		reply = mp_ctl_reply_error(&e, &c->out_len);
	} else {
		reply = mp_ctl_reply_ok(login_json(r), &c->out_len);
	}
	if (!reply) {
		mp_warn("control: out of memory for a reply");
		client_close(c);
		return;
	}
	c->out = reply;
	c->out_off = 0;
	c->last_progress = ev_now(c->ctl->loop);
	client_run(c);
}

static int cmd_show_redundancy(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED,
			       json_object **data, struct mp_ctl_error *err)
{
	if (ctl_redundancy_json(&ctl->model, data) == 0)
		return 0;
	mp_ctl_error_set(err, errno, "show-redundancy: %s", strerror(errno));
	return -1;
}

/* Handlers by command; a command without one answers ENOSYS. */
static ctl_handler_fn *const handlers[MP_CTL_CMD__COUNT] = {
	[MP_CTL_CMD_VERSION] = cmd_version,
	[MP_CTL_CMD_SHOW_TOPOLOGY] = cmd_show_disks,
	[MP_CTL_CMD_SHOW_PATHS] = cmd_show_paths,
	[MP_CTL_CMD_SHOW_DISKS] = cmd_show_disks,
	[MP_CTL_CMD_FAIL_PATH] = cmd_path_control,
	[MP_CTL_CMD_REINSTATE_PATH] = cmd_path_control,
	[MP_CTL_CMD_SWITCHGROUP] = cmd_switchgroup,
	[MP_CTL_CMD_SHOW_SESSIONS] = cmd_show_sessions,
	[MP_CTL_CMD_SHOW_CONFIG] = cmd_show_config,
	[MP_CTL_CMD_RECONFIGURE] = cmd_reconfigure,
	[MP_CTL_CMD_NODE_LOGIN] = cmd_node,
	[MP_CTL_CMD_NODE_LOGOUT] = cmd_node,
	[MP_CTL_CMD_SHOW_MAPS] = cmd_show_maps,
	[MP_CTL_CMD_SHOW_REDUNDANCY] = cmd_show_redundancy,
};

/* Answer one request line: a malloc'd reply line, or NULL when out of memory. */
static char *handle_line(struct mp_ctl *ctl, const char *line, size_t len, size_t *out_len, bool *fatal,
			 bool *deferred)
{
	struct mp_ctl_request req;
	struct mp_ctl_error err = { 0 };
	json_object *data = NULL;
	char *reply;

	if (mp_ctl_request_parse(line, len, &req, &err) < 0) {
		*fatal = err.err == EMSGSIZE;
		mp_debug("control: bad request: %s", err.message);
		return mp_ctl_reply_error(&err, out_len);
	}
	ctl_handler_fn *fn = handlers[req.spec->id];
	if (!fn)
		mp_ctl_error_set(&err, ENOSYS, "command '%s' is not implemented by this daemon", req.spec->name);
	int rc = fn ? fn(ctl, &req, &data, &err) : -1;
	if (rc == 1) {
		*deferred = true; /* the handler took a later: the reply comes from mp_ctl_later_*_done */
		reply = NULL;
	} else if (rc == 0) {
		reply = mp_ctl_reply_ok(data, out_len);
	} else {
		json_object_put(data);
		if (req.spec->mutates)
			mp_info("control: %s refused: %s", req.spec->name, err.message);
		reply = mp_ctl_reply_error(&err, out_len);
	}
	mp_ctl_request_clear(&req);
	return reply;
}

/* ---- clients ---- */

static void client_close(struct ctl_client *c)
{
	struct mp_ctl *ctl = c->ctl;
	mp_admit_end(&ctl->adm, &c->pend);
	if (c->later)
		c->later->c = NULL; /* the login goes on; its outcome is dropped */
	ev_io_stop(ctl->loop, &c->io);
	ev_timer_stop(ctl->loop, &c->timer);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->n_clients--;
	free(c->out);
	free(c);
}

/* Send what the socket takes now: 0 (done or would block) or -1 (peer gone). */
static int client_flush(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
		c->last_progress = ev_now(c->ctl->loop);
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

static void client_set_events(struct ctl_client *c, int events)
{
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(c->ctl->loop, &c->io);
	if (!events)
		return; /* waiting for a later reply: not even EOF is read (it would fire forever) */
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->ctl->loop, &c->io);
}

/*
 * Advance one client as far as it goes without blocking: send the pending
 * reply; when none is pending, answer the next buffered line. Closes the
 * client when it is finished or broken; then c is gone.
 */
static void client_run(struct ctl_client *c)
{
	for (;;) {
		if (c->later)
			break; /* its reply comes later; later requests wait in the socket */
		if (c->out) {
			if (client_flush(c) < 0) {
				client_close(c);
				return;
			}
			if (c->out)
				break;
		}
		if (c->close_after_reply) {
			client_close(c);
			return;
		}
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t line_len, used;
		if (nl) {
			line_len = (size_t)(nl - c->in);
			used = line_len + 1;
		} else if (c->in_len == sizeof(c->in) || (c->eof && c->in_len > 0)) {
			line_len = used = c->in_len;  /* overlong (parse refuses it) or the last line */
		} else if (c->eof) {
			client_close(c);
			return;
		} else {
			break;
		}
		bool fatal = false, deferred = false;
		mp_admit_end(&c->ctl->adm, &c->pend);  /* a request in progress is never evicted */
		c->ctl->serving = c;
		c->out = handle_line(c->ctl, c->in, line_len, &c->out_len, &fatal, &deferred);
		c->ctl->serving = NULL;
		c->out_off = 0;
		if (!c->out && !deferred) {
			mp_warn("control: out of memory for a reply");
			client_close(c);
			return;
		}
		c->close_after_reply |= fatal;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
	client_set_events(c, c->later ? 0 : c->out ? EV_WRITE : EV_READ);
}

static void client_io_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents)
{
	struct ctl_client *c = (struct ctl_client *)w;  /* io is the first member */

	if ((revents & EV_READ) && !c->out && !c->eof && c->in_len < sizeof(c->in)) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			c->last_progress = ev_now(c->ctl->loop);
		} else if (n == 0) {
			c->eof = true;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			client_close(c);
			return;
		}
	}
	client_run(c);
}

/* Lazy timeout: the timer wakes at most every MP_CTL_STALL_TIMEOUT and compares with last_progress. */
static void client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents MP_UNUSED)
{
	struct ctl_client *c = mp_container_of(w, struct ctl_client, timer);
	ev_tstamp left;
	if (c->later) {
		/* Waiting for a later reply: the model answers by its own deadline. */
		w->repeat = MP_CTL_STALL_TIMEOUT;
		ev_timer_again(loop, w);
		return;
	}
	if (c->pend.pending) {
		/* From accept, not from the last byte: a trickle does not keep a slot. */
		left = c->accepted + MP_CTL_PENDING_TIMEOUT - ev_now(loop);
		if (left <= 0) {
			mp_debug("control: closing a client without a request after %.0f s", MP_CTL_PENDING_TIMEOUT);
			client_close(c);
			return;
		}
	} else {
		bool busy = c->out || c->in_len > 0;
		ev_tstamp limit = busy ? MP_CTL_STALL_TIMEOUT : MP_CTL_IDLE_TIMEOUT;
		left = c->last_progress + limit - ev_now(loop);
		if (left <= 0) {
			mp_debug("control: closing a client %s for %.0f s", busy ? "stalled" : "idle", limit);
			client_close(c);
			return;
		}
	}
	w->repeat = MP_MIN(left, MP_CTL_STALL_TIMEOUT);
	ev_timer_again(loop, w);
}

static void refuse_client(int fd, unsigned n)
{
	struct mp_ctl_error err;
	size_t len;
	mp_ctl_error_set(&err, EBUSY, "%u control clients connected, try again later", n);
	char *line = mp_ctl_reply_error(&err, &len);
	if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		mp_debug("control: refusing a client: %s", strerror(errno));
	free(line);
	close(fd);
}

static void evict_log(struct mp_admit *a, uint64_t n)
{
	struct mp_ctl *ctl = mp_container_of(a, struct mp_ctl, adm);
	mp_warn("control: %llu client(s) that sent no request closed to admit new ones (control_max_pending %u, "
		"control_max_clients %u)", (unsigned long long)n, ctl->adm.max_pending, ctl->adm.max_clients);
}

/* Close the oldest client that has sent no request, for a newcomer. */
static void evict(struct mp_admit *a MP_UNUSED, struct mp_admit_entry *e)
{
	client_close(mp_container_of(e, struct ctl_client, pend));
}

static void accept_cb(struct mp_listener *l MP_UNUSED, int fd, void *arg)
{
	struct mp_ctl *ctl = arg;

	if (!mp_admit_newcomer(&ctl->adm, ctl->n_clients)) {
		mp_warn("control: %u clients connected, refusing another", ctl->n_clients);
		refuse_client(fd, ctl->n_clients);
		return;
	}
	struct ctl_client *c = calloc(1, sizeof(*c));
	if (!c) {
		mp_warn("control: out of memory for a new client");
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->last_progress = c->accepted = ev_now(ctl->loop);
	c->next = ctl->clients;
	if (c->next)
		c->next->prev = c;
	ctl->clients = c;
	ctl->n_clients++;
	mp_admit_begin(&ctl->adm, &c->pend);
	ev_io_init(&c->io, client_io_cb, fd, EV_READ);
	ev_io_start(ctl->loop, &c->io);
	ev_init(&c->timer, client_timer_cb);
	c->timer.repeat = MP_CTL_PENDING_TIMEOUT;
	ev_timer_again(ctl->loop, &c->timer);
}

/* ---- listening ---- */

struct mp_ctl *mp_ctl_new(struct ev_loop *loop, const char *path, const struct mp_ctl_model *model,
			  char *err, size_t errlen)
{
	if (!model || !model->n_disks || !model->disk_lu || !model->disk_name) {
		snprintf(err, errlen, "control socket: incomplete model");
		errno = EINVAL;
		return NULL;
	}
	struct mp_ctl *ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	mp_admit_init(&ctl->adm, loop, evict, evict_log);
	ctl->adm.max_clients = MP_CTL_MAX_CLIENTS;
	ctl->adm.max_pending = MP_CTL_MAX_PENDING;
	ctl->adm.log_interval = MP_CTL_EVICT_LOG_INTERVAL;
	ctl->adm.no_budget = getenv(MP_CTL_TEST_NO_BUDGET_ENV) != NULL;
	if (ctl->adm.no_budget)
		mp_warn("control: %s set: pending-client budget OFF (tests only)", MP_CTL_TEST_NO_BUDGET_ENV);
	ctl->loop = loop;
	ctl->model = *model;
	/* 0600: the socket's mode is the only access control. */
	struct mp_unix_sock sock;
	const struct mp_listener_opts lo = { .who = "control", .name = path, .batch = 16, .accept = accept_cb,
					     .arg = ctl };
	if (mp_unix_listen(path, 0600, 16, &sock, err, errlen) < 0 ||
	    !(ctl->lst = mp_listener_new_unix(loop, &sock, &lo))) {
		int e = errno;
		if (e == ENOMEM)
			snprintf(err, errlen, "out of memory");
		free(ctl);
		errno = e;
		return NULL;
	}
	mp_info("control: listening on unix:%s", path);
	return ctl;
}

void mp_ctl_set_max_clients(struct mp_ctl *ctl, unsigned n)
{
	ctl->adm.max_clients = n ? n : MP_CTL_MAX_CLIENTS;
}

void mp_ctl_set_max_pending(struct mp_ctl *ctl, unsigned n)
{
	ctl->adm.max_pending = n ? n : MP_CTL_MAX_PENDING;
}

unsigned mp_ctl_client_count(const struct mp_ctl *ctl)
{
	return ctl->n_clients;
}

unsigned mp_ctl_pending_count(const struct mp_ctl *ctl)
{
	return ctl->adm.n_pending;
}

uint64_t mp_ctl_evictions(const struct mp_ctl *ctl)
{
	return ctl->adm.evictions;
}

void mp_ctl_free(struct mp_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_close(ctl->clients);
	/* Replies still owed: the model drops its waits (and never answers them). */
	while (ctl->laters) {
		struct mp_ctl_later *l = ctl->laters;
		later_unlink(l);
		if (l->cancel)
			l->cancel(l->cancel_arg);
		free(l);
	}
	mp_listener_free(ctl->lst);
	mp_admit_stop(&ctl->adm);
	free(ctl);
}
