/* REPORT LUNS CDB and parameter data parser (placeholder until the tested parser lands). */
#include "initiator/report_luns.h"

#include <errno.h>
#include <string.h>

void mp_report_luns_cdb(uint8_t cdb[12], uint32_t alloc)
{
	memset(cdb, 0, 12);
	cdb[0] = 0xa0;
	cdb[6] = (uint8_t)(alloc >> 24);
	cdb[7] = (uint8_t)(alloc >> 16);
	cdb[8] = (uint8_t)(alloc >> 8);
	cdb[9] = (uint8_t)alloc;
}

int mp_report_luns_parse(const uint8_t *buf, size_t len, uint32_t *out, size_t max, size_t *n,
			 uint32_t *need, size_t *skipped)
{
	*n = 0;
	*skipped = 0;
	if (len < 8) {
		errno = EBADMSG;
		return -1;
	}
	uint32_t ll = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (ll % 8) {
		errno = EBADMSG;
		return -1;
	}
	*need = ll > UINT32_MAX - 8 ? UINT32_MAX : ll + 8;
	size_t have = (len - 8) / 8;
	if (have > ll / 8)
		have = ll / 8;
	for (size_t i = 0; i < have; i++) {
		const uint8_t *e = buf + 8 + 8 * i;
		uint32_t lun;
		if ((e[0] >> 6) == 0 && e[0] == 0)
			lun = e[1];
		else if ((e[0] >> 6) == 1)
			lun = (uint32_t)(e[0] & 0x3f) << 8 | e[1];
		else {
			(*skipped)++;
			continue;
		}
		size_t j = 0;
		while (j < *n && out[j] != lun)
			j++;
		if (j == *n && *n < max)
			out[(*n)++] = lun;
	}
	return 0;
}
