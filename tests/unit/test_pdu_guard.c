/* Unit tests for initiator/pdu_guard: hand-built PDU streams, each check honest and lying, any split of the stream. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "initiator/pdu_guard.h"

/*
 * A script is the two byte streams of one connection in the order the bytes
 * travel: steps of bytes we sent (out) and bytes received (in). Every script
 * is run four ways, which must agree: one call per step, byte by byte, in
 * uneven chunks, and with consecutive steps of one direction merged into one
 * call (several PDUs in one buffer).
 */
#define MAX_STEPS 600

struct step {
	bool out;
	uint8_t *b;
	size_t n;
};

struct script {
	struct step st[MAX_STEPS];
	int n;
	bool hd; /* header digests in use from the next PDU on */
	bool dd;
	unsigned budget;
};

/* CRC32C written independently of the guard's, for header digests. */
static uint32_t t_crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void script_free(struct script *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->st[i].b);
	s->n = 0;
	s->hd = s->dd = false;
}

/* Appends a PDU: header h (data segment length filled in here), data (NULL: zeros), digests as the script says. */
static void emit_part(struct script *s, bool out, uint8_t *h, const void *data, uint32_t dsl, size_t keep)
{
	cr_assert(s->n < MAX_STEPS);
	h[5] = (uint8_t)(dsl >> 16); h[6] = (uint8_t)(dsl >> 8); h[7] = (uint8_t)dsl;
	uint32_t pad = (4 - (dsl & 3)) & 3;
	size_t n = 48 + (s->hd ? 4 : 0) + dsl + pad + (s->dd && dsl ? 4 : 0);
	uint8_t *b = calloc(1, n);
	cr_assert(b);
	memcpy(b, h, 48);
	size_t o = 48;
	if (s->hd) {
		put_le32(b + 48, t_crc32c(h, 48));
		o += 4;
	}
	if (data && dsl)
		memcpy(b + o, data, dsl);
	s->st[s->n++] = (struct step){ out, b, keep && keep < n ? keep : n };
}

static void emit(struct script *s, bool out, uint8_t *h, const void *data, uint32_t dsl)
{
	emit_part(s, out, h, data, dsl, 0);
}

static void bhs(uint8_t *h, uint8_t op, uint8_t flags, uint32_t itt)
{
	memset(h, 0, 48);
	h[0] = op;
	h[1] = flags;
	mp_put_be32(h + 16, itt);
}

#define ITT_LOGIN 0x1000u

static const char our_keys[] =
	"InitiatorName=iqn.2026-01.test:ini\0SessionType=Normal\0HeaderDigest=None,CRC32C\0DataDigest=None\0"
	"InitialR2T=No\0ImmediateData=Yes\0MaxBurstLength=262144\0FirstBurstLength=262144\0"
	"MaxRecvDataSegmentLength=262144\0MaxOutstandingR2T=1\0ErrorRecoveryLevel=0";
static const char tgt_keys[] =
	"HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=65536\0MaxBurstLength=262144\0"
	"FirstBurstLength=65536\0MaxOutstandingR2T=1\0InitialR2T=No\0ImmediateData=Yes";

static void login_req(struct script *s, const char *keys, size_t klen, uint8_t flags)
{
	uint8_t h[48];
	bhs(h, 0x43, flags, ITT_LOGIN);
	emit(s, true, h, keys, (uint32_t)klen);
}

static void login_rsp(struct script *s, const char *keys, size_t klen, uint8_t flags, uint16_t status)
{
	uint8_t h[48];
	bhs(h, 0x23, flags, ITT_LOGIN);
	mp_put_be16(h + 36, status);
	emit(s, false, h, keys, (uint32_t)klen);
}

/* Operational negotiation straight to full feature phase (T=1, CSG 1, NSG 3) with the target's keys. */
static void login_with(struct script *s, const char *keys, size_t klen)
{
	login_req(s, our_keys, sizeof(our_keys), 0x87);
	login_rsp(s, keys, klen, 0x87, 0);
	if (memmem(keys, klen, "HeaderDigest=CRC32C", 20))
		s->hd = true;
}

static void login(struct script *s) { login_with(s, tgt_keys, sizeof(tgt_keys)); }

/* flags: 0x80 F, 0x40 R, 0x20 W. imm bytes of immediate data. */
static void cmd_part(struct script *s, uint32_t itt, uint8_t flags, uint32_t edtl, uint32_t imm, size_t keep)
{
	uint8_t h[48];
	bhs(h, 0x01, flags | 0x01, itt);
	mp_put_be32(h + 20, edtl);
	emit_part(s, true, h, NULL, imm, keep);
}
static void cmd(struct script *s, uint32_t itt, uint8_t flags, uint32_t edtl, uint32_t imm)
{
	cmd_part(s, itt, flags, edtl, imm, 0);
}
#define READ(s, itt, len) cmd(s, itt, 0xc0, len, 0)

/* flags: 0x80 F, 0x01 S, 0x02 U, 0x04 O. */
static void data_in(struct script *s, uint32_t itt, uint32_t sn, uint32_t off, uint32_t len, uint8_t flags,
		    uint8_t status, uint32_t residual)
{
	uint8_t h[48];
	bhs(h, 0x25, flags, itt);
	h[3] = status;
	mp_put_be32(h + 20, 0xffffffff);
	mp_put_be32(h + 36, sn);
	mp_put_be32(h + 40, off);
	mp_put_be32(h + 44, residual);
	emit(s, false, h, NULL, len);
}

