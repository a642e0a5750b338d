/* Length-checked parsers for the SCSI data the initiator reads at attach (SPC-4, SBC-3 layouts). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "initiator/scsi_parse.h"

static int fail(int e)
{
	errno = e;
	return -1;
}

static bool printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * Copy a fixed-width, space-padded ASCII field of n bytes (possibly fewer
 * available) into out[size], trimming trailing spaces and NULs and turning
 * other non-printable bytes into '?'.
 */
static void copy_ascii_field(char *out, size_t size, const uint8_t *src, size_t n)
{
	size_t k = MP_MIN(n, size - 1);
	for (size_t i = 0; i < k; i++)
		out[i] = printable(src[i]) ? (char)src[i] : '?';
	while (k > 0 && (out[k - 1] == ' ' || src[k - 1] == 0))
		k--;
	out[k] = '\0';
}

int mp_parse_inquiry(const uint8_t *buf, size_t len, struct mp_inquiry *out)
{
	if (!out)
		return fail(EINVAL);
	memset(out, 0, sizeof(*out));
	if (!buf)
		return fail(EINVAL);
	if (len < 6)
		return fail(EPROTO);
	out->qualifier = buf[0] >> 5;
	out->peripheral_type = buf[0] & 0x1f;
	out->removable = buf[1] & 0x80;
	out->version = buf[2];
	out->tpgs = (buf[5] >> 4) & 0x3;
	out->protect = buf[5] & 0x01;
	/* ADDITIONAL LENGTH counts from byte 5; a target may return fewer bytes than it claims. */
	size_t avail = MP_MIN(len, (size_t)buf[4] + 5);
	struct { char *dst; size_t size, off, n; } f[] = {
		{ out->vendor, sizeof(out->vendor), 8, 8 },
		{ out->product, sizeof(out->product), 16, 16 },
		{ out->revision, sizeof(out->revision), 32, 4 },
	};
	for (size_t i = 0; i < MP_ARRAY_SIZE(f); i++) {
		if (avail > f[i].off)
			copy_ascii_field(f[i].dst, f[i].size, buf + f[i].off, MP_MIN(f[i].n, avail - f[i].off));
	}
	return 0;
}

size_t mp_vpd_page_size(const uint8_t *buf, size_t len)
{
	if (!buf || len < 4)
		return 0;
	return 4 + (size_t)mp_be16(buf + 2);
}

/*
 * Check a VPD header and return the page body: body points at byte 4, *body_len
 * is the available body length (lenient: clipped to what was received), and
 * *complete says whether the whole claimed page was received.
 */
static int vpd_body(const uint8_t *buf, size_t len, uint8_t page, const uint8_t **body,
		    size_t *body_len, bool *complete)
{
	if (!buf)
		return fail(EINVAL);
	if (len < 4 || buf[1] != page)
		return fail(EPROTO);
	size_t claimed = mp_be16(buf + 2);
	*body = buf + 4;
	*body_len = MP_MIN(claimed, len - 4);
	*complete = claimed <= len - 4;
	return 0;
}

int mp_parse_vpd00(const uint8_t *buf, size_t len, struct mp_vpd_pages *out)
{
	const uint8_t *b;
	size_t n;
	bool complete;
	if (!out)
		return fail(EINVAL);
	memset(out, 0, sizeof(*out));
	if (vpd_body(buf, len, 0x00, &b, &n, &complete) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		out->bits[b[i] >> 3] |= (uint8_t)(1u << (b[i] & 7));
	out->bits[0] |= 1;  /* page 0x00 itself, which answered */
	return 0;
}

int mp_parse_vpd80(const uint8_t *buf, size_t len, char *out, size_t size)
{
	const uint8_t *b;
	size_t n;
	bool complete;
	if (!out || size == 0)
		return fail(EINVAL);
	out[0] = '\0';
	if (vpd_body(buf, len, 0x80, &b, &n, &complete) < 0)
		return -1;
	if (!complete)
		return fail(EPROTO);
	/* Some targets NUL-pad or right-justify with spaces: trim both ends. */
	while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == 0))
		n--;
	while (n > 0 && b[0] == ' ') {
		b++;
		n--;
	}
	for (size_t i = 0; i < n; i++) {
		if (!printable(b[i]))
			return fail(EPROTO);
	}
	if (n >= size)
		return fail(ERANGE);
	memcpy(out, b, n);
	out[n] = '\0';
	return 0;
}

/* Code sets (SPC-4 table 456). */
#define CODESET_BINARY 1
#define CODESET_ASCII  2
#define CODESET_UTF8   3

/* Associations (SPC-4 table 458). */
#define ASSOC_LU   0
#define ASSOC_PORT 1

/* Rank of an LU designator: higher wins; 0 = not usable as LU identity. */
static int desig_rank(int type)
{
	switch (type) {
	case MP_DESIG_NAA: return 4;
	case MP_DESIG_EUI64: return 3;
	case MP_DESIG_NAME: return 2;
	case MP_DESIG_T10: return 1;
	default: return 0;
	}
}

