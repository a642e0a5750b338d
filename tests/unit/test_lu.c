/* Unit tests of the multipath core (mpath/lu.c) with fake paths and a fake clock. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/lu.h"
#include "mpath/selector.h"
#include "tests/unit/fake_clock.h"

#define DISK_BLOCKS 4096u
#define BS 512u
#define MAXQ 1024

/* A fake path: queues commands; the test completes them, optionally against a RAM disk. */
struct fake_path {
	struct mp_path path;
	struct mp_scsi_cmd *q[MAXQ];
	int nq;
	int submits;
	bool refuse;
};

static struct fake_clock fc;
static uint8_t disk[DISK_BLOCKS * BS];
static int done_calls;
static int last_err;
static int in_submit;
static int done_inside_submit;

static int fake_submit(struct mp_path *path, struct mp_scsi_cmd *cmd)
{
	struct fake_path *fp = mp_container_of(path, struct fake_path, path);
	if (fp->refuse) {
		errno = ENOTCONN;
		return -1;
	}
	cr_assert_lt(fp->nq, MAXQ);
	fp->q[fp->nq++] = cmd;
	fp->submits++;
	return 0;
}

static void fake_fail(struct mp_path *path, const char *reason)
{
	mp_lu_path_down(path->lu, path, reason);
}

static const struct mp_path_ops fake_ops = { .kind = "fake", .submit = fake_submit, .fail = fake_fail };

static void fp_init(struct fake_path *fp, const char *name)
{
	memset(fp, 0, sizeof(*fp));
	fp->path.ops = &fake_ops;
	snprintf(fp->path.name, sizeof(fp->path.name), "%s", name);
}

static struct mp_scsi_cmd *fp_pop(struct fake_path *fp)
{
	cr_assert_gt(fp->nq, 0, "path %s has nothing queued", fp->path.name);
	struct mp_scsi_cmd *c = fp->q[0];
	memmove(fp->q, fp->q + 1, (size_t)(fp->nq - 1) * sizeof(fp->q[0]));
	fp->nq--;
	return c;
}

/* Execute READ(16)/WRITE(16) against the RAM disk and complete GOOD. */
static void fp_serve(struct fake_path *fp)
{
	struct mp_scsi_cmd *c = fp_pop(fp);
	struct mp_scsi_result r = { .xport = MP_XPORT_OK, .status = 0 };
	uint64_t lba = mp_be64(c->cdb + 2);
	uint32_t n = mp_be32(c->cdb + 10);
	if (c->cdb[0] == 0x88) {
		cr_assert_eq(c->len, n * BS);
		memcpy(c->buf, disk + lba * BS, c->len);
	} else if (c->cdb[0] == 0x8a) {
		cr_assert_eq(c->len, n * BS);
		memcpy(disk + lba * BS, c->buf, c->len);
	}
	c->done(c, &r);
}

static void fp_complete(struct fake_path *fp, enum mp_xport x, uint8_t status, const uint8_t *sense, size_t slen)
{
	struct mp_scsi_cmd *c = fp_pop(fp);
	struct mp_scsi_result r = { .xport = x, .status = status };
	if (sense) {
		memcpy(r.sense, sense, slen);
		r.sense_len = (uint8_t)slen;
	}
	c->done(c, &r);
}

static void req_done(struct mp_blk_req *req MP_UNUSED, int err)
{
	if (in_submit)
		done_inside_submit++;
	done_calls++;
	last_err = err;
}

static struct mp_lu_info info_of(const char *id)
{
	struct mp_lu_info in;
	memset(&in, 0, sizeof(in));
	snprintf(in.designator, sizeof(in.designator), "%s", id);
	snprintf(in.vendor, sizeof(in.vendor), "FAKE");
	in.block_size = BS;
	in.num_blocks = DISK_BLOCKS;
	in.max_xfer_blocks = 16;
	in.lbpu = true;
	return in;
}

static struct mp_lu *new_lu(int32_t npr)
{
	struct mp_lu_opts o;
	mp_lu_opts_default(&o);
	o.no_path_retry_s = npr;
	o.max_retries = 3;
	return mp_lu_new("t", &fc.clock, &o);
}

static int submit(struct mp_lu *lu, struct mp_blk_req *r)
{
	in_submit = 1;
	int rc = mp_lu_submit(lu, r);
	in_submit = 0;
	return rc;
}

static void setup(void)
{
	mp_log_set_level(MP_LOG_ERR);
	fake_clock_init(&fc);
	done_calls = 0;
	last_err = -1;
	done_inside_submit = 0;
	for (size_t i = 0; i < sizeof(disk); i++)
		disk[i] = (uint8_t)(i * 7 + 3);
}

static void attach(struct mp_lu *lu, struct fake_path *fp, const char *id)
{
	char err[512];
	struct mp_lu_info in = info_of(id);
	mp_lu_add_path(lu, &fp->path);
	cr_assert_eq(mp_lu_path_attached(lu, &fp->path, &in, err, sizeof(err)), 0, "%s", err);
}

TestSuite(lu, .init = setup);