static void scsi_rsp(struct script *s, uint32_t itt, uint8_t flags, uint8_t response, uint8_t status,
		     uint32_t residual, uint32_t sense_len)
{
	uint8_t h[48];
	bhs(h, 0x21, flags, itt);
	h[2] = response;
	h[3] = status;
	mp_put_be32(h + 44, residual);
	emit(s, false, h, NULL, sense_len);
}
#define GOOD(s, itt) scsi_rsp(s, itt, 0x80, 0, 0, 0, 0)

static void r2t(struct script *s, uint32_t itt, uint32_t sn, uint32_t ttt, uint32_t off, uint32_t len)
{
	uint8_t h[48];
	bhs(h, 0x31, 0x80, itt);
	mp_put_be32(h + 20, ttt);
	mp_put_be32(h + 36, sn);
	mp_put_be32(h + 40, off);
	mp_put_be32(h + 44, len);
	emit(s, false, h, NULL, 0);
}

static void data_out_part(struct script *s, uint32_t itt, uint32_t ttt, uint32_t off, uint32_t len, bool final,
			  size_t keep)
{
	uint8_t h[48];
	bhs(h, 0x05, final ? 0x80 : 0, itt);
	mp_put_be32(h + 20, ttt);
	mp_put_be32(h + 40, off);
	emit_part(s, true, h, NULL, len, keep);
}
static void data_out(struct script *s, uint32_t itt, uint32_t ttt, uint32_t off, uint32_t len, bool final)
{
	data_out_part(s, itt, ttt, off, len, final, 0);
}

static void nop_out(struct script *s, uint32_t itt, uint32_t ttt)
{
	uint8_t h[48];
	bhs(h, 0x40, 0x80, itt);
	mp_put_be32(h + 20, ttt);
	emit(s, true, h, NULL, 0);
}

static void nop_in(struct script *s, uint32_t itt, uint32_t ttt)
{
	uint8_t h[48];
	bhs(h, 0x20, 0x80, itt);
	mp_put_be32(h + 20, ttt);
	emit(s, false, h, NULL, 0);
}

static void simple(struct script *s, bool out, uint8_t op, uint8_t flags, uint32_t itt)
{
	uint8_t h[48];
	bhs(h, op, flags, itt);
	emit(s, out, h, NULL, 0);
}

/* ---- running ---- */

struct result {
	int fail_step;  /* -1: all accepted */
	int fail_errno;
	char err[256];
	char redirect[300];
	struct mp_pdu_guard_stats st;
	int paused_after; /* budget runs: steps delivered before the guard paused (-1 never) */
};

static int feed(struct mp_pdu_guard *g, bool out, const uint8_t *b, size_t n, int mode, unsigned *seed)
{
	int (*fn)(struct mp_pdu_guard *, const void *, size_t) = out ? mp_pdu_guard_out : mp_pdu_guard_in;
	if (mode == 0 || mode == 3)
		return fn(g, b, n);
	size_t i = 0;
	while (i < n) {
		size_t k = mode == 1 ? 1 : 1 + (*seed = *seed * 1103515245u + 12345u) % 97;
		if (k > n - i)
			k = n - i;
		if (fn(g, b + i, k) < 0)
			return -1;
		i += k;
	}
	return 0;
}

static void run(const struct script *s, int mode, struct result *r)
{
	struct mp_pdu_guard *g = mp_pdu_guard_new();
	cr_assert(g);
	memset(r, 0, sizeof(*r));
	r->fail_step = -1;
	r->paused_after = -1;
	unsigned seed = 7;
	if (s->budget)
		mp_pdu_guard_budget(g, s->budget);
	for (int i = 0; i < s->n; i++) {
		const struct step *st = &s->st[i];
		if (mode == 3) {
			/* Merge this and the following steps of the same direction into one buffer. */
			int j = i;
			size_t n = 0;
			while (j < s->n && s->st[j].out == st->out)
				n += s->st[j++].n;
			uint8_t *b = malloc(n ? n : 1);
			cr_assert(b);
			size_t o = 0;
			for (int k = i; k < j; k++) {
				memcpy(b + o, s->st[k].b, s->st[k].n);
				o += s->st[k].n;
			}
			int rc = feed(g, st->out, b, n, mode, &seed);
			free(b);
			if (rc < 0) {
				r->fail_step = j - 1;
				r->fail_errno = errno;
				break;
			}
			i = j - 1;
			continue;
		}
		if (!st->out && s->budget && r->paused_after < 0 && mp_pdu_guard_in_paused(g))
			r->paused_after = i;
		if (feed(g, st->out, st->b, st->n, mode, &seed) < 0) {
			r->fail_step = i;
			r->fail_errno = errno;
			break;
		}
	}
	if (mp_pdu_guard_error(g))
		snprintf(r->err, sizeof(r->err), "%s", mp_pdu_guard_error(g));
	if (mp_pdu_guard_redirect(g))
		snprintf(r->redirect, sizeof(r->redirect), "%s", mp_pdu_guard_redirect(g));
	mp_pdu_guard_get_stats(g, &r->st);
	/* Refusal is final. */
	if (r->fail_step >= 0) {
		uint8_t z[48] = { 0x20 };
		cr_assert(mp_pdu_guard_failed(g));
		cr_assert_eq(mp_pdu_guard_in(g, z, 1), -1);
	}
	mp_pdu_guard_free(g);
}

static const char *mode_name[] = { "whole", "byte-by-byte", "chunks", "merged" };

