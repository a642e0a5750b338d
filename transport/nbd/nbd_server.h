/* NBD server on a libev loop: exports logical units of the multipath core to NBD clients. */
#ifndef MP_TRANSPORT_NBD_SERVER_H
#define MP_TRANSPORT_NBD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include "transport/nbd/nbd_proto.h"
#include "transport/nbd/nbd_tls.h"

struct mp_lu;
struct nbd_server;

/*
 * Contract
 * - Everything runs on the one loop given to nbd_server_new(); no function here
 *   blocks, none is thread-safe.
 * - Fixed newstyle handshake only. Options: EXPORT_NAME, ABORT, LIST, INFO, GO,
 *   STRUCTURED_REPLY, STARTTLS; anything else gets NBD_REP_ERR_UNSUP.
 * - TLS follows the listener's policy (enum nbd_tls_policy in nbd_tls.h): NONE
 *   refuses STARTTLS with NBD_REP_ERR_POLICY; OPTIONAL and REQUIRED answer it with
 *   NBD_REP_ACK, then the rest of the handshake and all of transmission run over
 *   TLS (a second STARTTLS gets NBD_REP_ERR_INVALID). REQUIRED is the protocol's
 *   FORCEDTLS: before TLS every option but STARTTLS and ABORT gets
 *   NBD_REP_ERR_TLS_REQD and EXPORT_NAME closes the connection. STRUCTURED_REPLY
 *   negotiated before STARTTLS is forgotten (it could have been injected). The
 *   client must wait for the STARTTLS reply: bytes it sent before it close the
 *   connection. There is no handshake flag for TLS in the protocol.
 * - NBD_FLAG_CAN_MULTI_CONN is advertised: every connection to an export talks to
 *   the same mp_lu, whose only cache is the target LU's write cache, shared by all
 *   paths (I_T nexuses). A WRITE is replied to only after the target returned GOOD,
 *   and FLUSH is SYNCHRONIZE CACHE(16) over the whole LU (LBA 0, 0 blocks, not
 *   IMMED), which SBC defines for the logical unit, not the nexus: a FLUSH on any
 *   connection covers every write acknowledged on any connection before it was
 *   sent, and FUA (WRITE(16) FUA) is durable before its reply, as the protocol
 *   requires for multi-conn.
 * - Commands: READ, WRITE (+FUA), FLUSH, TRIM (if the LU has UNMAP),
 *   WRITE_ZEROES (+FUA, +NO_HOLE), DISC. Each request is replied to only after
 *   the core called its done(); replies leave in completion order. A WRITE is
 *   acknowledged only for done(req, 0).
 * - Limits per connection: NBD_SERVER_MAX_INFLIGHT requests and
 *   NBD_SERVER_MAX_INFLIGHT_BYTES of payload buffers (a request counts from
 *   its header until its reply has been written); when either is reached the
 *   server stops reading from that client until replies drain.
 * - Lifetime: a connection holds one reference for its socket and one per
 *   request the core owns. Closing a connection (client gone, protocol error,
 *   nbd_server_free()) closes the socket at once; requests still in the core
 *   keep their connection object and buffers until their done() runs, then the
 *   last one frees it. Nothing in flight is cancelled.
 */

#define NBD_SERVER_MAX_INFLIGHT       256u
#define NBD_SERVER_MAX_INFLIGHT_BYTES (128u * 1024u * 1024u)
#define NBD_SERVER_MAX_CLIENTS_DEFAULT 256u

