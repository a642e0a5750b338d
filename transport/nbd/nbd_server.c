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
		int fd = accept4(l->sock.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors or memory: pause instead of spinning on a ready socket. */
			mp_warn("nbd: accept on %s: %s; pausing for %.0f s", l->sock.path, strerror(errno),
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

static int listen_unix(struct nbd_server *srv, const char *path, char *err, size_t errlen)
{
	struct nbd_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	if (mp_unix_listen(path, 0660, 128, &l->sock, err, errlen) < 0) {
		int e = errno;
		free(l);
		errno = e;
		return -1;
	}
	l->srv = srv;
	ev_io_init(&l->io, listener_accept_cb, l->sock.fd, EV_READ);
	ev_timer_init(&l->backoff, listener_backoff_cb, ACCEPT_BACKOFF_S, 0.);
	ev_io_start(srv->loop, &l->io);
	l->next = srv->listeners;
	srv->listeners = l;
	mp_info("nbd: listening on unix:%s", path);
	return 0;
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
		mp_unix_close(&l->sock);
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
