/* Unit tests of common/listener.c: accepted fds are delivered, batches, pause/resume, the back-off on EMFILE and the like and its resume, skipped errors, free while backed off or from the callback. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <ev.h>

#include "common/listener.h"
#include "common/log.h"
#include "common/util.h"

#define MAXFD 32
#define BACKOFF 0.2

/*
 * A real listener on a real loop and Unix socket; clients are plain sockets in this
 * process. accept goes through sys_accept(), which fails with fail_errno while that is set
 * (the client stays in the backlog, as with a real EMFILE) and is accept4() otherwise. One
 * test makes a real EMFILE by lowering RLIMIT_NOFILE (each test runs in its own process);
 * the others use the stand-in because valgrind, which checks descriptors against its own
 * copy of the limit, takes the client off the backlog and closes it.
 */
static char dir[48], path[96];
static struct ev_loop *loop;
static struct mp_listener *lst;
static int got[MAXFD];          /* fds the callback received */
static unsigned n_got;
static bool pause_in_cb, free_in_cb;
static int log_fd = -1, saved_stderr = -1;
static int fail_errno;          /* sys_accept fails with this while non-zero */
static unsigned fail_times;     /* ... this many more times (0: for as long as fail_errno is set) */

static int sys_accept(int fd)
{
	if (fail_errno) {
		int e = fail_errno;
		if (fail_times && --fail_times == 0)
			fail_errno = 0;
		errno = e;
		return -1;
	}
	return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static void on_accept(struct mp_listener *l, int fd, void *arg)
{
	cr_assert_eq(arg, &n_got);
	cr_assert_lt(n_got, MAXFD);
	got[n_got++] = fd;
	if (pause_in_cb)
		mp_listener_pause(l);
	if (free_in_cb) {
		mp_listener_free(l);
		lst = NULL;
	}
}

static struct mp_listener *make(unsigned batch)
{
	char err[256];
	struct mp_unix_sock s;
	cr_assert_eq(mp_unix_listen(path, 0600, 64, &s, err, sizeof(err)), 0, "%s", err);
	const struct mp_listener_opts o = { .who = "test", .name = path, .batch = batch, .backoff_s = BACKOFF,
					    .accept = on_accept, .arg = &n_got, .sys_accept = sys_accept };
	struct mp_listener *l = mp_listener_new_unix(loop, &s, &o);
	cr_assert_not_null(l);
	return l;
}

static void setup(void)
{
	mp_log_set_level(MP_LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/listener.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/l.sock", dir);
	loop = ev_loop_new(EVFLAG_AUTO);
	n_got = 0;
	pause_in_cb = free_in_cb = false;
	fail_errno = 0;
	fail_times = 0;
	lst = make(0);
}

static void teardown(void)
{
	mp_listener_free(lst);
	for (unsigned i = 0; i < n_got; i++)
		close(got[i]);
	ev_loop_destroy(loop);
	unlink(path);
	rmdir(dir);
}

TestSuite(listener, .init = setup, .fini = teardown);

static void spin(void)
{
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

static void stop_cb(struct ev_loop *l, ev_timer *w MP_UNUSED, int revents MP_UNUSED)
{
	ev_break(l, EVBREAK_ALL);
}

/* Run the loop for s seconds. */
static void run_for(double s)
{
	ev_timer t;
	ev_timer_init(&t, stop_cb, s, 0.);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
}

/* Run the loop until n fds were delivered or s seconds passed. */
static void run_until(unsigned n, double s)
{
	ev_tstamp end = ev_time() + s;
	while (n_got < n && ev_time() < end) {
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
		usleep(1000);
	}
}

/* A connected client (queued in the backlog until the listener accepts it). */
static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s", strerror(errno));
	return fd;
}

/* No descriptor can be opened any more: the soft limit at the lowest free fd. Returns the old limit. */
static struct rlimit starve_fds(void)
{
	struct rlimit old, now;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	int lowest = dup(0);
	cr_assert_geq(lowest, 0);
	close(lowest);
	now = old;
	now.rlim_cur = (rlim_t)lowest;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &now), 0, "setrlimit: %s", strerror(errno));
	return old;
}

static void capture_log(void)
{
	char name[] = "/tmp/listener-log.XXXXXX";
	log_fd = mkstemp(name);
	cr_assert_geq(log_fd, 0);
	unlink(name);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_eq(dup2(log_fd, STDERR_FILENO), STDERR_FILENO);
	mp_log_set_level(MP_LOG_INFO);
}

/* What was logged since capture_log(), into buf; stderr is restored. */
static void end_capture(char *buf, size_t n)
{
	fflush(stderr);
	ssize_t r = pread(log_fd, buf, n - 1, 0);
	buf[r > 0 ? r : 0] = '\0';
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(log_fd);
	mp_log_set_level(MP_LOG_ERR);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned k = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		k++;
	return k;
}

