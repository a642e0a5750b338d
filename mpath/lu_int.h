/* Internal state of an LU, shared by lu.c (requests) and lu_paths.c (paths, groups, failback). */
#ifndef MP_MPATH_LU_INT_H
#define MP_MPATH_LU_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "mpath/lu.h"
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
	int final_err;            /* error to report when finished from a deferred list */
	struct mp_sub *next;      /* wait, delay or finish list */
	uint8_t param[MP_UNMAP_HDR_LEN + MP_UNMAP_DESC_LEN]; /* one UNMAP descriptor */
};

struct mp_sub_list {
	struct mp_sub *head;
	struct mp_sub **tail;
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
	struct mp_sub_list delayed;   /* re-issue after MP_RETRY_DELAY_MS */
	struct mp_sub_list finishing; /* finished synchronously: complete from a timer */
	struct mp_timer *npr_timer;   /* no_path_retry expiry */
	struct mp_timer *delay_timer;
	struct mp_timer *finish_timer;
	struct mp_timer *failback_timer; /* deferred failback */
	struct mp_timer *house_timer; /* once a second: marginal expiry, latency outliers */
	uint64_t down_since_ms;       /* when the last usable path went away */
	bool fail_fast;               /* no_path_retry expired: fail new I/O until a path returns */
	uint64_t errlog_ms;           /* last time a failed request was logged */
	uint32_t errlog_suppressed;   /* failed requests not logged since then */
	char last_err_detail[448];    /* why the last failed command failed: path, status, sense */
	mp_lu_ready_fn *ready_fn;
	void *ready_arg;
	bool ready_called;
};

/* lu_paths.c */
int mp_lu_paths_init(struct mp_lu *lu);
void mp_lu_paths_fini(struct mp_lu *lu);
/* Choose a path for a command of `bytes`, switching groups on failover; NULL if none is usable. */
struct mp_path *mp_lu_select(struct mp_lu *lu, uint32_t bytes);
bool mp_lu_any_usable(const struct mp_lu *lu);
/* Bookkeeping around one command on a path (selector, counters, latency). */
void mp_lu_io_start(struct mp_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t now_us);
void mp_lu_io_end(struct mp_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t start_us, bool failed);

/* lu.c */
/* Send everything that waits for a path (a path became usable). */
void mp_lu_resume_waiting(struct mp_lu *lu);

#endif
