/* One NBD client connection: non-blocking input state machine, output queue, transmission phase; bytes move through c->iops. */
#include "transport/nbd/nbd_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common/log.h"
#include "common/util.h"

#define OUT_IOV_MAX 64

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_kick_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void conn_hs_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void req_done(struct mp_blk_req *blk, int err);
static void conn_update_events(struct nbd_conn *c);

/* ---- lifetime ---- */

static void conn_ref(struct nbd_conn *c) { c->refs++; }

static void conn_unref(struct nbd_conn *c)
{
	if (--c->refs)
		return;
	free(c->in);
	free(c->optbuf);
	free(c);
}

static void req_free(struct nbd_req *r)
{
	free(r->buf);
	free(r);
}

struct nbd_conn *nbd_conn_new(struct nbd_server *srv, int fd, enum nbd_tls_policy tls)
{
	struct nbd_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->in = malloc(NBD_INBUF_SIZE);
	c->optbuf = malloc(NBD_MAX_OPT_LEN);
	if (!c->in || !c->optbuf) {
		free(c->in);
		free(c->optbuf);
		free(c);
		close(fd);
		return NULL;
	}
	c->srv = srv;
	c->loop = srv->loop;
	c->fd = fd;
	c->iops = &nbd_io_plain;
	c->tls_policy = tls;
	c->refs = 1;
	c->id = ++srv->next_conn_id;
	c->out_tail = &c->out_head;
	ev_io_init(&c->io, conn_io_cb, fd, 0);
	ev_timer_init(&c->hs_timer, conn_hs_timeout_cb, srv->lim.handshake_timeout_ms / 1000.0, 0.);
	ev_timer_init(&c->kick, conn_kick_cb, 0., 0.);
	ev_timer_start(c->loop, &c->hs_timer);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	mp_admit_begin(&srv->adm, &c->hs);  /* until transmission begins (conn_step) or it closes */

	uint8_t greeting[NBD_GREETING_LEN];
	nbd_build_greeting(greeting);
	nbd_conn_expect(c, RS_CLIENT_FLAGS, c->small, NBD_CLIENT_FLAGS_LEN);
	if (!nbd_conn_queue_copy(c, greeting, sizeof(greeting)))
		return NULL;  /* closed and freed; the caller must not touch c */
	conn_update_events(c);
	mp_debug("nbd: client %llu: connected", (unsigned long long)c->id);
	return c;
}

