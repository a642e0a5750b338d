/* Listening sockets on the loop: the accept loop and its back-off, shared by the NBD server and the control socket. */
#include "common/listener.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common/log.h"
#include "common/util.h"

struct mp_listener {
	ev_io io;               /* first: accept_cb casts back */
	ev_timer backoff;       /* running while accept is paused after a resource error */
	struct ev_loop *loop;
	struct mp_unix_sock sock; /* sock.fd is the listening socket; path[0] != 0 for Unix ones */
	struct mp_listener_opts o; /* o.name points at name[] */
	char name[128];
	bool paused;            /* the owner's pause */
	bool episode;           /* accept has failed since the last client: warned once already */
	bool no_backoff;        /* test hook MP_LISTENER_TEST_NO_BACKOFF_ENV */
	bool in_cb;             /* inside the owner's callback: a free waits for its return */
	bool free_pending;
	unsigned episode_failures;
	uint64_t accepted, failures;
};

/* Watch the socket exactly when neither the owner nor a back-off holds it. */
static void update_watch(struct mp_listener *l)
{
	if (!l->paused && !ev_is_active(&l->backoff))
		ev_io_start(l->loop, &l->io);
	else
		ev_io_stop(l->loop, &l->io);
}

static void backoff_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_listener *l = mp_container_of(w, struct mp_listener, backoff);
	update_watch(l);  /* the timer is no longer active: watch again unless paused */
}

/* Errors that belong to one connection, not to the listener: skip it, take the next. accept(2)
 * on Linux passes on network errors of a connection that failed before it was taken. */
static bool skip_error(int e)
{
	switch (e) {
	case EINTR: case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN:
	case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH: case ETIMEDOUT:
		return true;
	default:
		return false;
	}
}

/* accept failed with e (EMFILE and the like): pause instead of spinning on a ready socket. */
static void start_backoff(struct mp_listener *l, int e)
{
	l->failures++;
	l->episode_failures++;
	if (!l->episode)
		mp_warn("%s: accept on %s: %s; pausing for %g s", l->o.who, l->o.name, strerror(e), l->o.backoff_s);
	else
		mp_debug("%s: accept on %s: %s again; pausing for %g s", l->o.who, l->o.name, strerror(e),
			 l->o.backoff_s);
	l->episode = true;
	if (l->no_backoff)
		return;  /* the watcher stays on: libev calls us again at once */
	ev_timer_set(&l->backoff, l->o.backoff_s, 0.);
	ev_timer_start(l->loop, &l->backoff);
	update_watch(l);
}

static void release(struct mp_listener *l)
{
	ev_io_stop(l->loop, &l->io);
	ev_timer_stop(l->loop, &l->backoff);
	if (l->sock.path[0])
		mp_unix_close(&l->sock);
	else if (l->sock.fd >= 0)
		close(l->sock.fd);
	free(l);
}

static void accept_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents MP_UNUSED)
{
	struct mp_listener *l = (struct mp_listener *)w;  /* io is the first member */

	for (unsigned i = 0; i < l->o.batch && !l->paused; i++) {
		int fd = l->o.sys_accept ? l->o.sys_accept(l->sock.fd)
					 : accept4(l->sock.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (skip_error(errno))
				continue;
			start_backoff(l, errno);
			return;
		}
		l->accepted++;
		if (l->episode) {
			mp_info("%s: accepting on %s again after %u failed attempt(s)", l->o.who, l->o.name,
				l->episode_failures);
			l->episode = false;
			l->episode_failures = 0;
		}
		l->in_cb = true;
		l->o.accept(l, fd, l->o.arg);
		l->in_cb = false;
		if (l->free_pending) {
			release(l);
			return;
		}
	}
}

static struct mp_listener *create(struct ev_loop *loop, const struct mp_unix_sock *s,
				  const struct mp_listener_opts *o)
{
	struct mp_listener *l = NULL;
	if (!o || !o->accept || !o->who || s->fd < 0)
		errno = EINVAL;
	else
		l = calloc(1, sizeof(*l));
	if (!l) {
		int e = errno;
		struct mp_unix_sock copy = *s;
		if (copy.path[0])
			mp_unix_close(&copy);
		else if (copy.fd >= 0)
			close(copy.fd);
		errno = e;
		return NULL;
	}
	l->loop = loop;
	l->sock = *s;
	l->o = *o;
	snprintf(l->name, sizeof(l->name), "%s", o->name ? o->name : "?");
	l->o.name = l->name;
	if (!l->o.batch)
		l->o.batch = MP_LISTENER_BATCH;
	if (!(l->o.backoff_s > 0))
		l->o.backoff_s = MP_LISTENER_BACKOFF_S;
	l->no_backoff = getenv(MP_LISTENER_TEST_NO_BACKOFF_ENV) != NULL;
	if (l->no_backoff)
		mp_warn("%s: %s set: accept back-off OFF on %s (tests only)", l->o.who,
			MP_LISTENER_TEST_NO_BACKOFF_ENV, l->name);
	ev_io_init(&l->io, accept_cb, l->sock.fd, EV_READ);
	ev_timer_init(&l->backoff, backoff_cb, l->o.backoff_s, 0.);
	update_watch(l);
	return l;
}

struct mp_listener *mp_listener_new(struct ev_loop *loop, int fd, const struct mp_listener_opts *o)
{
	struct mp_unix_sock s = { .fd = fd };  /* empty path: a plain close on free */
	return create(loop, &s, o);
}

struct mp_listener *mp_listener_new_unix(struct ev_loop *loop, const struct mp_unix_sock *s,
					 const struct mp_listener_opts *o)
{
	return create(loop, s, o);
}

void mp_listener_pause(struct mp_listener *l)
{
	l->paused = true;
	update_watch(l);
}

void mp_listener_resume(struct mp_listener *l)
{
	l->paused = false;
	update_watch(l);
}

bool mp_listener_backing_off(const struct mp_listener *l)
{
	return ev_is_active(&l->backoff);
}

uint64_t mp_listener_accepted(const struct mp_listener *l)
{
	return l->accepted;
}

uint64_t mp_listener_failures(const struct mp_listener *l)
{
	return l->failures;
}

int mp_listener_fd(const struct mp_listener *l)
{
	return l->sock.fd;
}

void mp_listener_free(struct mp_listener *l)
{
	if (!l)
		return;
	if (l->in_cb) {
		/* accept_cb still uses l after the callback returns: it frees it then. */
		l->free_pending = true;
		l->paused = true;
		update_watch(l);
		return;
	}
	release(l);
}