Test(listener, accept_delivers_fds)
{
	int c[3];
	for (int i = 0; i < 3; i++)
		c[i] = client();
	spin();
	cr_assert_eq(n_got, 3, "%u fds delivered for 3 clients", n_got);
	cr_expect_eq(mp_listener_accepted(lst), 3);
	cr_expect_eq(mp_listener_failures(lst), 0);
	for (int i = 0; i < 3; i++) {
		cr_expect(fcntl(got[i], F_GETFL) & O_NONBLOCK, "fd %d is blocking", got[i]);
		cr_expect(fcntl(got[i], F_GETFD) & FD_CLOEXEC, "fd %d is not close-on-exec", got[i]);
	}
	/* The fds are the clients' peers: a byte from client 0 arrives on the first fd. */
	cr_assert_eq(write(c[0], "x", 1), 1);
	char b = 0;
	cr_expect_eq(read(got[0], &b, 1), 1);
	cr_expect_eq(b, 'x');
	for (int i = 0; i < 3; i++)
		close(c[i]);
}

/* One wake-up takes at most batch clients: a busy listener does not starve the loop. */
Test(listener, batch_bounds_one_wakeup)
{
	mp_listener_free(lst);
	lst = make(2);
	int c[5];
	for (int i = 0; i < 5; i++)
		c[i] = client();
	ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
	cr_expect_eq(n_got, 2, "one wake-up delivered %u (batch 2)", n_got);
	spin();
	cr_expect_eq(n_got, 5);
	for (int i = 0; i < 5; i++)
		close(c[i]);
}

Test(listener, pause_and_resume)
{
	mp_listener_pause(lst);
	mp_listener_pause(lst);  /* idempotent */
	int c = client();
	spin();
	cr_expect_eq(n_got, 0, "a paused listener accepted");
	mp_listener_resume(lst);
	spin();
	cr_expect_eq(n_got, 1, "the client did not come after resume");
	close(c);
}

/* A callback that pauses (its budget is full) ends the batch at once. */
Test(listener, pause_from_callback_stops_the_batch)
{
	int c[3];
	for (int i = 0; i < 3; i++)
		c[i] = client();
	pause_in_cb = true;
	spin();
	cr_expect_eq(n_got, 1, "%u delivered after the callback paused", n_got);
	pause_in_cb = false;
	mp_listener_resume(lst);
	spin();
	cr_expect_eq(n_got, 3);
	for (int i = 0; i < 3; i++)
		close(c[i]);
}

/*
 * Out of descriptors: accept fails with EMFILE, the listener pauses (one warning), retries
 * every BACKOFF s while it still fails (no spin: a handful of failures, not thousands), and
 * takes the waiting client once accept works again. With MPISCSI_TEST_NO_ACCEPT_BACKOFF set
 * this test fails (thousands of failures): the back-off is what bounds them.
 */
Test(listener, emfile_backs_off_then_resumes)
{
	int c = client();
	capture_log();
	fail_errno = EMFILE;
	run_for(0.5);
	uint64_t failures = mp_listener_failures(lst);
	bool backing_off = mp_listener_backing_off(lst);
	unsigned during = n_got;
	fail_errno = 0;
	run_until(1, 5.0);
	char log[8192];
	end_capture(log, sizeof(log));

	cr_expect_eq(during, 0, "a client was delivered while accept failed");
	cr_expect(backing_off, "not backing off while accept fails");
	cr_expect_geq(failures, 2, "no retry after the pause (%llu failure(s) in 0.5 s)", (unsigned long long)failures);
	cr_expect_leq(failures, 4, "accept failed %llu times in 0.5 s with a %.1f s back-off: it spins",
		      (unsigned long long)failures, BACKOFF);
	cr_expect_eq(n_got, 1, "the waiting client was not accepted once accept worked again");
	cr_expect_not(mp_listener_backing_off(lst));
	cr_expect_eq(count(log, "pausing for"), 1, "one warning per episode expected:\n%s", log);
	cr_expect(strstr(log, "test: accept on ") && strstr(log, "Too many open files; pausing for 0.2 s"),
		  "warning:\n%s", log);
	cr_expect_eq(count(log, "accepting on"), 1, "no line when accepting again:\n%s", log);
	close(c);
}

