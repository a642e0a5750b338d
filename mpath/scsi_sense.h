/* SCSI status bytes (SAM-5), sense keys and the additional sense codes (SPC-4) the project acts on, named once. */
#ifndef MP_MPATH_SCSI_SENSE_H
#define MP_MPATH_SCSI_SENSE_H

#include <stdint.h>

/*
 * mpath/classify.c turns these codes into a verdict, an errno, an implied ALUA
 * port state and a unit attention kind (struct mp_completion, mpath/classify.h);
 * callers read that struct and compare raw codes only for what it does not sum
 * up (ILLEGAL REQUEST to RTPG or VPD 0x83, LOGICAL UNIT NOT SUPPORTED during a
 * rescan), with these names. Nothing else spells a code as a number.
 */

/* SAM-5 status byte of a completed command. */
enum mp_scsi_status {
	MP_ST_GOOD                 = 0x00,
	MP_ST_CHECK_CONDITION      = 0x02, /* sense data describes what went wrong */
	MP_ST_CONDITION_MET        = 0x04,
	MP_ST_BUSY                 = 0x08,
	MP_ST_RESERVATION_CONFLICT = 0x18,
	MP_ST_TASK_SET_FULL        = 0x28,
	MP_ST_ACA_ACTIVE           = 0x30,
	MP_ST_TASK_ABORTED         = 0x40,
};

/* SPC-4 sense keys (4 bits). */
enum mp_sense_key {
	MP_SK_NO_SENSE        = 0x0,
	MP_SK_RECOVERED_ERROR = 0x1,
	MP_SK_NOT_READY       = 0x2,
	MP_SK_MEDIUM_ERROR    = 0x3,
	MP_SK_HARDWARE_ERROR  = 0x4,
	MP_SK_ILLEGAL_REQUEST = 0x5,
	MP_SK_UNIT_ATTENTION  = 0x6,
	MP_SK_DATA_PROTECT    = 0x7,
	MP_SK_BLANK_CHECK     = 0x8,
	MP_SK_COPY_ABORTED    = 0xa,
	MP_SK_ABORTED_COMMAND = 0xb,
	MP_SK_VOLUME_OVERFLOW = 0xd,
	MP_SK_MISCOMPARE      = 0xe,
};

/* Additional sense codes matched on their own (any qualifier). */
enum mp_asc {
	MP_ASC_LU_NOT_READY        = 0x04, /* LOGICAL UNIT NOT READY / NOT ACCESSIBLE, ... */
	MP_ASC_INVALID_OPCODE      = 0x20, /* INVALID COMMAND OPERATION CODE */
	MP_ASC_LBA_OUT_OF_RANGE    = 0x21, /* LOGICAL BLOCK ADDRESS OUT OF RANGE */
	MP_ASC_INVALID_FIELD_CDB   = 0x24, /* INVALID FIELD IN CDB */
	MP_ASC_LU_NOT_SUPPORTED    = 0x25, /* LOGICAL UNIT NOT SUPPORTED */
	MP_ASC_WRITE_PROTECTED     = 0x27, /* WRITE PROTECTED, ... */
	MP_ASC_RESET_OCCURRED      = 0x29, /* POWER ON, RESET, OR BUS DEVICE RESET OCCURRED, ... */
	MP_ASC_PARAMETERS_CHANGED  = 0x2a, /* PARAMETERS CHANGED, ... */
	MP_ASC_MEDIUM_NOT_PRESENT  = 0x3a, /* MEDIUM NOT PRESENT, ... */
	MP_ASC_TARGET_CHANGED      = 0x3f, /* TARGET OPERATING CONDITIONS HAVE CHANGED, ... */
};

/* An ASC/ASCQ pair as one number: ASC in the high byte, ASCQ in the low byte. */
#define MP_ASC_PAIR(asc, ascq) ((uint16_t)(((unsigned)(asc) << 8) | (unsigned)(ascq)))

/* ASC/ASCQ pairs matched exactly (SPC-4 annex "ASC and ASCQ assignments"). */
enum mp_asc_pair {
	/* NOT READY */
	MP_SENSE_BECOMING_READY        = 0x0401, /* LOGICAL UNIT IS IN PROCESS OF BECOMING READY */
	MP_SENSE_ALUA_TRANSITIONING    = 0x040a, /* NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION */
	MP_SENSE_ALUA_STANDBY          = 0x040b, /* NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE */
	MP_SENSE_ALUA_UNAVAILABLE      = 0x040c, /* NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE */
	MP_SENSE_LU_OFFLINE            = 0x0412, /* LOGICAL UNIT NOT READY, OFFLINE (ALUA offline port) */
	/* ILLEGAL REQUEST, DATA PROTECT */
	MP_SENSE_INVALID_FIELD_CDB     = 0x2400, /* INVALID FIELD IN CDB */
	MP_SENSE_SPACE_ALLOC_FAILED_WP = 0x2707, /* SPACE ALLOCATION FAILED WRITE PROTECT */
	/* UNIT ATTENTION */
	MP_SENSE_POWER_ON_RESET        = 0x2900, /* POWER ON, RESET, OR BUS DEVICE RESET OCCURRED */
	MP_SENSE_PARAMETERS_CHANGED    = 0x2a00, /* PARAMETERS CHANGED */
	MP_SENSE_MODE_CHANGED          = 0x2a01, /* MODE PARAMETERS CHANGED */
	MP_SENSE_ALUA_CHANGED          = 0x2a06, /* ASYMMETRIC ACCESS STATE CHANGED */
	MP_SENSE_ALUA_TRANSITION_FAILED = 0x2a07, /* IMPLICIT ASYMMETRIC ACCESS STATE TRANSITION FAILED */
	MP_SENSE_CAPACITY_CHANGED      = 0x2a09, /* CAPACITY DATA HAS CHANGED */
	MP_SENSE_LUNS_CHANGED          = 0x3f0e, /* REPORTED LUNS DATA HAS CHANGED */
};

#endif
