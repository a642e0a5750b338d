/* Round-robin path selector: rr_min_io commands to a path, then the next path in join order. */
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"
#include "mpath/selector.h"
#include "mpath/selector_impl.h"

static const struct mp_sel_arg rr_args[] = {
	{ .key = "rr_min_io", .min = 1, .max = 100000, .def = 1 },
};

struct rr_lu {
	struct mp_sel_lu base;  /* first */
	uint32_t min_io;        /* commands per turn */
	uint32_t count;         /* commands given to the current path in this turn */
};

static void *rr_create(const char *args, char *err, size_t errlen)
{
	uint32_t vals[MP_ARRAY_SIZE(rr_args)];
	if (mp_sel_parse_args("round-robin", args, rr_args, MP_ARRAY_SIZE(rr_args), vals, err, errlen) < 0)
		return NULL;
	struct rr_lu *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "round-robin: out of memory");
		return NULL;
	}
	st->min_io = vals[0];
	return st;
}

/*
 * Stay on the path of the current turn while it is a candidate and has had
 * fewer than min_io commands; otherwise the next candidate in join order after
 * it. A path that is not a candidate for a while (failed, removed) loses its
 * turn but does not move the others; a path that joins comes last in the order.
 */
static struct mp_path *rr_select(void *arg, struct mp_path *const *cands, size_t n, uint32_t bytes)
{
	struct rr_lu *st = arg;
	(void)bytes;
	if (st->count < st->min_io && st->base.last_seq) {
		for (size_t i = 0; i < n; i++) {
			const struct mp_sel_path *sp = cands[i]->sel;
			if (sp && sp->seq == st->base.last_seq) {
				st->count++;
				return cands[i];
			}
		}
	}
	size_t best = 0;
	uint64_t best_d = mp_sel_rr_dist(&st->base, cands[0]->sel);
	for (size_t i = 1; i < n; i++) {
		uint64_t d = mp_sel_rr_dist(&st->base, cands[i]->sel);
		if (d < best_d) {
			best = i;
			best_d = d;
		}
	}
	st->count = 1;
	return mp_sel_chose(&st->base, cands[best]);
}

const struct mp_selector_ops mp_selector_round_robin = {
	.name = "round-robin",
	/* args: rr_min_io=N (1..100000, default 1). */
	.create = rr_create,
	/* Frees the per-path states still added. */
	.destroy = mp_sel_op_destroy,
	/* The new path comes last in the rotation. */
	.add_path = mp_sel_op_add_path,
	/* Frees the path's state; the turn is kept by seq, so the rotation goes on after its place. */
	.remove_path = mp_sel_op_remove_path,
	/* rr_min_io commands per turn, turns in join order. */
	.select = rr_select,
	/* Only the shared in-flight count (the choice does not use it). */
	.start_io = mp_sel_op_start_io,
	/* Counts the command out; ignored after remove_path. */
	.end_io = mp_sel_op_end_io,
};
