/* The one function that decides what a SCSI completion means for the core. */
#ifndef MP_MPATH_CLASSIFY_H
#define MP_MPATH_CLASSIFY_H

#include "mpath/scsi_cmd.h"
#include "mpath/scsi_sense.h"

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
/* Parse raw sense bytes: 0 and valid = 1, or -1 (unknown format, too short) with every field 0. */
int mp_sense_parse(const uint8_t *buf, size_t len, struct mp_sense *out);

/* The ALUA access state a NOT READY sense says this target port is in. */
enum mp_port_alua {
	MP_PORT_ALUA_NONE = 0, /* the sense says nothing about the port's ALUA state */
	MP_PORT_TRANSITIONING, /* 04/0A: the port's group is changing state; retry shortly */
	MP_PORT_STANDBY,       /* 04/0B: the port is in standby */
	MP_PORT_UNAVAILABLE,   /* 04/0C: the port is unavailable */
	MP_PORT_OFFLINE,       /* 04/12: the port is offline (LIO's secondary offline state) */
};

/* What kind of UNIT ATTENTION a completion carries. */
enum mp_ua {
	MP_UA_NONE = 0,               /* not a unit attention */
	MP_UA_ALUA_CHANGED,           /* 2A/06: asymmetric access state changed */
	MP_UA_ALUA_TRANSITION_FAILED, /* 2A/07: implicit asymmetric access state transition failed */
	MP_UA_RESET,                  /* 29/xx: power on, reset, bus device reset, I_T nexus loss */
	MP_UA_LUNS_CHANGED,           /* 3F/0E: reported LUNs data has changed */
	MP_UA_PARAMS_CHANGED,         /* 2A/00, 2A/01, 2A/09: parameters, mode parameters or capacity changed */
	MP_UA_OTHER,                  /* any other unit attention (also one too short to carry an ASC) */
};

/*
 * What one completion means, decoded once. sense is filled only for CHECK
 * CONDITION on a working transport (sense.valid says whether the bytes could
 * be parsed; all fields are 0 otherwise); alua and ua follow from sense alone.
 */
struct mp_completion {
	enum mp_verdict verdict; /* what the core does with the command */
	int err;                 /* errno for MP_V_DEVICE_ERROR and MP_V_RESV_CONFLICT, else 0 */
	struct mp_sense sense;   /* key/ASC/ASCQ as the target sent them */
	enum mp_port_alua alua;  /* ALUA state of this port the sense implies */
	enum mp_ua ua;           /* unit attention kind */
};

/* Classify res into *out (every field written). */
void mp_classify_completion(const struct mp_scsi_result *res, struct mp_completion *out);
/* The verdict alone; *err gets the errno for MP_V_DEVICE_ERROR and MP_V_RESV_CONFLICT (else 0). */
enum mp_verdict mp_classify(const struct mp_scsi_result *res, int *err);
const char *mp_verdict_name(enum mp_verdict v);

#endif
