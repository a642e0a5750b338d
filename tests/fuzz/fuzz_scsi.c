/* libFuzzer target: target-supplied SCSI data through every scsi_parse.h parser (INQUIRY, VPD 00/80/83/B0/B2, READ CAPACITY(16), MODE SENSE(10)). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "initiator/scsi_parse.h"
#include "tests/fuzz/fuzz_common.h"

/*
 * The input is one response as received (len = bytes actually transferred),
 * in a buffer of exactly that size. Every parser sees it: the VPD parsers
 * refuse another page code, so the fuzzer steers by byte 1. Outputs start
 * filled with a pattern so that "failure leaves the output zeroed" and
 * "strings are terminated" are really checked.
 */

static bool printable_str(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static void on_fail(int rc, const void *out, size_t size)
{
	FUZZ_CHECK(rc == -1);
	FUZZ_CHECK(errno == EPROTO);
	FUZZ_CHECK(fuzz_all_zero(out, size));
}

static void inquiry(const uint8_t *b, size_t len)
{
	struct mp_inquiry q;
	memset(&q, 0xa5, sizeof(q));
	errno = 0;
	int rc = mp_parse_inquiry(b, len, &q);
	if (rc) {
		on_fail(rc, &q, sizeof(q));
		FUZZ_CHECK(len < 6);
		return;
	}
	FUZZ_CHECK(len >= 6);
	FUZZ_CHECK(fuzz_terminated(q.vendor, sizeof(q.vendor)) && printable_str(q.vendor));
	FUZZ_CHECK(fuzz_terminated(q.product, sizeof(q.product)) && printable_str(q.product));
	FUZZ_CHECK(fuzz_terminated(q.revision, sizeof(q.revision)) && printable_str(q.revision));
	FUZZ_CHECK(q.qualifier <= 7 && q.peripheral_type <= 0x1f && q.tpgs <= 3);
	/* Trailing spaces are trimmed. */
	FUZZ_CHECK(!q.vendor[0] || q.vendor[strlen(q.vendor) - 1] != ' ');
	FUZZ_CHECK(!q.product[0] || q.product[strlen(q.product) - 1] != ' ');
	FUZZ_CHECK(!q.revision[0] || q.revision[strlen(q.revision) - 1] != ' ');
}

static void vpd00(const uint8_t *b, size_t len)
{
	struct mp_vpd_pages p;
	memset(&p, 0xa5, sizeof(p));
	errno = 0;
	int rc = mp_parse_vpd00(b, len, &p);
	if (rc) {
		on_fail(rc, &p, sizeof(p));
		return;
	}
	FUZZ_CHECK(len >= 4 && b[1] == 0x00);
	FUZZ_CHECK(mp_vpd_pages_has(&p, 0x00));
	/* Only page codes actually received can be listed. */
	size_t avail = len - 4 < (size_t)(b[2] << 8 | b[3]) ? len - 4 : (size_t)(b[2] << 8 | b[3]);
	for (unsigned pg = 1; pg < 256; pg++)
		if (mp_vpd_pages_has(&p, (uint8_t)pg))
			FUZZ_CHECK(memchr(b + 4, (int)pg, avail) != NULL);
}

static void vpd80(const uint8_t *b, size_t len)
{
	/* Two output sizes: the real one and a small one that provokes ERANGE. */
	static const size_t sizes[] = { 256, 8, 1 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char out[256];
		memset(out, 0xa5, sizeof(out));
		errno = 0;
		int rc = mp_parse_vpd80(b, len, out, sizes[i]);
		if (rc) {
			FUZZ_CHECK(rc == -1 && (errno == EPROTO || errno == ERANGE));
			FUZZ_CHECK(out[0] == '\0');
			continue;
		}
		FUZZ_CHECK(len >= 4 && b[1] == 0x80);
		FUZZ_CHECK(fuzz_terminated(out, sizes[i]));
		FUZZ_CHECK(printable_str(out));
		size_t n = strlen(out);
		FUZZ_CHECK(n == 0 || (out[0] != ' ' && out[n - 1] != ' '));
		/* The page is strict: it was received whole. */
		FUZZ_CHECK(mp_vpd_page_size(b, len) <= len);
	}
}

static void vpd83(const uint8_t *b, size_t len)
{
	struct mp_vpd83 v;
	memset(&v, 0xa5, sizeof(v));
	errno = 0;
	int rc = mp_parse_vpd83(b, len, &v);
	if (rc) {
		FUZZ_CHECK(rc == -1 && errno == EPROTO);
		FUZZ_CHECK(v.designator[0] == '\0' && v.desig_type == -1 && !v.has_rel_port && !v.has_tpg);
		return;
	}
	FUZZ_CHECK(len >= 4 && b[1] == 0x83 && mp_vpd_page_size(b, len) <= len);
	FUZZ_CHECK(fuzz_terminated(v.designator, sizeof(v.designator)));
	FUZZ_CHECK(printable_str(v.designator));
	FUZZ_CHECK(v.desig_type >= -1 && v.desig_type <= MP_DESIG_NAME);
	FUZZ_CHECK((v.desig_type == -1) == (v.designator[0] == '\0'));
	if (v.desig_type == MP_DESIG_NAA)
		FUZZ_CHECK(strncmp(v.designator, "naa.", 4) == 0);
	if (v.desig_type == MP_DESIG_EUI64)
		FUZZ_CHECK(strncmp(v.designator, "eui.", 4) == 0);
	if (v.desig_type == MP_DESIG_T10)
		FUZZ_CHECK(strncmp(v.designator, "t10.", 4) == 0);
	FUZZ_CHECK(v.has_rel_port || v.rel_port == 0);
	FUZZ_CHECK(v.has_tpg || v.tpg == 0);
}

static void vpdb0(const uint8_t *b, size_t len)
{
	struct mp_vpd_b0 v;
	memset(&v, 0xa5, sizeof(v));
	errno = 0;
	int rc = mp_parse_vpd_b0(b, len, &v);
	if (rc) {
		on_fail(rc, &v, sizeof(v));
		return;
	}
	FUZZ_CHECK(len >= 4 && b[1] == 0xb0);
	FUZZ_CHECK(v.max_unmap_lbas != UINT32_MAX && v.max_unmap_descs != UINT32_MAX);
	/* Lenient: nothing is taken from bytes that were not received. */
	if (len < 12)
		FUZZ_CHECK(v.max_xfer == 0);
	if (len < 16)
		FUZZ_CHECK(v.opt_xfer == 0);
	if (len < 44)
		FUZZ_CHECK(v.max_write_same == 0);
}

static void vpdb2(const uint8_t *b, size_t len)
{
	struct mp_vpd_b2 v;
	memset(&v, 0xa5, sizeof(v));
	errno = 0;
	int rc = mp_parse_vpd_b2(b, len, &v);
	if (rc) {
		on_fail(rc, &v, sizeof(v));
		return;
	}
	FUZZ_CHECK(len >= 4 && b[1] == 0xb2);
	FUZZ_CHECK(v.prov_type <= 7);
	if (len < 6)
		FUZZ_CHECK(!v.lbpu && !v.lbpws && !v.lbpws10 && !v.lbprz && !v.anc_sup && !v.dp);
}

static void rc16(const uint8_t *b, size_t len)
{
	struct mp_read_cap16 r;
	memset(&r, 0xa5, sizeof(r));
	errno = 0;
	int rc = mp_parse_read_cap16(b, len, &r);
	if (rc) {
		on_fail(rc, &r, sizeof(r));
		return;
	}
	FUZZ_CHECK(len >= 12);
	FUZZ_CHECK(r.block_size != 0);
	FUZZ_CHECK(r.num_blocks == r.last_lba + 1 && r.num_blocks != 0);
	FUZZ_CHECK(r.phys_exp <= 15 && r.p_type <= 7 && r.prot_en <= 1 && r.lowest_aligned <= 0x3fff);
}

static void mode_sense(const uint8_t *b, size_t len)
{
	bool wp = true;
	errno = 0;
	int rc = mp_parse_mode_sense10_wp(b, len, &wp);
	if (rc) {
		FUZZ_CHECK(rc == -1 && errno == EPROTO && !wp && len < 8);
		return;
	}
	FUZZ_CHECK(len >= 8 && wp == !!(b[3] & 0x80));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = fuzz_dup(data, size);

	size_t ps = mp_vpd_page_size(b, size);
	FUZZ_CHECK(size < 4 ? ps == 0 : ps >= 4 && ps <= 4 + 0xffff);
	inquiry(b, size);
	vpd00(b, size);
	vpd80(b, size);
	vpd83(b, size);
	vpdb0(b, size);
	vpdb2(b, size);
	rc16(b, size);
	mode_sense(b, size);
	free(b);
	return 0;
}
