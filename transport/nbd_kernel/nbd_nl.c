/* Building and parsing messages of the kernel's "nbd" generic netlink family (see nbd_nl.h). */
#include "transport/nbd_kernel/nbd_nl.h"

#include <errno.h>
#include <string.h>
#include <linux/nbd-netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include "transport/nbd/nbd_proto.h"

/* What the kernel accepts (drivers/block/nbd.c nbd_attr_policy), used to read our own messages back. */
static struct nla_policy attr_policy[NBD_ATTR_MAX + 1] = {
	[NBD_ATTR_INDEX] = { .type = NLA_U32 },
	[NBD_ATTR_SIZE_BYTES] = { .type = NLA_U64 },
	[NBD_ATTR_BLOCK_SIZE_BYTES] = { .type = NLA_U64 },
	[NBD_ATTR_TIMEOUT] = { .type = NLA_U64 },
	[NBD_ATTR_SERVER_FLAGS] = { .type = NLA_U64 },
	[NBD_ATTR_CLIENT_FLAGS] = { .type = NLA_U64 },
	[NBD_ATTR_SOCKETS] = { .type = NLA_NESTED },
	[NBD_ATTR_DEAD_CONN_TIMEOUT] = { .type = NLA_U64 },
	[NBD_ATTR_DEVICE_LIST] = { .type = NLA_NESTED },
	[NBD_ATTR_BACKEND_IDENTIFIER] = { .type = NLA_STRING },
};
static struct nla_policy sock_policy[NBD_SOCK_MAX + 1] = {
	[NBD_SOCK_FD] = { .type = NLA_U32 },
};
static struct nla_policy dev_policy[NBD_DEVICE_ATTR_MAX + 1] = {
	[NBD_DEVICE_INDEX] = { .type = NLA_U32 },
	[NBD_DEVICE_CONNECTED] = { .type = NLA_U8 },
};

uint64_t nbd_nl_server_flags(bool can_trim, bool read_only)
{
	/* WRITE_ZEROES is offered always: a kernel that does not send it ignores the bit. */
	uint64_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_WRITE_ZEROES |
		     NBD_FLAG_CAN_MULTI_CONN;
	if (can_trim)
		f |= NBD_FLAG_SEND_TRIM;
	if (read_only)
		f |= NBD_FLAG_READ_ONLY;
	return f;
}

static int put_sockets(struct nl_msg *m, const struct nbd_nl_config *cfg)
{
	struct nlattr *list = nla_nest_start(m, NBD_ATTR_SOCKETS);
	if (!list)
		return -1;
	for (size_t i = 0; i < cfg->n_fds; i++) {
		struct nlattr *item = nla_nest_start(m, NBD_SOCK_ITEM);
		if (!item || nla_put_u32(m, NBD_SOCK_FD, (uint32_t)cfg->fds[i]) < 0)
			return -1;
		nla_nest_end(m, item);
	}
	nla_nest_end(m, list);
	return 0;
}

struct nl_msg *nbd_nl_build(int family, uint8_t cmd, const struct nbd_nl_config *cfg)
{
	bool conn = cmd == NBD_CMD_CONNECT, reconf = cmd == NBD_CMD_RECONFIGURE;
	if (!(conn || reconf || cmd == NBD_CMD_DISCONNECT || cmd == NBD_CMD_STATUS) ||
	    cfg->n_fds > NBD_NL_MAX_SOCKS || (cfg->index < 0 && (reconf || cmd == NBD_CMD_DISCONNECT)) ||
	    memchr(cfg->backend, '\0', sizeof(cfg->backend)) == NULL || (conn && (!cfg->n_fds || !cfg->size_bytes))) {
		errno = EINVAL;
		return NULL;
	}
	struct nl_msg *m = nlmsg_alloc();
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	if (!genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, cmd, NBD_GENL_VERSION))
		goto nomem;
	if (cfg->index >= 0 && nla_put_u32(m, NBD_ATTR_INDEX, (uint32_t)cfg->index) < 0)
		goto nomem;
	if (conn || reconf) {
		if (conn && nla_put_u64(m, NBD_ATTR_SIZE_BYTES, cfg->size_bytes) < 0)
			goto nomem;
		if (conn && cfg->block_size && nla_put_u64(m, NBD_ATTR_BLOCK_SIZE_BYTES, cfg->block_size) < 0)
			goto nomem;
		if (cfg->timeout_s && nla_put_u64(m, NBD_ATTR_TIMEOUT, cfg->timeout_s) < 0)
			goto nomem;
		if (cfg->dead_timeout_s && nla_put_u64(m, NBD_ATTR_DEAD_CONN_TIMEOUT, cfg->dead_timeout_s) < 0)
			goto nomem;
		if (conn && nla_put_u64(m, NBD_ATTR_SERVER_FLAGS, cfg->server_flags) < 0)
			goto nomem;
		if (conn && cfg->client_flags && nla_put_u64(m, NBD_ATTR_CLIENT_FLAGS, cfg->client_flags) < 0)
			goto nomem;
		if (cfg->backend[0] && nla_put_string(m, NBD_ATTR_BACKEND_IDENTIFIER, cfg->backend) < 0)
			goto nomem;
		if (cfg->n_fds && put_sockets(m, cfg) < 0)
			goto nomem;
	}
	return m;
