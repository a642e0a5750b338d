/* The interface between the multipath core and one path (one NIC to one target portal). */
#ifndef MP_MPATH_PATH_H
#define MP_MPATH_PATH_H

#include <stdbool.h>
#include <stdint.h>
#include "mpath/scsi_cmd.h"

struct mp_path;
struct mp_lu;

/* Path states, as the core sees them. */
enum mp_path_state {
	MP_PATH_DOWN = 0,   /* no session: connecting, reconnect backoff, or failed */
	MP_PATH_ATTACHING,  /* logged in, identity being read; takes no block I/O yet */
	MP_PATH_UP,         /* joined its LU and takes I/O */
	MP_PATH_FAILED,     /* failed by an error or an operator; takes no I/O until reinstated */
};

const char *mp_path_state_name(enum mp_path_state s);

/*
 * Operations a path implementation (initiator/) provides. Contract for submit:
 * returns 0 when the command was queued; then cmd->done() is called exactly
 * once, later, never from inside submit(), CANCELLED included. Returns -1 with
 * errno set when it was not queued; then done() is never called.
 */
struct mp_path_ops {
	const char *kind;                                            /* "iscsi", "fake" */
	int (*submit)(struct mp_path *path, struct mp_scsi_cmd *cmd);
	/* Operator or core asks to drop the session (e.g. after repeated timeouts). */
	void (*fail)(struct mp_path *path, const char *reason);
	/* If the path has no session, try to log in now instead of after its backoff (an operator
	 * reinstated it, or the LU has no usable path left). Optional. */
	void (*reinstate)(struct mp_path *path);
};

/* The core's view of a path; embedded in the implementation's struct. */
struct mp_path {
	const struct mp_path_ops *ops;
	struct mp_lu *lu;            /* set while the path belongs to an LU */
	enum mp_path_state state;
	char name[304];              /* "IFACE->HOST:PORT" or "HOST:PORT", for logs and tools */
	char iface[16];              /* NIC it is bound to, "" if none */
	char portal[288];            /* target portal "HOST:PORT" ("[V6]:PORT"), one form for every path of
	                              * the daemon (the redundancy audit compares it); "" if unknown */
	uint32_t id;                 /* small number, unique in the daemon, for tools ("fail path ID") */
	int32_t prio;                /* higher is better; paths of equal prio form a path group
	                              * (with ALUA: from the state of the path's target port group) */
	bool has_tpg;                /* VPD 0x83 named the target port group (ALUA) */
	uint16_t tpg;
	bool has_rel_port;
	uint16_t rel_port;           /* relative target port identifier */
	bool alua_port_offline;      /* the target said 04/12: this port is offline until an RTPG through it works */
	bool alua_warned;            /* its group was missing from an RTPG answer (logged once) */
	bool admin_failed;           /* failed by an operator: no I/O until reinstated */
	bool marginal;               /* flapping or far slower than its peers: kept out until marginal_until_ms */
	uint64_t marginal_until_ms;
	uint32_t recent_failures;    /* failures since fail_window_start_ms, for marginal damping */
	uint64_t fail_window_start_ms;
	uint32_t inflight;           /* block sub-commands in flight on this path */
	uint64_t inflight_bytes;
	uint64_t submitted;          /* commands submitted, ever */
	uint64_t completed;          /* commands completed, ever */
	uint64_t errors;             /* commands failed on this path, ever */
	uint64_t lat_ewma_us;        /* completion latency, exponentially weighted (1/8) */
	uint64_t lat_checked_completed; /* `completed` at the last latency-outlier check */
	uint32_t lat_strikes;        /* consecutive checks that found it an outlier */
	uint64_t last_state_change_ms;
	void *sel;                   /* the selector's per-path slot */
	struct mp_path *lu_next;     /* LU's path list */
};

#endif

