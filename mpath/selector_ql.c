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

static void ql_destroy(void *st)
{
	if (!st)
		return;
	mp_sel_lu_fini(st);
	free(st);
}

static void ql_add_path(void *st, struct mp_path *p)
{
	mp_sel_add(st, p, sizeof(struct mp_sel_path));
}

static void ql_remove_path(void *st, struct mp_path *p)
{
	mp_sel_remove(st, p);
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

static void ql_start_io(void *st, struct mp_path *p, uint32_t bytes, uint64_t now_us)
{
	mp_sel_start(st, p, bytes, now_us);
}

static void ql_end_io(void *st, struct mp_path *p, uint32_t bytes, uint64_t start_us, uint64_t now_us)
{
	mp_sel_end(st, p, bytes, start_us, now_us);
}

const struct mp_selector_ops mp_selector_queue_length = {
	.name = "queue-length",
	/* Takes no arguments. */
	.create = ql_create,
	/* Frees the per-path states still added. */
	.destroy = ql_destroy,
	/* New path with nothing in flight: it gets the next commands. */
	.add_path = ql_add_path,
	/* Frees the path's state; its later end_io calls are ignored. */
	.remove_path = ql_remove_path,
	/* Fewest in flight; among equals the next in join order after the last choice. */
	.select = ql_select,
	/* One more in flight on the path. */
	.start_io = ql_start_io,
	/* One fewer; ignored after remove_path. */
	.end_io = ql_end_io,
};
