/* Unit tests for initiator/attach: the whole sequence over a fake path with canned, asynchronous answers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "initiator/attach.h"
#include "mpath/path.h"
#include "tests/unit/scsi_samples.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#else
#define HAVE_LSAN 0
#endif

/* ---- a fake path: submit queues, the test loop completes ---- */

#define ANY_PAGE (-2)   /* matches every page of the opcode */
#define NO_PAGE  (-1)   /* a non-VPD command (standard INQUIRY, READ CAPACITY(16)) */

/* One canned answer. The first row matching the command, and not used up, answers it. */
struct canned {
	uint8_t op;
	int page;
	const uint8_t *data;
	size_t len;
	uint8_t status;
	uint8_t key, asc, ascq;      /* sense, when status is CHECK CONDITION */
	enum mp_xport xport;
	unsigned times;              /* answer this many times, then let later rows match; 0 = forever */
	uint32_t residual_extra;     /* added to the honest residual, to model a lying path */
};

#define ROW(o, p, arr) { .op = (o), .page = (p), .data = (arr), .len = sizeof(arr) }
#define CHECK(o, p, k, a, q, n) { .op = (o), .page = (p), .status = 2, .key = (k), .asc = (a), .ascq = (q), .times = (n) }

struct sent {
	uint8_t op;
	int page;
	uint32_t alloc;
};

struct fake_path {
	struct mp_path base;
	const struct canned *rows;
	size_t nrows;
	unsigned used[32];
	struct mp_scsi_cmd *queue[4];
	size_t qlen;
	struct sent sent[64];
	size_t nsent;
	unsigned refuse_at;          /* refuse the Nth submit (1-based) with refuse_errno; 0 = never */
	int refuse_errno;
	bool cancel_all;             /* complete everything CANCELLED, as a torn-down path does */
	unsigned completed;
};

static int cmd_page(const struct mp_scsi_cmd *c)
{
	return (c->cdb[0] == 0x12 && (c->cdb[1] & 1)) ? c->cdb[2] : NO_PAGE;
}

static uint32_t cmd_alloc(const struct mp_scsi_cmd *c)
{
	if (c->cdb[0] == 0x5a)
		return mp_be16(c->cdb + 7);
	return c->cdb[0] == 0x12 ? mp_be16(c->cdb + 3) : mp_be32(c->cdb + 10);
}

static int fake_submit(struct mp_path *p, struct mp_scsi_cmd *cmd)
{
	struct fake_path *f = mp_container_of(p, struct fake_path, base);
	cr_assert_lt(f->nsent, MP_ARRAY_SIZE(f->sent));
	if (f->refuse_at && f->nsent + 1 == f->refuse_at) {
		f->nsent++;
		errno = f->refuse_errno;
		return -1;
	}
	cr_assert_eq(f->qlen, 0, "attach must have one command in flight at a time");
	cr_assert_eq(cmd->dir, MP_DIR_READ);
	cr_assert_eq(cmd_alloc(cmd), cmd->len, "allocation length and buffer length differ");
	f->sent[f->nsent++] = (struct sent){ cmd->cdb[0], cmd_page(cmd), cmd->len };
	f->queue[f->qlen++] = cmd;
	p->submitted++;
	return 0;   /* never completes here: done comes from fake_run() */
}

static void fake_fail(struct mp_path *p, const char *reason)
{
	(void)p;
	(void)reason;
}

static const struct mp_path_ops fake_ops = { .kind = "fake", .submit = fake_submit, .fail = fake_fail };

static void fake_init(struct fake_path *f, const struct canned *rows, size_t n)
{
	memset(f, 0, sizeof(*f));
	cr_assert_leq(n, MP_ARRAY_SIZE(f->used));
	f->base.ops = &fake_ops;
	snprintf(f->base.name, sizeof(f->base.name), "fake0");
	f->rows = rows;
	f->nrows = n;
}