/*
 * Resource limits (nbd_server_set_limits; 0 in a field keeps its default):
 *   max_clients         connections at once, handshake included (default
 *                       NBD_SERVER_MAX_CLIENTS_DEFAULT). At the limit a new connection takes the
 *                       place of the oldest pending handshake, if there is one; else it is
 *                       closed at accept
 *   max_handshakes      connections still in the handshake (accepted, not yet in transmission;
 *                       TLS handshake after STARTTLS included) at once (default
 *                       NBD_SERVER_MAX_HANDSHAKES_DEFAULT). When a new connection arrives with
 *                       the budget full, the OLDEST pending handshake is closed to make room:
 *                       connections that never finish cannot lock newcomers out, and a client
 *                       in transmission is never closed for a newcomer. O(1) per accept
 *   handshake_timeout_ms  a connection still in the handshake this long after accept is closed
 *                       (default NBD_SERVER_HANDSHAKE_TIMEOUT_MS); applies to connections
 *                       accepted after the change
 *   max_inflight        requests per connection between header and reply (default
 *                       NBD_SERVER_MAX_INFLIGHT); at the limit the server stops reading that
 *                       client until replies drain
 *   max_inflight_bytes  payload buffers per connection, the same way (NBD_SERVER_MAX_INFLIGHT_BYTES)
 *   max_request         largest READ/WRITE length offered as the export's maximum block size
 *                       and accepted (default and ceiling NBD_MAX_PAYLOAD, 32 MiB); a longer
 *                       READ gets an error, a longer WRITE closes the connection (its payload
 *                       cannot be skipped safely)
 * Memory per connection is thus bounded by max_inflight_bytes plus fixed buffers, and by
 * max_clients for the server; a client that never reads its replies stops being read.
 */
struct nbd_limits {
	unsigned max_clients;
	unsigned max_handshakes;
	uint32_t handshake_timeout_ms;
	unsigned max_inflight;
	uint64_t max_inflight_bytes;
	uint32_t max_request;
};
void nbd_server_set_limits(struct nbd_server *srv, const struct nbd_limits *lim);
#define NBD_SERVER_MAX_HANDSHAKES_DEFAULT 32u
#define NBD_SERVER_HANDSHAKE_TIMEOUT_MS   10000u

/*
 * Test hook: with MPISCSI_TEST_NO_HANDSHAKE_BUDGET set in the environment when the server
 * is created, max_handshakes is ignored (nothing is evicted; only max_clients and the
 * handshake timeout hold), which is how the server behaved before the budget existed.
 * For tests that show the budget is what keeps newcomers served.
 */
#define NBD_SERVER_TEST_NO_BUDGET_ENV "MPISCSI_TEST_NO_HANDSHAKE_BUDGET"

/* A server with no exports and no listeners. NULL on allocation failure. */
struct nbd_server *nbd_server_new(struct ev_loop *loop);

/*
 * Export lu under name (1..4096 bytes, no NUL), with an optional description
 * (NULL or ""). The first export added also answers to the default name "".
 * The LU must outlive the server and every request the server submitted to it
 * (mp_lu_free() completes queued requests, which is enough). Its size and
 * limits are read when a client selects the export; an LU with no path attached
 * yet is refused with NBD_REP_ERR_UNKNOWN ("not ready").
 * Returns 0, or -1 with errno EINVAL (bad name), EEXIST (name taken), ENOMEM.
 */
int nbd_server_add_export(struct nbd_server *srv, const char *name, const char *description,
			  struct mp_lu *lu);

/*
 * Who knows the names the server does not export yet but will (disks still attaching).
 * When a client selects (INFO, GO, EXPORT_NAME) a name no export has, or the default
 * export "" while there is none, fn(arg, name, len, why, whylen) is asked: true means
 * "known, not ready yet", and the client gets NBD_REP_ERR_UNKNOWN with why (a
 * NUL-terminated message fn wrote, at most whylen = NBD_PENDING_WHY_MAX bytes) instead of "no such export";
 * EXPORT_NAME, which has no error reply, closes as before. false, or fn NULL (the default):
 * "no such export". NBD_OPT_LIST never shows such names: it lists what is exported.
 * fn runs on the loop, must not block and must not touch the server.
 */
#define NBD_PENDING_WHY_MAX 256
typedef bool nbd_pending_fn(void *arg, const char *name, size_t len, char *why, size_t whylen);
void nbd_server_set_pending(struct nbd_server *srv, nbd_pending_fn *fn, void *arg);

/*
 * Remove the export called name: it is no longer offered, and every client
 * connection that selected it is closed (requests already in the core finish
 * into orphaned connections, as on nbd_server_free). A default export that is
 * removed passes the default to the next one. Returns 0, or -1 with errno ENOENT.
 */
