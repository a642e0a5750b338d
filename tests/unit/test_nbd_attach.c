/* Unit tests for connections that start in transmission phase (nbd_server_attach, the kernel NBD front end's path): requests, replies, drain, close callback once. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ev.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/lu.h"
#include "tests/unit/fake_clock.h"
#include "transport/nbd/nbd_proto.h"
#include "transport/nbd/nbd_server.h"

#define BS 512u
#define BLOCKS 256u
#define MAXQ 64

/* One fake path holding the commands the core sends until the test serves them from RAM. */
struct fake_path {
	struct mp_path path;
	struct mp_scsi_cmd *q[MAXQ];
	int nq;
};

static struct fake_clock fc;
static uint8_t disk[BLOCKS * BS];
static int closed_calls;

static int fake_submit(struct mp_path *path, struct mp_scsi_cmd *cmd)
{
	struct fake_path *fp = mp_container_of(path, struct fake_path, path);
	cr_assert_lt(fp->nq, MAXQ);
	fp->q[fp->nq++] = cmd;
	return 0;
}

static void fake_fail(struct mp_path *path, const char *reason) { mp_lu_path_down(path->lu, path, reason); }

static const struct mp_path_ops fake_ops = { .kind = "fake", .submit = fake_submit, .fail = fake_fail };

/* READ(16)/WRITE(16) against the RAM disk, GOOD. */
static void serve_one(struct fake_path *fp)
{
	cr_assert_gt(fp->nq, 0);
	struct mp_scsi_cmd *c = fp->q[0];
	memmove(fp->q, fp->q + 1, (size_t)(fp->nq - 1) * sizeof(fp->q[0]));
	fp->nq--;
	uint64_t lba = mp_be64(c->cdb + 2);
	if (c->cdb[0] == 0x88)
		memcpy(c->buf, disk + lba * BS, c->len);
	else if (c->cdb[0] == 0x8a)
		memcpy(disk + lba * BS, c->buf, c->len);
	struct mp_scsi_result r = { .xport = MP_XPORT_OK, .status = 0 };
	c->done(c, &r);
}

static void on_closed(void *arg, struct nbd_conn *c MP_UNUSED)
{
	closed_calls++;
	*(int *)arg += 1;
}

struct rig {
	struct ev_loop *loop;
	struct nbd_server *srv;
	struct mp_lu *lu;
	struct fake_path fp;
	struct nbd_conn *c;
	int kernel_fd;   /* the "kernel's" end */
	int closed;
};

static void rig_up(struct rig *r)
{
	char err[256];
	memset(r, 0, sizeof(*r));
	mp_log_set_level(MP_LOG_ERR);
	fake_clock_init(&fc);
	closed_calls = 0;
	for (size_t i = 0; i < sizeof(disk); i++)
		disk[i] = (uint8_t)(i * 13 + 1);
	r->loop = ev_loop_new(EVFLAG_AUTO);
	r->srv = nbd_server_new(r->loop);
	struct mp_lu_opts o;
	mp_lu_opts_default(&o);
	r->lu = mp_lu_new("t", &fc.clock, &o);
	r->fp.path.ops = &fake_ops;
	snprintf(r->fp.path.name, sizeof(r->fp.path.name), "a");
	struct mp_lu_info in = { .block_size = BS, .num_blocks = BLOCKS, .max_xfer_blocks = 64 };
	snprintf(in.designator, sizeof(in.designator), "naa.1");
	mp_lu_add_path(r->lu, &r->fp.path);
	cr_assert_eq(mp_lu_path_attached(r->lu, &r->fp.path, &in, err, sizeof(err)), 0, "%s", err);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	r->kernel_fd = sv[1];
	struct nbd_export_limits lim = {
		.size = BLOCKS * BS, .min_block = BS, .max_payload = NBD_MAX_PAYLOAD,
		.tflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA,
	};
	r->c = nbd_server_attach(r->srv, sv[0], r->lu, &lim, on_closed, &r->closed);
	cr_assert_not_null(r->c);
}

static void rig_down(struct rig *r)
{
	nbd_server_free(r->srv);
	mp_lu_remove_path(r->lu, &r->fp.path);
	mp_lu_free(r->lu);
	if (r->kernel_fd >= 0)
		close(r->kernel_fd);
	ev_loop_destroy(r->loop);
}

static void spin(struct rig *r)
{
	for (int i = 0; i < 20; i++)
		ev_run(r->loop, EVRUN_NOWAIT);
}

static void send_req(int fd, uint16_t type, uint64_t cookie, uint64_t off, uint32_t len, const void *payload)
{
	uint8_t h[NBD_REQUEST_LEN];
	mp_put_be32(h, NBD_REQUEST_MAGIC);
	mp_put_be16(h + 4, 0);
	mp_put_be16(h + 6, type);
	mp_put_be64(h + 8, cookie);
	mp_put_be64(h + 16, off);
	mp_put_be32(h + 24, len);
	cr_assert_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	if (payload)
		cr_assert_eq(write(fd, payload, len), (ssize_t)len);
}

