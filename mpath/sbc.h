/* SBC-3 CDBs the core builds for block requests (READ/WRITE(16), SYNC CACHE(16), UNMAP, WRITE SAME(16)). */
#ifndef MP_MPATH_SBC_H
#define MP_MPATH_SBC_H

#include <stdbool.h>
#include <stdint.h>

#define MP_UNMAP_PARAM_LEN 24 /* header + one block descriptor */

uint8_t mp_sbc_read16(uint8_t cdb[16], uint64_t lba, uint32_t blocks);
uint8_t mp_sbc_write16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, bool fua);
uint8_t mp_sbc_sync_cache16(uint8_t cdb[16]);
/* UNMAP of one extent: CDB plus its 24-byte parameter list. */
uint8_t mp_sbc_unmap(uint8_t cdb[16], uint8_t param[MP_UNMAP_PARAM_LEN], uint64_t lba, uint32_t blocks);
/* WRITE SAME(16) of one block of data-out, optionally with UNMAP. */
uint8_t mp_sbc_write_same16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, bool unmap);

#endif
