/* Length-checked parsers for INQUIRY, VPD pages 0x00/0x80/0x83/0xB0/0xB2, READ CAPACITY(16), MODE SENSE(10). */
#ifndef MP_INITIATOR_SCSI_PARSE_H
#define MP_INITIATOR_SCSI_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Common contract. buf/len are the bytes actually received (the caller passes
 * cmd.len - residual, never the allocation length). No parser reads outside
 * buf[0..len). Every parser returns 0 on success, or -1 with errno:
 *   EINVAL  a NULL argument;
 *   EPROTO  the data is too short for the mandatory part, names another page,
 *           or is inconsistent in a way the parser does not tolerate.
 * On failure the output is left zeroed/empty, never half-filled with garbage.
 *
 * "Available" bytes of a VPD page are min(len, 4 + PAGE LENGTH). Where a page
 * length lies (claims more than was received) or is short (an older, shorter
 * page), two policies apply, stated per parser:
 *   lenient  - fields lying wholly within the available bytes are taken, the
 *              others read as absent (0 / false);
 *   strict   - the parse fails with EPROTO. Used for identity pages (0x80,
 *              0x83): a half-read identity could differ between two paths to
 *              the same LU, or match between two different LUs.
 */

/* Standard INQUIRY data (SPC-4 6.6.2). */
struct mp_inquiry {
	uint8_t qualifier;        /* PERIPHERAL QUALIFIER: 0 connected, 1 not connected, 3 no LU */
	uint8_t peripheral_type;  /* 0 direct access block device */
	uint8_t version;
	bool removable;
	uint8_t tpgs;             /* 0 none, 1 implicit, 2 explicit, 3 both */
	bool protect;
	char vendor[9], product[17], revision[5];  /* trailing spaces trimmed */
};
/*
 * Bytes 0..5 are required (EPROTO if fewer). Lenient for the rest: vendor,
 * product and revision are taken as far as received and as far as ADDITIONAL
 * LENGTH says they exist; a missing field is "". Non-printable bytes become '?'.
 */
int mp_parse_inquiry(const uint8_t *buf, size_t len, struct mp_inquiry *out);

/* Full size of a VPD page as its header claims (4 + PAGE LENGTH), or 0 if len < 4. */
size_t mp_vpd_page_size(const uint8_t *buf, size_t len);

/* VPD 0x00: the set of supported pages, as a bitmap. */
struct mp_vpd_pages {
	uint8_t bits[32];
};
static inline bool mp_vpd_pages_has(const struct mp_vpd_pages *p, uint8_t page)
{
	return (p->bits[page >> 3] >> (page & 7)) & 1;
}
/* Lenient: page codes beyond the received bytes are simply not listed. Header (4 bytes) required. */
int mp_parse_vpd00(const uint8_t *buf, size_t len, struct mp_vpd_pages *out);

/*
 * VPD 0x80 unit serial number. Strict. Leading and trailing spaces (and
 * trailing NULs) are trimmed. EPROTO if the serial contains a byte that is
 * not printable ASCII, ERANGE if it does not fit out[size].
 */
int mp_parse_vpd80(const uint8_t *buf, size_t len, char *out, size_t size);

/* Designator types (SPC-4 table 459). */
enum mp_desig_type {
	MP_DESIG_VENDOR  = 0,
	MP_DESIG_T10     = 1,
	MP_DESIG_EUI64   = 2,
	MP_DESIG_NAA     = 3,
	MP_DESIG_REL_PORT = 4,
	MP_DESIG_TPG     = 5,
	MP_DESIG_LU_GROUP = 6,
	MP_DESIG_MD5     = 7,
	MP_DESIG_NAME    = 8,
};

#define MP_DESIG_TEXT_MAX 260   /* "t10." + 255 bytes + NUL; matches mp_lu_info.designator */

