/* NBD server: exports, Unix socket listeners, accepting clients, shutdown. */
#include "transport/nbd/nbd_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/log.h"
#include "common/util.h"

#define ACCEPT_BACKOFF_S 1.0

struct nbd_server *nbd_server_new(struct ev_loop *loop)
{
	struct nbd_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->loop = loop;
	return srv;
}

const struct nbd_export *nbd_server_find_export(const struct nbd_server *srv, const char *name, size_t len)
{
	if (len == 0)
		return srv->exports;  /* the default export */
	for (const struct nbd_export *e = srv->exports; e; e = e->next)
		if (e->name_len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

int nbd_server_add_export(struct nbd_server *srv, const char *name, const char *description,
			  struct mp_lu *lu)
{
	size_t nl = name ? strlen(name) : 0;
	size_t dl = description ? strlen(description) : 0;

	if (!lu || nl == 0 || nl > NBD_MAX_STRING || dl > NBD_MAX_STRING) {
		errno = EINVAL;
		return -1;
	}
	for (const struct nbd_export *e = srv->exports; e; e = e->next) {
		if (e->name_len == nl && memcmp(e->name, name, nl) == 0) {
			errno = EEXIST;
			return -1;
		}
	}
	struct nbd_export *x = calloc(1, sizeof(*x));
	if (!x || !(x->name = strdup(name)) || !(x->desc = strdup(description ? description : ""))) {
		if (x)
			free(x->name);
		free(x);
		errno = ENOMEM;
		return -1;
	}
	x->name_len = nl;
	x->desc_len = dl;
	x->lu = lu;
	struct nbd_export **tail = &srv->exports;
	while (*tail)
		tail = &(*tail)->next;
	*tail = x;
	mp_info("nbd: export '%s'%s", name, srv->exports == x ? " (default)" : "");
	return 0;
}

void nbd_server_conn_gone(struct nbd_server *srv, struct nbd_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	srv->n_conns--;
}

unsigned nbd_server_client_count(const struct nbd_server *srv)
{
	return srv->n_conns;
}

/* ---- accepting ---- */

static void listener_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents MP_UNUSED)
{
	struct nbd_listener *l = mp_container_of(w, struct nbd_listener, backoff);
	ev_io_start(loop, &l->io);
}

static void listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents MP_UNUSED)
{
	struct nbd_listener *l = (struct nbd_listener *)w;  /* io is the first member */
	struct nbd_server *srv = l->srv;

	for (unsigned i = 0; i < 64; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors or memory: pause instead of spinning on a ready socket. */
			mp_warn("nbd: accept on %s: %s; pausing for %.0f s", l->path, strerror(errno),
				ACCEPT_BACKOFF_S);
			ev_io_stop(loop, &l->io);
			ev_timer_set(&l->backoff, ACCEPT_BACKOFF_S, 0.);
			ev_timer_start(loop, &l->backoff);
			return;
		}
		if (srv->n_conns >= NBD_SERVER_MAX_CLIENTS) {
			mp_warn("nbd: %u clients connected, refusing another", srv->n_conns);
			close(fd);
			continue;
		}
		if (!nbd_conn_new(srv, fd))
			mp_warn("nbd: out of memory for a new client");
	}
}

/* mkdir -p for the directory part of path. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			snprintf(err, errlen, "cannot create directory %s: %s", tmp, strerror(e));
			errno = e;
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* Remove a socket file nobody listens on; refuse anything else at path. */
static int remove_stale_socket(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		errno = EEXIST;
		return -1;
	}
	/* Non-blocking: a live server with a full backlog answers EAGAIN instead of blocking us. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		int live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
		close(fd);
		if (live) {
			snprintf(err, errlen, "%s: another server is listening there", path);
			errno = EADDRINUSE;
			return -1;
		}
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		int e = errno;
		snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

static int listen_unix(struct nbd_server *srv, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int e;

	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "unix socket path '%s' is empty or longer than %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		errno = EINVAL;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (make_parent_dirs(path, err, errlen) < 0 || remove_stale_socket(path, &sa, err, errlen) < 0)
		return -1;

	struct nbd_listener *l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		goto fail;
	}
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		snprintf(err, errlen, "bind %s: %s", path, strerror(e));
		goto fail;
	}
	/* Before listen(): nobody can connect while the mode is still the umask's. */
	if (chmod(path, 0660) < 0 || listen(l->fd, 128) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		unlink(path);
		goto fail;
	}
	l->srv = srv;
	ev_io_init(&l->io, listener_accept_cb, l->fd, EV_READ);
	ev_timer_init(&l->backoff, listener_backoff_cb, ACCEPT_BACKOFF_S, 0.);
	ev_io_start(srv->loop, &l->io);
	l->next = srv->listeners;
	srv->listeners = l;
	mp_info("nbd: listening on unix:%s", path);
	return 0;
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l);
	errno = e;
	return -1;
}

int nbd_server_listen(struct nbd_server *srv, const char *spec, char *err, size_t errlen)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(srv, spec + 5, err, errlen);
	if (strncmp(spec, "tcp:", 4) == 0) {
		snprintf(err, errlen, "'%s': TCP listeners are not supported yet, use unix:/path", spec);
		errno = EPROTONOSUPPORT;
		return -1;
	}
	snprintf(err, errlen, "'%s': unknown listen address, expected unix:/path", spec);
	errno = EINVAL;
	return -1;
}

void nbd_server_free(struct nbd_server *srv)
{
	if (!srv)
		return;
	while (srv->listeners) {
		struct nbd_listener *l = srv->listeners;
		srv->listeners = l->next;
		ev_io_stop(srv->loop, &l->io);
		ev_timer_stop(srv->loop, &l->backoff);
		close(l->fd);
		unlink(l->path);
		free(l->path);
		free(l);
	}
	/* Closing unlinks each connection; those with requests in the core live on, orphaned. */
	while (srv->conns)
		nbd_conn_close(srv->conns, "server shutting down");
	while (srv->exports) {
		struct nbd_export *x = srv->exports;
		srv->exports = x->next;
		free(x->name);
		free(x->desc);
		free(x);
	}
	free(srv);
}
