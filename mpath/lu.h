/* A logical unit as the core serves it: identity, limits, its paths, and the block request API. */
#ifndef MP_MPATH_LU_H
#define MP_MPATH_LU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/clock.h"
#include "mpath/path.h"

/* What a path read from the LU at attach (INQUIRY, VPD 0x80/0x83/0xB0/0xB2, READ CAPACITY(16)). */
struct mp_lu_info {
	/* Identity (VPD 0x83 LU designator in text: "naa.<hex>", "eui.<hex>", "t10.<text>", ...). */
	char designator[260];
	char serial[256];            /* VPD 0x80, trimmed; "" if absent */
	char vendor[9], product[17], revision[5];
	uint8_t peripheral_type;     /* 0 = direct access block device */
	uint8_t tpgs;                /* INQUIRY TPGS field (0 none, 1 implicit, 2 explicit, 3 both) */
	bool has_rel_port;           /* VPD 0x83 carried a relative target port designator */
	uint16_t rel_port;
	bool has_tpg;                /* VPD 0x83 carried a target port group designator */
	uint16_t tpg;
	/* Capacity (READ CAPACITY(16)). */
	uint32_t block_size;         /* logical block length in bytes */
	uint64_t num_blocks;         /* last LBA + 1 */
	uint8_t phys_exp;            /* physical block = block_size << phys_exp */
	bool lbpme, lbprz;           /* thin provisioned; unmapped blocks read zero */
	/* Block limits (VPD 0xB0); 0 means "not reported / no limit". */
	uint32_t max_xfer_blocks;
	uint32_t opt_xfer_blocks;
	uint32_t opt_gran_blocks;
	uint32_t max_unmap_blocks;
	uint32_t max_unmap_descs;
	uint64_t max_write_same_blocks;
	/* Logical block provisioning (VPD 0xB2). */
	bool lbpu;                   /* UNMAP supported */
	bool lbpws;                  /* WRITE SAME(16) with UNMAP supported */
	bool anc_sup;
	bool write_protect;          /* MODE SENSE WP bit, if read */
	bool fua;                    /* MODE SENSE DPOFUA: the LU honours WRITE's FUA bit; if not, the
	                              * core follows a FUA write with SYNCHRONIZE CACHE of its range */
	bool capacity_unknown;       /* READ CAPACITY refused in this port's ALUA state: the fields
	                              * above from it are 0; the path may join a disk that knows them */
};

enum mp_blk_op {
	MP_BLK_READ = 0,
	MP_BLK_WRITE,
	MP_BLK_FLUSH,
	MP_BLK_TRIM,
	MP_BLK_WRITE_ZEROES,
};

#define MP_BLK_FUA     0x1u  /* write: WRITE(16) with FUA */
#define MP_BLK_NO_HOLE 0x2u  /* write-zeroes: must not deallocate */

struct mp_blk_req;
typedef void mp_blk_done_fn(struct mp_blk_req *req, int err);
/* The core's per-request state (its SCSI commands, what is pending, the first error): defined
 * only inside mpath/. */
struct mp_blk_req_core;

/*
 * A block request. The submitter owns it and buf, fills in the fields down to done, and
 * gets the outcome as done(req, err): called exactly once, with err 0 or a positive
 * errno (EIO, EPERM, EINVAL, ENOSPC, ENOTSUP, ESHUTDOWN), never from inside
 * mp_lu_submit(). Offsets and lengths are bytes and must be multiples of the LU's
 * block size.
 */
struct mp_blk_req {
	enum mp_blk_op op;
	uint32_t flags;
	uint64_t offset;
	uint64_t len;
	uint8_t *buf;           /* READ/WRITE only */
	mp_blk_done_fn *done;
	/* The core's, from mp_lu_submit() until just before done(): the submitter neither reads
	 * nor sets it (mp_lu_submit() overwrites it). */
	struct mp_blk_req_core *core;
};

