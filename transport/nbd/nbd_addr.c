/* NBD listen addresses: "unix:/PATH" and "tcp:HOST:PORT" parsing (see nbd_addr.h). */
#include "transport/nbd/nbd_addr.h"

#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int fail(char *why, size_t n, const char *msg)
{
	snprintf(why, n, "%s", msg);
	return -1;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static int parse_tcp(const char *s, struct nbd_listen_addr *a, char *why, size_t n)
{
	const char *port_s;
	size_t hl;
	bool v6 = false;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return fail(why, n, "missing ']' after the IPv6 address (tcp:[IPV6]:PORT)");
		hl = (size_t)(close - s - 1);
		s++;
		if (close[1] != ':')
			return fail(why, n, "expected ':PORT' after ']' (tcp:[IPV6]:PORT)");
		port_s = close + 2;
		v6 = true;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return fail(why, n, "expected tcp:HOST:PORT");
		if (memchr(s, ':', (size_t)(colon - s)))
			return fail(why, n, "an IPv6 address needs brackets, e.g. tcp:[::1]:10809");
		hl = (size_t)(colon - s);
		port_s = colon + 1;
	}
	if (hl == 0)
		return fail(why, n, "missing host (use 0.0.0.0 or [::] for every address)");
	if (hl >= sizeof(a->host))
		return fail(why, n, "host is too long");
	memcpy(a->host, s, hl);
	a->host[hl] = '\0';
	if (parse_port(port_s, &a->port) < 0)
		return fail(why, n, "port must be a number from 1 to 65535");

	if (!v6) {
		/* inet_pton, not getaddrinfo: it takes exactly a dotted quad ("1.2.3" or "0x7f.1" are refused). */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
		if (inet_pton(AF_INET, a->host, &s4->sin_addr) != 1)
			return fail(why, n, "not a valid IPv4 address (host names are not accepted; IPv6 needs brackets)");
		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		a->salen = sizeof(*s4);
	} else {
		/* getaddrinfo for IPv6: it also takes a %zone for link-local addresses. */
		struct addrinfo hints = {
			.ai_family = AF_INET6,
			.ai_socktype = SOCK_STREAM,
			.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
		};
		struct addrinfo *res = NULL;
		char serv[8];
		snprintf(serv, sizeof(serv), "%u", a->port);
		if (getaddrinfo(a->host, serv, &hints, &res) != 0 || !res)
			return fail(why, n, "not a valid IPv6 address");
		if (res->ai_addrlen > sizeof(a->sa)) {
			freeaddrinfo(res);
			return fail(why, n, "address too long");
		}
		memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
		a->salen = res->ai_addrlen;
		freeaddrinfo(res);
	}
	a->loopback = is_loopback(&a->sa);
	a->kind = NBD_ADDR_TCP;
	return 0;
}

int nbd_listen_addr_parse(const char *spec, struct nbd_listen_addr *a, char *why, size_t n)
{
	memset(a, 0, sizeof(*a));
	for (const char *p = spec; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(why, n, "contains a control character");
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;
		if (path[0] != '/')
			return fail(why, n, "needs an absolute path (unix:/PATH)");
		if (strlen(path) >= sizeof(a->path)) {
			snprintf(why, n, "socket path is too long (%zu bytes, max %zu)", strlen(path),
				 sizeof(a->path) - 1);
			return -1;
		}
		snprintf(a->path, sizeof(a->path), "%s", path);
		a->kind = NBD_ADDR_UNIX;
		return 0;
	}
	if (strncmp(spec, "tcp:", 4) == 0) {
		if (strlen(spec) > NBD_ADDR_SPEC_MAX)
			return fail(why, n, "longer than 127 bytes");
		return parse_tcp(spec + 4, a, why, n);
	}
	return fail(why, n, "must be unix:/PATH or tcp:HOST:PORT");
}
