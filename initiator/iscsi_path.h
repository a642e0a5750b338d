/* One iSCSI path: a libiscsi session over one NIC to one portal, driven by libev, implementing mp_path_ops. */
#ifndef MP_INITIATOR_ISCSI_PATH_H
#define MP_INITIATOR_ISCSI_PATH_H

#include <ev.h>
#include <stdint.h>
#include "mpath/lu.h"

struct mp_iscsi_path_opts {
	const char *initiator_name;  /* our IQN */
	const char *target;          /* target IQN */
	const char *portal;          /* "HOST:PORT" or "[V6]:PORT" as libiscsi takes it */
	const char *iface;           /* NIC to bind to, or NULL */
	uint32_t lun;
	uint32_t command_timeout_s;  /* per-command deadline; 0 = none */
};

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

/* Stable ISID qualifier for a path: the same NIC and portal always get the same one. */
uint16_t mp_iscsi_isid_qualifier(const char *iface, const char *portal);

#endif
