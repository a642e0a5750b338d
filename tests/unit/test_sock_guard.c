/* Unit tests for initiator/sock_guard: interposed socket calls on socketpairs, and a real libiscsi context against a scripted peer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "initiator/pdu_guard.h"
#include "initiator/sock_guard.h"

static void bhs(uint8_t *h, uint8_t op, uint8_t flags, uint32_t itt)
{
	memset(h, 0, 48);
	h[0] = op;
	h[1] = flags;
	mp_put_be32(h + 16, itt);
}

static void pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* Writes all of buf to a plain (unguarded) fd. */
static void put(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
		cr_assert(r > 0, "send: %s", strerror(errno));
		p += r;
		n -= (size_t)r;
	}
}

/* Reads exactly n bytes from a plain fd. */
static void get(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		cr_assert(r > 0, "recv: %s", r ? strerror(errno) : "EOF");
		p += r;
		n -= (size_t)r;
	}
}

static const char tgt_keys[] =
	"HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=65536\0MaxBurstLength=262144\0"
	"FirstBurstLength=65536\0MaxOutstandingR2T=1\0InitialR2T=No\0ImmediateData=Yes";
static const char our_keys[] = "HeaderDigest=None\0MaxRecvDataSegmentLength=262144";

/* A login exchange on a guarded socketpair end, as libiscsi would do it. */
static void socket_login(int ini, int tgt)
{
	uint8_t h[48], b[48 + 256];
	bhs(h, 0x43, 0x87, 1);
	h[7] = sizeof(our_keys);
	memcpy(b, h, 48);
	memcpy(b + 48, our_keys, sizeof(our_keys));
	size_t n = 48 + ((sizeof(our_keys) + 3) & ~3u);
	memset(b + 48 + sizeof(our_keys), 0, n - 48 - sizeof(our_keys));
	cr_assert_eq(send(ini, b, n, 0), (ssize_t)n);
	get(tgt, b, n);
	bhs(h, 0x23, 0x87, 1);
	h[7] = sizeof(tgt_keys);
	n = 48 + ((sizeof(tgt_keys) + 3) & ~3u);
	memset(b, 0, sizeof(b));
	memcpy(b, h, 48);
	memcpy(b + 48, tgt_keys, sizeof(tgt_keys));
	put(tgt, b, n);
	get(ini, b, n);
}

Test(sock_guard, unregistered_fd_passes_untouched)
{
	int sv[2];
	pair(sv);
	cr_assert_null(mp_sock_guard_of(sv[0]));
	/* Bytes that would be a refused PDU mean nothing on an unguarded fd. */
	uint8_t h[48], got[48];
	bhs(h, 0x05, 0, 7);
	put(sv[1], h, 48);
	get(sv[0], got, 48);
	cr_assert_arr_eq(got, h, 48);
	struct iovec iov = { h, 48 };
	cr_assert_eq(writev(sv[1], &iov, 1), 48);
	struct iovec riov = { got, 48 };
	cr_assert_eq(readv(sv[0], &riov, 1), 48);
	cr_assert_eq(close(sv[0]), 0);
	cr_assert_eq(close(sv[1]), 0);
	/* The pass-through keeps errno semantics. */
	errno = 0;
	cr_assert_eq(close(sv[1]), -1);
	cr_assert_eq(errno, EBADF);
	cr_assert_eq(mp_sock_guard_attach(-1, NULL), -1);
	cr_assert_eq(errno, EBADF);
	cr_assert_eq(mp_sock_guard_attach(MP_SOCK_GUARD_MAX_FD, NULL), -1);
	cr_assert_eq(errno, EMFILE);
}

