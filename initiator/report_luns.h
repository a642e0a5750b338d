/* REPORT LUNS (SPC-4 6.33): CDB builder and a length-checked parser of the LUN list a target sends. */
#ifndef MP_INITIATOR_REPORT_LUNS_H
#define MP_INITIATOR_REPORT_LUNS_H

#include <stddef.h>
#include <stdint.h>

/*
 * LUN numbers here are 0..16383, the value a single-level LUN carries in
 * peripheral device addressing (bus 0, LUN 0..255) or flat space addressing
 * (LUN 0..16383). Other addressing methods (peripheral with a bus other than
 * 0, logical unit addressing, extended addressing, well-known LUNs) and
 * multi-level LUNs are not decoded: they are counted as skipped.
 */
#define MP_REPORT_LUNS_MAX_LUN 16383u

/* The largest answer worth asking for: the header and one entry per decodable LUN. */
#define MP_REPORT_LUNS_ALLOC_MAX (8u + 8u * 16384u)

/*
 * REPORT LUNS (SPC-4): SELECT REPORT 0x00, allocation length alloc. SPC-4
 * makes an allocation length below 16 an error (tgtd answers it with
 * ILLEGAL REQUEST), so callers ask for at least 16 bytes.
 */
void mp_report_luns_cdb(uint8_t cdb[12], uint32_t alloc);

/*
 * Parse REPORT LUNS parameter data (buf, len = bytes that arrived). Returns 0
 * with *n LUNs written to out (at most max, in the order listed, duplicates
 * dropped), *need = LUN LIST LENGTH + 8 (when it is larger than len the caller
 * re-asks with alloc = *need, bounded by MP_REPORT_LUNS_ALLOC_MAX; saturates
 * at UINT32_MAX), *skipped = entries in an addressing method we cannot
 * address (only peripheral device addressing with bus 0 and flat space
 * addressing are decoded; LUN = 0..16383). Returns -1 with errno EBADMSG for
 * malformed data (shorter than the 8-byte header, a list length that is not
 * a multiple of 8), or EINVAL for a NULL argument (out may be NULL when max
 * is 0); on failure *n, *need and *skipped are 0.
 *
 * Only whole 8-byte entries that both arrived and lie inside LUN LIST LENGTH
 * are read: a truncated answer yields the LUNs it carries (and *need > len),
 * bytes past the list are ignored. Entries beyond max are neither written
 * nor counted; *n == max tells the caller the list may hold more. The same
 * LUN listed twice (also once in each addressing method) is kept once.
 */
int mp_report_luns_parse(const uint8_t *buf, size_t len, uint32_t *out, size_t max, size_t *n,
                         uint32_t *need, size_t *skipped);

/*
 * The value to pass as the lun argument of libiscsi 1.19's
 * iscsi_scsi_command_async() (and every *_task helper) so that the command
 * reaches the LUN that REPORT LUNS listed as lun (0..16383).
 *
 * libiscsi writes that int as a 16-bit big-endian value into the first two
 * bytes of the BHS LUN field (lib/iscsi-command.c calls iscsi_pdu_set_lun(),
 * which is scsi_set_uint16(&bhs[8], lun); bytes 10..15 stay 0). So 0..255
 * goes out as peripheral device addressing, bus 0, which every target
 * decodes as that LUN; but 256..16383 would go out with method bits 00 as
 * peripheral addressing with bus lun >> 8, which tgtd decodes as LUN
 * lun & 0xff (another LU). For those the flat space method bits (0x4000)
 * are added, as tgtd itself encodes them in its REPORT LUNS answer.
 */
static inline int mp_report_luns_wire(uint32_t lun)
{
	return lun < 256 ? (int)lun : (int)(0x4000u | (lun & 0x3fffu));
}

#endif
