/* The admission budget shared by the NBD server (pending handshakes) and the control socket (clients without a request). */
#include "common/admission.h"

#include <assert.h>
#include <stddef.h>
#include "common/util.h"

static void write_log(struct mp_admit *a)
{
	a->log(a, a->unlogged);
	a->unlogged = 0;
	a->logged_at = ev_now(a->loop);
}

static void log_timer_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_admit *a = mp_container_of(w, struct mp_admit, log_timer);
	if (a->unlogged)
		write_log(a);
}

void mp_admit_init(struct mp_admit *a, struct ev_loop *loop, mp_admit_evict_fn *evict, mp_admit_log_fn *log)
{
	*a = (struct mp_admit){ .loop = loop, .evict = evict, .log = log, .log_interval = MP_ADMIT_LOG_INTERVAL_S };
	a->logged_at = -1e9;  /* the first eviction is logged at once */
	ev_timer_init(&a->log_timer, log_timer_cb, MP_ADMIT_LOG_INTERVAL_S, 0.);
}

void mp_admit_begin(struct mp_admit *a, struct mp_admit_entry *e)
{
	e->pending = true;
	e->next = NULL;
	e->prev = a->tail;
	if (a->tail)
		a->tail->next = e;
	else
		a->head = e;
	a->tail = e;
	a->n_pending++;
}

void mp_admit_end(struct mp_admit *a, struct mp_admit_entry *e)
{
	if (!e->pending)
		return;
	if (e->prev)
		e->prev->next = e->next;
	else
		a->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		a->tail = e->prev;
	e->prev = e->next = NULL;
	e->pending = false;
	a->n_pending--;
}

/* Close the oldest pending client, counting it for the warning. */
static void evict_oldest(struct mp_admit *a)
{
	struct mp_admit_entry *old = a->head;

	a->evictions++;
	a->unlogged++;
	ev_tstamp wait = a->logged_at + a->log_interval - ev_now(a->loop);
	if (wait <= 0) {
		write_log(a);
	} else if (!ev_is_active(&a->log_timer)) {
		ev_timer_set(&a->log_timer, wait, 0.);
		ev_timer_start(a->loop, &a->log_timer);
	}
	unsigned pending = a->n_pending;
	a->evict(a, old);  /* old is freed by now */
	assert(a->n_pending < pending);  /* the evict contract: else the caller's loop would not end */
	(void)pending;
}

bool mp_admit_newcomer(struct mp_admit *a, unsigned n_clients)
{
	if (!a->no_budget) {
		/* A loop, not an if: a reload may have lowered the budget below what is pending. */
		while (a->head && a->n_pending >= a->max_pending) {
			evict_oldest(a);
			n_clients--;
		}
		/* At max_clients a newcomer is worth as much as the oldest pending client. */
		if (a->head && n_clients >= a->max_clients) {
			evict_oldest(a);
			n_clients--;
		}
	}
	return n_clients < a->max_clients;
}

void mp_admit_stop(struct mp_admit *a)
{
	ev_timer_stop(a->loop, &a->log_timer);
}
