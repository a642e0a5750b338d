/* One LU path: a LUN on a shared iSCSI session (initiator/session.h), implementing mp_path_ops. */
#ifndef MP_INITIATOR_ISCSI_PATH_H
#define MP_INITIATOR_ISCSI_PATH_H

#include <stdbool.h>
#include <stdint.h>
#include "initiator/session.h"
#include "mpath/lu.h"

struct mp_iscsi_path_opts {
	uint32_t lun;
	uint32_t id;                 /* the path's number for tools ("fail path ID") */
	int32_t prio;                /* path group priority */
};

struct mp_iscsi_path;

/*
 * Create the path of LUN o->lun on session s for lu (registered with mp_lu_add_path and
 * with the session). Once the session is logged in and scanned it reads the LU's
 * identity (initiator/attach.c) and joins the LU; it goes down with the session and
 * attaches again when the session comes back. A path that leads to another LU than
 * the disk's is refused and re-checked every 5 s.
 */
struct mp_iscsi_path *mp_iscsi_path_new(struct mp_iscsi_session *s, struct mp_lu *lu,
					const struct mp_iscsi_path_opts *o);
/* Take the path out of its LU and its session, and free it (see mp_iscsi_session_remove_path
 * for commands still in flight). */
void mp_iscsi_path_free(struct mp_iscsi_path *p);
struct mp_path *mp_iscsi_path_core(struct mp_iscsi_path *p);
struct mp_iscsi_session *mp_iscsi_path_session(const struct mp_iscsi_path *p);
uint32_t mp_iscsi_path_lun(const struct mp_iscsi_path *p);
/* "attach", "attached", "refused", "waiting" (session not ready) */
const char *mp_iscsi_path_state(const struct mp_iscsi_path *p);

/* ---- for initiator/session.c only ---- */
/* The session is logged in and scanned: attach (no-op when attaching or attached). */
void mp_iscsi_path_session_up(struct mp_iscsi_path *p);
/* The session failed: the path stops taking I/O (its commands complete with the teardown). */
void mp_iscsi_path_session_down(struct mp_iscsi_path *p, const char *reason);

#endif
