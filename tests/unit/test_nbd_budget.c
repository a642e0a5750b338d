/* Unit tests of the NBD server's pending-handshake budget (transport/nbd/nbd_server.c): eviction order, established clients untouched, max_clients, timeout, test hook. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ev.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/lu.h"
#include "tests/unit/fake_clock.h"
#include "tests/unit/fake_lu.h"
#include "transport/nbd/nbd_int.h"

#define MAXC 16

/*
 * The server runs on a real libev loop; each client is one end of a socketpair handed to the
 * server as accept would (nbd_server_admit, then nbd_conn_new). What the tests observe is what
 * a client sees: its socket closed (EOF) or still open.
 */
static struct ev_loop *loop;
static struct nbd_server *srv;
static int peer[MAXC];
static struct nbd_conn *conn[MAXC];
static unsigned n_peers;
static unsigned refused;

/* An LU with one fake path attached, so that a client can finish its handshake. */
static struct fake_clock fc;
static struct mp_lu *lu;
static struct mp_path path;

static int fake_submit(struct mp_path *p MP_UNUSED, struct mp_scsi_cmd *cmd MP_UNUSED)
{
	errno = ENOTCONN;
	return -1;
}
static const struct mp_path_ops fake_ops = { .kind = "fake", .submit = fake_submit };

static void setup(void)
{
	lu = fake_lu_attached(&fc, &path, &fake_ops);
	loop = ev_loop_new(EVFLAG_AUTO);
	srv = nbd_server_new(loop);
	cr_assert_not_null(srv);
	cr_assert_eq(nbd_server_add_export(srv, "d0", NULL, lu), 0);
	n_peers = refused = 0;
}

static void teardown(void)
{
	nbd_server_free(srv);
	for (unsigned i = 0; i < n_peers; i++)
		if (peer[i] >= 0)
			close(peer[i]);
	ev_loop_destroy(loop);
	mp_lu_remove_path(lu, &path);
	mp_lu_free(lu);
}

static void limits(unsigned max_clients, unsigned max_handshakes, uint32_t timeout_ms)
{
	const struct nbd_limits lim = { .max_clients = max_clients, .max_handshakes = max_handshakes,
					.handshake_timeout_ms = timeout_ms };
	nbd_server_set_limits(srv, &lim);
}

/* A new client, as the accept callback admits it; its index, or -1 if it was refused. */
static int client(void)
{
	cr_assert_lt(n_peers, MAXC);
	if (!nbd_server_admit(srv)) {
		refused++;
		return -1;
	}
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	unsigned i = n_peers++;
	peer[i] = sv[1];
	conn[i] = nbd_conn_new(srv, sv[0], NBD_TLS_NONE);
	cr_assert_not_null(conn[i]);
	return (int)i;
}

