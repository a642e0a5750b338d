/* ALUA wire formats: REPORT / SET TARGET PORT GROUPS CDBs, the STPG parameter list and the RTPG parser (SPC-4). */
#ifndef MP_MPATH_RTPG_H
#define MP_MPATH_RTPG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Asymmetric access states (SPC-4 table "ASYMMETRIC ACCESS STATE field"). */
enum mp_alua_state {
	MP_ALUA_AO            = 0x0, /* active/optimized */
	MP_ALUA_ANO           = 0x1, /* active/non-optimized */
	MP_ALUA_STANDBY       = 0x2,
	MP_ALUA_UNAVAILABLE   = 0x3,
	MP_ALUA_LBD           = 0x4, /* logical block dependent */
	MP_ALUA_OFFLINE       = 0xe,
	MP_ALUA_TRANSITIONING = 0xf,
};

/* Short lower-case name ("active/optimized", "standby", ...); "reserved(0xN)" for other values. */
const char *mp_alua_state_name(uint8_t state);

/* Supported-state bits of a descriptor's second byte. */
#define MP_TPG_SUP_AO  0x01u
#define MP_TPG_SUP_ANO 0x02u
#define MP_TPG_SUP_S   0x04u
#define MP_TPG_SUP_U   0x08u
#define MP_TPG_SUP_LBD 0x10u
#define MP_TPG_SUP_O   0x40u
#define MP_TPG_SUP_T   0x80u

#define MP_RTPG_MAX_GROUPS 32  /* groups kept from one response; more are counted, not kept */
#define MP_RTPG_MAX_PORTS  16  /* relative port ids kept per group */

struct mp_tpg_desc {
	uint16_t id;                 /* target port group */
	uint8_t state;               /* enum mp_alua_state (4 bits) */
	bool pref;                   /* PREF bit: the target prefers this group */
	uint8_t supported;           /* MP_TPG_SUP_* */
	uint8_t status;              /* STATUS CODE: 0 none, 1 changed by STPG, 2 changed implicitly */
	uint8_t port_count;          /* TARGET PORT COUNT as sent */
	uint8_t n_ports;             /* ids kept in ports[] (<= MP_RTPG_MAX_PORTS) */
	uint16_t ports[MP_RTPG_MAX_PORTS]; /* relative target port identifiers */
};

struct mp_rtpg {
	bool extended;               /* the target answered with the extended header (format 1) */
	uint8_t implicit_trans_s;    /* IMPLICIT TRANSITION TIME, seconds (extended only; 0 = unknown) */
	uint32_t data_len;           /* RETURN DATA LENGTH + header: bytes the whole answer needs */
	bool truncated;              /* len < data_len: ask again with allocation length data_len */
	size_t n_groups;             /* descriptors kept in g[] */
	size_t n_groups_total;       /* descriptors seen (may exceed MP_RTPG_MAX_GROUPS) */
	struct mp_tpg_desc g[MP_RTPG_MAX_GROUPS];
};

/*
 * REPORT TARGET PORT GROUPS: MAINTENANCE IN (0xA3), service action 0x0A,
 * allocation length alloc_len; extended asks for the extended header
 * (PARAMETER DATA FORMAT 001b). Same contract as the builders of scsi_cdb.h:
 * clears 16 bytes, returns the CDB length (12).
 */
uint8_t mp_cdb_report_tpgs(uint8_t cdb[16], uint32_t alloc_len, bool extended);
/* SET TARGET PORT GROUPS: MAINTENANCE OUT (0xA4), service action 0x0A, parameter list length param_len. Returns 12. */
uint8_t mp_cdb_set_tpgs(uint8_t cdb[16], uint32_t param_len);
/*
 * STPG parameter list asking that group tpg go to state (AO, ANO, standby,
 * unavailable or offline): 4-byte header plus one 4-byte descriptor. Returns
 * its length (8), or -1 with errno ENOSPC (size < 8) / EINVAL (state not settable).
 */
int mp_stpg_param_build(uint8_t *buf, size_t size, uint16_t tpg, uint8_t state);

/*
 * Parse an RTPG answer of len bytes (what the target actually returned).
 * Accepts both the length-only header (4 bytes) and the extended one (8 bytes),
 * telling them apart by the FORMAT TYPE bits, whatever was asked for. Only
 * whole descriptors are kept; a descriptor cut off by len ends the list and
 * sets truncated (act on the groups only after asking again). Returns 0, or
 * -1 with errno EBADMSG when the answer is not an RTPG answer (shorter than
 * the 4-byte length field, an unknown format type, a descriptor list that
 * overruns the stated length, except for LIO's extended answer whose last
 * descriptor is one port short: that one is kept, n_ports < port_count).
 * rtpg.c lists every edge case.
 */
int mp_rtpg_parse(const uint8_t *buf, size_t len, struct mp_rtpg *out);

/* The descriptor of group id in r, or NULL. */
const struct mp_tpg_desc *mp_rtpg_find(const struct mp_rtpg *r, uint16_t id);

#endif
