/* Unit tests for initiator/report_luns: the REPORT LUNS CDB, the LUN list parser on good, truncated and lying answers, and the libiscsi wire value. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "initiator/report_luns.h"

/* An answer under construction: header + entries, list length set by hand or from the entries. */
struct answer {
	uint8_t b[8 + 8 * 64];
	size_t len;
};

static void ans_init(struct answer *a)
{
	memset(a, 0, sizeof(*a));
	a->len = 8;
}

static void ans_entry(struct answer *a, const uint8_t e[8])
{
	cr_assert_leq(a->len + 8, sizeof(a->b));
	memcpy(a->b + a->len, e, 8);
	a->len += 8;
	mp_put_be32(a->b, (uint32_t)(a->len - 8));
}

/* Peripheral device addressing, bus 0 (how tgtd and LIO list LUNs 0..255). */
static void ans_periph(struct answer *a, uint8_t lun)
{
	const uint8_t e[8] = { 0x00, lun };
	ans_entry(a, e);
}

/* Flat space addressing (how tgtd lists LUNs 256..16383). */
static void ans_flat(struct answer *a, uint16_t lun)
{
	const uint8_t e[8] = { (uint8_t)(0x40 | (lun >> 8)), (uint8_t)lun };
	ans_entry(a, e);
}

struct result {
	int rc, err;
	uint32_t luns[80];
	size_t n, skipped;
	uint32_t need;
};

/* Parses b[0..len) from an exact heap copy (AddressSanitizer sees any read past the end). */
static struct result parse_max(const uint8_t *b, size_t len, size_t max)
{
	struct result r;
	memset(&r, 0, sizeof(r));
	cr_assert_leq(max, MP_ARRAY_SIZE(r.luns));
	for (size_t i = 0; i < MP_ARRAY_SIZE(r.luns); i++)
		r.luns[i] = 0xdeadbeef;
	r.n = r.skipped = 12345;
	r.need = 12345;
	uint8_t *c = malloc(len ? len : 1);
	cr_assert_not_null(c);
	if (len)
		memcpy(c, b, len);
	errno = 0;
	r.rc = mp_report_luns_parse(c, len, r.luns, max, &r.n, &r.need, &r.skipped);
	r.err = errno;
	free(c);
	return r;
}

static struct result parse(const uint8_t *b, size_t len)
{
	return parse_max(b, len, 80);
}

static void expect_luns(const struct result *r, const uint32_t *want, size_t n_want)
{
	cr_assert_eq(r->rc, 0, "rc %d errno %d", r->rc, r->err);
	cr_assert_eq(r->n, n_want, "n %zu, want %zu", r->n, n_want);
	for (size_t i = 0; i < n_want; i++)
		cr_expect_eq(r->luns[i], want[i], "lun[%zu] = %u, want %u", i, r->luns[i], want[i]);
	/* Nothing written past *n. */
	for (size_t i = n_want; i < MP_ARRAY_SIZE(r->luns); i++)
		cr_expect_eq(r->luns[i], 0xdeadbeef, "lun[%zu] written past n", i);
}

static void expect_bad(const uint8_t *b, size_t len, const char *what)
{
	struct result r = parse(b, len);
	cr_expect_eq(r.rc, -1, "%s: rc %d", what, r.rc);
	cr_expect_eq(r.err, EBADMSG, "%s: errno %d", what, r.err);
	cr_expect(r.n == 0 && r.need == 0 && r.skipped == 0, "%s: outputs not zeroed", what);
	cr_expect_eq(r.luns[0], 0xdeadbeef, "%s: a LUN was written", what);
}

/* ---- CDB ---- */

Test(cdb, report_luns_select_0_alloc_be)
{
	static const uint8_t want[12] = { 0xa0, 0, 0x00, 0, 0, 0, 0x00, 0x02, 0x00, 0x08, 0, 0 };
	uint8_t cdb[12];
	memset(cdb, 0xa5, sizeof(cdb));
	mp_report_luns_cdb(cdb, 0x20008);
	cr_expect_arr_eq(cdb, want, sizeof(want));
	mp_report_luns_cdb(cdb, MP_REPORT_LUNS_ALLOC_MAX);
	cr_expect_eq(mp_be32(cdb + 6), 8u + 8u * 16384u);
	cr_expect_eq(cdb[0], 0xa0);
	cr_expect_eq(cdb[2], 0);
}