nomem:
	nlmsg_free(m);
	errno = ENOMEM;
	return NULL;
}

static int parse_sockets(struct nlattr *list, struct nbd_nl_config *cfg)
{
	struct nlattr *item;
	int rem;

	nla_for_each_nested(item, list, rem) {
		struct nlattr *s[NBD_SOCK_MAX + 1];
		if (nla_type(item) != NBD_SOCK_ITEM)
			continue;
		if (nla_parse_nested(s, NBD_SOCK_MAX, item, sock_policy) < 0 || !s[NBD_SOCK_FD]) {
			errno = EINVAL;
			return -1;
		}
		if (cfg->n_fds == NBD_NL_MAX_SOCKS) {
			errno = EOVERFLOW;
			return -1;
		}
		cfg->fds[cfg->n_fds++] = (int)nla_get_u32(s[NBD_SOCK_FD]);
	}
	return 0;
}

int nbd_nl_parse_request(struct nlmsghdr *h, uint8_t *cmd, struct nbd_nl_config *cfg)
{
	struct nlattr *a[NBD_ATTR_MAX + 1];

	memset(cfg, 0, sizeof(*cfg));
	cfg->index = -1;
	if (!genlmsg_valid_hdr(h, 0) || genlmsg_parse(h, 0, a, NBD_ATTR_MAX, attr_policy) < 0) {
		errno = EINVAL;
		return -1;
	}
	*cmd = ((struct genlmsghdr *)nlmsg_data(h))->cmd;
	if (a[NBD_ATTR_INDEX])
		cfg->index = (int)nla_get_u32(a[NBD_ATTR_INDEX]);
	if (a[NBD_ATTR_SIZE_BYTES])
		cfg->size_bytes = nla_get_u64(a[NBD_ATTR_SIZE_BYTES]);
	if (a[NBD_ATTR_BLOCK_SIZE_BYTES])
		cfg->block_size = nla_get_u64(a[NBD_ATTR_BLOCK_SIZE_BYTES]);
	if (a[NBD_ATTR_TIMEOUT])
		cfg->timeout_s = nla_get_u64(a[NBD_ATTR_TIMEOUT]);
	if (a[NBD_ATTR_DEAD_CONN_TIMEOUT])
		cfg->dead_timeout_s = nla_get_u64(a[NBD_ATTR_DEAD_CONN_TIMEOUT]);
	if (a[NBD_ATTR_SERVER_FLAGS])
		cfg->server_flags = nla_get_u64(a[NBD_ATTR_SERVER_FLAGS]);
	if (a[NBD_ATTR_CLIENT_FLAGS])
		cfg->client_flags = nla_get_u64(a[NBD_ATTR_CLIENT_FLAGS]);
	if (a[NBD_ATTR_BACKEND_IDENTIFIER])
		nla_strlcpy(cfg->backend, a[NBD_ATTR_BACKEND_IDENTIFIER], sizeof(cfg->backend));
	if (a[NBD_ATTR_SOCKETS] && parse_sockets(a[NBD_ATTR_SOCKETS], cfg) < 0)
		return -1;
	return 0;
}

int nbd_nl_parse_connect_reply(struct nlmsghdr *h, uint32_t *index)
{
	struct nlattr *a[NBD_ATTR_MAX + 1];

	if (!genlmsg_valid_hdr(h, 0) || genlmsg_parse(h, 0, a, NBD_ATTR_MAX, attr_policy) < 0 ||
	    !a[NBD_ATTR_INDEX]) {
		errno = EINVAL;
		return -1;
	}
	*index = nla_get_u32(a[NBD_ATTR_INDEX]);
	return 0;
}

int nbd_nl_parse_status(struct nlmsghdr *h, struct nbd_nl_dev *out, size_t max, size_t *n)
{
	struct nlattr *a[NBD_ATTR_MAX + 1], *item;
	int rem;

	*n = 0;
	if (!genlmsg_valid_hdr(h, 0) || genlmsg_parse(h, 0, a, NBD_ATTR_MAX, attr_policy) < 0 ||
	    !a[NBD_ATTR_DEVICE_LIST]) {
		errno = EINVAL;
		return -1;
	}
	nla_for_each_nested(item, a[NBD_ATTR_DEVICE_LIST], rem) {
		struct nlattr *d[NBD_DEVICE_ATTR_MAX + 1];
		if (nla_type(item) != NBD_DEVICE_ITEM)
			continue;
		if (nla_parse_nested(d, NBD_DEVICE_ATTR_MAX, item, dev_policy) < 0) {
			errno = EINVAL;
			return -1;
		}
		if (!d[NBD_DEVICE_INDEX])
			continue;
		if (*n < max) {
			out[*n].index = nla_get_u32(d[NBD_DEVICE_INDEX]);
			out[*n].connected = d[NBD_DEVICE_CONNECTED] && nla_get_u8(d[NBD_DEVICE_CONNECTED]);
		}
		(*n)++;
	}
	return 0;
}
