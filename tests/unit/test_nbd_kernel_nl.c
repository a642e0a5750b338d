/* Unit tests for transport/nbd_kernel/nbd_nl.c: netlink requests built and read back, canned kernel answers parsed (libnl, no kernel). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <linux/nbd-netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "transport/nbd/nbd_proto.h"
#include "transport/nbd_kernel/nbd_nl.h"

#define FAMILY 33  /* any id: the kernel assigns it at run time */

static struct nbd_nl_config full_config(void)
{
	struct nbd_nl_config c = {
		.index = 3,
		.size_bytes = 64ull << 20,
		.block_size = 4096,
		.timeout_s = 70,
		.dead_timeout_s = 60,
		.server_flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH,
		.client_flags = 0,
		.fds = { 7, 9, 11 },
		.n_fds = 3,
	};
	snprintf(c.backend, sizeof(c.backend), "naa.60014051234567890");
	return c;
}

Test(nbd_nl, connect_round_trip)
{
	struct nbd_nl_config in = full_config(), out;
	uint8_t cmd = 0;
	struct nl_msg *m = nbd_nl_build(FAMILY, NBD_CMD_CONNECT, &in);
	cr_assert_not_null(m);
	struct nlmsghdr *h = nlmsg_hdr(m);
	cr_assert_eq(h->nlmsg_type, FAMILY);
	cr_assert_eq(((struct genlmsghdr *)nlmsg_data(h))->version, NBD_GENL_VERSION);
	cr_assert_eq(nbd_nl_parse_request(h, &cmd, &out), 0);
	cr_assert_eq(cmd, NBD_CMD_CONNECT);
	cr_assert_eq(out.index, 3);
	cr_assert_eq(out.size_bytes, 64ull << 20);
	cr_assert_eq(out.block_size, 4096);
	cr_assert_eq(out.timeout_s, 70);
	cr_assert_eq(out.dead_timeout_s, 60);
	cr_assert_eq(out.server_flags, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH);
	cr_assert_str_eq(out.backend, "naa.60014051234567890");
	cr_assert_eq(out.n_fds, 3);
	cr_assert_eq(out.fds[0], 7);
	cr_assert_eq(out.fds[1], 9);
	cr_assert_eq(out.fds[2], 11);
	nlmsg_free(m);
}

Test(nbd_nl, connect_any_device_has_no_index)
{
	struct nbd_nl_config in = full_config(), out;
	uint8_t cmd;
	in.index = -1;
	struct nl_msg *m = nbd_nl_build(FAMILY, NBD_CMD_CONNECT, &in);
	cr_assert_not_null(m);
	cr_assert_eq(nbd_nl_parse_request(nlmsg_hdr(m), &cmd, &out), 0);
	cr_assert_eq(out.index, -1, "INDEX must be absent so the kernel picks a free device");
	nlmsg_free(m);
}

Test(nbd_nl, reconfigure_carries_sockets_backend_and_timeouts_only)
{
	struct nbd_nl_config in = full_config(), out;
	uint8_t cmd;
	struct nl_msg *m = nbd_nl_build(FAMILY, NBD_CMD_RECONFIGURE, &in);
	cr_assert_not_null(m);
	cr_assert_eq(nbd_nl_parse_request(nlmsg_hdr(m), &cmd, &out), 0);
	cr_assert_eq(cmd, NBD_CMD_RECONFIGURE);
	cr_assert_eq(out.index, 3);
	cr_assert_eq(out.n_fds, 3);
	cr_assert_str_eq(out.backend, "naa.60014051234567890", "the kernel refuses a reconfigure without the backend");
	cr_assert_eq(out.timeout_s, 70);
	cr_assert_eq(out.size_bytes, 0, "size is fixed at connect");
	cr_assert_eq(out.server_flags, 0);
	nlmsg_free(m);
}

Test(nbd_nl, disconnect_and_status)
{
	struct nbd_nl_config in = full_config(), out;
	uint8_t cmd;
	struct nl_msg *m = nbd_nl_build(FAMILY, NBD_CMD_DISCONNECT, &in);
	cr_assert_not_null(m);
	cr_assert_eq(nbd_nl_parse_request(nlmsg_hdr(m), &cmd, &out), 0);
	cr_assert_eq(cmd, NBD_CMD_DISCONNECT);
	cr_assert_eq(out.index, 3);
	cr_assert_eq(out.n_fds, 0);
	cr_assert_eq(out.backend[0], '\0');
	nlmsg_free(m);

	struct nbd_nl_config all = { .index = -1 };
	m = nbd_nl_build(FAMILY, NBD_CMD_STATUS, &all);
	cr_assert_not_null(m);
	cr_assert_eq(nbd_nl_parse_request(nlmsg_hdr(m), &cmd, &out), 0);
	cr_assert_eq(cmd, NBD_CMD_STATUS);
	cr_assert_eq(out.index, -1);
	nlmsg_free(m);
}

