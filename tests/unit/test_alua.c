/* Unit tests of ALUA in the core (mpath/alua.c): groups from RTPG, triggers, failover between groups, STPG. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/lu.h"
#include "mpath/redundancy.h"
#include "mpath/rtpg.h"
#include "tests/unit/fake_clock.h"

#define BS 512u
#define MAXQ 256

/* A fake path that queues every command; the test answers them one by one. */
struct fpath {
	struct mp_path path;
	struct mp_scsi_cmd *q[MAXQ];
	int nq;
};

static struct fake_clock fc;
static int done_calls, last_err;

static int f_submit(struct mp_path *path, struct mp_scsi_cmd *cmd)
{
	struct fpath *fp = mp_container_of(path, struct fpath, path);
	cr_assert_lt(fp->nq, MAXQ);
	fp->q[fp->nq++] = cmd;
	return 0;
}

static void f_fail(struct mp_path *path, const char *reason) { mp_lu_path_down(path->lu, path, reason); }

static const struct mp_path_ops f_ops = { .kind = "fake", .submit = f_submit, .fail = f_fail };

static void req_done(struct mp_blk_req *req MP_UNUSED, int err)
{
	done_calls++;
	last_err = err;
}

/* Index of the first queued command with opcode op (-1 if none). */
static int find_op(const struct fpath *fp, uint8_t op)
{
	for (int i = 0; i < fp->nq; i++)
		if (fp->q[i]->cdb[0] == op)
			return i;
	return -1;
}

static int count_op(const struct fpath *fp, uint8_t op)
{
	int n = 0;
	for (int i = 0; i < fp->nq; i++)
		n += fp->q[i]->cdb[0] == op;
	return n;
}

static struct mp_scsi_cmd *take(struct fpath *fp, int i)
{
	cr_assert(i >= 0 && i < fp->nq, "path %s: no such command (%d of %d)", fp->path.name, i, fp->nq);
	struct mp_scsi_cmd *c = fp->q[i];
	memmove(fp->q + i, fp->q + i + 1, (size_t)(fp->nq - i - 1) * sizeof(fp->q[0]));
	fp->nq--;
	return c;
}

static void complete(struct mp_scsi_cmd *c, uint8_t status, uint8_t key, uint8_t asc, uint8_t ascq)
{
	struct mp_scsi_result r = { .xport = MP_XPORT_OK, .status = status };
	if (status == 2) {
		uint8_t s[18] = { 0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq };
		memcpy(r.sense, s, sizeof(s));
		r.sense_len = sizeof(s);
	}
	c->done(c, &r);
}

/* Answer the RTPG queued on fp: groups 1 and 2 (one port each: rel ports 1 and 2) in states s1, s2. */
static void answer_rtpg(struct fpath *fp, uint8_t s1, bool p1, uint8_t s2, bool p2)
{
	struct mp_scsi_cmd *c = take(fp, find_op(fp, 0xa3));
	cr_assert_eq(c->cdb[1] & 0x1f, 0x0a);
	uint8_t b[8 + 2 * 12] = { 0 };
	b[3] = sizeof(b) - 4;
	b[4] = 0x10;      /* extended header */
	b[5] = 10;        /* implicit transition time */
	uint8_t *d = b + 8;
	for (int g = 0; g < 2; g++, d += 12) {
		d[0] = (uint8_t)((g ? s2 : s1) | ((g ? p2 : p1) ? 0x80 : 0));
		d[1] = 0x8f;  /* T, U, S, ANO, AO supported */
		d[3] = (uint8_t)(g + 1);
		d[7] = 1;
		d[11] = (uint8_t)(g + 1);
	}
	cr_assert_geq(c->len, sizeof(b));
	memcpy(c->buf, b, sizeof(b));
	struct mp_scsi_result r = { .xport = MP_XPORT_OK, .status = 0, .residual = c->len - (uint32_t)sizeof(b) };
	c->done(c, &r);
}

static struct mp_lu_info info_of(uint8_t tpgs, uint16_t tpg)
{
	struct mp_lu_info in;
	memset(&in, 0, sizeof(in));
	snprintf(in.designator, sizeof(in.designator), "naa.6001405aa");
	in.block_size = BS;
	in.num_blocks = 1024;
	in.tpgs = tpgs;
	in.has_tpg = true;
	in.tpg = tpg;
	in.has_rel_port = true;
	in.rel_port = tpg;
	return in;
}

