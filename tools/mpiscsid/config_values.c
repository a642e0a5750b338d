/* Value parsers of the configuration: numbers, times, names, portals (see config_values.h). */
#include "tools/mpiscsid/config_values.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int cfg_fail(char *why, size_t n, const char *fmt, ...)
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
const char *cfg_show(const char *v, char *buf)
{
	size_t i;

	for (i = 0; v[i] && i < CFG_SHOW_MAX; i++)
		buf[i] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ? '?' : v[i];
	if (v[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

bool cfg_is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

char *cfg_trim(char *s)
{
	size_t n;

	while (cfg_is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && cfg_is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

enum cfg_num cfg_parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return CFG_NUM_NOT_NUMBER;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return CFG_NUM_NOT_NUMBER;
		if (v <= UINT32_MAX)  /* stop growing once too big, but keep checking digits */
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return CFG_NUM_RANGE;
	*out = (uint32_t)v;
	return CFG_NUM_OK;
}

int cfg_set_number(const char *key, const char *v, uint32_t min, uint32_t max, uint32_t *out,
		   char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];

	switch (cfg_parse_uint(v, min, max, out)) {
	case CFG_NUM_OK:
		return 0;
	case CFG_NUM_NOT_NUMBER:
		return cfg_fail(why, n, "%s: '%s' is not a number", key, cfg_show(v, sh));
	case CFG_NUM_RANGE:
		break;
	}
	return cfg_fail(why, n, "%s: '%s' is out of range (%u-%u)", key, cfg_show(v, sh), min, max);
}

bool cfg_valid_name(const char *s)
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
int cfg_check_iscsi_name(const char *key, const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	size_t len = strlen(v);

	if (strncmp(v, "iqn.", 4) != 0 && strncmp(v, "eui.", 4) != 0 && strncmp(v, "naa.", 4) != 0)
		return cfg_fail(why, n, "%s: '%s' must start with 'iqn.', 'eui.' or 'naa.'", key,
				cfg_show(v, sh));
	if (len == 4)
		return cfg_fail(why, n, "%s: '%s' has nothing after the prefix", key, v);
	if (len >= MP_CONF_IQN_MAX)
		return cfg_fail(why, n, "%s: '%s' is too long (%zu bytes, max %d)", key,
				cfg_show(v, sh), len,
			    MP_CONF_IQN_MAX - 1);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return cfg_fail(why, n, "%s: '%s' contains a space or control character", key,
					cfg_show(v, sh));
	return 0;
}

/* Linux dev_valid_name(): shorter than IFNAMSIZ, not "." or "..", no '/', ':' or space. */
bool cfg_valid_ifname(const char *s)
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
	char sh[CFG_SHOW_BUF];
	uint32_t v;

	switch (cfg_parse_uint(s, 1, 65535, &v)) {
	case CFG_NUM_OK:
		*port = (uint16_t)v;
		return 0;
	case CFG_NUM_NOT_NUMBER:
		return cfg_fail(why, n, "port '%s' is not a number", cfg_show(s, sh));
	case CFG_NUM_RANGE:
		break;
	}
	return cfg_fail(why, n, "port '%s' is out of range (1-65535)", cfg_show(s, sh));
}

/*
 * HOST[:PORT] or [IPv6][:PORT]; why gets the problem without the portal text, so the
 * file and URL callers can each say where it came from.
 */
int cfg_parse_portal(const char *s, struct mp_conf_portal *out, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF], host[sizeof(out->host)];
	const char *port = NULL;
	size_t hlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char addr[sizeof(host)];
		struct in6_addr a6;
		char *zone;

		if (!close)
			return cfg_fail(why, n, "missing ']' after the IPv6 address");
		hlen = (size_t)(close - s - 1);
		if (hlen == 0)
			return cfg_fail(why, n, "empty IPv6 address");
		if (hlen >= sizeof(host))
			return cfg_fail(why, n, "IPv6 address is too long");
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return cfg_fail(why, n, "unexpected '%s' after ']'", cfg_show(close + 1, sh));
		/* A zone (fe80::1%eth0) names a NIC; inet_pton does not take one, so check it apart. */
		memcpy(addr, host, hlen + 1);
		zone = strchr(addr, '%');
		if (zone) {
			*zone++ = '\0';
			if (!cfg_valid_ifname(zone) || strlen(zone) > 15)
				return cfg_fail(why, n, "'%s' is not a valid IPv6 zone (interface name)",
						cfg_show(zone, sh));
		}
		if (inet_pton(AF_INET6, addr, &a6) != 1)
			return cfg_fail(why, n, "'%s' is not a valid IPv6 address", cfg_show(addr, sh));
	} else {
		const char *colon = strchr(s, ':');
		struct in_addr a4;

		if (colon && strchr(colon + 1, ':'))
			return cfg_fail(why, n, "an IPv6 address needs brackets, e.g. [%s]:%d",
					cfg_show(s, sh),
				    CFG_DEFAULT_PORT);
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (hlen == 0)
			return cfg_fail(why, n, "missing host");
		if (hlen > 253)  /* RFC 1035: a full domain name */
			return cfg_fail(why, n, "host name is too long (%zu bytes, max 253)", hlen);
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_")
		    != hlen)
			return cfg_fail(why, n, "'%s' is not a valid host name or address",
					cfg_show(host, sh));
		/* All digits and dots is meant as IPv4: catch 198.18.1.300 here, not at connect. */
		if (strspn(host, "0123456789.") == hlen && inet_pton(AF_INET, host, &a4) != 1)
			return cfg_fail(why, n, "'%s' is not a valid IPv4 address", host);
		if (colon)
			port = colon + 1;
	}
	out->port = CFG_DEFAULT_PORT;
	if (port && parse_port(port, &out->port, why, n) < 0)
		return -1;
	memcpy(out->host, host, hlen + 1);
	return 0;
}