static void spin(void)
{
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

/* Has the server closed client i? Reads (and drops) whatever it was sent. */
static bool closed(unsigned i)
{
	char buf[512];
	for (;;) {
		ssize_t n = recv(peer[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	}
}

/* Client i finishes its handshake for real: flags, then NBD_OPT_EXPORT_NAME "d0". */
static void finish_handshake(unsigned i)
{
	uint8_t m[4 + 16 + 2];
	mp_put_be32(m, 1);                              /* NBD_FLAG_C_FIXED_NEWSTYLE */
	mp_put_be64(m + 4, UINT64_C(0x49484156454f5054)); /* IHAVEOPT */
	mp_put_be32(m + 12, 1);                         /* NBD_OPT_EXPORT_NAME */
	mp_put_be32(m + 16, 2);
	memcpy(m + 20, "d0", 2);
	cr_assert_eq(send(peer[i], m, sizeof(m), MSG_NOSIGNAL), (ssize_t)sizeof(m));
	spin();
	cr_assert_not(closed(i), "client %u closed during its handshake", i);
	cr_assert_eq(conn[i]->rs, RS_REQ_HDR, "client %u did not reach transmission", i);
}

TestSuite(nbd_budget, .init = setup, .fini = teardown);

Test(nbd_budget, defaults)
{
	cr_expect_eq(srv->lim.max_handshakes, NBD_SERVER_MAX_HANDSHAKES_DEFAULT);
	cr_expect_eq(srv->lim.max_handshakes, 32);
	cr_expect_eq(srv->lim.handshake_timeout_ms, 10000);
	cr_expect_eq(srv->lim.max_clients, 256);
}

Test(nbd_budget, the_oldest_pending_handshake_goes_first)
{
	limits(10, 3, 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(client(), i);
	spin();
	for (unsigned i = 0; i < 3; i++)
		cr_expect_not(closed(i), "client %u closed before the budget was full", i);
	cr_expect_eq(nbd_server_handshake_count(srv), 3);

	/* Each newcomer closes exactly the oldest one still pending. */
	for (unsigned k = 3; k < 7; k++) {
		cr_assert_eq(client(), (int)k);
		spin();
		for (unsigned i = 0; i <= k; i++) {
			bool want = i + 3 <= k;  /* the k-2 oldest are gone */
			cr_expect_eq(closed(i), want, "after client %u: client %u %s", k, i,
				     want ? "still open" : "closed");
		}
		cr_expect_eq(nbd_server_handshake_count(srv), 3);
		cr_expect_eq(nbd_server_client_count(srv), 3);
	}
	cr_expect_eq(nbd_server_evictions(srv), 4);
	cr_expect_eq(refused, 0);
}

Test(nbd_budget, established_clients_are_never_evicted)
{
	limits(10, 2, 0);
	cr_assert_eq(client(), 0);
	cr_assert_eq(client(), 1);
	finish_handshake(0);          /* 0 leaves the budget: 1 is pending alone */
	cr_expect_eq(nbd_server_handshake_count(srv), 1);
	cr_assert_eq(client(), 2);    /* fits: 1 and 2 pending */
	spin();
	cr_expect_not(closed(1));
	cr_assert_eq(client(), 3);    /* evicts 1, the oldest pending, not 0 */
	cr_assert_eq(client(), 4);    /* evicts 2 */
	spin();
	cr_expect_not(closed(0), "an established client was evicted");
	cr_expect(closed(1));
	cr_expect(closed(2));
	cr_expect_not(closed(3));
	cr_expect_not(closed(4));
	cr_expect_eq(nbd_server_client_count(srv), 3);
	cr_expect_eq(nbd_server_handshake_count(srv), 2);
}

Test(nbd_budget, max_clients_bounds_established_plus_pending)
{
	limits(3, 32, 0);
	cr_assert_eq(client(), 0);
	cr_assert_eq(client(), 1);
	cr_assert_eq(client(), 2);
	finish_handshake(0);
	finish_handshake(1);
	/* Full (2 established + 1 pending): a newcomer takes the pending one's place. */
	cr_assert_eq(client(), 3);
	spin();
	cr_expect(closed(2));
	cr_expect_eq(nbd_server_client_count(srv), 3);
	finish_handshake(3);
	/* Three established: nothing to evict, the newcomer is refused. */
	cr_expect_eq(client(), -1);
	cr_expect_eq(refused, 1);
	spin();
	for (unsigned i = 0; i < 4; i++)
		cr_expect_eq(closed(i), i == 2, "client %u", i);
	cr_expect_eq(nbd_server_client_count(srv), 3);
}

Test(nbd_budget, a_lowered_budget_is_enforced_at_the_next_accept)
{
	limits(10, 8, 0);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(client(), i);
	limits(10, 2, 0);  /* a reload */
	cr_assert_eq(client(), 6);
	spin();
	for (unsigned i = 0; i < 7; i++)
		cr_expect_eq(closed(i), i < 5, "client %u", i);
	cr_expect_eq(nbd_server_handshake_count(srv), 2);
}

static void stop_cb(struct ev_loop *l, ev_timer *w MP_UNUSED, int revents MP_UNUSED)
{
	ev_break(l, EVBREAK_ALL);
}

Test(nbd_budget, handshake_timeout_closes_only_pending_clients)
{
	limits(10, 4, 200);
	cr_assert_eq(client(), 0);
	/* The deadline counts from the loop's idea of now when the client is accepted. */
	ev_now_update(loop);
	ev_tstamp t0 = ev_time();
	cr_assert_eq(client(), 1);
	finish_handshake(0);
	ev_timer stop;
	ev_timer_init(&stop, stop_cb, 1.0, 0.);
	ev_timer_start(loop, &stop);
	while (!closed(1) && ev_time() - t0 < 5.0)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &stop);
	cr_expect(closed(1), "the pending client was not closed after the 200 ms handshake timeout");
	cr_expect_geq(ev_time() - t0, 0.15, "closed before its deadline");
	cr_expect_not(closed(0), "an established client was closed by the handshake timeout");
	cr_expect_eq(nbd_server_handshake_count(srv), 0);
	cr_expect_eq(nbd_server_client_count(srv), 1);
}

/* Hundreds of evictions make a line at once and then one line per interval, with the count. */
Test(nbd_budget, evictions_are_logged_rate_limited)
{
	char name[] = "/tmp/nbd-budget-log.XXXXXX";
	int log_fd = mkstemp(name);
	cr_assert_geq(log_fd, 0);
	unlink(name);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	cr_assert_eq(dup2(log_fd, STDERR_FILENO), STDERR_FILENO);
	mp_log_set_level(MP_LOG_WARN);

	srv->adm.log_interval = 0.3;
	limits(100, 1, 0);
	for (int i = 0; i < 12; i++)
		cr_assert_eq(client(), i);  /* 11 evictions */
	fflush(stderr);
	char first[4096] = "";
	cr_assert_geq(pread(log_fd, first, sizeof(first) - 1, 0), 0);
	ev_timer stop;
	ev_timer_init(&stop, stop_cb, 1.0, 0.);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	ev_timer_stop(loop, &stop);
	fflush(stderr);
	char all[4096] = "";
	cr_assert_geq(pread(log_fd, all, sizeof(all) - 1, 0), 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(log_fd);
	mp_log_set_level(MP_LOG_ERR);

	unsigned lines = 0;
	for (const char *p = all; (p = strstr(p, "closed to admit new clients")); p++)
		lines++;
	cr_expect(strstr(first, "nbd: 1 pending handshake(s) closed to admit new clients (max_handshakes 1") != NULL,
		  "first line:\n%s", first);
	cr_expect(strstr(first, "nbd: 10 pending") == NULL, "the rest was not held back:\n%s", first);
	cr_expect(strstr(all, "nbd: 10 pending handshake(s) closed to admit new clients") != NULL,
		  "no summary line for the other 10:\n%s", all);
	cr_expect_eq(lines, 2, "%u eviction lines for 11 evictions:\n%s", lines, all);
	cr_expect_eq(nbd_server_evictions(srv), 11);
}

/* The test hook turns the budget off: nothing is evicted, max_clients refuses newcomers. */
Test(nbd_budget_hook, test_hook_turns_the_budget_off)
{
	setenv(NBD_SERVER_TEST_NO_BUDGET_ENV, "1", 1);
	setup();
	limits(4, 2, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(client(), i);
	cr_expect_eq(client(), -1);
	spin();
	for (unsigned i = 0; i < 4; i++)
		cr_expect_not(closed(i), "client %u evicted with the budget off", i);
	cr_expect_eq(nbd_server_evictions(srv), 0);
	teardown();
	unsetenv(NBD_SERVER_TEST_NO_BUDGET_ENV);
}
