/* The daemon's configuration: INI file parser, iscsi:// URLs, command-line overrides, checks. */
#include "tools/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define LINE_MAX_BYTES   4096          /* longer lines are refused, never truncated */
#define FILE_MAX_BYTES   (1024 * 1024) /* a config file is small; a huge one is a mistake */
#define URL_MAX_BYTES    4096
#define SHOW_MAX         128           /* bytes of a bad value quoted back in a message */
#define SHOW_BUF         (SHOW_MAX + 4)
#define WHY_BUF          1024
#define LUN_MAX          16383         /* SAM: the flat/peripheral LUN space libiscsi addresses */
#define NPR_MAX          86400         /* no_path_retry: one day is "forever" for a timeout */
#define RETRIES_MAX      100
#define DEFAULT_PORT     3260
#define DEFAULT_NPR      30
#define DEFAULT_RETRIES  5
#define DEFAULT_LISTEN   "unix:/run/mpiscsi/nbd.sock"
#define IQN_PREFIX       "iqn.2026-11.org.mpiscsi:"
#define NAME_CHARS       "1-63 characters from A-Z a-z 0-9 _ . -"

enum section { SEC_NONE, SEC_GLOBAL, SEC_NBD, SEC_DISK };

/* Each key's setter checks the value and stores it; on error it writes "KEY: problem" to why. */
typedef int key_setter(struct mp_conf *c, struct mp_conf_disk *d, const char *key,
		       const char *v, char *why, size_t n);

struct key_def {
	const char *key;
	enum section sec;
	bool repeatable;   /* portal, interface: every occurrence adds one */
	key_setter *set;
};

struct parser {
	struct mp_conf *c;     /* the working copy, committed only when the whole text is good */
	const char *name;      /* file name for messages */
	int line;
	char *err;
	size_t errlen;
	enum section sec;
	struct mp_conf_disk *disk;  /* the open [disk] section; re-fetched after each new disk */
	int key_line[16];           /* line where each single-valued key of this section was set */
};