static struct mp_lu *new_lu(bool explicit_ok)
{
	struct mp_lu_opts o;
	mp_lu_opts_default(&o);
	o.no_path_retry_s = 30;
	o.alua_explicit = explicit_ok;
	return mp_lu_new("t", &fc.clock, &o);
}

static void add(struct mp_lu *lu, struct fpath *fp, const char *name, uint8_t tpgs, uint16_t tpg)
{
	char err[256];
	memset(fp, 0, sizeof(*fp));
	fp->path.ops = &f_ops;
	snprintf(fp->path.name, sizeof(fp->path.name), "%s", name);
	struct mp_lu_info in = info_of(tpgs, tpg);
	mp_lu_add_path(lu, &fp->path);
	cr_assert_eq(mp_lu_path_attached(lu, &fp->path, &in, err, sizeof(err)), 0, "%s", err);
}

/* Two paths, A in group 1 and B in group 2, with the first RTPG answered (via whichever path got it). */
static struct mp_lu *two_groups(struct fpath *a, struct fpath *b, uint8_t tpgs, bool explicit_ok, uint8_t s1,
				uint8_t s2)
{
	struct mp_lu *lu = new_lu(explicit_ok);
	add(lu, a, "A", tpgs, 1);
	add(lu, b, "B", tpgs, 2);
	struct fpath *via = find_op(a, 0xa3) >= 0 ? a : b;
	cr_assert_geq(find_op(via, 0xa3), 0, "attach sent no RTPG");
	answer_rtpg(via, s1, false, s2, false);
	/* A second RTPG may have been queued while the first was in flight: answer it the same way. */
	for (int i = 0; i < 3; i++) {
		if (find_op(a, 0xa3) >= 0)
			answer_rtpg(a, s1, false, s2, false);
		if (find_op(b, 0xa3) >= 0)
			answer_rtpg(b, s1, false, s2, false);
	}
	return lu;
}

static struct mp_blk_req rd(uint8_t *buf)
{
	struct mp_blk_req r = { .op = MP_BLK_READ, .offset = 0, .len = BS, .buf = buf, .done = req_done };
	return r;
}

static void drain_rtpg(struct fpath *a, struct fpath *b, uint8_t s1, uint8_t s2)
{
	for (int i = 0; i < 4; i++) {
		if (find_op(a, 0xa3) >= 0)
			answer_rtpg(a, s1, false, s2, false);
		if (find_op(b, 0xa3) >= 0)
			answer_rtpg(b, s1, false, s2, false);
	}
}

static void finish(struct mp_lu *lu, struct fpath *a, struct fpath *b)
{
	/* Paths are torn down: what they hold completes CANCELLED, as a real path does. */
	struct fpath *fps[2] = { a, b };
	for (int k = 0; k < 2; k++) {
		mp_lu_path_down(lu, &fps[k]->path, "test end");
		while (fps[k]->nq) {
			struct mp_scsi_cmd *c = take(fps[k], 0);
			struct mp_scsi_result r = { .xport = MP_XPORT_CANCELLED };
			c->done(c, &r);
		}
	}
	fake_clock_advance(&fc, 10);
	mp_lu_remove_path(lu, &a->path);
	mp_lu_remove_path(lu, &b->path);
	mp_lu_free(lu);
}

static void setup(void)
{
	mp_log_set_level(MP_LOG_ERR);
	fake_clock_init(&fc);
	done_calls = 0;
	last_err = -1;
}

TestSuite(alua, .init = setup);

Test(alua, no_tpgs_no_rtpg)
{
	struct fpath a, b;
	struct mp_lu *lu = new_lu(true);
	add(lu, &a, "A", 0, 1);
	add(lu, &b, "B", 0, 2);
	fake_clock_advance(&fc, 20000);
	cr_assert_eq(count_op(&a, 0xa3) + count_op(&b, 0xa3), 0, "RTPG sent to a target without TPGS");
	cr_assert_not(mp_lu_alua_enabled(lu));
	finish(lu, &a, &b);
}

