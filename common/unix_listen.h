/* Listening Unix stream sockets: parent directories, stale-socket removal, mode before listen, safe unlink. */
#ifndef MP_COMMON_UNIX_LISTEN_H
#define MP_COMMON_UNIX_LISTEN_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

struct mp_unix_sock {
	int fd;                                   /* non-blocking, close-on-exec, listening */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;                                /* identity of the socket file we bound */
	ino_t ino;
};

/*
 * Listen on path: create missing parent directories (0755); remove a socket file
 * nobody answers on (a live one is EADDRINUSE, any other kind of file EEXIST);
 * bind, chmod to mode before listen() so nobody connects while the mode is the
 * umask's; listen with backlog. Returns 0 and fills *out, or -1 with errno and
 * a message in err naming the path.
 */
int mp_unix_listen(const char *path, mode_t mode, int backlog, struct mp_unix_sock *out,
		   char *err, size_t errlen);
/* Close the socket and unlink its file only if it is still the one we bound. */
void mp_unix_close(struct mp_unix_sock *s);

#endif