/* Every resource error backs off; errors of one connection are skipped and the next is taken. */
Test(listener, which_errors_back_off)
{
	static const int backs_off[] = { EMFILE, ENFILE, ENOBUFS, ENOMEM, EBADF };
	static const int skipped[] = { ECONNABORTED, EINTR, EPROTO, ENETUNREACH, EHOSTUNREACH };
	int c = client();
	for (size_t i = 0; i < MP_ARRAY_SIZE(skipped); i++) {
		fail_errno = skipped[i];
		fail_times = 1;
		spin();
		cr_expect_not(mp_listener_backing_off(lst), "%s paused the listener", strerror(skipped[i]));
	}
	cr_expect_eq(n_got, 1, "the client after a skipped error was not taken");
	cr_expect_eq(mp_listener_failures(lst), 0);
	close(c);
	for (size_t i = 0; i < MP_ARRAY_SIZE(backs_off); i++) {
		c = client();
		fail_errno = backs_off[i];
		fail_times = 1;
		spin();
		cr_expect(mp_listener_backing_off(lst), "%s did not pause the listener", strerror(backs_off[i]));
		run_until(2 + (unsigned)i, 5.0);
		cr_expect_eq(n_got, 2 + i, "no client after the pause for %s", strerror(backs_off[i]));
		close(c);
	}
	cr_expect_eq(mp_listener_failures(lst), MP_ARRAY_SIZE(backs_off));
}

/* A real EMFILE: the lowest free descriptor is the soft limit. The listener backs off with the
 * system's message (what the client then meets is not asserted: under valgrind it is gone). */
Test(listener, real_emfile_from_rlimit)
{
	int c = client();
	capture_log();
	struct rlimit old = starve_fds();
	run_for(0.05);
	uint64_t failures = mp_listener_failures(lst);
	bool backing_off = mp_listener_backing_off(lst);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	char log[8192];
	end_capture(log, sizeof(log));
	cr_expect_eq(failures, 1);
	cr_expect(backing_off, "a real EMFILE did not pause the listener");
	cr_expect(strstr(log, "Too many open files; pausing for 0.2 s"), "warning:\n%s", log);
	close(c);
}

/* The test hook switches the back-off off: the same failure makes accept spin. */
Test(listener_hook, no_backoff_hook_spins)
{
	setenv(MP_LISTENER_TEST_NO_BACKOFF_ENV, "1", 1);
	setup();
	int c = client();
	fail_errno = EMFILE;
	run_for(0.2);
	uint64_t failures = mp_listener_failures(lst);
	fail_errno = 0;
	cr_expect_gt(failures, 100, "only %llu failures with the back-off off", (unsigned long long)failures);
	run_until(1, 5.0);
	cr_expect_eq(n_got, 1);
	close(c);
	teardown();
}

/* Freed while backed off: the retry timer must not fire into freed memory (ASan, valgrind). */
Test(listener, free_while_backed_off)
{
	int c = client();
	fail_errno = EMFILE;
	run_for(0.05);
	bool backing_off = mp_listener_backing_off(lst);
	mp_listener_free(lst);
	lst = NULL;
	fail_errno = 0;
	cr_expect(backing_off);
	struct stat st;
	cr_expect_neq(lstat(path, &st), 0, "the socket file is still there after free");
	run_for(2 * BACKOFF);  /* a timer left running would fire here */
	cr_expect_eq(n_got, 0);
	close(c);
}

/* Freed from inside its own callback: the rest of the batch is not taken. */
Test(listener, free_from_callback)
{
	int c[2] = { client(), client() };
	free_in_cb = true;
	spin();
	cr_expect_eq(n_got, 1);
	cr_expect_null(lst);
	close(c[0]);
	close(c[1]);
}

/* A plain fd (TCP here) is closed by free. */
Test(listener, plain_fd_closed_by_free)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	socklen_t len = sizeof(sa);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	const struct mp_listener_opts o = { .who = "test", .name = "tcp", .accept = on_accept, .arg = &n_got };
	struct mp_listener *t = mp_listener_new(loop, fd, &o);
	cr_assert_not_null(t);
	cr_expect_eq(mp_listener_fd(t), fd);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	run_until(1, 2.0);
	cr_expect_eq(n_got, 1);
	mp_listener_free(t);
	cr_expect_eq(fcntl(fd, F_GETFD), -1, "fd still open after free");
	close(c);
}

/* Bad options: EINVAL, and the socket taken is closed (its file removed). */
Test(listener, bad_options_close_the_socket)
{
	char err[256];
	char p2[128];
	snprintf(p2, sizeof(p2), "%s/b.sock", dir);
	struct mp_unix_sock s;
	cr_assert_eq(mp_unix_listen(p2, 0600, 4, &s, err, sizeof(err)), 0, "%s", err);
	const struct mp_listener_opts o = { .who = "test", .name = p2 };  /* no accept callback */
	errno = 0;
	cr_expect_null(mp_listener_new_unix(loop, &s, &o));
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(fcntl(s.fd, F_GETFD), -1, "socket left open");
	struct stat st;
	cr_expect_neq(lstat(p2, &st), 0, "socket file left behind");
}
