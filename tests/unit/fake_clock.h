/* A hand-stepped clock and timers for unit tests of timing logic (header-only, test use only). */
#ifndef MP_TESTS_FAKE_CLOCK_H
#define MP_TESTS_FAKE_CLOCK_H

#include <stdbool.h>
#include <stdlib.h>
#include "common/clock.h"

#define FAKE_MAX_TIMERS 64

struct mp_timer {
	struct fake_clock *fc;
	mp_timer_fn *fn;
	void *arg;
	bool armed;
	uint64_t due;
};

struct fake_clock {
	uint64_t now;
	struct mp_timer *timers[FAKE_MAX_TIMERS];
	int n;
	struct mp_clock clock;
};

static uint64_t fake_now(void *ctx) { return ((struct fake_clock *)ctx)->now; }
static uint64_t fake_now_us(void *ctx) { return ((struct fake_clock *)ctx)->now * 1000; }

static struct mp_timer *fake_timer_new(void *ctx, mp_timer_fn *fn, void *arg)
{
	struct fake_clock *fc = ctx;
	if (fc->n >= FAKE_MAX_TIMERS)
		return NULL;
	struct mp_timer *t = calloc(1, sizeof(*t));
	t->fc = fc;
	t->fn = fn;
	t->arg = arg;
	fc->timers[fc->n++] = t;
	return t;
}

static void fake_timer_arm(struct mp_timer *t, uint64_t delay)
{
	t->armed = true;
	t->due = t->fc->now + delay;
}

static void fake_timer_cancel(struct mp_timer *t) { t->armed = false; }

static void fake_timer_free(struct mp_timer *t)
{
	if (!t)
		return;
	struct fake_clock *fc = t->fc;
	for (int i = 0; i < fc->n; i++)
		if (fc->timers[i] == t) {
			fc->timers[i] = fc->timers[--fc->n];
			break;
		}
	free(t);
}

static const struct mp_clock_ops fake_clock_ops = {
	.now_ms = fake_now,
	.now_us = fake_now_us,
	.timer_new = fake_timer_new,
	.timer_arm = fake_timer_arm,
	.timer_cancel = fake_timer_cancel,
	.timer_free = fake_timer_free,
};

static inline void fake_clock_init(struct fake_clock *fc)
{
	fc->now = 1000;
	fc->n = 0;
	fc->clock.ops = &fake_clock_ops;
	fc->clock.ctx = fc;
}

/* Fire every timer due at or before now+ms, earliest first, moving time as it goes. */
static inline void fake_clock_advance(struct fake_clock *fc, uint64_t ms)
{
	uint64_t end = fc->now + ms;
	for (int guard = 0; guard < 100000; guard++) {
		struct mp_timer *next = NULL;
		for (int i = 0; i < fc->n; i++) {
			struct mp_timer *t = fc->timers[i];
			if (t->armed && t->due <= end && (!next || t->due < next->due))
				next = t;
		}
		if (!next)
			break;
		if (next->due > fc->now)
			fc->now = next->due;
		next->armed = false;
		next->fn(next->arg);
	}
	fc->now = end;
}

#endif