Test(alua, io_goes_to_the_optimized_group)
{
	struct fpath a, b;
	struct mp_lu *lu = two_groups(&a, &b, 1, true, MP_ALUA_ANO, MP_ALUA_AO);
	cr_assert(mp_lu_alua_enabled(lu));
	cr_assert_gt(b.path.prio, a.path.prio, "AO path prio %d <= ANO path prio %d", b.path.prio, a.path.prio);
	uint8_t buf[BS];
	for (int i = 0; i < 8; i++) {
		struct mp_blk_req r = rd(buf);
		cr_assert_eq(mp_lu_submit(lu, &r), 0);
		complete(take(&b, find_op(&b, 0x88)), 0, 0, 0, 0);
	}
	cr_assert_eq(count_op(&a, 0x88), 0, "I/O went to the non-optimized group");
	cr_assert_eq(done_calls, 8);
	cr_assert_eq(mp_lu_path_alua_state(lu, &a.path), MP_ALUA_ANO);
	struct mp_alua_view v[4];
	cr_assert_eq(mp_lu_alua_groups(lu, v, 4), 2);
	finish(lu, &a, &b);
}

Test(alua, standby_sense_moves_the_command_and_refreshes)
{
	struct fpath a, b;
	struct mp_lu *lu = two_groups(&a, &b, 1, true, MP_ALUA_AO, MP_ALUA_ANO);
	uint8_t buf[BS];
	struct mp_blk_req r = rd(buf);
	cr_assert_eq(mp_lu_submit(lu, &r), 0);
	int i = find_op(&a, 0x88);
	cr_assert_geq(i, 0);
	complete(take(&a, i), 2, 0x2, 0x04, 0x0b); /* NOT READY, target port in standby */
	cr_assert_eq(done_calls, 0, "an ALUA state error reached the client");
	cr_assert_geq(find_op(&b, 0x88), 0, "the command was not re-sent to the other group");
	cr_assert_eq(mp_lu_path_alua_state(lu, &a.path), MP_ALUA_STANDBY);
	cr_assert_eq(count_op(&a, 0xa3) + count_op(&b, 0xa3), 1, "no RTPG after ALUA sense");
	complete(take(&b, find_op(&b, 0x88)), 0, 0, 0, 0);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, 0);
	/* The target confirms: A standby, B now optimized. */
	drain_rtpg(&a, &b, MP_ALUA_STANDBY, MP_ALUA_AO);
	cr_assert_eq(b.path.prio, 50);
	finish(lu, &a, &b);
}

Test(alua, unit_attention_2a06_triggers_refresh_and_failover_to_new_ao)
{
	struct fpath a, b;
	struct mp_lu *lu = two_groups(&a, &b, 1, true, MP_ALUA_AO, MP_ALUA_ANO);
	uint8_t buf[BS];
	struct mp_blk_req r = rd(buf);
	cr_assert_eq(mp_lu_submit(lu, &r), 0);
	complete(take(&a, find_op(&a, 0x88)), 2, 0x6, 0x2a, 0x06);
	cr_assert_eq(count_op(&a, 0xa3) + count_op(&b, 0xa3), 1, "no RTPG after UA 2A/06");
	drain_rtpg(&a, &b, MP_ALUA_ANO, MP_ALUA_AO);
	fake_clock_advance(&fc, 50); /* the retry delay */
	int ib = find_op(&b, 0x88);
	cr_assert_geq(ib, 0, "the retried command did not go to the new optimized group");
	complete(take(&b, ib), 0, 0, 0, 0);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, 0);
	finish(lu, &a, &b);
}

Test(alua, transitioning_waits_and_polls_then_resumes)
{
	struct fpath a, b;
	/* B unavailable: only A can serve, and A starts transitioning. */
	struct mp_lu *lu = two_groups(&a, &b, 1, true, MP_ALUA_AO, MP_ALUA_UNAVAILABLE);
	uint8_t buf[BS];
	struct mp_blk_req r = rd(buf);
	cr_assert_eq(mp_lu_submit(lu, &r), 0);
	complete(take(&a, find_op(&a, 0x88)), 2, 0x2, 0x04, 0x0a);
	cr_assert_eq(done_calls, 0);
	cr_assert_eq(count_op(&a, 0x88) + count_op(&b, 0x88), 0, "sent to a transitioning or unavailable group");
	cr_assert_eq(mp_lu_queued(lu), 1);
	/* Polls while transitioning: answer "still transitioning" for 2 s, a poll at least every 300 ms. */
	int polls = 0;
	for (int t = 0; t < 2000; t += 50) {
		fake_clock_advance(&fc, 50);
		if (find_op(&a, 0xa3) >= 0 || find_op(&b, 0xa3) >= 0) {
			polls++;
			drain_rtpg(&a, &b, MP_ALUA_TRANSITIONING, MP_ALUA_UNAVAILABLE);
		}
	}
	cr_assert_geq(polls, 6, "only %d RTPG polls in 2 s of transition", polls);
	cr_assert_eq(done_calls, 0, "the request failed while the group was transitioning");
	/* The transition ends. */
	fake_clock_advance(&fc, 300);
	drain_rtpg(&a, &b, MP_ALUA_AO, MP_ALUA_UNAVAILABLE);
	int ia = find_op(&a, 0x88);
	cr_assert_geq(ia, 0, "not re-sent after the transition");
	complete(take(&a, ia), 0, 0, 0, 0);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, 0);
	finish(lu, &a, &b);
}

