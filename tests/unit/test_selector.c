/* Unit tests of the path selectors (mpath/selector*.c) with fake paths and explicit times. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "mpath/selector.h"
#include "mpath/selector_impl.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#define NP 4
#define KIB4 4096u

static struct mp_path P[NP];   /* A, B, C, D */

static void init_paths(void)
{
	memset(P, 0, sizeof(P));
	for (int i = 0; i < NP; i++) {
		snprintf(P[i].name, sizeof(P[i].name), "%c", 'A' + i);
		P[i].id = (uint32_t)i + 1;
		P[i].state = MP_PATH_UP;
	}
}

static void *make(const struct mp_selector_ops *ops, const char *args)
{
	char err[256] = "";
	void *st = ops->create(args, err, sizeof(err));
	cr_assert_not_null(st, "%s create(\"%s\"): %s", ops->name, args ? args : "(null)", err);
	return st;
}

/* A selector with paths A.. (npaths of them) added. */
static void *make_with(const struct mp_selector_ops *ops, const char *args, int npaths)
{
	void *st = make(ops, args);
	for (int i = 0; i < npaths; i++)
		ops->add_path(st, &P[i]);
	return st;
}

static struct mp_path *const AB[] = { &P[0], &P[1] };
static struct mp_path *const ABC[] = { &P[0], &P[1], &P[2] };

/* The names of n choices among cands, as a string such as "ABCABC". */
static void choices(const struct mp_selector_ops *ops, void *st, struct mp_path *const *cands, size_t nc,
                    int n, char *out)
{
	for (int i = 0; i < n; i++) {
		struct mp_path *p = ops->select(st, cands, nc, KIB4);
		out[i] = p->name[0];
	}
	out[n] = '\0';
}

static uint32_t sel_inflight(const struct mp_path *p)
{
	const struct mp_sel_path *sp = p->sel;
	return sp ? sp->inflight : 0;
}

/* Destroy, and under ASan fail the test on a leak (Criterion ignores LSan's report at exit). */
static void destroy(const struct mp_selector_ops *ops, void *st)
{
	ops->destroy(st);
#ifdef __SANITIZE_ADDRESS__
	cr_expect_eq(__lsan_do_recoverable_leak_check(), 0, "%s: memory leaked (see the LeakSanitizer report)",
	             ops->name);
#endif
}

TestSuite(selector, .init = init_paths);

/* ---- registry and arguments ---- */

Test(selector, find_by_name)
{
	cr_assert_eq(mp_selector_find("round-robin"), &mp_selector_round_robin);
	cr_assert_eq(mp_selector_find("queue-length"), &mp_selector_queue_length);
	cr_assert_eq(mp_selector_find("service-time"), &mp_selector_service_time);
	cr_assert_eq(mp_selector_find(MP_SELECTOR_DEFAULT), &mp_selector_service_time);
	cr_assert_null(mp_selector_find("Round-Robin"));
	cr_assert_null(mp_selector_find(""));
	cr_assert_null(mp_selector_find(NULL));
}

struct argcase {
	const struct mp_selector_ops *ops;
	const char *args;
	const char *want_msg;   /* NULL: accepted */
};