/* ---- well-formed answers ---- */

Test(parse, tgtd_controller_and_two_disks)
{
	/* tgtd: LUN 0 (controller), 1 and 2, allocation was large enough. */
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 0);
	ans_periph(&a, 1);
	ans_periph(&a, 2);
	struct result r = parse(a.b, a.len);
	static const uint32_t want[] = { 0, 1, 2 };
	expect_luns(&r, want, 3);
	cr_expect_eq(r.need, 8 + 24);
	cr_expect_eq(r.skipped, 0);
}

Test(parse, empty_list)
{
	struct answer a;
	ans_init(&a);
	struct result r = parse(a.b, a.len);
	expect_luns(&r, NULL, 0);
	cr_expect_eq(r.need, 8);
	cr_expect_eq(r.skipped, 0);
}

Test(parse, both_8_byte_formats)
{
	/* Peripheral bus 0 and flat space, at the ends of their ranges; order kept as listed. */
	struct answer a;
	ans_init(&a);
	ans_flat(&a, 16383);
	ans_periph(&a, 255);
	ans_flat(&a, 256);
	ans_periph(&a, 0);
	ans_flat(&a, 300);
	ans_flat(&a, 7);
	struct result r = parse(a.b, a.len);
	static const uint32_t want[] = { 16383, 255, 256, 0, 300, 7 };
	expect_luns(&r, want, 6);
	cr_expect_eq(r.skipped, 0);
	cr_expect_eq(r.need, 8 + 6 * 8);
}

Test(parse, reserved_header_bytes_ignored)
{
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 3);
	memset(a.b + 4, 0xff, 4);
	struct result r = parse(a.b, a.len);
	static const uint32_t want[] = { 3 };
	expect_luns(&r, want, 1);
}

Test(parse, bytes_past_the_list_ignored)
{
	/* The list says one entry; a second one arrived after it (padding, stale buffer). */
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 4);
	ans_periph(&a, 5);
	mp_put_be32(a.b, 8);
	struct result r = parse(a.b, a.len);
	static const uint32_t want[] = { 4 };
	expect_luns(&r, want, 1);
	cr_expect_eq(r.need, 16);
}

/* ---- unsupported addressing methods ---- */

Test(parse, unsupported_methods_skipped)
{
	static const uint8_t entries[][8] = {
		{ 0x01, 0x2c },                         /* peripheral, bus 1 (Linux int_to_scsilun(300)) */
		{ 0x3f, 0xff },                         /* peripheral, bus 63 */
		{ 0x80, 0x05 },                         /* logical unit addressing */
		{ 0xc1, 0x01 },                         /* well-known LUN: REPORT LUNS */
		{ 0xd2, 0x00, 0x01, 0x02 },             /* extended flat space */
		{ 0xe2, 0, 0, 0, 0, 0, 0, 1 },          /* long extended flat space */
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, /* logical unit not specified */
		{ 0x00, 0x01, 0x00, 0x02 },             /* two levels: LUN 1, then LUN 2 behind it */
		{ 0x40, 0x01, 0, 0, 0, 0, 0, 0x01 },    /* flat space with a non-zero last byte */
	};
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 9);
	for (size_t i = 0; i < MP_ARRAY_SIZE(entries); i++)
		ans_entry(&a, entries[i]);
	ans_flat(&a, 1000);
	struct result r = parse(a.b, a.len);
	static const uint32_t want[] = { 9, 1000 };
	expect_luns(&r, want, 2);
	cr_expect_eq(r.skipped, MP_ARRAY_SIZE(entries));
	cr_expect_eq(r.need, 8 + 8 * (MP_ARRAY_SIZE(entries) + 2));
}

/* ---- duplicates and max ---- */

Test(parse, duplicates_dropped_first_kept)
{
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 2);
	ans_periph(&a, 1);
	ans_periph(&a, 2);
	ans_flat(&a, 1); /* the same LUN 1 in the other method */
	ans_flat(&a, 500);
	ans_flat(&a, 500);
	struct result r = parse(a.b, a.len);
	static const uint32_t want[] = { 2, 1, 500 };
	expect_luns(&r, want, 3);
	cr_expect_eq(r.skipped, 0);
	cr_expect_eq(r.need, 8 + 6 * 8);
}