/* Complete the oldest queued command from the table. Returns false when nothing was queued. */
static bool fake_step(struct fake_path *f)
{
	if (f->qlen == 0)
		return false;
	struct mp_scsi_cmd *cmd = f->queue[0];
	memmove(f->queue, f->queue + 1, (f->qlen - 1) * sizeof(f->queue[0]));
	f->qlen--;

	struct mp_scsi_result res;
	memset(&res, 0, sizeof(res));
	res.residual = cmd->len;
	if (f->cancel_all) {
		res.xport = MP_XPORT_CANCELLED;
	} else {
		const struct canned *r = NULL;
		for (size_t i = 0; i < f->nrows && !r; i++) {
			const struct canned *c = &f->rows[i];
			if (c->op != cmd->cdb[0] || (c->page != ANY_PAGE && c->page != cmd_page(cmd)))
				continue;
			if (c->times && f->used[i] >= c->times)
				continue;
			f->used[i]++;
			r = c;
		}
		if (!r) {
			/* Unknown command: ILLEGAL REQUEST, INVALID FIELD IN CDB, as a target says it. */
			static const struct canned illegal = CHECK(0, 0, 5, 0x24, 0x00, 0);
			r = &illegal;
		}
		res.xport = r->xport;
		res.status = r->status;
		if (r->status == 2) {
			uint8_t s[18] = { 0x70, 0, r->key, 0, 0, 0, 0, 10, 0, 0, 0, 0, r->asc, r->ascq };
			memcpy(res.sense, s, sizeof(s));
			res.sense_len = sizeof(s);
		}
		if (r->xport == MP_XPORT_OK && r->status == 0 && r->data) {
			size_t n = MP_MIN(r->len, (size_t)cmd->len);
			memcpy(cmd->buf, r->data, n);
			res.residual = (uint32_t)(cmd->len - n) + r->residual_extra;
		}
	}
	f->completed++;
	cmd->done(cmd, &res);
	return true;
}

static void fake_run(struct fake_path *f)
{
	while (fake_step(f))
		;
}

static size_t count_sent(const struct fake_path *f, uint8_t op, int page)
{
	size_t n = 0;
	for (size_t i = 0; i < f->nsent; i++)
		n += f->sent[i].op == op && f->sent[i].page == page;
	return n;
}

/* ---- what the attach reported ---- */

struct outcome {
	unsigned calls;
	int err;
	bool had_info;
	struct mp_lu_info info;
	char msg[256];
	struct mp_attach *self;      /* for the cancel-from-inside-done test */
	bool cancel_inside;
};

static void on_attached(void *arg, int err, const struct mp_lu_info *info, const char *msg)
{
	struct outcome *o = arg;
	o->calls++;
	o->err = err;
	o->had_info = info != NULL;
	if (info)
		o->info = *info;
	cr_assert_not_null(msg);
	snprintf(o->msg, sizeof(o->msg), "%s", msg);
	if (o->cancel_inside)
		mp_attach_cancel(o->self);   /* documented as a harmless no-op */
}

static void check_no_leaks(void)
{
#if HAVE_LSAN
	cr_expect_eq(__lsan_do_recoverable_leak_check(), 0, "LeakSanitizer found a leak");
#endif
}

/* Run a whole attach over rows; returns the outcome and leaves the fake for inspection. */
static void run_attach(struct fake_path *f, const struct canned *rows, size_t n,
		       const struct mp_attach_opts *opts, struct outcome *o)
{
	fake_init(f, rows, n);
	memset(o, 0, sizeof(*o));
	struct mp_attach *a = mp_attach_start(&f->base, opts, on_attached, o);
	cr_assert_not_null(a);
	cr_assert_eq(o->calls, 0, "done must not run inside mp_attach_start");
	fake_run(f);
	cr_assert_eq(o->calls, 1, "done must run exactly once (ran %u times)", o->calls);
	cr_expect_eq(f->completed, f->nsent - (f->refuse_at && f->refuse_at <= f->nsent ? 1 : 0));
}

static const struct canned lio_rows[] = {
	ROW(0x12, NO_PAGE, lio_inquiry),
	ROW(0x12, 0x00, lio_vpd00),
	ROW(0x12, 0x80, lio_vpd80),
	ROW(0x12, 0x83, lio_vpd83),
	ROW(0x12, 0xb0, lio_vpdb0),
	ROW(0x12, 0xb2, lio_vpdb2),
	ROW(0x9e, NO_PAGE, lio_rc16),
};