static void expect(struct script *s, const char *refusal)
{
	struct result r0, r;
	run(s, 0, &r0);
	for (int m = 0; m < 4; m++) {
		if (m)
			run(s, m, &r);
		else
			r = r0;
		if (!refusal) {
			cr_assert_eq(r.fail_step, -1, "%s: refused at step %d of %d: %s", mode_name[m], r.fail_step, s->n,
				     r.err);
			continue;
		}
		cr_assert_eq(r.fail_step, s->n - 1, "%s: expected a refusal at the last step (%d), got step %d (%s)",
			     mode_name[m], s->n - 1, r.fail_step, r.err);
		cr_assert_eq(r.fail_errno, EPROTO);
		cr_assert(strstr(r.err, refusal), "%s: error \"%s\" lacks \"%s\"", mode_name[m], r.err, refusal);
		cr_assert_str_eq(r.err, r0.err, "modes disagree");
	}
	script_free(s);
}

#define OK(s) expect(s, NULL)

/* ---- READ ---- */

Test(pdu_guard, read_honest_two_data_in_with_status)
{
	static struct script s;
	login(&s);
	READ(&s, 0x10, 8192);
	data_in(&s, 0x10, 0, 0, 4096, 0, 0, 0);
	data_in(&s, 0x10, 1, 4096, 4096, 0x81, 0, 0);
	OK(&s);
}

Test(pdu_guard, read_honest_scsi_response)
{
	static struct script s;
	login(&s);
	READ(&s, 0x10, 8192);
	data_in(&s, 0x10, 0, 0, 8192, 0x80, 0, 0);
	GOOD(&s, 0x10);
	/* The tag is finished: a second answer is refused. */
	GOOD(&s, 0x10);
	expect(&s, "SCSI Response for ITT 0x10, which names no outstanding request");
}

Test(pdu_guard, read_good_without_data_in)
{
	static struct script s;
	login(&s);
	READ(&s, 0x40, 65536);
	GOOD(&s, 0x40);
	expect(&s, "READ ITT 0x40: GOOD after 0 of 65536 bytes of Data-In");
}

Test(pdu_guard, read_good_after_half)
{
	static struct script s;
	login(&s);
	READ(&s, 0x40, 65536);
	data_in(&s, 0x40, 0, 0, 32768, 0, 0, 0);
	GOOD(&s, 0x40);
	expect(&s, "READ ITT 0x40: GOOD after 32768 of 65536 bytes of Data-In");
}

Test(pdu_guard, read_half_with_status_in_data_in)
{
	static struct script s;
	login(&s);
	READ(&s, 0x40, 65536);
	data_in(&s, 0x40, 0, 0, 32768, 0x81, 0, 0);
	expect(&s, "GOOD after 32768 of 65536");
}

Test(pdu_guard, read_gap_between_offsets)
{
	static struct script s;
	login(&s);
	READ(&s, 0x41, 16384);
	data_in(&s, 0x41, 0, 0, 4096, 0, 0, 0);
	data_in(&s, 0x41, 1, 8192, 4096, 0, 0, 0);
	expect(&s, "at offset 8192, expected 4096");
}

Test(pdu_guard, read_beyond_length)
{
	static struct script s;
	login(&s);
	READ(&s, 0x42, 4096);
	data_in(&s, 0x42, 0, 0, 8192, 0x81, 0, 0);
	expect(&s, "8192 bytes at offset 0, beyond its 4096-byte length");
}

Test(pdu_guard, read_underflow_honest)
{
	static struct script s;
	login(&s);
	READ(&s, 0x43, 8192);
	data_in(&s, 0x43, 0, 0, 4096, 0x80, 0, 0);
	scsi_rsp(&s, 0x43, 0x82, 0, 0, 4096, 0);
	OK(&s);
}

Test(pdu_guard, read_underflow_lying_residual)
{
	static struct script s;
	login(&s);
	READ(&s, 0x43, 8192);
	data_in(&s, 0x43, 0, 0, 4096, 0x80, 0, 0);
	scsi_rsp(&s, 0x43, 0x82, 0, 0, 1024, 0);
	expect(&s, "GOOD after 4096 of 8192 bytes of Data-In (residual underflow 1024: 7168 bytes due)");
}

Test(pdu_guard, read_residual_larger_than_length)
{
	static struct script s;
	login(&s);
	READ(&s, 0x43, 8192);
	scsi_rsp(&s, 0x43, 0x82, 0, 0, 100000, 0);
	expect(&s, "residual underflow of 100000 bytes for a 8192-byte transfer");
}

Test(pdu_guard, read_overflow_at_good)
{
	static struct script s;
	login(&s);
	READ(&s, 0x43, 4096);
	data_in(&s, 0x43, 0, 0, 4096, 0x85, 0, 512);
	expect(&s, "GOOD with a residual overflow of 512 bytes");
}

Test(pdu_guard, read_check_condition_without_data_is_passed_on)
{
	static struct script s;
	login(&s);
	READ(&s, 0x44, 4096);
	scsi_rsp(&s, 0x44, 0x80, 0, 0x02, 0, 18);
	OK(&s);
}

Test(pdu_guard, read_datasn_out_of_order)
{
	static struct script s;
	login(&s);
	READ(&s, 0x45, 8192);
	data_in(&s, 0x45, 1, 0, 4096, 0, 0, 0);
	expect(&s, "DataSN 1, expected 0");
}

Test(pdu_guard, data_in_status_without_final)
{
	static struct script s;
	login(&s);
	READ(&s, 0x45, 4096);
	data_in(&s, 0x45, 0, 0, 4096, 0x01, 0, 0);
	expect(&s, "carries status without the Final bit");
}

Test(pdu_guard, response_failure_with_status_good)
{
	static struct script s;
	login(&s);
	READ(&s, 0x46, 4096);
	scsi_rsp(&s, 0x46, 0x80, 1, 0, 0, 0);
	expect(&s, "iSCSI response 0x01 (failure) with status GOOD");
}

