/* The multipath core for one LU: split block requests into SCSI commands, pick paths, re-issue, queue. */
#include "mpath/lu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/classify.h"
#include "mpath/lu_int.h"

/* Re-issues of one command after transport failures (a path dying under it), before EIO. */
#define MP_MAX_XPORT_RETRIES 32
/* Re-issues of one command after ALUA state sense (after the first 3, MP_RETRY_DELAY_MS apart). */
#define MP_MAX_ALUA_RETRIES 600
/* Delay before re-issuing after BUSY / TASK SET FULL / an ALUA state error. */
#define MP_RETRY_DELAY_MS 20
/* Caps when the target reports no limit (VPD 0xB0 fields of 0). */
#define MP_DEFAULT_UNMAP_BLOCKS (1u << 22)
#define MP_DEFAULT_WSAME_BLOCKS (1u << 16)

static void list_init(struct mp_sub_list *l) { l->head = NULL; l->tail = &l->head; }

static void list_push(struct mp_sub_list *l, struct mp_sub *s)
{
	s->next = NULL;
	*l->tail = s;
	l->tail = &s->next;
}

/* Take the whole list, leaving it empty. */
static struct mp_sub *list_take(struct mp_sub_list *l)
{
	struct mp_sub *h = l->head;
	list_init(l);
	return h;
}

void mp_lu_opts_default(struct mp_lu_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_retries = 5;
	o->no_path_retry_s = 30;
	o->max_io_bytes = 1u << 20;
	o->failback = MP_FAILBACK_IMMEDIATE;
	o->marginal_flaps = 3;
	o->marginal_window_s = 60;
	o->marginal_hold_s = 30;
	o->marginal_latency_factor = 20;
	o->alua_explicit = true;
	o->alua_refresh_s = 5;
}

static void npr_expired(void *arg);
static void delay_fire(void *arg);
static void finish_fire(void *arg);
static void drain_fire(void *arg);
static void dispatch(struct mp_sub *s);

struct mp_lu *mp_lu_new(const char *name, const struct mp_clock *clock, const struct mp_lu_opts *opts)
{
	struct mp_lu *lu = calloc(1, sizeof(*lu));
	if (!lu)
		return NULL;
	snprintf(lu->name, sizeof(lu->name), "%s", name);
	lu->clock = *clock;
	if (opts)
		lu->opts = *opts;
	else
		mp_lu_opts_default(&lu->opts);
	list_init(&lu->waiting);
	list_init(&lu->delayed);
	list_init(&lu->finishing);
	lu->npr_timer = clock->ops->timer_new(clock->ctx, npr_expired, lu);
	lu->delay_timer = clock->ops->timer_new(clock->ctx, delay_fire, lu);
	lu->finish_timer = clock->ops->timer_new(clock->ctx, finish_fire, lu);
	lu->drain_timer = clock->ops->timer_new(clock->ctx, drain_fire, lu);
	if (!lu->npr_timer || !lu->delay_timer || !lu->finish_timer || !lu->drain_timer ||
	    mp_lu_paths_init(lu) != 0 || mp_alua_init(lu) != 0 || mp_lu_redundancy_init(lu) != 0) {
		mp_lu_free(lu);
		return NULL;
	}
	lu->down_since_ms = mp_clock_now(clock);
	return lu;
}

static void finish_sub(struct mp_sub *s, int err);

void mp_lu_free(struct mp_lu *lu)
{
	if (!lu)
		return;
	/* Fail everything still held by the core; in-flight commands belong to paths, which are gone. */
	struct mp_sub *s, *next;
	for (s = list_take(&lu->waiting); s; s = next) { next = s->next; finish_sub(s, ESHUTDOWN); }
	for (s = list_take(&lu->delayed); s; s = next) { next = s->next; finish_sub(s, ESHUTDOWN); }
	for (s = list_take(&lu->finishing); s; s = next) { next = s->next; finish_sub(s, s->final_err); }
	const struct mp_clock_ops *ops = lu->clock.ops;
	ops->timer_free(lu->npr_timer);
	ops->timer_free(lu->delay_timer);
	ops->timer_free(lu->finish_timer);
	ops->timer_free(lu->drain_timer); /* a pending drain goes with it, uncalled (the contract) */
	mp_alua_fini(lu);
	mp_lu_paths_fini(lu);
	mp_lu_redundancy_fini(lu);
	free(lu->zero_block);
	free(lu);
}

