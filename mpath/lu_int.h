/* Internal state of an LU, shared by lu.c (requests) and lu_paths.c (paths, groups, failback). */
#ifndef MP_MPATH_LU_INT_H
#define MP_MPATH_LU_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "mpath/lu.h"
#include "mpath/redundancy.h"
#include "mpath/rtpg.h"
#include "mpath/scsi_cdb.h"
#include "mpath/selector.h"

/* One SCSI command of a block request. */
struct mp_sub {
	struct mp_scsi_cmd cmd;   /* first: the path hands this back */
	struct mp_blk_req *req;
	struct mp_lu *lu;
	struct mp_path *path;     /* path it is in flight on, NULL when not in flight */
	uint64_t start_us;        /* when it was sent on path */
	uint32_t retries;         /* re-issues after retryable SCSI conditions */
	uint32_t xport_retries;   /* re-issues after transport failures */
	uint32_t alua_retries;    /* re-issues after ALUA state sense (standby, unavailable, transitioning, offline) */
	int final_err;            /* error to report when finished from a deferred list */
	bool fua_sync;            /* (first sub of a request) now the SYNCHRONIZE CACHE that completes a FUA */
	struct mp_sub *next;      /* wait, delay or finish list */
	uint8_t param[MP_UNMAP_HDR_LEN + MP_UNMAP_DESC_LEN]; /* one UNMAP descriptor */
};

/* The core's part of a block request (struct mp_blk_req's core): one allocation, freed just
 * before the submitter's done() runs. */
struct mp_blk_req_core {
	uint32_t pending;         /* sub-commands not yet finished */
	int err;                  /* first error seen */
	struct mp_sub subs[];     /* the request's SCSI commands; subs[0] also carries a FUA's sync */
};

struct mp_sub_list {
	struct mp_sub *head;
	struct mp_sub **tail;
};

/* One ALUA target port group as the LU knows it. */
struct mp_alua_grp {
	uint16_t id;
	uint8_t state;                /* enum mp_alua_state */
	bool pref;
	uint8_t supported;            /* MP_TPG_SUP_* */
	uint64_t since_ms;            /* when state last changed */
};

/* A command the core itself sends (RTPG, STPG). */
struct mp_alua_cmd {
	struct mp_scsi_cmd cmd;       /* first: the path hands this back */
	struct mp_lu *lu;
	struct mp_path *path;         /* where it is in flight */
	bool busy;
	uint16_t tpg;                 /* STPG: the group asked for */
	uint8_t buf[4096];
};

struct mp_alua {
	bool decided;                 /* the first attached path's TPGS was looked at */
	bool enabled;                 /* the target has ALUA (TPGS != 0) and alua is not off */
	bool explicit_sup;            /* TPGS says STPG is supported */
	bool no_extended;             /* ask RTPG without the extended header */
	bool refresh_wanted;          /* another RTPG once the one in flight is back */
	size_t n;
	struct mp_alua_grp g[MP_RTPG_MAX_GROUPS];
	uint32_t failures;            /* RTPG failures in a row */
	struct mp_alua_cmd rtpg, stpg;
	struct mp_timer *timer;
	bool timer_armed;
	uint64_t timer_due_ms;
	uint64_t last_stpg_ms;
};

struct mp_lu {
	char name[64];
	struct mp_clock clock;
	struct mp_lu_opts opts;
	bool have_info;
	struct mp_lu_info info;
	uint8_t *zero_block;          /* one block of zeroes: WRITE SAME data-out */
	/* Paths, in the order they were added. */
	struct mp_path *paths;
	struct mp_path **cands;       /* scratch for selection, one slot per path */
	size_t n_paths;
	const struct mp_selector_ops *sel;
	void *sel_st;
	bool have_active;             /* active_prio is meaningful */
	int32_t active_prio;          /* the path group that takes I/O */
	/* Requests. */
	struct mp_sub_list waiting;   /* no path available */
	uint32_t n_waiting;
	uint32_t n_reqs;              /* block requests accepted and not yet done */
	struct mp_sub_list delayed;   /* re-issue after MP_RETRY_DELAY_MS */
	struct mp_sub_list finishing; /* finished synchronously: complete from a timer */
	struct mp_timer *npr_timer;   /* no_path_retry expiry */
	struct mp_timer *delay_timer;
	struct mp_timer *finish_timer;
	struct mp_timer *failback_timer; /* deferred failback */
	struct mp_timer *house_timer; /* once a second: marginal expiry, latency outliers */
	bool any_usable;              /* some path could take I/O when mp_lu_usability_changed() last looked */
	uint64_t down_since_ms;       /* when the last usable path went away */
	bool fail_fast;               /* no_path_retry expired: fail new I/O until a path returns */
	uint64_t errlog_ms;           /* last time a failed request was logged */
	uint32_t errlog_suppressed;   /* failed requests not logged since then */
	char last_err_detail[448];    /* why the last failed command failed: path, status, sense */
	struct mp_alua alua;
	mp_lu_ready_fn *ready_fn;
	void *ready_arg;
	bool ready_called;
	mp_lu_drained_fn *drain_fn;   /* mp_lu_drain(): pending until n_reqs is 0 */
	void *drain_arg;
	struct mp_timer *drain_timer; /* calls drain_fn from the loop, never from inside the core */
	/* Redundancy audit (lu_redundancy.c). */
	char *sysfs_root;             /* owned copy; opts.sysfs_root points here */
	struct mp_redundancy red;     /* the last verdict */
	unsigned red_logged;          /* the mask as last logged (starts as no_path, which is not logged) */
	unsigned red_warned;          /* conditions whose warning was logged and whose notice was not */
	uint64_t red_pending_ms;      /* when the verdict first differed from red_logged */
	bool red_err_logged;          /* an audit failed and said so (once per LU) */
};