static const struct argcase argcases[] = {
	{ &mp_selector_round_robin, NULL, NULL },
	{ &mp_selector_round_robin, "", NULL },
	{ &mp_selector_round_robin, "  ", NULL },
	{ &mp_selector_round_robin, "rr_min_io=1", NULL },
	{ &mp_selector_round_robin, " rr_min_io = 100000 ", NULL },
	{ &mp_selector_round_robin, "rr_min_io=0", "round-robin: rr_min_io='0' is not a number from 1 to 100000" },
	{ &mp_selector_round_robin, "rr_min_io=100001", "rr_min_io='100001' is not a number" },
	{ &mp_selector_round_robin, "rr_min_io=99999999999999999999", "is not a number" },
	{ &mp_selector_round_robin, "rr_min_io=-1", "is not a number" },
	{ &mp_selector_round_robin, "rr_min_io=5x", "is not a number" },
	{ &mp_selector_round_robin, "rr_min_io=", "is not a number" },
	{ &mp_selector_round_robin, "rr_min_io", "round-robin: argument 'rr_min_io' is not key=value" },
	{ &mp_selector_round_robin, "rr_min_io=1,", "argument '' is not key=value" },
	{ &mp_selector_round_robin, "rr_min_io=1,rr_min_io=2", "argument 'rr_min_io' given twice" },
	{ &mp_selector_round_robin, "min_io=3", "round-robin: unknown argument 'min_io'" },
	{ &mp_selector_queue_length, "", NULL },
	{ &mp_selector_queue_length, "rr_min_io=3", "queue-length: unknown argument 'rr_min_io' (it takes none)" },
	{ &mp_selector_service_time, "", NULL },
	{ &mp_selector_service_time, "decay_ms=500", NULL },
	{ &mp_selector_service_time, "decay_ms=0", "service-time: decay_ms='0' is not a number from 1 to 600000" },
	{ &mp_selector_service_time, "rr_min_io=3", "service-time: unknown argument 'rr_min_io'" },
};

Test(selector, args_table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(argcases); i++) {
		const struct argcase *c = &argcases[i];
		char err[256] = "";
		void *st = c->ops->create(c->args, err, sizeof(err));
		if (!c->want_msg) {
			cr_expect_not_null(st, "%s \"%s\" rejected: %s", c->ops->name, c->args ? c->args : "(null)", err);
		} else {
			cr_expect_null(st, "%s \"%s\" accepted", c->ops->name, c->args);
			cr_expect(strstr(err, c->want_msg) != NULL, "%s \"%s\": message \"%s\", want \"%s\"",
			          c->ops->name, c->args, err, c->want_msg);
		}
		if (st)
			destroy(c->ops, st);
	}
}

/* ---- round-robin ---- */

Test(selector, rr_rotation)
{
	const struct mp_selector_ops *ops = &mp_selector_round_robin;
	void *st = make_with(ops, "", 3);
	struct mp_path *cab[] = { &P[2], &P[0], &P[1] };
	char got[32];
	choices(ops, st, ABC, 3, 7, got);
	cr_expect_str_eq(got, "ABCABCA");
	/* The order of the candidate array does not matter: the rotation goes on. */
	choices(ops, st, cab, 3, 5, got);
	cr_expect_str_eq(got, "BCABC");
	destroy(ops, st);
}

Test(selector, rr_min_io_honoured)
{
	const struct mp_selector_ops *ops = &mp_selector_round_robin;
	void *st = make_with(ops, "rr_min_io=3", 3);
	char got[32];
	choices(ops, st, ABC, 3, 11, got);
	cr_expect_str_eq(got, "AAABBBCCCAA");
	/* A leaves the candidates in the middle of its turn: B takes over for a full turn. */
	struct mp_path *bc[] = { &P[1], &P[2] };
	choices(ops, st, bc, 2, 4, got);
	cr_expect_str_eq(got, "BBBC");
	destroy(ops, st);
}

Test(selector, rr_candidates_change)
{
	const struct mp_selector_ops *ops = &mp_selector_round_robin;
	void *st = make_with(ops, "", 3);
	struct mp_path *ac[] = { &P[0], &P[2] };
	char got[32];
	choices(ops, st, ABC, 3, 2, got);
	cr_expect_str_eq(got, "AB");
	/* B fails: the rotation goes on after B (to C), it does not restart at A. */
	choices(ops, st, ac, 2, 3, got);
	cr_expect_str_eq(got, "CAC");
	/* B is back: it gets its turn in its place. */
	choices(ops, st, ABC, 3, 4, got);
	cr_expect_str_eq(got, "ABCA");
	/* B is removed during its turn, D joins: D comes after C. */
	struct mp_path *p = ops->select(st, ABC, 3, KIB4);
	cr_expect_eq(p, &P[1]);
	ops->remove_path(st, &P[1]);
	ops->add_path(st, &P[3]);
	struct mp_path *acd[] = { &P[3], &P[0], &P[2] };
	choices(ops, st, acd, 3, 6, got);
	cr_expect_str_eq(got, "CDACDA");
	destroy(ops, st);
}

