/* Queue-length path selector: the candidate with the fewest commands in flight, ties in turn. */
#include <stdio.h>
#include <stdlib.h>

#include "mpath/selector.h"
#include "mpath/selector_impl.h"

/*
 * The in-flight count is the selector's own (start_io/end_io, see
 * selector_impl.h), not the core's mp_path.inflight: it covers exactly the
 * commands this selector placed, and stale completions after remove_path are
 * ignored.
 */
struct ql_lu {
	struct mp_sel_lu base;  /* first */
};

static void *ql_create(const char *args, char *err, size_t errlen)
{
	uint32_t none;
	if (mp_sel_parse_args("queue-length", args, NULL, 0, &none, err, errlen) < 0)
		return NULL;
	struct ql_lu *st = calloc(1, sizeof(*st));
	if (!st)
		snprintf(err, errlen, "queue-length: out of memory");
	return st;
}

static uint32_t inflight_of(const struct mp_path *p)
{
	const struct mp_sel_path *sp = p->sel;
	return sp ? sp->inflight : 0;
}

static struct mp_path *ql_select(void *arg, struct mp_path *const *cands, size_t n, uint32_t bytes)
{
	struct ql_lu *st = arg;
	(void)bytes;
	size_t best = 0;
	uint32_t best_q = inflight_of(cands[0]);
	uint64_t best_d = mp_sel_rr_dist(&st->base, cands[0]->sel);
	for (size_t i = 1; i < n; i++) {
		uint32_t q = inflight_of(cands[i]);
		uint64_t d = mp_sel_rr_dist(&st->base, cands[i]->sel);
		if (q < best_q || (q == best_q && d < best_d)) {
			best = i;
			best_q = q;
			best_d = d;
		}
	}
	return mp_sel_chose(&st->base, cands[best]);
}

const struct mp_selector_ops mp_selector_queue_length = {
	.name = "queue-length",
	/* Takes no arguments. */
	.create = ql_create,
	/* Frees the per-path states still added. */
	.destroy = mp_sel_op_destroy,
	/* New path with nothing in flight: it gets the next commands. */
	.add_path = mp_sel_op_add_path,
	/* Frees the path's state; its later end_io calls are ignored. */
	.remove_path = mp_sel_op_remove_path,
	/* Fewest in flight; among equals the next in join order after the last choice. */
	.select = ql_select,
	/* One more in flight on the path. */
	.start_io = mp_sel_op_start_io,
	/* One fewer; ignored after remove_path. */
	.end_io = mp_sel_op_end_io,
};