/* ---- task tags of the wrong kind ---- */

Test(pdu_guard, data_in_with_nop_out_tag)
{
	static struct script s;
	login(&s);
	nop_out(&s, 0x12, 0xffffffff);
	data_in(&s, 0x12, 0, 0, 512, 0x81, 0, 0);
	expect(&s, "Data-In for ITT 0x12 (a NOP-Out), not a READ");
}

Test(pdu_guard, r2t_with_nop_out_tag)
{
	static struct script s;
	login(&s);
	nop_out(&s, 0x12, 0xffffffff);
	r2t(&s, 0x12, 0, 1, 0, 512);
	expect(&s, "R2T for ITT 0x12 (a NOP-Out), not a WRITE");
}

Test(pdu_guard, data_in_with_login_tag_during_login)
{
	static struct script s;
	login_req(&s, our_keys, sizeof(our_keys), 0x87);
	data_in(&s, ITT_LOGIN, 0, 0, 512, 0x81, 0, 0);
	expect(&s, "Data-In for ITT 0x1000 (the Login Request), not a READ");
}

Test(pdu_guard, r2t_with_login_tag_during_login)
{
	static struct script s;
	login_req(&s, our_keys, sizeof(our_keys), 0x87);
	r2t(&s, ITT_LOGIN, 0, 1, 0, 1u << 30);
	expect(&s, "R2T for ITT 0x1000 (the Login Request), not a WRITE");
}

Test(pdu_guard, data_in_with_login_tag_after_login)
{
	static struct script s;
	login(&s);
	data_in(&s, ITT_LOGIN, 0, 0, 512, 0x81, 0, 0);
	expect(&s, "Data-In for ITT 0x1000, which names no outstanding request");
}

Test(pdu_guard, data_in_for_a_write)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x20, 0xa0, 4096, 4096);
	data_in(&s, 0x20, 0, 0, 512, 0, 0, 0);
	expect(&s, "Data-In for ITT 0x20 (a WRITE), not a READ");
}

Test(pdu_guard, r2t_for_a_read)
{
	static struct script s;
	login(&s);
	READ(&s, 0x21, 4096);
	r2t(&s, 0x21, 0, 1, 0, 4096);
	expect(&s, "R2T for ITT 0x21 (a READ), not a WRITE");
}

Test(pdu_guard, scsi_response_with_nop_tag)
{
	static struct script s;
	login(&s);
	nop_out(&s, 0x12, 0xffffffff);
	GOOD(&s, 0x12);
	expect(&s, "SCSI Response for ITT 0x12 (a NOP-Out), not a SCSI command");
}

Test(pdu_guard, nop_in_answers)
{
	static struct script s;
	login(&s);
	nop_out(&s, 0x12, 0xffffffff);
	nop_in(&s, 0x12, 0xffffffff);
	nop_in(&s, 0xffffffff, 0xffffffff);
	READ(&s, 0x13, 512);
	nop_in(&s, 0x13, 0xffffffff);
	expect(&s, "NOP-In for ITT 0x13 (a READ), not a NOP-Out");
}

Test(pdu_guard, nop_in_unknown_tag)
{
	static struct script s;
	login(&s);
	nop_in(&s, 0x99, 0xffffffff);
	expect(&s, "NOP-In for ITT 0x99, which names no outstanding request");
}

Test(pdu_guard, nop_in_storm_of_pings)
{
	static struct script s;
	login(&s);
	for (int i = 0; i < 300; i++)
		nop_in(&s, 0xffffffff, 100 + i);
	s.n = 2 + 257; /* the 257th unanswered ping is refused */
	for (int i = s.n; i < 2 + 300; i++)
		free(s.st[i].b);
	expect(&s, "NOP-In storm: 257 pings");
}

Test(pdu_guard, answered_pings_are_no_storm)
{
	static struct script s;
	login(&s);
	for (int i = 0; i < 290; i++) {
		nop_in(&s, 0xffffffff, 100 + i);
		nop_out(&s, 0xffffffff, 100 + i);
	}
	OK(&s);
}

/* ---- WRITE ---- */

Test(pdu_guard, write_r2t_honest)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x30, 0xa0, 16384, 0);
	r2t(&s, 0x30, 0, 7, 0, 16384);
	data_out(&s, 0x30, 7, 0, 8192, false);
	data_out(&s, 0x30, 7, 8192, 8192, true);
	GOOD(&s, 0x30);
	OK(&s);
}

Test(pdu_guard, write_two_r2ts_in_turn)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x30, 0xa0, 16384, 4096);
	r2t(&s, 0x30, 0, 7, 4096, 8192);
	data_out(&s, 0x30, 7, 4096, 8192, true);
	r2t(&s, 0x30, 1, 8, 12288, 4096);
	data_out(&s, 0x30, 8, 12288, 4096, true);
	GOOD(&s, 0x30);
	OK(&s);
}

Test(pdu_guard, write_good_before_r2t_served)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x30, 0xa0, 16384, 0);
	r2t(&s, 0x30, 0, 7, 0, 16384);
	GOOD(&s, 0x30);
	expect(&s, "WRITE ITT 0x30: status 0x00 after 0 of 16384 bytes were sent, while libiscsi still holds Data-Out");
}

Test(pdu_guard, write_check_condition_while_data_out_queued)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x30, 0xa0, 16384, 0);
	r2t(&s, 0x30, 0, 7, 0, 16384);
	data_out(&s, 0x30, 7, 0, 8192, false);
	scsi_rsp(&s, 0x30, 0x80, 0, 0x02, 0, 18);
	expect(&s, "status 0x02 after 8192 of 16384 bytes were sent");
}

