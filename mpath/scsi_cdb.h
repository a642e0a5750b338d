/* SCSI CDB builders (SPC-4/SBC-3) for the core and the attach sequence: pure functions that fill a 16-byte CDB. */
#ifndef MP_MPATH_SCSI_CDB_H
#define MP_MPATH_SCSI_CDB_H

#include <stddef.h>
#include <stdint.h>

/*
 * Contract shared by every builder below: cdb points to at least 16 bytes; the
 * whole 16 bytes are cleared first (so a short CDB has no stale tail), the
 * command is written in its first N bytes and N is returned, ready for
 * mp_scsi_cmd.cdb_len. Control byte and group number are always 0.
 */

#define MP_CDB_LEN 16

/* Operation codes used by the builders. */
enum mp_scsi_opcode {
	MP_OP_TEST_UNIT_READY  = 0x00,
	MP_OP_INQUIRY          = 0x12,
	MP_OP_UNMAP            = 0x42,
	MP_OP_MODE_SENSE10     = 0x5a,
	MP_OP_READ16           = 0x88,
	MP_OP_WRITE16          = 0x8a,
	MP_OP_SYNC_CACHE16     = 0x91,
	MP_OP_WRITE_SAME16     = 0x93,
	MP_OP_SERVICE_ACTION_IN16 = 0x9e,
};
#define MP_SAI_READ_CAPACITY16 0x10

/* Flags for READ(16)/WRITE(16). */
#define MP_CDB_FUA 0x1u   /* force unit access: WRITE is on media before GOOD */
#define MP_CDB_DPO 0x2u   /* disable page out (cache hint) */
/* Flags for WRITE SAME(16). */
#define MP_CDB_WS_UNMAP 0x1u /* the target may deallocate instead of writing */
/* Flags for SYNCHRONIZE CACHE(16). */
#define MP_CDB_IMMED 0x1u    /* GOOD as soon as the CDB is validated (not used by the core) */

/* Standard INQUIRY (EVPD 0), allocation length alloc_len. */
uint8_t mp_cdb_inquiry(uint8_t cdb[16], uint16_t alloc_len);
/* INQUIRY of VPD page `page` (EVPD 1), allocation length alloc_len. */
uint8_t mp_cdb_inquiry_vpd(uint8_t cdb[16], uint8_t page, uint16_t alloc_len);
/* READ CAPACITY(16): SERVICE ACTION IN(16) 0x9E, service action 0x10. */
uint8_t mp_cdb_read_capacity16(uint8_t cdb[16], uint32_t alloc_len);
uint8_t mp_cdb_test_unit_ready(uint8_t cdb[16]);
/* READ(16) of `blocks` logical blocks at lba; flags: MP_CDB_FUA, MP_CDB_DPO. */
uint8_t mp_cdb_read16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, unsigned flags);
/* WRITE(16); flags: MP_CDB_FUA, MP_CDB_DPO. */
uint8_t mp_cdb_write16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, unsigned flags);
/* SYNCHRONIZE CACHE(16) of a range; lba 0 and blocks 0 mean the whole LU. flags: MP_CDB_IMMED. */
uint8_t mp_cdb_sync_cache16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, unsigned flags);
/* WRITE SAME(16) with one block of data-out; flags: MP_CDB_WS_UNMAP. NDOB is never set. */
uint8_t mp_cdb_write_same16(uint8_t cdb[16], uint64_t lba, uint32_t blocks, unsigned flags);
/* UNMAP CDB; param_len is the length of the parameter list built by mp_unmap_param_build(). */
uint8_t mp_cdb_unmap(uint8_t cdb[16], uint16_t param_len);
/*
 * MODE SENSE(10) with DBD set (no block descriptors), current values, for
 * page/subpage (0x3f/0x00 = all pages; the header alone carries the WP bit).
 */
uint8_t mp_cdb_mode_sense10(uint8_t cdb[16], uint8_t page, uint8_t subpage, uint16_t alloc_len);

/* One UNMAP block descriptor. */
struct mp_unmap_desc {
	uint64_t lba;
	uint32_t blocks;
};

/* The UNMAP parameter list is an 8-byte header plus 16 bytes per descriptor. */
#define MP_UNMAP_HDR_LEN  8
#define MP_UNMAP_DESC_LEN 16
/* Most descriptors one list can carry: its length must fit the CDB's 16-bit field. */
#define MP_UNMAP_MAX_DESCS ((0xffffu - MP_UNMAP_HDR_LEN) / MP_UNMAP_DESC_LEN)

/*
 * Build the UNMAP parameter list for n descriptors (1 <= n <= MP_UNMAP_MAX_DESCS)
 * into buf of buflen bytes. Returns its length (8 + 16 n, the CDB's param_len),
 * or -1 with errno EINVAL (n out of range, NULL) or ENOSPC (buf too small);
 * buf is not touched on failure.
 */
int mp_unmap_param_build(uint8_t *buf, size_t buflen, const struct mp_unmap_desc *descs, size_t n);

#endif