Test(sock_guard, registered_fd_is_inspected)
{
	int sv[2];
	pair(sv);
	struct mp_pdu_guard *g = mp_pdu_guard_new();
	cr_assert_eq(mp_sock_guard_attach(sv[0], g), 0);
	cr_assert_eq(mp_sock_guard_of(sv[0]), g);
	socket_login(sv[0], sv[1]);
	struct mp_pdu_guard_stats st;
	mp_pdu_guard_get_stats(g, &st);
	cr_assert_eq(st.pdus_out, 1);
	cr_assert_eq(st.pdus_in, 1);
	cr_assert(st.full_feature);

	/* A NOP-Out ping through writev, answered through readv in two pieces. */
	uint8_t h[48], got[48];
	bhs(h, 0x40, 0x80, 0x21);
	mp_put_be32(h + 20, 0xffffffff);
	struct iovec iov[2] = { { h, 20 }, { h + 20, 28 } };
	cr_assert_eq(writev(sv[0], iov, 2), 48);
	get(sv[1], got, 48);
	bhs(h, 0x20, 0x80, 0x21);
	mp_put_be32(h + 20, 0xffffffff);
	put(sv[1], h, 48);
	struct iovec riov[2] = { { got, 10 }, { got + 10, 38 } };
	cr_assert_eq(readv(sv[0], riov, 2), 48);
	mp_pdu_guard_get_stats(g, &st);
	cr_assert_eq(st.pdus_in, 2);
	cr_assert_eq(st.outstanding, 0);

	/* A Data-In for the NOP-Out's (finished) tag: the header is read, refused, and not handed out. */
	bhs(h, 0x25, 0x81, 0x21);
	put(sv[1], h, 48);
	memset(got, 0, sizeof(got));
	errno = 0;
	cr_assert_eq(recv(sv[0], got, 48, 0), -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert_str_eq(mp_pdu_guard_error(g), "Data-In for ITT 0x21, which names no outstanding request "
			 "(expected a READ)");
	/* Final: reads and writes on this fd now fail without touching the socket. */
	put(sv[1], h, 48);
	cr_assert_eq(recv(sv[0], got, 48, 0), -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert_eq(send(sv[0], h, 48, 0), -1);
	cr_assert_eq(errno, EPROTO);
	int avail = 0;
	cr_assert_eq(recv(sv[1], got, 1, MSG_DONTWAIT), -1, "a refused guard let bytes out (%d)", avail);
	cr_assert_eq(errno, EAGAIN);

	/* close() detaches: the number, reused, is not guarded. */
	int fd = sv[0];
	cr_assert_eq(close(sv[0]), 0);
	cr_assert_null(mp_sock_guard_of(fd));
	close(sv[1]);
	pair(sv);
	cr_assert(sv[0] == fd || sv[1] == fd);
	cr_assert_null(mp_sock_guard_of(fd));
	put(sv[1], h, 48);
	get(sv[0], got, 48);
	close(sv[0]);
	close(sv[1]);
	mp_pdu_guard_free(g);
}

Test(sock_guard, dup2_onto_a_registered_fd_detaches)
{
	int sv[2];
	pair(sv);
	struct mp_pdu_guard *g = mp_pdu_guard_new();
	cr_assert_eq(mp_sock_guard_attach(sv[0], g), 0);
	cr_assert_eq(dup2(sv[0], sv[0]), sv[0]);
	cr_assert_eq(mp_sock_guard_of(sv[0]), g);
	cr_assert_eq(dup2(sv[1], sv[0]), sv[0]);
	cr_assert_null(mp_sock_guard_of(sv[0]));
	mp_sock_guard_detach(sv[0]);
	close(sv[0]);
	close(sv[1]);
	mp_pdu_guard_free(g);
}

Test(sock_guard, budget_answers_eagain_between_pdus)
{
	int sv[2];
	pair(sv);
	struct mp_pdu_guard *g = mp_pdu_guard_new();
	cr_assert_eq(mp_sock_guard_attach(sv[0], g), 0);
	socket_login(sv[0], sv[1]);
	uint8_t h[48 * 5], got[48];
	for (int i = 0; i < 5; i++) {
		bhs(h + 48 * i, 0x20, 0x80, 0xffffffff);
		mp_put_be32(h + 48 * i + 20, 0xffffffff);
	}
	put(sv[1], h, sizeof(h));
	mp_pdu_guard_budget(g, 2);
	cr_assert_eq(recv(sv[0], got, 30, 0), 30);
	cr_assert_eq(recv(sv[0], got, 18, 0), 18);
	cr_assert_eq(recv(sv[0], got, 48, 0), 48);
	errno = 0;
	cr_assert_eq(recv(sv[0], got, 48, 0), -1, "the third PDU was read despite a budget of 2");
	cr_assert_eq(errno, EAGAIN);
	mp_pdu_guard_budget(g, 2);
	cr_assert_eq(recv(sv[0], got, 48, 0), 48);
	mp_sock_guard_detach(sv[0]);
	close(sv[0]);
	close(sv[1]);
	mp_pdu_guard_free(g);
}

/* ---- a real libiscsi context against a scripted target ---- */

struct peer {
	struct iscsi_context *ctx;
	struct mp_pdu_guard *g;
	int lfd, tfd;
	int connected, logged_in, nop_status, read_status, nop_done, read_done;
	uint32_t cmdsn, statsn;
};

static void connect_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	(void)ctx; (void)data;
	((struct peer *)priv)->connected = status == SCSI_STATUS_GOOD ? 1 : -1;
}
static void login_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	(void)ctx; (void)data;
	((struct peer *)priv)->logged_in = status == SCSI_STATUS_GOOD ? 1 : -1;
}
static void nop_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	(void)ctx; (void)data;
	struct peer *p = priv;
	p->nop_status = status;
	p->nop_done = 1;
}
static void read_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	(void)ctx;
	struct peer *p = priv;
	p->read_status = status;
	p->read_done = 1;
	scsi_free_scsi_task(data);
}