int nbd_server_remove_export(struct nbd_server *srv, const char *name);

/*
 * Give the server TLS credentials (it takes the caller's reference; NULL drops
 * TLS). Connections that already started TLS keep the credentials they began
 * with; later STARTTLS use the new ones.
 */
void nbd_server_set_tls(struct nbd_server *srv, struct nbd_tls_creds *creds);

/* How to listen (nbd_server_listen_opts). */
struct nbd_listen_opts {
	enum nbd_tls_policy tls; /* default NBD_TLS_NONE */
	bool insecure;           /* allow TCP without required TLS (loopback addresses only) */
};

/*
 * Start listening on spec (nbd_addr.h):
 * - "unix:/path": the parent directory is created (0755) if missing, a stale
 *   socket at path is removed (any other kind of file there is an error), the
 *   socket gets mode 0660.
 * - "tcp:A.B.C.D:PORT" or "tcp:[IPV6]:PORT": SO_REUSEADDR, IPV6_V6ONLY; accepted
 *   sockets get TCP_NODELAY. A TCP listener needs opts->tls == NBD_TLS_REQUIRED,
 *   unless opts->insecure is set and the address is a loopback address (EPERM).
 * A policy other than NONE needs credentials (nbd_server_set_tls) first (EINVAL).
 * opts NULL means the defaults. Can be called more than once. Returns 0, or -1
 * with errno set and a message in err naming the address.
 */
int nbd_server_listen_opts(struct nbd_server *srv, const char *spec, const struct nbd_listen_opts *opts,
			   char *err, size_t errlen);

/* nbd_server_listen_opts with the defaults: no TLS (so Unix sockets only). */
int nbd_server_listen(struct nbd_server *srv, const char *spec, char *err, size_t errlen);

/*
 * A connection that begins in transmission phase, with no handshake: the kernel NBD
 * client (transport/nbd_kernel) talks on one end of a socketpair whose other end is fd.
 * Requests are checked against lim (size, min_block, max_payload, tflags; structured
 * replies are not used) and submitted to lu, exactly as for a client that negotiated
 * them. closed(arg, c) runs once when the connection closes for any reason other than
 * nbd_server_conn_close() (end of stream, a protocol error, nbd_server_conn_drain()
 * finishing, nbd_server_free()); c must not be used after it returns. Takes fd (closed
 * on failure). NULL with errno ENOMEM.
 */
struct nbd_conn;
typedef void nbd_conn_closed_fn(void *arg, struct nbd_conn *c);
struct nbd_conn *nbd_server_attach(struct nbd_server *srv, int fd, struct mp_lu *lu,
				   const struct nbd_export_limits *lim, nbd_conn_closed_fn *closed, void *arg);
/*
 * Stop taking requests on c (a WRITE whose payload is still arriving is dropped unanswered);
 * the requests already taken are answered as they complete, then c closes (closed() runs).
 * If nothing is in flight c closes before this returns.
 */
void nbd_server_conn_drain(struct nbd_conn *c);
/* Close c now, without its closed() callback; its requests in the core finish orphaned. */
void nbd_server_conn_close(struct nbd_conn *c);
/* Requests of c between header and reply written. */
unsigned nbd_server_conn_inflight(const struct nbd_conn *c);

/* Connected clients (in handshake or transmission), for tools and tests. */
unsigned nbd_server_client_count(const struct nbd_server *srv);
/* Of those, the ones still in the handshake. */
unsigned nbd_server_handshake_count(const struct nbd_server *srv);
/* Pending handshakes closed to make room for newcomers since the server was created. */
uint64_t nbd_server_evictions(const struct nbd_server *srv);

/*
 * Stop listening (unlinking the socket files this server created), close every
 * client connection (TLS ones with a close_notify when the socket takes it),
 * drop the server's reference on its TLS credentials, free the exports and the server. Requests still in the
 * core complete later into orphaned connections, which free themselves (see
 * Lifetime above); the loop must keep running, or the LUs be freed, for that.
 */
void nbd_server_free(struct nbd_server *srv);

#endif