Test(parse, max_reached)
{
	struct answer a;
	ans_init(&a);
	for (uint8_t i = 0; i < 10; i++)
		ans_periph(&a, (uint8_t)(10 - i));
	struct result r = parse_max(a.b, a.len, 4);
	static const uint32_t want[] = { 10, 9, 8, 7 };
	expect_luns(&r, want, 4);
	cr_expect_eq(r.need, 8 + 80, "need still covers the whole list");
}

Test(parse, max_counts_distinct_luns)
{
	/* Duplicates and skipped entries do not use up max. */
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 1);
	ans_periph(&a, 1);
	const uint8_t wl[8] = { 0xc1, 0x01 };
	ans_entry(&a, wl);
	ans_periph(&a, 2);
	ans_periph(&a, 3);
	struct result r = parse_max(a.b, a.len, 2);
	static const uint32_t want[] = { 1, 2 };
	expect_luns(&r, want, 2);
	cr_expect_eq(r.skipped, 1);
}

Test(parse, max_zero_null_out_gives_need)
{
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 1);
	size_t n = 9, skipped = 9;
	uint32_t need = 0;
	cr_assert_eq(mp_report_luns_parse(a.b, a.len, NULL, 0, &n, &need, &skipped), 0);
	cr_expect_eq(n, 0);
	cr_expect_eq(need, 16);
}

Test(parse, all_16384_luns)
{
	/* The largest useful answer: every flat space LUN once (the caller's MP_REPORT_LUNS_ALLOC_MAX). */
	size_t len = MP_REPORT_LUNS_ALLOC_MAX;
	uint8_t *b = calloc(1, len);
	uint32_t *out = calloc(16384, sizeof(*out));
	cr_assert(b && out);
	mp_put_be32(b, (uint32_t)(len - 8));
	for (uint32_t i = 0; i < 16384; i++) {
		uint32_t lun = 16383 - i;
		b[8 + 8 * i] = (uint8_t)(0x40 | (lun >> 8));
		b[8 + 8 * i + 1] = (uint8_t)lun;
	}
	size_t n, skipped;
	uint32_t need;
	cr_assert_eq(mp_report_luns_parse(b, len, out, 16384, &n, &need, &skipped), 0);
	cr_expect_eq(n, 16384);
	cr_expect_eq(need, MP_REPORT_LUNS_ALLOC_MAX);
	cr_expect_eq(out[0], 16383);
	cr_expect_eq(out[16383], 0);
	free(out);
	free(b);
}

/* ---- truncated answers and lying lengths ---- */

Test(parse, truncated_by_allocation_length)
{
	/* 16-byte allocation (the SPC minimum), four LUNs listed: header and one entry arrive. */
	struct answer a;
	ans_init(&a);
	for (uint8_t i = 0; i < 4; i++)
		ans_periph(&a, i);
	struct result r = parse(a.b, 16);
	static const uint32_t want[] = { 0 };
	expect_luns(&r, want, 1);
	cr_expect_eq(r.need, 40, "need %u", r.need);
}

Test(parse, truncated_inside_an_entry)
{
	/* Bytes of a partial last entry are not read as a LUN. */
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 1);
	ans_periph(&a, 2);
	for (size_t cut = 17; cut < 24; cut++) {
		struct result r = parse(a.b, cut);
		static const uint32_t want[] = { 1 };
		expect_luns(&r, want, 1);
		cr_expect_eq(r.need, 24);
	}
	struct result r = parse(a.b, 9);
	expect_luns(&r, NULL, 0);
	cr_expect_eq(r.need, 24);
}

Test(parse, header_only_of_a_long_list)
{
	struct answer a;
	ans_init(&a);
	mp_put_be32(a.b, 8 * 1000);
	struct result r = parse(a.b, 8);
	expect_luns(&r, NULL, 0);
	cr_expect_eq(r.need, 8008);
}