Test(pdu_guard, write_good_while_data_out_half_sent)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x30, 0xa0, 16384, 0);
	r2t(&s, 0x30, 0, 7, 0, 16384);
	data_out_part(&s, 0x30, 7, 0, 16384, true, 48 + 1000);
	GOOD(&s, 0x30);
	expect(&s, "after 1000 of 16384 bytes were sent");
}

Test(pdu_guard, write_good_before_unsolicited_data)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x31, 0x20, 16384, 8192); /* F=0: unsolicited Data-Out follows */
	GOOD(&s, 0x31);
	expect(&s, "WRITE ITT 0x31: status 0x00 after 8192 of 16384 bytes were sent, while libiscsi");
}

Test(pdu_guard, write_unsolicited_honest)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x31, 0x20, 16384, 8192);
	data_out(&s, 0x31, 0xffffffff, 8192, 8192, true);
	GOOD(&s, 0x31);
	OK(&s);
}

Test(pdu_guard, write_good_before_immediate_data_left)
{
	static struct script s;
	login(&s);
	cmd_part(&s, 0x32, 0xa0, 8192, 8192, 48 + 100);
	GOOD(&s, 0x32);
	expect(&s, "after 100 of 8192 bytes were sent");
}

Test(pdu_guard, write_good_with_partial_data)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x33, 0xa0, 262144, 65536);
	GOOD(&s, 0x33);
	expect(&s, "WRITE ITT 0x33: GOOD after 65536 of 262144 bytes were sent");
}

Test(pdu_guard, write_good_with_residual)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x33, 0xa0, 4096, 4096);
	scsi_rsp(&s, 0x33, 0x82, 0, 0, 4096, 0);
	expect(&s, "WRITE ITT 0x33: GOOD with a residual underflow of 4096 bytes");
}

Test(pdu_guard, r2t_beyond_write_length)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x34, 0xa0, 4096, 0);
	r2t(&s, 0x34, 0, 7, 0, 1048576);
	expect(&s, "R2T for 1048576 bytes at offset 0 of a 4096-byte WRITE");
}

Test(pdu_guard, r2t_zero_length)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x34, 0xa0, 4096, 0);
	r2t(&s, 0x34, 0, 7, 0, 0);
	expect(&s, "R2T for 0 bytes");
}

Test(pdu_guard, r2t_above_max_burst)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x34, 0xa0, 1048576, 0);
	r2t(&s, 0x34, 0, 7, 0, 524288);
	expect(&s, "R2T for 524288 bytes, above MaxBurstLength 262144");
}

Test(pdu_guard, r2t_while_one_outstanding)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x34, 0xa0, 16384, 0);
	r2t(&s, 0x34, 0, 7, 0, 8192);
	r2t(&s, 0x34, 1, 8, 8192, 8192);
	expect(&s, "while 1 R2T(s) are outstanding (MaxOutstandingR2T 1)");
}

Test(pdu_guard, r2t_asks_again)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x34, 0xa0, 16384, 4096);
	r2t(&s, 0x34, 0, 7, 0, 8192);
	expect(&s, "R2T at offset 0 asks again for data already sent or asked for (up to 4096)");
}

Test(pdu_guard, r2t_inside_unsolicited_burst)
{
	static struct script s;
	login(&s);
	cmd(&s, 0x34, 0x20, 131072, 8192); /* unsolicited up to FirstBurstLength 65536 */
	r2t(&s, 0x34, 0, 7, 32768, 8192);
	expect(&s, "asks again for data already sent or asked for (up to 65536)");
}

/* ---- login ---- */

struct login_case {
	const char *keys; /* NUL-separated, ends with an empty string */
	size_t len;
	const char *refusal;
};
#define K(s) s, sizeof(s)

static const struct login_case login_cases[] = {
	{ K("MaxRecvDataSegmentLength=8192"), NULL },
	{ K("MaxRecvDataSegmentLength=0"), "MaxRecvDataSegmentLength=0: outside 512..16777215" },
	{ K("MaxRecvDataSegmentLength=511"), "outside 512..16777215" },
	{ K("MaxRecvDataSegmentLength=16777216"), "outside 512..16777215" },
	{ K("MaxRecvDataSegmentLength=0x2000"), "MaxRecvDataSegmentLength=0x2000: outside" },
	{ K("MaxRecvDataSegmentLength=-1"), "outside" },
	{ K("MaxRecvDataSegmentLength=99999999999999"), "outside" },
	{ K("MaxBurstLength=512\0FirstBurstLength=512"), NULL },
	{ K("MaxBurstLength=100"), "MaxBurstLength=100: outside" },
	{ K("MaxBurstLength=524288"), "MaxBurstLength=524288: more than the 262144 we offered" },
	{ K("MaxBurstLength=8192\0FirstBurstLength=65536"), "FirstBurstLength 65536 above MaxBurstLength 8192" },
	{ K("FirstBurstLength=0"), "FirstBurstLength=0: outside" },
	{ K("MaxOutstandingR2T=0"), "MaxOutstandingR2T=0: outside 1..65535" },
	{ K("MaxOutstandingR2T=2"), "more than the 1 we offered" },
	{ K("DataDigest=CRC32C"), "DataDigest=CRC32C: not one of the values we offered" },
	{ K("HeaderDigest=MD5"), "HeaderDigest=MD5: not one of the values" },
	{ K("HeaderDigest=None,CRC32C"), "not one of the values" },
	{ K("TargetRecvDataSegmentLength=0"), "an iSER key on a TCP connection" },
	{ K("HeaderDigest=CRC32C"), NULL },
	{ K("TargetAlias=x\0TargetPortalGroupTag=1\0X-vendor=1"), NULL },
};

