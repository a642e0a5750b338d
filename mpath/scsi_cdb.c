/* SCSI CDB builders (SPC-4/SBC-3): byte layouts of the commands the core and the attach sequence send. */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "mpath/scsi_cdb.h"

/* READ(16)/WRITE(16) byte 1 bits (SBC-3 5.8, 5.40). */
#define CDB16_FUA 0x08
#define CDB16_DPO 0x10

static uint8_t inquiry(uint8_t cdb[16], uint8_t evpd, uint8_t page, uint16_t alloc_len)
{
	memset(cdb, 0, MP_CDB_LEN);
	cdb[0] = MP_OP_INQUIRY;
	cdb[1] = evpd;         /* EVPD, bit 0 */
	cdb[2] = page;         /* must be 0 when EVPD is 0 */
	mp_put_be16(&cdb[3], alloc_len);
	return 6;
}

uint8_t mp_cdb_inquiry(uint8_t cdb[16], uint16_t alloc_len)
{
	return inquiry(cdb, 0, 0, alloc_len);
}

uint8_t mp_cdb_inquiry_vpd(uint8_t cdb[16], uint8_t page, uint16_t alloc_len)
{
	return inquiry(cdb, 1, page, alloc_len);
}

uint8_t mp_cdb_read_capacity16(uint8_t cdb[16], uint32_t alloc_len)
{
	memset(cdb, 0, MP_CDB_LEN);
	cdb[0] = MP_OP_SERVICE_ACTION_IN16;
	cdb[1] = MP_SAI_READ_CAPACITY16;   /* service action in bits 4..0 */
	/* Bytes 2..9 LOGICAL BLOCK ADDRESS and byte 14 PMI are obsolete/zero. */
	mp_put_be32(&cdb[10], alloc_len);
	return 16;
}

uint8_t mp_cdb_test_unit_ready(uint8_t cdb[16])
{
	memset(cdb, 0, MP_CDB_LEN);
	cdb[0] = MP_OP_TEST_UNIT_READY;
	return 6;
}

/* The common layout of READ(16), WRITE(16), SYNC CACHE(16) and WRITE SAME(16). */
static uint8_t rw16(uint8_t cdb[16], uint8_t op, uint8_t byte1, uint64_t lba, uint32_t blocks)
{
	memset(cdb, 0, MP_CDB_LEN);
	cdb[0] = op;
	cdb[1] = byte1;
	mp_put_be64(&cdb[2], lba);
	mp_put_be32(&cdb[10], blocks);
	return 16;
}

static uint8_t rw_flags(unsigned flags)
{
	return (uint8_t)(((flags & MP_CDB_FUA) ? CDB16_FUA : 0) | ((flags & MP_CDB_DPO) ? CDB16_DPO : 0));
}

uint8_t mp_cdb_read16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, unsigned flags)
{
	return rw16(cdb, MP_OP_READ16, rw_flags(flags), lba, blocks);
}

uint8_t mp_cdb_write16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, unsigned flags)
{
	return rw16(cdb, MP_OP_WRITE16, rw_flags(flags), lba, blocks);
}

uint8_t mp_cdb_sync_cache16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, unsigned flags)
{
	/* IMMED is bit 1 of byte 1 (SBC-3 5.23). */
	return rw16(cdb, MP_OP_SYNC_CACHE16, (flags & MP_CDB_IMMED) ? 0x02 : 0, lba, blocks);
}

uint8_t mp_cdb_write_same16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, unsigned flags)
{
	/* Byte 1: UNMAP bit 3, ANCHOR bit 4, NDOB bit 0 (SBC-3 5.50); NDOB stays 0 so one
	 * block of data-out (zeros) is always sent and targets without NDOB work too. */
	return rw16(cdb, MP_OP_WRITE_SAME16, (flags & MP_CDB_WS_UNMAP) ? 0x08 : 0, lba, blocks);
}

uint8_t mp_cdb_unmap(uint8_t cdb[16], uint16_t param_len)
{
	memset(cdb, 0, MP_CDB_LEN);
	cdb[0] = MP_OP_UNMAP;
	/* Byte 1 ANCHOR = 0, byte 6 group number = 0. */
	mp_put_be16(&cdb[7], param_len);
	return 10;
}

uint8_t mp_cdb_mode_sense10(uint8_t cdb[16], uint8_t page, uint8_t subpage, uint16_t alloc_len)
{
	memset(cdb, 0, MP_CDB_LEN);
	cdb[0] = MP_OP_MODE_SENSE10;
	cdb[1] = 0x08;                 /* DBD: no block descriptors */
	cdb[2] = (uint8_t)(page & 0x3f); /* PC = 00b: current values */
	cdb[3] = subpage;
	mp_put_be16(&cdb[7], alloc_len);
	return 10;
}

int mp_unmap_param_build(uint8_t *buf, size_t buflen, const struct mp_unmap_desc *descs, size_t n)
{
	if (!buf || !descs || n == 0 || n > MP_UNMAP_MAX_DESCS) {
		errno = EINVAL;
		return -1;
	}
	size_t total = MP_UNMAP_HDR_LEN + n * MP_UNMAP_DESC_LEN;
	if (buflen < total) {
		errno = ENOSPC;
		return -1;
	}
	memset(buf, 0, total);
	/* UNMAP DATA LENGTH counts the bytes after itself; BLOCK DESCRIPTOR DATA LENGTH the descriptors. */
	mp_put_be16(&buf[0], (uint16_t)(total - 2));
	mp_put_be16(&buf[2], (uint16_t)(n * MP_UNMAP_DESC_LEN));
	for (size_t i = 0; i < n; i++) {
		uint8_t *d = buf + MP_UNMAP_HDR_LEN + i * MP_UNMAP_DESC_LEN;
		mp_put_be64(&d[0], descs[i].lba);
		mp_put_be32(&d[8], descs[i].blocks);
		/* Bytes 12..15 reserved. */
	}
	return (int)total;
}
