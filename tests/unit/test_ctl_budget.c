/* Unit tests of the control socket's pending-client budget (tools/mpiscsid/ctl_server.c): eviction order, clients with requests untouched, max_clients, first-request deadline, test hook. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <ev.h>

#include "common/log.h"
#include "common/util.h"
#include "tools/mpiscsid/ctl_server.h"

#define MAXC 24
#define VERSION_REQ "{\"v\":1,\"cmd\":\"version\"}\n"

/*
 * A real server on a real loop and Unix socket; the clients are plain sockets in this
 * process, and what the tests check is what a client sees: a reply, EOF, or nothing yet.
 */
static char dir[48], path[96];
static struct ev_loop *loop;
static struct mp_ctl *ctl;
static int cl[MAXC];
static unsigned n_cl;

static size_t no_disks(void *arg MP_UNUSED) { return 0; }
static struct mp_lu *no_lu(void *arg MP_UNUSED, size_t i MP_UNUSED) { return NULL; }
static const char *no_name(void *arg MP_UNUSED, size_t i MP_UNUSED) { return "none"; }

static void setup(void)
{
	char err[256];
	mp_log_set_level(MP_LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/ctl-budget.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	loop = ev_loop_new(EVFLAG_AUTO);
	const struct mp_ctl_model m = { .n_disks = no_disks, .disk_lu = no_lu, .disk_name = no_name };
	ctl = mp_ctl_new(loop, path, &m, err, sizeof(err));
	cr_assert_not_null(ctl, "%s", err);
	n_cl = 0;
}

static void teardown(void)
{
	mp_ctl_free(ctl);
	for (unsigned i = 0; i < n_cl; i++)
		close(cl[i]);
	ev_loop_destroy(loop);
	rmdir(dir);
}

static void spin(void)
{
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

/* A new client, accepted by the server before this returns; its index. */
static unsigned client(void)
{
	cr_assert_lt(n_cl, MAXC);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s", strerror(errno));
	spin();
	cl[n_cl] = fd;
	return n_cl++;
}

/* What client i has been sent so far (into buf) and whether the server closed it. */
static bool closed(unsigned i, char *buf, size_t n)
{
	size_t got = 0;
	if (n)
		buf[0] = '\0';
	for (;;) {
		char tmp[4096];
		ssize_t r = recv(cl[i], tmp, sizeof(tmp), MSG_DONTWAIT);
		if (r > 0) {
			size_t k = MP_MIN((size_t)r, n - 1 - got);
			memcpy(buf + got, tmp, k);
			got += k;
			buf[got] = '\0';
			continue;
		}
		return r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	}
}

static bool is_closed(unsigned i)
{
	char buf[512];
	return closed(i, buf, sizeof(buf));
}

/* Client i sends a request and gets its reply: from now on it is not pending. */
static void request(unsigned i)
{
	char buf[4096];
	cr_assert_eq(send(cl[i], VERSION_REQ, strlen(VERSION_REQ), MSG_NOSIGNAL), (ssize_t)strlen(VERSION_REQ));
	spin();
	cr_assert_not(closed(i, buf, sizeof(buf)), "client %u closed after a request", i);
	cr_assert(strstr(buf, "\"ok\"") || strstr(buf, "version"), "client %u: reply '%s'", i, buf);
}

TestSuite(ctl_budget, .init = setup, .fini = teardown);

Test(ctl_budget, the_oldest_pending_client_goes_first)
{
	mp_ctl_set_max_pending(ctl, 3);
	for (unsigned i = 0; i < 3; i++)
		client();
	cr_expect_eq(mp_ctl_pending_count(ctl), 3);
	for (unsigned k = 3; k < 7; k++) {
		client();
		for (unsigned i = 0; i <= k; i++)
			cr_expect_eq(is_closed(i), i + 3 <= k, "after client %u: client %u", k, i);
		cr_expect_eq(mp_ctl_pending_count(ctl), 3);
		cr_expect_eq(mp_ctl_client_count(ctl), 3);
	}
	cr_expect_eq(mp_ctl_evictions(ctl), 4);
}

Test(ctl_budget, the_default_budget_is_8)
{
	for (unsigned i = 0; i < 20; i++)
		client();
	cr_expect_eq(mp_ctl_pending_count(ctl), MP_CTL_MAX_PENDING);
	cr_expect_eq(MP_CTL_MAX_PENDING, 8);
	for (unsigned i = 0; i < 20; i++)
		cr_expect_eq(is_closed(i), i < 12, "client %u", i);
}

Test(ctl_budget, clients_that_sent_a_request_are_never_evicted)
{
	mp_ctl_set_max_pending(ctl, 2);
	unsigned a = client();
	request(a);                     /* a is past its first request */
	unsigned b = client();
	unsigned partial = client();
	/* Half a request does not count: this client is still pending. */
	cr_assert_eq(send(cl[partial], "{\"v\":1,", 7, MSG_NOSIGNAL), 7);
	spin();
	client();                       /* evicts b */
	client();                       /* evicts partial */
	cr_expect_not(is_closed(a), "a client with a completed request was evicted");
	cr_expect(is_closed(b));
	cr_expect(is_closed(partial));
	request(a);                     /* and it is still served */
	cr_expect_eq(mp_ctl_client_count(ctl), 3);
}

Test(ctl_budget, max_clients_bounds_everyone)
{
	char buf[512];
	mp_ctl_set_max_clients(ctl, 3);
	unsigned a = client(), b = client();
	request(a);
	request(b);
	unsigned idle = client();
	unsigned c = client();          /* full: takes the idle client's place */
	cr_expect(is_closed(idle));
	cr_expect_not(is_closed(c));
	request(c);
	unsigned d = client();          /* three clients past their request: refused with EBUSY */
	cr_expect(closed(d, buf, sizeof(buf)));
	cr_expect(strstr(buf, "EBUSY") != NULL, "refusal: '%s'", buf);
	cr_expect_not(is_closed(a));
	cr_expect_not(is_closed(b));
	cr_expect_not(is_closed(c));
}

static void stop_cb(struct ev_loop *l, ev_timer *w MP_UNUSED, int revents MP_UNUSED)
{
	ev_break(l, EVBREAK_ALL);
}

Test(ctl_budget, a_client_without_a_request_is_closed_after_the_pending_timeout, .timeout = 30)
{
	unsigned a = client(), b = client();
	request(a);
	/* A trickle does not extend the deadline: it counts from accept. */
	ev_tstamp t0 = ev_time();
	ev_timer stop;
	ev_timer_init(&stop, stop_cb, 0.5, 0.5);
	ev_timer_start(loop, &stop);
	while (!is_closed(b) && ev_time() - t0 < MP_CTL_PENDING_TIMEOUT + 5) {
		cr_assert_eq(send(cl[b], " ", 1, MSG_NOSIGNAL), 1);
		ev_run(loop, 0);
	}
	ev_timer_stop(loop, &stop);
	double dt = ev_time() - t0;
	cr_expect(is_closed(b), "a pending client was not closed after %.1f s", dt);
	cr_expect_geq(dt, MP_CTL_PENDING_TIMEOUT - 0.5, "closed after %.1f s, before its deadline", dt);
	cr_expect_not(is_closed(a), "a client past its first request was closed by the pending timeout");
}

/* The test hook turns the budget off: nothing is evicted, the 17th client gets EBUSY. */
Test(ctl_budget_hook, test_hook_turns_the_budget_off)
{
	char buf[512];
	setenv(MP_CTL_TEST_NO_BUDGET_ENV, "1", 1);
	setup();
	for (unsigned i = 0; i < MP_CTL_MAX_CLIENTS; i++)
		client();
	unsigned late = client();
	cr_expect(closed(late, buf, sizeof(buf)));
	cr_expect(strstr(buf, "EBUSY") != NULL, "refusal: '%s'", buf);
	for (unsigned i = 0; i < MP_CTL_MAX_CLIENTS; i++)
		cr_expect_not(is_closed(i), "client %u evicted with the budget off", i);
	cr_expect_eq(mp_ctl_evictions(ctl), 0);
	teardown();
	unsetenv(MP_CTL_TEST_NO_BUDGET_ENV);
}
