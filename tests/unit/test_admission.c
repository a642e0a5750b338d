/* Unit tests of common/admission.c with fake clients: oldest-first eviction, clients past their first request untouched, max_clients, a lowered budget, the no-budget switch, the rate-limited warning. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <ev.h>

#include "common/admission.h"
#include "common/util.h"

#define N 16

/* A fake client: counts as a client until evicted. */
struct fake {
	struct mp_admit_entry e;
	bool open;
	unsigned id;
};

static struct ev_loop *loop;
static struct mp_admit adm;
static struct fake cl[N];
static unsigned n_open;
static unsigned order[N], n_evicted;      /* ids in the order they were evicted */
static uint64_t logged[N];                /* counts the warnings carried */
static unsigned n_logs;

static void evict(struct mp_admit *a, struct mp_admit_entry *e)
{
	cr_assert_eq(a, &adm);
	struct fake *f = mp_container_of(e, struct fake, e);
	cr_assert(f->open, "client %u evicted twice", f->id);
	mp_admit_end(a, e);
	f->open = false;
	n_open--;
	order[n_evicted++] = f->id;
}

static void log_cb(struct mp_admit *a MP_UNUSED, uint64_t n)
{
	cr_assert_lt(n_logs, N);
	logged[n_logs++] = n;
}

static void setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	mp_admit_init(&adm, loop, evict, log_cb);
	memset(cl, 0, sizeof(cl));
	n_open = n_evicted = n_logs = 0;
}

static void teardown(void)
{
	mp_admit_stop(&adm);
	ev_loop_destroy(loop);
}

TestSuite(admission, .init = setup, .fini = teardown);

/* A newcomer as the owners do it: make room, then either refuse or open and enter pending. */
static bool newcomer(unsigned id)
{
	if (!mp_admit_newcomer(&adm, n_open))
		return false;
	cl[id] = (struct fake){ .open = true, .id = id };
	n_open++;
	mp_admit_begin(&adm, &cl[id].e);
	return true;
}

Test(admission, oldest_pending_goes_first)
{
	adm.max_pending = 3;
	adm.max_clients = 10;
	for (unsigned i = 0; i < 3; i++)
		cr_assert(newcomer(i));
	mp_admit_end(&adm, &cl[0].e);  /* client 0 sent its request: never evicted */
	mp_admit_end(&adm, &cl[0].e);  /* idempotent */
	cr_assert(newcomer(3));
	cr_expect_eq(n_evicted, 0, "evicted below the budget");
	cr_assert(newcomer(4));        /* 1, 2, 3 pending: the oldest, 1, goes */
	cr_assert(newcomer(5));
	cr_expect_eq(n_evicted, 2);
	cr_expect_eq(order[0], 1);
	cr_expect_eq(order[1], 2);
	cr_expect(cl[0].open, "a client past its first request was evicted");
	cr_expect_eq(adm.n_pending, 3);
	cr_expect_eq(adm.evictions, 2);
}

/* At max_clients one pending client makes room; with none pending the newcomer is refused. */
Test(admission, max_clients)
{
	adm.max_pending = 10;
	adm.max_clients = 3;
	for (unsigned i = 0; i < 3; i++)
		cr_assert(newcomer(i));
	cr_expect(newcomer(3), "no room made at max_clients");
	cr_expect_eq(order[0], 0);
	for (unsigned i = 1; i < 4; i++)
		mp_admit_end(&adm, &cl[i].e);
	cr_expect_not(newcomer(4), "admitted beyond max_clients with nothing pending");
	cr_expect_eq(n_evicted, 1);
	cr_expect_eq(n_open, 3);
}

/* A lowered budget (a reload) evicts down to it for the next newcomer. */
Test(admission, lowered_budget)
{
	adm.max_pending = 8;
	adm.max_clients = 16;
	for (unsigned i = 0; i < 6; i++)
		cr_assert(newcomer(i));
	adm.max_pending = 2;
	cr_assert(newcomer(6));
	cr_expect_eq(n_evicted, 5);
	cr_expect_eq(adm.n_pending, 2);
}

Test(admission, no_budget_evicts_nothing)
{
	adm.no_budget = true;
	adm.max_pending = 1;
	adm.max_clients = 3;
	for (unsigned i = 0; i < 3; i++)
		cr_assert(newcomer(i));
	cr_expect_not(newcomer(3));
	cr_expect_eq(n_evicted, 0);
}

static void stop_cb(struct ev_loop *l, ev_timer *w MP_UNUSED, int revents MP_UNUSED)
{
	ev_break(l, EVBREAK_ALL);
}

/* The first eviction is logged at once, the rest of the interval in one line with its count. */
Test(admission, warning_is_rate_limited)
{
	adm.max_pending = 1;
	adm.max_clients = N;
	adm.log_interval = 0.2;
	for (unsigned i = 0; i < 8; i++)
		cr_assert(newcomer(i));        /* 7 evictions */
	cr_expect_eq(n_logs, 1);
	cr_expect_eq(logged[0], 1);
	ev_timer t;
	ev_timer_init(&t, stop_cb, 0.5, 0.);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	cr_expect_eq(n_logs, 2, "%u warnings", n_logs);
	cr_expect_eq(logged[1], 6);
	cr_expect_eq(adm.evictions, 7);
}
