/* The libev implementation of struct mp_clock. */
#ifndef MP_COMMON_EVCLOCK_H
#define MP_COMMON_EVCLOCK_H

#include <ev.h>
#include "common/clock.h"

/* A clock whose timers run on loop; ctx is the loop. */
void mp_evclock_init(struct mp_clock *clock, struct ev_loop *loop);

#endif
