/* A listening socket on a libev loop: accepts in batches, hands each client fd to a callback, backs off when out of descriptors or memory. */
#ifndef MP_COMMON_LISTENER_H
#define MP_COMMON_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <ev.h>
#include "common/unix_listen.h"

#define MP_LISTENER_BACKOFF_S 1.0   /* default pause after EMFILE, ENFILE, ENOBUFS, ENOMEM */
#define MP_LISTENER_BATCH     16u   /* default accepts per readiness wake-up */
/* Test hook, read by mp_listener_new*(): with it set, a failing accept() does not pause the
 * listener (the old spin on a ready socket comes back; test_listener shows it). */
#define MP_LISTENER_TEST_NO_BACKOFF_ENV "MPISCSI_TEST_NO_ACCEPT_BACKOFF"

struct mp_listener;

/*
 * A new client: fd is connected, non-blocking and close-on-exec, and now belongs to the
 * callee. The callback may call mp_listener_pause() (a client budget is full: the batch
 * stops there) and mp_listener_free() (freed once the callback has returned).
 */
typedef void mp_listener_accept_fn(struct mp_listener *l, int fd, void *arg);

struct mp_listener_opts {
	const char *who;       /* log prefix, "nbd" or "control" */
	const char *name;      /* the address for logs ("unix:/run/x.sock", "tcp:127.0.0.1:10809"); copied */
	unsigned batch;        /* accepts per wake-up, so one busy listener does not starve the loop (0: MP_LISTENER_BATCH) */
	double backoff_s;      /* pause after a resource error (<= 0: MP_LISTENER_BACKOFF_S) */
	mp_listener_accept_fn *accept;
	void *arg;
	/* Tests only (NULL everywhere else): stands in for accept4(fd, NULL, NULL, SOCK_NONBLOCK |
	 * SOCK_CLOEXEC), so a unit test can fail it without taking a client off the backlog. */
	int (*sys_accept)(int fd);
};

/*
 * Contract
 * - Everything runs on loop; nothing blocks. The listener starts accepting at once.
 * - accept() failing with EAGAIN ends a wake-up; EINTR, ECONNABORTED, EPROTO and the network
 *   errors Linux reports on accept for an already-failed connection are skipped.
 * - Any other failure (EMFILE, ENFILE, ENOBUFS, ENOMEM, and anything unexpected) starts a
 *   back-off: the listener stops watching the socket for backoff_s, then tries again, for as
 *   long as accept keeps failing. One warning per episode ("WHO: accept on NAME: ERROR;
 *   pausing for N s"), debug lines for the repeats, one info line when a client is accepted
 *   again. Clients wait in the kernel's backlog meanwhile; none is lost by the pause.
 * - mp_listener_pause()/resume() are the owner's own switch (a client budget); it is
 *   independent of the back-off: the socket is watched only when neither holds it.
 */

/* Take the listening socket fd (closed by mp_listener_free, and on failure). NULL with errno. */
struct mp_listener *mp_listener_new(struct ev_loop *loop, int fd, const struct mp_listener_opts *o);
/* Take a Unix socket from mp_unix_listen(): mp_listener_free closes it and removes its file
 * (if still ours); so does a failure. NULL with errno. */
struct mp_listener *mp_listener_new_unix(struct ev_loop *loop, const struct mp_unix_sock *s,
					 const struct mp_listener_opts *o);

/* Stop accepting (clients queue in the backlog) / accept again. Both idempotent. */
void mp_listener_pause(struct mp_listener *l);
void mp_listener_resume(struct mp_listener *l);

/* In a back-off now (a resource error, waiting for the retry timer)? */
bool mp_listener_backing_off(const struct mp_listener *l);
/* Clients accepted; accept() failures that started or continued a back-off. Ever, for tests. */
uint64_t mp_listener_accepted(const struct mp_listener *l);
uint64_t mp_listener_failures(const struct mp_listener *l);
int mp_listener_fd(const struct mp_listener *l);

/* Stop, close the socket (Unix: remove its file if it is still ours), free. NULL is fine;
 * also safe while backed off or paused, and from inside the accept callback. */
void mp_listener_free(struct mp_listener *l);

#endif
