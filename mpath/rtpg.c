/* ALUA wire formats (SPC-4): REPORT / SET TARGET PORT GROUPS CDBs, the STPG parameter list, the RTPG answer parser. */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "mpath/rtpg.h"

#define OP_MAINTENANCE_IN   0xa3
#define OP_MAINTENANCE_OUT  0xa4
#define SA_TARGET_PORT_GROUPS 0x0a  /* REPORT (IN) and SET (OUT) share the service action */
#define RTPG_PDF_EXTENDED   0x1     /* PARAMETER DATA FORMAT 001b, CDB byte 1 bits 7..5 */
#define TPGS_CDB_LEN        12

#define RTPG_LEN_HDR        4       /* RETURN DATA LENGTH */
#define RTPG_EXT_HDR        8       /* + format type, implicit transition time, 2 reserved */
#define RTPG_DESC_HDR       8       /* one target port group descriptor without its ports */
#define RTPG_PORT_LEN       4       /* one target port descriptor */
#define RTPG_FMT_LEN_ONLY   0x0
#define RTPG_FMT_EXTENDED   0x1

#define STPG_HDR_LEN        4
#define STPG_DESC_LEN       4

/* Bits of a descriptor's byte 1 that name a state; bit 5 is reserved and dropped. */
#define TPG_SUP_MASK (MP_TPG_SUP_AO | MP_TPG_SUP_ANO | MP_TPG_SUP_S | MP_TPG_SUP_U | \
		      MP_TPG_SUP_LBD | MP_TPG_SUP_O | MP_TPG_SUP_T)

/*
 * One name per value of the 4-bit field, reserved codes included, so that
 * every answer is a pointer to constant storage.
 */
static const char *const alua_state_names[16] = {
	[0x0] = "active/optimized",
	[0x1] = "active/non-optimized",
	[0x2] = "standby",
	[0x3] = "unavailable",
	[0x4] = "lba-dependent",
	[0x5] = "reserved(0x5)",
	[0x6] = "reserved(0x6)",
	[0x7] = "reserved(0x7)",
	[0x8] = "reserved(0x8)",
	[0x9] = "reserved(0x9)",
	[0xa] = "reserved(0xa)",
	[0xb] = "reserved(0xb)",
	[0xc] = "reserved(0xc)",
	[0xd] = "reserved(0xd)",
	[0xe] = "offline",
	[0xf] = "transitioning",
};

/* Values above 0xf can not come from the 4-bit wire field; they get one generic name. */
const char *mp_alua_state_name(uint8_t state)
{
	if (state >= MP_ARRAY_SIZE(alua_state_names))
		return "reserved(>0xf)";
	return alua_state_names[state];
}

uint8_t mp_cdb_report_tpgs(uint8_t cdb[16], uint32_t alloc_len, bool extended)
{
	memset(cdb, 0, 16);
	cdb[0] = OP_MAINTENANCE_IN;
	cdb[1] = (uint8_t)((extended ? RTPG_PDF_EXTENDED << 5 : 0) | SA_TARGET_PORT_GROUPS);
	mp_put_be32(&cdb[6], alloc_len);
	return TPGS_CDB_LEN;
}

uint8_t mp_cdb_set_tpgs(uint8_t cdb[16], uint32_t param_len)
{
	memset(cdb, 0, 16);
	cdb[0] = OP_MAINTENANCE_OUT;
	cdb[1] = SA_TARGET_PORT_GROUPS;
	mp_put_be32(&cdb[6], param_len);
	return TPGS_CDB_LEN;
}

/* The states an initiator may ask for with STPG (SPC-4): not LBD, not transitioning. */
static bool stpg_settable(uint8_t state)
{
	switch (state) {
	case MP_ALUA_AO:
	case MP_ALUA_ANO:
	case MP_ALUA_STANDBY:
	case MP_ALUA_UNAVAILABLE:
	case MP_ALUA_OFFLINE:
		return true;
	default:
		return false;
	}
}

/* A NULL buf is EINVAL too. buf is not touched on failure. */
int mp_stpg_param_build(uint8_t *buf, size_t size, uint16_t tpg, uint8_t state)
{
	if (!stpg_settable(state) || !buf) {
		errno = EINVAL;
		return -1;
	}
	if (size < STPG_HDR_LEN + STPG_DESC_LEN) {
		errno = ENOSPC;
		return -1;
	}
	memset(buf, 0, STPG_HDR_LEN + STPG_DESC_LEN);
	uint8_t *d = buf + STPG_HDR_LEN;
	d[0] = state;                 /* bits 3..0; the upper bits are reserved */
	mp_put_be16(&d[2], tpg);
	return STPG_HDR_LEN + STPG_DESC_LEN;
}