Test(parse, list_length_longer_than_arrived)
{
	/* The target claims 100 entries and sends 2 (no residual would say so): take the 2, ask again. */
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 5);
	ans_periph(&a, 6);
	mp_put_be32(a.b, 800);
	struct result r = parse(a.b, a.len);
	static const uint32_t want[] = { 5, 6 };
	expect_luns(&r, want, 2);
	cr_expect_eq(r.need, 808);
}

Test(parse, huge_list_length)
{
	/* Above what a caller may ask for; near UINT32_MAX need saturates instead of wrapping. */
	struct answer a;
	ans_init(&a);
	ans_periph(&a, 1);
	mp_put_be32(a.b, 0x7ffffff8);
	struct result r = parse(a.b, a.len);
	static const uint32_t want[] = { 1 };
	expect_luns(&r, want, 1);
	cr_expect_eq(r.need, 0x80000000u);
	cr_expect_gt(r.need, MP_REPORT_LUNS_ALLOC_MAX);

	mp_put_be32(a.b, 0xfffffff8);
	r = parse(a.b, a.len);
	expect_luns(&r, want, 1);
	cr_expect_eq(r.need, UINT32_MAX, "need %#x", r.need);
	mp_put_be32(a.b, UINT32_MAX - 15);
	r = parse(a.b, a.len);
	cr_expect_eq(r.need, UINT32_MAX - 7);
}

Test(parse, malformed)
{
	uint8_t b[24] = { 0 };
	expect_bad(b, 0, "empty");
	expect_bad(b, 4, "half a header");
	expect_bad(b, 7, "header short by one");
	mp_put_be32(b, 12);
	expect_bad(b, sizeof(b), "list length 12");
	mp_put_be32(b, 1);
	expect_bad(b, sizeof(b), "list length 1");
	mp_put_be32(b, 0xffffffff);
	expect_bad(b, sizeof(b), "list length 0xffffffff");
	mp_put_be32(b, 20);
	expect_bad(b, 8, "list length 20, header only");
}

Test(parse, null_arguments)
{
	uint8_t b[16] = { 0, 0, 0, 8 };
	uint32_t out[2];
	size_t n = 7, skipped = 7;
	uint32_t need = 7;
	errno = 0;
	cr_expect_eq(mp_report_luns_parse(NULL, 16, out, 2, &n, &need, &skipped), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(n == 0 && need == 0 && skipped == 0);
	errno = 0;
	cr_expect_eq(mp_report_luns_parse(b, 16, NULL, 2, &n, &need, &skipped), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(mp_report_luns_parse(b, 16, out, 2, NULL, &need, &skipped), -1);
	cr_expect_eq(errno, EINVAL);
}

/* ---- the value handed to libiscsi ---- */

/* What libiscsi 1.19 puts in BHS bytes 8..9 for an int lun (iscsi_pdu_set_lun: 16-bit big-endian). */
static void libiscsi_lun_bytes(int lun, uint8_t e[8])
{
	memset(e, 0, 8);
	mp_put_be16(e, (uint16_t)lun);
}

Test(wire, round_trips_through_libiscsi_encoding)
{
	/* Every decodable LUN, encoded as libiscsi would send mp_report_luns_wire(lun), parses back to lun. */
	for (uint32_t lun = 0; lun <= MP_REPORT_LUNS_MAX_LUN; lun++) {
		uint8_t b[16] = { 0, 0, 0, 8 };
		libiscsi_lun_bytes(mp_report_luns_wire(lun), b + 8);
		uint32_t out[1];
		size_t n, skipped;
		uint32_t need;
		cr_assert_eq(mp_report_luns_parse(b, sizeof(b), out, 1, &n, &need, &skipped), 0);
		cr_assert_eq(n, 1, "lun %u not decoded", lun);
		cr_assert_eq(out[0], lun, "lun %u came back as %u", lun, out[0]);
	}
}

Test(wire, same_bytes_as_tgtd_lists)
{
	/* tgtd's REPORT LUNS encodes 0..255 as peripheral, 256.. as flat space: the wire value matches. */
	cr_expect_eq(mp_report_luns_wire(0), 0);
	cr_expect_eq(mp_report_luns_wire(255), 0x00ff);
	cr_expect_eq(mp_report_luns_wire(256), 0x4100);
	cr_expect_eq(mp_report_luns_wire(16383), 0x7fff);
}