static int fail(char *why, size_t n, const char *fmt, ...) MP_PRINTF(3, 4);
static int fail(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Copy a value for quoting in a message: control bytes become '?' so a broken file can
 * not drive the terminal, and long values are cut so the message stays readable.
 */
static const char *show(const char *v, char *buf)
{
	size_t i;

	for (i = 0; v[i] && i < SHOW_MAX; i++)
		buf[i] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ? '?' : v[i];
	if (v[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static char *trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Decimal digits only: no sign, no hex, no spaces, so "1e3" or "-1" can not slip through. */
enum num_result { NUM_OK, NUM_NOT_NUMBER, NUM_RANGE };

static enum num_result parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return NUM_NOT_NUMBER;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return NUM_NOT_NUMBER;
		if (v <= UINT32_MAX)  /* stop growing once too big, but keep checking digits */
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return NUM_RANGE;
	*out = (uint32_t)v;
	return NUM_OK;
}

static int set_number(const char *key, const char *v, uint32_t min, uint32_t max, uint32_t *out,
		      char *why, size_t n)
{
	char sh[SHOW_BUF];

	switch (parse_uint(v, min, max, out)) {
	case NUM_OK:
		return 0;
	case NUM_NOT_NUMBER:
		return fail(why, n, "%s: '%s' is not a number", key, show(v, sh));
	case NUM_RANGE:
		break;
	}
	return fail(why, n, "%s: '%s' is out of range (%u-%u)", key, show(v, sh), min, max);
}

static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len >= MP_CONF_NAME_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

/*
 * RFC 7143 names: a type prefix and at most 223 bytes. Stringprep is the target's business;
 * refusing spaces and control bytes is enough to keep the login text key well formed.
 */
static int check_iscsi_name(const char *key, const char *v, char *why, size_t n)
{
	char sh[SHOW_BUF];
	size_t len = strlen(v);

	if (strncmp(v, "iqn.", 4) != 0 && strncmp(v, "eui.", 4) != 0 && strncmp(v, "naa.", 4) != 0)
		return fail(why, n, "%s: '%s' must start with 'iqn.', 'eui.' or 'naa.'", key, show(v, sh));
	if (len == 4)
		return fail(why, n, "%s: '%s' has nothing after the prefix", key, v);
	if (len >= MP_CONF_IQN_MAX)
		return fail(why, n, "%s: '%s' is too long (%zu bytes, max %d)", key, show(v, sh), len,
			    MP_CONF_IQN_MAX - 1);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return fail(why, n, "%s: '%s' contains a space or control character", key,
				    show(v, sh));
	return 0;
}

/* Linux dev_valid_name(): shorter than IFNAMSIZ, not "." or "..", no '/', ':' or space. */
static bool valid_ifname(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || (unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int parse_port(const char *s, uint16_t *port, char *why, size_t n)
{
	char sh[SHOW_BUF];
	uint32_t v;

	switch (parse_uint(s, 1, 65535, &v)) {
	case NUM_OK:
		*port = (uint16_t)v;
		return 0;
	case NUM_NOT_NUMBER:
		return fail(why, n, "port '%s' is not a number", show(s, sh));
	case NUM_RANGE:
		break;
	}
	return fail(why, n, "port '%s' is out of range (1-65535)", show(s, sh));
}

/*
 * HOST[:PORT] or [IPv6][:PORT]; why gets the problem without the portal text, so the
 * file and URL callers can each say where it came from.
 */
static int parse_portal(const char *s, struct mp_conf_portal *out, char *why, size_t n)
{
	char sh[SHOW_BUF], host[sizeof(out->host)];
	const char *port = NULL;
	size_t hlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char addr[sizeof(host)];
		struct in6_addr a6;
		char *zone;

		if (!close)
			return fail(why, n, "missing ']' after the IPv6 address");
		hlen = (size_t)(close - s - 1);
		if (hlen == 0)
			return fail(why, n, "empty IPv6 address");
		if (hlen >= sizeof(host))
			return fail(why, n, "IPv6 address is too long");
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return fail(why, n, "unexpected '%s' after ']'", show(close + 1, sh));
		/* A zone (fe80::1%eth0) names a NIC; inet_pton does not take one, so check it apart. */
		memcpy(addr, host, hlen + 1);
		zone = strchr(addr, '%');
		if (zone) {
			*zone++ = '\0';
			if (!valid_ifname(zone) || strlen(zone) > 15)
				return fail(why, n, "'%s' is not a valid IPv6 zone (interface name)",
					    show(zone, sh));
		}
		if (inet_pton(AF_INET6, addr, &a6) != 1)
			return fail(why, n, "'%s' is not a valid IPv6 address", show(addr, sh));
	} else {
		const char *colon = strchr(s, ':');
		struct in_addr a4;

		if (colon && strchr(colon + 1, ':'))
			return fail(why, n, "an IPv6 address needs brackets, e.g. [%s]:%d", show(s, sh),
				    DEFAULT_PORT);
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (hlen == 0)
			return fail(why, n, "missing host");
		if (hlen > 253)  /* RFC 1035: a full domain name */
			return fail(why, n, "host name is too long (%zu bytes, max 253)", hlen);
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_")
		    != hlen)
			return fail(why, n, "'%s' is not a valid host name or address", show(host, sh));
		/* All digits and dots is meant as IPv4: catch 198.18.1.300 here, not at connect. */
		if (strspn(host, "0123456789.") == hlen && inet_pton(AF_INET, host, &a4) != 1)
			return fail(why, n, "'%s' is not a valid IPv4 address", host);
		if (colon)
			port = colon + 1;
	}
	out->port = DEFAULT_PORT;
	if (port && parse_port(port, &out->port, why, n) < 0)
		return -1;
	memcpy(out->host, host, hlen + 1);
	return 0;
}

static bool same_portal(const struct mp_conf_portal *a, const struct mp_conf_portal *b)
{
	return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}

/* ---- key setters ---- */

static int set_initiator_name(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
			      const char *v, char *why, size_t n)
{
	if (check_iscsi_name(key, v, why, n) < 0)
		return -1;
	snprintf(c->initiator_name, sizeof(c->initiator_name), "%s", v);
	return 0;
}

static int set_log_level(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
			 const char *v, char *why, size_t n)
{
	char sh[SHOW_BUF];
	int level = mp_log_level_parse(v);

	if (level < 0)
		return fail(why, n, "%s: '%s' is not one of err, warn, info, debug", key, show(v, sh));
	c->log_level = level;
	return 0;
}

static int set_listen(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
		      const char *v, char *why, size_t n)
{
	char sh[SHOW_BUF];
	size_t path_max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;

	if (strncmp(v, "tcp:", 4) == 0)
		return fail(why, n, "%s: '%s': TCP exports need TLS, which is not implemented yet", key,
			    show(v, sh));
	if (strncmp(v, "unix:", 5) != 0)
		return fail(why, n, "%s: '%s' must be unix:/PATH", key, show(v, sh));
	if (v[5] != '/')
		return fail(why, n, "%s: '%s' needs an absolute path (unix:/PATH)", key, show(v, sh));
	/* The path must fit sockaddr_un, or bind() would fail (or silently truncate) much later. */
	if (strlen(v + 5) > path_max)
		return fail(why, n, "%s: socket path is too long (%zu bytes, max %zu)", key,
			    strlen(v + 5), path_max);
	snprintf(c->nbd_listen, sizeof(c->nbd_listen), "%s", v);
	return 0;
}

static int set_target(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		      const char *v, char *why, size_t n)
{
	if (check_iscsi_name(key, v, why, n) < 0)
		return -1;
	snprintf(d->target, sizeof(d->target), "%s", v);
	return 0;
}

static int set_lun(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		   const char *v, char *why, size_t n)
{
	return set_number(key, v, 0, LUN_MAX, &d->lun, why, n);
}

static int set_portal(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		      const char *v, char *why, size_t n)
{
	char sh[SHOW_BUF], problem[WHY_BUF];
	struct mp_conf_portal p;

	if (d->n_portals >= MP_CONF_MAX_PORTALS)
		return fail(why, n, "too many portals (max %d)", MP_CONF_MAX_PORTALS);
	if (parse_portal(v, &p, problem, sizeof(problem)) < 0)
		return fail(why, n, "%s: '%s': %s", key, show(v, sh), problem);
	for (size_t i = 0; i < d->n_portals; i++)
		if (same_portal(&d->portals[i], &p))
			return fail(why, n, "%s: '%s' is listed twice", key, show(v, sh));
	d->portals[d->n_portals++] = p;
	return 0;
}

static int set_interface(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			 const char *v, char *why, size_t n)
{
	char sh[SHOW_BUF];

	if (d->n_interfaces >= MP_CONF_MAX_IFACES)
		return fail(why, n, "too many interfaces (max %d)", MP_CONF_MAX_IFACES);
	if (strlen(v) >= sizeof(d->interfaces[0]))
		return fail(why, n, "%s: '%s' is longer than %zu bytes", key, show(v, sh),
			    sizeof(d->interfaces[0]) - 1);
	if (!valid_ifname(v))
		return fail(why, n, "%s: '%s' is not a valid interface name", key, show(v, sh));
	for (size_t i = 0; i < d->n_interfaces; i++)
		if (strcmp(d->interfaces[i], v) == 0)
			return fail(why, n, "%s: '%s' is listed twice", key, v);
	snprintf(d->interfaces[d->n_interfaces++], sizeof(d->interfaces[0]), "%s", v);
	return 0;
}

static int set_export(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		      const char *v, char *why, size_t n)
{
	char sh[SHOW_BUF];

	/* Same alphabet as disk names, so the name is safe in nbd+unix:///NAME URIs unquoted. */
	if (!valid_name(v))
		return fail(why, n, "%s: '%s' is not a valid export name (" NAME_CHARS ")", key,
			    show(v, sh));
	snprintf(d->export_name, sizeof(d->export_name), "%s", v);
	return 0;
}

static int set_no_path_retry(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			     const char *v, char *why, size_t n)
{
	char sh[SHOW_BUF];
	uint32_t s;

	if (strcmp(v, "fail") == 0) {
		d->no_path_retry_s = 0;
		return 0;
	}
	if (strcmp(v, "queue") == 0) {
		d->no_path_retry_s = -1;
		return 0;
	}
	switch (parse_uint(v, 1, NPR_MAX, &s)) {
	case NUM_OK:
		d->no_path_retry_s = (int32_t)s;
		return 0;
	case NUM_NOT_NUMBER:
		return fail(why, n, "%s: '%s' is not 'fail', 'queue' or a number of seconds", key,
			    show(v, sh));
	case NUM_RANGE:
		break;
	}
	return fail(why, n, "%s: '%s' is out of range (1-%d seconds; or 'fail', 'queue')", key,
		    show(v, sh), NPR_MAX);
}

static int set_max_retries(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			   const char *v, char *why, size_t n)
{
	return set_number(key, v, 0, RETRIES_MAX, &d->max_retries, why, n);
}

static const struct key_def keys[] = {
	{ .key = "initiator_name", .sec = SEC_GLOBAL, .set = set_initiator_name },
	{ .key = "log_level",      .sec = SEC_GLOBAL, .set = set_log_level },
	{ .key = "listen",         .sec = SEC_NBD,    .set = set_listen },
	{ .key = "target",         .sec = SEC_DISK,   .set = set_target },
	{ .key = "lun",            .sec = SEC_DISK,   .set = set_lun },
	{ .key = "portal",         .sec = SEC_DISK,   .set = set_portal, .repeatable = true },
	{ .key = "interface",      .sec = SEC_DISK,   .set = set_interface, .repeatable = true },
	{ .key = "export",         .sec = SEC_DISK,   .set = set_export },
	{ .key = "no_path_retry",  .sec = SEC_DISK,   .set = set_no_path_retry },
	{ .key = "max_retries",    .sec = SEC_DISK,   .set = set_max_retries },
};
_Static_assert(MP_ARRAY_SIZE(keys) <= MP_ARRAY_SIZE(((struct parser *)NULL)->key_line),
	       "parser.key_line must have a slot per key");

static const char *const section_names[] = {
	[SEC_NONE] = "", [SEC_GLOBAL] = "[global]", [SEC_NBD] = "[nbd]", [SEC_DISK] = "[disk NAME]",
};

static const struct key_def *find_key(const char *key)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

/* ---- defaults, memory ---- */

static void default_initiator_name(char *out, size_t n)
{
	char host[256] = "";
	size_t j = 0;

	/* gethostname does not promise a NUL on truncation; the last byte stays '\0'. */
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	/* IQNs are lower case by stringprep; anything else becomes '-'. */
	for (size_t i = 0; host[i] && j < sizeof(host) - 1; i++) {
		char ch = host[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			ch = '-';
		host[j++] = ch;
	}
	host[j] = '\0';
	snprintf(out, n, "%s%.*s", IQN_PREFIX, (int)(MP_CONF_IQN_MAX - 1 - strlen(IQN_PREFIX)),
		 j ? host : "localhost");
}

void mp_conf_init(struct mp_conf *c)
{
	memset(c, 0, sizeof(*c));
	default_initiator_name(c->initiator_name, sizeof(c->initiator_name));
	c->log_level = MP_LOG_INFO;
	snprintf(c->nbd_listen, sizeof(c->nbd_listen), "%s", DEFAULT_LISTEN);
}

void mp_conf_free(struct mp_conf *c)
{
	free(c->disks);
	c->disks = NULL;
	c->n_disks = 0;
}

/*
 * The array's capacity is the next power of two at or above n_disks, so growing needs no
 * extra field in struct mp_conf and appending stays amortised O(1).
 */
static size_t disk_capacity(size_t n)
{
	size_t cap = 1;

	while (cap < n)
		cap *= 2;
	return n ? cap : 0;
}

static struct mp_conf_disk *new_disk(struct mp_conf *c, const char *name, int line)
{
	struct mp_conf_disk *d;

	if (c->n_disks == disk_capacity(c->n_disks)) {
		size_t cap = c->n_disks ? c->n_disks * 2 : 1;
		struct mp_conf_disk *nd = realloc(c->disks, cap * sizeof(*nd));

		if (!nd)
			return NULL;
		c->disks = nd;
	}
	d = &c->disks[c->n_disks++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->export_name, sizeof(d->export_name), "%s", name);
	d->no_path_retry_s = DEFAULT_NPR;
	d->max_retries = DEFAULT_RETRIES;
	d->line = line;
	return d;
}

static const struct mp_conf_disk *find_disk(const struct mp_conf *c, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (strcmp(c->disks[i].name, name) == 0)
			return &c->disks[i];
	return NULL;
}

/* ---- whole-disk checks, shared by the parser and mp_conf_validate ---- */

/*
 * Checks disk i against its own requirements and the disks before it. *line gets the line
 * to blame: the [disk] header, or export_line for an export clash when the key was set.
 */
static int check_disk(const struct mp_conf *c, size_t i, int export_line, int *line, char *why,
		      size_t n)
{
	const struct mp_conf_disk *d = &c->disks[i];

	*line = d->line;
	if (!d->target[0])
		return fail(why, n, "[disk %s] has no target", d->name);
	if (d->n_portals == 0)
		return fail(why, n, "[disk %s] has no portal (at least one is required)", d->name);
	for (size_t j = 0; j < i; j++) {
		const struct mp_conf_disk *o = &c->disks[j];

		if (strcmp(o->name, d->name) == 0)
			return fail(why, n, "duplicate disk '%s' (first defined at line %d)", d->name,
				    o->line);
		/* Two exports of one LU would bypass the path identity guard: one disk, one LU. */
		if (o->lun == d->lun && strcmp(o->target, d->target) == 0)
			return fail(why, n, "[disk %s] has the same target and lun as [disk %s]",
				    d->name, o->name);
		if (strcmp(o->export_name, d->export_name) == 0) {
			if (export_line)
				*line = export_line;
			return fail(why, n, "export '%s' of [disk %s] is already used by [disk %s]",
				    d->export_name, d->name, o->name);
		}
	}
	return 0;
}

int mp_conf_validate(const struct mp_conf *c, char *err, size_t errlen)
{
	char why[WHY_BUF];
	int line;

	if (c->n_disks == 0) {
		snprintf(err, errlen, "%s%sno disk configured: add a [disk NAME] section or give an "
			 "iscsi:// URL", c->file, c->file[0] ? ": " : "");
		return -1;
	}
	for (size_t i = 0; i < c->n_disks; i++) {
		if (check_disk(c, i, 0, &line, why, sizeof(why)) == 0)
			continue;
		if (line > 0)
			snprintf(err, errlen, "%s:%d: %s", c->file, line, why);
		else
			snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

/* ---- the INI parser ---- */

static int perr(const struct parser *ps, int line, const char *fmt, ...) MP_PRINTF(3, 4);
static int perr(const struct parser *ps, int line, const char *fmt, ...)
{
	char why[WHY_BUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->name, line, why);
	return -1;
}

/* A disk section ends at the next header or the end of the text: check it as a whole then. */
static int close_section(struct parser *ps)
{
	char why[WHY_BUF];
	const struct key_def *ex = find_key("export");
	int line;

	if (ps->sec == SEC_DISK &&
	    check_disk(ps->c, ps->c->n_disks - 1, ps->key_line[ex - keys], &line, why, sizeof(why)) < 0)
		return perr(ps, line, "%s", why);
	ps->sec = SEC_NONE;
	ps->disk = NULL;
	memset(ps->key_line, 0, sizeof(ps->key_line));
	return 0;
}

/* After a header or a quoted value only a comment may follow. */
static bool only_comment(const char *s)
{
	while (is_space(*s))
		s++;
	return !*s || *s == '#' || *s == ';';
}

static int parse_section(struct parser *ps, char *s)
{
	char sh[SHOW_BUF];
	char *close = strchr(s, ']'), *inner, *arg;
	const struct mp_conf_disk *dup;
	size_t wlen;

	if (close_section(ps) < 0)
		return -1;
	if (!close)
		return perr(ps, ps->line, "unterminated section header");
	if (!only_comment(close + 1))
		return perr(ps, ps->line, "unexpected '%s' after section header", show(trim(close + 1), sh));
	*close = '\0';
	inner = trim(s + 1);
	wlen = strcspn(inner, " \t");
	arg = trim(inner + wlen);  /* inner is trimmed already, so this leaves inner intact */
	if (wlen == 6 && memcmp(inner, "global", 6) == 0 && !*arg) {
		ps->sec = SEC_GLOBAL;
		return 0;
	}
	if (wlen == 3 && memcmp(inner, "nbd", 3) == 0 && !*arg) {
		ps->sec = SEC_NBD;
		return 0;
	}
	if (wlen != 4 || memcmp(inner, "disk", 4) != 0)
		return perr(ps, ps->line, "unknown section [%s]", show(inner, sh));
	if (!*arg)
		return perr(ps, ps->line, "[disk] needs a name, e.g. [disk data0]");
	if (!valid_name(arg))
		return perr(ps, ps->line, "invalid disk name '%s' (" NAME_CHARS ")", show(arg, sh));
	dup = find_disk(ps->c, ps->c->n_disks, arg);
	if (dup && dup->line)
		return perr(ps, ps->line, "duplicate disk '%s' (first defined at line %d)", arg, dup->line);
	if (dup)
		return perr(ps, ps->line, "duplicate disk '%s' (already added from an iscsi:// URL)", arg);
	if (ps->c->n_disks >= MP_CONF_MAX_DISKS)
		return perr(ps, ps->line, "too many disks (max %d)", MP_CONF_MAX_DISKS);
	ps->disk = new_disk(ps->c, arg, ps->line);
	if (!ps->disk)
		return perr(ps, ps->line, "out of memory");
	ps->sec = SEC_DISK;
	return 0;
}

/*
 * The value after '=': "quoted" (\" and \\ are the only escapes; other backslashes stay),
 * or bare, where '#' or ';' at its start or after a space starts a comment.
 */
static int parse_value(const struct parser *ps, const char *key, char *raw, char **out)
{
	char *v = raw;

	while (is_space(*v))
		v++;
	if (*v == '"') {
		char *src = v + 1, *dst = v;

		while (*src && *src != '"') {
			if (src[0] == '\\' && (src[1] == '"' || src[1] == '\\'))
				src++;
			*dst++ = *src++;
		}
		if (!*src)
			return perr(ps, ps->line, "%s: unterminated quoted value", key);
		if (!only_comment(src + 1))
			return perr(ps, ps->line, "%s: unexpected text after the closing quote", key);
		*dst = '\0';
		*out = v;
		return 0;
	}
	for (char *q = v; *q; q++) {
		if ((*q == '#' || *q == ';') && (q == v || is_space(q[-1]))) {
			*q = '\0';
			break;
		}
	}
	*out = trim(v);
	return 0;
}

static int parse_line(struct parser *ps, char *line)
{
	char sh[SHOW_BUF], why[WHY_BUF];
	char *s = trim(line), *eq, *key, *value = NULL;
	const struct key_def *k;
	int *seen;

	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return parse_section(ps, s);
	eq = strchr(s, '=');
	if (!eq)
		return perr(ps, ps->line, "expected 'key = value'");
	*eq = '\0';
	key = trim(s);
	if (!*key)
		return perr(ps, ps->line, "expected 'key = value'");
	if (ps->sec == SEC_NONE)
		return perr(ps, ps->line, "key outside of any section");
	if (parse_value(ps, key, eq + 1, &value) < 0)
		return -1;
	k = find_key(key);
	if (!k && ps->sec == SEC_DISK)
		return perr(ps, ps->line, "unknown key '%s' in [disk %s]", show(key, sh), ps->disk->name);
	if (!k)
		return perr(ps, ps->line, "unknown key '%s' in %s", show(key, sh), section_names[ps->sec]);
	if (k->sec != ps->sec)
		return perr(ps, ps->line, "key '%s' belongs in %s, not in %s", key,
			    section_names[k->sec],
			    ps->sec == SEC_DISK ? "[disk NAME]" : section_names[ps->sec]);
	if (!*value)
		return perr(ps, ps->line, "%s: value is empty", key);
	seen = &ps->key_line[k - keys];
	if (!k->repeatable && *seen)
		return perr(ps, ps->line, "duplicate key '%s' (first set at line %d)", key, *seen);
	if (k->set(ps->c, ps->disk, key, value, why, sizeof(why)) < 0)
		return perr(ps, ps->line, "%s", why);
	*seen = ps->line;
	return 0;
}

static int copy_disks(struct mp_conf *dst, const struct mp_conf *src)
{
	dst->disks = NULL;
	dst->n_disks = 0;
	if (src->n_disks == 0)
		return 0;
	dst->disks = malloc(disk_capacity(src->n_disks) * sizeof(*dst->disks));
	if (!dst->disks)
		return -1;
	memcpy(dst->disks, src->disks, src->n_disks * sizeof(*dst->disks));
	dst->n_disks = src->n_disks;
	return 0;
}

int mp_conf_parse(struct mp_conf *c, const char *name, const char *text, size_t len,
		  char *err, size_t errlen)
{
	/* Parse into a copy so that a bad file leaves the previous configuration intact (reload). */
	struct mp_conf work = *c;
	struct parser ps = { .c = &work, .name = name, .err = err, .errlen = errlen };
	const char *p = text, *end = text + len;
	char *line = NULL;

	if (strlen(name) >= sizeof(work.file)) {
		snprintf(err, errlen, "%.64s...: file name is too long", name);
		return -1;
	}
	if (copy_disks(&work, c) < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	snprintf(work.file, sizeof(work.file), "%s", name);
	line = malloc(LINE_MAX_BYTES + 1);
	if (!line) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)  /* a UTF-8 BOM some editors add */
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		ps.line++;
		if (n > LINE_MAX_BYTES) {
			perr(&ps, ps.line, "line is longer than %d bytes", LINE_MAX_BYTES);
			goto fail;
		}
		if (memchr(p, '\0', n)) {
			perr(&ps, ps.line, "NUL byte in line");
			goto fail;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (parse_line(&ps, line) < 0)
			goto fail;
		p = nl ? nl + 1 : end;
	}
	if (close_section(&ps) < 0)
		goto fail;
	free(line);
	free(c->disks);
	*c = work;
	return 0;
fail:
	free(line);
	free(work.disks);
	return -1;
}

int mp_conf_load(struct mp_conf *c, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "re");
	char *buf;
	size_t n = 0;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	/* One byte more than allowed tells "exactly at the limit" from "too big". */
	buf = malloc(FILE_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	n = fread(buf, 1, FILE_MAX_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		rc = -1;
	} else if (n > FILE_MAX_BYTES) {
		snprintf(err, errlen, "%s: file is larger than %d bytes", file, FILE_MAX_BYTES);
		rc = -1;
	} else {
		rc = mp_conf_parse(c, file, buf, n, err, errlen);
	}
	fclose(f);
	free(buf);
	return rc;
}

int mp_conf_set(struct mp_conf *c, const char *section, const char *key, const char *value,
		char *err, size_t errlen)
{
	enum section sec;
	const struct key_def *k = find_key(key);

	if (strcmp(section, "global") == 0) {
		sec = SEC_GLOBAL;
	} else if (strcmp(section, "nbd") == 0) {
		sec = SEC_NBD;
	} else {
		snprintf(err, errlen, "unknown section [%s]", section);
		return -1;
	}
	if (!k || k->sec != sec) {
		snprintf(err, errlen, "unknown key '%s' in [%s]", key, section);
		return -1;
	}
	if (!*value) {
		snprintf(err, errlen, "%s: value is empty", key);
		return -1;
	}
	return k->set(c, NULL, key, value, err, errlen);
}

/* ---- iscsi:// URLs ---- */

/* The first "diskN" that is neither a disk name nor an export, so URL disks never clash. */
static void url_disk_name(const struct mp_conf *c, char *out, size_t n)
{
	for (size_t i = 0;; i++) {
		bool used = false;

		snprintf(out, n, "disk%zu", i);
		for (size_t j = 0; j < c->n_disks && !used; j++)
			used = strcmp(c->disks[j].name, out) == 0 ||
			       strcmp(c->disks[j].export_name, out) == 0;
		if (!used)
			return;
	}
}

static int parse_url(const char *url, struct mp_conf_portal *portal, char *target, uint32_t *lun,
		     char *why, size_t n)
{
	static const char scheme[] = "iscsi://";
	static const char form[] = "expected iscsi://HOST[:PORT]/IQN[/LUN]";
	char sh[SHOW_BUF], problem[WHY_BUF], authority[URL_MAX_BYTES + 1], tgt[URL_MAX_BYTES + 1];
	const char *rest, *slash, *lun_s;
	size_t alen, tlen;

	if (strlen(url) > URL_MAX_BYTES)
		return fail(why, n, "URL is longer than %d bytes", URL_MAX_BYTES);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return fail(why, n, "contains a space or control character");
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return fail(why, n, "not an iscsi:// URL (%s)", form);
	rest = url + sizeof(scheme) - 1;
	slash = strchr(rest, '/');
	alen = slash ? (size_t)(slash - rest) : strlen(rest);
	memcpy(authority, rest, alen);
	authority[alen] = '\0';
	if (strchr(authority, '@'))
		return fail(why, n, "user names and passwords in the URL are not supported");
	if (parse_portal(authority, portal, problem, sizeof(problem)) < 0)
		return fail(why, n, "%s", problem);
	if (!slash || !slash[1])
		return fail(why, n, "missing target IQN (%s)", form);
	rest = slash + 1;
	slash = strchr(rest, '/');
	tlen = slash ? (size_t)(slash - rest) : strlen(rest);
	memcpy(tgt, rest, tlen);
	tgt[tlen] = '\0';
	if (tlen == 0)
		return fail(why, n, "missing target IQN (%s)", form);
	if (check_iscsi_name("target", tgt, why, n) < 0)
		return -1;
	if (tlen >= MP_CONF_IQN_MAX)  /* check_iscsi_name said so already; keep the copy obviously safe */
		return fail(why, n, "target is too long");
	memcpy(target, tgt, tlen + 1);
	*lun = 0;
	lun_s = slash ? slash + 1 : "";
	if (strchr(lun_s, '/'))
		return fail(why, n, "unexpected '%s' after the LUN", show(strchr(lun_s, '/'), sh));
	if (!*lun_s)
		return 0;
	switch (parse_uint(lun_s, 0, LUN_MAX, lun)) {
	case NUM_OK:
		return 0;
	case NUM_NOT_NUMBER:
		return fail(why, n, "LUN '%s' is not a number", show(lun_s, sh));
	case NUM_RANGE:
		break;
	}
	return fail(why, n, "LUN '%s' is out of range (0-%d)", show(lun_s, sh), LUN_MAX);
}

int mp_conf_add_url(struct mp_conf *c, const char *url, char *err, size_t errlen)
{
	char sh[SHOW_BUF], why[WHY_BUF], target[MP_CONF_IQN_MAX], name[MP_CONF_NAME_MAX];
	struct mp_conf_portal portal;
	struct mp_conf_disk *d = NULL;
	uint32_t lun;

	if (parse_url(url, &portal, target, &lun, why, sizeof(why)) < 0)
		goto fail;
	for (size_t i = 0; i < c->n_disks; i++) {
		struct mp_conf_disk *o = &c->disks[i];

		if (o->lun != lun || strcmp(o->target, target) != 0)
			continue;
		if (o->line) {
			snprintf(why, sizeof(why), "target and LUN are already [disk %s] (%s:%d)",
				 o->name, show(c->file, sh), o->line);
			goto fail;
		}
		d = o;
		break;
	}
	if (d) {
		/* A repeat of a URL disk: one more path to the same LU. */
		if (d->n_portals >= MP_CONF_MAX_PORTALS) {
			snprintf(why, sizeof(why), "too many portals for %s (max %d)", d->name,
				 MP_CONF_MAX_PORTALS);
			goto fail;
		}
		for (size_t i = 0; i < d->n_portals; i++) {
			if (same_portal(&d->portals[i], &portal)) {
				snprintf(why, sizeof(why), "portal is already a path of %s", d->name);
				goto fail;
			}
		}
		d->portals[d->n_portals++] = portal;
		return 0;
	}
	if (c->n_disks >= MP_CONF_MAX_DISKS) {
		snprintf(why, sizeof(why), "too many disks (max %d)", MP_CONF_MAX_DISKS);
		goto fail;
	}
	url_disk_name(c, name, sizeof(name));
	d = new_disk(c, name, 0);
	if (!d) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	snprintf(d->target, sizeof(d->target), "%s", target);
	d->lun = lun;
	d->portals[0] = portal;
	d->n_portals = 1;
	return 0;
fail:
	snprintf(err, errlen, "'%s': %s", show(url, sh), why);
	return -1;
}
