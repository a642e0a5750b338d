/* Unit tests of the NBD server's answer for disks not exported yet (nbd_server_set_pending): INFO/GO get NBD_REP_ERR_UNKNOWN with the owner's message, LIST shows only exports. */
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

/*
 * A real server on a real libev loop; the client is one end of a socketpair handed to the
 * server as accept would. The tests read the option replies a client would read.
 */
static struct ev_loop *loop;
static struct nbd_server *srv;
static int peer = -1;
static struct fake_clock fc;
static struct mp_lu *lu;
static struct mp_path path;
static unsigned asked;                  /* calls of the pending callback */
static char asked_name[64];

static int fake_submit(struct mp_path *p MP_UNUSED, struct mp_scsi_cmd *cmd MP_UNUSED)
{
	errno = ENOTCONN;
	return -1;
}
static const struct mp_path_ops fake_ops = { .kind = "fake", .submit = fake_submit };

/* The owner knows one disk that is not ready: "later" (and, for the default export, any). */
static bool pending(void *arg, const char *name, size_t len, char *why, size_t n)
{
	cr_assert_eq(arg, &asked);
	asked++;
	snprintf(asked_name, sizeof(asked_name), "%.*s", (int)len, name);
	if (len == 0 || (len == 5 && memcmp(name, "later", 5) == 0)) {
		snprintf(why, n, "disk %s is not ready yet: no path has attached", len ? "later" : "(default)");
		return true;
	}
	return false;
}

static void setup(void)
{
	lu = fake_lu_attached(&fc, &path, &fake_ops);
	loop = ev_loop_new(EVFLAG_AUTO);
	srv = nbd_server_new(loop);
	cr_assert_not_null(srv);
	asked = 0;
	asked_name[0] = '\0';
}

static void teardown(void)
{
	nbd_server_free(srv);
	if (peer >= 0)
		close(peer);
	peer = -1;
	ev_loop_destroy(loop);
	mp_lu_remove_path(lu, &path);
	mp_lu_free(lu);
}

