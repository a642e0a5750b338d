/* The one function that decides what a SCSI completion means for the core. */
#ifndef MP_MPATH_CLASSIFY_H
#define MP_MPATH_CLASSIFY_H

#include "mpath/scsi_cmd.h"

enum mp_verdict {
	MP_V_OK = 0,        /* GOOD (or recovered error): the command succeeded */
	MP_V_PATH_ERROR,    /* the path failed: fail it, re-issue the command elsewhere */
	MP_V_RETRY,         /* transient (unit attention, BUSY, ALUA transitioning): re-issue */
	MP_V_ALUA_STATE,    /* this port cannot serve I/O now (standby/unavailable/offline): refresh ALUA, re-issue */
	MP_V_DEVICE_ERROR,  /* the LU said no: complete with errno, do not retry */
	MP_V_RESV_CONFLICT, /* reservation conflict: complete with EBADE-like error, never retry elsewhere */
};

/* Parsed sense: key, ASC, ASCQ (0 when absent). Fixed and descriptor formats. */
struct mp_sense {
	uint8_t key, asc, ascq;
	int valid;
};
int mp_sense_parse(const uint8_t *buf, size_t len, struct mp_sense *out);

/* Classify res; *err gets the errno for MP_V_DEVICE_ERROR and MP_V_RESV_CONFLICT (else 0). */
enum mp_verdict mp_classify(const struct mp_scsi_result *res, int *err);
const char *mp_verdict_name(enum mp_verdict v);

#endif