Test(attach, lio_full_sequence)
{
	struct fake_path f;
	struct outcome o;
	run_attach(&f, lio_rows, MP_ARRAY_SIZE(lio_rows), NULL, &o);
	cr_assert_eq(o.err, 0, "err %d: %s", o.err, o.msg);
	cr_assert(o.had_info);
	cr_expect_str_eq(o.msg, "");
	const struct sent order[] = {
		{ 0x12, NO_PAGE, 255 }, { 0x12, 0x00, 255 }, { 0x12, 0x80, 255 }, { 0x12, 0x83, 4096 },
		{ 0x12, 0xb0, 255 }, { 0x12, 0xb2, 255 }, { 0x9e, NO_PAGE, 32 }, { 0x5a, NO_PAGE, 64 },
	};
	cr_assert_eq(f.nsent, MP_ARRAY_SIZE(order));
	for (size_t i = 0; i < f.nsent; i++) {
		cr_expect_eq(f.sent[i].op, order[i].op, "command %zu opcode", i);
		cr_expect_eq(f.sent[i].page, order[i].page, "command %zu page", i);
		cr_expect_eq(f.sent[i].alloc, order[i].alloc, "command %zu allocation length", i);
	}
	const struct mp_lu_info *in = &o.info;
	cr_expect_str_eq(in->designator, "naa.6001405a1b2c3d4e5f60718293a4b5c6");
	cr_expect_str_eq(in->serial, "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90");
	cr_expect_str_eq(in->vendor, "LIO-ORG");
	cr_expect_str_eq(in->product, "disk0");
	cr_expect_str_eq(in->revision, "4.0");
	cr_expect_eq(in->peripheral_type, 0);
	cr_expect_eq(in->tpgs, 3);
	cr_expect(in->has_rel_port);
	cr_expect_eq(in->rel_port, 1);
	cr_expect(in->has_tpg);
	cr_expect_eq(in->tpg, 0);
	cr_expect_eq(in->block_size, 512);
	cr_expect_eq(in->num_blocks, 0x200000);
	cr_expect_eq(in->phys_exp, 3);
	cr_expect(in->lbpme);
	cr_expect(in->lbprz);
	cr_expect_eq(in->max_xfer_blocks, 0x400);
	cr_expect_eq(in->opt_xfer_blocks, 0x400);
	cr_expect_eq(in->opt_gran_blocks, 8);
	cr_expect_eq(in->max_unmap_blocks, 0x400000);
	cr_expect_eq(in->max_unmap_descs, 1);
	cr_expect_eq(in->max_write_same_blocks, 0x1000);
	cr_expect(in->lbpu);
	cr_expect(in->lbpws);
	cr_expect(!in->anc_sup);
	check_no_leaks();
}

Test(attach, tgtd_with_short_b0_and_no_b2_answer)
{
	/* tgtd lists B2 here but answers it with ILLEGAL REQUEST: a listed page that fails is an error. */
	static const uint8_t rc16[32] = { 0, 0, 0, 0, 0, 0x0f, 0xff, 0xff, 0, 0, 0x10, 0 };
	const struct canned rows[] = {
		ROW(0x12, NO_PAGE, tgtd_inquiry), ROW(0x12, 0x00, tgtd_vpd00), ROW(0x12, 0x80, tgtd_vpd80),
		ROW(0x12, 0x83, tgtd_vpd83), ROW(0x12, 0xb0, old_vpdb0), ROW(0x9e, NO_PAGE, rc16),
	};
	struct fake_path f;
	struct outcome o;
	run_attach(&f, rows, MP_ARRAY_SIZE(rows), NULL, &o);
	cr_expect_eq(o.err, EIO);
	cr_expect(!o.had_info);
	cr_expect_str_eq(o.msg, "VPD 0xB2: CHECK CONDITION 5/24/00");
	cr_expect_eq(count_sent(&f, 0x9e, NO_PAGE), 0, "nothing after a failure");

	/* Without B2 in its page list the same target attaches, with the short B0's limits. */
	static const uint8_t vpd00[] = { 0x00, 0x00, 0x00, 0x04, 0x00, 0x80, 0x83, 0xb0 };
	const struct canned rows2[] = {
		ROW(0x12, NO_PAGE, tgtd_inquiry), ROW(0x12, 0x00, vpd00), ROW(0x12, 0x80, tgtd_vpd80),
		ROW(0x12, 0x83, tgtd_vpd83), ROW(0x12, 0xb0, old_vpdb0), ROW(0x9e, NO_PAGE, rc16),
	};
	run_attach(&f, rows2, MP_ARRAY_SIZE(rows2), NULL, &o);
	cr_assert_eq(o.err, 0, "%s", o.msg);
	cr_expect_eq(count_sent(&f, 0x12, 0xb2), 0);
	cr_expect_str_eq(o.info.designator, "naa.60000000000000000e00000000010001");
	cr_expect_str_eq(o.info.serial, "beaf11");
	cr_expect_str_eq(o.info.vendor, "IET");
	cr_expect_eq(o.info.block_size, 4096);
	cr_expect_eq(o.info.num_blocks, 0x100000);
	cr_expect_eq(o.info.max_xfer_blocks, 0x2000);
	cr_expect_eq(o.info.max_write_same_blocks, 0);
	cr_expect(!o.info.lbpu);
	cr_expect(!o.info.has_rel_port);
	check_no_leaks();
}

