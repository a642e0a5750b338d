/* Unit tests for common/sd_notify.c: messages reach a datagram socket named by NOTIFY_SOCKET (path and abstract name), and the refusals. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/sd_notify.h"

/* A listening datagram socket, as a service manager has, bound to the address NOTIFY_SOCKET names. */
static int listener(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len;
	cr_assert_eq(mp_sd_notify_addr(name, &sa, &len), 0, "%s: %s", name, strerror(errno));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0, "bind %s: %s", name, strerror(errno));
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* One datagram, as text. */
static void recv_text(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, 0);
	cr_assert_gt(n, 0, "no datagram: %s", strerror(errno));
	buf[n] = '\0';
}

Test(sd_notify, unset_does_nothing)
{
	unsetenv("NOTIFY_SOCKET");
	cr_expect_eq(mp_sd_notify("READY=1"), 0);
	cr_expect_eq(mp_sd_notifyf("STATUS=%d disk(s)", 3), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	cr_expect_eq(mp_sd_notify("READY=1"), 0);
}

Test(sd_notify, path_socket)
{
	char dir[] = "/tmp/mpiscsi-sdn.XXXXXX", path[128], buf[512];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	int fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);

	cr_expect_eq(mp_sd_notify("READY=1\nSTATUS=2 disk(s), 1 ready"), 1);
	recv_text(fd, buf, sizeof(buf));
	cr_expect_str_eq(buf, "READY=1\nSTATUS=2 disk(s), 1 ready");
	cr_expect_eq(mp_sd_notifyf("STATUS=%zu disk(s), %zu ready", (size_t)2, (size_t)2), 1);
	recv_text(fd, buf, sizeof(buf));
	cr_expect_str_eq(buf, "STATUS=2 disk(s), 2 ready");
	cr_expect_eq(mp_sd_notify("STOPPING=1"), 1);
	recv_text(fd, buf, sizeof(buf));
	cr_expect_str_eq(buf, "STOPPING=1");

	close(fd);
	unlink(path);
	/* Nobody listens any more: an error, not a silent success. */
	cr_expect_eq(mp_sd_notify("READY=1"), -1);
	cr_expect(errno == ENOENT || errno == ECONNREFUSED, "errno %d", errno);
	rmdir(dir);
}

Test(sd_notify, abstract_socket)
{
	char name[64], buf[256];
	snprintf(name, sizeof(name), "@mpiscsi-test-sdn-%ld-%d", (long)getpid(), rand());
	int fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);

	cr_expect_eq(mp_sd_notify("RELOADING=1"), 1);
	recv_text(fd, buf, sizeof(buf));
	cr_expect_str_eq(buf, "RELOADING=1");

	/* The address is the name without '@' after a NUL, and its length counts no terminator. */
	struct sockaddr_un sa;
	socklen_t len;
	cr_assert_eq(mp_sd_notify_addr(name, &sa, &len), 0);
	cr_expect_eq(sa.sun_path[0], '\0');
	cr_expect_eq(memcmp(sa.sun_path + 1, name + 1, strlen(name) - 1), 0);
	cr_expect_eq(len, offsetof(struct sockaddr_un, sun_path) + strlen(name));
	close(fd);
}

Test(sd_notify, refusals)
{
	struct sockaddr_un sa;
	socklen_t len;
	char longname[200];

	setenv("NOTIFY_SOCKET", "relative/socket", 1);
	cr_expect_eq(mp_sd_notify("READY=1"), -1);
	cr_expect_eq(errno, EAFNOSUPPORT);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	cr_expect_eq(mp_sd_notify("READY=1"), -1);
	cr_expect_eq(errno, EAFNOSUPPORT);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[0] = '/';
	cr_expect_eq(mp_sd_notify_addr(longname, &sa, &len), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	longname[0] = '@';
	cr_expect_eq(mp_sd_notify_addr(longname, &sa, &len), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	/* The longest that fit: 107 bytes of path and a NUL; '@' and 107 bytes of abstract name. */
	longname[108] = '\0';
	cr_expect_eq(mp_sd_notify_addr(longname, &sa, &len), 0);
	cr_expect_eq(len, sizeof(sa));
	longname[0] = '/';
	cr_expect_eq(mp_sd_notify_addr(longname, &sa, &len), -1);
	longname[107] = '\0';
	cr_expect_eq(mp_sd_notify_addr(longname, &sa, &len), 0);
	cr_expect_eq(mp_sd_notify_addr("@", &sa, &len), -1);
	cr_expect_eq(errno, EINVAL);

	/* A message too long to format is refused whole, not cut. */
	char *big = malloc(5000);
	cr_assert_not_null(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	cr_expect_eq(mp_sd_notifyf("STATUS=%s", big), -1);
	cr_expect_eq(errno, EMSGSIZE);
	free(big);
}