Test(alua, explicit_activation_of_standby_group)
{
	struct fpath a, b;
	struct mp_lu *lu = two_groups(&a, &b, 3, true, MP_ALUA_STANDBY, MP_ALUA_AO);
	uint8_t buf[BS];
	struct mp_blk_req r = rd(buf);
	cr_assert_eq(mp_lu_submit(lu, &r), 0);
	complete(take(&b, find_op(&b, 0x88)), 2, 0x2, 0x04, 0x0c); /* B unavailable */
	cr_assert_eq(done_calls, 0);
	int is = find_op(&a, 0xa4);
	cr_assert_geq(is, 0, "no SET TARGET PORT GROUPS on the standby path");
	struct mp_scsi_cmd *c = take(&a, is);
	cr_assert_eq(c->cdb[1] & 0x1f, 0x0a);
	cr_assert_eq(c->dir, MP_DIR_WRITE);
	cr_assert_eq(c->len, 8);
	cr_assert_eq(c->buf[4] & 0x0f, MP_ALUA_AO, "STPG asks for state %d", c->buf[4] & 0x0f);
	cr_assert_eq(mp_be16(c->buf + 6), 1, "STPG names group %d", mp_be16(c->buf + 6));
	complete(c, 0, 0, 0, 0);
	drain_rtpg(&a, &b, MP_ALUA_AO, MP_ALUA_UNAVAILABLE);
	int ia = find_op(&a, 0x88);
	cr_assert_geq(ia, 0, "I/O did not move to the activated group");
	complete(take(&a, ia), 0, 0, 0, 0);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(last_err, 0);
	finish(lu, &a, &b);
}

Test(alua, no_stpg_when_explicit_is_off_or_unsupported)
{
	for (int k = 0; k < 2; k++) {
		setup();
		struct fpath a, b;
		/* k 0: alua_explicit = no; k 1: TPGS says implicit only. */
		struct mp_lu *lu = two_groups(&a, &b, k ? 1 : 3, k == 1, MP_ALUA_STANDBY, MP_ALUA_AO);
		uint8_t buf[BS];
		struct mp_blk_req r = rd(buf);
		cr_assert_eq(mp_lu_submit(lu, &r), 0);
		complete(take(&b, find_op(&b, 0x88)), 2, 0x2, 0x04, 0x0c);
		for (int t = 0; t < 10; t++) {
			fake_clock_advance(&fc, 500);
			drain_rtpg(&a, &b, MP_ALUA_STANDBY, MP_ALUA_UNAVAILABLE);
		}
		cr_assert_eq(count_op(&a, 0xa4) + count_op(&b, 0xa4), 0, "STPG sent (case %d)", k);
		cr_assert_eq(done_calls, 0, "queued I/O failed before no_path_retry (case %d)", k);
		cr_assert_eq(mp_lu_queued(lu), 1);
		finish(lu, &a, &b);
	}
}