static void spin(void)
{
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

/* A client past the greeting (fixed newstyle flags sent). */
static void connect_client(void)
{
	cr_assert(nbd_server_admit(srv));
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	cr_assert_not_null(nbd_conn_new(srv, sv[0], NBD_TLS_NONE));
	spin();
	uint8_t greet[18];
	cr_assert_eq(recv(peer, greet, sizeof(greet), MSG_DONTWAIT), (ssize_t)sizeof(greet));
	uint8_t flags[4];
	mp_put_be32(flags, 1); /* NBD_FLAG_C_FIXED_NEWSTYLE */
	cr_assert_eq(send(peer, flags, 4, MSG_NOSIGNAL), 4);
}

static void send_option(uint32_t opt, const void *data, uint32_t len)
{
	uint8_t m[16 + 64];
	cr_assert_leq(len, 64);
	mp_put_be64(m, UINT64_C(0x49484156454f5054)); /* IHAVEOPT */
	mp_put_be32(m + 8, opt);
	mp_put_be32(m + 12, len);
	if (len)
		memcpy(m + 16, data, len);
	cr_assert_eq(send(peer, m, 16 + len, MSG_NOSIGNAL), (ssize_t)(16 + len));
	spin();
}

/* NBD_OPT_GO for name, no information requests. */
static void send_go(const char *name)
{
	uint8_t d[4 + 32 + 2];
	uint32_t n = (uint32_t)strlen(name);
	cr_assert_leq(n, 32);
	mp_put_be32(d, n);
	memcpy(d + 4, name, n);
	mp_put_be16(d + 4 + n, 0);
	send_option(NBD_OPT_GO, d, 4 + n + 2);
}

/* The next option reply: its type and its data as a string. */
static uint32_t read_reply(uint32_t opt, char *data, size_t n)
{
	uint8_t h[20];
	cr_assert_eq(recv(peer, h, sizeof(h), MSG_DONTWAIT), (ssize_t)sizeof(h), "no option reply");
	cr_assert_eq(mp_be64(h), NBD_REP_MAGIC);
	cr_assert_eq(mp_be32(h + 8), opt);
	uint32_t type = mp_be32(h + 12), len = mp_be32(h + 16);
	cr_assert_lt(len, n);
	if (len)
		cr_assert_eq(recv(peer, data, len, MSG_DONTWAIT), (ssize_t)len);
	data[len] = '\0';
	return type;
}

TestSuite(nbd_pending, .init = setup, .fini = teardown);

Test(nbd_pending, a_pending_name_is_unknown_with_the_owners_message)
{
	char msg[512];
	cr_assert_eq(nbd_server_add_export(srv, "d0", NULL, lu), 0);
	nbd_server_set_pending(srv, pending, &asked);
	connect_client();
	send_go("later");
	cr_assert_eq(read_reply(NBD_OPT_GO, msg, sizeof(msg)), NBD_REP_ERR_UNKNOWN);
	cr_assert_str_eq(msg, "disk later is not ready yet: no path has attached");
	cr_assert_eq(asked, 1);
	cr_assert_str_eq(asked_name, "later");
	/* The same connection goes on: a name nobody knows, then the ready export. */
	send_go("nope");
	cr_assert_eq(read_reply(NBD_OPT_GO, msg, sizeof(msg)), NBD_REP_ERR_UNKNOWN);
	cr_assert_str_eq(msg, "no such export");
	cr_assert_eq(asked, 2);
	send_option(NBD_OPT_INFO, (const uint8_t[]){ 0, 0, 0, 5, 'l', 'a', 't', 'e', 'r', 0, 0 }, 11);
	cr_assert_eq(read_reply(NBD_OPT_INFO, msg, sizeof(msg)), NBD_REP_ERR_UNKNOWN);
	cr_assert_str_eq(msg, "disk later is not ready yet: no path has attached");
}

Test(nbd_pending, ready_exports_are_not_asked_about)
{
	char msg[512];
	cr_assert_eq(nbd_server_add_export(srv, "d0", NULL, lu), 0);
	nbd_server_set_pending(srv, pending, &asked);
	connect_client();
	send_go("d0");
	cr_assert_eq(read_reply(NBD_OPT_GO, msg, sizeof(msg)), NBD_REP_INFO);
	cr_assert_eq(asked, 0);
}

Test(nbd_pending, list_shows_only_exports)
{
	char msg[512];
	cr_assert_eq(nbd_server_add_export(srv, "d0", NULL, lu), 0);
	nbd_server_set_pending(srv, pending, &asked);
	connect_client();
	send_option(NBD_OPT_LIST, NULL, 0);
	cr_assert_eq(read_reply(NBD_OPT_LIST, msg, sizeof(msg)), NBD_REP_SERVER);
	cr_assert_eq(mp_be32((const uint8_t *)msg), 2);
	cr_assert_eq(memcmp(msg + 4, "d0", 2), 0);
	cr_assert_eq(read_reply(NBD_OPT_LIST, msg, sizeof(msg)), NBD_REP_ACK);
	cr_assert_eq(asked, 0);
}

Test(nbd_pending, the_default_export_before_any_is_ready)
{
	char msg[512];
	nbd_server_set_pending(srv, pending, &asked);
	connect_client();
	send_go("");
	cr_assert_eq(read_reply(NBD_OPT_GO, msg, sizeof(msg)), NBD_REP_ERR_UNKNOWN);
	cr_assert_str_eq(msg, "disk (default) is not ready yet: no path has attached");
	cr_assert_str_eq(asked_name, "");
}

Test(nbd_pending, without_an_owner_unknown_is_unknown)
{
	char msg[512];
	connect_client();
	send_go("later");
	cr_assert_eq(read_reply(NBD_OPT_GO, msg, sizeof(msg)), NBD_REP_ERR_UNKNOWN);
	cr_assert_str_eq(msg, "no such export");
	cr_assert_eq(asked, 0);
}
