/* Unit tests for initiator/discovery: the portal parser (table-driven), formatting, and the session's failure paths on loopback. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "initiator/discovery.h"

/* ---- mp_portal_parse: good inputs ---- */

struct good {
	const char *in;
	const char *host;
	unsigned port, tpgt;
	bool has_tpgt, ipv6;
	const char *formatted;   /* mp_portal_format(with_tpgt = true) */
};

static const struct good good_cases[] = {
	{ "198.18.1.2:3260,1", "198.18.1.2", 3260, 1, true, false, "198.18.1.2:3260,1" },
	{ "198.18.2.2:3261,65535", "198.18.2.2", 3261, 65535, true, false, "198.18.2.2:3261,65535" },
	{ "198.18.1.2:3260,0", "198.18.1.2", 3260, 0, true, false, "198.18.1.2:3260,0" },
	{ "198.18.1.2:3260", "198.18.1.2", 3260, 0, false, false, "198.18.1.2:3260" },
	{ "198.18.1.2", "198.18.1.2", 3260, 0, false, false, "198.18.1.2:3260" },
	{ "198.18.1.2,7", "198.18.1.2", 3260, 7, true, false, "198.18.1.2:3260,7" },
	{ "target-1.example.org:860,2", "target-1.example.org", 860, 2, true, false, "target-1.example.org:860,2" },
	{ "[fe80::1]:3260,1", "fe80::1", 3260, 1, true, true, "[fe80::1]:3260,1" },
	{ "[2001:db8::10]:3260", "2001:db8::10", 3260, 0, false, true, "[2001:db8::10]:3260" },
	{ "[::1]", "::1", 3260, 0, false, true, "[::1]:3260" },
	{ "[::ffff:198.18.1.2]:3260,3", "::ffff:198.18.1.2", 3260, 3, true, true, "[::ffff:198.18.1.2]:3260,3" },
	{ "127.0.0.1:1,1", "127.0.0.1", 1, 1, true, false, "127.0.0.1:1,1" },
	{ "127.0.0.1:65535,1", "127.0.0.1", 65535, 1, true, false, "127.0.0.1:65535,1" },
};

Test(portal, parse_good)
{
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good *c = &good_cases[i];
		struct mp_portal p;
		memset(&p, 0xa5, sizeof(p));
		int r = mp_portal_parse(c->in, strlen(c->in), &p);
		cr_assert_eq(r, 0, "\"%s\": parse failed (errno %d)", c->in, errno);
		cr_expect_str_eq(p.host, c->host, "\"%s\": host", c->in);
		cr_expect_eq(p.port, c->port, "\"%s\": port %u", c->in, p.port);
		cr_expect_eq(p.has_tpgt, c->has_tpgt, "\"%s\": has_tpgt", c->in);
		if (c->has_tpgt)
			cr_expect_eq(p.tpgt, c->tpgt, "\"%s\": tpgt %u", c->in, p.tpgt);
		cr_expect_eq(p.ipv6, c->ipv6, "\"%s\": ipv6", c->in);
		char buf[300];
		cr_expect_eq(mp_portal_format(&p, true, buf, sizeof(buf)), (int)strlen(c->formatted));
		cr_expect_str_eq(buf, c->formatted, "\"%s\": formatted as \"%s\"", c->in, buf);
	}
}

/* ---- mp_portal_parse: malformed inputs ---- */

static const char *const bad_cases[] = {
	"",
	":3260,1",                 /* no host */
	",1",
	"198.18.1.2:",             /* empty port */
	"198.18.1.2:,1",
	"198.18.1.2:3260,",        /* empty tpgt */
	"198.18.1.2:0,1",          /* port 0 */
	"198.18.1.2:65536,1",      /* port too big */
	"198.18.1.2:99999999,1",   /* port overflow */
	"198.18.1.2:03260,1",      /* leading zero */
	"198.18.1.2:+3260,1",      /* sign */
	"198.18.1.2:-1,1",
	"198.18.1.2:3260,65536",   /* tpgt too big */
	"198.18.1.2:3260,-1",
	"198.18.1.2:3260,01",
	"198.18.1.2:3260,1,2",     /* trailing data */
	"198.18.1.2:3260:1",
	"198.18.1.2:3260,1 ",      /* whitespace */
	" 198.18.1.2:3260,1",
	"198.18.1.2 :3260,1",
	"198.18.1.2:32 60,1",
	"198.18.1.2:3260,0x1",
	"fe80::1:3260,1",          /* IPv6 without brackets */
	"[fe80::1:3260,1",         /* no closing bracket */
	"[]:3260,1",               /* empty brackets */
	"[fe80::g]:3260,1",        /* not an address */
	"[198.18.1.2]:3260,1",     /* IPv4 in brackets */
	"[fe80::1]3260,1",         /* missing ':' after ']' */
	"[fe80::1]:3260,1]",
	"[fe80::1%eth0]:3260,1",   /* zone ids are not accepted */
	"host_name:3260,1",        /* '_' is not a host character */
	"host/x:3260,1",
	"h\xc3\xa9:3260,1",        /* non-ASCII */
};

