/* Service-time path selector (the default): the candidate that would finish this command soonest. */
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"
#include "mpath/selector.h"
#include "mpath/selector_impl.h"

/*
 * Estimated service time of a command of `bytes` on a path:
 *     (bytes in flight on the path + bytes) * cost
 * where cost (microseconds per byte, the inverse of throughput) is estimated
 * per path from its completions:
 *
 *  - Each end_io gives a sample: the command's bytes, and the busy time it
 *    accounts for, from max(its start, the path's previous completion) to now.
 *    For a target that serves commands one after another this is exactly the
 *    command's service time; completions that arrive together give one long
 *    and some zero intervals, which average out. cost = EWMA(time) /
 *    EWMA(bytes), weight 1/8, so a path that turns slow is seen after a few
 *    completions. Zero-byte commands are not samples.
 *  - While a path is busy and has not completed anything for `age` us, its
 *    cost is at least age / (average in-flight command size): a path that
 *    stalls is avoided before its slow completions arrive.
 *  - While a path is idle its cost decays toward the neutral cost (1 / the
 *    mean throughput of all measured paths) with a half-life of decay_ms; the
 *    decayed value is kept when the path next starts a command. So a slow
 *    path that gets no I/O is tried again now and then with one command, and a
 *    path that recovered is measured as fast and gets its share back. After a
 *    long pause of the whole LU all estimates are alike again.
 *  - A path with no sample yet has the neutral cost, so it is tried at once.
 *
 * Estimates within 1/16 of each other count as equal; then fewer commands in
 * flight wins, then the next path in join order after the last choice, so
 * equal paths share the load even at queue depth 1.
 *
 * The selector's clock is the latest time given to start_io/end_io (select
 * gets none). Args: decay_ms=N (1..600000, default 100).
 */

#define ST_EWMA_DIV 8.0
#define ST_DEFAULT_COST 0.001   /* us per byte (1 GB/s) when no path has a sample */
#define ST_MIN_AVG_US 0.001     /* floor on the time EWMA, so cost is never 0 */
#define ST_MIN_CMD_BYTES 512.0  /* size assumed for a zero-byte command in the stall bound */

static const struct mp_sel_arg st_args[] = {
	{ .key = "decay_ms", .min = 1, .max = 600000, .def = 100 },
};

struct st_path {
	struct mp_sel_path base;   /* first */
	bool measured;             /* has at least one sample */
	double avg_us;             /* EWMA of busy time per completion */
	double avg_bytes;          /* EWMA of bytes per completion */
	uint64_t last_end_us;      /* last completion counted */
	uint64_t busy_from_us;     /* since then busy without a completion (valid while inflight > 0) */
};

struct st_lu {
	struct mp_sel_lu base;     /* first */
	uint64_t halflife_us;      /* decay_ms * 1000 */
};

static void *st_create(const char *args, char *err, size_t errlen)
{
	uint32_t vals[MP_ARRAY_SIZE(st_args)];
	if (mp_sel_parse_args("service-time", args, st_args, MP_ARRAY_SIZE(st_args), vals, err, errlen) < 0)
		return NULL;
	struct st_lu *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "service-time: out of memory");
		return NULL;
	}
	st->halflife_us = (uint64_t)vals[0] * 1000;
	return st;
}

static void st_add_path(void *st, struct mp_path *p)
{
	mp_sel_add(st, p, sizeof(struct st_path));
}

static double raw_cost(const struct st_path *sp)
{
	return MP_MAX(sp->avg_us, ST_MIN_AVG_US) / sp->avg_bytes;
}

/* 1 / mean throughput of the measured paths; ST_DEFAULT_COST if none is measured. */
static double neutral_cost(const struct st_lu *st)
{
	double tput = 0;
	size_t n = 0;
	for (size_t i = 0; i < st->base.n; i++) {
		const struct st_path *sp = (const struct st_path *)st->base.paths[i];
		if (sp->measured) {
			tput += 1.0 / raw_cost(sp);
			n++;
		}
	}
	return n ? (double)n / tput : ST_DEFAULT_COST;
}

/* 2^(-t/h), piecewise linear between powers of two; no libm. */
static double half_life_factor(uint64_t t, uint64_t h)
{
	uint64_t k = t / h;
	if (k >= 64)
		return 0;
	double frac = (double)(t % h) / (double)h;
	return (1.0 - frac / 2) / (double)((uint64_t)1 << k);
}

