/* Listening Unix stream sockets shared by the NBD server and the control socket. */
#include "common/unix_listen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Format err, keep errno, return -1. */
static int fail(int e, char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s%s%s: %s", what, *what ? " " : "", path, strerror(e));
	errno = e;
	return -1;
}

/* mkdir -p (mode 0755) for the directory part of path. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return fail(errno, err, errlen, "cannot create directory", tmp);
		*p = '/';
	}
	return 0;
}

/* Remove a socket file nobody answers on; refuse a live one and anything that is not a socket. */
static int remove_stale_socket(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : fail(errno, err, errlen, "", path);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		errno = EEXIST;
		return -1;
	}
	/* Non-blocking: a live server with a full backlog answers EAGAIN instead of blocking us. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, err, errlen, "socket for", path);
	int live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
	close(fd);
	if (live) {
		snprintf(err, errlen, "%s: another server is listening there", path);
		errno = EADDRINUSE;
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return fail(errno, err, errlen, "cannot remove stale socket", path);
	return 0;
}

int mp_unix_listen(const char *path, mode_t mode, int backlog, struct mp_unix_sock *out,
		   char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	out->fd = -1;
	if (!path || path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path '%s' must be absolute and shorter than %zu bytes",
			 path ? path : "", sizeof(sa.sun_path));
		errno = EINVAL;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (make_parent_dirs(path, err, errlen) < 0 || remove_stale_socket(path, &sa, err, errlen) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, err, errlen, "socket for", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return fail(e, err, errlen, "bind", path);
	}
	if (chmod(path, mode) < 0 || lstat(path, &st) < 0 || listen(fd, backlog) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return fail(e, err, errlen, "listen", path);
	}
	out->fd = fd;
	memcpy(out->path, path, strlen(path) + 1);
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
}

void mp_unix_close(struct mp_unix_sock *s)
{
	struct stat st;
	if (s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
}
