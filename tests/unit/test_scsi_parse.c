/* Unit tests for initiator/scsi_parse and scsi_cdb: captured target responses, malformed ones, CDB layouts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "mpath/scsi_cdb.h"
#include "initiator/scsi_parse.h"
#include "tests/unit/scsi_samples.h"

/*
 * Crafted responses besides the captured ones in scsi_samples.h, generated
 * the same way; the malformed ones break exactly one length on purpose.
 */
static const uint8_t eui_vpd83[] = {
	0x00, 0x83, 0x00, 0x36, 0x03, 0x08, 0x00, 0x18, 0x65, 0x75, 0x69, 0x2e,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62,
	0x63, 0x64, 0x65, 0x66, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x0a,
	0x41, 0x43, 0x4d, 0x45, 0x20, 0x20, 0x20, 0x20, 0x58, 0x31, 0x01, 0x02,
	0x00, 0x08, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};
static const uint8_t name_vpd83[] = {
	0x00, 0x83, 0x00, 0x2a, 0x02, 0x01, 0x00, 0x0a, 0x41, 0x43, 0x4d, 0x45,
	0x20, 0x20, 0x20, 0x20, 0x58, 0x31, 0x03, 0x08, 0x00, 0x18, 0x65, 0x75,
	0x69, 0x2e, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
	0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t naa58_vpd83[] = {
	0x00, 0x83, 0x00, 0x20, 0x01, 0x03, 0x00, 0x08, 0x50, 0x00, 0xc5, 0x00,
	0x12, 0x34, 0x56, 0x78, 0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a,
	0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6,
};
static const uint8_t bad_vpd83[] = {
	0x00, 0x83, 0x00, 0x2f, 0x01, 0x03, 0x00, 0x0c, 0x60, 0x01, 0x40, 0x50,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x00, 0x08,
	0x42, 0x41, 0x44, 0x01, 0x20, 0x20, 0x20, 0x20, 0x02, 0x01, 0x00, 0x0f,
	0x47, 0x4f, 0x4f, 0x44, 0x20, 0x20, 0x20, 0x20, 0x49, 0x44, 0x34, 0x32,
	0x20, 0x20, 0x20,
};
static const uint8_t overrun_vpd83[] = {
	0x00, 0x83, 0x00, 0x28, 0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a,
	0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6,
	0x01, 0x03, 0x00, 0x20, 0x60, 0x01, 0x40, 0x5a, 0x1b, 0x2c, 0x3d, 0x4e,
	0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6,
};
static const uint8_t lying_vpd83[] = {
	0x00, 0x83, 0x00, 0x40, 0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a,
	0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6,
	0x00, 0x00, 0x00, 0x00,
};
static const uint8_t cut_hdr_vpd83[] = {
	0x00, 0x83, 0x00, 0x16, 0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a,
	0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6,
	0x01, 0x03,
};

/* A heap copy of exactly n bytes, so that AddressSanitizer catches any read past the end. */
static uint8_t *dup_exact(const uint8_t *b, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	if (n)
		memcpy(p, b, n);
	return p;
}

#define ALL SIZE_MAX  /* "use the whole array" in the tables below */

/* ---- standard INQUIRY ---- */

struct inq_case {
	const char *name;
	const uint8_t *buf;
	size_t size, cut;
	int rc, err;
	uint8_t qual, type, tpgs;
	const char *vendor, *product, *revision;
};

static const uint8_t no_lu_inquiry[] = { 0x7f, 0x00, 0x05, 0x12, 0x1f, 0x00, 0x00, 0x00 };
static const uint8_t short_addl_inquiry[] = {
	0x00, 0x00, 0x05, 0x12, 0x03, 0x10, 0x00, 0x02, 'X', 'X', 'X', 'X', 'X', 'X', 'X', 'X',
};
static const uint8_t nul_pad_inquiry[] = {
	0x00, 0x00, 0x05, 0x12, 0x1f, 0x00, 0x00, 0x02, 'A', 'B', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	'D', 'i', 's', 'k', 0x01, ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', '1', ' ', ' ', ' ',
};

static const struct inq_case inq_cases[] = {
	{ "tgtd", tgtd_inquiry, sizeof(tgtd_inquiry), ALL, 0, 0, 0, 0, 0, "IET", "VIRTUAL-DISK", "0001" },
	{ "lio tpgs=3", lio_inquiry, sizeof(lio_inquiry), ALL, 0, 0, 0, 0, 3, "LIO-ORG", "disk0", "4.0" },
	{ "cut in product", tgtd_inquiry, sizeof(tgtd_inquiry), 20, 0, 0, 0, 0, 0, "IET", "VIRT", "" },
	{ "header only", lio_inquiry, sizeof(lio_inquiry), 6, 0, 0, 0, 0, 3, "", "", "" },
	{ "shorter than header", lio_inquiry, sizeof(lio_inquiry), 5, -1, EPROTO, 0, 0, 0, "", "", "" },
	{ "empty", lio_inquiry, sizeof(lio_inquiry), 0, -1, EPROTO, 0, 0, 0, "", "", "" },
	{ "no LU here", no_lu_inquiry, sizeof(no_lu_inquiry), ALL, 0, 0, 3, 0x1f, 0, "", "", "" },
	{ "additional length hides vendor", short_addl_inquiry, sizeof(short_addl_inquiry), ALL, 0, 0, 0, 0, 1,
	  "", "", "" },
	{ "NUL padding, control byte", nul_pad_inquiry, sizeof(nul_pad_inquiry), ALL, 0, 0, 0, 0, 0,
	  "AB", "Disk?", "1" },
};

Test(inquiry, table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(inq_cases); i++) {
		const struct inq_case *c = &inq_cases[i];
		size_t n = c->cut == ALL ? c->size : c->cut;
		uint8_t *b = dup_exact(c->buf, n);
		struct mp_inquiry q;
		errno = 0;
		int rc = mp_parse_inquiry(b, n, &q);
		cr_expect_eq(rc, c->rc, "%s: rc %d", c->name, rc);
		if (c->rc < 0)
			cr_expect_eq(errno, c->err, "%s: errno %d", c->name, errno);
		cr_expect_eq(q.qualifier, c->qual, "%s: qualifier", c->name);
		cr_expect_eq(q.peripheral_type, c->type, "%s: type", c->name);
		cr_expect_eq(q.tpgs, c->tpgs, "%s: tpgs", c->name);
		cr_expect_str_eq(q.vendor, c->vendor, "%s: vendor '%s'", c->name, q.vendor);
		cr_expect_str_eq(q.product, c->product, "%s: product '%s'", c->name, q.product);
		cr_expect_str_eq(q.revision, c->revision, "%s: revision '%s'", c->name, q.revision);
		free(b);
	}
}