/* The cost select() uses now (see the comment at the top). sp may be NULL: a path not added. */
static double eff_cost(const struct st_lu *st, const struct st_path *sp)
{
	uint64_t now = st->base.now_us;
	if (!sp)
		return neutral_cost(st);
	double c;
	if (!sp->measured) {
		c = neutral_cost(st);
	} else {
		c = raw_cost(sp);
		if (sp->base.inflight == 0 && now > sp->last_end_us) {
			double neutral = neutral_cost(st);
			c = neutral + (c - neutral) * half_life_factor(now - sp->last_end_us, st->halflife_us);
		}
	}
	if (sp->base.inflight > 0 && now > sp->busy_from_us) {
		double avg = MP_MAX((double)sp->base.inflight_bytes / sp->base.inflight, ST_MIN_CMD_BYTES);
		double bound = (double)(now - sp->busy_from_us) / avg;
		if (bound > c)
			c = bound;
	}
	return c;
}

static struct mp_path *st_select(void *arg, struct mp_path *const *cands, size_t n, uint32_t bytes)
{
	struct st_lu *st = arg;
	size_t best = 0;
	double best_t = 0;
	uint32_t best_q = 0;
	uint64_t best_d = 0;
	for (size_t i = 0; i < n; i++) {
		const struct st_path *sp = cands[i]->sel;
		uint64_t in_bytes = sp ? sp->base.inflight_bytes : 0;
		double t = (double)(in_bytes + bytes) * eff_cost(st, sp);
		uint32_t q = sp ? sp->base.inflight : 0;
		uint64_t d = sp ? mp_sel_rr_dist(&st->base, &sp->base) : UINT64_MAX;
		bool better;
		if (i == 0)
			better = true;
		else if (t < best_t - best_t / 16)
			better = true;
		else if (t > best_t + best_t / 16)
			better = false;
		else
			better = q < best_q || (q == best_q && d < best_d);
		if (better) {
			best = i;
			best_t = t;
			best_q = q;
			best_d = d;
		}
	}
	return mp_sel_chose(&st->base, cands[best]);
}

static void st_start_io(void *arg, struct mp_path *p, uint32_t bytes, uint64_t now_us)
{
	struct st_lu *st = arg;
	if (now_us > st->base.now_us)
		st->base.now_us = now_us;
	struct st_path *sp = (struct st_path *)mp_sel_lookup(&st->base, p);
	if (sp && sp->base.inflight == 0) {
		/* Idle until now: keep the decayed estimate, start a new busy stretch. */
		if (sp->measured)
			sp->avg_us = eff_cost(st, sp) * sp->avg_bytes;
		sp->busy_from_us = now_us;
	}
	mp_sel_start(&st->base, p, bytes, now_us);
}

static void st_end_io(void *arg, struct mp_path *p, uint32_t bytes, uint64_t start_us, uint64_t now_us)
{
	struct st_lu *st = arg;
	struct st_path *sp = (struct st_path *)mp_sel_end(&st->base, p, bytes, start_us, now_us);
	if (!sp)
		return;
	uint64_t begin = MP_MAX(start_us, sp->last_end_us);
	double busy = now_us > begin ? (double)(now_us - begin) : 0;
	if (bytes > 0) {
		if (!sp->measured) {
			sp->avg_us = busy;
			sp->avg_bytes = bytes;
			sp->measured = true;
		} else {
			sp->avg_us += (busy - sp->avg_us) / ST_EWMA_DIV;
			sp->avg_bytes += ((double)bytes - sp->avg_bytes) / ST_EWMA_DIV;
		}
	}
	if (now_us > sp->last_end_us)
		sp->last_end_us = now_us;
	sp->busy_from_us = now_us;
}

const struct mp_selector_ops mp_selector_service_time = {
	.name = "service-time",
	/* args: decay_ms=N (1..600000, default 100): half-life of an idle path's estimate. */
	.create = st_create,
	/* Frees the per-path states still added. */
	.destroy = mp_sel_op_destroy,
	/* No sample yet: the path counts as average, so it is tried at once. */
	.add_path = st_add_path,
	/* Frees the path's state; its later end_io calls are ignored. */
	.remove_path = mp_sel_op_remove_path,
	/* Least estimated service time; then fewer in flight; then the next in join order. */
	.select = st_select,
	/* Counts the command in; an idle path keeps its decayed estimate. */
	.start_io = st_start_io,
	/* Counts it out and folds the busy time into the path's throughput estimate. */
	.end_io = st_end_io,
};