Test(nbd_nl, refuses_bad_requests)
{
	struct nbd_nl_config c = full_config();
	c.n_fds = 0;
	errno = 0;
	cr_assert_null(nbd_nl_build(FAMILY, NBD_CMD_CONNECT, &c), "CONNECT without sockets");
	cr_assert_eq(errno, EINVAL);
	c = full_config();
	c.size_bytes = 0;
	cr_assert_null(nbd_nl_build(FAMILY, NBD_CMD_CONNECT, &c), "CONNECT without a size");
	c = full_config();
	c.index = -1;
	cr_assert_null(nbd_nl_build(FAMILY, NBD_CMD_RECONFIGURE, &c), "RECONFIGURE needs an index");
	cr_assert_null(nbd_nl_build(FAMILY, NBD_CMD_DISCONNECT, &c), "DISCONNECT needs an index");
	c = full_config();
	c.n_fds = NBD_NL_MAX_SOCKS + 1;
	cr_assert_null(nbd_nl_build(FAMILY, NBD_CMD_CONNECT, &c));
	c = full_config();
	memset(c.backend, 'x', sizeof(c.backend));
	cr_assert_null(nbd_nl_build(FAMILY, NBD_CMD_CONNECT, &c), "unterminated backend");
	c = full_config();
	cr_assert_null(nbd_nl_build(FAMILY, NBD_CMD_LINK_DEAD, &c), "not a request we send");
}

/* A message as the kernel would send it: genl header, then attributes added by fill(). */
static struct nl_msg *kernel_msg(uint8_t cmd)
{
	struct nl_msg *m = nlmsg_alloc();
	cr_assert_not_null(m);
	cr_assert_not_null(genlmsg_put(m, 0, 1, FAMILY, 0, 0, cmd, NBD_GENL_VERSION));
	return m;
}

Test(nbd_nl, connect_reply)
{
	struct nl_msg *m = kernel_msg(NBD_CMD_CONNECT);
	uint32_t index = 99;
	cr_assert_eq(nla_put_u32(m, NBD_ATTR_INDEX, 5), 0);
	cr_assert_eq(nbd_nl_parse_connect_reply(nlmsg_hdr(m), &index), 0);
	cr_assert_eq(index, 5);
	nlmsg_free(m);

	m = kernel_msg(NBD_CMD_CONNECT);  /* no index: not an answer we can use */
	errno = 0;
	cr_assert_eq(nbd_nl_parse_connect_reply(nlmsg_hdr(m), &index), -1);
	cr_assert_eq(errno, EINVAL);
	nlmsg_free(m);
}

static void put_dev(struct nl_msg *m, int index, int connected)
{
	struct nlattr *item = nla_nest_start(m, NBD_DEVICE_ITEM);
	cr_assert_not_null(item);
	if (index >= 0)
		cr_assert_eq(nla_put_u32(m, NBD_DEVICE_INDEX, (uint32_t)index), 0);
	if (connected >= 0)
		cr_assert_eq(nla_put_u8(m, NBD_DEVICE_CONNECTED, (uint8_t)connected), 0);
	nla_nest_end(m, item);
}

Test(nbd_nl, status_reply)
{
	struct nl_msg *m = kernel_msg(NBD_CMD_STATUS);
	struct nlattr *list = nla_nest_start(m, NBD_ATTR_DEVICE_LIST);
	put_dev(m, 0, 1);
	put_dev(m, 1, 0);
	put_dev(m, -1, 1);   /* no index: skipped */
	put_dev(m, 7, -1);   /* no CONNECTED: not connected */
	nla_nest_end(m, list);
	struct nbd_nl_dev devs[8];
	size_t n = 0;
	cr_assert_eq(nbd_nl_parse_status(nlmsg_hdr(m), devs, 8, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert(devs[0].index == 0 && devs[0].connected);
	cr_assert(devs[1].index == 1 && !devs[1].connected);
	cr_assert(devs[2].index == 7 && !devs[2].connected);
	/* A short array: the count still says how many there are. */
	cr_assert_eq(nbd_nl_parse_status(nlmsg_hdr(m), devs, 1, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(devs[0].index, 0);
	nlmsg_free(m);

	m = kernel_msg(NBD_CMD_STATUS);
	cr_assert_eq(nbd_nl_parse_status(nlmsg_hdr(m), devs, 8, &n), -1, "no device list");
	nlmsg_free(m);
}

Test(nbd_nl, too_many_sockets_read_back)
{
	struct nl_msg *m = kernel_msg(NBD_CMD_CONNECT);
	struct nlattr *list = nla_nest_start(m, NBD_ATTR_SOCKETS);
	for (unsigned i = 0; i < NBD_NL_MAX_SOCKS + 1; i++) {
		struct nlattr *item = nla_nest_start(m, NBD_SOCK_ITEM);
		nla_put_u32(m, NBD_SOCK_FD, i);
		nla_nest_end(m, item);
	}
	nla_nest_end(m, list);
	struct nbd_nl_config out;
	uint8_t cmd;
	errno = 0;
	cr_assert_eq(nbd_nl_parse_request(nlmsg_hdr(m), &cmd, &out), -1);
	cr_assert_eq(errno, EOVERFLOW);
	nlmsg_free(m);
}

Test(nbd_nl, server_flags_follow_the_lu)
{
	uint64_t f = nbd_nl_server_flags(false, false);
	cr_assert(f & NBD_FLAG_HAS_FLAGS);
	cr_assert(f & NBD_FLAG_SEND_FLUSH);
	cr_assert(f & NBD_FLAG_SEND_FUA);
	cr_assert(f & NBD_FLAG_SEND_WRITE_ZEROES);
	cr_assert(f & NBD_FLAG_CAN_MULTI_CONN);
	cr_assert_not(f & NBD_FLAG_SEND_TRIM, "no UNMAP on the LU: no TRIM");
	cr_assert_not(f & NBD_FLAG_READ_ONLY);
	f = nbd_nl_server_flags(true, true);
	cr_assert(f & NBD_FLAG_SEND_TRIM);
	cr_assert(f & NBD_FLAG_READ_ONLY, "a write-protected LU is a read-only device");
}
