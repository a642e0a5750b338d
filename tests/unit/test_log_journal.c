/* Unit tests for common/log.c's journal mode: "<N>" priority prefixes only when JOURNAL_STREAM names stderr itself. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

static char file[64];

/* stderr into a fresh file (each Criterion test runs in its own process). */
static void setup(void)
{
	snprintf(file, sizeof(file), "/tmp/mpiscsi-log.XXXXXX");
	int fd = mkstemp(file);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static void teardown(void) { unlink(file); }

static char *logged(void)
{
	static char buf[4096];
	fflush(stderr);
	FILE *f = fopen(file, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void set_stream_of_stderr(long long ino_delta)
{
	struct stat st;
	char v[64];
	cr_assert_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
	setenv("JOURNAL_STREAM", v, 1);
}

TestSuite(log_journal, .init = setup, .fini = teardown);

Test(log_journal, prefixes_when_stderr_is_the_stream)
{
	set_stream_of_stderr(0);
	cr_expect(mp_log_stderr_is_journal());
	mp_log_init("t", false, MP_LOG_DEBUG);
	mp_err("e %d", 1);
	mp_warn("w");
	mp_info("i");
	mp_debug("d");
	cr_expect_str_eq(logged(), "<3>e 1\n<4>w\n<6>i\n<7>d\n");
}

Test(log_journal, plain_when_the_stream_is_another_file)
{
	set_stream_of_stderr(1); /* inherited from a parent whose stderr was the journal */
	cr_expect_not(mp_log_stderr_is_journal());
	mp_log_init("t", false, MP_LOG_INFO);
	mp_warn("w");
	const char *s = logged();
	cr_expect(strstr(s, " t[warn]: w\n") != NULL, "'%s'", s);
	cr_expect(s[0] != '<', "'%s'", s);
}

Test(log_journal, plain_without_the_variable_or_with_junk)
{
	unsetenv("JOURNAL_STREAM");
	cr_expect_not(mp_log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "junk", 1);
	cr_expect_not(mp_log_stderr_is_journal());
	struct stat st;
	char v[64];
	cr_assert_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llux", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	cr_expect_not(mp_log_stderr_is_journal(), "trailing junk accepted");
	mp_log_init("t", false, MP_LOG_INFO);
	mp_info("i");
	cr_expect(strstr(logged(), " t[info]: i\n") != NULL);
}
