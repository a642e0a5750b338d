/* Socket guard: interposes the libc socket calls libiscsi makes, so a registered socket's bytes pass through a PDU guard. */
#ifndef MP_INITIATOR_SOCK_GUARD_H
#define MP_INITIATOR_SOCK_GUARD_H

#include "initiator/pdu_guard.h"

/*
 * libiscsi does its own socket I/O (recv, send, readv, writev, close and, on
 * reconnect, dup2; see libiscsi 1.19 lib/socket.c). This module defines those
 * symbols; an executable linked with it exports them and the dynamic linker
 * binds libiscsi's calls to them. For a registered fd:
 *   recv/readv  - real call, then the received bytes go to mp_pdu_guard_in();
 *                 on a refusal -1/EPROTO (the bytes are dropped, libiscsi
 *                 fails the connection). Before reading: -1/EPROTO if the guard
 *                 already refused, -1/EAGAIN if the per-service budget is spent
 *                 (libiscsi stops reading and waits for the next POLLIN).
 *   send/writev - real call, then the bytes the socket accepted go to
 *                 mp_pdu_guard_out(). Once the guard refused: -1/EPROTO.
 *   close/dup2  - the fd is detached first (its number may be reused at once).
 * Every other fd goes straight to the system call after one array lookup. No
 * call adds a system call or copies data.
 *
 * The guard stays owned by the caller: detach (or close) before freeing it.
 * Calls for a registered fd must come from one thread (the event loop's).
 *
 * libiscsi 1.19 after an EPROTO: during login iscsi_service() returns -1. Once
 * logged in with auto-reconnect off, that call cancels every task (callbacks
 * with SCSI_STATUS_CANCELLED) and returns 0; only its next call returns -1,
 * and that call needs another POLLIN, which may never come. So check
 * mp_pdu_guard_failed() after every iscsi_service() call, whatever it returned.
 */

/* Inspect fd's traffic with g. -1 with EBADF (fd < 0) or EMFILE (fd beyond the table). */
int mp_sock_guard_attach(int fd, struct mp_pdu_guard *g);
/* Stop inspecting fd (no effect if it was not attached). */
void mp_sock_guard_detach(int fd);
/* The guard attached to fd, or NULL. */
struct mp_pdu_guard *mp_sock_guard_of(int fd);

/* The fd table's size: descriptors from this number on can not be guarded. */
#define MP_SOCK_GUARD_MAX_FD 65536

#endif