Test(lu, read_is_split_by_max_transfer_and_completes_once)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1");
	static uint8_t buf[64 * BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 8 * BS, .len = sizeof(buf), .buf = buf, .done = req_done };
	cr_assert_eq(submit(lu, &r), 0);
	cr_assert_eq(a.nq, 4, "64 blocks at 16 per command = 4 commands, got %d", a.nq);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(mp_be64(a.q[i]->cdb + 2), 8 + 16u * (unsigned)i);
		cr_assert_eq(mp_be32(a.q[i]->cdb + 10), 16);
	}
	while (a.nq)
		fp_serve(&a);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, 0);
	cr_assert_eq(memcmp(buf, disk + 8 * BS, sizeof(buf)), 0);
	cr_assert_eq(done_inside_submit, 0);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, write_fua_sets_fua_bit_and_lands)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a;
	char err[512];
	fp_init(&a, "a");
	struct mp_lu_info in = info_of("naa.1");
	in.fua = true; /* MODE SENSE said DPOFUA */
	mp_lu_add_path(lu, &a.path);
	cr_assert_eq(mp_lu_path_attached(lu, &a.path, &in, err, sizeof(err)), 0, "%s", err);
	uint8_t buf[2 * BS];
	memset(buf, 0xab, sizeof(buf));
	struct mp_blk_req r = { .op = MP_BLK_WRITE, .flags = MP_BLK_FUA, .offset = 0, .len = sizeof(buf),
				.buf = buf, .done = req_done };
	cr_assert_eq(submit(lu, &r), 0);
	cr_assert_eq(a.q[0]->cdb[0], 0x8a);
	cr_assert_eq(a.q[0]->cdb[1] & 0x08, 0x08);
	fp_serve(&a);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(disk[0], 0xab);
	cr_assert_eq(disk[2 * BS - 1], 0xab);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, bad_ranges_are_refused_synchronously)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a;
	fp_init(&a, "a");
	uint8_t buf[BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	errno = 0;
	cr_assert_eq(mp_lu_submit(lu, &r), -1, "no identity yet");
	cr_assert_eq(errno, ENXIO);
	attach(lu, &a, "naa.1");
	struct { uint64_t off, len; } bad[] = {
		{ 1, BS }, { 0, 100 }, { 0, 0 }, { (uint64_t)DISK_BLOCKS * BS, BS },
		{ (uint64_t)(DISK_BLOCKS - 1) * BS, 2 * BS }, { UINT64_MAX - BS + 1, BS },
	};
	for (size_t i = 0; i < MP_ARRAY_SIZE(bad); i++) {
		r.offset = bad[i].off;
		r.len = bad[i].len;
		errno = 0;
		cr_assert_eq(mp_lu_submit(lu, &r), -1, "case %zu", i);
		cr_assert_eq(errno, EINVAL, "case %zu", i);
	}
	cr_assert_eq(a.nq, 0);
	cr_assert_eq(done_calls, 0);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, path_failure_reissues_on_other_path_exactly_once)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a, b;
	fp_init(&a, "a");
	fp_init(&b, "b");
	attach(lu, &a, "naa.1");
	attach(lu, &b, "naa.1");
	uint8_t buf[BS];
	struct mp_blk_req r[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct mp_blk_req){ .op = MP_BLK_READ, .offset = (uint64_t)i * BS, .len = BS, .buf = buf,
					    .done = req_done };
		cr_assert_eq(submit(lu, &r[i]), 0);
	}
	cr_assert_eq(a.nq + b.nq, 4);
	cr_assert_gt(a.nq, 0, "round-robin used path a");
	cr_assert_gt(b.nq, 0, "round-robin used path b");
	/* Path a dies: its commands come back CANCELLED and must move to b. */
	int on_a = a.nq;
	mp_lu_path_down(lu, &a.path, "test");
	while (a.nq)
		fp_complete(&a, MP_XPORT_CANCELLED, 0, NULL, 0);
	cr_assert_eq(b.nq, 4, "all on b now (moved %d)", on_a);
	cr_assert_eq(done_calls, 0);
	while (b.nq)
		fp_serve(&b);
	cr_assert_eq(done_calls, 4);
	cr_assert_eq(last_err, 0);
	cr_assert_eq(a.path.errors, (uint64_t)on_a, "each command failed on a is counted once");
	mp_lu_remove_path(lu, &a.path);
	mp_lu_remove_path(lu, &b.path);
	mp_lu_free(lu);
}

Test(lu, device_errors_are_not_retried)
{
	static const struct { uint8_t key, asc, ascq; int err; } cases[] = {
		{ 0x3, 0x11, 0x00, EIO },    /* medium error, unrecovered read error */
		{ 0x7, 0x27, 0x00, EPERM },  /* data protect, write protected */
		{ 0x7, 0x27, 0x07, ENOSPC }, /* space allocation failed */
		{ 0x5, 0x21, 0x00, EINVAL }, /* LBA out of range */
	};
	for (size_t i = 0; i < MP_ARRAY_SIZE(cases); i++) {
		struct mp_lu *lu = new_lu(30);
		struct fake_path a, b;
		fp_init(&a, "a");
		fp_init(&b, "b");
		attach(lu, &a, "naa.1");
		attach(lu, &b, "naa.1");
		done_calls = 0;
		uint8_t buf[BS];
		struct mp_blk_req r = { .op = MP_BLK_WRITE, .offset = 0, .len = BS, .buf = buf, .done = req_done };
		cr_assert_eq(submit(lu, &r), 0);
		struct fake_path *on = a.nq ? &a : &b;
		uint8_t sense[18] = { 0x70, 0, cases[i].key, 0, 0, 0, 0, 10, 0, 0, 0, 0, cases[i].asc, cases[i].ascq };
		fp_complete(on, MP_XPORT_OK, 0x02, sense, sizeof(sense));
		cr_assert_eq(done_calls, 1, "case %zu", i);
		cr_assert_eq(last_err, cases[i].err, "case %zu: err %d", i, last_err);
		cr_assert_eq(a.nq + b.nq, 0, "case %zu: not re-issued", i);
		mp_lu_remove_path(lu, &a.path);
		mp_lu_remove_path(lu, &b.path);
		mp_lu_free(lu);
	}
}