Test(attach, unit_attention_is_retried)
{
	/* Power-on UA on the first command after login, then a mode-parameters-changed UA on 0x83. */
	const struct canned rows[] = {
		CHECK(0x12, NO_PAGE, 6, 0x29, 0x00, 1),
		CHECK(0x12, NO_PAGE, 6, 0x2a, 0x01, 1),
		CHECK(0x12, 0x83, 6, 0x3f, 0x0e, 1),
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		ROW(0x12, 0x83, lio_vpd83), ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2),
		ROW(0x9e, NO_PAGE, lio_rc16),
	};
	struct fake_path f;
	struct outcome o;
	run_attach(&f, rows, MP_ARRAY_SIZE(rows), NULL, &o);
	cr_assert_eq(o.err, 0, "%s", o.msg);
	cr_expect_eq(count_sent(&f, 0x12, NO_PAGE), 3);
	cr_expect_eq(count_sent(&f, 0x12, 0x83), 2);
	cr_expect_str_eq(o.info.designator, "naa.6001405a1b2c3d4e5f60718293a4b5c6");
	check_no_leaks();
}

Test(attach, unit_attention_retries_are_bounded)
{
	const struct canned rows[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		CHECK(0x12, 0x83, 6, 0x29, 0x00, 0),
	};
	struct mp_attach_opts opts;
	mp_attach_opts_default(&opts);
	cr_expect_eq(opts.ua_retries, MP_ATTACH_UA_RETRIES_DEFAULT);
	opts.ua_retries = 2;
	struct fake_path f;
	struct outcome o;
	run_attach(&f, rows, MP_ARRAY_SIZE(rows), &opts, &o);
	cr_expect_eq(o.err, EIO);
	cr_expect_eq(count_sent(&f, 0x12, 0x83), 3, "one try and two retries");
	cr_expect_str_eq(o.msg, "VPD 0x83: CHECK CONDITION 6/29/00 (unit attention persists after 2 retries)");
	check_no_leaks();
}

Test(attach, failure_names_command_and_sense)
{
	const struct canned rows[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		CHECK(0x12, 0x83, 5, 0x24, 0x00, 0),
	};
	struct fake_path f;
	struct outcome o;
	run_attach(&f, rows, MP_ARRAY_SIZE(rows), NULL, &o);
	cr_expect_eq(o.err, EIO);
	cr_expect(!o.had_info);
	cr_expect_str_eq(o.msg, "VPD 0x83: CHECK CONDITION 5/24/00");
	cr_expect_eq(count_sent(&f, 0x12, 0x83), 1, "not a unit attention: no retry");
	check_no_leaks();
}

