/* A pidfile held under an exclusive lock for the life of the process that wrote it. */
#ifndef MP_COMMON_PIDFILE_H
#define MP_COMMON_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

struct mp_pidfile;

/*
 * Open (create, mode 0644) and lock path. The lock, not the file's existence, says whether the
 * file is in use: a file left by a process that died is taken over. When another live process
 * holds it: NULL with errno EEXIST and *holder set to the pid the file names (0 when it has
 * not written one yet). Other failures: NULL with errno. The lock lives in the open file, so it
 * survives fork() and daemon(): open before detaching (errors reach the terminal), write after.
 */
struct mp_pidfile *mp_pidfile_open(const char *path, pid_t *holder);
/* Replace the file's contents with getpid() and a newline. 0, or -1 with errno. */
int mp_pidfile_write(struct mp_pidfile *pf);
/* Remove the file if it is still the one we opened, drop the lock, free. NULL is fine. */
void mp_pidfile_remove(struct mp_pidfile *pf);

#endif
