/* Unit tests for mpath/rtpg: RTPG/STPG CDBs, the STPG parameter list, the RTPG parser on LIO captures and malformed answers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "mpath/rtpg.h"
#include "tests/unit/rtpg_samples.h"

/* A heap copy of exactly n bytes, so that AddressSanitizer catches any read past the end. */
static uint8_t *dup_exact(const uint8_t *b, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	if (n)
		memcpy(p, b, n);
	return p;
}

/* Parses b[0..n) from an exact heap copy into *r (pre-filled with a pattern); returns rc, errno in *err. */
static int parse(const uint8_t *b, size_t n, struct mp_rtpg *r, int *err)
{
	uint8_t *c = dup_exact(b, n);
	memset(r, 0xa5, sizeof(*r));
	errno = 0;
	int rc = mp_rtpg_parse(c, n, r);
	*err = errno;
	free(c);
	return rc;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Expects failure with EBADMSG and a zeroed result. */
static void expect_bad(const uint8_t *b, size_t n, const char *what)
{
	struct mp_rtpg r;
	int err;
	int rc = parse(b, n, &r, &err);
	cr_expect_eq(rc, -1, "%s: rc %d", what, rc);
	cr_expect_eq(err, EBADMSG, "%s: errno %d", what, err);
	cr_expect(all_zero(&r, sizeof(r)), "%s: result not zeroed", what);
}

/* ---- CDB builders ---- */

Test(cdb, report_tpgs_extended_as_sent_to_lio)
{
	/* The CDB of the captures: a3 2a 00000000 00001000 00 00. */
	static const uint8_t want[16] = { 0xa3, 0x2a, 0, 0, 0, 0, 0x00, 0x00, 0x10, 0x00, 0, 0 };
	uint8_t cdb[16];
	memset(cdb, 0xff, sizeof(cdb));
	cr_assert_eq(mp_cdb_report_tpgs(cdb, 4096, true), 12);
	cr_expect_arr_eq(cdb, want, 16);
}

Test(cdb, report_tpgs_length_only)
{
	static const uint8_t want[16] = { 0xa3, 0x0a, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0 };
	uint8_t cdb[16];
	memset(cdb, 0xff, sizeof(cdb));
	cr_assert_eq(mp_cdb_report_tpgs(cdb, 0x12345678, false), 12);
	cr_expect_arr_eq(cdb, want, 16);
	cr_assert_eq(mp_cdb_report_tpgs(cdb, UINT32_MAX, true), 12);
	cr_expect_eq(cdb[1], 0x2a);
	cr_expect(cdb[6] == 0xff && cdb[7] == 0xff && cdb[8] == 0xff && cdb[9] == 0xff);
	cr_expect(cdb[10] == 0 && cdb[11] == 0 && all_zero(cdb + 12, 4));
}

Test(cdb, set_tpgs)
{
	static const uint8_t want[16] = { 0xa4, 0x0a, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x0c, 0, 0 };
	uint8_t cdb[16];
	memset(cdb, 0xff, sizeof(cdb));
	cr_assert_eq(mp_cdb_set_tpgs(cdb, 12), 12);
	cr_expect_arr_eq(cdb, want, 16);
	cr_assert_eq(mp_cdb_set_tpgs(cdb, 0xa1b2c3d4), 12);
	cr_expect(cdb[6] == 0xa1 && cdb[7] == 0xb2 && cdb[8] == 0xc3 && cdb[9] == 0xd4);
}

/* ---- STPG parameter list ---- */

Test(stpg, layout_of_every_settable_state)
{
	static const uint8_t states[] = { MP_ALUA_AO, MP_ALUA_ANO, MP_ALUA_STANDBY, MP_ALUA_UNAVAILABLE,
					  MP_ALUA_OFFLINE };
	for (size_t i = 0; i < MP_ARRAY_SIZE(states); i++) {
		uint8_t buf[8];
		memset(buf, 0xee, sizeof(buf));
		cr_assert_eq(mp_stpg_param_build(buf, sizeof(buf), 0xbeef, states[i]), 8, "state %u", states[i]);
		const uint8_t want[8] = { 0, 0, 0, 0, states[i], 0, 0xbe, 0xef };
		cr_expect_arr_eq(buf, want, 8, "state %u", states[i]);
	}
}

Test(stpg, same_bytes_lio_accepted)
{
	/* Run A's STPG (pgA -> AO, pgB -> standby) was sent as two descriptors; each one alone is what the builder makes. */
	static const uint8_t a_ao[8] = { 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x01 };
	static const uint8_t b_standby[8] = { 0, 0, 0, 0, 0x02, 0x00, 0x00, 0x02 };
	uint8_t buf[8];
	cr_assert_eq(mp_stpg_param_build(buf, sizeof(buf), 1, MP_ALUA_AO), 8);
	cr_expect_arr_eq(buf, a_ao, 8);
	cr_assert_eq(mp_stpg_param_build(buf, sizeof(buf), 2, MP_ALUA_STANDBY), 8);
	cr_expect_arr_eq(buf, b_standby, 8);
}

Test(stpg, writes_only_eight_bytes)
{
	uint8_t buf[32];
	memset(buf, 0x77, sizeof(buf));
	cr_assert_eq(mp_stpg_param_build(buf, sizeof(buf), 7, MP_ALUA_ANO), 8);
	for (size_t i = 8; i < sizeof(buf); i++)
		cr_expect_eq(buf[i], 0x77, "byte %zu overwritten", i);
}

Test(stpg, errors_leave_buffer_alone)
{
	uint8_t buf[16], ref[16];
	memset(buf, 0x5c, sizeof(buf));
	memcpy(ref, buf, sizeof(buf));

	for (size_t size = 0; size < 8; size++) {
		errno = 0;
		cr_expect_eq(mp_stpg_param_build(buf, size, 1, MP_ALUA_AO), -1, "size %zu", size);
		cr_expect_eq(errno, ENOSPC, "size %zu: errno %d", size, errno);
	}
	/* LBA dependent and transitioning can not be asked for; reserved codes and > 4 bits neither. */
	static const uint8_t bad[] = { MP_ALUA_LBD, MP_ALUA_TRANSITIONING, 0x5, 0xd, 0x10, 0x80, 0xff };
	for (size_t i = 0; i < MP_ARRAY_SIZE(bad); i++) {
		errno = 0;
		cr_expect_eq(mp_stpg_param_build(buf, sizeof(buf), 1, bad[i]), -1, "state 0x%x", bad[i]);
		cr_expect_eq(errno, EINVAL, "state 0x%x: errno %d", bad[i], errno);
	}
	/* A bad state is EINVAL even when the buffer is also too small. */
	errno = 0;
	cr_expect_eq(mp_stpg_param_build(buf, 2, 1, MP_ALUA_TRANSITIONING), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(mp_stpg_param_build(NULL, 8, 1, MP_ALUA_AO), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_arr_eq(buf, ref, sizeof(buf));
}

/* ---- state names ---- */

Test(state_name, every_value)
{
	static const char *const want[16] = {
		"active/optimized", "active/non-optimized", "standby", "unavailable", "lba-dependent",
		"reserved(0x5)", "reserved(0x6)", "reserved(0x7)", "reserved(0x8)", "reserved(0x9)",
		"reserved(0xa)", "reserved(0xb)", "reserved(0xc)", "reserved(0xd)", "offline", "transitioning",
	};
	for (unsigned s = 0; s < 16; s++)
		cr_expect_str_eq(mp_alua_state_name((uint8_t)s), want[s], "state 0x%x", s);
	/* Constant storage: the same pointer every time, also for reserved codes. */
	cr_expect_eq(mp_alua_state_name(0x7), mp_alua_state_name(0x7));
	cr_expect_str_eq(mp_alua_state_name(0x10), "reserved(>0xf)");
	cr_expect_str_eq(mp_alua_state_name(0xff), "reserved(>0xf)");
}

/* ---- the captured LIO answers ---- */

struct exp_group {
	uint16_t id;
	uint8_t state, status, port_count, n_ports;
	bool pref;
	uint16_t ports[2];
};

struct sample {
	const char *name;
	const uint8_t *buf;
	size_t len;
	bool extended, truncated;
	uint8_t its;
	uint32_t data_len;
	size_t n;
	struct exp_group g[3];
};

#define S(a) #a, a, sizeof(a)
/* Extended LIO answers lose the last port of the last group: n_ports 0 of port_count 1 there. */
static const struct sample samples[] = {
	{ S(lio_rtpg_ext_all_ao), true, false, 0, 40, 3,
	  { { 1, MP_ALUA_AO, 0, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 0, 1, 1, false, { 2 } },
	    { 3, MP_ALUA_AO, 0, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_len_all_ao), false, false, 0, 40, 3,
	  { { 1, MP_ALUA_AO, 0, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 0, 1, 1, false, { 2 } },
	    { 3, MP_ALUA_AO, 0, 1, 1, false, { 3 } } } },
	{ S(lio_rtpg_ext_b_standby), true, false, 0, 40, 3,
	  { { 1, MP_ALUA_AO, 0, 1, 1, false, { 1 } }, { 2, MP_ALUA_STANDBY, 2, 1, 1, false, { 2 } },
	    { 3, MP_ALUA_AO, 0, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_len_b_standby), false, false, 0, 40, 3,
	  { { 1, MP_ALUA_AO, 0, 1, 1, false, { 1 } }, { 2, MP_ALUA_STANDBY, 2, 1, 1, false, { 2 } },
	    { 3, MP_ALUA_AO, 0, 1, 1, false, { 3 } } } },
	{ S(lio_rtpg_ext_ano_pref), true, false, 30, 40, 3,
	  { { 1, MP_ALUA_ANO, 2, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 2, 1, 1, true, { 2 } },
	    { 3, MP_ALUA_UNAVAILABLE, 2, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_len_ano_pref), false, false, 0, 40, 3,
	  { { 1, MP_ALUA_ANO, 2, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 2, 1, 1, true, { 2 } },
	    { 3, MP_ALUA_UNAVAILABLE, 2, 1, 1, false, { 3 } } } },
	{ S(lio_rtpg_ext_transitioning), true, false, 30, 40, 3,
	  { { 1, MP_ALUA_ANO, 2, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 2, 1, 1, true, { 2 } },
	    { 3, MP_ALUA_TRANSITIONING, 2, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_len_transitioning), false, false, 0, 40, 3,
	  { { 1, MP_ALUA_ANO, 2, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 2, 1, 1, true, { 2 } },
	    { 3, MP_ALUA_TRANSITIONING, 2, 1, 1, false, { 3 } } } },
	{ S(lio_rtpg_ext_offline), true, false, 30, 40, 3,
	  { { 1, MP_ALUA_ANO, 2, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 2, 1, 1, true, { 2 } },
	    { 3, MP_ALUA_OFFLINE, 2, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_len_offline), false, false, 0, 40, 3,
	  { { 1, MP_ALUA_ANO, 2, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 2, 1, 1, true, { 2 } },
	    { 3, MP_ALUA_OFFLINE, 2, 1, 1, false, { 3 } } } },
	{ S(lio_rtpg_ext_after_stpg), true, false, 30, 40, 3,
	  { { 1, MP_ALUA_AO, 1, 1, 1, false, { 1 } }, { 2, MP_ALUA_STANDBY, 1, 1, 1, true, { 2 } },
	    { 3, MP_ALUA_AO, 2, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_len_after_stpg), false, false, 0, 40, 3,
	  { { 1, MP_ALUA_AO, 1, 1, 1, false, { 1 } }, { 2, MP_ALUA_STANDBY, 1, 1, 1, true, { 2 } },
	    { 3, MP_ALUA_AO, 2, 1, 1, false, { 3 } } } },
	{ S(lio_rtpg_ext_two_ports), true, false, 30, 32, 2,
	  { { 1, MP_ALUA_AO, 1, 2, 2, false, { 1, 3 } }, { 2, MP_ALUA_STANDBY, 1, 1, 0, true, { 0 } } } },
	{ S(lio_rtpg_len_two_ports), false, false, 0, 32, 2,
	  { { 1, MP_ALUA_AO, 1, 2, 2, false, { 1, 3 } }, { 2, MP_ALUA_STANDBY, 1, 1, 1, true, { 2 } } } },
	{ S(lio_rtpg_ext_lun1), true, false, 0, 40, 3,
	  { { 17, MP_ALUA_AO, 0, 1, 1, false, { 1 } }, { 18, MP_ALUA_STANDBY, 2, 1, 1, false, { 2 } },
	    { 19, MP_ALUA_AO, 0, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_len_lun1), false, false, 0, 40, 3,
	  { { 17, MP_ALUA_AO, 0, 1, 1, false, { 1 } }, { 18, MP_ALUA_STANDBY, 2, 1, 1, false, { 2 } },
	    { 19, MP_ALUA_AO, 0, 1, 1, false, { 3 } } } },
	{ S(lio_rtpg_ext_via_ao), true, false, 7, 28, 2,
	  { { 1, MP_ALUA_AO, 0, 1, 1, false, { 1 } }, { 2, MP_ALUA_STANDBY, 2, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_ext_via_standby), true, false, 5, 28, 2,
	  { { 1, MP_ALUA_AO, 0, 1, 1, false, { 1 } }, { 2, MP_ALUA_STANDBY, 2, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_ext_after_stpg2), true, false, 5, 28, 2,
	  { { 1, MP_ALUA_ANO, 1, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 1, 1, 0, false, { 0 } } } },
	{ S(lio_rtpg_len_after_stpg2), false, false, 0, 28, 2,
	  { { 1, MP_ALUA_ANO, 1, 1, 1, false, { 1 } }, { 2, MP_ALUA_AO, 1, 1, 1, false, { 2 } } } },
	/* Short allocation lengths: truncated; LIO's zero filler is not taken for a group. */
	{ S(lio_rtpg_ext_alloc12), true, true, 30, 40, 0, { { 0 } } },
	{ S(lio_rtpg_ext_alloc16), true, true, 7, 28, 0, { { 0 } } },
	{ S(lio_rtpg_len_alloc16), false, true, 0, 28, 1, { { 1, MP_ALUA_AO, 0, 1, 1, false, { 1 } } } },
	{ S(lio_rtpg_len_alloc20), false, true, 0, 28, 1, { { 1, MP_ALUA_AO, 0, 1, 1, false, { 1 } } } },
};

static void check_group(const char *name, size_t i, const struct mp_tpg_desc *d, const struct exp_group *e)
{
	cr_expect_eq(d->id, e->id, "%s g%zu: id %u", name, i, d->id);
	cr_expect_eq(d->state, e->state, "%s g%zu: state 0x%x", name, i, d->state);
	cr_expect_eq(d->pref, e->pref, "%s g%zu: pref", name, i);
	cr_expect_eq(d->supported, 0xcf, "%s g%zu: supported 0x%x", name, i, d->supported);
	cr_expect_eq(d->status, e->status, "%s g%zu: status %u", name, i, d->status);
	cr_expect_eq(d->port_count, e->port_count, "%s g%zu: port_count %u", name, i, d->port_count);
	cr_expect_eq(d->n_ports, e->n_ports, "%s g%zu: n_ports %u", name, i, d->n_ports);
	for (size_t k = 0; k < e->n_ports && k < MP_ARRAY_SIZE(e->ports); k++)
		cr_expect_eq(d->ports[k], e->ports[k], "%s g%zu: port %zu = %u", name, i, k, d->ports[k]);
}

Test(rtpg_lio, every_capture)
{
	for (size_t s = 0; s < MP_ARRAY_SIZE(samples); s++) {
		const struct sample *c = &samples[s];
		struct mp_rtpg r;
		int err;
		int rc = parse(c->buf, c->len, &r, &err);
		cr_expect_eq(rc, 0, "%s: rc %d errno %d", c->name, rc, err);
		if (rc)
			continue;
		cr_expect_eq(r.extended, c->extended, "%s: extended", c->name);
		cr_expect_eq(r.implicit_trans_s, c->its, "%s: implicit transition time %u", c->name, r.implicit_trans_s);
		cr_expect_eq(r.data_len, c->data_len, "%s: data_len %u", c->name, r.data_len);
		cr_expect_eq(r.truncated, c->truncated, "%s: truncated", c->name);
		cr_expect_eq(r.n_groups, c->n, "%s: n_groups %zu", c->name, r.n_groups);
		cr_expect_eq(r.n_groups_total, c->n, "%s: n_groups_total %zu", c->name, r.n_groups_total);
		for (size_t i = 0; i < c->n && i < r.n_groups; i++)
			check_group(c->name, i, &r.g[i], &c->g[i]);
	}
}

Test(rtpg_lio, names_of_captured_states)
{
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(lio_rtpg_len_transitioning, sizeof(lio_rtpg_len_transitioning), &r, &err), 0);
	cr_expect_str_eq(mp_alua_state_name(r.g[0].state), "active/non-optimized");
	cr_expect_str_eq(mp_alua_state_name(r.g[2].state), "transitioning");
	cr_assert_eq(parse(lio_rtpg_len_offline, sizeof(lio_rtpg_len_offline), &r, &err), 0);
	cr_expect_str_eq(mp_alua_state_name(r.g[2].state), "offline");
}

/*
 * Every prefix of a capture is what a smaller allocation length would have
 * brought (LIO's zero filler aside): at least 4 bytes parse as a truncated
 * answer whose groups are the first groups of the whole one.
 */
Test(rtpg_lio, every_prefix_is_a_truncated_answer)
{
	for (size_t s = 0; s < MP_ARRAY_SIZE(samples); s++) {
		const struct sample *c = &samples[s];
		if (c->truncated)
			continue;
		struct mp_rtpg whole;
		int err;
		cr_assert_eq(parse(c->buf, c->len, &whole, &err), 0, "%s", c->name);
		for (size_t n = 0; n < c->len; n++) {
			struct mp_rtpg r;
			int rc = parse(c->buf, n, &r, &err);
			if (n < 4) {
				cr_expect(rc == -1 && err == EBADMSG, "%s/%zu: rc %d", c->name, n, rc);
				continue;
			}
			cr_expect_eq(rc, 0, "%s/%zu: rc %d errno %d", c->name, n, rc, err);
			cr_expect(r.truncated, "%s/%zu: not truncated", c->name, n);
			cr_expect_eq(r.data_len, whole.data_len, "%s/%zu", c->name, n);
			cr_expect_eq(r.extended, n > 4 && whole.extended, "%s/%zu: extended", c->name, n);
			cr_expect(r.n_groups <= whole.n_groups, "%s/%zu", c->name, n);
			for (size_t i = 0; i < r.n_groups; i++)
				cr_expect(memcmp(&r.g[i], &whole.g[i], sizeof(r.g[i])) == 0, "%s/%zu: g%zu", c->name, n, i);
		}
	}
}

/* ---- edge and malformed answers ---- */

Test(rtpg_edge, shorter_than_the_length_field)
{
	static const uint8_t b[4] = { 0, 0, 0, 0 };
	for (size_t n = 0; n < 4; n++)
		expect_bad(b, n, "short");
	struct mp_rtpg r;
	errno = 0;
	cr_expect_eq(mp_rtpg_parse(NULL, 0, &r), -1);
	cr_expect_eq(errno, EBADMSG);
	errno = 0;
	cr_expect_eq(mp_rtpg_parse(NULL, 8, &r), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(mp_rtpg_parse(b, 4, NULL), -1);
	cr_expect_eq(errno, EINVAL);
}

Test(rtpg_edge, four_to_seven_bytes)
{
	struct mp_rtpg r;
	int err;

	static const uint8_t empty[] = { 0, 0, 0, 0 };
	cr_assert_eq(parse(empty, 4, &r, &err), 0);
	cr_expect(!r.extended && !r.truncated && r.data_len == 4 && r.n_groups == 0 && r.n_groups_total == 0);

	/* Only the length field: a valid, truncated answer of unknown format. */
	static const uint8_t len_only[] = { 0, 0, 0, 0x24 };
	cr_assert_eq(parse(len_only, 4, &r, &err), 0);
	cr_expect(!r.extended && r.truncated && r.data_len == 40 && r.n_groups == 0);

	/* An extended header cut after byte 4 / 5 / 6. */
	static const uint8_t ext[] = { 0, 0, 0, 0x24, 0x10, 0x1e, 0, 0 };
	cr_assert_eq(parse(ext, 5, &r, &err), 0);
	cr_expect(r.extended && r.truncated && r.implicit_trans_s == 0 && r.n_groups == 0);
	for (size_t n = 6; n <= 7; n++) {
		cr_assert_eq(parse(ext, n, &r, &err), 0, "%zu", n);
		cr_expect(r.extended && r.truncated && r.implicit_trans_s == 30 && r.data_len == 40, "%zu", n);
	}

	/* Extended, no descriptors: complete at 8 bytes. */
	static const uint8_t ext_empty[] = { 0, 0, 0, 4, 0x10, 0x05, 0, 0 };
	cr_assert_eq(parse(ext_empty, 8, &r, &err), 0);
	cr_expect(r.extended && !r.truncated && r.implicit_trans_s == 5 && r.data_len == 8 && r.n_groups == 0);

	/* A stated length that can not hold the extended header. */
	static const uint8_t ext_bad[] = { 0, 0, 0, 2, 0x10, 0x05 };
	expect_bad(ext_bad, sizeof(ext_bad), "extended header longer than stated");
	/* A length-only answer stating part of a descriptor. */
	static const uint8_t part[] = { 0, 0, 0, 3, 0x00, 0xcf, 0 };
	expect_bad(part, sizeof(part), "3 stated bytes");
}

/* A copy of src (n bytes) with room for extra, which the caller may then patch. */
static uint8_t *patched(const uint8_t *src, size_t n, size_t extra)
{
	uint8_t *b = calloc(1, n + extra);
	cr_assert_not_null(b);
	memcpy(b, src, n);
	return b;
}

Test(rtpg_edge, lying_length_keeps_whole_descriptors)
{
	const size_t n = sizeof(lio_rtpg_len_b_standby);
	uint8_t *b = patched(lio_rtpg_len_b_standby, n, 0);
	mp_put_be32(b, 0x100);
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(b, n, &r, &err), 0);
	cr_expect(r.truncated && r.data_len == 0x104 && r.n_groups == 3);
	cr_expect_eq(r.g[2].id, 3);
	cr_expect_eq(r.g[2].ports[0], 3);
	/* Cut inside the third descriptor's port: only two are kept. */
	cr_assert_eq(parse(b, n - 1, &r, &err), 0);
	cr_expect(r.truncated && r.n_groups == 2 && r.n_groups_total == 2);
	/* Cut inside the third descriptor's header. */
	cr_assert_eq(parse(b, 4 + 12 + 12 + 7, &r, &err), 0);
	cr_expect(r.truncated && r.n_groups == 2);
	free(b);

	/* The largest length a 32-bit allocation length covers; one more is not an answer. */
	uint8_t big[] = { 0xff, 0xff, 0xff, 0xfb, 0x00, 0xcf, 0x00, 0x01, 0, 0, 0, 0 };
	cr_assert_eq(parse(big, sizeof(big), &r, &err), 0);
	cr_expect(r.truncated && r.data_len == UINT32_MAX && r.n_groups == 1 && r.g[0].id == 1);
	big[3] = 0xfc;
	expect_bad(big, sizeof(big), "RETURN DATA LENGTH 0xfffffffc");
	big[3] = 0xff;
	expect_bad(big, sizeof(big), "RETURN DATA LENGTH 0xffffffff");
}

Test(rtpg_edge, bytes_past_the_stated_length_are_ignored)
{
	const size_t n = sizeof(lio_rtpg_len_b_standby);
	uint8_t *b = patched(lio_rtpg_len_b_standby, n, 12);
	memset(b + n, 0xff, 12);
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(b, n + 12, &r, &err), 0);
	cr_expect(!r.truncated && r.data_len == 40 && r.n_groups == 3 && r.n_groups_total == 3);
	free(b);
}

Test(rtpg_edge, port_count_past_the_stated_end)
{
	const size_t n = sizeof(lio_rtpg_len_b_standby);
	uint8_t *b = patched(lio_rtpg_len_b_standby, n, 0);
	/* The last descriptor claims 2 ports, 4 bytes more than stated (length-only: no LIO excuse). */
	b[4 + 24 + 7] = 2;
	expect_bad(b, n, "last port count + 1");
	/* ... also when the answer is cut before those ports. */
	expect_bad(b, n - 2, "last port count + 1, cut");
	/* The first descriptor's ports run past the stated end. */
	b[4 + 24 + 7] = 1;
	b[4 + 7] = 9;
	expect_bad(b, n, "first port count 9");
	free(b);

	/* Extended: one port over is LIO's shape, two are not. */
	const size_t ne = sizeof(lio_rtpg_ext_b_standby);
	uint8_t *e = patched(lio_rtpg_ext_b_standby, ne, 0);
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(e, ne, &r, &err), 0);
	e[8 + 24 + 7] = 2;
	expect_bad(e, ne, "extended, last port count + 1");
	free(e);

	/* A stated length that ends inside a descriptor header. */
	uint8_t *h = patched(lio_rtpg_len_b_standby, n, 0);
	mp_put_be32(h, 0x24 + 4);
	expect_bad(h, n, "stated end 4 bytes into nothing");
	mp_put_be32(h, 0x24 - 4);
	expect_bad(h, n, "stated end inside the last descriptor (length-only)");
	free(h);
	uint8_t *he = patched(lio_rtpg_ext_b_standby, ne, 0);
	mp_put_be32(he, 0x24 - 4);
	expect_bad(he, ne, "stated end inside the last descriptor header (extended)");
	free(he);
}

Test(rtpg_edge, lio_extended_answer_completed_by_hand)
{
	/* What a conforming target sends for the state of lio_rtpg_ext_b_standby: 4 more bytes, counted. */
	const size_t n = sizeof(lio_rtpg_ext_b_standby);
	uint8_t *b = patched(lio_rtpg_ext_b_standby, n, 4);
	mp_put_be32(b, 0x28);
	b[n + 3] = 3;
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(b, n + 4, &r, &err), 0);
	cr_expect(r.extended && !r.truncated && r.data_len == 44 && r.n_groups == 3);
	cr_expect_eq(r.g[2].n_ports, 1);
	cr_expect_eq(r.g[2].ports[0], 3);
	free(b);
}

Test(rtpg_edge, format_type)
{
	const size_t n = sizeof(lio_rtpg_ext_all_ao);
	uint8_t *b = patched(lio_rtpg_ext_all_ao, n, 0);
	for (unsigned fmt = 2; fmt < 8; fmt++) {
		b[4] = (uint8_t)(fmt << 4);
		expect_bad(b, n, "format type 2..7");
	}
	/* Bits outside 6..4 of byte 4 do not matter. */
	b[4] = 0x9f;
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(b, n, &r, &err), 0);
	cr_expect(r.extended);
	free(b);

	/* In a length-only answer byte 4 is PREF and the state: PREF does not make it extended. */
	const size_t nl = sizeof(lio_rtpg_len_all_ao);
	uint8_t *l = patched(lio_rtpg_len_all_ao, nl, 0);
	l[4] = 0x8f;
	cr_assert_eq(parse(l, nl, &r, &err), 0);
	cr_expect(!r.extended && r.g[0].pref && r.g[0].state == MP_ALUA_TRANSITIONING);
	l[4] = 0x1f;    /* a set reserved bit reads as format type 1; the descriptors then do not add up */
	cr_expect_eq(parse(l, nl, &r, &err), -1);
	free(l);
}

Test(rtpg_edge, zero_descriptors)
{
	static const uint8_t len0[] = { 0, 0, 0, 0 };
	static const uint8_t len0_trailing[] = { 0, 0, 0, 0, 0x70, 0xff, 0xff, 0xff };
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(len0, sizeof(len0), &r, &err), 0);
	cr_expect(r.n_groups == 0 && !r.extended && !r.truncated);
	/* Byte 4 is not part of the stated data: its format bits are not read. */
	cr_assert_eq(parse(len0_trailing, sizeof(len0_trailing), &r, &err), 0);
	cr_expect(r.n_groups == 0 && !r.extended && !r.truncated && r.data_len == 4);
}

Test(rtpg_edge, reserved_supported_bit_dropped)
{
	static const uint8_t b[] = { 0, 0, 0, 8, 0x0e, 0xff, 0x12, 0x34, 0, 0x02, 0x99, 0 };
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(b, sizeof(b), &r, &err), 0);
	cr_assert_eq(r.n_groups, 1);
	cr_expect_eq(r.g[0].supported, 0xdf);
	cr_expect_eq(r.g[0].id, 0x1234);
	cr_expect_eq(r.g[0].state, MP_ALUA_OFFLINE);
	cr_expect(!r.g[0].pref);
	cr_expect_eq(r.g[0].status, 2);
	cr_expect(r.g[0].port_count == 0 && r.g[0].n_ports == 0);
}

Test(rtpg_edge, zero_filler_only_ends_a_truncated_answer)
{
	/* Header, a real descriptor, 8 zero bytes. Stated as exactly that: group 0 is real. */
	uint8_t b[4 + 12 + 8] = { 0, 0, 0, 20, 0x00, 0xcf, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 1 };
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(b, sizeof(b), &r, &err), 0);
	cr_expect(!r.truncated && r.n_groups == 2 && r.g[1].id == 0 && r.g[1].port_count == 0);
	/* Stated longer: the zero bytes are LIO's filler for a descriptor that did not fit. */
	b[3] = 40;
	cr_assert_eq(parse(b, sizeof(b), &r, &err), 0);
	cr_expect(r.truncated && r.n_groups == 1 && r.n_groups_total == 1 && r.g[0].id == 1);
}

/* Builds a length-only answer of n descriptors, descriptor i: group 100 + i, ports[i] ports 1000 + k. */
static size_t build(uint8_t *b, size_t size, size_t n, const unsigned *ports)
{
	size_t off = 4;
	for (size_t i = 0; i < n; i++) {
		cr_assert(off + 8 + 4 * ports[i] <= size);
		memset(b + off, 0, 8);
		b[off] = (uint8_t)(i % 4);
		b[off + 1] = 0xcf;
		mp_put_be16(b + off + 2, (uint16_t)(100 + i));
		b[off + 7] = (uint8_t)ports[i];
		off += 8;
		for (unsigned k = 0; k < ports[i]; k++, off += 4) {
			memset(b + off, 0, 4);
			mp_put_be16(b + off + 2, (uint16_t)(1000 + k));
		}
	}
	mp_put_be32(b, (uint32_t)(off - 4));
	return off;
}

Test(rtpg_edge, more_groups_than_kept)
{
	enum { N = MP_RTPG_MAX_GROUPS + 8 };
	unsigned ports[N];
	for (size_t i = 0; i < N; i++)
		ports[i] = 1;
	static uint8_t b[4 + N * 12];
	size_t len = build(b, sizeof(b), N, ports);
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(b, len, &r, &err), 0);
	cr_expect_eq(r.n_groups, MP_RTPG_MAX_GROUPS);
	cr_expect_eq(r.n_groups_total, N);
	cr_expect(!r.truncated);
	cr_expect_eq(r.g[MP_RTPG_MAX_GROUPS - 1].id, 100 + MP_RTPG_MAX_GROUPS - 1);
	cr_expect_not_null(mp_rtpg_find(&r, 100 + MP_RTPG_MAX_GROUPS - 1));
	cr_expect_null(mp_rtpg_find(&r, 100 + MP_RTPG_MAX_GROUPS));
	/* A malformed descriptor after the kept ones still fails the whole answer. */
	b[len - 4 - 8 + 7] = 2;
	expect_bad(b, len, "bad descriptor past MP_RTPG_MAX_GROUPS");
}

Test(rtpg_edge, more_ports_than_kept)
{
	unsigned ports[3] = { MP_RTPG_MAX_PORTS + 4, 255, 2 };
	static uint8_t b[4 + 3 * 8 + 4 * (MP_RTPG_MAX_PORTS + 4 + 255 + 2)];
	size_t len = build(b, sizeof(b), 3, ports);
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(b, len, &r, &err), 0);
	cr_assert_eq(r.n_groups, 3);
	cr_expect_eq(r.g[0].port_count, MP_RTPG_MAX_PORTS + 4);
	cr_expect_eq(r.g[0].n_ports, MP_RTPG_MAX_PORTS);
	cr_expect_eq(r.g[0].ports[MP_RTPG_MAX_PORTS - 1], 1000 + MP_RTPG_MAX_PORTS - 1);
	cr_expect_eq(r.g[1].port_count, 255);
	cr_expect_eq(r.g[1].n_ports, MP_RTPG_MAX_PORTS);
	/* The walk steps over every port sent, not only the kept ones. */
	cr_expect_eq(r.g[2].id, 102);
	cr_expect_eq(r.g[2].n_ports, 2);
	cr_expect_eq(r.g[2].ports[1], 1001);
}

/* ---- lookup ---- */

Test(rtpg_find, by_id)
{
	struct mp_rtpg r;
	int err;
	cr_assert_eq(parse(lio_rtpg_len_lun1, sizeof(lio_rtpg_len_lun1), &r, &err), 0);
	const struct mp_tpg_desc *d = mp_rtpg_find(&r, 18);
	cr_assert_not_null(d);
	cr_expect_eq(d, &r.g[1]);
	cr_expect_eq(d->state, MP_ALUA_STANDBY);
	cr_expect_eq(mp_rtpg_find(&r, 17), &r.g[0]);
	cr_expect_eq(mp_rtpg_find(&r, 19), &r.g[2]);
	cr_expect_null(mp_rtpg_find(&r, 1));
	cr_expect_null(mp_rtpg_find(&r, 0));
	cr_expect_null(mp_rtpg_find(NULL, 17));
	/* Descriptors past n_groups are not searched. */
	r.n_groups = 1;
	cr_expect_null(mp_rtpg_find(&r, 18));
}