/* Copies the descriptor at p, of which the header and avail_ports ports were received, into d. */
static void take_desc(const uint8_t *p, size_t avail_ports, struct mp_tpg_desc *d)
{
	d->pref = (p[0] & 0x80) != 0;
	d->state = p[0] & 0x0f;
	d->supported = p[1] & TPG_SUP_MASK;
	d->id = mp_be16(&p[2]);
	d->status = p[5];
	d->port_count = p[7];
	d->n_ports = (uint8_t)MP_MIN(MP_MIN((size_t)d->port_count, avail_ports), (size_t)MP_RTPG_MAX_PORTS);
	for (unsigned i = 0; i < d->n_ports; i++)
		d->ports[i] = mp_be16(&p[RTPG_DESC_HDR + i * RTPG_PORT_LEN + 2]);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int bad_answer(struct mp_rtpg *out)
{
	memset(out, 0, sizeof(*out));
	errno = EBADMSG;
	return -1;
}

/*
 * What is accepted, beyond the header's summary:
 *   - len < 4 (no RETURN DATA LENGTH) is EBADMSG; so is a RETURN DATA LENGTH
 *     that no 32-bit allocation length could cover (> 0xfffffffb).
 *   - The format is read from byte 4 only when byte 4 is part of the stated
 *     data (RETURN DATA LENGTH >= 1); a 4-byte answer that announces more is
 *     a valid truncated answer, length-only by assumption, with no groups:
 *     the caller asks again with data_len.
 *   - An extended answer cut inside its 8-byte header is truncated too
 *     (implicit_trans_s is taken if byte 5 arrived); one whose stated length
 *     can not hold that header is EBADMSG.
 *   - Bytes past data_len are ignored; a RETURN DATA LENGTH larger than len
 *     makes the answer truncated, and only descriptors received whole, ports
 *     included, are kept.
 *   - A descriptor that does not fit in the stated length (even in its part
 *     not received) is EBADMSG, checked before truncation ends the walk, with
 *     one exception: in an extended answer, a descriptor that overruns the
 *     stated length by exactly one port descriptor is the last one of a Linux
 *     target (LIO) answer. LIO leaves the extended header's 4 extra bytes out
 *     of RETURN DATA LENGTH and sends only RETURN DATA LENGTH + 4 bytes, so
 *     the last port of the last group never arrives: that descriptor is kept
 *     with the ports that did (n_ports < port_count), and the walk ends there.
 *   - In a truncated answer, 8 zero bytes where a descriptor starts end the
 *     walk: LIO zero-fills the descriptors that do not fit the allocation
 *     length, which would otherwise read as group 0 without ports.
 *   - No descriptors at all is not an error here (n_groups 0).
 *   - Beyond MP_RTPG_MAX_GROUPS descriptors are counted in n_groups_total,
 *     not kept; beyond MP_RTPG_MAX_PORTS ports, port_count keeps the count.
 * On failure *out is all zero. A NULL out, or a NULL buf with len > 0, is EINVAL.
 */
int mp_rtpg_parse(const uint8_t *buf, size_t len, struct mp_rtpg *out)
{
	if (!out || (!buf && len)) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (len < RTPG_LEN_HDR)
		return bad_answer(out);

	uint32_t rdl = mp_be32(buf);
	if (rdl > UINT32_MAX - RTPG_LEN_HDR)
		return bad_answer(out);
	out->data_len = rdl + RTPG_LEN_HDR;
	size_t stated = out->data_len;
	out->truncated = len < stated;

	size_t off = RTPG_LEN_HDR;
	if (rdl > 0 && len == RTPG_LEN_HDR)
		return 0;    /* the format is unknown: nothing to check, nothing to keep */
	if (rdl > 0) {
		switch ((buf[4] >> 4) & 0x7) {
		case RTPG_FMT_LEN_ONLY:
			break;
		case RTPG_FMT_EXTENDED:
			if (stated < RTPG_EXT_HDR)
				return bad_answer(out);
			out->extended = true;
			if (len > 5)
				out->implicit_trans_s = buf[5];
			off = RTPG_EXT_HDR;
			break;
		default:
			return bad_answer(out);
		}
	}

	/* Each turn either advances by >= 8 received bytes or ends: bounded by len. */
	while (off < stated) {
		size_t room = stated - off;
		if (room < RTPG_DESC_HDR)
			return bad_answer(out);
		/* len < off: cut inside the extended header. */
		if (len < off || len - off < RTPG_DESC_HDR)
			break;
		const uint8_t *p = buf + off;
		if (out->truncated && all_zero(p, RTPG_DESC_HDR))
			break;
		size_t dlen = RTPG_DESC_HDR + (size_t)p[7] * RTPG_PORT_LEN;
		if (room < dlen) {
			if (!out->extended || dlen - room != RTPG_PORT_LEN)
				return bad_answer(out);
			dlen = room;    /* LIO's last descriptor, one port short */
		}
		if (len - off < dlen)
			break;
		if (out->n_groups < MP_RTPG_MAX_GROUPS)
			take_desc(p, (dlen - RTPG_DESC_HDR) / RTPG_PORT_LEN, &out->g[out->n_groups++]);
		out->n_groups_total++;
		off += dlen;
	}
	return 0;
}

const struct mp_tpg_desc *mp_rtpg_find(const struct mp_rtpg *r, uint16_t id)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_groups && i < MP_RTPG_MAX_GROUPS; i++)
		if (r->g[i].id == id)
			return &r->g[i];
	return NULL;
}
