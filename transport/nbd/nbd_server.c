/* NBD server: exports, Unix and TCP listeners with their TLS policy, accepting clients, shutdown. */
#include "transport/nbd/nbd_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/log.h"
#include "common/util.h"

static void evict(struct mp_admit *a, struct mp_admit_entry *e);
static void evict_log(struct mp_admit *a, uint64_t n);

void nbd_server_set_limits(struct nbd_server *srv, const struct nbd_limits *lim)
{
	srv->lim.max_clients = lim->max_clients ? lim->max_clients : NBD_SERVER_MAX_CLIENTS_DEFAULT;
	srv->lim.max_handshakes = lim->max_handshakes ? lim->max_handshakes : NBD_SERVER_MAX_HANDSHAKES_DEFAULT;
	srv->lim.handshake_timeout_ms = lim->handshake_timeout_ms ? lim->handshake_timeout_ms
								   : NBD_SERVER_HANDSHAKE_TIMEOUT_MS;
	srv->lim.max_inflight = lim->max_inflight ? lim->max_inflight : NBD_SERVER_MAX_INFLIGHT;
	srv->lim.max_inflight_bytes = lim->max_inflight_bytes ? lim->max_inflight_bytes : NBD_SERVER_MAX_INFLIGHT_BYTES;
	srv->lim.max_request = lim->max_request && lim->max_request < NBD_MAX_PAYLOAD ? lim->max_request : NBD_MAX_PAYLOAD;
	srv->adm.max_pending = srv->lim.max_handshakes;
	srv->adm.max_clients = srv->lim.max_clients;
}