/* When I/O moves back to a better path group that has become usable again. */
enum mp_failback {
	MP_FAILBACK_IMMEDIATE = 0, /* at once */
	MP_FAILBACK_MANUAL,        /* only when an operator says so (mp_lu_switch_group) */
	MP_FAILBACK_FOLLOWOVER,    /* only when the first path of that group comes up */
	MP_FAILBACK_DEFERRED,      /* failback_delay_s seconds after the group came up */
};

struct mp_selector_ops;

struct mp_lu_opts {
	uint32_t max_retries;       /* re-issues of one sub-command before EIO (default 5) */
	int32_t no_path_retry_s;    /* all paths down: -1 queue forever, 0 fail at once, N seconds */
	uint32_t max_io_bytes;      /* split limit even if the target allows more (default 1 MiB) */
	const struct mp_selector_ops *selector; /* NULL: service-time */
	char selector_args[64];     /* "rr_min_io=N" for round-robin; "" for defaults */
	enum mp_failback failback;  /* default immediate */
	uint32_t failback_delay_s;  /* for MP_FAILBACK_DEFERRED */
	uint32_t marginal_flaps;    /* failures within marginal_window_s that make a path marginal (0 = off; default 3) */
	uint32_t marginal_window_s; /* default 60 */
	uint32_t marginal_hold_s;   /* how long a marginal path is kept out (default 30) */
	uint32_t marginal_latency_factor; /* latency above this many times the group's best = marginal (0 = off; default 20) */
	bool alua_off;              /* ignore ALUA even if the target reports it (default: use it) */
	bool alua_explicit;         /* activate a standby group with SET TARGET PORT GROUPS (default yes) */
	uint32_t alua_refresh_s;    /* periodic RTPG when nothing is degraded (0 = none; default 5) */
	const char *sysfs_root;     /* where the redundancy audit reads class/net/IF/device (NULL: "/sys");
	                             * copied by mp_lu_new */
};
void mp_lu_opts_default(struct mp_lu_opts *o);

struct mp_lu;
typedef void mp_lu_ready_fn(struct mp_lu *lu, void *arg);

struct mp_lu *mp_lu_new(const char *name, const struct mp_clock *clock, const struct mp_lu_opts *opts);
/* Fails every queued request with ESHUTDOWN and drops a pending drain uncalled; paths must have been removed. */
void mp_lu_free(struct mp_lu *lu);
const char *mp_lu_name(const struct mp_lu *lu);
/* Called once, when the first path has attached and the LU's identity and size are known. */
void mp_lu_set_ready_cb(struct mp_lu *lu, mp_lu_ready_fn *fn, void *arg);
/* NULL until a path has attached. */
const struct mp_lu_info *mp_lu_get_info(const struct mp_lu *lu);
/* Paths, for tools. */
struct mp_path *mp_lu_first_path(const struct mp_lu *lu);
/* The path would be given I/O now: up, not failed by an operator, not marginal, ALUA state active. */
bool mp_lu_path_usable(const struct mp_path *p);

/* Register a path with the LU (state DOWN); it takes I/O once attached. */
void mp_lu_add_path(struct mp_lu *lu, struct mp_path *path);
/* Unregister; the path must have no commands in flight. */
void mp_lu_remove_path(struct mp_lu *lu, struct mp_path *path);
/*
 * The path has logged in and read info. It joins (state UP, returns 0) if its
 * LU designator matches the LU's; otherwise returns -1, the path stays out and
 * err names both identities.
 */
int mp_lu_path_attached(struct mp_lu *lu, struct mp_path *path, const struct mp_lu_info *info,
			char *err, size_t errlen);
/* The path lost its session or was failed: the core stops sending it I/O. */
void mp_lu_path_down(struct mp_lu *lu, struct mp_path *path, const char *reason);

