/* NBD server on a libev loop: exports logical units of the multipath core to NBD clients. */
#ifndef MP_TRANSPORT_NBD_SERVER_H
#define MP_TRANSPORT_NBD_SERVER_H

#include <stddef.h>
#include <ev.h>

struct mp_lu;
struct nbd_server;

/*
 * Contract
 * - Everything runs on the one loop given to nbd_server_new(); no function here
 *   blocks, none is thread-safe.
 * - Fixed newstyle handshake only. Options: EXPORT_NAME, ABORT, LIST, INFO, GO,
 *   STRUCTURED_REPLY; STARTTLS is refused with NBD_REP_ERR_POLICY; anything
 *   else gets NBD_REP_ERR_UNSUP.
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
/* A client must finish the handshake within this many seconds. */
#define NBD_SERVER_HANDSHAKE_TIMEOUT  30.0

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
 * Start listening. spec is "unix:/path": the parent directory is created
 * (0755) if missing, a stale socket at path is removed (any other kind of file
 * there is an error), the socket gets mode 0660. "tcp:..." is not supported
 * yet. Can be called more than once. Returns 0, or -1 with errno set and a
 * message in err.
 */
int nbd_server_listen(struct nbd_server *srv, const char *spec, char *err, size_t errlen);

/* Connected clients (in handshake or transmission), for tools and tests. */
unsigned nbd_server_client_count(const struct nbd_server *srv);

/*
 * Stop listening (unlinking the socket files this server created), close every
 * client connection, free the exports and the server. Requests still in the
 * core complete later into orphaned connections, which free themselves (see
 * Lifetime above); the loop must keep running, or the LUs be freed, for that.
 */
void nbd_server_free(struct nbd_server *srv);

#endif