Test(lu, unit_attention_is_retried_then_gives_up)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1");
	uint8_t buf[BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	uint8_t ua[18] = { 0x70, 0, 0x6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00 };
	cr_assert_eq(submit(lu, &r), 0);
	/* One UA then success. */
	fp_complete(&a, MP_XPORT_OK, 0x02, ua, sizeof(ua));
	cr_assert_eq(a.nq, 0, "re-issue is delayed, not immediate");
	fake_clock_advance(&fc, 100);
	cr_assert_eq(a.nq, 1);
	fp_serve(&a);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, 0);
	/* Endless UA: max_retries (3) re-issues, then EIO. */
	cr_assert_eq(submit(lu, &r), 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(a.nq, 1, "attempt %d", i);
		fp_complete(&a, MP_XPORT_OK, 0x02, ua, sizeof(ua));
		fake_clock_advance(&fc, 100);
	}
	cr_assert_eq(done_calls, 2);
	cr_assert_eq(last_err, EIO);
	cr_assert_eq(a.nq, 0);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, no_path_retry_queues_then_fails_with_eio)
{
	struct mp_lu *lu = new_lu(5);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1");
	mp_lu_path_down(lu, &a.path, "test");
	uint64_t t0 = fc.now;
	uint8_t buf[BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	cr_assert_eq(submit(lu, &r), 0);
	fake_clock_advance(&fc, 4999);
	cr_assert_eq(done_calls, 0, "still queued before no_path_retry");
	fake_clock_advance(&fc, 1);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, EIO);
	cr_assert_eq(fc.now - t0, 5000);
	/* After expiry new I/O fails at once (from a timer, not inside submit). */
	cr_assert_eq(submit(lu, &r), 0);
	cr_assert_eq(done_calls, 1);
	fake_clock_advance(&fc, 0);
	cr_assert_eq(done_calls, 2);
	cr_assert_eq(last_err, EIO);
	cr_assert_eq(done_inside_submit, 0);
	/* A path returns: I/O flows again. */
	char err[256];
	struct mp_lu_info in = info_of("naa.1");
	cr_assert_eq(mp_lu_path_attached(lu, &a.path, &in, err, sizeof(err)), 0);
	cr_assert_eq(submit(lu, &r), 0);
	fp_serve(&a);
	cr_assert_eq(done_calls, 3);
	cr_assert_eq(last_err, 0);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, queued_io_resumes_when_a_path_returns)
{
	struct mp_lu *lu = new_lu(-1);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1");
	a.refuse = true; /* the session is gone: submit refuses, the core takes the path down */
	uint8_t buf[BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	cr_assert_eq(submit(lu, &r), 0);
	cr_assert_eq(a.path.state, MP_PATH_DOWN);
	fake_clock_advance(&fc, 3600 * 1000);
	cr_assert_eq(done_calls, 0, "queue forever");
	a.refuse = false;
	char err[256];
	struct mp_lu_info in = info_of("naa.1");
	cr_assert_eq(mp_lu_path_attached(lu, &a.path, &in, err, sizeof(err)), 0);
	cr_assert_eq(a.nq, 1);
	fp_serve(&a);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, 0);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, fail_at_once_completes_later_not_inside_submit)
{
	struct mp_lu *lu = new_lu(0);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1");
	mp_lu_path_down(lu, &a.path, "test");
	uint8_t buf[BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	cr_assert_eq(submit(lu, &r), 0);
	cr_assert_eq(done_calls, 0);
	fake_clock_advance(&fc, 0);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, EIO);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, path_to_another_lu_is_refused_naming_both)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a, b;
	fp_init(&a, "a");
	fp_init(&b, "b");
	attach(lu, &a, "naa.600140511111111");
	char err[512];
	struct mp_lu_info other = info_of("naa.600140522222222");
	mp_lu_add_path(lu, &b.path);
	cr_assert_eq(mp_lu_path_attached(lu, &b.path, &other, err, sizeof(err)), -1);
	cr_assert(strstr(err, "naa.600140511111111") != NULL, "%s", err);
	cr_assert(strstr(err, "naa.600140522222222") != NULL, "%s", err);
	cr_assert_neq(b.path.state, MP_PATH_UP);
	/* The disk keeps its identity. */
	cr_assert_str_eq(mp_lu_get_info(lu)->designator, "naa.600140511111111");
	mp_lu_remove_path(lu, &a.path);
	mp_lu_remove_path(lu, &b.path);
	mp_lu_free(lu);
}

Test(lu, trim_flush_write_zeroes_build_the_right_cdbs)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1");
	struct mp_blk_req t = { .op = MP_BLK_TRIM, .offset = 4 * BS, .len = 8 * BS, .done = req_done };
	cr_assert_eq(submit(lu, &t), 0);
	struct mp_scsi_cmd *c = a.q[0];
	cr_assert_eq(c->cdb[0], 0x42);
	cr_assert_eq(c->len, 24);
	cr_assert_eq(mp_be64(c->buf + 8), 4);
	cr_assert_eq(mp_be32(c->buf + 16), 8);
	fp_serve(&a);
	struct mp_blk_req f = { .op = MP_BLK_FLUSH, .done = req_done };
	cr_assert_eq(submit(lu, &f), 0);
	cr_assert_eq(a.q[0]->cdb[0], 0x91);
	fp_serve(&a);
	struct mp_blk_req z = { .op = MP_BLK_WRITE_ZEROES, .flags = MP_BLK_NO_HOLE, .offset = 0, .len = 64 * BS,
				.done = req_done };
	cr_assert_eq(submit(lu, &z), 0);
	cr_assert_eq(a.q[0]->cdb[0], 0x93);
	cr_assert_eq(a.q[0]->cdb[1] & 0x08, 0, "NO_HOLE: no UNMAP bit");
	cr_assert_eq(mp_be32(a.q[0]->cdb + 10), 64);
	cr_assert_eq(a.q[0]->len, BS);
	fp_serve(&a);
	cr_assert_eq(done_calls, 3);
	cr_assert_eq(last_err, 0);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, free_fails_queued_requests_with_eshutdown)
{
	struct mp_lu *lu = new_lu(-1);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1");
	mp_lu_remove_path(lu, &a.path);
	uint8_t buf[BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	cr_assert_eq(submit(lu, &r), 0);
	mp_lu_free(lu);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, ESHUTDOWN);
}