Test(selector, rr_equal_share_with_churn)
{
	/* Candidates come and go at random; every candidate set still rotates evenly. */
	const struct mp_selector_ops *ops = &mp_selector_round_robin;
	void *st = make_with(ops, "rr_min_io=2", NP);
	unsigned seed = 12345;
	int count[NP] = { 0 };
	for (int round = 0; round < 200; round++) {
		seed = seed * 1103515245 + 12345;
		struct mp_path *cands[NP];
		size_t n = 0;
		for (int i = 0; i < NP; i++)
			if ((seed >> (8 + i)) & 1 || i == 0)
				cands[n++] = &P[i];
		for (int k = 0; k < 4 * 2 * (int)n; k++) {
			struct mp_path *p = ops->select(st, cands, n, KIB4);
			count[p->id - 1]++;
		}
	}
	/* A is always a candidate; the others about half the time. */
	cr_expect_gt(count[0], count[1]);
	for (int i = 1; i < NP; i++)
		cr_expect_gt(count[i], count[0] / 4, "path %d got %d, A %d", i, count[i], count[0]);
	destroy(ops, st);
}

/* ---- queue-length ---- */

Test(selector, ql_least_loaded)
{
	const struct mp_selector_ops *ops = &mp_selector_queue_length;
	void *st = make_with(ops, "", 3);
	uint64_t t = 1000;
	ops->start_io(st, &P[0], KIB4, t);
	ops->start_io(st, &P[0], KIB4, t);
	ops->start_io(st, &P[2], KIB4, t);
	cr_expect_eq(ops->select(st, ABC, 3, KIB4), &P[1]);
	ops->start_io(st, &P[1], KIB4, t);
	ops->start_io(st, &P[1], KIB4, t);
	cr_expect_eq(ops->select(st, ABC, 3, KIB4), &P[2]);   /* C 1, A 2, B 2 */
	ops->end_io(st, &P[0], KIB4, t, t + 10);
	ops->end_io(st, &P[0], KIB4, t, t + 20);
	cr_expect_eq(ops->select(st, ABC, 3, KIB4), &P[0]);   /* A 0 */
	cr_expect_eq(sel_inflight(&P[0]), 0);
	cr_expect_eq(sel_inflight(&P[1]), 2);
	destroy(ops, st);
}

Test(selector, ql_ties_rotate)
{
	const struct mp_selector_ops *ops = &mp_selector_queue_length;
	void *st = make_with(ops, "", 3);
	char got[32];
	choices(ops, st, ABC, 3, 6, got);
	cr_expect_str_eq(got, "ABCABC");
	/* Depth-1 traffic (each command done before the next) still spreads over all paths. */
	int count[3] = { 0 };
	for (uint64_t t = 0; t < 300; t++) {
		struct mp_path *p = ops->select(st, ABC, 3, KIB4);
		ops->start_io(st, p, KIB4, t * 10);
		ops->end_io(st, p, KIB4, t * 10, t * 10 + 5);
		count[p->id - 1]++;
	}
	cr_expect(count[0] == 100 && count[1] == 100 && count[2] == 100, "%d %d %d", count[0], count[1],
	          count[2]);
	destroy(ops, st);
}

/* ---- service-time: basics ---- */

