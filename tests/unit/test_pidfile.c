/* Unit tests for common/pidfile.c: the lock refuses a second holder and names the first, stale files are taken over, removal only of our own file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pidfile.h"

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mpiscsi-pid.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mpiscsid.pid", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static long file_pid(void)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

TestSuite(pidfile, .init = setup, .fini = teardown);

Test(pidfile, write_refuse_remove)
{
	pid_t holder = -1;
	struct mp_pidfile *pf = mp_pidfile_open(path, &holder);
	cr_assert_not_null(pf, "%s", strerror(errno));
	cr_assert_eq(mp_pidfile_write(pf), 0);
	cr_expect_eq(file_pid(), (long)getpid());

	/* A second opener (its own open file, as another process has) is refused with the pid. */
	struct mp_pidfile *again = mp_pidfile_open(path, &holder);
	cr_expect_null(again);
	cr_expect_eq(errno, EEXIST);
	cr_expect_eq(holder, getpid());

	mp_pidfile_remove(pf);
	cr_expect_eq(access(path, F_OK), -1, "the pidfile is still there after removal");
}

Test(pidfile, locked_before_written)
{
	pid_t holder = -1;
	struct mp_pidfile *pf = mp_pidfile_open(path, &holder);
	cr_assert_not_null(pf);
	/* Held, nothing written yet (the daemon has not detached yet): refused, holder unknown. */
	cr_expect_null(mp_pidfile_open(path, &holder));
	cr_expect_eq(errno, EEXIST);
	cr_expect_eq(holder, 0);
	mp_pidfile_remove(pf);
}

Test(pidfile, stale_file_taken_over)
{
	/* Left by a process that died: a pid, no lock. */
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "999999999\n");
	fclose(f);
	pid_t holder = -1;
	struct mp_pidfile *pf = mp_pidfile_open(path, &holder);
	cr_assert_not_null(pf, "a stale pidfile was not taken over: %s", strerror(errno));
	cr_assert_eq(mp_pidfile_write(pf), 0);
	cr_expect_eq(file_pid(), (long)getpid(), "the old contents were not replaced whole");
	mp_pidfile_remove(pf);
}

Test(pidfile, removal_spares_a_replacement)
{
	pid_t holder;
	struct mp_pidfile *pf = mp_pidfile_open(path, &holder);
	cr_assert_not_null(pf);
	/* Someone replaced the file (an operator, another instance after removing ours). */
	cr_assert_eq(unlink(path), 0);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "1\n");
	fclose(f);
	mp_pidfile_remove(pf);
	cr_expect_eq(access(path, F_OK), 0, "removal deleted a file that was not ours");
}

Test(pidfile, errors)
{
	pid_t holder;
	cr_expect_null(mp_pidfile_open("/nonexistent-dir/mpiscsid.pid", &holder));
	cr_expect_eq(errno, ENOENT);
	char link[160];
	snprintf(link, sizeof(link), "%s/link.pid", dir);
	cr_assert_eq(symlink("/etc/passwd", link), 0);
	cr_expect_null(mp_pidfile_open(link, &holder), "followed a symlink");
	cr_expect_eq(errno, ELOOP);
	unlink(link);
}