const char *mp_lu_name(const struct mp_lu *lu) { return lu->name; }

void mp_lu_set_ready_cb(struct mp_lu *lu, mp_lu_ready_fn *fn, void *arg)
{
	lu->ready_fn = fn;
	lu->ready_arg = arg;
}

const struct mp_lu_info *mp_lu_get_info(const struct mp_lu *lu) { return lu->have_info ? &lu->info : NULL; }
/* A path came up or the LU's state changed: send what waits, stop the no-path clock. */
void mp_lu_resume_waiting(struct mp_lu *lu)
{
	lu->clock.ops->timer_cancel(lu->npr_timer);
	lu->fail_fast = false;
	struct mp_sub *s, *next;
	lu->n_waiting = 0;
	for (s = list_take(&lu->waiting); s; s = next) {
		next = s->next;
		dispatch(s);
	}
}

uint32_t mp_lu_queued(const struct mp_lu *lu) { return lu->n_waiting; }
uint32_t mp_lu_requests(const struct mp_lu *lu) { return lu->n_reqs; }

void mp_lu_drain(struct mp_lu *lu, mp_lu_drained_fn *cb, void *arg)
{
	lu->drain_fn = cb;
	lu->drain_arg = arg;
	if (!cb)
		lu->clock.ops->timer_cancel(lu->drain_timer);
	else if (lu->n_reqs == 0)
		lu->clock.ops->timer_arm(lu->drain_timer, 0); /* from the loop, not from inside this call */
}

/* Armed when the last request is done (or at once by mp_lu_drain); a request submitted since
 * then is waited for: the next last one arms it again. */
static void drain_fire(void *arg)
{
	struct mp_lu *lu = arg;
	if (!lu->drain_fn || lu->n_reqs)
		return;
	mp_lu_drained_fn *fn = lu->drain_fn;
	void *fn_arg = lu->drain_arg;
	lu->drain_fn = NULL;
	lu->drain_arg = NULL;
	fn(lu, fn_arg); /* may free lu: nothing after this */
}

/* Complete a sub from a timer, never from inside mp_lu_submit or a path's submit. */
static void finish_later(struct mp_sub *s, int err)
{
	struct mp_lu *lu = s->lu;
	s->final_err = err;
	list_push(&lu->finishing, s);
	lu->clock.ops->timer_arm(lu->finish_timer, 0);
}

static void finish_fire(void *arg)
{
	struct mp_lu *lu = arg;
	struct mp_sub *s, *next;
	for (s = list_take(&lu->finishing); s; s = next) {
		next = s->next;
		finish_sub(s, s->final_err);
	}
}

/* No path: queue, fail at once, or fail because no_path_retry ran out. */
static void wait_for_path(struct mp_sub *s)
{
	struct mp_lu *lu = s->lu;
	if (lu->opts.no_path_retry_s == 0 || lu->fail_fast) {
		snprintf(lu->last_err_detail, sizeof(lu->last_err_detail), "no usable path");
		finish_later(s, EIO);
		return;
	}
	bool was_empty = lu->waiting.head == NULL;
	list_push(&lu->waiting, s);
	lu->n_waiting++;
	if (was_empty && lu->opts.no_path_retry_s > 0) {
		uint64_t deadline = lu->down_since_ms + (uint64_t)lu->opts.no_path_retry_s * 1000;
		uint64_t now = mp_clock_now(&lu->clock);
		lu->clock.ops->timer_arm(lu->npr_timer, deadline > now ? deadline - now : 0);
	}
}

static void npr_expired(void *arg)
{
	struct mp_lu *lu = arg;
	if (mp_lu_any_usable(lu))
		return;
	mp_err("disk %s: no path for %" PRId32 " s (no_path_retry): failing queued I/O", lu->name,
	       lu->opts.no_path_retry_s);
	lu->fail_fast = true;
	lu->n_waiting = 0;
	snprintf(lu->last_err_detail, sizeof(lu->last_err_detail), "no usable path for no_path_retry");
	struct mp_sub *s, *next;
	for (s = list_take(&lu->waiting); s; s = next) {
		next = s->next;
		finish_sub(s, EIO);
	}
}