/* One iscsi_service() round for what the socket has; returns iscsi_service's result. */
static int pump(struct peer *p)
{
	struct pollfd pfd = { iscsi_get_fd(p->ctx), (short)iscsi_which_events(p->ctx), 0 };
	int n = poll(&pfd, 1, 2000);
	cr_assert(n >= 0);
	return iscsi_service(p->ctx, pfd.revents);
}

/* The target's side of a Login: read the request, answer with a final response. */
static void peer_login(struct peer *p)
{
	uint8_t h[48];
	get(p->tfd, h, 48);
	cr_assert_eq(h[0] & 0x3f, 0x03);
	uint32_t dsl = (uint32_t)h[5] << 16 | h[6] << 8 | h[7];
	uint8_t *d = malloc(dsl + 4);
	get(p->tfd, d, (dsl + 3) & ~3u);
	free(d);
	uint32_t itt = mp_be32(h + 16);
	p->cmdsn = mp_be32(h + 24);
	uint8_t r[48 + sizeof(tgt_keys) + 4];
	memset(r, 0, sizeof(r));
	bhs(r, 0x23, 0x87, itt);
	r[7] = sizeof(tgt_keys);
	mp_put_be32(r + 24, p->statsn++);
	mp_put_be32(r + 28, p->cmdsn);
	mp_put_be32(r + 32, p->cmdsn + 64);
	memcpy(r + 48, tgt_keys, sizeof(tgt_keys));
	put(p->tfd, r, 48 + ((sizeof(tgt_keys) + 3) & ~3u));
}

