/* Path selectors: a const ops table per policy (round-robin, queue-length, service-time), chosen by name. */
#ifndef MP_MPATH_SELECTOR_H
#define MP_MPATH_SELECTOR_H

#include <stddef.h>
#include <stdint.h>
#include "mpath/path.h"

/*
 * A selector chooses, for one command, a path among the usable paths of the
 * LU's active path group. The core owns the paths and their counters; a
 * selector keeps only its own per-LU state (created by create()) and may keep
 * per-path state in the path's `sel` slot (struct mp_path.sel).
 *
 * Call order the core guarantees: create; add_path for each path that joins;
 * select -> start_io (for the path returned) -> ... -> end_io for each command
 * (exactly once per start_io, also when the command failed or was cancelled);
 * remove_path when a path leaves (no command of it in flight between
 * start_io/end_io is left uncounted: end_io may still come after remove_path
 * and must then be ignored by the selector); destroy last.
 * Times are microseconds from the core's clock; `bytes` is the command's data length.
 */
struct mp_selector_ops {
	const char *name;                  /* "round-robin", "queue-length", "service-time" */
	/* Per-LU state. args: "key=value,..." (e.g. "rr_min_io=1000"), "" for defaults.
	 * NULL on error with a message in err. */
	void *(*create)(const char *args, char *err, size_t errlen);
	void (*destroy)(void *st);
	void (*add_path)(void *st, struct mp_path *p);
	void (*remove_path)(void *st, struct mp_path *p);
	/* Pick one of cands[0..n-1] (n >= 1, all usable). Must return one of them. */
	struct mp_path *(*select)(void *st, struct mp_path *const *cands, size_t n, uint32_t bytes);
	void (*start_io)(void *st, struct mp_path *p, uint32_t bytes, uint64_t now_us);
	void (*end_io)(void *st, struct mp_path *p, uint32_t bytes, uint64_t start_us, uint64_t now_us);
};

extern const struct mp_selector_ops mp_selector_round_robin;
extern const struct mp_selector_ops mp_selector_queue_length;
extern const struct mp_selector_ops mp_selector_service_time;

/* Look a selector up by name; NULL if unknown. */
const struct mp_selector_ops *mp_selector_find(const char *name);
/* The default: service-time. */
#define MP_SELECTOR_DEFAULT "service-time"

#endif