static void render_hex(char *out, size_t size, const char *prefix, const uint8_t *d, size_t n)
{
	/* size is MP_DESIG_TEXT_MAX and n <= 16 here, so this always fits. */
	size_t o = (size_t)snprintf(out, size, "%s", prefix);
	for (size_t i = 0; i < n && o + 2 < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%02x", d[i]);
}

/*
 * Render one LU designator into out[MP_DESIG_TEXT_MAX]; returns false if it
 * is not usable (wrong length, code set or content), leaving out untouched.
 */
static bool render_designator(int type, int codeset, const uint8_t *d, size_t n, char *out)
{
	char tmp[MP_DESIG_TEXT_MAX];
	switch (type) {
	case MP_DESIG_NAA: {
		if (codeset != CODESET_BINARY || n == 0)
			return false;
		/* NAA 2, 3, 5 are 8 bytes, NAA 6 is 16 (SPC-4 7.8.6.6). */
		uint8_t naa = d[0] >> 4;
		if (!((n == 8 && (naa == 2 || naa == 3 || naa == 5)) || (n == 16 && naa == 6)))
			return false;
		render_hex(tmp, sizeof(tmp), "naa.", d, n);
		break;
	}
	case MP_DESIG_EUI64:
		if (codeset != CODESET_BINARY || (n != 8 && n != 12 && n != 16))
			return false;
		render_hex(tmp, sizeof(tmp), "eui.", d, n);
		break;
	case MP_DESIG_NAME: {
		if (codeset != CODESET_UTF8)
			return false;
		/* Null-terminated, null-padded to a multiple of 4; take up to the first NUL. */
		size_t k = 0;
		while (k < n && d[k] != 0) {
			if (!printable(d[k]) || d[k] == ' ')
				return false;
			k++;
		}
		if (k == 0 || k >= sizeof(tmp))
			return false;
		memcpy(tmp, d, k);
		tmp[k] = '\0';
		break;
	}
	case MP_DESIG_T10: {
		if (codeset != CODESET_ASCII && codeset != CODESET_UTF8)
			return false;
		size_t k = n;
		while (k > 0 && (d[k - 1] == ' ' || d[k - 1] == 0))
			k--;
		if (k == 0 || k + 5 > sizeof(tmp))
			return false;
		for (size_t i = 0; i < k; i++) {
			if (!printable(d[i]))
				return false;
		}
		memcpy(tmp, "t10.", 4);
		memcpy(tmp + 4, d, k);
		tmp[4 + k] = '\0';
		break;
	}
	default:
		return false;
	}
	memcpy(out, tmp, sizeof(tmp));
	return true;
}

int mp_parse_vpd83(const uint8_t *buf, size_t len, struct mp_vpd83 *out)
{
	const uint8_t *b;
	size_t n;
	bool complete;
	if (!out)
		return fail(EINVAL);
	memset(out, 0, sizeof(*out));
	out->desig_type = -1;
	if (vpd_body(buf, len, 0x83, &b, &n, &complete) < 0)
		return -1;
	if (!complete)
		return fail(EPROTO);

	struct mp_vpd83 r;
	memset(&r, 0, sizeof(r));
	r.desig_type = -1;
	int best_rank = 0;
	size_t best_len = 0;
	size_t off = 0;
	while (off < n) {
		/* Each descriptor: 4-byte header, then DESIGNATOR LENGTH bytes. */
		if (n - off < 4)
			return fail(EPROTO);
		const uint8_t *h = b + off;
		size_t dlen = h[3];
		if (n - off - 4 < dlen)
			return fail(EPROTO);
		const uint8_t *d = h + 4;
		int codeset = h[0] & 0x0f;
		int assoc = (h[1] >> 4) & 0x3;
		int type = h[1] & 0x0f;
		off += 4 + dlen;

		if (assoc == ASSOC_PORT && (type == MP_DESIG_REL_PORT || type == MP_DESIG_TPG)) {
			/* 4 bytes: two reserved, then the 16-bit identifier (SPC-4 7.8.6.7, 7.8.6.8). */
			if (dlen != 4 || codeset != CODESET_BINARY)
				continue;
			if (type == MP_DESIG_REL_PORT && !r.has_rel_port) {
				r.has_rel_port = true;
				r.rel_port = mp_be16(d + 2);
			} else if (type == MP_DESIG_TPG && !r.has_tpg) {
				r.has_tpg = true;
				r.tpg = mp_be16(d + 2);
			}
			continue;
		}
		if (assoc != ASSOC_LU)
			continue;
		int rank = desig_rank(type);
		if (rank == 0 || rank < best_rank || (rank == best_rank && dlen <= best_len))
			continue;
		if (render_designator(type, codeset, d, dlen, r.designator)) {
			best_rank = rank;
			best_len = dlen;
			r.desig_type = type;
		}
	}
	*out = r;
	return 0;
}

/* Read a field of width w at page offset off (from byte 0) if all its bytes are available. */
static bool have(size_t avail_total, size_t off, size_t w)
{
	return avail_total >= off + w;
}

int mp_parse_vpd_b0(const uint8_t *buf, size_t len, struct mp_vpd_b0 *out)
{
	const uint8_t *b;
	size_t n;
	bool complete;
	if (!out)
		return fail(EINVAL);
	memset(out, 0, sizeof(*out));
	if (vpd_body(buf, len, 0xb0, &b, &n, &complete) < 0)
		return -1;
	size_t a = 4 + n;  /* available bytes counted from byte 0 of the page */
	if (have(a, 4, 1))
		out->wsnz = buf[4] & 0x01;
	if (have(a, 5, 1))
		out->max_cmp_write = buf[5];
	if (have(a, 6, 2))
		out->opt_gran = mp_be16(buf + 6);
	if (have(a, 8, 4))
		out->max_xfer = mp_be32(buf + 8);
	if (have(a, 12, 4))
		out->opt_xfer = mp_be32(buf + 12);
	if (have(a, 16, 4))
		out->max_prefetch = mp_be32(buf + 16);
	if (have(a, 20, 4))
		out->max_unmap_lbas = mp_be32(buf + 20);
	if (have(a, 24, 4))
		out->max_unmap_descs = mp_be32(buf + 24);
	if (have(a, 28, 4))
		out->opt_unmap_gran = mp_be32(buf + 28);
	if (have(a, 32, 4)) {
		out->ugavalid = buf[32] & 0x80;
		out->unmap_gran_align = mp_be32(buf + 32) & 0x7fffffffu;
	}
	if (have(a, 36, 8))
		out->max_write_same = mp_be64(buf + 36);
	/* FFFFFFFFh means "no limit" (SBC-3); our convention for that is 0. */
	if (out->max_unmap_lbas == 0xffffffffu)
		out->max_unmap_lbas = 0;
	if (out->max_unmap_descs == 0xffffffffu)
		out->max_unmap_descs = 0;
	return 0;
}

int mp_parse_vpd_b2(const uint8_t *buf, size_t len, struct mp_vpd_b2 *out)
{
	const uint8_t *b;
	size_t n;
	bool complete;
	if (!out)
		return fail(EINVAL);
	memset(out, 0, sizeof(*out));
	if (vpd_body(buf, len, 0xb2, &b, &n, &complete) < 0)
		return -1;
	size_t a = 4 + n;
	if (have(a, 4, 1))
		out->threshold_exp = buf[4];
	if (have(a, 5, 1)) {
		uint8_t f = buf[5];
		out->lbpu = f & 0x80;
		out->lbpws = f & 0x40;
		out->lbpws10 = f & 0x20;
		/* SBC-3 has LBPRZ in bit 2; SBC-4 widens it to bits 4..2, nonzero = reads zero. */
		out->lbprz = f & 0x1c;
		out->anc_sup = f & 0x02;
		out->dp = f & 0x01;
	}
	if (have(a, 6, 1))
		out->prov_type = buf[6] & 0x07;
	return 0;
}

int mp_parse_read_cap16(const uint8_t *buf, size_t len, struct mp_read_cap16 *out)
{
	if (!out)
		return fail(EINVAL);
	memset(out, 0, sizeof(*out));
	if (!buf)
		return fail(EINVAL);
	if (len < 12)
		return fail(EPROTO);
	uint64_t last = mp_be64(buf);
	uint32_t bs = mp_be32(buf + 8);
	if (bs == 0 || last == UINT64_MAX)
		return fail(EPROTO);
	out->last_lba = last;
	out->num_blocks = last + 1;
	out->block_size = bs;
	if (len > 12) {
		out->p_type = (buf[12] >> 1) & 0x7;
		out->prot_en = buf[12] & 0x01;
	}
	if (len > 13)
		out->phys_exp = buf[13] & 0x0f;
	if (len > 14) {
		out->lbpme = buf[14] & 0x80;
		out->lbprz = buf[14] & 0x40;
	}
	if (len > 15)
		out->lowest_aligned = mp_be16(buf + 14) & 0x3fff;
	return 0;
}

int mp_parse_mode_sense10_wp(const uint8_t *buf, size_t len, bool *wp)
{
	bool dpofua;
	return mp_parse_mode_sense10(buf, len, wp, &dpofua);
}

int mp_parse_mode_sense10(const uint8_t *buf, size_t len, bool *wp, bool *dpofua)
{
	if (!wp || !dpofua)
		return fail(EINVAL);
	*wp = *dpofua = false;
	if (!buf)
		return fail(EINVAL);
	if (len < 8)
		return fail(EPROTO);
	/* Mode parameter header(10), byte 3: DEVICE-SPECIFIC PARAMETER of a direct-access device:
	 * bit 7 WP, bit 4 DPOFUA (the device takes DPO and FUA). */
	*wp = buf[3] & 0x80;
	*dpofua = buf[3] & 0x10;
	return 0;
}