static void peer_up(struct peer *p, bool guarded)
{
	memset(p, 0, sizeof(*p));
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	cr_assert_eq(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(p->lfd, 1), 0);
	cr_assert_eq(getsockname(p->lfd, (struct sockaddr *)&a, &al), 0);
	char portal[64];
	snprintf(portal, sizeof(portal), "127.0.0.1:%u", ntohs(a.sin_port));

	p->ctx = iscsi_create_context("iqn.2026-01.test:ini");
	cr_assert(p->ctx);
	iscsi_set_targetname(p->ctx, "iqn.2026-01.test:tgt");
	iscsi_set_session_type(p->ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(p->ctx, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_noautoreconnect(p->ctx, 1);
	cr_assert_eq(iscsi_connect_async(p->ctx, portal, connect_cb, p), 0);
	if (guarded) {
		p->g = mp_pdu_guard_new();
		cr_assert_eq(mp_sock_guard_attach(iscsi_get_fd(p->ctx), p->g), 0);
	}
	p->tfd = accept(p->lfd, NULL, NULL);
	cr_assert(p->tfd >= 0);
	for (int i = 0; i < 50 && !p->connected; i++)
		pump(p);
	cr_assert_eq(p->connected, 1);
	cr_assert_eq(iscsi_login_async(p->ctx, login_cb, p), 0);
	pump(p); /* sends the Login Request */
	peer_login(p);
	for (int i = 0; i < 50 && !p->logged_in; i++)
		pump(p);
	cr_assert_eq(p->logged_in, 1);
}

static void peer_down(struct peer *p)
{
	int fd = iscsi_get_fd(p->ctx);
	iscsi_destroy_context(p->ctx);
	if (p->g) {
		/* libiscsi closed its socket: the interposed close() detached it. */
		cr_assert_null(mp_sock_guard_of(fd));
		mp_pdu_guard_free(p->g);
	}
	close(p->tfd);
	close(p->lfd);
}

/* Sends a NOP-Out ping from libiscsi; returns its task tag as the target saw it. */
static uint32_t ping(struct peer *p)
{
	cr_assert_eq(iscsi_nop_out_async(p->ctx, nop_cb, NULL, 0, p), 0);
	pump(p);
	uint8_t h[48];
	get(p->tfd, h, 48);
	cr_assert_eq(h[0] & 0x3f, 0x00);
	return mp_be32(h + 16);
}

/* The target answers a NOP-Out's tag with a 512-byte Data-In: libiscsi 1.19 dereferences a NULL task. */
static void data_in_for_nop(struct peer *p)
{
	uint32_t itt = ping(p);
	uint8_t r[48 + 512];
	memset(r, 0, sizeof(r));
	bhs(r, 0x25, 0x81, itt);
	r[6] = 0x02; /* 512 bytes */
	mp_put_be32(r + 24, p->statsn++);
	mp_put_be32(r + 28, p->cmdsn);
	mp_put_be32(r + 32, p->cmdsn + 64);
	put(p->tfd, r, sizeof(r));
}

Test(sock_guard, libiscsi_honest_ping)
{
	struct peer p;
	peer_up(&p, true);
	uint32_t itt = ping(&p);
	uint8_t r[48];
	bhs(r, 0x20, 0x80, itt);
	mp_put_be32(r + 20, 0xffffffff);
	mp_put_be32(r + 24, p.statsn++);
	mp_put_be32(r + 28, p.cmdsn);
	mp_put_be32(r + 32, p.cmdsn + 64);
	put(p.tfd, r, 48);
	for (int i = 0; i < 20 && !p.nop_done; i++)
		cr_assert_geq(pump(&p), 0);
	cr_assert_eq(p.nop_status, SCSI_STATUS_GOOD);
	cr_assert_null(mp_pdu_guard_error(p.g));
	struct mp_pdu_guard_stats st;
	mp_pdu_guard_get_stats(p.g, &st);
	cr_assert_eq(st.pdus_in, 2);
	cr_assert_eq(st.pdus_out, 2);
	peer_down(&p);
}

Test(sock_guard, libiscsi_data_in_for_a_nop_is_refused)
{
	struct peer p;
	peer_up(&p, true);
	data_in_for_nop(&p);
	int rc = 0;
	for (int i = 0; i < 20 && rc == 0 && !p.nop_done; i++)
		rc = pump(&p);
	/* libiscsi fails the connection: -1 from iscsi_service, or the ping cancelled (no auto-reconnect). */
	cr_assert(rc < 0 || (p.nop_done && p.nop_status != SCSI_STATUS_GOOD), "rc %d done %d status %d", rc,
		  p.nop_done, p.nop_status);
	cr_assert(mp_pdu_guard_error(p.g));
	cr_assert(strstr(mp_pdu_guard_error(p.g), "(a NOP-Out), not a READ"), "%s", mp_pdu_guard_error(p.g));
	/* Once refused, the next service call fails too. */
	cr_assert_lt(pump(&p), 0);
	peer_down(&p);
}

/* The same without the guard, in a child: libiscsi 1.19 crashes. Shows what the guard prevents. */
Test(sock_guard, libiscsi_without_guard_crashes)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2); /* a sanitizer's report of the crash is expected, keep it out of the log */
		struct peer p;
		peer_up(&p, false);
		data_in_for_nop(&p);
		for (int i = 0; i < 20 && !p.nop_done; i++)
			if (pump(&p) < 0)
				break;
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	bool crashed = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
	cr_assert(crashed, "libiscsi survived a Data-In for a NOP-Out's tag: is this still libiscsi 1.19?");
}

