/* The sd_notify datagram protocol written out: address from $NOTIFY_SOCKET, one datagram per message. */
#include "common/sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* Longest message mp_sd_notifyf builds: STATUS lines are short; systemd reads up to its
 * page-sized buffer per datagram. */
#define NOTIFY_MSG_MAX 4096

int mp_sd_notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (name[0] != '/' && name[0] != '@') {
		errno = EAFNOSUPPORT; /* systemd also knows vsock: addresses; we are never given one locally */
		return -1;
	}
	if (n < 2) {
		errno = EINVAL;
		return -1;
	}
	if (name[0] == '@') {
		/* Abstract names are not NUL-terminated: the address length says where they end. */
		if (n > sizeof(sa->sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(sa->sun_path + 1, name + 1, n - 1);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		return 0;
	}
	if (n >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int mp_sd_notify(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;

	if (!name || !name[0])
		return 0;
	if (mp_sd_notify_addr(name, &sa, &salen) != 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A receiver that stops reading must not hold the daemon's event loop for long. */
	struct timeval tv = { .tv_sec = 1 };
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t n = strlen(state);
	ssize_t r = sendto(fd, state, n, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
	int e = errno;
	close(fd);
	if (r < 0) {
		errno = e;
		return -1;
	}
	if ((size_t)r != n) {
		errno = EMSGSIZE; /* a datagram goes whole or not at all; this would be a kernel surprise */
		return -1;
	}
	return 1;
}

int mp_sd_notifyf(const char *fmt, ...)
{
	char msg[NOTIFY_MSG_MAX];
	va_list ap;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		errno = EMSGSIZE;
		return -1;
	}
	return mp_sd_notify(msg);
}
