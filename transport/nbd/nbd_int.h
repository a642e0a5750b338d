/* NBD server internals shared by nbd_server.c, nbd_conn.c, nbd_handshake.c and the I/O ops (nbd_io_plain.c, nbd_tls.c); not a public API. */
#ifndef MP_TRANSPORT_NBD_INT_H
#define MP_TRANSPORT_NBD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <ev.h>
#include "common/admission.h"
#include "common/listener.h"
#include "mpath/lu.h"
#include "transport/nbd/nbd_addr.h"
#include "transport/nbd/nbd_proto.h"
#include "transport/nbd/nbd_server.h"
#include "transport/nbd/nbd_tls.h"

#define NBD_INBUF_SIZE      (64u * 1024u)  /* socket read buffer per connection */
#define NBD_DIRECT_READ_MIN (16u * 1024u)  /* payload rest this big is read straight into place */
#define NBD_MAX_OPT_SKIP    (1024u * 1024u) /* oversized option data we discard; longer: disconnect */
#define NBD_READS_PER_WAKEUP 16u           /* fairness: socket reads per readiness callback */

struct nbd_export {
	struct nbd_export *next;
	char *name;
	size_t name_len;
	char *desc;              /* "" if none */
	size_t desc_len;
	struct mp_lu *lu;
};

struct nbd_listener {
	struct mp_listener *lst; /* the socket (and a Unix socket's file), its accept loop and back-off */
	struct nbd_server *srv;
	struct nbd_listener *next;
	bool tcp;                /* TCP: clients get TCP_NODELAY */
	enum nbd_tls_policy tls; /* what this listener's clients get */
	char name[NBD_ADDR_SPEC_MAX + 1]; /* the spec, for logs */
};

struct nbd_conn;

/*
 * How a connection moves bytes: the plain socket (nbd_io_plain) or TLS on it
 * (nbd_io_tls). A const table per kind; the connection code calls only these and
 * never touches the socket for data. "EV_READ"/"EV_WRITE" below are libev's bits.
 */
struct nbd_io_ops {
	const char *name;
	/* Read up to len bytes into buf: > 0 bytes read, 0 end of stream, -1 with errno
	 * EAGAIN (nothing now), EPROTO (TLS failure, already logged) or a socket error. */
	ssize_t (*read)(struct nbd_conn *c, void *buf, size_t len);
	/* Write from iov[0..iovcnt) (iovcnt >= 1, no empty entry): bytes taken (> 0), or -1 with
	 * errno EAGAIN, EPROTO or a socket error. After EAGAIN the caller offers the same bytes
	 * again (it may offer more behind them). */
	ssize_t (*writev)(struct nbd_conn *c, const struct iovec *iov, int iovcnt);
	/* Input already taken off the socket and buffered here: no readiness will announce it. */
	bool (*pending)(const struct nbd_conn *c);
	/* Socket events to wait for, given what the connection wants (EV_READ to read input,
	 * EV_WRITE to write output): TLS may need the other direction first. */
	int (*events)(const struct nbd_conn *c, int want);
	/* Socket readiness (revents) as what the connection may now try (EV_READ, EV_WRITE). */
	int (*ready)(const struct nbd_conn *c, int revents);
	/* Say goodbye if the transport has a way to (TLS close_notify, never blocking) and free its
	 * state. The caller closes the socket afterwards. */
	void (*shutdown)(struct nbd_conn *c);
};

extern const struct nbd_io_ops nbd_io_plain;

struct nbd_server {
	struct ev_loop *loop;
	struct nbd_export *exports;       /* in the order added; the first is the default */
	struct nbd_listener *listeners;
	struct nbd_conn *conns;           /* open connections (closed ones are unlinked) */
	unsigned n_conns;
	/* Connections still in the handshake (c->hs), oldest first: the oldest is evicted when
	 * max_handshakes is reached. adm.no_budget is the test hook NBD_SERVER_TEST_NO_BUDGET_ENV;
	 * adm.max_pending and adm.max_clients follow lim. */
	struct mp_admit adm;
	uint64_t next_conn_id;
	struct nbd_tls_creds *tls;        /* NULL: no TLS credentials (STARTTLS refused) */
	struct nbd_limits lim;            /* every field set (defaults filled in) */
	nbd_pending_fn *pending;          /* names exported later (nbd_server_set_pending); NULL: none */
	void *pending_arg;
};

/* Input states of a connection. */
enum nbd_rstate {
	RS_CLIENT_FLAGS = 0, /* handshake: waiting for the 4 client flag bytes */
	RS_OPT_HDR,          /* handshake: waiting for a 16-byte option header */
	RS_OPT_DATA,         /* handshake: reading option data into optbuf */
	RS_OPT_SKIP,         /* handshake: discarding an oversized option's data */
	RS_REQ_HDR,          /* transmission: waiting for a 28-byte request header */
	RS_REQ_PAYLOAD,      /* transmission: reading a WRITE payload into the request's buffer */
	RS_REQ_SKIP,         /* transmission: discarding the payload of a refused WRITE */
	RS_DRAIN,            /* reading stopped (DISC, ABORT, EOF): flush replies, then close */
};