struct nbd_conn *nbd_server_attach(struct nbd_server *srv, int fd, struct mp_lu *lu,
				   const struct nbd_export_limits *lim, nbd_conn_closed_fn *closed, void *arg)
{
	struct nbd_conn *c = calloc(1, sizeof(*c));
	if (c)
		c->in = malloc(NBD_INBUF_SIZE);
	if (!c || !c->in) {
		if (c)
			free(c->in);
		free(c);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	c->srv = srv;
	c->loop = srv->loop;
	c->fd = fd;
	c->iops = &nbd_io_plain;
	c->tls_policy = NBD_TLS_NONE;
	c->refs = 1;
	c->id = ++srv->next_conn_id;
	c->out_tail = &c->out_head;
	c->lu = lu;
	c->lim = *lim;
	c->lim.structured = false;  /* the kernel reads simple replies only */
	c->on_close = closed;
	c->on_close_arg = arg;
	ev_io_init(&c->io, conn_io_cb, fd, 0);
	ev_timer_init(&c->hs_timer, conn_hs_timeout_cb, 0., 0.); /* never started: no handshake */
	ev_timer_init(&c->kick, conn_kick_cb, 0., 0.);
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	nbd_conn_expect(c, RS_REQ_HDR, c->small, NBD_REQUEST_LEN);
	conn_update_events(c);
	mp_debug("nbd: client %llu: attached in transmission phase", (unsigned long long)c->id);
	return c;
}

void nbd_server_conn_close(struct nbd_conn *c)
{
	c->on_close = NULL;
	nbd_conn_close(c, NULL);
}

unsigned nbd_server_conn_inflight(const struct nbd_conn *c) { return c->inflight; }

void nbd_server_conn_drain(struct nbd_conn *c)
{
	if (c->closed)
		return;
	if (c->cur) {
		/* A WRITE still arriving: never submitted, never answered (the peer goes away). */
		c->inflight--;
		c->inflight_bytes -= c->cur->buf ? c->cur->len : 0;
		req_free(c->cur);
		c->cur = NULL;
	}
	nbd_conn_expect(c, RS_DRAIN, NULL, 0);
	if (!c->out_head && c->inflight == 0) {
		nbd_conn_close(c, NULL);
		return;
	}
	conn_update_events(c);
}

/*
 * Close the socket and drop everything that is not owned by the core.
 * Requests in the core keep a reference and are freed in req_done().
 */
void nbd_conn_close(struct nbd_conn *c, const char *why)
{
	if (c->closed)
		return;
	c->closed = true;
	if (why)
		mp_info("nbd: client %llu: closing: %s", (unsigned long long)c->id, why);
	else
		mp_debug("nbd: client %llu: closed", (unsigned long long)c->id);
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->hs_timer);
	ev_timer_stop(c->loop, &c->kick);
	c->iops->shutdown(c);
	c->iops = &nbd_io_plain;
	c->tls_starting = false;
	close(c->fd);
	c->fd = -1;
	while (c->out_head) {
		struct nbd_out *o = c->out_head;
		c->out_head = o->next;
		if (o->req)
			req_free(o->req);
		else
			free(o);
	}
	c->out_tail = &c->out_head;
	if (c->cur) {
		req_free(c->cur);
		c->cur = NULL;
	}
	if (c->srv)
		nbd_server_conn_gone(c->srv, c);
	c->srv = NULL;
	nbd_conn_closed_fn *cb = c->on_close;
	c->on_close = NULL;
	if (cb)
		cb(c->on_close_arg, c);
	conn_unref(c);
}

static void conn_hs_timeout_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct nbd_conn *c = mp_container_of(w, struct nbd_conn, hs_timer);
	nbd_conn_close(c, "handshake timed out");
}

/* ---- output ---- */

static bool can_take_request(const struct nbd_conn *c)
{
	/* An orphaned connection (server gone) reads nothing more anyway. */
	unsigned max_n = c->srv ? c->srv->lim.max_inflight : NBD_SERVER_MAX_INFLIGHT;
	uint64_t max_b = c->srv ? c->srv->lim.max_inflight_bytes : NBD_SERVER_MAX_INFLIGHT_BYTES;
	return c->inflight < max_n && c->inflight_bytes < max_b;
}

static bool wants_input(const struct nbd_conn *c)
{
	if (c->closed || c->rs == RS_DRAIN)
		return false;
	/* Handshake: one option at a time, its replies written before the next is read. */
	if (c->rs <= RS_OPT_SKIP && c->out_head)
		return false;
	if (c->rs == RS_REQ_HDR && c->got == 0 && !can_take_request(c))
		return false;
	return true;
}

static void conn_update_events(struct nbd_conn *c)
{
	if (c->closed)
		return;
	bool input = wants_input(c);
	int ev = c->iops->events(c, (input ? EV_READ : 0) | (c->out_head ? EV_WRITE : 0));
	if (ev != c->events) {
		ev_io_stop(c->loop, &c->io);
		ev_io_set(&c->io, c->fd, ev);
		if (ev)
			ev_io_start(c->loop, &c->io);
		c->events = ev;
	}
	/* Input the transport (TLS) already took off the socket makes it no more readable:
	 * come back for it on the next loop iteration, after every other ready watcher, with
	 * a zero timer (a fed event would run again within this iteration). */
	if (input && c->iops->pending(c) && !ev_is_active(&c->kick)) {
		ev_timer_set(&c->kick, 0., 0.);
		ev_timer_start(c->loop, &c->kick);
	}
}

