/* Internals the path selectors share (argument parsing, per-path state, rotation); not for the core. */
#ifndef MP_MPATH_SELECTOR_IMPL_H
#define MP_MPATH_SELECTOR_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mpath/path.h"

/*
 * Per-path state every selector keeps, embedded first in its own per-path
 * struct and stored in the path's `sel` slot between add_path and remove_path.
 *
 * In-flight accounting: the selectors count in-flight commands and bytes
 * themselves, in start_io/end_io, and never read the core's
 * `mp_path.inflight`. So a selector sees exactly the commands it was told
 * about, and a command that was started before its path was removed can not
 * unbalance a later incarnation of the same path.
 *
 * end_io after remove_path: start_io/end_io find the state through the LU's
 * table by comparing pointers (`mp_sel_lookup`), without dereferencing the
 * path, so a removed path (even one whose memory is gone) is simply not found
 * and its end_io is ignored. If the same path object is added again, end_io
 * of a command that started before the re-add (start_us < added_us) is ignored
 * too; counters never go below zero, which covers the one ambiguous case of a
 * command started in the very microsecond of the re-add.
 */
struct mp_sel_path {
	struct mp_path *path;      /* owner; compared, never dereferenced, in start_io/end_io */
	uint64_t seq;              /* join order (1, 2, ...): the path's place in the rotation */
	uint64_t added_us;         /* LU clock at add_path: end_io of commands started earlier is stale */
	uint32_t inflight;         /* commands between start_io and end_io */
	uint64_t inflight_bytes;   /* their data length */
};

/* Per-LU state every selector keeps, embedded first in its own per-LU struct. */
struct mp_sel_lu {
	struct mp_sel_path **paths; /* the paths added and not removed */
	size_t n, cap;
	uint64_t next_seq;          /* seq for the next path that joins */
	uint64_t last_seq;          /* seq of the path chosen last; 0 before the first choice */
	uint64_t now_us;            /* latest time seen in start_io/end_io: the selector's clock */
};

/* One numeric selector argument: "key=value" with min <= value <= max. */
struct mp_sel_arg {
	const char *key;
	uint32_t min, max, def;
};

/*
 * Parse "key=value,..." (NULL or "" for defaults; blanks around items, keys and
 * values are allowed) against spec[0..nspec-1] into vals[] (defaults first).
 * 0 on success; -1 with a message naming the selector in err for an unknown
 * or repeated key, a missing '=', or a value that is not a number in range.
 */
int mp_sel_parse_args(const char *sel, const char *args, const struct mp_sel_arg *spec,
                      size_t nspec, uint32_t *vals, char *err, size_t errlen);

/* Free every per-path state still registered (the paths themselves are not touched). */
void mp_sel_lu_fini(struct mp_sel_lu *lu);

/*
 * Register a zeroed per-path state of `size` bytes (>= sizeof(struct
 * mp_sel_path)) for p and store it in p->sel. Returns the existing state if p
 * is already added, NULL when out of memory (the path then runs without state).
 */
struct mp_sel_path *mp_sel_add(struct mp_sel_lu *lu, struct mp_path *p, size_t size);
/* Unregister and free p's state and clear p->sel; nothing if p was not added. */
void mp_sel_remove(struct mp_sel_lu *lu, struct mp_path *p);
/* p's state by pointer comparison (p is not dereferenced); NULL if p is not added. */
struct mp_sel_path *mp_sel_lookup(const struct mp_sel_lu *lu, const struct mp_path *p);

/* Count a command in: returns p's state, or NULL if p is not added. */
struct mp_sel_path *mp_sel_start(struct mp_sel_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t now_us);
/* Count a command out: returns p's state, or NULL if the completion is to be ignored (see above). */
struct mp_sel_path *mp_sel_end(struct mp_sel_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t start_us,
                               uint64_t now_us);

/*
 * Ops the selectors share as they are, for a per-LU struct that starts with
 * struct mp_sel_lu and per-path state that is a plain struct mp_sel_path
 * (mp_sel_op_destroy and mp_sel_op_remove_path fit any per-path size).
 */
void mp_sel_op_destroy(void *st);
void mp_sel_op_add_path(void *st, struct mp_path *p);
void mp_sel_op_remove_path(void *st, struct mp_path *p);
void mp_sel_op_start_io(void *st, struct mp_path *p, uint32_t bytes, uint64_t now_us);
void mp_sel_op_end_io(void *st, struct mp_path *p, uint32_t bytes, uint64_t start_us, uint64_t now_us);

/*
 * Distance of sp from the last chosen path in the rotation (0 = next in
 * turn). The rotation follows join order, so it does not depend on the order
 * of the candidate array, and a path leaving or joining does not restart it.
 */
static inline uint64_t mp_sel_rr_dist(const struct mp_sel_lu *lu, const struct mp_sel_path *sp)
{
	return sp ? sp->seq - lu->last_seq - 1 : UINT64_MAX;
}

/* Remember cand as the last choice (for the rotation) and return it. */
static inline struct mp_path *mp_sel_chose(struct mp_sel_lu *lu, struct mp_path *cand)
{
	const struct mp_sel_path *sp = cand->sel;
	if (sp)
		lu->last_seq = sp->seq;
	return cand;
}

#endif
