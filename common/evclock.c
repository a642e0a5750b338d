/* struct mp_clock on a libev loop: ev_now() for time, ev_timer for one-shot timers. */
#include "common/evclock.h"

#include <stdlib.h>
#include "common/util.h"

struct mp_timer {
	ev_timer w;            /* first, so the callback can cast back */
	struct ev_loop *loop;
	mp_timer_fn *fn;
	void *arg;
};

static uint64_t ev_now_ms(void *ctx)
{
	struct ev_loop *loop = ctx;
	return (uint64_t)(ev_now(loop) * 1000.0);
}

static uint64_t ev_now_us(void *ctx)
{
	struct ev_loop *loop = ctx;
	return (uint64_t)(ev_now(loop) * 1e6);
}

static void ev_timer_fire(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_timer *t = (struct mp_timer *)w;
	t->fn(t->arg);
}

static struct mp_timer *ev_timer_new_(void *ctx, mp_timer_fn *fn, void *arg)
{
	struct mp_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = ctx;
	t->fn = fn;
	t->arg = arg;
	ev_timer_init(&t->w, ev_timer_fire, 0., 0.);
	return t;
}

static void ev_timer_arm_(struct mp_timer *t, uint64_t delay_ms)
{
	ev_timer_stop(t->loop, &t->w);
	ev_timer_set(&t->w, (double)delay_ms / 1000.0, 0.);
	ev_timer_start(t->loop, &t->w);
}

static void ev_timer_cancel_(struct mp_timer *t) { ev_timer_stop(t->loop, &t->w); }

static void ev_timer_free_(struct mp_timer *t)
{
	if (!t)
		return;
	ev_timer_stop(t->loop, &t->w);
	free(t);
}

static const struct mp_clock_ops evclock_ops = {
	.now_ms = ev_now_ms,
	.now_us = ev_now_us,
	.timer_new = ev_timer_new_,
	.timer_arm = ev_timer_arm_,
	.timer_cancel = ev_timer_cancel_,
	.timer_free = ev_timer_free_,
};

void mp_evclock_init(struct mp_clock *clock, struct ev_loop *loop)
{
	clock->ops = &evclock_ops;
	clock->ctx = loop;
}