Test(alua, port_offline_is_probed_back)
{
	struct fpath a, b;
	struct mp_lu *lu = two_groups(&a, &b, 1, true, MP_ALUA_AO, MP_ALUA_AO);
	uint8_t buf[BS];
	/* Find a read that lands on A. */
	int ia = -1;
	struct mp_blk_req rs[8]; /* outlive the loop: the one on A completes after it */
	for (int i = 0; i < 8 && ia < 0; i++) {
		rs[i] = rd(buf);
		cr_assert_eq(mp_lu_submit(lu, &rs[i]), 0);
		ia = find_op(&a, 0x88);
		if (ia < 0)
			complete(take(&b, find_op(&b, 0x88)), 0, 0, 0, 0);
	}
	cr_assert_geq(ia, 0);
	int before = done_calls;
	complete(take(&a, ia), 2, 0x2, 0x04, 0x12); /* port offline */
	cr_assert_eq(mp_lu_path_alua_state(lu, &a.path), MP_ALUA_OFFLINE);
	cr_assert_geq(find_op(&b, 0x88), 0, "not re-sent to the other path");
	complete(take(&b, find_op(&b, 0x88)), 0, 0, 0, 0);
	cr_assert_eq(done_calls, before + 1);
	drain_rtpg(&a, &b, MP_ALUA_AO, MP_ALUA_AO); /* B answers: groups fine, A's port still offline */
	cr_assert_not(mp_lu_path_usable(&a.path));
	/* The probe goes to A itself; while offline it fails, then it answers. */
	bool probed = false;
	for (int t = 0; t < 10 && !probed; t++) {
		fake_clock_advance(&fc, 500);
		int ip = find_op(&a, 0xa3);
		if (ip >= 0) {
			probed = true;
			complete(take(&a, ip), 2, 0x2, 0x04, 0x12);
		}
		drain_rtpg(&a, &b, MP_ALUA_AO, MP_ALUA_AO);
	}
	cr_assert(probed, "the offline port was never probed");
	cr_assert_not(mp_lu_path_usable(&a.path));
	probed = false;
	for (int t = 0; t < 10 && !probed; t++) {
		fake_clock_advance(&fc, 500);
		if (find_op(&a, 0xa3) >= 0) {
			probed = true;
			answer_rtpg(&a, MP_ALUA_AO, false, MP_ALUA_AO, false);
		}
		if (find_op(&b, 0xa3) >= 0)
			answer_rtpg(&b, MP_ALUA_AO, false, MP_ALUA_AO, false);
	}
	cr_assert(probed);
	cr_assert(mp_lu_path_usable(&a.path), "the port answered but the path stays out");
	finish(lu, &a, &b);
}

Test(alua, extended_header_rejected_falls_back)
{
	struct fpath a, b;
	struct mp_lu *lu = new_lu(true);
	add(lu, &a, "A", 1, 1);
	add(lu, &b, "B", 1, 2);
	struct fpath *via = find_op(&a, 0xa3) >= 0 ? &a : &b;
	struct mp_scsi_cmd *c = take(via, find_op(via, 0xa3));
	cr_assert_eq(c->cdb[1], 0x2a, "first RTPG does not ask for the extended header");
	complete(c, 2, 0x5, 0x24, 0x00); /* ILLEGAL REQUEST, invalid field in CDB */
	via = find_op(&a, 0xa3) >= 0 ? &a : &b;
	int i = find_op(via, 0xa3);
	cr_assert_geq(i, 0, "no second RTPG after the rejection");
	cr_assert_eq(via->q[i]->cdb[1], 0x0a);
	/* Answer in the length-only format: group 1 AO, group 2 standby. */
	c = take(via, i);
	uint8_t ans[4 + 2 * 12] = { 0 };
	ans[3] = sizeof(ans) - 4;
	ans[4] = MP_ALUA_AO;
	ans[7] = 1;
	ans[11] = 1;
	ans[4 + 12] = MP_ALUA_STANDBY;
	ans[4 + 12 + 3] = 2;
	ans[4 + 12 + 7] = 1;
	ans[4 + 12 + 11] = 2;
	memcpy(c->buf, ans, sizeof(ans));
	struct mp_scsi_result r = { .xport = MP_XPORT_OK, .residual = c->len - (uint32_t)sizeof(ans) };
	c->done(c, &r);
	cr_assert_eq(mp_lu_path_alua_state(lu, &a.path), MP_ALUA_AO);
	cr_assert_eq(mp_lu_path_alua_state(lu, &b.path), MP_ALUA_STANDBY);
	cr_assert_not(mp_lu_path_usable(&b.path));
	finish(lu, &a, &b);
}

Test(alua, periodic_refresh_sees_a_new_optimized_group)
{
	struct fpath a, b;
	struct mp_lu *lu = two_groups(&a, &b, 1, true, MP_ALUA_AO, MP_ALUA_ANO);
	cr_assert_eq(mp_lu_active_prio(lu), a.path.prio);
	/* Nothing degraded: the next RTPG comes with the periodic refresh (5 s default). */
	fake_clock_advance(&fc, 5100);
	cr_assert_eq(count_op(&a, 0xa3) + count_op(&b, 0xa3), 1, "no periodic RTPG");
	drain_rtpg(&a, &b, MP_ALUA_ANO, MP_ALUA_AO);
	cr_assert_eq(mp_lu_active_prio(lu), b.path.prio, "active group did not follow the target");
	finish(lu, &a, &b);
}