/* A simple reply (no handshake, so never structured): error and cookie; data follows for READ. */
static void read_reply(int fd, uint32_t *err, uint64_t *cookie)
{
	uint8_t h[NBD_SIMPLE_REPLY_LEN];
	cr_assert_eq(recv(fd, h, sizeof(h), MSG_WAITALL), (ssize_t)sizeof(h));
	cr_assert_eq(mp_be32(h), NBD_SIMPLE_REPLY_MAGIC);
	*err = mp_be32(h + 4);
	*cookie = mp_be64(h + 8);
}

Test(nbd_attach, no_handshake_read_and_write)
{
	struct rig r;
	rig_up(&r);
	uint8_t buf[1024], want[1024];
	memset(buf, 0x5a, sizeof(buf));
	send_req(r.kernel_fd, NBD_CMD_WRITE, 7, 2 * BS, 1024, buf);
	spin(&r);
	cr_assert_eq(r.fp.nq, 1, "the write reached the core without any handshake");
	serve_one(&r.fp);
	spin(&r);
	uint32_t err;
	uint64_t cookie;
	read_reply(r.kernel_fd, &err, &cookie);
	cr_assert_eq(err, 0);
	cr_assert_eq(cookie, 7);
	memset(want, 0x5a, sizeof(want));
	cr_assert_eq(memcmp(disk + 2 * BS, want, sizeof(want)), 0);

	send_req(r.kernel_fd, NBD_CMD_READ, 8, 2 * BS, 1024, NULL);
	spin(&r);
	serve_one(&r.fp);
	spin(&r);
	read_reply(r.kernel_fd, &err, &cookie);
	cr_assert_eq(err, 0);
	cr_assert_eq(cookie, 8);
	cr_assert_eq(recv(r.kernel_fd, buf, 1024, MSG_WAITALL), 1024);
	cr_assert_eq(memcmp(buf, want, sizeof(want)), 0);

	send_req(r.kernel_fd, NBD_CMD_READ, 9, 3, 512, NULL);  /* misaligned: refused by the same checks */
	spin(&r);
	read_reply(r.kernel_fd, &err, &cookie);
	cr_assert_eq(err, NBD_EINVAL);
	cr_assert_eq(r.closed, 0);
	rig_down(&r);
	cr_assert_eq(r.closed, 1, "server free closes the connection and says so once");
}

Test(nbd_attach, drain_answers_what_it_took_then_closes_once)
{
	struct rig r;
	rig_up(&r);
	send_req(r.kernel_fd, NBD_CMD_READ, 1, 0, 512, NULL);
	spin(&r);
	cr_assert_eq(r.fp.nq, 1);
	nbd_server_conn_drain(r.c);
	cr_assert_eq(r.closed, 0, "a request is still in the core");
	send_req(r.kernel_fd, NBD_CMD_READ, 2, 512, 512, NULL);  /* after the drain began: not taken */
	spin(&r);
	cr_assert_eq(r.fp.nq, 1);
	serve_one(&r.fp);
	spin(&r);
	uint32_t err;
	uint64_t cookie;
	read_reply(r.kernel_fd, &err, &cookie);
	cr_assert_eq(cookie, 1);
	cr_assert_eq(err, 0);
	uint8_t data[512];
	cr_assert_eq(recv(r.kernel_fd, data, sizeof(data), MSG_WAITALL), 512);
	cr_assert_eq(r.closed, 1, "closed once the last answer was written");
	/* Closed with the untaken request unread: end of stream or a reset, never more data. */
	ssize_t n = recv(r.kernel_fd, data, sizeof(data), 0);
	cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "and the socket is closed (recv %zd, %s)", n, strerror(errno));
	rig_down(&r);
	cr_assert_eq(closed_calls, 1, "exactly once, also through nbd_server_free");
}

Test(nbd_attach, kernel_shutting_its_end_is_reported)
{
	struct rig r;
	rig_up(&r);
	shutdown(r.kernel_fd, SHUT_RDWR);  /* what the kernel does to a connection it declares dead */
	spin(&r);
	cr_assert_eq(r.closed, 1, "the front end learns the connection is gone (to replace it)");
	rig_down(&r);
	cr_assert_eq(closed_calls, 1);
}

Test(nbd_attach, close_by_owner_is_silent)
{
	struct rig r;
	rig_up(&r);
	nbd_server_conn_close(r.c);
	spin(&r);
	rig_down(&r);
	cr_assert_eq(closed_calls, 0, "nbd_server_conn_close does not call back");
}