/* Operator controls (mpiscsiadm). Each returns 0, or -1 with errno. */
/* Take the path out of selection; in-flight commands finish where they are. */
int mp_lu_path_admin_fail(struct mp_lu *lu, struct mp_path *path);
/* Undo mp_lu_path_admin_fail and clear a marginal mark. */
int mp_lu_path_reinstate(struct mp_lu *lu, struct mp_path *path);
/* Make the group of paths with priority prio the active one (ENOENT: no usable path has it). */
int mp_lu_switch_group(struct mp_lu *lu, int32_t prio);
/* Priority of the path group that takes I/O now (INT32_MIN when none). */
int32_t mp_lu_active_prio(const struct mp_lu *lu);
/* The selector's name, for tools. */
const char *mp_lu_selector_name(const struct mp_lu *lu);
/* Requests queued because no path is usable. */
uint32_t mp_lu_queued(const struct mp_lu *lu);
/* Block requests accepted and not yet completed (for draining a disk before removal). */
uint32_t mp_lu_requests(const struct mp_lu *lu);

typedef void mp_lu_drained_fn(struct mp_lu *lu, void *arg);
/*
 * Wait until the LU holds no block request (mp_lu_requests() is 0), then call cb(lu, arg)
 * exactly once. It is always called from the clock's loop (a zero timer of the LU), never
 * from inside mp_lu_drain() or another mp_lu_* call: also when nothing is in flight now
 * (then at the loop's next turn), and after the last request's done() has returned.
 * Requests submitted after this call are waited for too, so a front end stops submitting
 * first (the daemon unexports the disk). In cb the caller may do anything with the LU,
 * mp_lu_free() included; the core touches the LU no more after cb returns.
 * One drain at a time: a second call replaces the pending one (whose cb is then never
 * called), cb NULL cancels it, and mp_lu_free() drops a pending drain without calling it
 * (a caller with a deadline frees the LU when it passes; what is left then fails with
 * ESHUTDOWN, see mp_lu_free).
 */
void mp_lu_drain(struct mp_lu *lu, mp_lu_drained_fn *cb, void *arg);

/* ALUA, for tools. */
struct mp_alua_view {
	uint16_t id;                 /* target port group */
	uint8_t state;               /* enum mp_alua_state (mpath/rtpg.h); mp_alua_state_name() */
	bool pref;
	uint8_t supported;           /* MP_TPG_SUP_* */
};
/* True when the disk uses ALUA (the target reports TPGS and alua is not off). */
bool mp_lu_alua_enabled(const struct mp_lu *lu);
/* The groups known from RTPG (at most max); returns how many were written. */
size_t mp_lu_alua_groups(const struct mp_lu *lu, struct mp_alua_view *out, size_t max);
/* The ALUA state of the path (its group's, or offline for an offline port); -1 if unknown. */
int mp_lu_path_alua_state(const struct mp_lu *lu, const struct mp_path *p);

/*
 * Redundancy audit (mpath/redundancy.h): the LU re-audits its paths after every change of a
 * path's usability, when paths are added or removed and when its active group changes; never
 * per I/O. A verdict that differs from the one last logged is logged once it is
 * MP_LU_REDUNDANCY_SETTLE_MS old (at the LU's next once-a-second housekeeping tick): one warning
 * "disk NAME: redundancy: REASON" per condition that started to hold, one notice "disk NAME:
 * redundancy restored: CONDITION no longer holds" per condition that was warned about and
 * cleared. The no_path of a disk that never had a usable path is not logged (its logins and
 * attaches say why), and a disk being drained (mp_lu_drain) logs nothing.
 * A path counts as usable when selection would give it I/O now (mp_lu_path_usable; marginal
 * paths only when no other path is usable) or when it is up in an ALUA standby group (a way to
 * the LU once the group is activated); the active group is the one selection would use now.
 * mp_lu_redundancy() copies the last verdict (a new LU: no_path): 0, or -1 with EINVAL.
 */
#define MP_LU_REDUNDANCY_SETTLE_MS 1000
struct mp_redundancy;
int mp_lu_redundancy(const struct mp_lu *lu, struct mp_redundancy *out);

/* Submit a block request: 0 and a later done(), or -1 with errno (EINVAL bad range) and no done(). */
int mp_lu_submit(struct mp_lu *lu, struct mp_blk_req *req);

#endif
