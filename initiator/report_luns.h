/* REPORT LUNS (SPC-4): the CDB and a parser of its parameter data that trusts no length. */
#ifndef MP_INITIATOR_REPORT_LUNS_H
#define MP_INITIATOR_REPORT_LUNS_H

#include <stddef.h>
#include <stdint.h>

#define MP_REPORT_LUNS_ALLOC_MAX (8u + 8u * 16384u)

/* REPORT LUNS (SPC-4): SELECT REPORT 0x00, allocation length alloc. */
void mp_report_luns_cdb(uint8_t cdb[12], uint32_t alloc);
/* Parse REPORT LUNS parameter data (buf, len = bytes that arrived). Returns 0 with *n LUNs written to
 * out (at most max, in the order listed, duplicates dropped), *need = LUN LIST LENGTH + 8, *skipped =
 * entries in an addressing method we cannot address. -1 with errno EBADMSG for malformed data. */
int mp_report_luns_parse(const uint8_t *buf, size_t len, uint32_t *out, size_t max, size_t *n,
			 uint32_t *need, size_t *skipped);

#endif