/* lu_paths.c */
int mp_lu_paths_init(struct mp_lu *lu);
void mp_lu_paths_fini(struct mp_lu *lu);
/* Choose a path for a command of `bytes`, switching groups on failover; NULL if none is usable. */
struct mp_path *mp_lu_select(struct mp_lu *lu, uint32_t bytes);
bool mp_lu_any_usable(const struct mp_lu *lu);
/* The paths selection draws from now and their group, as mp_lu_select would pick without
 * changing anything: usable paths (marginal ones only when no other is usable; then
 * *allow_marginal is true) and the active group if it has one of them, else the best. False
 * when no path can take I/O. */
bool mp_lu_io_view(const struct mp_lu *lu, bool *allow_marginal, int32_t *group);
/* The core's own judgement of one path (mp_lu_io_view says which allow_marginal applies). */
bool mp_lu_usable(const struct mp_path *p, bool allow_marginal);
/* Bookkeeping around one command on a path (selector, counters, latency). */
void mp_lu_io_start(struct mp_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t now_us);
void mp_lu_io_end(struct mp_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t start_us, bool failed);

/* What changed whether a path (or, for ALUA, a group of paths) can take I/O. */
enum mp_usability_cause {
	MP_USABILITY_PATH_UP,      /* the path attached (logged in, identity checked): state UP */
	MP_USABILITY_PATH_DOWN,    /* the path lost its session, was failed, refused a command, or goes away */
	MP_USABILITY_ADMIN_FAIL,   /* an operator took the path out */
	MP_USABILITY_REINSTATE,    /* an operator put the path back (its marginal mark cleared) */
	MP_USABILITY_MARGINAL,     /* the path was marked marginal: kept out while better ones serve */
	MP_USABILITY_MARGINAL_END, /* the path's marginal hold ran out */
	MP_USABILITY_ALUA,         /* ALUA group states, a port's offline mark, or ALUA itself changed */
};
/*
 * The one owner of path-usability transitions: every place that changes a path's state,
 * admin or marginal mark, or an ALUA state calls this right after the change, and does
 * none of the follow-up itself. It compares with what it saw last (lu->any_usable: so a
 * change that is not reported here would be judged wrongly at the next one) and:
 * - on "some path usable -> none": starts the no-path clock (down_since_ms, which
 *   no_path_retry counts from); for PATH_DOWN asks the LU's other paths that wait to
 *   reconnect to try now; for ALUA logs it;
 * - PATH_UP, and REINSTATE / MARGINAL_END of a path that can take I/O now: fails back per
 *   the failback policy and sends what waits for a path;
 * - ALUA with some path usable: picks the best group (mp_lu_select's groups follow the
 *   new priorities) and sends what waits;
 * - PATH_DOWN, ADMIN_FAIL, MARGINAL otherwise: nothing more (selection fails over by itself);
 * - after all of that, every cause: re-audits the LU's redundancy (mp_lu_reaudit).
 * path is the path concerned (NULL for ALUA changes of whole groups); why is for the log.
 * May send requests (and so call the paths' submit); never completes one synchronously.
 */
void mp_lu_usability_changed(struct mp_lu *lu, struct mp_path *path, enum mp_usability_cause cause,
			     const char *why);

/* alua.c */
int mp_alua_init(struct mp_lu *lu);
void mp_alua_fini(struct mp_lu *lu);
/* The path's ALUA state lets it take block I/O (always true without ALUA). */
bool mp_alua_path_io_ok(const struct mp_lu *lu, const struct mp_path *p);
/* The path's group is in standby (ALUA on, port not offline): no I/O now, but a way to the LU
 * once the group is activated (by STPG, or by the target itself). */
bool mp_alua_path_standby(const struct mp_lu *lu, const struct mp_path *p);
/* A path joined: record its group and port, decide on ALUA (first path), refresh. */
void mp_alua_path_attached(struct mp_lu *lu, struct mp_path *p, const struct mp_lu_info *info);
/* Ask the target for the groups' states (now, or after the RTPG in flight). */
void mp_alua_refresh(struct mp_lu *lu, const char *why);
enum mp_alua_act {
	MP_ALUA_NONE = 0,    /* not an ALUA condition the core acted on: classify as usual */
	MP_ALUA_REDISPATCH,  /* the path's group or port was marked unusable: send the command again */
};
/* A command on p ended in CHECK CONDITION: act on ALUA sense (unit attention, 04/0A/0B/0C/12). */
enum mp_alua_act mp_alua_on_check(struct mp_lu *lu, struct mp_path *p, const struct mp_scsi_result *res);

/* lu_redundancy.c */
/* Copy opts.sysfs_root and take the first verdict (no path: no_path). -1 with errno. */
int mp_lu_redundancy_init(struct mp_lu *lu);
void mp_lu_redundancy_fini(struct mp_lu *lu);
/* Audit the paths again (mp_lu_usability_changed, path added or removed, active group changed):
 * reads sysfs once per NIC of a usable path, keeps nothing from it; logs nothing itself. */
void mp_lu_reaudit(struct mp_lu *lu);
/* Housekeeping tick: log what changed since the last log once it has settled (see lu.h). */
void mp_lu_redundancy_tick(struct mp_lu *lu, uint64_t now_ms);

/* lu.c */
/* Send everything that waits for a path (a path became usable; mp_lu_usability_changed only). */
void mp_lu_resume_waiting(struct mp_lu *lu);

#endif
