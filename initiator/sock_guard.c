/* Socket guard: definitions of recv/send/readv/writev/close/dup2 that feed registered fds' bytes to their PDU guard. */
#include "initiator/sock_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * The one process-wide table this design cannot avoid: the interposed libc
 * functions get only an fd, so the fd -> guard mapping must be global. It is
 * a fixed array so that the pass-through for an unregistered fd is one load
 * (no lock, no pointer that a resize could move under another thread), and
 * its untouched pages cost no memory.
 */
static struct mp_pdu_guard *fd_guard[MP_SOCK_GUARD_MAX_FD];

/*
 * The real calls are made as system calls, not through dlsym(RTLD_NEXT): that
 * needs no lazy initialisation (ASan and libFuzzer call close/read before any
 * constructor of ours could run) and behaves the same with and without
 * AddressSanitizer, whose interceptors for these names ours replace.
 */
static ssize_t sys_recv(int fd, void *buf, size_t n, int flags)
{
	return syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
}
static ssize_t sys_send(int fd, const void *buf, size_t n, int flags)
{
	return syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}

static inline struct mp_pdu_guard *guard_of(int fd)
{
	return fd >= 0 && fd < MP_SOCK_GUARD_MAX_FD ? fd_guard[fd] : NULL;
}

int mp_sock_guard_attach(int fd, struct mp_pdu_guard *g)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fd >= MP_SOCK_GUARD_MAX_FD) {
		errno = EMFILE;
		return -1;
	}
	fd_guard[fd] = g;
	return 0;
}

void mp_sock_guard_detach(int fd)
{
	if (fd >= 0 && fd < MP_SOCK_GUARD_MAX_FD)
		fd_guard[fd] = NULL;
}

struct mp_pdu_guard *mp_sock_guard_of(int fd) { return guard_of(fd); }

/* Common checks before reading from a guarded fd: -1 with errno set if the read must not happen. */
static int may_read(struct mp_pdu_guard *g)
{
	if (mp_pdu_guard_failed(g)) {
		errno = EPROTO;
		return -1;
	}
	if (mp_pdu_guard_in_paused(g)) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct mp_pdu_guard *g = guard_of(fd);
	if (!g)
		return sys_recv(fd, buf, n, flags);
	if (may_read(g) < 0)
		return -1;
	ssize_t r = sys_recv(fd, buf, n, flags);
	if (r > 0 && !(flags & MSG_PEEK) && mp_pdu_guard_in(g, buf, (size_t)r) < 0) {
		errno = EPROTO;
		return -1;
	}
	return r;
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct mp_pdu_guard *g = guard_of(fd);
	if (!g)
		return syscall(SYS_readv, fd, iov, iovcnt);
	if (may_read(g) < 0)
		return -1;
	ssize_t r = syscall(SYS_readv, fd, iov, iovcnt);
	size_t left = r > 0 ? (size_t)r : 0;
	for (int i = 0; left && i < iovcnt; i++) {
		size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
		if (mp_pdu_guard_in(g, iov[i].iov_base, k) < 0) {
			errno = EPROTO;
			return -1;
		}
		left -= k;
	}
	return r;
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct mp_pdu_guard *g = guard_of(fd);
	if (!g)
		return sys_send(fd, buf, n, flags);
	if (mp_pdu_guard_failed(g)) {
		errno = EPROTO;
		return -1;
	}
	ssize_t r = sys_send(fd, buf, n, flags);
	if (r > 0 && mp_pdu_guard_out(g, buf, (size_t)r) < 0)
		return r; /* bytes left already; the guard is failed and the next read ends the connection */
	return r;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct mp_pdu_guard *g = guard_of(fd);
	if (!g)
		return syscall(SYS_writev, fd, iov, iovcnt);
	if (mp_pdu_guard_failed(g)) {
		errno = EPROTO;
		return -1;
	}
	ssize_t r = syscall(SYS_writev, fd, iov, iovcnt);
	size_t left = r > 0 ? (size_t)r : 0;
	for (int i = 0; left && i < iovcnt; i++) {
		size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
		if (mp_pdu_guard_out(g, iov[i].iov_base, k) < 0)
			break;
		left -= k;
	}
	return r;
}

int close(int fd)
{
	mp_sock_guard_detach(fd);
	return (int)syscall(SYS_close, fd);
}

int dup2(int oldfd, int newfd)
{
	if (oldfd != newfd)
		mp_sock_guard_detach(newfd);
#ifdef SYS_dup2
	return (int)syscall(SYS_dup2, oldfd, newfd);
#else
	if (oldfd == newfd)
		return fcntl(oldfd, F_GETFD) < 0 ? -1 : newfd;
	return (int)syscall(SYS_dup3, oldfd, newfd, 0);
#endif
}