static void delay_fire(void *arg)
{
	struct mp_lu *lu = arg;
	struct mp_sub *s, *next;
	for (s = list_take(&lu->delayed); s; s = next) {
		next = s->next;
		dispatch(s);
	}
}

static void retry_later(struct mp_sub *s)
{
	struct mp_lu *lu = s->lu;
	bool was_empty = lu->delayed.head == NULL;
	list_push(&lu->delayed, s);
	if (was_empty)
		lu->clock.ops->timer_arm(lu->delay_timer, MP_RETRY_DELAY_MS);
}

/* The data length a command puts on the wire, for selectors and counters. */
static uint32_t sub_bytes(const struct mp_sub *s)
{
	return s->cmd.dir == MP_DIR_NONE ? 0 : s->cmd.len;
}

static void dispatch(struct mp_sub *s)
{
	struct mp_lu *lu = s->lu;
	for (;;) {
		struct mp_path *p = mp_lu_select(lu, sub_bytes(s));
		if (!p) {
			wait_for_path(s);
			return;
		}
		s->path = p;
		s->start_us = mp_clock_now_us(&lu->clock);
		mp_lu_io_start(lu, p, sub_bytes(s), s->start_us);
		if (p->ops->submit(p, &s->cmd) == 0)
			return;
		/* The path refused synchronously: it is no longer usable. */
		int e = errno;
		mp_lu_io_end(lu, p, sub_bytes(s), s->start_us, true);
		s->path = NULL;
		mp_lu_path_down(lu, p, e ? strerror(e) : "submit refused");
	}
}

/* Every error a client sees is logged, at most one line a second per disk (with a count). */
static void log_request_error(struct mp_lu *lu, const struct mp_blk_req *req, int err)
{
	static const char *const ops[] = { "read", "write", "flush", "trim", "write-zeroes" };
	uint64_t now = mp_clock_now(&lu->clock);
	if (lu->errlog_ms && now - lu->errlog_ms < 1000) {
		lu->errlog_suppressed++;
		return;
	}
	mp_warn("disk %s: %s of %" PRIu64 " bytes at %" PRIu64 " failed: %s (%s; %" PRIu32
		" more since the last report)", lu->name, ops[req->op], req->len, req->offset, strerror(err),
		lu->last_err_detail, lu->errlog_suppressed);
	lu->errlog_ms = now;
	lu->errlog_suppressed = 0;
}

/* A FUA request the LU does not make durable by itself: WRITE SAME has no FUA bit, and a WRITE's
 * FUA bit is sent only to an LU that reports DPOFUA. */
static bool fua_needs_sync(const struct mp_lu *lu, const struct mp_blk_req *req)
{
	if (!(req->flags & MP_BLK_FUA))
		return false;
	return req->op == MP_BLK_WRITE_ZEROES || (req->op == MP_BLK_WRITE && !lu->info.fua);
}

static void finish_sub(struct mp_sub *s, int err)
{
	struct mp_blk_req *req = s->req;
	struct mp_blk_req_core *rc = req->core;
	struct mp_lu *lu = s->lu;
	if (err && !rc->err)
		rc->err = err;
	if (rc->pending == 1 && !rc->err) {
		struct mp_sub *first = &rc->subs[0];
		if (!first->fua_sync && fua_needs_sync(lu, req)) {
			/* Every part is written: make the range durable before the client hears GOOD. */
			uint64_t lba = req->offset / lu->info.block_size, blocks = req->len / lu->info.block_size;
			struct mp_scsi_cmd *c = &first->cmd;
			c->cdb_len = blocks > UINT32_MAX ? mp_cdb_sync_cache16(c->cdb, 0, 0, 0)
							 : mp_cdb_sync_cache16(c->cdb, lba, (uint32_t)blocks, 0);
			c->dir = MP_DIR_NONE;
			c->buf = NULL;
			c->len = 0;
			first->fua_sync = true;
			first->retries = first->xport_retries = first->alua_retries = 0;
			dispatch(first);
			return;
		}
	}
	if (--rc->pending == 0) {
		int req_err = rc->err;
		if (req_err)
			log_request_error(lu, req, req_err);
		free(rc); /* s too: it is one of its subs */
		req->core = NULL;
		lu->n_reqs--;
		if (!lu->n_reqs && lu->drain_fn)
			lu->clock.ops->timer_arm(lu->drain_timer, 0); /* after done() below has returned */
		req->done(req, req_err);
	}
}