/* ---- VPD 0x00 and 0x80 ---- */

Test(vpd00, lists_pages)
{
	struct mp_vpd_pages p;
	cr_assert_eq(mp_parse_vpd00(tgtd_vpd00, sizeof(tgtd_vpd00), &p), 0);
	cr_expect(mp_vpd_pages_has(&p, 0x00));
	cr_expect(mp_vpd_pages_has(&p, 0x80));
	cr_expect(mp_vpd_pages_has(&p, 0x83));
	cr_expect(mp_vpd_pages_has(&p, 0xb0));
	cr_expect(mp_vpd_pages_has(&p, 0xb2));
	cr_expect(!mp_vpd_pages_has(&p, 0xb1));
	cr_expect(!mp_vpd_pages_has(&p, 0xff));
}

Test(vpd00, truncated_list_is_partial)
{
	/* Page length says 6 entries, 3 arrived: take those three (lenient). */
	uint8_t *b = dup_exact(tgtd_vpd00, 7);
	struct mp_vpd_pages p;
	cr_assert_eq(mp_parse_vpd00(b, 7, &p), 0);
	cr_expect(mp_vpd_pages_has(&p, 0x83));
	cr_expect(!mp_vpd_pages_has(&p, 0x86));
	cr_expect(!mp_vpd_pages_has(&p, 0xb0));
	free(b);
	static const uint8_t wrong[] = { 0x00, 0x80, 0x00, 0x01, 0x00 };
	errno = 0;
	cr_expect_eq(mp_parse_vpd00(wrong, sizeof(wrong), &p), -1);
	cr_expect_eq(errno, EPROTO);
	cr_expect_eq(mp_parse_vpd00(tgtd_vpd00, 3, &p), -1);
}

