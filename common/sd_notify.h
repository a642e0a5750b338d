/* Service-manager notifications (READY=1, STATUS=..., RELOADING=1, STOPPING=1) over $NOTIFY_SOCKET, without libsystemd. */
#ifndef MP_COMMON_SD_NOTIFY_H
#define MP_COMMON_SD_NOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

#include "common/util.h"

/*
 * The notification protocol of systemd's Type=notify services: one datagram per message,
 * newline-separated VARIABLE=VALUE assignments, sent to the AF_UNIX datagram socket named by
 * the environment variable NOTIFY_SOCKET (a path starting with '/', or an abstract-namespace
 * name written with a leading '@').
 */

/* Send state (e.g. "READY=1\nSTATUS=2 disk(s), 2 ready"). Returns 1 when sent; 0 when
 * NOTIFY_SOCKET is unset or empty (not run by a service manager that listens: nothing is done);
 * -1 with errno when the variable names no usable socket (EAFNOSUPPORT: neither '/' nor '@';
 * ENAMETOOLONG) or the send failed (ECONNREFUSED, ENOENT, EAGAIN after a bounded 1 s wait on a
 * full receiver, ...). Blocks the caller for at most that second; never raises SIGPIPE. */
int mp_sd_notify(const char *state);
/* The same with printf formatting; a message longer than 4 KiB is refused (EMSGSIZE). */
int mp_sd_notifyf(const char *fmt, ...) MP_PRINTF(1, 2);

/* Turn a NOTIFY_SOCKET value into a socket address and its length ('@' becomes the leading NUL
 * of an abstract name). 0, or -1 with errno EAFNOSUPPORT, ENAMETOOLONG or EINVAL (empty name). */
int mp_sd_notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len);

#endif
