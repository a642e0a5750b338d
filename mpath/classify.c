/* Sense parsing and the single classification of every SCSI completion (DESIGN.md decision 6). */
#include "mpath/classify.h"

#include <errno.h>
#include <stddef.h>

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
	switch (MP_ASC_PAIR(s->asc, s->ascq)) {
	case MP_SENSE_ALUA_TRANSITIONING:
	case MP_SENSE_BECOMING_READY:
		return MP_V_RETRY;
	case MP_SENSE_ALUA_STANDBY:
	case MP_SENSE_ALUA_UNAVAILABLE:
	case MP_SENSE_LU_OFFLINE:
		return MP_V_ALUA_STATE;
	default:
		break;
	}
	if (s->asc == MP_ASC_MEDIUM_NOT_PRESENT) {
		*err = EIO;
		return MP_V_DEVICE_ERROR;
	}
	/* Other NOT READY conditions may be local to the port; try another path. */
	return MP_V_PATH_ERROR;
}

static enum mp_verdict classify_sense(const struct mp_sense *s, int *err)
{
	switch (s->key) {
	case MP_SK_NO_SENSE:
	case MP_SK_RECOVERED_ERROR:
		return MP_V_OK;
	case MP_SK_NOT_READY:
		return classify_not_ready(s, err);
	case MP_SK_UNIT_ATTENTION:
		/* Whatever the target owed this I_T nexus (see enum mp_ua), the command did not run: re-issue. */
		return MP_V_RETRY;
	case MP_SK_ABORTED_COMMAND:
		/* Transport-level abort or a command timeout on the target: retry (another path). */
		return MP_V_RETRY;
	case MP_SK_MEDIUM_ERROR:
	case MP_SK_HARDWARE_ERROR:
	case MP_SK_MISCOMPARE:
		*err = EIO;
		return MP_V_DEVICE_ERROR;
	case MP_SK_DATA_PROTECT:
		/* Space allocation failed on a write-protected thin LU -> ENOSPC. */
		*err = MP_ASC_PAIR(s->asc, s->ascq) == MP_SENSE_SPACE_ALLOC_FAILED_WP ? ENOSPC : EPERM;
		return MP_V_DEVICE_ERROR;
	case MP_SK_ILLEGAL_REQUEST:
		if (s->asc == MP_ASC_LBA_OUT_OF_RANGE)
			*err = EINVAL;
		else if (s->asc == MP_ASC_INVALID_OPCODE ||
			 MP_ASC_PAIR(s->asc, s->ascq) == MP_SENSE_INVALID_FIELD_CDB)
			*err = ENOTSUP;
		else
			*err = EINVAL;
		return MP_V_DEVICE_ERROR;
	case MP_SK_VOLUME_OVERFLOW:
		*err = ENOSPC;
		return MP_V_DEVICE_ERROR;
	default:
		*err = EIO;
		return MP_V_DEVICE_ERROR;
	}
}

/* The ALUA state of the port a NOT READY sense reports (only the four ALUA pairs do). */
static enum mp_port_alua sense_alua(const struct mp_sense *s)
{
	if (s->key != MP_SK_NOT_READY)
		return MP_PORT_ALUA_NONE;
	switch (MP_ASC_PAIR(s->asc, s->ascq)) {
	case MP_SENSE_ALUA_TRANSITIONING: return MP_PORT_TRANSITIONING;
	case MP_SENSE_ALUA_STANDBY: return MP_PORT_STANDBY;
	case MP_SENSE_ALUA_UNAVAILABLE: return MP_PORT_UNAVAILABLE;
	case MP_SENSE_LU_OFFLINE: return MP_PORT_OFFLINE;
	default: return MP_PORT_ALUA_NONE;
	}
}

/* Which unit attention a sense is; MP_UA_NONE for any other sense key. */
static enum mp_ua sense_ua(const struct mp_sense *s)
{
	if (s->key != MP_SK_UNIT_ATTENTION)
		return MP_UA_NONE;
	if (s->asc == MP_ASC_RESET_OCCURRED)
		return MP_UA_RESET; /* every qualifier: power on, bus reset, device reset, nexus loss, ... */
	switch (MP_ASC_PAIR(s->asc, s->ascq)) {
	case MP_SENSE_ALUA_CHANGED: return MP_UA_ALUA_CHANGED;
	case MP_SENSE_ALUA_TRANSITION_FAILED: return MP_UA_ALUA_TRANSITION_FAILED;
	case MP_SENSE_LUNS_CHANGED: return MP_UA_LUNS_CHANGED;
	case MP_SENSE_PARAMETERS_CHANGED:
	case MP_SENSE_MODE_CHANGED:
	case MP_SENSE_CAPACITY_CHANGED:
		return MP_UA_PARAMS_CHANGED;
	default: return MP_UA_OTHER;
	}
}

static enum mp_verdict classify_status(const struct mp_scsi_result *res, struct mp_completion *out)
{
	if (res->xport != MP_XPORT_OK)
		return MP_V_PATH_ERROR;
	switch (res->status) {
	case MP_ST_GOOD:
	case MP_ST_CONDITION_MET:
		return MP_V_OK;
	case MP_ST_BUSY:
	case MP_ST_TASK_SET_FULL:
	case MP_ST_TASK_ABORTED:
		return MP_V_RETRY;
	case MP_ST_RESERVATION_CONFLICT:
		out->err = EIO;
		return MP_V_RESV_CONFLICT;
	case MP_ST_CHECK_CONDITION:
		if (mp_sense_parse(res->sense, res->sense_len, &out->sense) < 0) {
			/* CHECK CONDITION without usable sense: we cannot know; treat as a path fault. */
			return MP_V_PATH_ERROR;
		}
		out->alua = sense_alua(&out->sense);
		out->ua = sense_ua(&out->sense);
		return classify_sense(&out->sense, &out->err);
	case MP_ST_ACA_ACTIVE:
	default:
		out->err = EIO;
		return MP_V_DEVICE_ERROR;
	}
}

void mp_classify_completion(const struct mp_scsi_result *res, struct mp_completion *out)
{
	*out = (struct mp_completion){ .verdict = MP_V_OK, .alua = MP_PORT_ALUA_NONE, .ua = MP_UA_NONE };
	out->verdict = classify_status(res, out);
}

enum mp_verdict mp_classify(const struct mp_scsi_result *res, int *err)
{
	struct mp_completion c;
	mp_classify_completion(res, &c);
	*err = c.err;
	return c.verdict;
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