struct nbd_server *nbd_server_new(struct ev_loop *loop)
{
	struct nbd_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->loop = loop;
	mp_admit_init(&srv->adm, loop, evict, evict_log);
	nbd_server_set_limits(srv, &(struct nbd_limits){ 0 });
	srv->adm.no_budget = getenv(NBD_SERVER_TEST_NO_BUDGET_ENV) != NULL;
	if (srv->adm.no_budget)
		mp_warn("nbd: %s set: handshake budget OFF, pending handshakes are never evicted (tests only)",
			NBD_SERVER_TEST_NO_BUDGET_ENV);
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

int nbd_server_remove_export(struct nbd_server *srv, const char *name)
{
	struct nbd_export **pp = &srv->exports;
	while (*pp && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	struct nbd_export *x = *pp;
	if (!x) {
		errno = ENOENT;
		return -1;
	}
	/* Clients of this LU go; their requests still in the core finish into orphaned connections. */
	for (struct nbd_conn *c = srv->conns, *next; c; c = next) {
		next = c->next;
		if (c->lu == x->lu)
			nbd_conn_close(c, "export removed");
	}
	*pp = x->next;
	mp_info("nbd: export '%s' removed", x->name);
	free(x->name);
	free(x->desc);
	free(x);
	return 0;
}

void nbd_server_conn_gone(struct nbd_server *srv, struct nbd_conn *c)
{
	mp_admit_end(&srv->adm, &c->hs);
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

unsigned nbd_server_handshake_count(const struct nbd_server *srv)
{
	return srv->adm.n_pending;
}

uint64_t nbd_server_evictions(const struct nbd_server *srv)
{
	return srv->adm.evictions;
}

/* ---- the pending-handshake budget ---- */

static void evict_log(struct mp_admit *a, uint64_t n)
{
	struct nbd_server *srv = mp_container_of(a, struct nbd_server, adm);
	mp_warn("nbd: %llu pending handshake(s) closed to admit new clients (max_handshakes %u, max_clients %u): "
		"clients connect and do not finish the handshake", (unsigned long long)n,
		srv->lim.max_handshakes, srv->lim.max_clients);
}

/* Close the oldest pending handshake for a newcomer (debug per client: the warning is counted). */
static void evict(struct mp_admit *a MP_UNUSED, struct mp_admit_entry *e)
{
	struct nbd_conn *old = mp_container_of(e, struct nbd_conn, hs);
	mp_debug("nbd: client %llu: closing: oldest pending handshake, room for a new client",
		 (unsigned long long)old->id);
	nbd_conn_close(old, NULL);  /* unlinks it from both lists */
}

bool nbd_server_admit(struct nbd_server *srv)
{
	/* Clients in transmission are never touched. */
	return mp_admit_newcomer(&srv->adm, srv->n_conns);
}

/* ---- accepting ---- */

static void listener_accept_cb(struct mp_listener *lst MP_UNUSED, int fd, void *arg)
{
	struct nbd_listener *l = arg;
	struct nbd_server *srv = l->srv;

	if (!nbd_server_admit(srv)) {
		mp_warn("nbd: %u clients connected, refusing another", srv->n_conns);
		close(fd);
		return;
	}
	if (l->tcp) {
		/* Replies are small and latency-bound: no Nagle delay behind them. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (!nbd_conn_new(srv, fd, l->tls))
		mp_warn("nbd: out of memory for a new client");
}

/* A listening TCP socket for a (name for messages), or -1 with errno and err. */
static int listen_tcp(const char *name, const struct nbd_listen_addr *a, char *err, size_t errlen)
{
	int one = 1;
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: socket: %s", name, strerror(e));
		errno = e;
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] means IPv6 only: IPv4 gets its own listener, so what is bound is what was written. */
	if (a->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->sa, a->salen) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", name, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static const char *policy_name(enum nbd_tls_policy p)
{
	switch (p) {
	case NBD_TLS_NONE: return "no TLS";
	case NBD_TLS_OPTIONAL: return "TLS optional";
	case NBD_TLS_REQUIRED: return "TLS required";
	}
	return "?";
}

int nbd_server_listen_opts(struct nbd_server *srv, const char *spec, const struct nbd_listen_opts *opts,
			   char *err, size_t errlen)
{
	static const struct nbd_listen_opts defaults = { .tls = NBD_TLS_NONE };
	struct nbd_listen_addr a;
	char why[160];

	if (!opts)
		opts = &defaults;
	if (nbd_listen_addr_parse(spec, &a, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "'%s': %s", spec, why);
		errno = EINVAL;
		return -1;
	}
	if (opts->tls != NBD_TLS_NONE && !srv->tls) {
		snprintf(err, errlen, "%s: TLS is asked for but the server has no TLS credentials", spec);
		errno = EINVAL;
		return -1;
	}
	if (a.kind == NBD_ADDR_TCP && opts->tls != NBD_TLS_REQUIRED && !(opts->insecure && a.loopback)) {
		snprintf(err, errlen, "%s: TCP without required TLS is refused%s", spec,
			 opts->insecure ? " on an address that is not loopback (127.0.0.0/8, ::1)"
					: ": configure TLS, or allow it on a loopback address for tests (insecure)");
		errno = EPERM;
		return -1;
	}
	struct nbd_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	snprintf(l->name, sizeof(l->name), "%s", spec);
	l->tls = opts->tls;
	l->srv = srv;
	l->tcp = a.kind != NBD_ADDR_UNIX;
	const struct mp_listener_opts lo = { .who = "nbd", .name = spec, .batch = 64,
					     .accept = listener_accept_cb, .arg = l };
	struct mp_unix_sock us;
	int fd = -1;
	if (!l->tcp && mp_unix_listen(a.path, 0660, 128, &us, err, errlen) == 0)
		l->lst = mp_listener_new_unix(srv->loop, &us, &lo);
	else if (l->tcp && (fd = listen_tcp(spec, &a, err, errlen)) >= 0)
		l->lst = mp_listener_new(srv->loop, fd, &lo);
	if (!l->lst) {
		int e = errno;
		if (e == ENOMEM)
			snprintf(err, errlen, "%s: out of memory", spec);
		free(l);
		errno = e;
		return -1;
	}
	l->next = srv->listeners;
	srv->listeners = l;
	mp_info("nbd: listening on %s (%s)", spec, policy_name(l->tls));
	return 0;
}

int nbd_server_listen(struct nbd_server *srv, const char *spec, char *err, size_t errlen)
{
	return nbd_server_listen_opts(srv, spec, NULL, err, errlen);
}

void nbd_server_set_pending(struct nbd_server *srv, nbd_pending_fn *fn, void *arg)
{
	srv->pending = fn;
	srv->pending_arg = arg;
}

void nbd_server_set_tls(struct nbd_server *srv, struct nbd_tls_creds *creds)
{
	nbd_tls_creds_unref(srv->tls);
	srv->tls = creds;
	if (creds)
		mp_info("nbd: TLS credentials: %s", nbd_tls_creds_describe(creds));
}

void nbd_server_free(struct nbd_server *srv)
{
	if (!srv)
		return;
	while (srv->listeners) {
		struct nbd_listener *l = srv->listeners;
		srv->listeners = l->next;
		mp_listener_free(l->lst);
		free(l);
	}
	/* Closing unlinks each connection; those with requests in the core live on, orphaned. */
	while (srv->conns)
		nbd_conn_close(srv->conns, "server shutting down");
	mp_admit_stop(&srv->adm);
	nbd_tls_creds_unref(srv->tls);  /* sessions were closed above: this was the last reference */
	while (srv->exports) {
		struct nbd_export *x = srv->exports;
		srv->exports = x->next;
		free(x->name);
		free(x->desc);
		free(x);
	}
	free(srv);
}
