/* NBD connection I/O ops for the plain socket: read(2) and sendmsg(2), nothing buffered. */
#include "transport/nbd/nbd_int.h"

#include <sys/socket.h>
#include <unistd.h>
#include "common/util.h"

static ssize_t plain_read(struct nbd_conn *c, void *buf, size_t len)
{
	return read(c->fd, buf, len);
}

static ssize_t plain_writev(struct nbd_conn *c, const struct iovec *iov, int iovcnt)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	return sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static bool plain_pending(const struct nbd_conn *c MP_UNUSED)
{
	return false;
}

static int plain_events(const struct nbd_conn *c MP_UNUSED, int want)
{
	return want;
}

static int plain_ready(const struct nbd_conn *c MP_UNUSED, int revents)
{
	return revents;
}

static void plain_shutdown(struct nbd_conn *c MP_UNUSED)
{
}

const struct nbd_io_ops nbd_io_plain = {
	.name = "plain",
	.read = plain_read,
	.writev = plain_writev,
	.pending = plain_pending,
	.events = plain_events,
	.ready = plain_ready,
	.shutdown = plain_shutdown,
};