static void conn_queue(struct nbd_conn *c, struct nbd_out *o)
{
	o->next = NULL;
	*c->out_tail = o;
	c->out_tail = &o->next;
}

bool nbd_conn_queue_copy(struct nbd_conn *c, const void *data, size_t len)
{
	struct nbd_out *o = malloc(sizeof(*o) + len);
	if (!o) {
		nbd_conn_close(c, "out of memory");
		return false;
	}
	memset(o, 0, sizeof(*o));
	memcpy(o + 1, data, len);
	o->iov[0].iov_base = o + 1;
	o->iov[0].iov_len = len;
	o->iovcnt = 1;
	conn_queue(c, o);
	return true;
}

/* An item has been written completely. */
static void out_finished(struct nbd_conn *c, struct nbd_out *o)
{
	if (o->req) {
		c->inflight--;
		c->inflight_bytes -= o->req->buf ? o->req->len : 0;
		req_free(o->req);
	} else {
		free(o);
	}
}

/* Write as much of the queue as the socket takes. false if the connection was closed. */
static bool conn_flush(struct nbd_conn *c)
{
	while (c->out_head) {
		struct iovec iov[OUT_IOV_MAX];
		int n = 0;
		size_t skip = c->out_sent;
		for (struct nbd_out *o = c->out_head; o && n < OUT_IOV_MAX; o = o->next) {
			for (unsigned i = 0; i < o->iovcnt && n < OUT_IOV_MAX; i++) {
				struct iovec v = o->iov[i];
				if (skip >= v.iov_len) {
					skip -= v.iov_len;
					continue;
				}
				v.iov_base = (uint8_t *)v.iov_base + skip;
				v.iov_len -= skip;
				skip = 0;
				if (v.iov_len)
					iov[n++] = v;
			}
		}
		if (n == 0)
			return true;  /* not reached: every queued item has bytes to send */
		ssize_t w = c->iops->writev(c, iov, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR)
				continue;
			nbd_conn_close(c, errno == EPIPE || errno == ECONNRESET ? "client went away"
				       : errno == EPROTO ? "TLS failure" : strerror(errno));
			return false;
		}
		/* Pop every item now completely written. */
		size_t done = c->out_sent + (size_t)w;
		while (c->out_head) {
			struct nbd_out *o = c->out_head;
			size_t total = 0;
			for (unsigned i = 0; i < o->iovcnt; i++)
				total += o->iov[i].iov_len;
			if (done < total)
				break;
			done -= total;
			c->out_head = o->next;
			if (!c->out_head)
				c->out_tail = &c->out_head;
			out_finished(c, o);
		}
		c->out_sent = done;
	}
	/* The STARTTLS reply is out: everything after it is TLS. */
	if (c->tls_starting && c->srv)
		return nbd_tls_session_start(c, c->srv->tls);
	return true;
}

/* ---- transmission: replies ---- */

static void req_queue_reply(struct nbd_req *r)
{
	struct nbd_conn *c = r->conn;
	bool data = r->type == NBD_CMD_READ && r->nbd_err == 0 && r->len > 0;
	size_t hl;

	if (!c->lim.structured)
		hl = nbd_build_simple_reply(r->hdr, r->nbd_err, r->cookie);
	else if (r->nbd_err)
		hl = nbd_build_error_chunk(r->hdr, NBD_REPLY_FLAG_DONE, r->cookie, r->nbd_err, NULL, 0, false, 0);
	else if (data)
		hl = nbd_build_offset_data_hdr(r->hdr, NBD_REPLY_FLAG_DONE, r->cookie, r->offset, r->len);
	else
		hl = nbd_build_chunk_hdr(r->hdr, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, r->cookie, 0);
	r->out.req = r;
	r->out.iov[0].iov_base = r->hdr;
	r->out.iov[0].iov_len = hl;
	r->out.iovcnt = 1;
	if (data) {
		r->out.iov[1].iov_base = r->buf;
		r->out.iov[1].iov_len = r->len;
		r->out.iovcnt = 2;
	}
	if (r->nbd_err)
		mp_debug("nbd: client %llu: %s offset %llu length %u: error %u", (unsigned long long)c->id,
			 nbd_cmd_name(r->type), (unsigned long long)r->offset, r->len, r->nbd_err);
	conn_queue(c, &r->out);
}

