/* Misbehaving NBD client for end-to-end tests: sends malformed input, checks the server copes (TAP output). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/util.h"

/*
 * Usage: nbd_badclient SOCKETPATH EXPORTNAME
 * Every case runs on a fresh connection. The wire bytes are built here by hand
 * (only the byte helpers of common/util.h are shared with the server) so that a
 * server bug is not mirrored by the client.
 */

#define IO_TIMEOUT_S   10
#define MAGIC_NBD      UINT64_C(0x4e42444d41474943)
#define MAGIC_OPT      UINT64_C(0x49484156454f5054)
#define MAGIC_REP      UINT64_C(0x0003e889045565a9)
#define MAGIC_REQ      UINT32_C(0x25609513)
#define MAGIC_SIMPLE   UINT32_C(0x67446698)
#define OPT_GO         7u
#define REP_ACK        1u
#define REP_INFO       3u
#define CMD_READ       0u
#define CMD_WRITE      1u
#define CMD_DISC       2u
#define ERR_EINVAL     22u
#define ERR_EOVERFLOW  75u

struct ctx {
	const char *path;
	const char *export;
	char why[256];
};

static void why(struct ctx *x, const char *fmt, ...) MP_PRINTF(2, 3);
static void why(struct ctx *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
}

static int connect_to(struct ctx *x)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	if (strlen(x->path) >= sizeof(sa.sun_path)) {
		why(x, "socket path too long");
		return -1;
	}
	strcpy(sa.sun_path, x->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		why(x, "connect %s: %s", x->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* 0 sent; -1 error (EPIPE/ECONNRESET count as errors). */
static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 1 read all; 0 EOF or reset before all arrived; -1 timeout or other error. */
static int recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
			return 0;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

/* true if the server closes the connection (all data before EOF is drained, up to a bound). */
static bool closes(int fd)
{
	uint8_t junk[4096];
	for (int i = 0; i < 1024; i++) {
		ssize_t n = recv(fd, junk, sizeof(junk), 0);
		if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
			return true;
		if (n < 0 && errno != EINTR)
			return false;  /* timeout: still open */
	}
	return false;
}

/* Read the greeting and send the client flags. */
static int greet(struct ctx *x, int fd, uint32_t client_flags)
{
	uint8_t g[18], f[4];
	if (recv_all(fd, g, sizeof(g)) != 1) {
		why(x, "no greeting");
		return -1;
	}
	if (mp_be64(g) != MAGIC_NBD || mp_be64(g + 8) != MAGIC_OPT || !(mp_be16(g + 16) & 1)) {
		why(x, "bad greeting");
		return -1;
	}
	mp_put_be32(f, client_flags);
	if (send_all(fd, f, sizeof(f)) < 0) {
		why(x, "sending client flags failed");
		return -1;
	}
	return 0;
}

/* A connection in transmission phase with simple replies; the export size in *size. */
static int open_export(struct ctx *x, uint64_t *size)
{
	int fd = connect_to(x);
	if (fd < 0)
		return -1;
	if (greet(x, fd, 3) < 0)
		goto fail;
	size_t nl = strlen(x->export);
	uint8_t *o = malloc(16 + 6 + nl);
	if (!o)
		goto fail;
	mp_put_be64(o, MAGIC_OPT);
	mp_put_be32(o + 8, OPT_GO);
	mp_put_be32(o + 12, (uint32_t)(6 + nl));
	mp_put_be32(o + 16, (uint32_t)nl);
	memcpy(o + 20, x->export, nl);
	mp_put_be16(o + 20 + nl, 0);
	int rc = send_all(fd, o, 16 + 6 + nl);
	free(o);
	if (rc < 0) {
		why(x, "sending NBD_OPT_GO failed");
		goto fail;
	}
	bool have_size = false;
	for (;;) {
		uint8_t h[20], d[1024];
		if (recv_all(fd, h, sizeof(h)) != 1 || mp_be64(h) != MAGIC_REP || mp_be32(h + 8) != OPT_GO) {
			why(x, "bad or missing reply to NBD_OPT_GO");
			goto fail;
		}
		uint32_t type = mp_be32(h + 12), len = mp_be32(h + 16);
		if (len > sizeof(d) || recv_all(fd, d, len) != 1) {
			why(x, "reply to NBD_OPT_GO too long or cut short");
			goto fail;
		}
		if (type == REP_ACK)
			break;
		if (type & (1u << 31)) {
			why(x, "NBD_OPT_GO for '%s' refused (0x%x): %.*s", x->export, type, (int)len, (char *)d);
			goto fail;
		}
		if (type == REP_INFO && len >= 12 && mp_be16(d) == 0) {
			*size = mp_be64(d + 2);
			have_size = true;
		}
	}
	if (!have_size) {
		why(x, "no NBD_INFO_EXPORT before the ACK");
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int send_req(int fd, uint32_t magic, uint16_t flags, uint16_t type, uint64_t cookie, uint64_t off,
		    uint32_t len)
{
	uint8_t r[28];
	mp_put_be32(r, magic);
	mp_put_be16(r + 4, flags);
	mp_put_be16(r + 6, type);
	mp_put_be64(r + 8, cookie);
	mp_put_be64(r + 16, off);
	mp_put_be32(r + 24, len);
	return send_all(fd, r, sizeof(r));
}

/* Read one simple reply. 1 got it (error in *err), 0 disconnected, -1 timeout or garbage. */
static int recv_reply(struct ctx *x, int fd, uint64_t cookie, uint32_t *err)
{
	uint8_t h[16];
	int rc = recv_all(fd, h, sizeof(h));
	if (rc != 1) {
		why(x, rc == 0 ? "server disconnected" : "no reply within %d s", IO_TIMEOUT_S);
		return rc;
	}
	if (mp_be32(h) != MAGIC_SIMPLE || mp_be64(h + 8) != cookie) {
		why(x, "reply with bad magic 0x%08x or cookie %llu (want %llu)", mp_be32(h),
		    (unsigned long long)mp_be64(h + 8), (unsigned long long)cookie);
		return -1;
	}
	*err = mp_be32(h + 4);
	return 1;
}

/* A 4096-byte read at offset 0 that must succeed; the data lands in buf if not NULL. */
static bool good_read(struct ctx *x, int fd, uint64_t cookie, uint8_t *buf)
{
	uint8_t tmp[4096];
	uint32_t err;
	if (send_req(fd, MAGIC_REQ, 0, CMD_READ, cookie, 0, sizeof(tmp)) < 0) {
		why(x, "sending read failed");
		return false;
	}
	if (recv_reply(x, fd, cookie, &err) != 1)
		return false;
	if (err) {
		why(x, "read of the first 4096 bytes failed with error %u", err);
		return false;
	}
	if (recv_all(fd, buf ? buf : tmp, sizeof(tmp)) != 1) {
		why(x, "read data cut short");
		return false;
	}
	return true;
}

static bool case_bad_handshake(struct ctx *x)
{
	int fd = connect_to(x);
	if (fd < 0)
		return false;
	bool ok = greet(x, fd, 0xffffffffu) == 0 && closes(fd);
	close(fd);
	if (!ok) {
		if (!x->why[0])
			why(x, "server kept the connection after unknown client flags");
		return false;
	}
	/* Good flags, then an option header whose magic is wrong. */
	if ((fd = connect_to(x)) < 0)
		return false;
	if (greet(x, fd, 3) < 0) {
		close(fd);
		return false;
	}
	uint8_t o[16];
	mp_put_be64(o, UINT64_C(0x1122334455667788));
	mp_put_be32(o + 8, OPT_GO);
	mp_put_be32(o + 12, 0);
	ok = true;
	if (send_all(fd, o, sizeof(o)) == 0) {
		uint8_t h[20];
		int rc = recv_all(fd, h, sizeof(h));
		if (rc == 1)  /* an answer is acceptable only if it is an error reply */
			ok = mp_be64(h) == MAGIC_REP && (mp_be32(h + 12) & (1u << 31));
		else
			ok = rc == 0;
		if (!ok)
			why(x, rc == 1 ? "bad option magic answered without an error" :
			    "server neither closed nor answered after bad option magic");
	}
	close(fd);
	return ok;
}

static bool case_bad_request_magic(struct ctx *x)
{
	uint64_t size;
	int fd = open_export(x, &size);
	if (fd < 0)
		return false;
	bool ok = send_req(fd, 0xdeadbeefu, 0, CMD_READ, 1, 0, 4096) < 0 || closes(fd);
	if (!ok)
		why(x, "server did not disconnect after a request with bad magic");
	close(fd);
	return ok;
}

/* Send one request that must be refused with one of two errors; the connection must stay usable. */
static bool refused(struct ctx *x, uint16_t type, uint64_t off, uint32_t len, uint32_t e1, uint32_t e2,
		    bool disconnect_ok)
{
	uint64_t size;
	uint32_t err = 0;
	int fd = open_export(x, &size);
	if (fd < 0)
		return false;
	if (off == UINT64_MAX)
		off = size;  /* "just past the end" */
	bool ok = false;
	if (send_req(fd, MAGIC_REQ, 0, type, 7, off, len) < 0) {
		ok = disconnect_ok;
		if (!ok)
			why(x, "sending the request failed");
		goto out;
	}
	int rc = recv_reply(x, fd, 7, &err);
	if (rc == 0 && disconnect_ok) {
		ok = true;
		goto out;
	}
	if (rc != 1)
		goto out;
	if (err != e1 && err != e2) {
		why(x, "got error %u, want %u%s", err, e1, e1 != e2 ? " or EOVERFLOW" : "");
		goto out;
	}
	ok = good_read(x, fd, 8, NULL);
	if (!ok) {
		char inner[sizeof(x->why)];
		memcpy(inner, x->why, sizeof(inner));
		why(x, "connection unusable after the refused request: %.200s", inner);
	}
out:
	close(fd);
	return ok;
}

static bool case_cut_write(struct ctx *x)
{
	uint8_t before[4096], after[4096], junk[1000];
	uint64_t size;
	int fd = open_export(x, &size);
	if (fd < 0)
		return false;
	bool ok = good_read(x, fd, 1, before);
	close(fd);
	if (!ok)
		return false;
	if ((fd = open_export(x, &size)) < 0)
		return false;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)~before[i];
	send_req(fd, MAGIC_REQ, 0, CMD_WRITE, 2, 0, 65536);
	send_all(fd, junk, sizeof(junk));
	close(fd);
	if ((fd = open_export(x, &size)) < 0)
		return false;
	ok = good_read(x, fd, 3, after);
	close(fd);
	if (ok && memcmp(before, after, sizeof(before))) {
		why(x, "a write cut short was applied (first 4096 bytes changed)");
		ok = false;
	}
	return ok;
}

static bool case_final_read(struct ctx *x)
{
	uint64_t size;
	int fd = open_export(x, &size);
	if (fd < 0)
		return false;
	bool ok = good_read(x, fd, 1, NULL);
	if (ok)
		send_req(fd, MAGIC_REQ, 0, CMD_DISC, 2, 0, 0);
	close(fd);
	return ok;
}

static bool case_big_read(struct ctx *x)
{
	return refused(x, CMD_READ, 0, 64u << 20, ERR_EINVAL, ERR_EOVERFLOW, true);
}

static bool case_read_past_end(struct ctx *x)
{
	return refused(x, CMD_READ, UINT64_MAX, 4096, ERR_EINVAL, ERR_EINVAL, false) &&
	       refused(x, CMD_READ, UINT64_C(0xfffffffffffff000), 8192, ERR_EINVAL, ERR_EINVAL, false);
}

static bool case_unknown_cmd(struct ctx *x)
{
	return refused(x, 99, 0, 4096, ERR_EINVAL, ERR_EINVAL, false);
}

int main(int argc, char **argv)
{
	static const struct {
		bool (*fn)(struct ctx *x);
		const char *desc;
	} cases[] = {
		{ case_bad_handshake, "bad client flags / bad option magic: disconnect or error reply" },
		{ case_bad_request_magic, "request with bad magic: disconnect" },
		{ case_big_read, "64 MiB read: EINVAL or EOVERFLOW (or disconnect)" },
		{ case_read_past_end, "read beyond the end: EINVAL, connection stays usable" },
		{ case_unknown_cmd, "unknown command 99: EINVAL, connection stays usable" },
		{ case_cut_write, "write cut short mid-payload: not applied, server unharmed" },
		{ case_final_read, "fresh client reads the first 4096 bytes" },
	};
	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKETPATH EXPORTNAME\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct ctx x = { .path = argv[1], .export = argv[2] };
	int failed = 0;
	printf("1..%zu\n", MP_ARRAY_SIZE(cases));
	for (size_t i = 0; i < MP_ARRAY_SIZE(cases); i++) {
		x.why[0] = '\0';
		if (cases[i].fn(&x)) {
			printf("ok %zu - %s\n", i + 1, cases[i].desc);
		} else {
			printf("not ok %zu - %s: %s\n", i + 1, cases[i].desc, x.why[0] ? x.why : "failed");
			failed++;
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
