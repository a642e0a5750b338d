/* SendTargets discovery: one libiscsi discovery session driven by libev, with a deadline; portal string parsing. */
#include "initiator/discovery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <iscsi/iscsi.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* ---- portal strings ---- */

static int einval(void)
{
	errno = EINVAL;
	return -1;
}

/* A decimal 0..max from s[0..len): digits only, no leading zero unless "0". */
static int parse_u16(const char *s, size_t len, unsigned max, uint16_t *out)
{
	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static bool host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

int mp_portal_parse(const char *s, size_t len, struct mp_portal *out)
{
	if (!s || !out || len == 0 || memchr(s, 0, len))
		return einval();
	struct mp_portal p = { .port = MP_ISCSI_PORT };
	const char *end = s + len, *rest;

	if (s[0] == '[') {
		const char *rb = memchr(s, ']', len);
		size_t hl = rb ? (size_t)(rb - s - 1) : 0;
		if (!rb || hl == 0 || hl >= INET6_ADDRSTRLEN)
			return einval();
		memcpy(p.host, s + 1, hl);
		p.host[hl] = 0;
		struct in6_addr a6;
		if (inet_pton(AF_INET6, p.host, &a6) != 1)
			return einval();
		p.ipv6 = true;
		rest = rb + 1;
	} else {
		/* The host ends at the first ':' or ','; a second ':' (bare IPv6) fails below. */
		const char *h = s;
		while (h < end && *h != ':' && *h != ',')
			h++;
		size_t hl = (size_t)(h - s);
		if (hl == 0 || hl > MP_PORTAL_HOST_MAX)
			return einval();
		for (size_t i = 0; i < hl; i++)
			if (!host_char_ok(s[i]))
				return einval();
		memcpy(p.host, s, hl);
		p.host[hl] = 0;
		rest = h;
	}

	if (rest < end && *rest == ':') {
		const char *ps = rest + 1, *pe = ps;
		while (pe < end && *pe != ',')
			pe++;
		if (parse_u16(ps, (size_t)(pe - ps), 65535, &p.port) != 0 || p.port == 0)
			return einval();
		rest = pe;
	}
	if (rest < end && *rest == ',') {
		if (parse_u16(rest + 1, (size_t)(end - rest - 1), 65535, &p.tpgt) != 0)
			return einval();
		p.has_tpgt = true;
		rest = end;
	}
	if (rest != end)
		return einval();
	*out = p;
	return 0;
}

int mp_portal_format(const struct mp_portal *p, bool with_tpgt, char *buf, size_t size)
{
	const char *lb = p->ipv6 ? "[" : "", *rb = p->ipv6 ? "]" : "";
	int n;
	if (with_tpgt && p->has_tpgt)
		n = snprintf(buf, size, "%s%s%s:%u,%u", lb, p->host, rb, p->port, p->tpgt);
	else
		n = snprintf(buf, size, "%s%s%s:%u", lb, p->host, rb, p->port);
	if (n < 0 || (size_t)n >= size) {
		if (size)
			buf[0] = 0;
		errno = ENOSPC;
		return -1;
	}
	return n;
}

/* ---- the discovery session ---- */

/* Where the exchange is. */
enum disc_state {
	D_CONNECTING = 0,  /* TCP connect in progress */
	D_LOGIN,           /* discovery-session login in progress */
	D_SENDTARGETS,     /* SendTargets=All sent, waiting for the text response */
	D_LOGOUT,          /* results copied; logging out politely */
	D_FINISHED,        /* result decided: the finish timer delivers it */
};

static const char *const state_names[] = {
	[D_CONNECTING] = "connecting",
	[D_LOGIN] = "logging in",
	[D_SENDTARGETS] = "waiting for SendTargets",
	[D_LOGOUT] = "logging out",
	[D_FINISHED] = "finished",
};

struct mp_discovery {
	ev_io io;                 /* first: the iSCSI socket */
	ev_prepare prep;          /* recomputes the poll mask from iscsi_which_events() */
	ev_timer deadline;        /* opts.timeout_ms over the whole exchange */
	ev_timer finish;          /* zero timer: tear down and call done outside libiscsi */
	struct ev_loop *loop;
	struct iscsi_context *ctx;
	enum disc_state st;
	bool delivering;          /* done is running: cancel is a no-op */
	mp_discovery_done_fn *done;
	void *arg;
	unsigned timeout_ms;
	int err;
	char msg[384];
	char errbuf[256];         /* ctx_error()'s copy */
	struct mp_portal self;    /* the discovery portal, for targets listed without an address */
	struct mp_discovered *ents;
	size_t n, skipped;
	char portal[MP_PORTAL_HOST_MAX + 16];
	char iface[64];
};

static void libiscsi_log(int level, const char *msg)
{
	mp_debug("libiscsi[%d]: %s", level, msg);
}

/* Decide the result (the first decision wins) and hand it to the finish timer. */
static void finish(struct mp_discovery *d, int err, const char *fmt, ...) MP_PRINTF(3, 4);
static void finish(struct mp_discovery *d, int err, const char *fmt, ...)
{
	if (d->st == D_FINISHED)
		return;
	d->st = D_FINISHED;
	d->err = err;
	if (fmt) {
		int n = snprintf(d->msg, sizeof(d->msg), "discovery %s: ", d->portal);
		va_list ap;
		va_start(ap, fmt);
		if (n > 0 && (size_t)n < sizeof(d->msg))
			vsnprintf(d->msg + n, sizeof(d->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	ev_io_stop(d->loop, &d->io);
	ev_prepare_stop(d->loop, &d->prep);
	ev_timer_stop(d->loop, &d->deadline);
	ev_timer_start(d->loop, &d->finish);
}

/* libiscsi's last error, without the trailing newline and period some of its messages have. */
static const char *ctx_error(struct mp_discovery *d)
{
	const char *e = d->ctx ? iscsi_get_error(d->ctx) : NULL;
	snprintf(d->errbuf, sizeof(d->errbuf), "%s", e && *e ? e : "unknown error");
	size_t l = strlen(d->errbuf);
	while (l && (d->errbuf[l - 1] == '\n' || d->errbuf[l - 1] == ' ' || d->errbuf[l - 1] == '.'))
		d->errbuf[--l] = 0;
	return d->errbuf;
}

static void release(struct mp_discovery *d)
{
	ev_io_stop(d->loop, &d->io);
	ev_prepare_stop(d->loop, &d->prep);
	ev_timer_stop(d->loop, &d->deadline);
	ev_timer_stop(d->loop, &d->finish);
	if (d->ctx) {
		struct iscsi_context *ctx = d->ctx;
		/* Pending PDUs complete CANCELLED inside; our callbacks ignore them (st is D_FINISHED). */
		d->st = D_FINISHED;
		iscsi_destroy_context(ctx);
		d->ctx = NULL;
	}
	free(d->ents);
	free(d);
}

static void finish_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_discovery *d = mp_container_of(w, struct mp_discovery, finish);
	if (d->ctx) {
		iscsi_destroy_context(d->ctx);
		d->ctx = NULL;
	}
	struct mp_discovery_result res = { .entries = d->ents, .n = d->n, .skipped = d->skipped };
	d->delivering = true;
	d->done(d->arg, d->err, d->err ? NULL : &res, d->err ? d->msg : NULL);
	release(d);
}

static void prep_cb(struct ev_loop *loop, ev_prepare *w, int revents MP_UNUSED)
{
	struct mp_discovery *d = mp_container_of(w, struct mp_discovery, prep);
	int fd = d->ctx ? iscsi_get_fd(d->ctx) : -1;
	int want = 0;
	if (fd >= 0) {
		int ev = iscsi_which_events(d->ctx);
		if (ev & POLLIN)
			want |= EV_READ;
		if (ev & POLLOUT)
			want |= EV_WRITE;
	}
	if (fd == d->io.fd && want == (d->io.events & (EV_READ | EV_WRITE)) && ev_is_active(&d->io) == (want != 0))
		return;
	ev_io_stop(loop, &d->io);
	if (fd >= 0 && want) {
		ev_io_set(&d->io, fd, want);
		ev_io_start(loop, &d->io);
	}
}

static void io_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents)
{
	struct mp_discovery *d = (struct mp_discovery *)w;
	int pev = 0;
	if (revents & EV_READ)
		pev |= POLLIN;
	if (revents & EV_WRITE)
		pev |= POLLOUT;
	if (d->st != D_FINISHED && iscsi_service(d->ctx, pev) < 0) {
		if (d->st == D_LOGOUT)
			finish(d, 0, NULL);   /* the target closed after our logout: results are complete */
		else
			finish(d, ENOTCONN, "connection lost while %s (libiscsi: %s)", state_names[d->st], ctx_error(d));
	}
}

static void deadline_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	struct mp_discovery *d = mp_container_of(w, struct mp_discovery, deadline);
	if (d->st == D_LOGOUT)
		finish(d, 0, NULL);
	else
		finish(d, ETIMEDOUT, "timed out after %u ms while %s", d->timeout_ms, state_names[d->st]);
}

/* Append one entry; a malformed name or address is counted and left out. */
static int add_entry(struct mp_discovery *d, size_t *cap, const char *target, const char *addr)
{
	struct mp_discovered e;
	memset(&e, 0, sizeof(e));
	size_t tl = target ? strnlen(target, MP_ISCSI_NAME_MAX + 1) : 0;
	bool ok = tl > 0 && tl <= MP_ISCSI_NAME_MAX;
	for (size_t i = 0; ok && i < tl; i++)
		ok = target[i] > ' ' && target[i] < 0x7f;
	if (ok && addr) {
		/* Longer than any valid portal string: reject without reading further. */
		size_t al = strnlen(addr, 2 * sizeof(e.portal.host));
		ok = al < 2 * sizeof(e.portal.host) && mp_portal_parse(addr, al, &e.portal) == 0 &&
		     e.portal.has_tpgt;
	}
	if (!ok) {
		mp_warn("discovery %s: malformed entry left out: target \"%.64s\" address \"%.80s\"", d->portal,
			target ? target : "", addr ? addr : "");
		d->skipped++;
		return 0;
	}
	memcpy(e.target, target, tl);
	if (!addr) {
		e.portal = d->self;
		e.portal.has_tpgt = false;
	}
	if (d->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct mp_discovered *ne = realloc(d->ents, nc * sizeof(*ne));
		if (!ne)
			return -1;
		d->ents = ne;
		*cap = nc;
	}
	d->ents[d->n++] = e;
	return 0;
}

static void logout_cb(struct iscsi_context *ctx MP_UNUSED, int status MP_UNUSED, void *command_data MP_UNUSED,
		      void *private_data)
{
	struct mp_discovery *d = private_data;
	if (d->st == D_FINISHED)
		return;
	finish(d, 0, NULL);
}

static void discovery_cb(struct iscsi_context *ctx, int status, void *command_data, void *private_data)
{
	struct mp_discovery *d = private_data;
	if (d->st == D_FINISHED)
		return;
	if (status != SCSI_STATUS_GOOD) {
		finish(d, EPROTO, "SendTargets failed: %s", ctx_error(d));
		return;
	}
	/* libiscsi frees this list when we return: copy what we need now. */
	size_t cap = 0;
	for (const struct iscsi_discovery_address *a = command_data; a; a = a->next) {
		int r = 0;
		if (!a->portals)
			r = add_entry(d, &cap, a->target_name, NULL);
		for (const struct iscsi_target_portal *p = a->portals; p && r == 0; p = p->next)
			r = add_entry(d, &cap, a->target_name, p->portal);
		if (r != 0) {
			finish(d, ENOMEM, "out of memory for the target list");
			return;
		}
	}
	/* libiscsi 1.19 builds both lists by prepending: reverse to the order the target sent. */
	for (size_t i = 0; i < d->n / 2; i++) {
		struct mp_discovered t = d->ents[i];
		d->ents[i] = d->ents[d->n - 1 - i];
		d->ents[d->n - 1 - i] = t;
	}
	d->st = D_LOGOUT;
	if (iscsi_logout_async(ctx, logout_cb, d) != 0)
		finish(d, 0, NULL);
}

static void login_cb(struct iscsi_context *ctx, int status, void *command_data MP_UNUSED, void *private_data)
{
	struct mp_discovery *d = private_data;
	if (d->st == D_FINISHED)
		return;
	if (status != SCSI_STATUS_GOOD) {
		enum mp_iscsi_auth_fail af = mp_iscsi_auth_failure(ctx_error(d));
		if (af != MP_AUTH_FAIL_NONE)
			finish(d, EKEYREJECTED, "%s (libiscsi: %s)", mp_iscsi_auth_fail_text(af), ctx_error(d));
		else
			finish(d, EACCES, "login refused: %s", ctx_error(d));
		return;
	}
	d->st = D_SENDTARGETS;
	if (iscsi_discovery_async(ctx, discovery_cb, d) != 0)
		finish(d, EPROTO, "cannot send SendTargets: %s", ctx_error(d));
}

static void connect_cb(struct iscsi_context *ctx, int status, void *command_data MP_UNUSED, void *private_data)
{
	struct mp_discovery *d = private_data;
	if (d->st == D_FINISHED)
		return;
	if (d->st != D_CONNECTING) {
		/* libiscsi calls back a second time when an established connection drops. */
		if (status != SCSI_STATUS_GOOD) {
			if (d->st == D_LOGOUT)
				finish(d, 0, NULL);
			else
				finish(d, ENOTCONN, "connection lost while %s (libiscsi: %s)", state_names[d->st],
				       ctx_error(d));
		}
		return;
	}
	if (status != SCSI_STATUS_GOOD) {
		finish(d, ENOTCONN, "connect failed%s%s: %s", d->iface[0] ? " via " : "", d->iface, ctx_error(d));
		return;
	}
	d->st = D_LOGIN;
	if (iscsi_login_async(ctx, login_cb, d) != 0)
		finish(d, EACCES, "cannot start login: %s", ctx_error(d));
}

struct mp_discovery *mp_discovery_start(struct ev_loop *loop, const struct mp_discovery_opts *o,
					mp_discovery_done_fn *done, void *arg)
{
	if (!loop || !o || !done || !o->initiator_name || !o->initiator_name[0] || !o->portal ||
	    !o->portal[0] || strlen(o->initiator_name) > MP_ISCSI_NAME_MAX ||
	    strlen(o->portal) >= sizeof(((struct mp_discovery *)0)->portal) ||
	    (o->iface && strlen(o->iface) >= sizeof(((struct mp_discovery *)0)->iface))) {
		errno = EINVAL;
		return NULL;
	}
	struct mp_discovery *d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->loop = loop;
	d->done = done;
	d->arg = arg;
	d->timeout_ms = o->timeout_ms ? o->timeout_ms : MP_DISCOVERY_TIMEOUT_MS;
	snprintf(d->portal, sizeof(d->portal), "%s", o->portal);
	snprintf(d->iface, sizeof(d->iface), "%s", o->iface ? o->iface : "");
	ev_io_init(&d->io, io_cb, -1, 0);
	ev_prepare_init(&d->prep, prep_cb);
	ev_timer_init(&d->deadline, deadline_cb, d->timeout_ms / 1000.0, 0.);
	ev_timer_init(&d->finish, finish_cb, 0., 0.);
	ev_timer_start(loop, &d->deadline);
	d->st = D_CONNECTING;

	/* A malformed portal is reported through done, like every other failure. */
	/* A ",TPGT" suffix (as discovery output shows portals) is accepted and ignored. */
	if (mp_portal_parse(d->portal, strlen(d->portal), &d->self) != 0) {
		finish(d, EINVAL, "not a portal address (want HOST[:PORT] or [IPV6][:PORT])");
		return d;
	}
	char addr[sizeof(d->portal) + 8];
	mp_portal_format(&d->self, false, addr, sizeof(addr));   /* fits: the port only got explicit */

	d->ctx = iscsi_create_context(o->initiator_name);
	if (!d->ctx) {
		release(d);
		errno = ENOMEM;
		return NULL;
	}
	iscsi_set_log_fn(d->ctx, libiscsi_log);
	iscsi_set_log_level(d->ctx, mp_log_get_level() >= MP_LOG_DEBUG ? 2 : 0);
	if (o->chap && mp_iscsi_chap_apply(d->ctx, o->chap) != 0) {
		release(d);
		errno = EINVAL;
		return NULL;
	}
	iscsi_set_session_type(d->ctx, ISCSI_SESSION_DISCOVERY);
	iscsi_set_header_digest(d->ctx, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_noautoreconnect(d->ctx, 1);
	if (d->iface[0])
		iscsi_set_bind_interfaces(d->ctx, d->iface);
	ev_prepare_start(loop, &d->prep);
	if (iscsi_connect_async(d->ctx, addr, connect_cb, d) != 0)
		finish(d, ENOTCONN, "connect failed%s%s: %s", d->iface[0] ? " via " : "", d->iface, ctx_error(d));
	return d;
}

void mp_discovery_cancel(struct mp_discovery *d)
{
	if (!d || d->delivering)
		return;
	release(d);
}