Test(pdu_guard, login_values_table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(login_cases); i++) {
		static struct script s;
		const struct login_case *c = &login_cases[i];
		/* Every case answers HeaderDigest (we offer it); a case's own answer comes later and wins. */
		char keys[256];
		static const char hd_none[] = "HeaderDigest=None";
		cr_assert(sizeof(hd_none) + c->len <= sizeof(keys));
		memcpy(keys, hd_none, sizeof(hd_none));
		memcpy(keys + sizeof(hd_none), c->keys, c->len);
		login_with(&s, keys, sizeof(hd_none) + c->len);
		/* A command and its answer after login, so framing (digests) is exercised too. */
		if (!c->refusal) {
			READ(&s, 0x50, 512);
			data_in(&s, 0x50, 0, 0, 512, 0x81, 0, 0);
		}
		expect(&s, c->refusal);
	}
}

Test(pdu_guard, login_with_header_digests_frames_both_directions)
{
	static struct script s;
	login_with(&s, K("HeaderDigest=CRC32C\0MaxRecvDataSegmentLength=8192"));
	cmd(&s, 0x60, 0xa0, 4096, 0);
	r2t(&s, 0x60, 0, 9, 0, 4096);
	data_out(&s, 0x60, 9, 0, 4096, true);
	GOOD(&s, 0x60);
	READ(&s, 0x61, 1000);
	data_in(&s, 0x61, 0, 0, 1000, 0x81, 0, 0);
	OK(&s);

	struct result r;
	login_with(&s, K("HeaderDigest=CRC32C"));
	run(&s, 0, &r);
	cr_assert(r.st.header_digest && r.st.full_feature);
	/* A header whose digest does not match. */
	nop_out(&s, 0x62, 0xffffffff);
	nop_in(&s, 0x62, 0xffffffff);
	s.st[s.n - 1].b[48] ^= 1;
	expect(&s, "header digest mismatch");
	s.hd = false;
}

Test(pdu_guard, login_digest_offer_unanswered)
{
	static struct script s;
	login_with(&s, K("MaxRecvDataSegmentLength=8192"));
	expect(&s, "without answering our HeaderDigest offer");
}

Test(pdu_guard, login_oversized_segment)
{
	static struct script s;
	static char big[8193];
	login_req(&s, our_keys, sizeof(our_keys), 0x87);
	login_rsp(&s, big, sizeof(big), 0x87, 0);
	expect(&s, "Login Response with a 8193-byte data segment; we accept at most 8192");
}

Test(pdu_guard, data_segment_above_our_limit)
{
	static struct script s;
	login(&s);
	READ(&s, 0x70, 1 << 20);
	data_in(&s, 0x70, 0, 0, 262144, 0, 0, 0);
	data_in(&s, 0x70, 1, 262144, 262148, 0, 0, 0);
	expect(&s, "Data-In with a 262148-byte data segment; we accept at most 262144");
}

Test(pdu_guard, login_skips_a_stage)
{
	static struct script s;
	login_req(&s, "InitiatorName=x", 16, 0x81); /* SecNeg -> OpNeg */
	login_rsp(&s, K("AuthMethod=None"), 0x83, 0);  /* straight to full feature phase */
	expect(&s, "Login Response moves to stage 3, which we did not ask for");
}

Test(pdu_guard, login_in_two_steps)
{
	static struct script s;
	login_req(&s, "InitiatorName=x", 16, 0x81);
	login_rsp(&s, K("AuthMethod=None"), 0x81, 0);
	login(&s);
	READ(&s, 0x70, 512);
	data_in(&s, 0x70, 0, 0, 512, 0x81, 0, 0);
	OK(&s);
}

Test(pdu_guard, login_response_after_login)
{
	static struct script s;
	login(&s);
	login_rsp(&s, K("X=1"), 0x87, 0);
	expect(&s, "Login Response for ITT 0x1000 after login finished");
}

Test(pdu_guard, login_failure_is_passed_on)
{
	static struct script s;
	login_req(&s, our_keys, sizeof(our_keys), 0x87);
	login_rsp(&s, "", 0, 0, 0x0201);
	OK(&s);
}

struct redirect_case {
	const char *addr;
	const char *want; /* NULL: refused as malformed */
};

static const struct redirect_case redirects[] = {
	{ "198.18.2.2:3261,1", "198.18.2.2:3261" },
	{ "198.18.2.2", "198.18.2.2:3260" },
	{ "198.18.2.2,7", "198.18.2.2:3260" },
	{ "[fe80::1]:3262,2", "[fe80::1]:3262" },
	{ "[fe80::1]", "[fe80::1]:3260" },
	{ "array.example:860", "array.example:860" },
	{ "198.18.2.2:0", NULL },
	{ "198.18.2.2:99999", NULL },
	{ "[fe80::1", NULL },
	{ ":3260", NULL },
	{ "a b", NULL },
};