/* Remember why a command failed for good, for the client-error log line. */
static void note_error(struct mp_lu *lu, const struct mp_path *p, const struct mp_scsi_cmd *cmd,
		       const struct mp_scsi_result *res, enum mp_verdict v)
{
	struct mp_completion cc;
	mp_classify_completion(res, &cc);
	const struct mp_sense sn = cc.sense;
	snprintf(lu->last_err_detail, sizeof(lu->last_err_detail),
		 "%s: cdb 0x%02x on %s, transport %d, status 0x%02x, sense %x/%02x/%02x, residual %" PRIu32,
		 mp_verdict_name(v), cmd->cdb[0], p ? p->name : "no path", (int)res->xport, res->status,
		 sn.key, sn.asc, sn.ascq, res->residual);
}

static void sub_done(struct mp_scsi_cmd *cmd, const struct mp_scsi_result *res)
{
	struct mp_sub *s = mp_container_of(cmd, struct mp_sub, cmd);
	struct mp_lu *lu = s->lu;
	struct mp_path *p = s->path;
	int err = 0;

	s->path = NULL;
	enum mp_verdict v = mp_classify(res, &err);
	if (v == MP_V_OK && res->residual && (s->req->op == MP_BLK_READ || s->req->op == MP_BLK_WRITE)) {
		/* The target moved less data than asked for: never hand back a short read or write.
		 * (Parameter lists such as UNMAP's may legitimately be reported short.) */
		v = MP_V_DEVICE_ERROR;
		err = EIO;
	}
	if (p)
		mp_lu_io_end(lu, p, sub_bytes(s), s->start_us, v == MP_V_PATH_ERROR);
	switch (v) {
	case MP_V_OK:
		finish_sub(s, 0);
		return;
	case MP_V_DEVICE_ERROR:
	case MP_V_RESV_CONFLICT:
		note_error(lu, p, cmd, res, v);
		finish_sub(s, err);
		return;
	case MP_V_PATH_ERROR:
		if (p && res->xport == MP_XPORT_OK && p->ops->fail)
			p->ops->fail(p, "unusable SCSI status");
		if (++s->xport_retries > MP_MAX_XPORT_RETRIES) {
			note_error(lu, p, cmd, res, v);
			finish_sub(s, EIO);
			return;
		}
		dispatch(s);
		return;
	case MP_V_RETRY:
	case MP_V_ALUA_STATE:
		/* ALUA sense moves the command off the path's group (or port) without using up its
		 * retries; bounded, and paced once it has bounced a few times. */
		if (p && mp_alua_on_check(lu, p, res) == MP_ALUA_REDISPATCH &&
		    ++s->alua_retries <= MP_MAX_ALUA_RETRIES) {
			if (s->alua_retries <= 3)
				dispatch(s);
			else
				retry_later(s);
			return;
		}
		if (++s->retries > lu->opts.max_retries) {
			note_error(lu, p, cmd, res, v);
			mp_warn("disk %s: command 0x%02x failed %" PRIu32 " times (%s), giving up", lu->name,
				cmd->cdb[0], s->retries, mp_verdict_name(v));
			finish_sub(s, EIO);
			return;
		}
		retry_later(s);
		return;
	}
}

/* How many blocks one command of this request may carry. */
static uint64_t chunk_blocks(const struct mp_lu *lu, enum mp_blk_op op)
{
	const struct mp_lu_info *in = &lu->info;
	uint64_t max;
	switch (op) {
	case MP_BLK_TRIM:
		max = in->max_unmap_blocks ? in->max_unmap_blocks : MP_DEFAULT_UNMAP_BLOCKS;
		break;
	case MP_BLK_WRITE_ZEROES:
		max = in->max_write_same_blocks ? in->max_write_same_blocks : MP_DEFAULT_WSAME_BLOCKS;
		break;
	default:
		max = lu->opts.max_io_bytes / in->block_size;
		if (in->max_xfer_blocks && in->max_xfer_blocks < max)
			max = in->max_xfer_blocks;
		break;
	}
	if (max > UINT32_MAX)
		max = UINT32_MAX;
	return max ? max : 1;
}