Test(attach, other_failures)
{
	struct fake_path f;
	struct outcome o;

	const struct canned busy[] = { { .op = 0x12, .page = NO_PAGE, .status = 0x08 } };
	run_attach(&f, busy, MP_ARRAY_SIZE(busy), NULL, &o);
	cr_expect_eq(o.err, EIO);
	cr_expect_str_eq(o.msg, "INQUIRY: status 0x08 (BUSY)");

	const struct canned xport[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		ROW(0x12, 0x83, lio_vpd83), { .op = 0x12, .page = 0xb0, .xport = MP_XPORT_ERROR },
	};
	run_attach(&f, xport, MP_ARRAY_SIZE(xport), NULL, &o);
	cr_expect_eq(o.err, ENOTCONN);
	cr_expect_str_eq(o.msg, "VPD 0xB0: transport error");

	const struct canned timeout[] = { { .op = 0x12, .page = NO_PAGE, .xport = MP_XPORT_TIMEOUT } };
	run_attach(&f, timeout, MP_ARRAY_SIZE(timeout), NULL, &o);
	cr_expect_eq(o.err, ETIMEDOUT);
	cr_expect_str_eq(o.msg, "INQUIRY: timed out");

	/* A CD-ROM (type 5) is not ours. */
	static const uint8_t cdrom[36] = { 0x05, 0x80, 0x05, 0x02, 0x1f };
	const struct canned cd[] = { ROW(0x12, NO_PAGE, cdrom) };
	run_attach(&f, cd, MP_ARRAY_SIZE(cd), NULL, &o);
	cr_expect_eq(o.err, ENODEV);
	cr_expect_str_eq(o.msg, "INQUIRY: peripheral qualifier 0 type 0x05: not a connected disk");

	/* A path whose residual exceeds the buffer: nothing counts as received. */
	const struct canned liar[] = {
		{ .op = 0x12, .page = NO_PAGE, .data = lio_inquiry, .len = sizeof(lio_inquiry), .residual_extra = 1000 },
	};
	run_attach(&f, liar, MP_ARRAY_SIZE(liar), NULL, &o);
	cr_expect_eq(o.err, EPROTO);
	cr_expect_str_eq(o.msg, "INQUIRY: malformed response (0 bytes): Protocol error");

	/* READ CAPACITY(16) with block length 0. */
	static const uint8_t rc_bad[32] = { 0, 0, 0, 0, 0, 0, 0x10, 0 };
	const struct canned rcb[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		ROW(0x12, 0x83, lio_vpd83), ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2),
		ROW(0x9e, NO_PAGE, rc_bad),
	};
	run_attach(&f, rcb, MP_ARRAY_SIZE(rcb), NULL, &o);
	cr_expect_eq(o.err, EPROTO);
	cr_expect_str_eq(o.msg, "READ CAPACITY(16): malformed response (32 bytes): Protocol error");
	check_no_leaks();
}

Test(attach, identity_falls_back_to_serial)
{
	/* 0x83 not listed and refused: identify by serial; B0/B2 unlisted are not asked. */
	static const uint8_t vpd00[] = { 0x00, 0x00, 0x00, 0x02, 0x00, 0x80 };
	const struct canned rows[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, vpd00), ROW(0x12, 0x80, lio_vpd80),
		CHECK(0x12, 0x83, 5, 0x24, 0x00, 0), ROW(0x9e, NO_PAGE, lio_rc16),
	};
	struct fake_path f;
	struct outcome o;
	run_attach(&f, rows, MP_ARRAY_SIZE(rows), NULL, &o);
	cr_assert_eq(o.err, 0, "%s", o.msg);
	cr_expect_str_eq(o.info.designator, "serial.a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90");
	cr_expect_eq(count_sent(&f, 0x12, 0xb0) + count_sent(&f, 0x12, 0xb2), 0);
	cr_expect_eq(o.info.max_xfer_blocks, 0);

	/* 0x83 answers but has no LU designator (port designators only): serial again. */
	const struct canned rows2[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		ROW(0x12, 0x83, noid_vpd83), ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2),
		ROW(0x9e, NO_PAGE, lio_rc16),
	};
	run_attach(&f, rows2, MP_ARRAY_SIZE(rows2), NULL, &o);
	cr_assert_eq(o.err, 0, "%s", o.msg);
	cr_expect_str_eq(o.info.designator, "serial.a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90");
	cr_expect(o.info.has_rel_port);

	/* Neither: no identity, no attach. */
	static const uint8_t vpd00b[] = { 0x00, 0x00, 0x00, 0x02, 0x00, 0x83 };
	const struct canned rows3[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, vpd00b), ROW(0x12, 0x83, noid_vpd83),
	};
	run_attach(&f, rows3, MP_ARRAY_SIZE(rows3), NULL, &o);
	cr_expect_eq(o.err, ENODEV);
	cr_expect_str_eq(o.msg, "VPD 0x83: no logical unit designator and no unit serial number");
	cr_expect_eq(count_sent(&f, 0x12, 0x80), 0);
	check_no_leaks();
}