static void req_done(struct mp_blk_req *blk, int err)
{
	struct nbd_req *r = mp_container_of(blk, struct nbd_req, blk);
	struct nbd_conn *c = r->conn;

	if (c->closed) {
		req_free(r);
	} else {
		r->nbd_err = nbd_errno_to_nbd(err);
		req_queue_reply(r);
		conn_update_events(c);
	}
	conn_unref(c);
}

static enum mp_blk_op blk_op_for(uint16_t type)
{
	switch (type) {
	case NBD_CMD_WRITE:        return MP_BLK_WRITE;
	case NBD_CMD_FLUSH:        return MP_BLK_FLUSH;
	case NBD_CMD_TRIM:         return MP_BLK_TRIM;
	case NBD_CMD_WRITE_ZEROES: return MP_BLK_WRITE_ZEROES;
	default:                   return MP_BLK_READ;
	}
}

/* Hand a validated request to the core, or answer it here. */
static void req_submit(struct nbd_conn *c, struct nbd_req *r)
{
	if (r->len == 0 && r->type != NBD_CMD_FLUSH) {
		/* Nothing to do; the core wants whole blocks. */
		req_queue_reply(r);
		return;
	}
	r->blk.op = blk_op_for(r->type);
	r->blk.flags = 0;
	if ((r->flags & NBD_CMD_FLAG_FUA) && (r->type == NBD_CMD_WRITE || r->type == NBD_CMD_WRITE_ZEROES))
		r->blk.flags |= MP_BLK_FUA;
	if ((r->flags & NBD_CMD_FLAG_NO_HOLE) && r->type == NBD_CMD_WRITE_ZEROES)
		r->blk.flags |= MP_BLK_NO_HOLE;
	r->blk.offset = r->type == NBD_CMD_FLUSH ? 0 : r->offset;
	r->blk.len = r->type == NBD_CMD_FLUSH ? 0 : r->len;
	r->blk.buf = r->buf;
	r->blk.done = req_done;
	conn_ref(c);
	if (mp_lu_submit(c->lu, &r->blk) < 0) {
		int e = errno ? errno : EIO;
		conn_unref(c);  /* the socket reference keeps c alive */
		r->nbd_err = nbd_errno_to_nbd(e);
		req_queue_reply(r);
	}
}

/* A request header has arrived. */
static void step_req_hdr(struct nbd_conn *c)
{
	struct nbd_request q;
	uint32_t err = 0;

	if (nbd_request_parse(c->small, &q) < 0) {
		nbd_conn_close(c, "bad request magic");
		return;
	}
	enum nbd_verdict v = nbd_request_check(&q, &c->lim, &err);
	if (v == NBD_VERDICT_DISCONNECT) {
		nbd_conn_close(c, "write payload larger than the maximum");
		return;
	}
	if (q.type == NBD_CMD_DISC) {
		mp_debug("nbd: client %llu: disconnect requested", (unsigned long long)c->id);
		nbd_conn_expect(c, RS_DRAIN, NULL, 0);
		return;
	}
	struct nbd_req *r = calloc(1, sizeof(*r));
	if (!r) {
		nbd_conn_close(c, "out of memory");
		return;
	}
	r->conn = c;
	r->cookie = q.cookie;
	r->offset = q.offset;
	r->len = q.length;
	r->type = q.type;
	r->flags = q.flags;
	r->nbd_err = err;
	c->inflight++;
	if (v == NBD_VERDICT_OK && (q.type == NBD_CMD_READ || q.type == NBD_CMD_WRITE) && q.length) {
		r->buf = malloc(q.length);
		if (r->buf)
			c->inflight_bytes += q.length;
		else
			r->nbd_err = NBD_ENOMEM;
	}
	uint32_t payload = nbd_request_payload_len(&q);
	if (r->nbd_err) {
		/* Answer now; a refused write's payload is read and dropped to stay in sync. */
		req_queue_reply(r);
		nbd_conn_expect(c, payload ? RS_REQ_SKIP : RS_REQ_HDR, payload ? NULL : c->small,
				payload ? payload : NBD_REQUEST_LEN);
		return;
	}
	if (payload) {
		c->cur = r;
		nbd_conn_expect(c, RS_REQ_PAYLOAD, r->buf, payload);
		return;
	}
	nbd_conn_expect(c, RS_REQ_HDR, c->small, NBD_REQUEST_LEN);
	req_submit(c, r);
}