bool cfg_same_portal(const struct mp_conf_portal *a, const struct mp_conf_portal *b)
{
	return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}


/* ---- times ---- */

enum time_result { TIME_OK, TIME_NOT_TIME, TIME_TOO_PRECISE };

/*
 * digits[.digits][s|ms], no sign, no spaces; "ms" takes no decimals. *ms saturates far
 * above any limit, so the caller's range check also catches huge values.
 */
static enum time_result parse_time(const char *s, uint64_t *ms)
{
	uint64_t whole = 0, frac = 0;
	int decimals = 0;
	bool dot = false;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return TIME_NOT_TIME;
	for (; *p >= '0' && *p <= '9'; p++)
		if (whole <= UINT32_MAX)
			whole = whole * 10 + (uint64_t)(*p - '0');
	if (*p == '.') {
		dot = true;
		if (p[1] < '0' || p[1] > '9')
			return TIME_NOT_TIME;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (++decimals <= 3)
				frac = frac * 10 + (uint64_t)(*p - '0');
	}
	if (strcmp(p, "ms") == 0 && !dot) {
		*ms = whole;
		return TIME_OK;
	}
	if (*p && strcmp(p, "s") != 0)
		return TIME_NOT_TIME;
	if (decimals > 3)
		return TIME_TOO_PRECISE;
	for (int i = decimals; i < 3; i++)
		frac *= 10;
	*ms = whole * 1000 + frac;
	return TIME_OK;
}

/* A limit as written in a range message: whole seconds as "Ns", anything else as "Nms". */
static const char *time_str(uint32_t ms, char *buf, size_t n)
{
	if (ms % 1000 == 0)
		snprintf(buf, n, "%us", ms / 1000);
	else
		snprintf(buf, n, "%ums", ms);
	return buf;
}

int cfg_set_bool(const char *key, const char *v, bool *out, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	int b;

	if (cfg_name_parse(&cfg_bool_names, v, &b)) {
		*out = b != 0;
		return 0;
	}
	return cfg_fail(why, n, "%s: '%s' is not 'yes' or 'no'", key, cfg_show(v, sh));
}