struct vpd80_case {
	const char *name;
	const uint8_t *buf;
	size_t size, cut, outsize;
	int rc, err;
	const char *serial;
};

static const uint8_t spaced_vpd80[] = { 0x00, 0x80, 0x00, 0x08, ' ', ' ', 'S', 'N', ' ', '1', 0x00, 0x00 };
static const uint8_t ctl_vpd80[] = { 0x00, 0x80, 0x00, 0x04, 'S', 0x07, 'N', '1' };
static const uint8_t empty_vpd80[] = { 0x00, 0x80, 0x00, 0x00 };

static const struct vpd80_case vpd80_cases[] = {
	{ "tgtd", tgtd_vpd80, sizeof(tgtd_vpd80), ALL, 256, 0, 0, "beaf11" },
	{ "lio", lio_vpd80, sizeof(lio_vpd80), ALL, 256, 0, 0, "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90" },
	{ "leading spaces, NUL pad", spaced_vpd80, sizeof(spaced_vpd80), ALL, 256, 0, 0, "SN 1" },
	{ "zero-length page", empty_vpd80, sizeof(empty_vpd80), ALL, 256, 0, 0, "" },
	{ "page length lies", lio_vpd80, sizeof(lio_vpd80), 20, 256, -1, EPROTO, "" },
	{ "header cut", lio_vpd80, sizeof(lio_vpd80), 3, 256, -1, EPROTO, "" },
	{ "control character", ctl_vpd80, sizeof(ctl_vpd80), ALL, 256, -1, EPROTO, "" },
	{ "does not fit", lio_vpd80, sizeof(lio_vpd80), ALL, 10, -1, ERANGE, "" },
	{ "wrong page", tgtd_vpd00, sizeof(tgtd_vpd00), ALL, 256, -1, EPROTO, "" },
};

Test(vpd80, table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(vpd80_cases); i++) {
		const struct vpd80_case *c = &vpd80_cases[i];
		size_t n = c->cut == ALL ? c->size : c->cut;
		uint8_t *b = dup_exact(c->buf, n);
		char out[256];
		memset(out, 'Z', sizeof(out));
		errno = 0;
		int rc = mp_parse_vpd80(b, n, out, c->outsize);
		cr_expect_eq(rc, c->rc, "%s: rc %d", c->name, rc);
		if (c->rc < 0)
			cr_expect_eq(errno, c->err, "%s: errno %d", c->name, errno);
		cr_expect_str_eq(out, c->serial, "%s: serial '%s'", c->name, out);
		free(b);
	}
}

/* ---- VPD 0x83 ---- */

struct vpd83_case {
	const char *name;
	const uint8_t *buf;
	size_t size, cut;
	int rc, err;
	const char *desig;
	int type;
	bool has_rel;
	uint16_t rel;
	bool has_tpg;
	uint16_t tpg;
};

static const uint8_t empty_vpd83[] = { 0x00, 0x83, 0x00, 0x00 };