/* What VPD 0x83 says about the LU and the target port answering. */
struct mp_vpd83 {
	/* The chosen LU designator (association 0), rendered; "" when there is none usable. */
	char designator[MP_DESIG_TEXT_MAX];
	int desig_type;               /* enum mp_desig_type of the chosen one; -1 when none */
	bool has_rel_port;
	uint16_t rel_port;            /* RELATIVE TARGET PORT IDENTIFIER (type 4, association 1) */
	bool has_tpg;
	uint16_t tpg;                 /* TARGET PORT GROUP (type 5, association 1) */
};
/*
 * VPD 0x83 device identification. Strict: a page length past the received
 * bytes, or a designation descriptor whose length runs past the page, fails
 * with EPROTO. LU designator preference: NAA > EUI-64 > SCSI name string >
 * T10 vendor id; among designators of one type the longer wins, then the
 * first. Rendering: "naa.<lowercase hex>", "eui.<lowercase hex>", the SCSI name
 * string up to its NUL, "t10.<text>" with trailing spaces trimmed. Unusable
 * designators are skipped, not fatal: an NAA of a length other than 8/16, an
 * EUI-64 other than 8/12/16 bytes, a text designator with a non-printable byte
 * or empty, a binary one not in code set 1 / a text one not in code set 2 or 3.
 * No LU designator at all is not an error: designator is "" and desig_type -1.
 */
int mp_parse_vpd83(const uint8_t *buf, size_t len, struct mp_vpd83 *out);

/* VPD 0xB0 block limits (SBC-3 6.5.3). 0 means absent or "no limit reported". */
struct mp_vpd_b0 {
	bool wsnz;                    /* WRITE SAME with 0 blocks not supported */
	uint8_t max_cmp_write;        /* MAXIMUM COMPARE AND WRITE LENGTH */
	uint16_t opt_gran;            /* OPTIMAL TRANSFER LENGTH GRANULARITY */
	uint32_t max_xfer;            /* MAXIMUM TRANSFER LENGTH */
	uint32_t opt_xfer;            /* OPTIMAL TRANSFER LENGTH */
	uint32_t max_prefetch;
	uint32_t max_unmap_lbas;      /* MAXIMUM UNMAP LBA COUNT; FFFFFFFFh (no limit) reads as 0 */
	uint32_t max_unmap_descs;     /* MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT; FFFFFFFFh reads as 0 */
	uint32_t opt_unmap_gran;
	bool ugavalid;
	uint32_t unmap_gran_align;
	uint64_t max_write_same;      /* MAXIMUM WRITE SAME LENGTH (absent from short pages) */
};
/* Lenient; header required. A field is taken only if all its bytes are available. */
int mp_parse_vpd_b0(const uint8_t *buf, size_t len, struct mp_vpd_b0 *out);

/* VPD 0xB2 logical block provisioning (SBC-3 6.5.4). */
struct mp_vpd_b2 {
	uint8_t threshold_exp;
	bool lbpu, lbpws, lbpws10, lbprz, anc_sup, dp;
	uint8_t prov_type;            /* 0 full, 1 resource, 2 thin */
};
/* Lenient; header required; a page without byte 5 leaves every flag false. */
int mp_parse_vpd_b2(const uint8_t *buf, size_t len, struct mp_vpd_b2 *out);

/* READ CAPACITY(16) parameter data (SBC-3 5.16.2). */
struct mp_read_cap16 {
	uint64_t last_lba;
	uint64_t num_blocks;          /* last_lba + 1 */
	uint32_t block_size;
	uint8_t prot_en, p_type;
	uint8_t phys_exp;             /* LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT */
	bool lbpme, lbprz;
	uint16_t lowest_aligned;
};
/*
 * Bytes 0..11 required; the rest lenient. EPROTO also for a block length of
 * 0 or a last LBA of 2^64-1 (num_blocks would overflow).
 */
int mp_parse_read_cap16(const uint8_t *buf, size_t len, struct mp_read_cap16 *out);

/* MODE SENSE(10) header: WP bit (bit 7 of DEVICE-SPECIFIC PARAMETER). Needs 8 bytes. */
int mp_parse_mode_sense10_wp(const uint8_t *buf, size_t len, bool *wp);
/* The same, also reading DPOFUA (the LU honours the FUA bit of WRITE). 0, or -1 with errno. */
int mp_parse_mode_sense10(const uint8_t *buf, size_t len, bool *wp, bool *dpofua);

#endif
