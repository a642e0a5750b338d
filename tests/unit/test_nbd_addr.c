/* Unit tests for transport/nbd/nbd_addr.c: unix:/PATH and tcp:HOST:PORT listen specs, loopback detection. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include "transport/nbd/nbd_addr.h"

Test(nbd_addr, unix_path)
{
	struct nbd_listen_addr a;
	char why[160] = "";

	cr_assert_eq(nbd_listen_addr_parse("unix:/run/mpiscsi/nbd.sock", &a, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(a.kind, NBD_ADDR_UNIX);
	cr_expect_str_eq(a.path, "/run/mpiscsi/nbd.sock");
}

struct good_tcp {
	const char *spec;
	int family;
	const char *host;
	uint16_t port;
	bool loopback;
};

static const struct good_tcp good[] = {
	{ "tcp:127.0.0.1:10809", AF_INET, "127.0.0.1", 10809, true },
	{ "tcp:127.1.2.3:1", AF_INET, "127.1.2.3", 1, true },
	{ "tcp:0.0.0.0:65535", AF_INET, "0.0.0.0", 65535, false },
	{ "tcp:198.18.1.1:10809", AF_INET, "198.18.1.1", 10809, false },
	{ "tcp:[::1]:10809", AF_INET6, "::1", 10809, true },
	{ "tcp:[::]:10809", AF_INET6, "::", 10809, false },
	{ "tcp:[::ffff:127.0.0.1]:10809", AF_INET6, "::ffff:127.0.0.1", 10809, true },
	{ "tcp:[2001:db8::1]:10809", AF_INET6, "2001:db8::1", 10809, false },
	{ "tcp:[fe80::1%lo]:10809", AF_INET6, "fe80::1%lo", 10809, false },
};

Test(nbd_addr, tcp_good)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct nbd_listen_addr a;
		char why[160] = "";
		cr_assert_eq(nbd_listen_addr_parse(good[i].spec, &a, why, sizeof(why)), 0, "%s: %s", good[i].spec, why);
		cr_expect_eq(a.kind, NBD_ADDR_TCP, "%s", good[i].spec);
		cr_expect_eq(a.sa.ss_family, good[i].family, "%s", good[i].spec);
		cr_expect_str_eq(a.host, good[i].host, "%s", good[i].spec);
		cr_expect_eq(a.port, good[i].port, "%s", good[i].spec);
		cr_expect_eq(a.loopback, good[i].loopback, "%s", good[i].spec);
		if (good[i].family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a.sa;
			cr_expect_eq(ntohs(s4->sin_port), good[i].port);
			cr_expect_eq(a.salen, sizeof(*s4));
		} else {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a.sa;
			cr_expect_eq(ntohs(s6->sin6_port), good[i].port);
		}
	}
}

struct bad_spec {
	const char *spec;
	const char *why;
};

static const struct bad_spec bad[] = {
	{ "/run/x.sock", "must be unix:/PATH or tcp:HOST:PORT" },
	{ "udp:127.0.0.1:1", "must be unix:/PATH or tcp:HOST:PORT" },
	{ "unix:x.sock", "needs an absolute path (unix:/PATH)" },
	{ "unix:", "needs an absolute path (unix:/PATH)" },
	{ "unix:/a\nb", "contains a control character" },
	{ "tcp:127.0.0.1", "expected tcp:HOST:PORT" },
	{ "tcp:127.0.0.1:", "port must be a number from 1 to 65535" },
	{ "tcp:127.0.0.1:0", "port must be a number from 1 to 65535" },
	{ "tcp:127.0.0.1:65536", "port must be a number from 1 to 65535" },
	{ "tcp:127.0.0.1:+80", "port must be a number from 1 to 65535" },
	{ "tcp:127.0.0.1:99999999999999999999", "port must be a number from 1 to 65535" },
	{ "tcp::10809", "missing host (use 0.0.0.0 or [::] for every address)" },
	{ "tcp:[]:10809", "missing host (use 0.0.0.0 or [::] for every address)" },
	{ "tcp:localhost:10809", "not a valid IPv4 address (host names are not accepted; IPv6 needs brackets)" },
	{ "tcp:127.1:10809", "not a valid IPv4 address (host names are not accepted; IPv6 needs brackets)" },
	{ "tcp:0x7f.0.0.1:10809", "not a valid IPv4 address (host names are not accepted; IPv6 needs brackets)" },
	{ "tcp:::1:10809", "an IPv6 address needs brackets, e.g. tcp:[::1]:10809" },
	{ "tcp:[::1:10809", "missing ']' after the IPv6 address (tcp:[IPV6]:PORT)" },
	{ "tcp:[::1]10809", "expected ':PORT' after ']' (tcp:[IPV6]:PORT)" },
	{ "tcp:[127.0.0.1]:10809", "not a valid IPv6 address" },
	{ "tcp:[::g]:10809", "not a valid IPv6 address" },
};

Test(nbd_addr, bad_specs)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nbd_listen_addr a;
		char why[160] = "";
		cr_expect_eq(nbd_listen_addr_parse(bad[i].spec, &a, why, sizeof(why)), -1, "%s accepted", bad[i].spec);
		cr_expect_str_eq(why, bad[i].why, "%s", bad[i].spec);
	}
}

Test(nbd_addr, lengths)
{
	char spec[256], why[160] = "";
	struct nbd_listen_addr a;

	/* unix: the path must fit sockaddr_un (107 bytes and a NUL). */
	strcpy(spec, "unix:/");
	memset(spec + 6, 'p', 106);
	spec[6 + 106] = '\0';
	cr_expect_eq(nbd_listen_addr_parse(spec, &a, why, sizeof(why)), 0, "%s", why);
	strcat(spec, "q");
	cr_expect_eq(nbd_listen_addr_parse(spec, &a, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "socket path is too long (108 bytes, max 107)");
	/* tcp: a spec longer than NBD_ADDR_SPEC_MAX. */
	strcpy(spec, "tcp:[");
	memset(spec + 5, '1', 130);
	strcpy(spec + 135, "]:1");
	cr_expect_eq(nbd_listen_addr_parse(spec, &a, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "longer than 127 bytes");
}
