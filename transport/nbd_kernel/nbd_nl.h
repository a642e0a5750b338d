/* Messages of the kernel's "nbd" generic netlink family (linux/nbd-netlink.h): building requests and parsing answers, no socket. */
#ifndef MP_TRANSPORT_NBD_KERNEL_NL_H
#define MP_TRANSPORT_NBD_KERNEL_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netlink/msg.h>

#define NBD_NL_MAX_SOCKS 16u

/*
 * What NBD_CMD_CONNECT and NBD_CMD_RECONFIGURE carry. Zero fields are left out of the
 * message (the kernel keeps its default or the device's current value), except that
 * CONNECT always carries the size and the sockets, which the kernel requires.
 *   index          -1: CONNECT lets the kernel pick a free device; RECONFIGURE needs one
 *   size_bytes     device size (CONNECT)
 *   block_size     logical block size, 512..PAGE_SIZE, a power of two (CONNECT)
 *   timeout_s      per-request timeout
 *   dead_timeout_s how long requests wait for a dead connection to be replaced
 *   server_flags   NBD_FLAG_* transmission flags the "server" (we) offer (CONNECT)
 *   client_flags   NBD_CFLAG_* (CONNECT)
 *   fds            the kernel's ends of the socketpairs, as numbers in this process
 *   backend        the backend identifier (/sys/block/nbdN/backend); RECONFIGURE of a
 *                  device that has one must carry the same string
 */
struct nbd_nl_config {
	int index;
	uint64_t size_bytes;
	uint64_t block_size;
	uint64_t timeout_s;
	uint64_t dead_timeout_s;
	uint64_t server_flags;
	uint64_t client_flags;
	int fds[NBD_NL_MAX_SOCKS];
	size_t n_fds;
	char backend[260];
};

/* One device of an NBD_CMD_STATUS answer. */
struct nbd_nl_dev {
	uint32_t index;
	bool connected;
};

/*
 * A request message of family (the id genl_ctrl_resolve gave for "nbd"):
 * cmd NBD_CMD_CONNECT or NBD_CMD_RECONFIGURE from cfg; NBD_CMD_DISCONNECT and
 * NBD_CMD_STATUS use only cfg->index (STATUS with index -1 asks for every device).
 * NULL with errno EINVAL (bad field: cmd unknown, no index where one is needed, more
 * than NBD_NL_MAX_SOCKS sockets, backend not NUL-terminated) or ENOMEM.
 */
struct nl_msg *nbd_nl_build(int family, uint8_t cmd, const struct nbd_nl_config *cfg);

/*
 * Read a request back (what the kernel would see): cmd and every attribute into *cfg.
 * For tests and fuzzing. 0, or -1 with errno EINVAL (malformed) or EOVERFLOW (too many sockets).
 */
int nbd_nl_parse_request(struct nlmsghdr *h, uint8_t *cmd, struct nbd_nl_config *cfg);

/* The index in the kernel's answer to NBD_CMD_CONNECT. 0, or -1 with errno EINVAL. */
int nbd_nl_parse_connect_reply(struct nlmsghdr *h, uint32_t *index);

/*
 * The devices in the kernel's answer to NBD_CMD_STATUS: up to max into out, *n the
 * number found (which may exceed max). Items without an index are skipped. 0, or -1
 * with errno EINVAL.
 */
int nbd_nl_parse_status(struct nlmsghdr *h, struct nbd_nl_dev *out, size_t max, size_t *n);

/* Server flags for an LU: FLUSH, FUA, WRITE_ZEROES, CAN_MULTI_CONN, TRIM if unmap, READ_ONLY if write-protected. */
uint64_t nbd_nl_server_flags(bool can_trim, bool read_only);

#endif