/* READ through libiscsi's readv path: honest, then GOOD after half the data. */
static void read_case(bool guarded, uint32_t sent, int *status, char *err, size_t errn)
{
	struct peer p;
	peer_up(&p, guarded);
	static uint8_t buf[8192];
	memset(buf, 0xee, sizeof(buf));
	struct scsi_iovec iov = { buf, sizeof(buf) };
	struct scsi_task *t = iscsi_read16_iov_task(p.ctx, 0, 0, 8192, 512, 0, 0, 0, 0, 0, read_cb, &p, &iov, 1);
	cr_assert(t);
	pump(&p);
	uint8_t h[48];
	get(p.tfd, h, 48);
	cr_assert_eq(h[0] & 0x3f, 0x01);
	uint32_t itt = mp_be32(h + 16);
	static uint8_t r[48 + 8192];
	memset(r, 0x5a, sizeof(r));
	bhs(r, 0x25, 0x81, itt);
	r[5] = (uint8_t)(sent >> 16); r[6] = (uint8_t)(sent >> 8); r[7] = (uint8_t)sent;
	mp_put_be32(r + 20, 0xffffffff);
	mp_put_be32(r + 24, p.statsn++);
	mp_put_be32(r + 28, p.cmdsn + 1);
	mp_put_be32(r + 32, p.cmdsn + 64);
	mp_put_be32(r + 36, 0);
	mp_put_be32(r + 40, 0);
	put(p.tfd, r, 48 + sent);
	int rc = 0;
	for (int i = 0; i < 50 && rc == 0 && !p.read_done; i++)
		rc = pump(&p);
	*status = p.read_done ? p.read_status : -1;
	snprintf(err, errn, "%s", p.g && mp_pdu_guard_error(p.g) ? mp_pdu_guard_error(p.g) : "");
	if (p.read_done && p.read_status == SCSI_STATUS_GOOD)
		cr_assert_eq(buf[0], 0x5a);
	peer_down(&p);
}

Test(sock_guard, libiscsi_read)
{
	int status;
	char err[256];
	read_case(true, 8192, &status, err, sizeof(err));
	cr_assert_eq(status, SCSI_STATUS_GOOD, "%s", err);
	cr_assert_str_eq(err, "");

	/* Without the guard, GOOD after half of the data reaches the caller as success. */
	read_case(false, 4096, &status, err, sizeof(err));
	cr_assert_eq(status, SCSI_STATUS_GOOD);

	read_case(true, 4096, &status, err, sizeof(err));
	cr_assert_neq(status, SCSI_STATUS_GOOD);
	cr_assert(strstr(err, "GOOD after 4096 of 8192 bytes of Data-In"), "%s", err);
}

/* libiscsi reads every PDU the socket holds in one service call while requests wait; the budget bounds it. */
Test(sock_guard, libiscsi_budget_bounds_one_service_call)
{
	struct peer p;
	peer_up(&p, true);
	(void)ping(&p); /* keeps a request waiting, so libiscsi loops over incoming PDUs */
	uint8_t r[48 * 10];
	for (int i = 0; i < 10; i++) {
		bhs(r + 48 * i, 0x20, 0x80, 0xffffffff);
		mp_put_be32(r + 48 * i + 20, 0xffffffff);
		mp_put_be32(r + 48 * i + 24, p.statsn);
		mp_put_be32(r + 48 * i + 28, p.cmdsn + 1);
		mp_put_be32(r + 48 * i + 32, p.cmdsn + 64);
	}
	put(p.tfd, r, sizeof(r));
	struct mp_pdu_guard_stats a, b;
	mp_pdu_guard_get_stats(p.g, &a);
	mp_pdu_guard_budget(p.g, 3);
	cr_assert_eq(iscsi_service(p.ctx, POLLIN), 0);
	mp_pdu_guard_get_stats(p.g, &b);
	cr_assert_eq(b.pdus_in - a.pdus_in, 3, "one service call took %lu PDUs", (unsigned long)(b.pdus_in - a.pdus_in));
	/* Without a limit the same call drains the socket. */
	mp_pdu_guard_budget(p.g, 0);
	cr_assert_eq(iscsi_service(p.ctx, POLLIN), 0);
	mp_pdu_guard_get_stats(p.g, &a);
	cr_assert_eq(a.pdus_in - b.pdus_in, 7);
	cr_assert_null(mp_pdu_guard_error(p.g));
	peer_down(&p);
}