Test(pdu_guard, login_redirect)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(redirects); i++) {
		static struct script s;
		char keys[300];
		int n = snprintf(keys, sizeof(keys), "TargetAddress=%s", redirects[i].addr);
		login_req(&s, our_keys, sizeof(our_keys), 0x87);
		login_rsp(&s, keys, (size_t)n + 1, 0, 0x0101);
		struct result r;
		run(&s, 1, &r);
		cr_assert_eq(r.fail_step, 1, "%s", redirects[i].addr);
		if (redirects[i].want) {
			cr_assert_str_eq(r.redirect, redirects[i].want);
			char want[300];
			snprintf(want, sizeof(want), "redirected to %s (login status 0x0101)", redirects[i].want);
			cr_assert_str_eq(r.err, want);
		} else {
			cr_assert_eq(r.redirect[0], '\0', "%s gave %s", redirects[i].addr, r.redirect);
			cr_assert(strstr(r.err, "login redirect"), "%s: %s", redirects[i].addr, r.err);
		}
		expect(&s, "redirect");
	}
}

Test(pdu_guard, login_redirect_without_address)
{
	static struct script s;
	login_req(&s, our_keys, sizeof(our_keys), 0x87);
	login_rsp(&s, K("TargetAlias=x"), 0, 0x0102);
	expect(&s, "login redirect (status 0x0102) without a TargetAddress");
}

/* ---- other PDUs ---- */

Test(pdu_guard, async_messages)
{
	static const struct {
		uint8_t ev;
		const char *refusal;
	} c[] = {
		{ 0, NULL },
		{ 1, "target asks for logout within 5 s" },
		{ 2, "target will drop this connection" },
		{ 3, "target will drop all connections" },
		{ 4, "target asks to renegotiate parameters" },
		{ 255, "Async Message with event 255" },
	};
	for (size_t i = 0; i < MP_ARRAY_SIZE(c); i++) {
		static struct script s;
		uint8_t h[48];
		login(&s);
		bhs(h, 0x32, 0x80, 0xffffffff);
		h[36] = c[i].ev;
		mp_put_be16(h + 40, 2);
		mp_put_be16(h + 42, 5);
		emit(&s, false, h, NULL, c[i].ev == 0 ? 20 : 0);
		expect(&s, c[i].refusal);
	}
}

Test(pdu_guard, reject_is_counted_and_ends_the_request)
{
	static struct script s;
	uint8_t h[48], rejected[48];
	login(&s);
	nop_out(&s, 0x80, 0xffffffff);
	bhs(rejected, 0x40, 0x80, 0x80);
	bhs(h, 0x3f, 0x80, 0xffffffff);
	h[2] = 0x04;
	emit(&s, false, h, rejected, 48);
	struct result r;
	run(&s, 1, &r);
	cr_assert_eq(r.fail_step, -1, "%s", r.err);
	cr_assert_eq(r.st.rejects, 1);
	cr_assert_eq(r.st.outstanding, 0);
	nop_in(&s, 0x80, 0xffffffff);
	expect(&s, "NOP-In for ITT 0x80, which names no outstanding request");
}

Test(pdu_guard, reject_too_short)
{
	static struct script s;
	uint8_t h[48];
	login(&s);
	bhs(h, 0x3f, 0x80, 0xffffffff);
	emit(&s, false, h, NULL, 20);
	expect(&s, "Reject (reason 0x00) with 20 bytes of data");
}

Test(pdu_guard, not_a_target_opcode)
{
	static struct script s;
	login(&s);
	simple(&s, false, 0x05, 0x80, 0x1);
	expect(&s, "opcode 0x05 is not one a target sends");
}

Test(pdu_guard, ahs_refused)
{
	static struct script s;
	uint8_t h[48];
	login(&s);
	READ(&s, 0x90, 512);
	bhs(h, 0x21, 0x80, 0x90);
	h[4] = 2;
	emit(&s, false, h, NULL, 0);
	expect(&s, "SCSI Response with 8 bytes of AHS");
}

Test(pdu_guard, nop_in_during_login)
{
	static struct script s;
	login_req(&s, our_keys, sizeof(our_keys), 0x87);
	nop_in(&s, 0xffffffff, 5);
	expect(&s, "NOP-In during login");
}

Test(pdu_guard, logout_text_and_task_management)
{
	static struct script s;
	uint8_t h[48];
	login(&s);
	simple(&s, true, 0x44, 0x80, 0xa0); /* Text Request */
	simple(&s, false, 0x24, 0x00, 0xa0); /* Text Response, continues */
	simple(&s, false, 0x24, 0x80, 0xa0); /* final */
	READ(&s, 0xa1, 4096);
	bhs(h, 0x42, 0x81, 0xa2); /* ABORT TASK of 0xa1 */
	mp_put_be32(h + 20, 0xa1);
	emit(&s, true, h, NULL, 0);
	simple(&s, false, 0x22, 0x80, 0xa2);
	simple(&s, true, 0x46, 0x80, 0xa3); /* Logout */
	simple(&s, false, 0x26, 0x80, 0xa3);
	struct result r;
	run(&s, 2, &r);
	cr_assert_eq(r.fail_step, -1, "%s", r.err);
	cr_assert_eq(r.st.outstanding, 0);
	/* The aborted READ is no longer outstanding. */
	data_in(&s, 0xa1, 0, 0, 512, 0, 0, 0);
	expect(&s, "Data-In for ITT 0xa1, which names no outstanding request");
}

Test(pdu_guard, logout_response_for_a_command)
{
	static struct script s;
	login(&s);
	READ(&s, 0xb0, 512);
	simple(&s, false, 0x26, 0x80, 0xb0);
	expect(&s, "Logout Response for ITT 0xb0 (a READ), not the Logout Request");
}

/* ---- budget, forget, reset, many tags ---- */