static const struct vpd83_case vpd83_cases[] = {
	{ "tgtd: NAA beats the T10 before it", tgtd_vpd83, sizeof(tgtd_vpd83), ALL, 0, 0,
	  "naa.60000000000000000e00000000010001", MP_DESIG_NAA, false, 0, false, 0 },
	{ "lio: NAA, relative port, TPG; port name strings ignored", lio_vpd83, sizeof(lio_vpd83), ALL, 0, 0,
	  "naa.6001405a1b2c3d4e5f60718293a4b5c6", MP_DESIG_NAA, true, 1, true, 0 },
	{ "EUI-64 beats SCSI name and T10", eui_vpd83, sizeof(eui_vpd83), ALL, 0, 0,
	  "eui.0123456789abcdef", MP_DESIG_EUI64, false, 0, false, 0 },
	{ "SCSI name string beats T10, rendered as is", name_vpd83, sizeof(name_vpd83), ALL, 0, 0,
	  "eui.0123456789abcdef", MP_DESIG_NAME, false, 0, false, 0 },
	{ "16-byte NAA beats an 8-byte one before it", naa58_vpd83, sizeof(naa58_vpd83), ALL, 0, 0,
	  "naa.6001405a1b2c3d4e5f60718293a4b5c6", MP_DESIG_NAA, false, 0, false, 0 },
	{ "bad NAA length and non-printable T10 skipped", bad_vpd83, sizeof(bad_vpd83), ALL, 0, 0,
	  "t10.GOOD    ID42", MP_DESIG_T10, false, 0, false, 0 },
	{ "port designators only", noid_vpd83, sizeof(noid_vpd83), ALL, 0, 0, "", -1, true, 1, true, 0 },
	{ "zero-length page", empty_vpd83, sizeof(empty_vpd83), ALL, 0, 0, "", -1, false, 0, false, 0 },
	{ "designator length past the end", overrun_vpd83, sizeof(overrun_vpd83), ALL, -1, EPROTO,
	  "", -1, false, 0, false, 0 },
	{ "page length lies", lying_vpd83, sizeof(lying_vpd83), ALL, -1, EPROTO, "", -1, false, 0, false, 0 },
	{ "descriptor header cut", cut_hdr_vpd83, sizeof(cut_hdr_vpd83), ALL, -1, EPROTO,
	  "", -1, false, 0, false, 0 },
	{ "lio truncated in transit", lio_vpd83, sizeof(lio_vpd83), 30, -1, EPROTO, "", -1, false, 0, false, 0 },
	{ "shorter than the header", lio_vpd83, sizeof(lio_vpd83), 3, -1, EPROTO, "", -1, false, 0, false, 0 },
	{ "nothing", lio_vpd83, sizeof(lio_vpd83), 0, -1, EPROTO, "", -1, false, 0, false, 0 },
	{ "another page", lio_vpd80, sizeof(lio_vpd80), ALL, -1, EPROTO, "", -1, false, 0, false, 0 },
};

static void check_vpd83(const struct vpd83_case *c, const uint8_t *b, size_t n)
{
	struct mp_vpd83 v;
	errno = 0;
	int rc = mp_parse_vpd83(b, n, &v);
	cr_expect_eq(rc, c->rc, "%s: rc %d", c->name, rc);
	if (c->rc < 0)
		cr_expect_eq(errno, c->err, "%s: errno %d", c->name, errno);
	cr_expect_str_eq(v.designator, c->desig, "%s: designator '%s'", c->name, v.designator);
	cr_expect_eq(v.desig_type, c->type, "%s: type %d", c->name, v.desig_type);
	cr_expect_eq(v.has_rel_port, c->has_rel, "%s: has_rel_port", c->name);
	cr_expect_eq(v.rel_port, c->rel, "%s: rel_port %u", c->name, v.rel_port);
	cr_expect_eq(v.has_tpg, c->has_tpg, "%s: has_tpg", c->name);
	cr_expect_eq(v.tpg, c->tpg, "%s: tpg %u", c->name, v.tpg);
}

Test(vpd83, table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(vpd83_cases); i++) {
		const struct vpd83_case *c = &vpd83_cases[i];
		size_t n = c->cut == ALL ? c->size : c->cut;
		uint8_t *b = dup_exact(c->buf, n);
		check_vpd83(c, b, n);
		free(b);
	}
}

Test(vpd83, oversize_buffer_ignores_bytes_after_the_page)
{
	/* More bytes than the page claims (a reused buffer, a sloppy target): only the page counts. */
	size_t n = sizeof(lio_vpd83) + 64;
	uint8_t *b = malloc(n);
	cr_assert_not_null(b);
	memcpy(b, lio_vpd83, sizeof(lio_vpd83));
	memset(b + sizeof(lio_vpd83), 0xff, 64);
	check_vpd83(&vpd83_cases[1], b, n);
	free(b);
}

Test(vpd83, huge_page_length_is_rejected)
{
	uint8_t *b = dup_exact(lio_vpd83, sizeof(lio_vpd83));
	b[2] = 0xff;
	b[3] = 0xff;
	struct mp_vpd83 v;
	cr_expect_eq(mp_parse_vpd83(b, sizeof(lio_vpd83), &v), -1);
	cr_expect_eq(mp_vpd_page_size(b, sizeof(lio_vpd83)), 0x10003u);
	free(b);
}

