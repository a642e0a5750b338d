/* NBD listen addresses: parse "unix:/PATH" and "tcp:HOST:PORT" (IPv4 or [IPv6] literals), tell loopback apart. */
#ifndef MP_TRANSPORT_NBD_ADDR_H
#define MP_TRANSPORT_NBD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#define NBD_ADDR_SPEC_MAX 127u   /* longest listen spec accepted, in bytes */

enum nbd_addr_kind {
	NBD_ADDR_UNIX = 0,       /* a Unix stream socket at path */
	NBD_ADDR_TCP,            /* a TCP socket bound to sa */
};

struct nbd_listen_addr {
	enum nbd_addr_kind kind;
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)]; /* UNIX: absolute path */
	char host[64];           /* TCP: the numeric address as written, without brackets */
	uint16_t port;           /* TCP: 1..65535 */
	struct sockaddr_storage sa; /* TCP: the address to bind */
	socklen_t salen;
	bool loopback;           /* TCP: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104 */
};

/*
 * Parse a listen spec:
 *   unix:/PATH            absolute path that fits sockaddr_un
 *   tcp:A.B.C.D:PORT      IPv4 literal (0.0.0.0 = every IPv4 address)
 *   tcp:[IPV6]:PORT       IPv6 literal, optionally with %zone ([::] = every IPv6 address)
 * Host names are refused (no resolver at start-up; say what you bind). The port is
 * decimal 1..65535. Returns 0, or -1 with a message in why that does not repeat
 * the spec ("needs an absolute path (unix:/PATH)").
 */
int nbd_listen_addr_parse(const char *spec, struct nbd_listen_addr *a, char *why, size_t n);

#endif