Test(portal, parse_bad)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const char *in = bad_cases[i];
		struct mp_portal p = { .port = 4242 };
		errno = 0;
		int r = mp_portal_parse(in, strlen(in), &p);
		cr_expect_eq(r, -1, "\"%s\": accepted (host \"%s\" port %u)", in, p.host, p.port);
		cr_expect_eq(errno, EINVAL, "\"%s\": errno %d", in, errno);
		cr_expect_eq(p.port, 4242, "\"%s\": out written on failure", in);
	}
}

Test(portal, parse_length_checked)
{
	struct mp_portal p;
	/* Only len bytes are read: the rest of the string is not part of it. */
	const char *s = "198.18.1.2:3260,1GARBAGE";
	cr_assert_eq(mp_portal_parse(s, strlen("198.18.1.2:3260,1"), &p), 0);
	cr_expect_eq(p.tpgt, 1);
	cr_expect_eq(mp_portal_parse(s, strlen("198.18.1.2:32"), &p), 0);
	cr_expect_eq(p.port, 32);
	/* An embedded NUL inside len is an error, not a terminator. */
	const char nul[] = "198.18.1.2\0:3260,1";
	cr_expect_eq(mp_portal_parse(nul, sizeof(nul) - 1, &p), -1);
	cr_expect_eq(mp_portal_parse(NULL, 4, &p), -1);
	cr_expect_eq(mp_portal_parse("a", 1, NULL), -1);
	cr_expect_eq(mp_portal_parse("a:1,1", 0, &p), -1);
}

Test(portal, host_length_limit)
{
	char s[MP_PORTAL_HOST_MAX + 16];
	struct mp_portal p;
	memset(s, 'a', MP_PORTAL_HOST_MAX);
	strcpy(s + MP_PORTAL_HOST_MAX, ":3260,1");
	cr_expect_eq(mp_portal_parse(s, strlen(s), &p), 0, "a %d-byte host is allowed", MP_PORTAL_HOST_MAX);
	cr_expect_eq(strlen(p.host), (size_t)MP_PORTAL_HOST_MAX);
	memset(s, 'a', MP_PORTAL_HOST_MAX + 1);
	strcpy(s + MP_PORTAL_HOST_MAX + 1, ":3260");
	cr_expect_eq(mp_portal_parse(s, strlen(s), &p), -1, "a longer host is refused");
	/* A long "IPv6" in brackets is refused before inet_pton sees it. */
	char v6[128] = "[";
	memset(v6 + 1, '1', 100);
	strcpy(v6 + 101, "]:3260,1");
	cr_expect_eq(mp_portal_parse(v6, strlen(v6), &p), -1);
}

Test(portal, format_too_small)
{
	struct mp_portal p;
	cr_assert_eq(mp_portal_parse("198.18.1.2:3260,1", 17, &p), 0);
	char buf[8] = "xxxxxxx";
	errno = 0;
	cr_expect_eq(mp_portal_format(&p, true, buf, sizeof(buf)), -1);
	cr_expect_eq(errno, ENOSPC);
	cr_expect_str_eq(buf, "");
	char ok[18];
	cr_expect_eq(mp_portal_format(&p, true, ok, sizeof(ok)), 17);
	cr_expect_eq(mp_portal_format(&p, false, ok, sizeof(ok)), 15);
	cr_expect_str_eq(ok, "198.18.1.2:3260");
}

/* ---- the session on a real loop, against loopback peers that fail ---- */

struct outcome {
	int calls;
	int err;
	char msg[400];
	ev_tstamp at;
};

static void record(void *arg, int err, const struct mp_discovery_result *res, const char *msg)
{
	struct outcome *o = arg;
	o->calls++;
	o->err = err;
	o->at = ev_time();
	cr_expect((err == 0) == (res != NULL), "res is set exactly when err is 0");
	cr_expect((err == 0) == (msg == NULL), "msg is set exactly when err is not 0");
	snprintf(o->msg, sizeof(o->msg), "%s", msg ? msg : "");
}

/* A TCP socket on 127.0.0.1, listening (or just bound, then closed, for a refused port). */
static int loopback_listener(uint16_t *port, bool listening)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	if (listening)
		cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

/* Stop the loop after a bound, in case done never comes. */
static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void run_loop(struct ev_loop *loop, double bound_s)
{
	ev_timer guard;
	ev_timer_init(&guard, guard_cb, bound_s, 0.);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	ev_timer_stop(loop, &guard);
}