Test(attach, long_vpd83_is_reread_at_its_real_length)
{
	/* A page of 5000 bytes: vendor-specific designators first, the NAA only at the end. */
	enum { BODY = 5000 };
	uint8_t *page = calloc(1, 4 + BODY);
	cr_assert_not_null(page);
	page[1] = 0x83;
	mp_put_be16(page + 2, BODY);
	size_t off = 4;
	while (4 + BODY - off > 20 + 4 + 255) {
		page[off] = 0x02;         /* ASCII, vendor specific (type 0), LU */
		page[off + 3] = 255;
		memset(page + off + 4, 'v', 255);
		off += 4 + 255;
	}
	size_t fill = 4 + BODY - off - 20;   /* one last vendor designator sized to leave room for the NAA */
	page[off] = 0x02;
	page[off + 3] = (uint8_t)(fill - 4);
	off += fill;
	static const uint8_t naa[20] = { 0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5f, 0xee, 0xdd, 0xcc,
					 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33 };
	memcpy(page + off, naa, sizeof(naa));
	cr_assert_eq(off + 20, 4u + BODY);

	const struct canned rows[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		{ .op = 0x12, .page = 0x83, .data = page, .len = 4 + BODY },
		ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2), ROW(0x9e, NO_PAGE, lio_rc16),
	};
	struct fake_path f;
	struct outcome o;
	run_attach(&f, rows, MP_ARRAY_SIZE(rows), NULL, &o);
	cr_assert_eq(o.err, 0, "%s", o.msg);
	cr_expect_eq(count_sent(&f, 0x12, 0x83), 2);
	cr_expect_eq(f.sent[3].alloc, 4096);
	cr_expect_eq(f.sent[4].alloc, 4 + BODY);
	cr_expect_str_eq(o.info.designator, "naa.6001405feeddccbbaa99887766554433");
	free(page);
	check_no_leaks();
}

Test(attach, submit_refused)
{
	struct fake_path f;
	struct outcome o;
	/* The first command refused: no handle, no callback. */
	fake_init(&f, lio_rows, MP_ARRAY_SIZE(lio_rows));
	f.refuse_at = 1;
	f.refuse_errno = ENOTCONN;
	memset(&o, 0, sizeof(o));
	errno = 0;
	cr_expect_null(mp_attach_start(&f.base, NULL, on_attached, &o));
	cr_expect_eq(errno, ENOTCONN);
	cr_expect_eq(o.calls, 0);

	/* A later one refused: reported through done. */
	fake_init(&f, lio_rows, MP_ARRAY_SIZE(lio_rows));
	f.refuse_at = 4;
	f.refuse_errno = ESHUTDOWN;
	memset(&o, 0, sizeof(o));
	cr_assert_not_null(mp_attach_start(&f.base, NULL, on_attached, &o));
	fake_run(&f);
	cr_expect_eq(o.calls, 1);
	cr_expect_eq(o.err, ESHUTDOWN);
	cr_expect_str_eq(o.msg, "VPD 0x83: submit failed: Cannot send after transport endpoint shutdown");
	check_no_leaks();
}

Test(attach, cancel_while_in_flight)
{
	struct fake_path f;
	struct outcome o;

	/* Cancelled with the first command in flight; the path then tears down (CANCELLED). */
	fake_init(&f, lio_rows, MP_ARRAY_SIZE(lio_rows));
	memset(&o, 0, sizeof(o));
	struct mp_attach *a = mp_attach_start(&f.base, NULL, on_attached, &o);
	cr_assert_not_null(a);
	mp_attach_cancel(a);
	f.cancel_all = true;
	fake_run(&f);
	cr_expect_eq(o.calls, 0, "no done after cancel");
	cr_expect_eq(f.nsent, 1);
	cr_expect_eq(f.completed, 1);

	/* Cancelled mid-sequence; the in-flight command then succeeds: freed, nothing more sent. */
	fake_init(&f, lio_rows, MP_ARRAY_SIZE(lio_rows));
	memset(&o, 0, sizeof(o));
	a = mp_attach_start(&f.base, NULL, on_attached, &o);
	cr_assert_not_null(a);
	for (int i = 0; i < 3; i++)
		cr_assert(fake_step(&f));
	cr_assert_eq(f.qlen, 1);
	mp_attach_cancel(a);
	fake_run(&f);
	cr_expect_eq(o.calls, 0);
	cr_expect_eq(f.nsent, 4);
	check_no_leaks();
}

Test(attach, cancel_inside_done_is_a_no_op)
{
	struct fake_path f;
	struct outcome o;
	fake_init(&f, lio_rows, MP_ARRAY_SIZE(lio_rows));
	memset(&o, 0, sizeof(o));
	o.cancel_inside = true;
	o.self = mp_attach_start(&f.base, NULL, on_attached, &o);
	cr_assert_not_null(o.self);
	mp_attach_cancel(NULL);
	fake_run(&f);
	cr_expect_eq(o.calls, 1);
	cr_expect_eq(o.err, 0);
	check_no_leaks();
}