Test(alua, path_without_capacity_joins_only_a_sized_disk)
{
	char err[256];
	struct mp_lu *lu = new_lu(true);
	struct fpath a, b;
	memset(&b, 0, sizeof(b));
	b.path.ops = &f_ops;
	snprintf(b.path.name, sizeof(b.path.name), "B");
	struct mp_lu_info nocap = info_of(1, 2);
	nocap.capacity_unknown = true;
	nocap.block_size = 0;
	nocap.num_blocks = 0;
	mp_lu_add_path(lu, &b.path);
	cr_assert_eq(mp_lu_path_attached(lu, &b.path, &nocap, err, sizeof(err)), -1, "joined a disk of unknown size");
	add(lu, &a, "A", 1, 1);
	cr_assert_eq(mp_lu_path_attached(lu, &b.path, &nocap, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mp_lu_get_info(lu)->block_size, BS, "the disk's size was overwritten");
	snprintf(nocap.designator, sizeof(nocap.designator), "naa.other");
	mp_lu_path_down(lu, &b.path, "test");
	cr_assert_eq(mp_lu_path_attached(lu, &b.path, &nocap, err, sizeof(err)), -1, "another LU joined");
	drain_rtpg(&a, &b, MP_ALUA_AO, MP_ALUA_UNAVAILABLE);
	finish(lu, &a, &b);
}

/* ---- an ALUA change goes through the same owner as a path going down and up ---- */

/* Answer the next RTPG on fp (waiting up to 6 s of fake time for one) with group 1 in state s1. */
static void answer_next_rtpg(struct fpath *fp, uint8_t s1)
{
	for (int i = 0; i < 60 && find_op(fp, 0xa3) < 0; i++)
		fake_clock_advance(&fc, 100);
	answer_rtpg(fp, s1, false, MP_ALUA_AO, false);
}

static void alua_out(struct mp_lu *lu MP_UNUSED, struct fpath *fp) { answer_next_rtpg(fp, MP_ALUA_STANDBY); }
static void alua_back(struct mp_lu *lu MP_UNUSED, struct fpath *fp) { answer_next_rtpg(fp, MP_ALUA_AO); }

static void path_out(struct mp_lu *lu, struct fpath *fp)
{
	mp_lu_path_down(lu, &fp->path, "test");
	while (fp->nq) {
		struct mp_scsi_result r = { .xport = MP_XPORT_CANCELLED };
		struct mp_scsi_cmd *c = take(fp, 0);
		c->done(c, &r);
	}
}

static void path_back(struct mp_lu *lu, struct fpath *fp)
{
	char err[256];
	struct mp_lu_info in = info_of(1, 1);
	cr_assert_eq(mp_lu_path_attached(lu, &fp->path, &in, err, sizeof(err)), 0, "%s", err);
	alua_back(lu, fp);
}

Test(alua, alua_change_has_the_same_effects_as_path_down_and_up)
{
	static const struct {
		const char *name;
		void (*out)(struct mp_lu *lu, struct fpath *fp);
		void (*back)(struct mp_lu *lu, struct fpath *fp);
	} sources[] = {
		{ "path down / up", path_out, path_back },
		{ "ALUA standby / active-optimized", alua_out, alua_back },
	};
	for (size_t s = 0; s < MP_ARRAY_SIZE(sources); s++) {
		struct fpath a;
		struct mp_lu *lu = new_lu(false); /* no_path_retry 30 s */
		add(lu, &a, "A", 1, 1);
		answer_next_rtpg(&a, MP_ALUA_AO);
		fake_clock_advance(&fc, 10000);
		while (find_op(&a, 0xa3) >= 0)
			answer_rtpg(&a, MP_ALUA_AO, false, MP_ALUA_AO, false);
		done_calls = 0;
		uint8_t buf[BS];
		struct mp_blk_req r = rd(buf);
		/* Out: what is submitted waits, and fails when no_path_retry runs out counted from the change. */
		sources[s].out(lu, &a);
		uint64_t t_out = fc.now;
		fake_clock_advance(&fc, 3000);
		cr_assert_eq(mp_lu_submit(lu, &r), 0);
		cr_assert_eq(count_op(&a, 0x88), 0, "%s: sent to a path that cannot take it", sources[s].name);
		cr_assert_eq(mp_lu_queued(lu), 1, "%s: not queued", sources[s].name);
		fake_clock_advance(&fc, t_out + 29999 - fc.now);
		cr_assert_eq(done_calls, 0, "%s: failed before no_path_retry ran out", sources[s].name);
		fake_clock_advance(&fc, 1);
		cr_assert_eq(done_calls, 1, "%s: not failed when no_path_retry ran out", sources[s].name);
		cr_assert_eq(last_err, EIO);
		/* Back: new I/O flows again (fail-fast is over). */
		sources[s].back(lu, &a);
		struct mp_blk_req r2 = rd(buf);
		cr_assert_eq(mp_lu_submit(lu, &r2), 0);
		cr_assert_eq(count_op(&a, 0x88), 1, "%s: not sent after the path came back", sources[s].name);
		complete(take(&a, find_op(&a, 0x88)), 0, 0, 0, 0);
		cr_assert_eq(done_calls, 2);
		cr_assert_eq(last_err, 0, "%s", sources[s].name);
		/* Out and back with a request waiting: it is sent at once, and the no-path clock stops. */
		sources[s].out(lu, &a);
		struct mp_blk_req r3 = rd(buf);
		cr_assert_eq(mp_lu_submit(lu, &r3), 0);
		cr_assert_eq(mp_lu_queued(lu), 1, "%s: not queued the second time", sources[s].name);
		sources[s].back(lu, &a);
		cr_assert_eq(mp_lu_queued(lu), 0, "%s: queued I/O not resumed", sources[s].name);
		cr_assert_eq(count_op(&a, 0x88), 1, "%s: queued I/O not sent", sources[s].name);
		complete(take(&a, find_op(&a, 0x88)), 0, 0, 0, 0);
		fake_clock_advance(&fc, 40000);
		cr_assert_eq(done_calls, 3, "%s", sources[s].name);
		cr_assert_eq(last_err, 0, "%s: the no-path clock was not stopped", sources[s].name);
		while (find_op(&a, 0xa3) >= 0)
			answer_rtpg(&a, MP_ALUA_AO, false, MP_ALUA_AO, false);
		cr_assert_eq(mp_lu_active_prio(lu), a.path.prio, "%s: the path's group is not the active one",
			     sources[s].name);
		/* Remove the path (commands it holds come back CANCELLED) and free. */
		path_out(lu, &a);
		fake_clock_advance(&fc, 10);
		mp_lu_remove_path(lu, &a.path);
		mp_lu_free(lu);
	}
}

/* The redundancy audit (mpath/lu_redundancy.c) counts a standby path as a way to the LU (an
 * active/passive pair is redundant), an unavailable one not; only the AO path is the active group. */
Test(alua, redundancy_counts_standby_paths_not_unavailable_ones)
{
	struct fpath a, b;
	struct mp_redundancy v;
	struct mp_lu *lu = two_groups(&a, &b, 1, true, MP_ALUA_AO, MP_ALUA_STANDBY);
	cr_assert_eq(mp_lu_redundancy(lu, &v), 0);
	cr_assert_eq(v.n_usable, 2);
	cr_assert_not(v.mask & MP_SPOF_BIT(MP_SPOF_SINGLE_PATH), "a standby path is a second way: %s",
		      v.reason[MP_SPOF_SINGLE_PATH]);
	cr_assert_not(v.mask & MP_SPOF_BIT(MP_SPOF_SINGLE_GROUP), "two groups: %s", v.reason[MP_SPOF_SINGLE_GROUP]);
	cr_assert(v.mask & MP_SPOF_BIT(MP_SPOF_ACTIVE_NIC), "the active group is A alone");
	/* B's group becomes unavailable: A is the only way. */
	fake_clock_advance(&fc, 6000); /* the periodic refresh */
	drain_rtpg(&a, &b, MP_ALUA_AO, MP_ALUA_UNAVAILABLE);
	cr_assert_eq(mp_lu_path_alua_state(lu, &b.path), MP_ALUA_UNAVAILABLE);
	cr_assert_eq(mp_lu_redundancy(lu, &v), 0);
	cr_assert_eq(v.n_usable, 1);
	cr_assert(v.mask & MP_SPOF_BIT(MP_SPOF_SINGLE_PATH));
	finish(lu, &a, &b);
}