/* ---- input ---- */

void nbd_conn_expect(struct nbd_conn *c, enum nbd_rstate rs, uint8_t *dst, uint64_t want)
{
	c->rs = rs;
	c->dst = dst;
	c->want = want;
	c->got = 0;
}

/* The current item is complete: act on it and set up the next one. */
static void conn_step(struct nbd_conn *c)
{
	bool no_zeroes = false;
	struct nbd_req *r;

	switch (c->rs) {
	case RS_CLIENT_FLAGS:
		if (nbd_client_flags_check(mp_be32(c->small), &no_zeroes) < 0) {
			nbd_conn_close(c, "bad client flags");
			return;
		}
		c->no_zeroes = no_zeroes;
		nbd_conn_expect(c, RS_OPT_HDR, c->small, NBD_OPT_HDR_LEN);
		break;
	case RS_OPT_HDR:
		if (nbd_opt_hdr_parse(c->small, &c->opt) < 0) {
			nbd_conn_close(c, "bad option magic");
			return;
		}
		if (c->opt.length <= NBD_MAX_OPT_LEN) {
			nbd_conn_expect(c, RS_OPT_DATA, c->optbuf, c->opt.length);
		} else if (c->opt.option != NBD_OPT_EXPORT_NAME && c->opt.length <= NBD_MAX_OPT_SKIP) {
			nbd_conn_expect(c, RS_OPT_SKIP, NULL, c->opt.length);
		} else {
			/* EXPORT_NAME can not be refused with a reply; huge lengths are not worth reading. */
			nbd_conn_close(c, "option too long");
			return;
		}
		break;
	case RS_OPT_SKIP:
		nbd_conn_expect(c, RS_OPT_HDR, c->small, NBD_OPT_HDR_LEN);
		/* FORCEDTLS answers every option before TLS with TLS_REQD, even one too long to read. */
		if (c->tls_policy == NBD_TLS_REQUIRED && !nbd_conn_tls_on(c))
			nbd_hs_error(c, c->opt.option, NBD_REP_ERR_TLS_REQD, "TLS is required: send NBD_OPT_STARTTLS first");
		else
			nbd_hs_error(c, c->opt.option, NBD_REP_ERR_TOO_BIG, "option data too long");
		break;
	case RS_OPT_DATA:
		/* The handler sets the next state (next option, transmission, drain) or closes. */
		nbd_conn_expect(c, RS_OPT_HDR, c->small, NBD_OPT_HDR_LEN);
		nbd_hs_option(c);
		if (!c->closed && c->rs == RS_REQ_HDR) {
			/* Transmission: no longer a pending handshake, never evicted for a newcomer. */
			mp_admit_end(&c->srv->adm, &c->hs);
			ev_timer_stop(c->loop, &c->hs_timer);
			free(c->optbuf);
			c->optbuf = NULL;
		}
		break;
	case RS_REQ_HDR:
		step_req_hdr(c);
		break;
	case RS_REQ_PAYLOAD:
		r = c->cur;
		c->cur = NULL;
		nbd_conn_expect(c, RS_REQ_HDR, c->small, NBD_REQUEST_LEN);
		req_submit(c, r);
		break;
	case RS_REQ_SKIP:
		nbd_conn_expect(c, RS_REQ_HDR, c->small, NBD_REQUEST_LEN);
		break;
	case RS_DRAIN:
		break;
	}
}