Test(attach, alua_port_refusing_read_capacity_attaches_without_capacity)
{
	/* LIO answers READ CAPACITY on an unavailable or transitioning port with NOT READY 04/0C or
	 * 04/0A; the identity is known, so the path may still join (its size comes from the disk). */
	static const uint8_t ascqs[] = { 0x0a, 0x0b, 0x0c, 0x12 };
	for (size_t i = 0; i < MP_ARRAY_SIZE(ascqs); i++) {
		const struct canned rows[] = {
			ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
			ROW(0x12, 0x83, lio_vpd83), ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2),
			CHECK(0x9e, NO_PAGE, 2, 0x04, ascqs[i], 0),
		};
		struct fake_path f;
		struct outcome o;
		run_attach(&f, rows, MP_ARRAY_SIZE(rows), NULL, &o);
		cr_assert_eq(o.err, 0, "ascq %02x: %s", ascqs[i], o.msg);
		cr_expect(o.info.capacity_unknown);
		cr_expect_eq(o.info.block_size, 0);
		cr_expect_str_eq(o.info.designator, "naa.6001405a1b2c3d4e5f60718293a4b5c6");
		check_no_leaks();
	}
	/* Any other NOT READY still fails the attach. */
	const struct canned rows[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		ROW(0x12, 0x83, lio_vpd83), ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2),
		CHECK(0x9e, NO_PAGE, 2, 0x04, 0x02, 0),
	};
	struct fake_path f;
	struct outcome o;
	run_attach(&f, rows, MP_ARRAY_SIZE(rows), NULL, &o);
	cr_expect_eq(o.err, EIO);
	check_no_leaks();
}

Test(attach, mode_sense_reads_wp_and_dpofua_and_is_optional)
{
	/* Mode parameter header(10) + caching page: device-specific parameter 0x90 = WP | DPOFUA. */
	static const uint8_t ms_wp_fua[] = { 0x00, 0x1a, 0x00, 0x90, 0, 0, 0, 0, 0x08, 0x12, 0x04 };
	static const uint8_t ms_fua[] = { 0x00, 0x1a, 0x00, 0x10, 0, 0, 0, 0, 0x08, 0x12, 0x04 };
	const struct canned rows[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		ROW(0x12, 0x83, lio_vpd83), ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2),
		ROW(0x9e, NO_PAGE, lio_rc16), ROW(0x5a, NO_PAGE, ms_wp_fua),
	};
	struct fake_path f;
	struct outcome o;
	run_attach(&f, rows, MP_ARRAY_SIZE(rows), NULL, &o);
	cr_assert_eq(o.err, 0, "%s", o.msg);
	cr_expect(o.info.write_protect);
	cr_expect(o.info.fua);
	cr_expect_eq(count_sent(&f, 0x5a, NO_PAGE), 1);
	check_no_leaks();
	const struct canned rows2[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		ROW(0x12, 0x83, lio_vpd83), ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2),
		ROW(0x9e, NO_PAGE, lio_rc16), ROW(0x5a, NO_PAGE, ms_fua),
	};
	run_attach(&f, rows2, MP_ARRAY_SIZE(rows2), NULL, &o);
	cr_assert_eq(o.err, 0, "%s", o.msg);
	cr_expect(!o.info.write_protect);
	cr_expect(o.info.fua);
	check_no_leaks();
	/* Refused (no caching page): attach succeeds, nothing claimed. */
	const struct canned rows3[] = {
		ROW(0x12, NO_PAGE, lio_inquiry), ROW(0x12, 0x00, lio_vpd00), ROW(0x12, 0x80, lio_vpd80),
		ROW(0x12, 0x83, lio_vpd83), ROW(0x12, 0xb0, lio_vpdb0), ROW(0x12, 0xb2, lio_vpdb2),
		ROW(0x9e, NO_PAGE, lio_rc16), CHECK(0x5a, NO_PAGE, 5, 0x24, 0x00, 0),
	};
	run_attach(&f, rows3, MP_ARRAY_SIZE(rows3), NULL, &o);
	cr_assert_eq(o.err, 0, "%s", o.msg);
	cr_expect(!o.info.write_protect);
	cr_expect(!o.info.fua);
	check_no_leaks();
}