Test(vpd83, longest_text_designators_fit)
{
	/* 255-byte T10 and SCSI name designators: the rendered text must fit and stay terminated. */
	uint8_t b[4 + 4 + 255];
	memset(b, 0, sizeof(b));
	b[1] = 0x83;
	mp_put_be16(b + 2, 4 + 255);
	b[4] = 0x02;
	b[5] = 0x01;
	b[7] = 255;
	memset(b + 8, 'A', 255);
	struct mp_vpd83 v;
	cr_assert_eq(mp_parse_vpd83(b, sizeof(b), &v), 0);
	cr_expect_eq(strlen(v.designator), 4 + 255);
	cr_expect_eq(strncmp(v.designator, "t10.AAAA", 8), 0);
	b[4] = 0x03;
	b[5] = 0x08;
	cr_assert_eq(mp_parse_vpd83(b, sizeof(b), &v), 0);
	cr_expect_eq(strlen(v.designator), 255);
	cr_expect_eq(v.desig_type, MP_DESIG_NAME);
}

/* ---- VPD 0xB0, 0xB2 ---- */

struct b0_case {
	const char *name;
	const uint8_t *buf;
	size_t size, cut;
	int rc;
	uint32_t max_xfer, opt_xfer, opt_gran, max_unmap, max_descs;
	uint64_t max_ws;
};

static const uint8_t nolimit_vpdb0[] = {
	0x00, 0xb0, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t empty_vpdb0[] = { 0x00, 0xb0, 0x00, 0x00 };

static const struct b0_case b0_cases[] = {
	{ "lio 0x3C page", lio_vpdb0, sizeof(lio_vpdb0), ALL, 0, 0x400, 0x400, 8, 0x400000, 1, 0x1000 },
	{ "older 0x10 page", old_vpdb0, sizeof(old_vpdb0), ALL, 0, 0x2000, 0x80, 1, 0, 0, 0 },
	{ "lio cut after max unmap LBA count", lio_vpdb0, sizeof(lio_vpdb0), 24, 0, 0x400, 0x400, 8,
	  0x400000, 0, 0 },
	{ "lio cut in the middle of max transfer", lio_vpdb0, sizeof(lio_vpdb0), 10, 0, 0, 0, 8, 0, 0, 0 },
	{ "lio cut in max write same", lio_vpdb0, sizeof(lio_vpdb0), 43, 0, 0x400, 0x400, 8, 0x400000, 1, 0 },
	{ "FFFFFFFFh means no limit", nolimit_vpdb0, sizeof(nolimit_vpdb0), ALL, 0, 0, 0, 0, 0, 0, 0 },
	{ "zero-length page", empty_vpdb0, sizeof(empty_vpdb0), ALL, 0, 0, 0, 0, 0, 0, 0 },
	{ "header cut", lio_vpdb0, sizeof(lio_vpdb0), 2, -1, 0, 0, 0, 0, 0, 0 },
	{ "another page", lio_vpdb2, sizeof(lio_vpdb2), ALL, -1, 0, 0, 0, 0, 0, 0 },
};

Test(vpdb0, table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(b0_cases); i++) {
		const struct b0_case *c = &b0_cases[i];
		size_t n = c->cut == ALL ? c->size : c->cut;
		uint8_t *b = dup_exact(c->buf, n);
		struct mp_vpd_b0 v;
		int rc = mp_parse_vpd_b0(b, n, &v);
		cr_expect_eq(rc, c->rc, "%s: rc %d", c->name, rc);
		cr_expect_eq(v.max_xfer, c->max_xfer, "%s: max_xfer %u", c->name, v.max_xfer);
		cr_expect_eq(v.opt_xfer, c->opt_xfer, "%s: opt_xfer %u", c->name, v.opt_xfer);
		cr_expect_eq(v.opt_gran, c->opt_gran, "%s: opt_gran %u", c->name, v.opt_gran);
		cr_expect_eq(v.max_unmap_lbas, c->max_unmap, "%s: max_unmap %u", c->name, v.max_unmap_lbas);
		cr_expect_eq(v.max_unmap_descs, c->max_descs, "%s: max_descs %u", c->name, v.max_unmap_descs);
		cr_expect_eq(v.max_write_same, c->max_ws, "%s: max_ws", c->name);
		free(b);
	}
}

