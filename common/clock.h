/* Injected clock and one-shot timers, so that core logic runs on libev or on a fake clock in tests. */
#ifndef MP_COMMON_CLOCK_H
#define MP_COMMON_CLOCK_H

#include <stdint.h>

struct mp_timer;
typedef void mp_timer_fn(void *arg);

struct mp_clock_ops {
	/* Monotonic milliseconds. */
	uint64_t (*now_ms)(void *ctx);
	/* The same clock in microseconds (for latencies). */
	uint64_t (*now_us)(void *ctx);
	/* A disarmed one-shot timer that will call fn(arg) when it fires. NULL on ENOMEM. */
	struct mp_timer *(*timer_new)(void *ctx, mp_timer_fn *fn, void *arg);
	/* (Re)arm to fire once after delay_ms; re-arming an armed timer moves it. */
	void (*timer_arm)(struct mp_timer *t, uint64_t delay_ms);
	/* Disarm; harmless when not armed. */
	void (*timer_cancel)(struct mp_timer *t);
	/* Disarm and release. NULL is ignored. */
	void (*timer_free)(struct mp_timer *t);
};

struct mp_clock {
	const struct mp_clock_ops *ops;
	void *ctx;
};

static inline uint64_t mp_clock_now(const struct mp_clock *c) { return c->ops->now_ms(c->ctx); }
static inline uint64_t mp_clock_now_us(const struct mp_clock *c) { return c->ops->now_us(c->ctx); }

#endif