Test(lu, short_read_is_an_error_short_parameter_list_is_not)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1");
	uint8_t buf[2 * BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = sizeof(buf), .buf = buf, .done = req_done };
	cr_assert_eq(submit(lu, &r), 0);
	struct mp_scsi_cmd *c = fp_pop(&a);
	struct mp_scsi_result res = { .xport = MP_XPORT_OK, .status = 0, .residual = BS };
	c->done(c, &res);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, EIO, "a GOOD read that moved half the data must not succeed");
	/* tgtd reports UNMAP's 24-byte parameter list with a residual: still a success. */
	struct mp_blk_req t = { .op = MP_BLK_TRIM, .offset = 0, .len = 8 * BS, .done = req_done };
	cr_assert_eq(submit(lu, &t), 0);
	c = fp_pop(&a);
	res.residual = 24;
	c->done(c, &res);
	cr_assert_eq(done_calls, 2);
	cr_assert_eq(last_err, 0);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

/* ---- path groups, failback, marginal damping, operator controls ---- */

static struct mp_lu *new_lu_opts(enum mp_failback fb, uint32_t delay_s, uint32_t flaps)
{
	struct mp_lu_opts o;
	mp_lu_opts_default(&o);
	o.failback = fb;
	o.failback_delay_s = delay_s;
	o.marginal_flaps = flaps;
	o.marginal_window_s = 60;
	o.marginal_hold_s = 30;
	o.marginal_latency_factor = 0;
	return mp_lu_new("g", &fc.clock, &o);
}

static void up_again(struct mp_lu *lu, struct fake_path *fp)
{
	char err[256];
	struct mp_lu_info in = info_of("naa.1");
	cr_assert_eq(mp_lu_path_attached(lu, &fp->path, &in, err, sizeof(err)), 0, "%s", err);
}