int cfg_set_time(const char *key, const char *v, uint32_t min_ms, uint32_t max_ms, bool zero_ok,
		 bool whole_s, uint32_t *out_ms, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF], lo[16], hi[16];
	uint64_t ms;

	switch (parse_time(v, &ms)) {
	case TIME_OK:
		break;
	case TIME_NOT_TIME:
		return cfg_fail(why, n, "%s: '%s' is not a time (use e.g. 2, 1.5, 500ms)", key,
				cfg_show(v, sh));
	case TIME_TOO_PRECISE:
		return cfg_fail(why, n, "%s: '%s' has more than 3 decimals (the resolution is 1 ms)",
				key, cfg_show(v, sh));
	}
	if (!(ms == 0 && zero_ok) && (ms < min_ms || ms > max_ms))
		return cfg_fail(why, n, "%s: '%s' is out of range (%s%s-%s)", key, cfg_show(v, sh),
				zero_ok ? "0 or " : "", time_str(min_ms, lo, sizeof(lo)),
				time_str(max_ms, hi, sizeof(hi)));
	if (whole_s && ms % 1000 != 0)
		return cfg_fail(why, n, "%s: '%s' is not a whole number of seconds", key,
				cfg_show(v, sh));
	*out_ms = (uint32_t)ms;
	return 0;
}

/* ---- keyword tables (see config_values.h): the first word of a value is the one printed ---- */

#define NAMES(t) { (t), MP_ARRAY_SIZE(t) }

static const struct cfg_name bool_names[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 }, { "on", 1 }, { "off", 0 },
	{ "1", 1 }, { "0", 0 },
};
const struct cfg_names cfg_bool_names = NAMES(bool_names);

static const struct cfg_name syslog_names[] = { { "auto", -1 }, { "yes", 1 }, { "no", 0 } };
const struct cfg_names cfg_syslog_names = NAMES(syslog_names);

/* No "auto": the file can not ask for the default by name; the printer shows what it means. */
static const struct cfg_name tls_names[] = {
	{ "off", MP_CONF_TLS_OFF }, { "on", MP_CONF_TLS_ON }, { "require", MP_CONF_TLS_REQUIRE },
};
const struct cfg_names cfg_tls_names = NAMES(tls_names);

static const struct cfg_name auth_names[] = {
	{ "none", MP_CONF_AUTH_NONE }, { "chap", MP_CONF_AUTH_CHAP }, { "mutual", MP_CONF_AUTH_MUTUAL },
};
const struct cfg_names cfg_auth_names = NAMES(auth_names);

/* In this order in messages ("is not 'fail', 'queue' or a number of seconds"). */
static const struct cfg_name npr_names[] = { { "fail", 0 }, { "queue", -1 } };
const struct cfg_names cfg_npr_names = NAMES(npr_names);

static const struct cfg_name failback_names[] = {
	{ "immediate", MP_FAILBACK_IMMEDIATE },
	{ "manual", MP_FAILBACK_MANUAL },
	{ "followover", MP_FAILBACK_FOLLOWOVER },
};
const struct cfg_names cfg_failback_names = NAMES(failback_names);

static const struct cfg_name alua_names[] = { { "auto", 0 }, { "off", 1 } };
const struct cfg_names cfg_alua_names = NAMES(alua_names);

#undef NAMES

bool cfg_name_parse(const struct cfg_names *t, const char *s, int *value)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(s, t->v[i].name) == 0) {
			*value = t->v[i].value;
			return true;
		}
	}
	return false;
}

const char *cfg_name_of(const struct cfg_names *t, int value)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].value == value)
			return t->v[i].name;
	return NULL;
}

/* ---- writing values back ---- */

/* Whether parse_value (config.c) would read v back as something else when written bare. */
static bool needs_quotes(const char *v)
{
	size_t len = strlen(v);

	if (len == 0 || v[0] == '"' || cfg_is_space(v[0]) || cfg_is_space(v[len - 1]))
		return true;
	for (size_t i = 0; i < len; i++)
		if ((v[i] == '#' || v[i] == ';') && (i == 0 || cfg_is_space(v[i - 1])))
			return true;
	return false;
}

void cfg_print_kv(FILE *f, const char *key, const char *value, const char *comment)
{
	fprintf(f, "%s = ", key);
	if (needs_quotes(value)) {
		fputc('"', f);
		for (const char *p = value; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		fputs(value, f);
	}
	if (comment)
		fprintf(f, "  # %s", comment);
	fputc('\n', f);
}