Test(pdu_guard, budget_pauses_at_a_pdu_boundary)
{
	struct mp_pdu_guard *g = mp_pdu_guard_new();
	static struct script s;
	login(&s);
	for (int i = 0; i < s.n; i++)
		cr_assert_eq((s.st[i].out ? mp_pdu_guard_out : mp_pdu_guard_in)(g, s.st[i].b, s.st[i].n), 0);
	script_free(&s);
	nop_in(&s, 0xffffffff, 0xffffffff);
	mp_pdu_guard_budget(g, 3);
	for (int k = 0; k < 3; k++) {
		cr_assert(!mp_pdu_guard_in_paused(g));
		/* Mid-PDU the guard never pauses, whatever the count. */
		cr_assert_eq(mp_pdu_guard_in(g, s.st[0].b, 10), 0);
		cr_assert(!mp_pdu_guard_in_paused(g));
		cr_assert_eq(mp_pdu_guard_in(g, s.st[0].b + 10, s.st[0].n - 10), 0);
	}
	cr_assert(mp_pdu_guard_in_paused(g));
	mp_pdu_guard_budget(g, 3);
	cr_assert(!mp_pdu_guard_in_paused(g));
	mp_pdu_guard_budget(g, 0);
	for (int k = 0; k < 100; k++)
		cr_assert_eq(mp_pdu_guard_in(g, s.st[0].b, s.st[0].n), 0);
	cr_assert(!mp_pdu_guard_in_paused(g));
	script_free(&s);
	mp_pdu_guard_free(g);
}

Test(pdu_guard, forget_and_reset)
{
	struct mp_pdu_guard *g = mp_pdu_guard_new();
	static struct script s;
	login(&s);
	READ(&s, 0xc0, 512);
	for (int i = 0; i < s.n; i++)
		cr_assert_eq((s.st[i].out ? mp_pdu_guard_out : mp_pdu_guard_in)(g, s.st[i].b, s.st[i].n), 0);
	script_free(&s);
	mp_pdu_guard_forget(g, 0xc0);
	data_in(&s, 0xc0, 0, 0, 512, 0x81, 0, 0);
	cr_assert_eq(mp_pdu_guard_in(g, s.st[0].b, s.st[0].n), -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert(mp_pdu_guard_failed(g));
	script_free(&s);
	/* A new connection starts clean, at login. */
	mp_pdu_guard_reset(g);
	cr_assert_null(mp_pdu_guard_error(g));
	login(&s);
	for (int i = 0; i < s.n; i++)
		cr_assert_eq((s.st[i].out ? mp_pdu_guard_out : mp_pdu_guard_in)(g, s.st[i].b, s.st[i].n), 0);
	struct mp_pdu_guard_stats st;
	mp_pdu_guard_get_stats(g, &st);
	cr_assert(st.full_feature);
	cr_assert_eq(st.max_recv_dsl, 262144);
	cr_assert_eq(st.target_max_recv_dsl, 65536);
	cr_assert_eq(st.first_burst, 65536);
	script_free(&s);
	mp_pdu_guard_free(g);
}

Test(pdu_guard, thousands_of_outstanding_tags)
{
	static struct script s;
	login(&s);
	/* 256 commands out, answered in a scrambled order: exercises table growth and deletion. */
	for (uint32_t i = 0; i < 256; i++)
		READ(&s, 0x10000 + i * 7, 512);
	for (uint32_t k = 0; k < 256; k++) {
		uint32_t i = (k * 97) % 256;
		data_in(&s, 0x10000 + i * 7, 0, 0, 512, 0x81, 0, 0);
	}
	OK(&s);
	login(&s);
	for (uint32_t i = 0; i < 256; i++)
		READ(&s, 0x10000 + i * 7, 512);
	for (uint32_t k = 0; k < 256; k++)
		data_in(&s, 0x10000 + ((k * 97) % 256) * 7, 0, 0, 512, 0x81, 0, 0);
	data_in(&s, 0x10000 + 5 * 7, 0, 0, 512, 0x81, 0, 0);
	expect(&s, "which names no outstanding request");
}

Test(pdu_guard, data_digests_frame_data_segments)
{
	static struct script s;
	static const char offer[] = "HeaderDigest=CRC32C,None\0DataDigest=CRC32C,None\0MaxRecvDataSegmentLength=8192";
	static const char answer[] = "HeaderDigest=CRC32C\0DataDigest=CRC32C";
	login_req(&s, offer, sizeof(offer), 0x87);
	login_rsp(&s, answer, sizeof(answer), 0x87, 0);
	s.hd = s.dd = true;
	cmd(&s, 0xd0, 0xa0, 1000, 1000); /* immediate data: digest after it */
	GOOD(&s, 0xd0);
	READ(&s, 0xd1, 999);
	data_in(&s, 0xd1, 0, 0, 999, 0x81, 0, 0);
	nop_out(&s, 0xd2, 0xffffffff); /* no data: no data digest */
	nop_in(&s, 0xd2, 0xffffffff);
	struct result r;
	run(&s, 1, &r);
	cr_assert(r.st.header_digest && r.st.data_digest);
	OK(&s);
}

Test(pdu_guard, target_offers_only_none_digests)
{
	static struct script s;
	static const char offer[] = "MaxRecvDataSegmentLength=8192";
	login_req(&s, offer, sizeof(offer), 0x87);
	login_rsp(&s, K("DataDigest=None\0HeaderDigest=None"), 0x87, 0);
	READ(&s, 0xd1, 512);
	data_in(&s, 0xd1, 0, 0, 512, 0x81, 0, 0);
	OK(&s);
	login_req(&s, offer, sizeof(offer), 0x87);
	login_rsp(&s, K("DataDigest=CRC32C"), 0x87, 0);
	expect(&s, "DataDigest=CRC32C: not one of the values we offered");
}