/* A piece of output waiting in a connection's queue. */
struct nbd_out {
	struct nbd_out *next;
	struct iovec iov[2];
	unsigned iovcnt;
	struct nbd_req *req;     /* a request's reply: the request is freed once it is written */
};

/* One transmission request, from its header until its reply has been written. */
struct nbd_req {
	struct mp_blk_req blk;   /* handed to the core; done() finds us with container_of */
	struct nbd_conn *conn;
	struct nbd_out out;
	uint64_t cookie;
	uint64_t offset;
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint32_t nbd_err;
	uint8_t *buf;            /* READ/WRITE data, len bytes */
	uint8_t hdr[32];         /* reply header */
};

struct nbd_conn {
	ev_io io;                /* first: the io callback casts back */
	ev_timer hs_timer;       /* handshake deadline */
	ev_timer kick;           /* zero timer: read input the transport holds (c->iops->pending) */
	struct nbd_server *srv;  /* NULL once the server is gone */
	struct ev_loop *loop;
	struct nbd_conn *prev, *next;
	struct mp_admit_entry hs; /* in the server's pending-handshake list (srv->adm) until transmission */
	uint64_t id;
	int fd;
	unsigned refs;           /* 1 for the socket while open + 1 per request owned by the core */
	bool closed;
	int events;              /* mask the io watcher is started with (0: stopped) */
	const struct nbd_io_ops *iops; /* plain until STARTTLS, then TLS */
	struct nbd_tls_session *tls; /* the TLS session once started, else NULL */
	enum nbd_tls_policy tls_policy; /* from the listener: NONE, OPTIONAL or REQUIRED */
	bool tls_starting;       /* STARTTLS acknowledged: TLS begins once the reply is written */
	bool tls_reqd_logged;    /* a TLS_REQD refusal was logged for this client */

	/* Input. */
	enum nbd_rstate rs;
	uint8_t *in;             /* NBD_INBUF_SIZE bytes; data in [in_off, in_len) */
	size_t in_off, in_len;
	uint8_t small[NBD_REQUEST_LEN]; /* fixed-size headers land here */
	uint8_t *dst;            /* where the current item goes; NULL: discard */
	uint64_t want, got;      /* size of the current item, bytes of it read */

	/* Handshake. */
	bool no_zeroes;
	bool structured;
	struct nbd_opt_hdr opt;
	uint8_t *optbuf;         /* NBD_MAX_OPT_LEN bytes during the handshake */

	/* Transmission. */
	struct mp_lu *lu;
	struct nbd_export_limits lim;
	struct nbd_req *cur;     /* request whose payload is being read */
	unsigned inflight;       /* requests between header and reply written */
	uint64_t inflight_bytes;

	/* Output. */
	struct nbd_out *out_head, **out_tail;
	size_t out_sent;         /* bytes of out_head already written */

	/* Connections started in transmission (nbd_server_attach): told once when closed. */
	nbd_conn_closed_fn *on_close;
	void *on_close_arg;
};

/* nbd_conn.c */
/* Takes fd (closed on failure); NULL if the connection could not be set up. */
struct nbd_conn *nbd_conn_new(struct nbd_server *srv, int fd, enum nbd_tls_policy tls);
void nbd_conn_close(struct nbd_conn *c, const char *why);
/* Queue a copy of data as one output item; false (and the connection closed) on ENOMEM. */
bool nbd_conn_queue_copy(struct nbd_conn *c, const void *data, size_t len);
/* Expect want bytes next, into dst (NULL: discard), then run the step for state rs. */
void nbd_conn_expect(struct nbd_conn *c, enum nbd_rstate rs, uint8_t *dst, uint64_t want);

/* nbd_handshake.c */
/* Handle the option in c->opt whose data is in c->optbuf. */
void nbd_hs_option(struct nbd_conn *c);
/* Option reply with data; false if the connection was closed. */
bool nbd_hs_reply(struct nbd_conn *c, uint32_t option, uint32_t type, const void *data, size_t len);
/* Error reply with a message. */
bool nbd_hs_error(struct nbd_conn *c, uint32_t option, uint32_t type, const char *msg);

/* nbd_tls.c */
/*
 * Begin TLS on c (its STARTTLS reply has been written): c->iops becomes the TLS ops
 * and the handshake runs inside the next reads. false if c was closed (no
 * credentials, out of memory, or input the client sent before the reply).
 */
bool nbd_tls_session_start(struct nbd_conn *c, struct nbd_tls_creds *creds);
/* Is TLS on (or about to be) for this connection? */
static inline bool nbd_conn_tls_on(const struct nbd_conn *c) { return c->tls || c->tls_starting; }

/* nbd_server.c */
const struct nbd_export *nbd_server_find_export(const struct nbd_server *srv, const char *name, size_t len);
void nbd_server_conn_gone(struct nbd_server *srv, struct nbd_conn *c);
/*
 * Admission, before a new connection is set up: make room under max_handshakes (and under
 * max_clients) by closing the oldest pending handshakes. false: no room (every connection is
 * in transmission and max_clients is reached); the caller refuses the newcomer.
 */
bool nbd_server_admit(struct nbd_server *srv);

#endif
