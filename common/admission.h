/* A server's admission budget: clients still without a first complete request, oldest first; a newcomer closes the oldest; a rate-limited warning counts those closures. */
#ifndef MP_COMMON_ADMISSION_H
#define MP_COMMON_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>
#include <ev.h>

#define MP_ADMIT_LOG_INTERVAL_S 10.0  /* at most one warning about evictions this often */

/* Embedded in each client of the owner; mp_container_of() finds the client again. */
struct mp_admit_entry {
	struct mp_admit_entry *prev, *next;
	bool pending;                /* in the pending list */
};

struct mp_admit;
/*
 * Close the client that owns e, now: before returning it must have called mp_admit_end(a, e)
 * and stopped counting as one of the owner's clients (mp_admit_newcomer relies on both).
 */
typedef void mp_admit_evict_fn(struct mp_admit *a, struct mp_admit_entry *e);
/* Write the warning about n evictions since the previous warning (the owner's wording). */
typedef void mp_admit_log_fn(struct mp_admit *a, uint64_t n);

/*
 * Contract
 * - Pending clients (connected, no complete first request or handshake yet) may be closed for
 *   a newcomer, oldest first: a client that never sends a byte cannot lock others out. A
 *   client that left the pending list is never closed for a newcomer.
 * - mp_admit_newcomer(a, n_clients) makes room before a newcomer is set up: while max_pending
 *   clients are pending it closes the oldest; then, if n_clients (less those closed) has
 *   reached max_clients and one is still pending, the oldest of those too (it has had its
 *   chance the longest). It returns whether the newcomer fits under max_clients; if not, the
 *   owner refuses it. With no_budget set nothing is closed.
 * - One warning line per closure would let a flood fill the log: the first closure is logged
 *   at once, later ones at most once per log_interval with the count since the previous line.
 * - Everything runs on loop; the struct is embedded in the owner, which sets the fields
 *   marked "owner's" at any time.
 */
struct mp_admit {
	unsigned max_pending;        /* owner's: more pending clients than this are closed */
	unsigned max_clients;        /* owner's: all clients, pending or not */
	bool no_budget;              /* owner's: never close a client (its test hook) */
	ev_tstamp log_interval;      /* owner's: MP_ADMIT_LOG_INTERVAL_S unless set (tests shorten it) */
	unsigned n_pending;          /* read-only: clients in the pending list */
	uint64_t evictions;          /* read-only: clients closed for newcomers, ever */
	/* private */
	struct ev_loop *loop;
	struct mp_admit_entry *head, *tail;  /* pending clients, oldest first */
	mp_admit_evict_fn *evict;
	mp_admit_log_fn *log;
	uint64_t unlogged;           /* evictions not yet in a warning */
	ev_tstamp logged_at;         /* when the last warning was written */
	ev_timer log_timer;          /* writes the warning for evictions within the interval */
};

void mp_admit_init(struct mp_admit *a, struct ev_loop *loop, mp_admit_evict_fn *evict, mp_admit_log_fn *log);
/* A new client enters the pending list (newest last). */
void mp_admit_begin(struct mp_admit *a, struct mp_admit_entry *e);
/* e leaves the pending list (its first request arrived, or it is closing). Idempotent. */
void mp_admit_end(struct mp_admit *a, struct mp_admit_entry *e);
/* Make room for a newcomer (see the contract); n_clients: the owner's clients now. */
bool mp_admit_newcomer(struct mp_admit *a, unsigned n_clients);
/* Stop the warning timer (evictions not yet logged are dropped); before freeing the owner. */
void mp_admit_stop(struct mp_admit *a);

#endif
