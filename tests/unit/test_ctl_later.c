/* Unit tests of the control socket's later replies (tools/mpiscsid/ctl_server.c): node-login waits without blocking others, answers once, survives its client, is cancelled at shutdown. */
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

#define LOGIN_REQ "{\"v\":1,\"cmd\":\"node-login\",\"args\":{\"target\":\"iqn.2026-11.t:x\",\"portal\":\"198.18.1.2\"," \
		  "\"timeout_s\":5}}\n"
#define REFUSE_REQ "{\"v\":1,\"cmd\":\"node-login\",\"args\":{\"target\":\"refuse\",\"portal\":\"198.18.1.2\"}}\n"
#define VERSION_REQ "{\"v\":1,\"cmd\":\"version\"}\n"

/* A real server on a real loop and Unix socket; a fake model that keeps the later it is given. */
static char dir[48], path[96];
static struct ev_loop *loop;
static struct mp_ctl *ctl;
static struct mp_ctl_later *held;
static double held_timeout;
static int cancels;

static size_t no_disks(void *arg MP_UNUSED) { return 0; }
static struct mp_lu *no_lu(void *arg MP_UNUSED, size_t i MP_UNUSED) { return NULL; }
static const char *no_name(void *arg MP_UNUSED, size_t i MP_UNUSED) { return "none"; }
static void cancel(void *arg) { (*(int *)arg)++; }

static int fake_login(void *arg MP_UNUSED, const char *target, const char *portal MP_UNUSED, int64_t lun MP_UNUSED,
		      const char *iface MP_UNUSED, double timeout_s, struct mp_ctl_later *later, char *msg, size_t len)
{
	if (strcmp(target, "refuse") == 0) {
		snprintf(msg, len, "session already present");
		errno = EEXIST;
		return -1;
	}
	held = later;
	held_timeout = timeout_s;
	mp_ctl_later_set_cancel(later, cancel, &cancels);
	return 1;
}

static void setup(void)
{
	char err[256];
	mp_log_set_level(MP_LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/ctl-later.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	loop = ev_loop_new(EVFLAG_AUTO);
	const struct mp_ctl_model m = { .n_disks = no_disks, .disk_lu = no_lu, .disk_name = no_name,
					.node_login = fake_login };
	ctl = mp_ctl_new(loop, path, &m, err, sizeof(err));
	cr_assert_not_null(ctl, "%s", err);
	held = NULL;
	cancels = 0;
}

static void teardown(void)
{
	mp_ctl_free(ctl);
	ev_loop_destroy(loop);
	rmdir(dir);
}

static void spin(void)
{
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

static int client_send(const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s", strerror(errno));
	cr_assert_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	spin();
	return fd;
}

/* What fd has been sent so far; *eof when the server closed it. */
static void got(int fd, char *buf, size_t n, bool *eof)
{
	size_t have = 0;
	buf[0] = '\0';
	*eof = false;
	for (;;) {
		ssize_t r = recv(fd, buf + have, n - 1 - have, MSG_DONTWAIT);
		if (r > 0) {
			have += (size_t)r;
			buf[have] = '\0';
			continue;
		}
		*eof = r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
		return;
	}
}

TestSuite(ctl_later, .init = setup, .fini = teardown);

Test(ctl_later, waits_without_blocking_others_then_answers_once)
{
	char buf[4096];
	bool eof;
	int a = client_send(LOGIN_REQ);
	shutdown(a, SHUT_WR); /* as mpiscsiadm does: the EOF must neither close it nor spin the loop */
	spin();
	cr_assert_not_null(held, "the model was not given a later");
	cr_expect_eq(held_timeout, 5.0);
	got(a, buf, sizeof(buf), &eof);
	cr_expect_str_empty(buf, "answered before the outcome: %s", buf);
	cr_expect_not(eof, "the waiting client was closed");
	int b = client_send(VERSION_REQ);
	got(b, buf, sizeof(buf), &eof);
	cr_expect(strstr(buf, "\"ok\":true") != NULL, "another client waits behind the login: '%s'", buf);
	close(b);

	const struct mp_ctl_login_session s = { .iface = "veth1", .portal = "198.18.1.2:3260" };
	const struct mp_ctl_login_disk d = { .lun = 1, .disk = "x-1", .export_name = "x-1", .device = "", .state = "attached" };
	const struct mp_ctl_login_result r = { .message = "ok", .sessions = &s, .n_sessions = 1, .disks = &d, .n_disks = 1 };
	mp_ctl_later_login_done(held, &r);
	held = NULL;
	spin();
	got(a, buf, sizeof(buf), &eof);
	cr_expect(strstr(buf, "\"ok\":true") && strstr(buf, "\"disk\":\"x-1\"") && strstr(buf, "\"iface\":\"veth1\""),
		  "login reply: '%s'", buf);
	cr_expect(eof, "the client (EOF sent) is closed after its reply");
	cr_expect_eq(cancels, 0);
	close(a);
}

Test(ctl_later, failure_is_an_error_reply)
{
	char buf[4096];
	bool eof;
	int a = client_send(LOGIN_REQ);
	cr_assert_not_null(held);
	const struct mp_ctl_login_result r = { .err = ETIMEDOUT, .message = "198.18.1.2:3260: no login within 5 s" };
	mp_ctl_later_login_done(held, &r);
	held = NULL;
	spin();
	got(a, buf, sizeof(buf), &eof);
	cr_expect(strstr(buf, "\"ok\":false") && strstr(buf, "ETIMEDOUT") && strstr(buf, "no login within 5 s"),
		  "failure reply: '%s'", buf);
	close(a);
}

Test(ctl_later, a_client_gone_drops_the_outcome)
{
	int a = client_send(LOGIN_REQ);
	cr_assert_not_null(held);
	close(a);
	/* The server does not watch a waiting client: it finds out when it answers. */
	const struct mp_ctl_login_result r = { .err = 0, .message = "ok" };
	mp_ctl_later_login_done(held, &r);
	held = NULL;
	spin();
	cr_expect_eq(mp_ctl_client_count(ctl), 0);
	cr_expect_eq(cancels, 0);
}

Test(ctl_later, refused_at_once)
{
	char buf[4096];
	bool eof;
	int a = client_send(REFUSE_REQ);
	got(a, buf, sizeof(buf), &eof);
	cr_expect(strstr(buf, "EEXIST") && strstr(buf, "session already present"), "refusal: '%s'", buf);
	cr_expect_null(held);
	close(a);
}

Test(ctl_later, shutdown_cancels_what_is_owed)
{
	int a = client_send(LOGIN_REQ);
	cr_assert_not_null(held);
	mp_ctl_free(ctl);
	ctl = NULL;
	cr_expect_eq(cancels, 1, "mp_ctl_free must cancel the owed reply once");
	close(a);
	/* teardown frees ctl again: make it a no-op */
}
