/* One iSCSI path: a libiscsi session over one NIC to one portal, driven by libev, implementing mp_path_ops. */
#ifndef MP_INITIATOR_ISCSI_PATH_H
#define MP_INITIATOR_ISCSI_PATH_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include "mpath/lu.h"

struct mp_iscsi_path_opts {
	const char *initiator_name;  /* our IQN */
	const char *target;          /* target IQN */
	const char *portal;          /* "HOST:PORT" or "[V6]:PORT" as libiscsi takes it */
	const char *iface;           /* NIC to bind to, or NULL */
	uint32_t lun;
	uint32_t id;                 /* the path's number for tools */
	int32_t prio;                /* path group priority */
	uint32_t noop_interval_ms;   /* NOP-Out after this long without data from the target; 0 = off */
	uint32_t noop_timeout_ms;    /* no data for this long after a NOP-Out: the path is dead */
	uint32_t command_timeout_ms; /* a command older than this fails the path; 0 = no deadline */
	uint32_t login_timeout_ms;   /* connect + login + attach must finish within this */
	uint32_t reconnect_max_ms;   /* reconnect backoff ceiling (it starts at 100 ms and doubles) */
};

/* Defaults: NOP every 0.5 s of silence, 1 s to answer, 10 s command deadline, 3 s login, 1 s backoff cap. */
void mp_iscsi_path_opts_default(struct mp_iscsi_path_opts *o);

struct mp_iscsi_path;

/*
 * Create a path that belongs to lu (registered with mp_lu_add_path) and start
 * connecting. It logs in, reads the LU's identity (initiator/attach.c), joins
 * the LU, and reconnects with backoff and the same ISID when the session fails.
 */
struct mp_iscsi_path *mp_iscsi_path_new(struct ev_loop *loop, struct mp_lu *lu,
					const struct mp_iscsi_path_opts *opts);
/* Tear the session down (in-flight commands complete CANCELLED), unregister and free. */
void mp_iscsi_path_free(struct mp_iscsi_path *p);
struct mp_path *mp_iscsi_path_core(struct mp_iscsi_path *p);

/* The NIC this path is bound to went down (fail the path now) or came up (reconnect now). */
void mp_iscsi_path_link_event(struct mp_iscsi_path *p, bool up);
/* The NIC the path is bound to, or the one its last session went out of; "" if unknown. */
const char *mp_iscsi_path_iface(const struct mp_iscsi_path *p);

/* Stable ISID qualifier for a path: the same NIC and portal always get the same one. */
uint16_t mp_iscsi_isid_qualifier(const char *iface, const char *portal);

#endif