Test(selector, st_basics)
{
	const struct mp_selector_ops *ops = &mp_selector_service_time;
	void *st = make_with(ops, "", 2);
	char got[32];
	/* Nothing known: equal, so in turn. */
	choices(ops, st, AB, 2, 4, got);
	cr_expect_str_eq(got, "ABAB");
	/* A measured at 100 us and B at 1000 us per 4 KiB, both idle: A. */
	ops->start_io(st, &P[0], KIB4, 0);
	ops->start_io(st, &P[1], KIB4, 0);
	ops->end_io(st, &P[0], KIB4, 0, 100);
	ops->end_io(st, &P[1], KIB4, 0, 1000);
	choices(ops, st, AB, 2, 3, got);
	cr_expect_str_eq(got, "AAA");
	/* A with 9 in flight (10 x 100 us) is equal to idle B (1000 us): fewer in flight wins. */
	for (int i = 0; i < 9; i++)
		ops->start_io(st, &P[0], KIB4, 1000);
	cr_expect_eq(ops->select(st, AB, 2, KIB4), &P[1]);
	/* A path not added (no state) is still a valid answer. */
	struct mp_path *c[] = { &P[2] };
	cr_expect_eq(ops->select(st, c, 1, KIB4), &P[2]);
	destroy(ops, st);
}

Test(selector, st_idle_estimate_decays)
{
	const struct mp_selector_ops *ops = &mp_selector_service_time;
	void *st = make_with(ops, "decay_ms=10", 2);
	char got[32];
	ops->start_io(st, &P[0], KIB4, 0);
	ops->start_io(st, &P[1], KIB4, 0);
	ops->end_io(st, &P[0], KIB4, 0, 100);
	ops->end_io(st, &P[1], KIB4, 0, 10000);
	choices(ops, st, AB, 2, 3, got);
	cr_expect_str_eq(got, "AAA");
	/* 10 ms later (one half-life) B is still far slower. The selector's clock moves with
	 * any start_io, here one for a path that is not added. */
	ops->start_io(st, &P[3], KIB4, 20000);
	choices(ops, st, AB, 2, 3, got);
	cr_expect_str_eq(got, "AAA");
	/* After a second of idleness (100 half-lives) both are back at the neutral value: in turn. */
	ops->start_io(st, &P[3], KIB4, 1010000);
	choices(ops, st, AB, 2, 4, got);
	cr_expect_str_eq(got, "BABA");
	destroy(ops, st);
}

Test(selector, st_stalled_path_avoided)
{
	const struct mp_selector_ops *ops = &mp_selector_service_time;
	void *st = make_with(ops, "", 2);
	/* Both measured at 100 us per 4 KiB. */
	ops->start_io(st, &P[0], KIB4, 0);
	ops->start_io(st, &P[1], KIB4, 0);
	ops->end_io(st, &P[0], KIB4, 0, 100);
	ops->end_io(st, &P[1], KIB4, 0, 100);
	/* A: one command out since 1000 us. B: busy, completing at its usual pace. */
	ops->start_io(st, &P[0], KIB4, 1000);
	for (int i = 0; i < 4; i++)
		ops->start_io(st, &P[1], KIB4, 2900);
	ops->end_io(st, &P[1], KIB4, 2900, 3000);
	/* At 3000 us A has not completed for 2 ms: by its old estimate (2 x 100 us) it would beat B
	 * (4 x 100 us), but the stall says it is at least 20 times slower now. */
	cr_expect_eq(ops->select(st, AB, 2, KIB4), &P[1]);
	destroy(ops, st);
}

/* ---- service-time: simulation ---- */

#define SIM_DEPTH 16

/*
 * Event-driven simulation with a fake clock: SIM_DEPTH commands of 4 KiB always
 * outstanding; each path serves its commands one after another, svc_us each.
 * A completion ends a command (end_io) and starts the next (select, start_io)
 * at the same time.
 */
struct sim_cmd {
	struct mp_path *path;
	uint64_t start_us, done_us;
};

struct sim {
	const struct mp_selector_ops *ops;
	void *st;
	struct mp_path *cands[NP];
	size_t n;
	uint64_t svc_us[NP];
	uint64_t busy_until[NP];
	struct sim_cmd cmd[SIM_DEPTH];
	uint64_t now;
};