static void build_sub(struct mp_lu *lu, struct mp_blk_req *req, struct mp_sub *s, uint64_t lba,
		      uint32_t blocks, uint64_t byte_off)
{
	struct mp_scsi_cmd *c = &s->cmd;
	s->req = req;
	s->lu = lu;
	c->done = sub_done;
	switch (req->op) {
	case MP_BLK_READ:
		c->cdb_len = mp_cdb_read16(c->cdb, lba, blocks, 0);
		c->dir = MP_DIR_READ;
		c->buf = req->buf + byte_off;
		c->len = blocks * lu->info.block_size;
		break;
	case MP_BLK_WRITE:
		c->cdb_len = mp_cdb_write16(c->cdb, lba, blocks,
					    (req->flags & MP_BLK_FUA) && lu->info.fua ? MP_CDB_FUA : 0);
		c->dir = MP_DIR_WRITE;
		c->buf = req->buf + byte_off;
		c->len = blocks * lu->info.block_size;
		break;
	case MP_BLK_FLUSH:
		c->cdb_len = mp_cdb_sync_cache16(c->cdb, 0, 0, 0);
		c->dir = MP_DIR_NONE;
		break;
	case MP_BLK_TRIM:
	{
		const struct mp_unmap_desc d = { .lba = lba, .blocks = blocks };
		int plen = mp_unmap_param_build(s->param, sizeof(s->param), &d, 1);
		c->cdb_len = mp_cdb_unmap(c->cdb, (uint16_t)plen);
		c->dir = MP_DIR_WRITE;
		c->buf = s->param;
		c->len = (uint32_t)plen;
	}
		break;
	case MP_BLK_WRITE_ZEROES: {
		bool unmap = !(req->flags & MP_BLK_NO_HOLE) && lu->info.lbpws && lu->info.lbprz;
		c->cdb_len = mp_cdb_write_same16(c->cdb, lba, blocks, unmap ? MP_CDB_WS_UNMAP : 0);
		c->dir = MP_DIR_WRITE;
		c->buf = lu->zero_block;
		c->len = lu->info.block_size;
		break;
	}
	}
}

int mp_lu_submit(struct mp_lu *lu, struct mp_blk_req *req)
{
	if (!lu->have_info) {
		errno = ENXIO;
		return -1;
	}
	const struct mp_lu_info *in = &lu->info;
	uint64_t size = in->num_blocks * in->block_size;
	uint64_t nsub = 1, per = 0;

	req->core = NULL;
	if ((unsigned)req->op > MP_BLK_WRITE_ZEROES) {
		errno = EINVAL;
		return -1;
	}
	if (req->op != MP_BLK_FLUSH) {
		if (req->offset % in->block_size || req->len % in->block_size || req->len == 0 ||
		    req->offset > size || req->len > size - req->offset) {
			errno = EINVAL;
			return -1;
		}
		if ((req->op == MP_BLK_READ || req->op == MP_BLK_WRITE) && !req->buf) {
			errno = EINVAL;
			return -1;
		}
		if (req->op == MP_BLK_TRIM && !in->lbpu) {
			errno = ENOTSUP;
			return -1;
		}
		per = chunk_blocks(lu, req->op);
		uint64_t blocks = req->len / in->block_size;
		nsub = (blocks + per - 1) / per;
	}
	if (req->op != MP_BLK_READ && in->write_protect) {
		errno = EPERM;
		return -1;
	}
	struct mp_blk_req_core *rc = NULL;
	if (nsub <= (SIZE_MAX - sizeof(*rc)) / sizeof(rc->subs[0]) && nsub <= UINT32_MAX)
		rc = calloc(1, sizeof(*rc) + nsub * sizeof(rc->subs[0]));
	if (!rc) {
		errno = ENOMEM;
		return -1;
	}
	struct mp_sub *subs = rc->subs;
	rc->pending = (uint32_t)nsub;
	req->core = rc;
	lu->n_reqs++;
	uint64_t lba = req->offset / (in->block_size ? in->block_size : 1);
	uint64_t left = req->len / in->block_size;
	for (uint64_t i = 0; i < nsub; i++) {
		uint32_t n = (uint32_t)(req->op == MP_BLK_FLUSH ? 0 : MP_MIN(left, per));
		build_sub(lu, req, &subs[i], lba, n, i * per * in->block_size);
		lba += n;
		left -= n;
	}
	/* Dispatch after building all: a sub may complete (later) before its siblings are sent. */
	for (uint64_t i = 0; i < nsub; i++)
		dispatch(&subs[i]);
	return 0;
}