Test(vpdb0, page_length_shorter_than_received)
{
	/* An old 0x10 page answered into a zero-filled 255-byte buffer with residual 0: bytes past
	 * the page are not limits, even if they are nonzero. */
	uint8_t b[255];
	memset(b, 0x5a, sizeof(b));
	memcpy(b, old_vpdb0, sizeof(old_vpdb0));
	struct mp_vpd_b0 v;
	cr_assert_eq(mp_parse_vpd_b0(b, sizeof(b), &v), 0);
	cr_expect_eq(v.max_xfer, 0x2000);
	cr_expect_eq(v.max_unmap_lbas, 0);
	cr_expect_eq(v.max_write_same, 0);
}

Test(vpdb2, flags)
{
	struct mp_vpd_b2 v;
	cr_assert_eq(mp_parse_vpd_b2(lio_vpdb2, sizeof(lio_vpdb2), &v), 0);
	cr_expect(v.lbpu);
	cr_expect(v.lbpws);
	cr_expect(!v.lbpws10);
	cr_expect(v.lbprz);
	cr_expect(!v.anc_sup);
	cr_expect_eq(v.prov_type, 2);

	static const uint8_t anc[] = { 0x00, 0xb2, 0x00, 0x04, 0x00, 0x22, 0x00, 0x00 };
	cr_assert_eq(mp_parse_vpd_b2(anc, sizeof(anc), &v), 0);
	cr_expect(!v.lbpu);
	cr_expect(v.lbpws10);
	cr_expect(v.anc_sup);

	/* Page length 1: byte 5 is not part of the page, so no flag is read from it. */
	static const uint8_t shortpage[] = { 0x00, 0xb2, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff };
	cr_assert_eq(mp_parse_vpd_b2(shortpage, sizeof(shortpage), &v), 0);
	cr_expect(!v.lbpu && !v.lbpws && !v.lbprz && !v.anc_sup);
	/* Truncated in transit: same. */
	uint8_t *b = dup_exact(lio_vpdb2, 5);
	cr_assert_eq(mp_parse_vpd_b2(b, 5, &v), 0);
	cr_expect(!v.lbpu);
	free(b);
	cr_expect_eq(mp_parse_vpd_b2(lio_vpdb0, sizeof(lio_vpdb0), &v), -1);
}

/* ---- READ CAPACITY(16), MODE SENSE(10) ---- */

Test(read_cap16, lio)
{
	struct mp_read_cap16 r;
	cr_assert_eq(mp_parse_read_cap16(lio_rc16, sizeof(lio_rc16), &r), 0);
	cr_expect_eq(r.block_size, 512);
	cr_expect_eq(r.num_blocks, 0x200000);
	cr_expect_eq(r.phys_exp, 3);
	cr_expect(r.lbpme);
	cr_expect(r.lbprz);
}

Test(read_cap16, short_and_bad)
{
	struct mp_read_cap16 r;
	uint8_t *b = dup_exact(lio_rc16, 12);
	cr_expect_eq(mp_parse_read_cap16(b, 12, &r), 0, "12 bytes hold LBA and block length");
	cr_expect_eq(r.num_blocks, 0x200000);
	cr_expect(!r.lbpme, "byte 14 was not received");
	free(b);
	b = dup_exact(lio_rc16, 11);
	errno = 0;
	cr_expect_eq(mp_parse_read_cap16(b, 11, &r), -1);
	cr_expect_eq(errno, EPROTO);
	free(b);

	uint8_t z[32];
	memcpy(z, lio_rc16, sizeof(z));
	memset(z + 8, 0, 4);
	cr_expect_eq(mp_parse_read_cap16(z, sizeof(z), &r), -1, "block length 0");
	memcpy(z, lio_rc16, sizeof(z));
	memset(z, 0xff, 8);
	cr_expect_eq(mp_parse_read_cap16(z, sizeof(z), &r), -1, "last LBA 2^64-1");
}