static void sim_issue(struct sim *s, struct sim_cmd *c)
{
	struct mp_path *p = s->ops->select(s->st, s->cands, s->n, KIB4);
	int i = (int)p->id - 1;
	s->ops->start_io(s->st, p, KIB4, s->now);
	c->path = p;
	c->start_us = s->now;
	c->done_us = MP_MAX(s->now, s->busy_until[i]) + s->svc_us[i];
	s->busy_until[i] = c->done_us;
}

static void sim_init(struct sim *s, const struct mp_selector_ops *ops, const char *args, size_t n,
                     const uint64_t *svc_us)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->st = make(ops, args);
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->cands[i] = &P[i];
		s->svc_us[i] = svc_us[i];
		ops->add_path(s->st, &P[i]);
	}
	for (int k = 0; k < SIM_DEPTH; k++)
		sim_issue(s, &s->cmd[k]);
}

/* Run until `ncmds` more commands have been started; count them per path. */
static void sim_run(struct sim *s, int ncmds, int *count)
{
	for (size_t i = 0; i < s->n; i++)
		count[i] = 0;
	for (int done = 0; done < ncmds; done++) {
		struct sim_cmd *c = &s->cmd[0];
		for (int k = 1; k < SIM_DEPTH; k++)
			if (s->cmd[k].done_us < c->done_us)
				c = &s->cmd[k];
		s->now = c->done_us;
		s->ops->end_io(s->st, c->path, KIB4, c->start_us, s->now);
		sim_issue(s, c);
		count[c->path->id - 1]++;
	}
}

static void sim_fini(struct sim *s)
{
	destroy(s->ops, s->st);
}

Test(selector, st_sim_slow_path_small_share)
{
	struct sim s;
	int count[NP];
	sim_init(&s, &mp_selector_service_time, "", 2, (const uint64_t[]){ 100, 10000 });
	sim_run(&s, 20000, count);
	cr_expect_lt(count[1] * 10, 20000, "slow path got %d of 20000", count[1]);
	cr_expect_gt(count[1], 0, "the slow path is still probed now and then");
	/* The slow path recovers: within 1000 commands it must be back to a fair share. */
	s.svc_us[1] = 100;
	sim_run(&s, 1000, count);
	sim_run(&s, 1000, count);
	cr_expect_geq(count[1] * 10, 1000 * 3, "recovered path got %d of 1000", count[1]);
	sim_fini(&s);
}

Test(selector, st_sim_path_turns_slow)
{
	struct sim s;
	int count[NP];
	sim_init(&s, &mp_selector_service_time, "", 2, (const uint64_t[]){ 100, 100 });
	sim_run(&s, 5000, count);
	cr_expect_geq(count[1] * 10, 5000 * 4, "equal paths: B got %d of 5000", count[1]);
	/* B is rate-limited (20 Mbit/s against 1 Gbit/s: 50 times slower); within 500 commands it
	 * must be down to a small share. */
	s.svc_us[1] = 5000;
	sim_run(&s, 500, count);
	sim_run(&s, 5000, count);
	cr_expect_lt(count[1] * 10, 5000, "slow B got %d of 5000", count[1]);
	sim_fini(&s);
}

Test(selector, st_sim_three_paths)
{
	/* Two fast paths share evenly; the slow third one stays small. */
	struct sim s;
	int count[NP];
	sim_init(&s, &mp_selector_service_time, "", 3, (const uint64_t[]){ 100, 100, 10000 });
	sim_run(&s, 20000, count);
	cr_expect_lt(count[2] * 10, 20000, "slow C got %d", count[2]);
	cr_expect_lt(abs(count[0] - count[1]), 2000, "A %d, B %d", count[0], count[1]);
	sim_fini(&s);
}