Test(discovery, refused_port_fails_fast)
{
	uint16_t port;
	int fd = loopback_listener(&port, false);
	close(fd);   /* nobody listens there now */
	char portal[32];
	snprintf(portal, sizeof(portal), "127.0.0.1:%u", port);
	struct ev_loop *loop = ev_loop_new(0);
	struct outcome o = { 0 };
	struct mp_discovery_opts opts = { .initiator_name = "iqn.2026-11.org.mpiscsi:unit", .portal = portal,
					  .timeout_ms = 3000 };
	ev_tstamp t0 = ev_time();
	cr_assert_not_null(mp_discovery_start(loop, &opts, record, &o));
	cr_expect_eq(o.calls, 0, "done is never called from inside start");
	run_loop(loop, 5.0);
	cr_expect_eq(o.calls, 1);
	cr_expect_eq(o.err, ENOTCONN, "err %d: %s", o.err, o.msg);
	cr_expect(strstr(o.msg, portal) && strstr(o.msg, "connect failed"), "message: %s", o.msg);
	cr_expect(o.at - t0 < 1.0, "refusal took %.3f s", o.at - t0);
	ev_loop_destroy(loop);
}

Test(discovery, silent_portal_times_out)
{
	uint16_t port;
	int fd = loopback_listener(&port, true);   /* accepts (backlog) but never answers */
	char portal[32];
	snprintf(portal, sizeof(portal), "127.0.0.1:%u", port);
	struct ev_loop *loop = ev_loop_new(0);
	struct outcome o = { 0 };
	struct mp_discovery_opts opts = { .initiator_name = "iqn.2026-11.org.mpiscsi:unit", .portal = portal,
					  .timeout_ms = 300 };
	ev_tstamp t0 = ev_time();
	cr_assert_not_null(mp_discovery_start(loop, &opts, record, &o));
	run_loop(loop, 5.0);
	cr_expect_eq(o.calls, 1);
	cr_expect_eq(o.err, ETIMEDOUT, "err %d: %s", o.err, o.msg);
	cr_expect(strstr(o.msg, "timed out after 300 ms while logging in"), "message: %s", o.msg);
	cr_expect(o.at - t0 >= 0.25 && o.at - t0 < 1.5, "timeout after %.3f s", o.at - t0);
	ev_loop_destroy(loop);
	close(fd);
}

Test(discovery, cancel_at_any_state)
{
	uint16_t port;
	int fd = loopback_listener(&port, true);
	char portal[32];
	snprintf(portal, sizeof(portal), "127.0.0.1:%u", port);
	struct ev_loop *loop = ev_loop_new(0);
	struct outcome o = { 0 };
	struct mp_discovery_opts opts = { .initiator_name = "iqn.2026-11.org.mpiscsi:unit", .portal = portal,
					  .timeout_ms = 200 };
	/* Right after start (connect in flight). */
	struct mp_discovery *d = mp_discovery_start(loop, &opts, record, &o);
	cr_assert_not_null(d);
	mp_discovery_cancel(d);
	/* After a few loop iterations (login sent, no answer). */
	d = mp_discovery_start(loop, &opts, record, &o);
	cr_assert_not_null(d);
	for (int i = 0; i < 20; i++)
		ev_run(loop, EVRUN_NOWAIT);
	mp_discovery_cancel(d);
	/* After the result is decided but before done ran (the finish timer is pending). */
	opts.portal = "not a portal";
	d = mp_discovery_start(loop, &opts, record, &o);
	cr_assert_not_null(d);
	mp_discovery_cancel(d);
	mp_discovery_cancel(NULL);
	run_loop(loop, 0.5);
	cr_expect_eq(o.calls, 0, "a cancelled discovery never calls done");
	ev_loop_destroy(loop);
	close(fd);
}

Test(discovery, bad_arguments)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct outcome o = { 0 };
	struct mp_discovery_opts opts = { .initiator_name = "iqn.2026-11.org.mpiscsi:unit", .portal = NULL };
	errno = 0;
	cr_expect_null(mp_discovery_start(loop, &opts, record, &o));
	cr_expect_eq(errno, EINVAL);
	opts.portal = "127.0.0.1";
	opts.initiator_name = "";
	cr_expect_null(mp_discovery_start(loop, &opts, record, &o));
	/* A malformed portal string is an error delivered through done. */
	opts.initiator_name = "iqn.2026-11.org.mpiscsi:unit";
	opts.portal = "[::1:3260";
	cr_assert_not_null(mp_discovery_start(loop, &opts, record, &o));
	run_loop(loop, 2.0);
	cr_expect_eq(o.calls, 1);
	cr_expect_eq(o.err, EINVAL);
	cr_expect(strstr(o.msg, "[::1:3260"), "message: %s", o.msg);
	ev_loop_destroy(loop);
}