/* Consume buffered input as far as the state machine may go. */
static void conn_process(struct nbd_conn *c)
{
	while (!c->closed && wants_input(c)) {
		uint64_t need = c->want - c->got;
		if (need) {
			size_t avail = c->in_len - c->in_off;
			if (!avail)
				return;
			size_t n = (size_t)MP_MIN(need, (uint64_t)avail);
			if (c->dst)
				memcpy(c->dst + c->got, c->in + c->in_off, n);
			c->in_off += n;
			c->got += n;
			if (c->got < c->want)
				return;
		}
		conn_step(c);
	}
}

/* One read from the socket. 1 data, 0 would block, -1 closed. */
static int conn_read(struct nbd_conn *c)
{
	ssize_t n;
	uint64_t need = c->want - c->got;

	if (c->in_off == c->in_len && c->rs == RS_REQ_PAYLOAD && need >= NBD_DIRECT_READ_MIN) {
		n = c->iops->read(c, c->dst + c->got, (size_t)need /* <= NBD_MAX_PAYLOAD */);
		if (n > 0)
			c->got += (uint64_t)n;
	} else {
		if (c->in_off == c->in_len)
			c->in_off = c->in_len = 0;
		else if (c->in_off) {
			memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		if (c->in_len == NBD_INBUF_SIZE)
			return 0;  /* not reached: input is consumed before the next read */
		n = c->iops->read(c, c->in + c->in_len, NBD_INBUF_SIZE - c->in_len);
		if (n > 0)
			c->in_len += (size_t)n;
	}
	if (n > 0)
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n < 0) {
		nbd_conn_close(c, errno == ECONNRESET ? "client went away" : errno == EPROTO ? "TLS failure"
			       : strerror(errno));
		return -1;
	}
	/* EOF. Between requests it is a (rude) disconnect: still send what is owed. */
	if (c->rs == RS_REQ_HDR && c->got == 0 && c->in_off == c->in_len) {
		nbd_conn_expect(c, RS_DRAIN, NULL, 0);
		return 0;
	}
	nbd_conn_close(c, c->rs == RS_REQ_PAYLOAD || c->rs == RS_REQ_SKIP ? "client closed in the middle of a write"
		       : c->rs >= RS_REQ_HDR ? "client closed in the middle of a request" : NULL);
	return -1;
}

/* Serve the connection: ready holds what it may try now (EV_READ: read, EV_WRITE: write). */
static void conn_serve(struct nbd_conn *c, int ready)
{
	conn_ref(c);
	if ((ready & EV_WRITE) && !conn_flush(c))
		goto out;
	/* Buffered input may have been waiting for the queue to drain. */
	conn_process(c);
	if (ready & EV_READ) {
		for (unsigned i = 0; i < NBD_READS_PER_WAKEUP && !c->closed && wants_input(c); i++) {
			if (conn_read(c) <= 0)
				break;
			conn_process(c);
		}
	}
	if (c->closed)
		goto out;
	if (c->out_head && !conn_flush(c))
		goto out;
	conn_process(c);  /* flushing may have lifted a limit */
	if (!c->closed && c->rs == RS_DRAIN && !c->out_head && c->inflight == 0) {
		nbd_conn_close(c, NULL);
		goto out;
	}
	conn_update_events(c);
out:
	conn_unref(c);
}

static void conn_io_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents)
{
	struct nbd_conn *c = (struct nbd_conn *)w;  /* io is the first member */
	conn_serve(c, c->iops->ready(c, revents));
}

static void conn_kick_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	conn_serve(mp_container_of(w, struct nbd_conn, kick), EV_READ);
}