Test(selector, ql_sim_slow_path)
{
	/* Queue-length also sends less to a slow path, though not as little. */
	struct sim s;
	int count[NP];
	sim_init(&s, &mp_selector_queue_length, "", 2, (const uint64_t[]){ 100, 10000 });
	sim_run(&s, 20000, count);
	cr_expect_lt(count[1] * 5, 20000, "slow path got %d of 20000", count[1]);
	sim_fini(&s);
}

/* ---- lifetime: add/remove with commands in flight (run under ASan) ---- */

Test(selector, end_io_after_remove_is_ignored)
{
	const struct mp_selector_ops *all[] = { &mp_selector_round_robin, &mp_selector_queue_length,
	                                        &mp_selector_service_time };
	for (size_t k = 0; k < MP_ARRAY_SIZE(all); k++) {
		init_paths();
		const struct mp_selector_ops *ops = all[k];
		void *st = make_with(ops, "", 2);
		for (int i = 0; i < 6; i++) {
			struct mp_path *p = ops->select(st, AB, 2, KIB4);
			ops->start_io(st, p, KIB4, 10);
		}
		cr_expect_eq(sel_inflight(&P[0]), 3, "%s", ops->name);
		ops->remove_path(st, &P[0]);
		cr_expect_null(P[0].sel, "%s: sel slot cleared", ops->name);
		ops->end_io(st, &P[0], KIB4, 10, 20);      /* removed: ignored */
		/* A comes back while two of its old commands are still out. */
		ops->start_io(st, &P[1], KIB4, 30);       /* the selector's clock is now 30 */
		ops->add_path(st, &P[0]);
		ops->start_io(st, &P[0], KIB4, 40);
		ops->end_io(st, &P[0], KIB4, 10, 50);      /* old incarnation: ignored */
		ops->end_io(st, &P[0], KIB4, 10, 60);
		cr_expect_eq(sel_inflight(&P[0]), 1, "%s: stale completions ignored", ops->name);
		ops->end_io(st, &P[0], KIB4, 40, 70);
		ops->end_io(st, &P[0], KIB4, 40, 80);      /* one too many: counters stay at 0 */
		cr_expect_eq(sel_inflight(&P[0]), 0, "%s", ops->name);
		/* After remove_path, end_io does not read the path: scribble over it (a wild
		 * sel pointer would crash under ASan). */
		struct mp_path *gone = calloc(1, sizeof(*gone));
		gone->id = 9;
		ops->add_path(st, gone);
		ops->start_io(st, gone, KIB4, 90);
		ops->remove_path(st, gone);
		memset(gone, 0xa5, sizeof(*gone));
		ops->end_io(st, gone, KIB4, 90, 100);
		free(gone);
		/* A path that was never added. */
		ops->end_io(st, &P[3], KIB4, 0, 110);
		ops->start_io(st, &P[3], KIB4, 110);
		for (int i = 0; i < 4; i++)
			cr_expect(ops->select(st, AB, 2, KIB4) != NULL);
		/* Destroy with paths still added and commands in flight: no leak. */
		destroy(ops, st);
	}
}

Test(selector, remove_all_and_readd)
{
	const struct mp_selector_ops *ops = &mp_selector_service_time;
	void *st = make(ops, "");
	uint64_t t = 0;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 3; i++)
			ops->add_path(st, &P[i]);
		struct mp_path *out[8];
		uint64_t start[8];
		for (int i = 0; i < 8; i++) {
			out[i] = ops->select(st, ABC, 3, KIB4 * (uint32_t)(i + 1));
			start[i] = ++t;
			ops->start_io(st, out[i], KIB4 * (uint32_t)(i + 1), start[i]);
		}
		for (int i = 0; i < 3; i++)
			ops->remove_path(st, &P[i]);
		for (int i = 0; i < 8; i++)
			ops->end_io(st, out[i], KIB4 * (uint32_t)(i + 1), start[i], ++t);
	}
	destroy(ops, st);
}