Test(mode_sense10, wp)
{
	static const uint8_t ro[] = { 0x00, 0x06, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t rw[] = { 0x00, 0x06, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00 };
	bool wp = false;
	cr_expect_eq(mp_parse_mode_sense10_wp(ro, sizeof(ro), &wp), 0);
	cr_expect(wp);
	cr_expect_eq(mp_parse_mode_sense10_wp(rw, sizeof(rw), &wp), 0);
	cr_expect(!wp);
	cr_expect_eq(mp_parse_mode_sense10_wp(ro, 7, &wp), -1);
}

/* ---- robustness: every prefix of every response, and random bytes ---- */

static void parse_all(const uint8_t *b, size_t n)
{
	struct mp_inquiry q;
	struct mp_vpd_pages p;
	struct mp_vpd83 v;
	struct mp_vpd_b0 b0;
	struct mp_vpd_b2 b2;
	struct mp_read_cap16 r;
	char serial[256];
	bool wp;
	(void)mp_parse_inquiry(b, n, &q);
	cr_assert_lt(strlen(q.vendor), sizeof(q.vendor));
	cr_assert_lt(strlen(q.product), sizeof(q.product));
	cr_assert_lt(strlen(q.revision), sizeof(q.revision));
	(void)mp_parse_vpd00(b, n, &p);
	(void)mp_parse_vpd80(b, n, serial, sizeof(serial));
	cr_assert_lt(strlen(serial), sizeof(serial));
	(void)mp_parse_vpd83(b, n, &v);
	cr_assert_lt(strlen(v.designator), sizeof(v.designator));
	(void)mp_parse_vpd_b0(b, n, &b0);
	(void)mp_parse_vpd_b2(b, n, &b2);
	(void)mp_parse_read_cap16(b, n, &r);
	(void)mp_parse_mode_sense10_wp(b, n, &wp);
	(void)mp_vpd_page_size(b, n);
}

struct sample {
	const uint8_t *buf;
	size_t size;
};
#define SAMPLE(a) { a, sizeof(a) }
static const struct sample samples[] = {
	SAMPLE(tgtd_inquiry), SAMPLE(lio_inquiry), SAMPLE(tgtd_vpd00), SAMPLE(tgtd_vpd80),
	SAMPLE(tgtd_vpd83), SAMPLE(lio_vpd83), SAMPLE(lio_vpd00), SAMPLE(lio_vpd80), SAMPLE(lio_vpdb0),
	SAMPLE(old_vpdb0), SAMPLE(lio_vpdb2), SAMPLE(lio_rc16), SAMPLE(eui_vpd83), SAMPLE(name_vpd83),
	SAMPLE(naa58_vpd83), SAMPLE(bad_vpd83), SAMPLE(noid_vpd83), SAMPLE(overrun_vpd83),
	SAMPLE(lying_vpd83), SAMPLE(cut_hdr_vpd83),
};

Test(robustness, every_prefix)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(samples); i++) {
		for (size_t n = 0; n <= samples[i].size; n++) {
			uint8_t *b = dup_exact(samples[i].buf, n);
			parse_all(b, n);
			/* The strict identity pages never accept a page cut short. */
			if (n < samples[i].size && n >= 2 && b[1] == 0x83) {
				struct mp_vpd83 v;
				cr_expect_eq(mp_parse_vpd83(b, n, &v), -1, "sample %zu cut at %zu", i, n);
			}
			free(b);
		}
	}
}

Test(robustness, random_bytes)
{
	static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb2 };
	uint32_t s = 12345;
	for (int iter = 0; iter < 20000; iter++) {
		s = s * 1103515245u + 12345u;
		size_t n = (s >> 16) % 300;
		uint8_t *b = malloc(n ? n : 1);
		cr_assert_not_null(b);
		for (size_t k = 0; k < n; k++) {
			s = s * 1103515245u + 12345u;
			b[k] = (uint8_t)(s >> 16);
		}
		/* Mostly plausible headers, so the parsers get past them. */
		if (n >= 4 && iter % 4) {
			b[1] = pages[iter % MP_ARRAY_SIZE(pages)];
			b[2] = 0;
			if (iter % 3)
				b[3] = (uint8_t)MP_MIN(n - 4 + (size_t)(iter % 7), 255u);
		}
		parse_all(b, n);
		free(b);
	}
}

