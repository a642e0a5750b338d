/* Sense parsing and the single classification of every SCSI completion (DESIGN.md decision 6). */
#include "mpath/classify.h"

#include <errno.h>
#include <stddef.h>

/* SAM-5 status codes and SPC-4 sense keys used below. */
enum {
	ST_GOOD = 0x00, ST_CHECK_CONDITION = 0x02, ST_CONDITION_MET = 0x04, ST_BUSY = 0x08,
	ST_RESERVATION_CONFLICT = 0x18, ST_TASK_SET_FULL = 0x28, ST_ACA_ACTIVE = 0x30,
	ST_TASK_ABORTED = 0x40,
};
enum {
	SK_NO_SENSE = 0x0, SK_RECOVERED_ERROR = 0x1, SK_NOT_READY = 0x2, SK_MEDIUM_ERROR = 0x3,
	SK_HARDWARE_ERROR = 0x4, SK_ILLEGAL_REQUEST = 0x5, SK_UNIT_ATTENTION = 0x6,
	SK_DATA_PROTECT = 0x7, SK_BLANK_CHECK = 0x8, SK_COPY_ABORTED = 0xa,
	SK_ABORTED_COMMAND = 0xb, SK_VOLUME_OVERFLOW = 0xd, SK_MISCOMPARE = 0xe,
};

int mp_sense_parse(const uint8_t *buf, size_t len, struct mp_sense *out)
{
	out->key = out->asc = out->ascq = 0;
	out->valid = 0;
	if (!buf || len < 2)
		return -1;
	uint8_t code = buf[0] & 0x7f;
	if (code == 0x70 || code == 0x71) {
		/* Fixed format: key in byte 2, additional length in byte 7, ASC/ASCQ in 12/13. */
		if (len < 3)
			return -1;
		out->key = buf[2] & 0x0f;
		if (len >= 14 && buf[7] >= 6) {
			out->asc = buf[12];
			out->ascq = buf[13];
		}
	} else if (code == 0x72 || code == 0x73) {
		/* Descriptor format: key, ASC, ASCQ in bytes 1..3. */
		if (len < 4)
			return -1;
		out->key = buf[1] & 0x0f;
		out->asc = buf[2];
		out->ascq = buf[3];
	} else {
		return -1;
	}
	out->valid = 1;
	return 0;
}

/* NOT READY: which ASC/ASCQ pairs mean "this port, not the LU" (so another path may serve). */
static enum mp_verdict classify_not_ready(const struct mp_sense *s, int *err)
{
	if (s->asc == 0x04) {
		switch (s->ascq) {
		case 0x0a: /* asymmetric access state transition */
		case 0x01: /* becoming ready */
			return MP_V_RETRY;
		case 0x0b: /* target port in standby state */
		case 0x0c: /* target port in unavailable state */
		case 0x12: /* logical unit offline (target port offline) */
			return MP_V_ALUA_STATE;
		default:
			break;
		}
	}
	if (s->asc == 0x3a) { /* medium not present */
		*err = EIO;
		return MP_V_DEVICE_ERROR;
	}
	/* Other NOT READY conditions may be local to the port; try another path. */
	return MP_V_PATH_ERROR;
}

static enum mp_verdict classify_sense(const struct mp_sense *s, int *err)
{
	switch (s->key) {
	case SK_NO_SENSE:
	case SK_RECOVERED_ERROR:
		return MP_V_OK;
	case SK_NOT_READY:
		return classify_not_ready(s, err);
	case SK_UNIT_ATTENTION:
		/* 2A/06, 2A/07 ALUA changed; 29/xx reset; 3F/0E LUNs changed; all: re-issue. */
		return MP_V_RETRY;
	case SK_ABORTED_COMMAND:
		/* Transport-level abort or a command timeout on the target: retry (another path). */
		return MP_V_RETRY;
	case SK_MEDIUM_ERROR:
	case SK_HARDWARE_ERROR:
	case SK_MISCOMPARE:
		*err = EIO;
		return MP_V_DEVICE_ERROR;
	case SK_DATA_PROTECT:
		/* 27/07 space allocation failed on a write-protected thin LU -> ENOSPC. */
		*err = (s->asc == 0x27 && s->ascq == 0x07) ? ENOSPC : EPERM;
		return MP_V_DEVICE_ERROR;
	case SK_ILLEGAL_REQUEST:
		if (s->asc == 0x21) /* LBA out of range */
			*err = EINVAL;
		else if (s->asc == 0x20 || (s->asc == 0x24 && s->ascq == 0x00))
			*err = ENOTSUP; /* invalid opcode / invalid field in CDB */
		else
			*err = EINVAL;
		return MP_V_DEVICE_ERROR;
	case SK_VOLUME_OVERFLOW:
		*err = ENOSPC;
		return MP_V_DEVICE_ERROR;
	default:
		*err = EIO;
		return MP_V_DEVICE_ERROR;
	}
}

enum mp_verdict mp_classify(const struct mp_scsi_result *res, int *err)
{
	*err = 0;
	if (res->xport != MP_XPORT_OK)
		return MP_V_PATH_ERROR;
	switch (res->status) {
	case ST_GOOD:
	case ST_CONDITION_MET:
		return MP_V_OK;
	case ST_BUSY:
	case ST_TASK_SET_FULL:
	case ST_TASK_ABORTED:
		return MP_V_RETRY;
	case ST_RESERVATION_CONFLICT:
		*err = EIO;
		return MP_V_RESV_CONFLICT;
	case ST_CHECK_CONDITION: {
		struct mp_sense s;
		if (mp_sense_parse(res->sense, res->sense_len, &s) < 0) {
			/* CHECK CONDITION without usable sense: we cannot know; treat as a path fault. */
			return MP_V_PATH_ERROR;
		}
		return classify_sense(&s, err);
	}
	case ST_ACA_ACTIVE:
	default:
		*err = EIO;
		return MP_V_DEVICE_ERROR;
	}
}

const char *mp_verdict_name(enum mp_verdict v)
{
	static const char *const names[] = {
		[MP_V_OK] = "ok", [MP_V_PATH_ERROR] = "path-error", [MP_V_RETRY] = "retry",
		[MP_V_ALUA_STATE] = "alua-state", [MP_V_DEVICE_ERROR] = "device-error",
		[MP_V_RESV_CONFLICT] = "reservation-conflict",
	};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}