/* Submit one read and return the path it went to (then complete it). */
static struct fake_path *route_one(struct mp_lu *lu, struct fake_path **paths, size_t n)
{
	static uint8_t buf[BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	int before = done_calls;
	cr_assert_eq(submit(lu, &r), 0);
	struct fake_path *hit = NULL;
	for (size_t i = 0; i < n; i++)
		if (paths[i]->nq) {
			cr_assert_null(hit, "one command went to two paths");
			hit = paths[i];
		}
	cr_assert_not_null(hit, "the command was not sent");
	fp_serve(hit);
	cr_assert_eq(done_calls, before + 1);
	return hit;
}

static void two_groups(struct mp_lu *lu, struct fake_path *a, struct fake_path *b)
{
	fp_init(a, "a");
	fp_init(b, "b");
	a->path.prio = 80;
	b->path.prio = 50;
	attach(lu, a, "naa.1");
	attach(lu, b, "naa.1");
}

/* Group 80 (a) fails: I/O goes to group 50 (b); then a is healed. */
static void fail_over_and_heal(struct mp_lu *lu, struct fake_path *a, struct fake_path *b, struct fake_path **ps)
{
	mp_lu_path_down(lu, &a->path, "test");
	cr_assert_eq(route_one(lu, ps, 2), b, "failover to the prio 50 group");
	cr_assert_eq(mp_lu_active_prio(lu), 50);
	up_again(lu, a);
}

static void release(struct mp_lu *lu, struct fake_path **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mp_lu_remove_path(lu, &paths[i]->path);
	mp_lu_free(lu);
}

Test(lu, io_goes_to_the_best_group_and_fails_over_and_back_immediately)
{
	struct mp_lu *lu = new_lu_opts(MP_FAILBACK_IMMEDIATE, 0, 0);
	struct fake_path a, b, *ps[] = { &a, &b };
	two_groups(lu, &a, &b);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(route_one(lu, ps, 2), &a, "prio 80 group takes all I/O");
	fail_over_and_heal(lu, &a, &b, ps);
	cr_assert_eq(mp_lu_active_prio(lu), 80, "immediate failback");
	cr_assert_eq(route_one(lu, ps, 2), &a);
	release(lu, ps, 2);
}

Test(lu, manual_failback_waits_for_switchgroup)
{
	struct mp_lu *lu = new_lu_opts(MP_FAILBACK_MANUAL, 0, 0);
	struct fake_path a, b, *ps[] = { &a, &b };
	two_groups(lu, &a, &b);
	fail_over_and_heal(lu, &a, &b, ps);
	fake_clock_advance(&fc, 60000);
	cr_assert_eq(route_one(lu, ps, 2), &b, "manual: stays on the lower group");
	errno = 0;
	cr_assert_eq(mp_lu_switch_group(lu, 99), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(mp_lu_switch_group(lu, 80), 0);
	cr_assert_eq(route_one(lu, ps, 2), &a);
	release(lu, ps, 2);
}

Test(lu, deferred_failback_after_its_delay)
{
	struct mp_lu *lu = new_lu_opts(MP_FAILBACK_DEFERRED, 2, 0);
	struct fake_path a, b, *ps[] = { &a, &b };
	two_groups(lu, &a, &b);
	fail_over_and_heal(lu, &a, &b, ps);
	fake_clock_advance(&fc, 1999);
	cr_assert_eq(route_one(lu, ps, 2), &b, "not before 2 s");
	fake_clock_advance(&fc, 1);
	cr_assert_eq(route_one(lu, ps, 2), &a, "after 2 s");
	release(lu, ps, 2);
}

Test(lu, followover_fails_back_only_when_the_first_path_of_the_group_returns)
{
	struct mp_lu *lu = new_lu_opts(MP_FAILBACK_FOLLOWOVER, 0, 0);
	struct fake_path a1, a2, b, *ps[] = { &a1, &a2, &b };
	fp_init(&a1, "a1");
	fp_init(&a2, "a2");
	fp_init(&b, "b");
	a1.path.prio = a2.path.prio = 80;
	b.path.prio = 50;
	attach(lu, &a1, "naa.1");
	attach(lu, &a2, "naa.1");
	attach(lu, &b, "naa.1");
	/* Someone (an operator, another node) moved I/O to group 50 while group 80 was fine. */
	cr_assert_eq(mp_lu_switch_group(lu, 50), 0);
	mp_lu_path_down(lu, &a2.path, "test");
	up_again(lu, &a2);
	cr_assert_eq(route_one(lu, ps, 3), &b, "a2 was not the first of its group: no failback");
	/* Whole group 80 lost, then its first path returns: failback. */
	mp_lu_path_down(lu, &a1.path, "test");
	mp_lu_path_down(lu, &a2.path, "test");
	up_again(lu, &a1);
	cr_assert_eq(mp_lu_active_prio(lu), 80);
	cr_assert_eq(route_one(lu, ps, 3), &a1);
	release(lu, ps, 3);
}

Test(lu, flapping_path_is_kept_out_while_marginal)
{
	struct mp_lu *lu = new_lu_opts(MP_FAILBACK_IMMEDIATE, 0, 3);
	struct fake_path a, b, *ps[] = { &a, &b };
	fp_init(&a, "a");
	fp_init(&b, "b");
	attach(lu, &a, "naa.1");
	attach(lu, &b, "naa.1");
	for (int i = 0; i < 3; i++) {
		mp_lu_path_down(lu, &a.path, "flap");
		fake_clock_advance(&fc, 300);
		up_again(lu, &a);
	}
	cr_assert(a.path.marginal, "3 failures within the window");
	for (int i = 0; i < 6; i++)
		cr_assert_eq(route_one(lu, ps, 2), &b, "marginal path gets no I/O while b is there");
	/* A marginal path is still better than none. */
	mp_lu_path_down(lu, &b.path, "test");
	cr_assert_eq(route_one(lu, ps, 2), &a);
	up_again(lu, &b);
	/* After the hold time it takes I/O again. */
	fake_clock_advance(&fc, 31000);
	cr_assert(!a.path.marginal);
	int on_a = 0;
	for (int i = 0; i < 8; i++)
		on_a += route_one(lu, ps, 2) == &a;
	cr_assert_gt(on_a, 0, "a back in the rotation");
	release(lu, ps, 2);
}

Test(lu, failures_spread_beyond_the_window_do_not_make_a_path_marginal)
{
	struct mp_lu *lu = new_lu_opts(MP_FAILBACK_IMMEDIATE, 0, 3);
	struct fake_path a, b;
	fp_init(&a, "a");
	fp_init(&b, "b");
	attach(lu, &a, "naa.1");
	attach(lu, &b, "naa.1");
	for (int i = 0; i < 5; i++) {
		mp_lu_path_down(lu, &a.path, "rare");
		fake_clock_advance(&fc, 61000);
		up_again(lu, &a);
	}
	cr_assert(!a.path.marginal);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_remove_path(lu, &b.path);
	mp_lu_free(lu);
}

Test(lu, operator_fail_and_reinstate)
{
	struct mp_lu *lu = new_lu_opts(MP_FAILBACK_IMMEDIATE, 0, 0);
	struct fake_path a, b, *ps[] = { &a, &b };
	fp_init(&a, "a");
	fp_init(&b, "b");
	attach(lu, &a, "naa.1");
	attach(lu, &b, "naa.1");
	cr_assert_eq(mp_lu_path_admin_fail(lu, &a.path), 0);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(route_one(lu, ps, 2), &b);
	/* Failing the last usable path leaves I/O queued, not lost. */
	cr_assert_eq(mp_lu_path_admin_fail(lu, &b.path), 0);
	uint8_t buf[BS];
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	int before = done_calls;
	cr_assert_eq(submit(lu, &r), 0);
	cr_assert_eq(mp_lu_queued(lu), 1);
	cr_assert_eq(mp_lu_path_reinstate(lu, &a.path), 0);
	cr_assert_eq(mp_lu_queued(lu), 0);
	cr_assert_eq(a.nq, 1, "reinstated path takes the queued command");
	fp_serve(&a);
	cr_assert_eq(done_calls, before + 1);
	cr_assert_eq(last_err, 0);
	struct fake_path stranger;
	fp_init(&stranger, "x");
	errno = 0;
	cr_assert_eq(mp_lu_path_admin_fail(lu, &stranger.path), -1);
	cr_assert_eq(errno, ENOENT);
	release(lu, ps, 2);
}

Test(lu, a_path_much_slower_than_its_peer_for_three_checks_becomes_marginal)
{
	struct mp_lu_opts o;
	mp_lu_opts_default(&o);
	o.selector = mp_selector_find("round-robin");
	o.marginal_flaps = 0;
	o.marginal_latency_factor = 20;
	o.marginal_hold_s = 30;
	struct mp_lu *lu = mp_lu_new("lat", &fc.clock, &o);
	struct fake_path a, b;
	fp_init(&a, "a");
	fp_init(&b, "b");
	attach(lu, &a, "naa.1");
	attach(lu, &b, "naa.1");
	static uint8_t buf[BS];
	struct mp_blk_req r[64];
	int marginal_at = -1;
	for (int round = 0; round < 6 && marginal_at < 0; round++) {
		for (int i = 0; i < 64; i++) {
			r[i] = (struct mp_blk_req){ .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
			cr_assert_eq(submit(lu, &r[i]), 0);
		}
		cr_assert_eq(a.nq, 32, "round-robin: half each (round %d)", round);
		fake_clock_advance(&fc, 1);
		while (b.nq)
			fp_serve(&b); /* ~1 ms */
		fake_clock_advance(&fc, 49);
		while (a.nq)
			fp_serve(&a); /* ~50 ms: 50x slower, above the 20 ms floor */
		fake_clock_advance(&fc, 950); /* housekeeping runs once a second */
		if (a.path.marginal)
			marginal_at = round;
	}
	/* Round 0 gives a 32 samples (< 64 in all); rounds 1, 2, 3 are the three strikes. */
	cr_assert_eq(marginal_at, 3, "marginal after the third consecutive strike, got round %d", marginal_at);
	cr_assert(!b.path.marginal);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_remove_path(lu, &b.path);
	mp_lu_free(lu);
}

static int retry_now_calls;
static void counting_reinstate(struct mp_path *path MP_UNUSED) { retry_now_calls++; }
static const struct mp_path_ops fake_ops_retry = {
	.kind = "fake", .submit = fake_submit, .fail = fake_fail, .reinstate = counting_reinstate,
};

Test(lu, losing_the_last_usable_path_makes_waiting_paths_retry_at_once)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a, b;
	fp_init(&a, "a");
	fp_init(&b, "b");
	a.path.ops = b.path.ops = &fake_ops_retry;
	attach(lu, &a, "naa.1");
	attach(lu, &b, "naa.1");
	retry_now_calls = 0;
	mp_lu_path_down(lu, &b.path, "first fault");
	cr_assert_eq(retry_now_calls, 0, "a is still usable: b keeps its backoff");
	mp_lu_path_down(lu, &a.path, "second fault");
	cr_assert_eq(retry_now_calls, 1, "all down: b (waiting to reconnect) is asked to retry now");
	mp_lu_path_down(lu, &a.path, "repeated report");
	mp_lu_path_down(lu, &b.path, "b's reconnect failed again");
	cr_assert_eq(retry_now_calls, 1, "only the transition to all-down wakes the others: failing "
		     "reconnects must not wake each other in a loop");
	mp_lu_remove_path(lu, &a.path);
	mp_lu_remove_path(lu, &b.path);
	mp_lu_free(lu);
}

Test(lu, fua_without_dpofua_is_write_then_sync_cache_of_the_range)
{
	struct mp_lu *lu = new_lu(30);
	struct fake_path a;
	fp_init(&a, "a");
	attach(lu, &a, "naa.1"); /* no DPOFUA */
	static uint8_t buf[40 * BS];
	memset(buf, 0xcd, sizeof(buf));
	struct mp_blk_req r = { .op = MP_BLK_WRITE, .flags = MP_BLK_FUA, .offset = 100 * BS, .len = sizeof(buf),
				.buf = buf, .done = req_done };
	cr_assert_eq(submit(lu, &r), 0);
	cr_assert_eq(a.nq, 3, "40 blocks at 16 per command");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(a.q[i]->cdb[1] & 0x08, 0, "FUA bit sent to an LU without DPOFUA");
	fp_serve(&a);
	fp_serve(&a);
	cr_assert_eq(a.nq, 1);
	cr_assert_eq(done_calls, 0);
	fp_serve(&a);
	cr_assert_eq(done_calls, 0, "acknowledged before the range was synchronized");
	cr_assert_eq(a.nq, 1, "no SYNCHRONIZE CACHE after the FUA write");
	cr_assert_eq(a.q[0]->cdb[0], 0x91);
	cr_assert_eq(mp_be64(a.q[0]->cdb + 2), 100);
	cr_assert_eq(mp_be32(a.q[0]->cdb + 10), 40);
	fp_serve(&a);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, 0);
	/* A failed sync fails the request. */
	struct mp_blk_req z = { .op = MP_BLK_WRITE_ZEROES, .flags = MP_BLK_FUA, .offset = 0, .len = 8 * BS,
				.done = req_done };
	cr_assert_eq(submit(lu, &z), 0);
	cr_assert_eq(a.q[0]->cdb[0], 0x93);
	fp_serve(&a);
	cr_assert_eq(a.nq, 1, "no SYNCHRONIZE CACHE after a FUA write-zeroes");
	cr_assert_eq(a.q[0]->cdb[0], 0x91);
	static const uint8_t medium[18] = { 0x70, 0, 0x3, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x0c, 0x00 };
	fp_complete(&a, MP_XPORT_OK, 2, medium, sizeof(medium));
	cr_assert_eq(done_calls, 2);
	cr_assert_eq(last_err, EIO);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

/* ---- mp_lu_drain: exactly once, from the loop, after the last request ---- */

/* An LU with one attached path "a". */
static struct mp_lu *lu_with_path(int32_t npr, struct fake_path *a)
{
	struct mp_lu *lu = new_lu(npr);
	fp_init(a, "a");
	attach(lu, a, "naa.1");
	return lu;
}

/* A one-block read at offset 0. */
static struct mp_blk_req read_of(uint8_t *buf)
{
	return (struct mp_blk_req){ .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
}

static int drained_calls;
static int done_calls_when_drained;
static uint32_t requests_when_drained;

static void on_drained(struct mp_lu *lu, void *arg)
{
	cr_assert_eq(arg, &drained_calls, "the caller's argument");
	drained_calls++;
	done_calls_when_drained = done_calls;
	requests_when_drained = mp_lu_requests(lu);
}

/* Frees the LU from inside the callback, as the daemon does (its path is already gone). */
static void free_when_drained(struct mp_lu *lu, void *arg)
{
	drained_calls++;
	mp_lu_free(lu);
	*(struct mp_lu **)arg = NULL;
}

/* Time passes and the drain is not called again; then the LU goes. */
static void called_once_then_free(struct mp_lu *lu, struct fake_path *a)
{
	fake_clock_advance(&fc, 60000);
	cr_assert_eq(drained_calls, 1, "called again");
	mp_lu_remove_path(lu, &a->path);
	mp_lu_free(lu);
}

Test(lu, drain_of_an_idle_disk_fires_once_from_the_loop)
{
	struct fake_path a;
	struct mp_lu *lu = lu_with_path(30, &a);
	drained_calls = 0;
	mp_lu_drain(lu, on_drained, &drained_calls);
	cr_assert_eq(drained_calls, 0, "called from inside mp_lu_drain: the caller may not cope");
	fake_clock_advance(&fc, 0);
	cr_assert_eq(drained_calls, 1, "nothing in flight: called at the loop's next turn");
	cr_assert_eq(requests_when_drained, 0);
	/* Later requests and time do not call it again. */
	uint8_t buf[BS];
	struct mp_blk_req r = read_of(buf);
	cr_assert_eq(submit(lu, &r), 0);
	fp_serve(&a);
	called_once_then_free(lu, &a);
}

Test(lu, drain_fires_once_after_the_last_request_completes)
{
	struct fake_path a;
	struct mp_lu *lu = lu_with_path(30, &a);
	static uint8_t buf[3][40 * BS];
	struct mp_blk_req r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = (struct mp_blk_req){ .op = MP_BLK_READ, .offset = 0, .len = sizeof(buf[i]), .buf = buf[i],
					    .done = req_done };
		cr_assert_eq(submit(lu, &r[i]), 0);
	}
	cr_assert_eq(a.nq, 9, "3 requests of 3 commands each");
	drained_calls = 0;
	mp_lu_drain(lu, on_drained, &drained_calls);
	fake_clock_advance(&fc, 0);
	cr_assert_eq(drained_calls, 0, "called with 3 requests in flight");
	while (a.nq > 1) {
		fp_serve(&a);
		fake_clock_advance(&fc, 1);
		cr_assert_eq(drained_calls, 0, "called with a command of the last request still in flight");
	}
	cr_assert_eq(done_calls, 2);
	fp_serve(&a);
	cr_assert_eq(done_calls, 3);
	cr_assert_eq(drained_calls, 0, "called from inside the last completion");
	fake_clock_advance(&fc, 0);
	cr_assert_eq(drained_calls, 1);
	cr_assert_eq(done_calls_when_drained, 3, "called before every done()");
	called_once_then_free(lu, &a);
}

Test(lu, drain_waits_for_requests_queued_for_a_path_and_for_late_ones)
{
	struct fake_path a;
	struct mp_lu *lu = lu_with_path(5, &a);
	uint8_t buf[BS];
	struct mp_blk_req late = read_of(buf);
	/* Idle when asked, but a request arrives before the loop turns: it is waited for. */
	drained_calls = 0;
	mp_lu_drain(lu, on_drained, &drained_calls);
	cr_assert_eq(submit(lu, &late), 0);
	fake_clock_advance(&fc, 0);
	cr_assert_eq(drained_calls, 0, "called with a request in flight");
	fp_serve(&a);
	fake_clock_advance(&fc, 0);
	cr_assert_eq(drained_calls, 1);
	/* A request that waits for a path (no_path_retry 5 s) holds a drain until it fails. */
	mp_lu_path_down(lu, &a.path, "test");
	struct mp_blk_req q = read_of(buf);
	cr_assert_eq(submit(lu, &q), 0);
	drained_calls = 0;
	mp_lu_drain(lu, on_drained, &drained_calls);
	fake_clock_advance(&fc, 4999);
	cr_assert_eq(drained_calls, 0, "called while a request waits for a path");
	fake_clock_advance(&fc, 1);
	cr_assert_eq(last_err, EIO);
	cr_assert_eq(drained_calls, 1);
	cr_assert_eq(done_calls_when_drained, done_calls);
	mp_lu_remove_path(lu, &a.path);
	mp_lu_free(lu);
}

Test(lu, drain_callback_may_free_the_lu)
{
	struct fake_path a;
	struct mp_lu *lu = lu_with_path(30, &a);
	uint8_t buf[BS];
	struct mp_blk_req r = read_of(buf);
	cr_assert_eq(submit(lu, &r), 0);
	drained_calls = 0;
	mp_lu_drain(lu, free_when_drained, &lu);
	fp_serve(&a);
	mp_lu_remove_path(lu, &a.path);
	fake_clock_advance(&fc, 0);
	cr_assert_eq(drained_calls, 1);
	cr_assert_null(lu);
	cr_assert_eq(fc.n, 0, "the LU's timers are gone with it");
	fake_clock_advance(&fc, 60000);
	cr_assert_eq(drained_calls, 1);
}

static int other_drained_calls;
static void on_other_drained(struct mp_lu *lu MP_UNUSED, void *arg MP_UNUSED) { other_drained_calls++; }

Test(lu, replace_cancel_and_free_drop_a_pending_drain_uncalled)
{
	struct fake_path a;
	struct mp_lu *lu = lu_with_path(-1, &a);
	drained_calls = other_drained_calls = 0;
	/* A second drain replaces the first. */
	mp_lu_drain(lu, on_other_drained, NULL);
	mp_lu_drain(lu, on_drained, &drained_calls);
	fake_clock_advance(&fc, 0);
	cr_assert_eq(other_drained_calls, 0, "a replaced drain was called");
	cr_assert_eq(drained_calls, 1);
	/* NULL cancels. */
	mp_lu_drain(lu, on_drained, &drained_calls);
	mp_lu_drain(lu, NULL, NULL);
	fake_clock_advance(&fc, 0);
	cr_assert_eq(drained_calls, 1, "a cancelled drain was called");
	/* A deadline passes with a request waiting for a path: the caller frees the LU; what waits
	 * fails, the drain is dropped uncalled. */
	mp_lu_remove_path(lu, &a.path);
	uint8_t buf[BS];
	struct mp_blk_req r = read_of(buf);
	cr_assert_eq(submit(lu, &r), 0);
	mp_lu_drain(lu, on_drained, &drained_calls);
	mp_lu_free(lu);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, ESHUTDOWN);
	cr_assert_eq(fc.n, 0, "the LU's timers are gone with it");
	fake_clock_advance(&fc, 0);
	cr_assert_eq(drained_calls, 1, "called by or after mp_lu_free");
}

/* ---- one owner of usability transitions: every source has the same effects ---- */

/* A way to take a path out of I/O and to bring it back. */
struct usability_source {
	const char *name;
	void (*out)(struct mp_lu *lu, struct fake_path *fp);
	void (*back)(struct mp_lu *lu, struct fake_path *fp);
};

static void out_down(struct mp_lu *lu, struct fake_path *fp) { mp_lu_path_down(lu, &fp->path, "test"); }
static void back_up(struct mp_lu *lu, struct fake_path *fp) { up_again(lu, fp); }
static void out_admin(struct mp_lu *lu, struct fake_path *fp)
{
	cr_assert_eq(mp_lu_path_admin_fail(lu, &fp->path), 0);
}
static void back_reinstate(struct mp_lu *lu, struct fake_path *fp)
{
	cr_assert_eq(mp_lu_path_reinstate(lu, &fp->path), 0);
}
/* Three flaps within the window: the path is up again but marginal. */
static void out_marginal(struct mp_lu *lu, struct fake_path *fp)
{
	for (int i = 0; i < 3; i++) {
		mp_lu_path_down(lu, &fp->path, "flap");
		fake_clock_advance(&fc, 100);
		up_again(lu, fp);
	}
	cr_assert(fp->path.marginal);
}
/* The hold runs out (housekeeping notices it within 100 ms). */
static void back_marginal_end(struct mp_lu *lu MP_UNUSED, struct fake_path *fp)
{
	for (int i = 0; i < 400 && fp->path.marginal; i++)
		fake_clock_advance(&fc, 100);
	cr_assert(!fp->path.marginal);
}

static const struct usability_source failback_sources[] = {
	{ "path down / path up", out_down, back_up },
	{ "operator fail / reinstate", out_admin, back_reinstate },
	{ "marginal / hold over", out_marginal, back_marginal_end },
};

Test(lu, failback_follows_the_policy_the_same_way_for_every_source)
{
	static const enum mp_failback policies[] = { MP_FAILBACK_IMMEDIATE, MP_FAILBACK_DEFERRED, MP_FAILBACK_MANUAL };
	for (size_t s = 0; s < MP_ARRAY_SIZE(failback_sources); s++) {
		const struct usability_source *src = &failback_sources[s];
		for (size_t p = 0; p < MP_ARRAY_SIZE(policies); p++) {
			struct mp_lu *lu = new_lu_opts(policies[p], 2, 3);
			struct fake_path a, b, *ps[] = { &a, &b };
			two_groups(lu, &a, &b);
			cr_assert_eq(route_one(lu, ps, 2), &a, "%s: prio 80 first", src->name);
			src->out(lu, &a);
			cr_assert_eq(route_one(lu, ps, 2), &b, "%s (policy %zu): no failover", src->name, p);
			src->back(lu, &a);
			if (policies[p] == MP_FAILBACK_IMMEDIATE) {
				cr_assert_eq(mp_lu_active_prio(lu), 80, "%s: no immediate failback", src->name);
			} else {
				cr_assert_eq(route_one(lu, ps, 2), &b, "%s (policy %zu): failback too early", src->name, p);
				fake_clock_advance(&fc, 2000);
				cr_assert_eq(mp_lu_active_prio(lu), policies[p] == MP_FAILBACK_DEFERRED ? 80 : 50,
					     "%s (policy %zu): wrong group after the failback delay", src->name, p);
			}
			cr_assert_eq(route_one(lu, ps, 2), policies[p] == MP_FAILBACK_MANUAL ? &b : &a, "%s", src->name);
			release(lu, ps, 2);
		}
	}
}

static const struct usability_source last_path_sources[] = {
	{ "path down / path up", out_down, back_up },
	{ "operator fail / reinstate", out_admin, back_reinstate },
};

/* Losing the last usable path starts the no-path clock (no_path_retry counts from then), and
 * bringing one back sends what waits and stops that clock, whoever reports the change. */
Test(lu, last_path_out_and_back_have_the_same_effects_for_every_source)
{
	for (size_t s = 0; s < MP_ARRAY_SIZE(last_path_sources); s++) {
		const struct usability_source *src = &last_path_sources[s];
		struct fake_path a;
		struct mp_lu *lu = lu_with_path(5, &a);
		done_calls = 0;
		uint8_t buf[BS];
		struct mp_blk_req r = read_of(buf);
		fake_clock_advance(&fc, 10000); /* the clock must start at the change, not at attach */
		src->out(lu, &a);
		fake_clock_advance(&fc, 3000);
		cr_assert_eq(submit(lu, &r), 0);
		cr_assert_eq(mp_lu_queued(lu), 1, "%s: not queued", src->name);
		fake_clock_advance(&fc, 1999);
		cr_assert_eq(done_calls, 0, "%s: failed before no_path_retry ran out", src->name);
		fake_clock_advance(&fc, 1);
		cr_assert_eq(done_calls, 1, "%s: not failed when no_path_retry ran out", src->name);
		cr_assert_eq(last_err, EIO);
		/* Back: new I/O flows (fail-fast is over), and queued I/O is sent at once. */
		src->back(lu, &a);
		cr_assert_eq(submit(lu, &r), 0);
		cr_assert_eq(a.nq, 1, "%s: not sent after the path came back", src->name);
		fp_serve(&a);
		cr_assert_eq(done_calls, 2);
		cr_assert_eq(last_err, 0, "%s", src->name);
		src->out(lu, &a);
		cr_assert_eq(submit(lu, &r), 0);
		cr_assert_eq(mp_lu_queued(lu), 1);
		fake_clock_advance(&fc, 1000);
		src->back(lu, &a);
		cr_assert_eq(mp_lu_queued(lu), 0, "%s: queued I/O not resumed", src->name);
		cr_assert_eq(a.nq, 1, "%s: queued I/O not sent", src->name);
		fp_serve(&a);
		fake_clock_advance(&fc, 10000);
		cr_assert_eq(done_calls, 3);
		cr_assert_eq(last_err, 0, "%s: the no-path clock was not stopped", src->name);
		mp_lu_remove_path(lu, &a.path);
		mp_lu_free(lu);
	}
}
