/* One SCSI command as the core hands it to a path, and the result a path hands back. */
#ifndef MP_MPATH_SCSI_CMD_H
#define MP_MPATH_SCSI_CMD_H

#include <stdint.h>
#include <stddef.h>

enum mp_dir {
	MP_DIR_NONE = 0,   /* no data phase */
	MP_DIR_READ,       /* data from target into buf */
	MP_DIR_WRITE,      /* data from buf to target */
};

/* What the transport says about a command, before SCSI status is looked at. */
enum mp_xport {
	MP_XPORT_OK = 0,     /* the target answered; status and sense are valid */
	MP_XPORT_ERROR,      /* connection failed or the target sent something we could not use */
	MP_XPORT_CANCELLED,  /* the path was torn down while the command was in flight */
	MP_XPORT_TIMEOUT,    /* the command's deadline passed with no answer */
};

#define MP_SENSE_MAX 252

struct mp_scsi_result {
	enum mp_xport xport;
	uint8_t status;              /* SAM status byte (0 GOOD, 2 CHECK CONDITION, ...) */
	uint8_t sense_len;           /* bytes valid in sense[] */
	uint8_t sense[MP_SENSE_MAX]; /* raw sense data, fixed or descriptor format */
	uint32_t residual;           /* bytes of buf not transferred (underflow) */
};

struct mp_scsi_cmd;
typedef void mp_scsi_done_fn(struct mp_scsi_cmd *cmd, const struct mp_scsi_result *res);

/*
 * A command. The owner embeds it in its own struct and gets back there with
 * mp_container_of in done(). buf must stay valid until done() has been called.
 */
struct mp_scsi_cmd {
	uint8_t cdb[16];
	uint8_t cdb_len;
	enum mp_dir dir;
	uint8_t *buf;
	uint32_t len;
	mp_scsi_done_fn *done;
};

#endif
