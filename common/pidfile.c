/* Pidfiles: flock(2) decides ownership, the contents name the owner, removal only of our own file. */
#include "common/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct mp_pidfile {
	int fd;
	dev_t dev;      /* identity of the file we locked: removal checks it is still at path */
	ino_t ino;
	char path[];
};

/* The pid written in fd's file, 0 if none is readable. */
static pid_t read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	return v > 0 && v <= 0x7fffffff && (*end == '\n' || *end == '\0') ? (pid_t)v : 0;
}

struct mp_pidfile *mp_pidfile_open(const char *path, pid_t *holder)
{
	*holder = 0;
	for (int tries = 0; tries < 5; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return NULL;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno;
			if (e == EWOULDBLOCK) {
				*holder = read_pid(fd);
				e = EEXIST;
			}
			close(fd);
			errno = e;
			return NULL;
		}
		/* The holder may have removed the file between our open and our lock: then we
		 * hold a lock on a name nobody sees. Check the path still leads to our file. */
		struct stat a, b;
		if (fstat(fd, &a) != 0) {
			int e = errno;
			close(fd);
			errno = e;
			return NULL;
		}
		if (stat(path, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
			close(fd);
			continue;
		}
		if (!S_ISREG(a.st_mode)) {
			close(fd);
			errno = EINVAL;
			return NULL;
		}
		size_t len = strlen(path) + 1;
		struct mp_pidfile *pf = malloc(sizeof(*pf) + len);
		if (!pf) {
			close(fd);
			errno = ENOMEM;
			return NULL;
		}
		pf->fd = fd;
		pf->dev = a.st_dev;
		pf->ino = a.st_ino;
		memcpy(pf->path, path, len);
		return pf;
	}
	errno = EAGAIN;
	return NULL;
}

int mp_pidfile_write(struct mp_pidfile *pf)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pf->fd, 0) != 0)
		return -1;
	ssize_t w = pwrite(pf->fd, buf, (size_t)n, 0);
	if (w < 0)
		return -1;
	if (w != n) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static void pidfile_close(struct mp_pidfile *pf)
{
	if (!pf)
		return;
	close(pf->fd);
	free(pf);
}

void mp_pidfile_remove(struct mp_pidfile *pf)
{
	if (!pf)
		return;
	struct stat b;
	/* Unlink while still holding the lock, so no other process can have taken the name over. */
	if (stat(pf->path, &b) == 0 && b.st_dev == pf->dev && b.st_ino == pf->ino)
		(void)unlink(pf->path);
	pidfile_close(pf);
}
