/* REPORT LUNS (SPC-4 6.33): CDB builder and a length-checked parser of the LUN list a target sends. */
#include "initiator/report_luns.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/util.h"

#define REPORT_LUNS_OPCODE 0xa0

void mp_report_luns_cdb(uint8_t cdb[12], uint32_t alloc)
{
	memset(cdb, 0, 12);
	cdb[0] = REPORT_LUNS_OPCODE;
	cdb[2] = 0x00; /* SELECT REPORT: logical units, no well-known LUNs */
	mp_put_be32(cdb + 6, alloc);
}

/*
 * Decodes one 8-byte LUN entry (SAM-5 4.7). Returns true with *lun set for a
 * single-level LUN in peripheral device addressing with bus 0, or in flat
 * space addressing; false for anything else. Single level means bytes 2..7
 * are zero: a second level would address a LU behind this one, which a
 * libiscsi command (two LUN bytes, see mp_report_luns_wire) can not reach.
 */
static bool decode_entry(const uint8_t *e, uint32_t *lun)
{
	for (size_t i = 2; i < 8; i++)
		if (e[i])
			return false;
	switch (e[0] >> 6) {
	case 0: /* peripheral device: bus identifier in bits 5..0, LUN in byte 1 */
		if ((e[0] & 0x3f) != 0)
			return false;
		*lun = e[1];
		return true;
	case 1: /* flat space: 14-bit LUN */
		*lun = (uint32_t)(e[0] & 0x3f) << 8 | e[1];
		return true;
	default: /* logical unit addressing (10b), extended addressing and well-known LUNs (11b) */
		return false;
	}
}

int mp_report_luns_parse(const uint8_t *buf, size_t len, uint32_t *out, size_t max, size_t *n,
                         uint32_t *need, size_t *skipped)
{
	if (n)
		*n = 0;
	if (need)
		*need = 0;
	if (skipped)
		*skipped = 0;
	if (!buf || !n || !need || !skipped || (!out && max > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (len < 8) {
		errno = EBADMSG;
		return -1;
	}
	uint32_t list_len = mp_be32(buf);
	if (list_len % 8 != 0) {
		errno = EBADMSG;
		return -1;
	}

	/* Whole entries that are both inside the list and received. */
	size_t avail = MP_MIN((size_t)list_len, len - 8) / 8;
	/* One bit per decodable LUN: duplicates are found in O(1) whatever the list's size. */
	uint8_t seen[(MP_REPORT_LUNS_MAX_LUN + 1) / 8];
	memset(seen, 0, sizeof(seen));
	size_t got = 0, skip = 0;
	for (size_t i = 0; i < avail && got < max; i++) {
		uint32_t lun;
		if (!decode_entry(buf + 8 + 8 * i, &lun)) {
			skip++;
			continue;
		}
		uint8_t bit = (uint8_t)(1u << (lun & 7));
		if (seen[lun >> 3] & bit)
			continue;
		seen[lun >> 3] |= bit;
		out[got++] = lun;
	}
	*n = got;
	*skipped = skip;
	*need = list_len > UINT32_MAX - 8 ? UINT32_MAX : list_len + 8;
	return 0;
}