Test(robustness, null_arguments)
{
	struct mp_vpd83 v;
	struct mp_inquiry q;
	errno = 0;
	cr_expect_eq(mp_parse_vpd83(NULL, 10, &v), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(mp_parse_vpd83(lio_vpd83, sizeof(lio_vpd83), NULL), -1);
	cr_expect_eq(mp_parse_inquiry(NULL, 36, &q), -1);
	cr_expect_eq(mp_vpd_page_size(NULL, 4), 0);
}

/* ---- CDB builders ---- */

struct cdb_case {
	const char *name;
	uint8_t len;
	uint8_t expect[16];
};

Test(cdb, layouts)
{
	uint8_t cdb[16];
	struct cdb_case got[12];
	size_t k = 0;
#define CASE(nm, call, ...) do { \
		memset(cdb, 0xee, sizeof(cdb)); \
		got[k].name = nm; \
		got[k].len = call; \
		static const uint8_t exp_[16] = { __VA_ARGS__ }; \
		memcpy(got[k].expect, exp_, 16); \
		cr_expect_eq(memcmp(cdb, exp_, 16), 0, "%s: bytes differ", nm); \
		k++; \
	} while (0)
	CASE("INQUIRY", mp_cdb_inquiry(cdb, 255), 0x12, 0, 0, 0x00, 0xff, 0);
	CASE("INQUIRY VPD 0x83", mp_cdb_inquiry_vpd(cdb, 0x83, 4096), 0x12, 1, 0x83, 0x10, 0x00, 0);
	CASE("READ CAPACITY(16)", mp_cdb_read_capacity16(cdb, 32), 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
	     0, 0, 0, 32, 0, 0);
	CASE("TEST UNIT READY", mp_cdb_test_unit_ready(cdb), 0);
	CASE("READ(16)", mp_cdb_read16(cdb, 0x0102030405060708ull, 0x11223344, 0), 0x88, 0,
	     1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x22, 0x33, 0x44, 0, 0);
	CASE("WRITE(16) FUA", mp_cdb_write16(cdb, 0x10, 8, MP_CDB_FUA), 0x8a, 0x08,
	     0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 8, 0, 0);
	CASE("WRITE(16)", mp_cdb_write16(cdb, 0x10, 8, 0), 0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 8);
	CASE("SYNCHRONIZE CACHE(16)", mp_cdb_sync_cache16(cdb, 0, 0, 0), 0x91, 0);
	CASE("WRITE SAME(16) UNMAP", mp_cdb_write_same16(cdb, 0x2000, 0x800, MP_CDB_WS_UNMAP), 0x93, 0x08,
	     0, 0, 0, 0, 0, 0, 0x20, 0x00, 0, 0, 0x08, 0x00, 0, 0);
	CASE("UNMAP", mp_cdb_unmap(cdb, 40), 0x42, 0, 0, 0, 0, 0, 0, 0, 40, 0);
	CASE("MODE SENSE(10)", mp_cdb_mode_sense10(cdb, 0x3f, 0, 192), 0x5a, 0x08, 0x3f, 0, 0, 0, 0,
	     0, 192, 0);
#undef CASE
	static const uint8_t lens[] = { 6, 6, 16, 6, 16, 16, 16, 16, 16, 10, 10 };
	cr_assert_eq(k, MP_ARRAY_SIZE(lens));
	for (size_t i = 0; i < k; i++)
		cr_expect_eq(got[i].len, lens[i], "%s: length %u", got[i].name, got[i].len);
}

Test(cdb, unmap_parameter_list)
{
	const struct mp_unmap_desc d[2] = { { 0x1000, 0x80 }, { 0xffffffff00ull, 0xffffffffu } };
	uint8_t buf[40];
	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(mp_unmap_param_build(buf, sizeof(buf), d, 2), 40);
	static const uint8_t expect[40] = {
		0x00, 38, 0x00, 32, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 0x80, 0, 0, 0, 0,
		0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
	};
	cr_expect_eq(memcmp(buf, expect, sizeof(expect)), 0);
	errno = 0;
	cr_expect_eq(mp_unmap_param_build(buf, 39, d, 2), -1);
	cr_expect_eq(errno, ENOSPC);
	cr_expect_eq(mp_unmap_param_build(buf, sizeof(buf), d, 0), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(mp_unmap_param_build(buf, sizeof(buf), d, MP_UNMAP_MAX_DESCS + 1), -1);
	cr_expect_eq(MP_UNMAP_HDR_LEN + MP_UNMAP_MAX_DESCS * MP_UNMAP_DESC_LEN <= 0xffff, 1);
}
