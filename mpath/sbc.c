/* SBC-3 CDB builders for the block requests the core issues. */
#include "mpath/sbc.h"

#include <string.h>
#include "common/util.h"

static uint8_t rw16(uint8_t cdb[16], uint8_t op, uint64_t lba, uint32_t blocks, uint8_t byte1)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	cdb[1] = byte1;
	mp_put_be64(cdb + 2, lba);
	mp_put_be32(cdb + 10, blocks);
	return 16;
}

uint8_t mp_sbc_read16(uint8_t cdb[16], uint64_t lba, uint32_t blocks)
{
	return rw16(cdb, 0x88, lba, blocks, 0);
}

uint8_t mp_sbc_write16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, bool fua)
{
	return rw16(cdb, 0x8a, lba, blocks, fua ? 0x08 : 0);
}

uint8_t mp_sbc_sync_cache16(uint8_t cdb[16])
{
	/* LBA 0 and 0 blocks: the whole LU. */
	return rw16(cdb, 0x91, 0, 0, 0);
}

uint8_t mp_sbc_write_same16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, bool unmap)
{
	return rw16(cdb, 0x93, lba, blocks, unmap ? 0x08 : 0);
}

uint8_t mp_sbc_unmap(uint8_t cdb[16], uint8_t param[MP_UNMAP_PARAM_LEN], uint64_t lba, uint32_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x42;
	mp_put_be16(cdb + 7, MP_UNMAP_PARAM_LEN);
	memset(param, 0, MP_UNMAP_PARAM_LEN);
	mp_put_be16(param, MP_UNMAP_PARAM_LEN - 2); /* UNMAP data length */
	mp_put_be16(param + 2, 16);                 /* block descriptor data length */
	mp_put_be64(param + 8, lba);
	mp_put_be32(param + 16, blocks);
	return 10;
}
