/* The daemon's configuration: INI file parser, iscsi:// URLs, command-line overrides, checks. */
#include "tools/mpiscsid/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "tools/mpiscsid/config_chap.h"
#include "tools/mpiscsid/config_frontend.h"
#include "tools/mpiscsid/config_nbd.h"
#include "tools/mpiscsid/config_values.h"
#include "tools/mpiscsid/secrets.h"

#define LINE_MAX_BYTES   4096          /* longer lines are refused, never truncated */
#define FILE_MAX_BYTES   (1024 * 1024) /* a config file is small; a huge one is a mistake */
#define URL_MAX_BYTES    4096
#define LUN_MAX          16383         /* SAM: the flat/peripheral LUN space libiscsi addresses */
#define NPR_MAX          86400         /* no_path_retry: one day is "forever" for a timeout */
#define RETRIES_MAX      100
#define DEFAULT_NPR      30
#define DEFAULT_RETRIES  5
#define RR_MIN_IO_MAX    100000
#define FAILBACK_MAX     3600          /* deferred failback, seconds */
#define PRIO_MAX         1000
#define MARGINAL_MAX     1000          /* marginal_flaps, marginal_latency_factor */
#define IQN_PREFIX       "iqn.2026-11.org.mpiscsi:"

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
	int key_line[64];           /* line where each single-valued key of this section was set */
};

/* ---- key setters ---- */

static int set_initiator_name(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
			      const char *v, char *why, size_t n)
{
	if (cfg_check_iscsi_name(key, v, why, n) < 0)
		return -1;
	snprintf(c->initiator_name, sizeof(c->initiator_name), "%s", v);
	return 0;
}

static int set_log_level(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
			 const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	int level = mp_log_level_parse(v);

	if (level < 0)
		return cfg_fail(why, n, "%s: '%s' is not one of err, warn, info, debug", key,
				cfg_show(v, sh));
	c->log_level = level;
	return 0;
}

static int set_control(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
		       const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	if (v[0] != '/')
		return cfg_fail(why, n, "%s: '%s' needs an absolute path", key, cfg_show(v, sh));
	if (strlen(v) > sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)
		return cfg_fail(why, n, "%s: socket path is too long (%zu bytes, max %zu)", key, strlen(v),
				sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
	snprintf(c->control, sizeof(c->control), "%s", v);
	return 0;
}

static int set_control_max_clients(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
				   const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 1, 1024, &c->control_max_clients, why, n);
}

static int set_control_max_pending(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
				   const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 1, 1024, &c->control_max_pending, why, n);
}

static int set_syslog(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, const char *v,
		      char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	if (strcmp(v, "auto") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		c->syslog = v[0] == 'a' ? -1 : v[0] == 'y';
		return 0;
	}
	return cfg_fail(why, n, "%s: '%s' is not 'auto', 'yes' or 'no'", key, cfg_show(v, sh));
}

static int set_target(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		      const char *v, char *why, size_t n)
{
	if (cfg_check_iscsi_name(key, v, why, n) < 0)
		return -1;
	snprintf(d->target, sizeof(d->target), "%s", v);
	return 0;
}

static int set_lun(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		   const char *v, char *why, size_t n)
{
	if (d->lun_mode == MP_CONF_LUNS_LIST)
		return cfg_fail(why, n, "%s: this section has luns already; use one of lun and luns", key);
	if (cfg_set_number(key, v, 0, LUN_MAX, &d->lun, why, n) < 0)
		return -1;
	d->lun_mode = MP_CONF_LUNS_ONE;
	return 0;
}

static int set_luns(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		    const char *v, char *why, size_t n)
{
	if (d->lun_mode == MP_CONF_LUNS_ONE)
		return cfg_fail(why, n, "%s: this section has lun already; use one of lun and luns", key);
	return mp_conf_parse_luns(d, key, v, why, n);
}

/* One more entry for portal or discovery; what names the list in "too many ... (max 16)". */
static int add_portal(const char *key, const char *v, const char *what,
		      struct mp_conf_portal *list, size_t *count, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF], problem[CFG_WHY_BUF];
	struct mp_conf_portal p;

	if (*count >= MP_CONF_MAX_PORTALS)
		return cfg_fail(why, n, "too many %s (max %d)", what, MP_CONF_MAX_PORTALS);
	if (cfg_parse_portal(v, &p, problem, sizeof(problem)) < 0)
		return cfg_fail(why, n, "%s: '%s': %s", key, cfg_show(v, sh), problem);
	for (size_t i = 0; i < *count; i++)
		if (cfg_same_portal(&list[i], &p))
			return cfg_fail(why, n, "%s: '%s' is listed twice", key, cfg_show(v, sh));
	list[(*count)++] = p;
	return 0;
}

static int set_portal(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		      const char *v, char *why, size_t n)
{
	return add_portal(key, v, "portals", d->portals, &d->n_portals, why, n);
}

static int set_discovery(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			 const char *v, char *why, size_t n)
{
	return add_portal(key, v, "discovery portals", d->discovery, &d->n_discovery, why, n);
}

static int set_interface(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			 const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];

	if (d->n_interfaces >= MP_CONF_MAX_IFACES)
		return cfg_fail(why, n, "too many interfaces (max %d)", MP_CONF_MAX_IFACES);
	if (strlen(v) >= sizeof(d->interfaces[0]))
		return cfg_fail(why, n, "%s: '%s' is longer than %zu bytes", key, cfg_show(v, sh),
				sizeof(d->interfaces[0]) - 1);
	if (!cfg_valid_ifname(v))
		return cfg_fail(why, n, "%s: '%s' is not a valid interface name", key, cfg_show(v, sh));
	for (size_t i = 0; i < d->n_interfaces; i++)
		if (strcmp(d->interfaces[i], v) == 0)
			return cfg_fail(why, n, "%s: '%s' is listed twice", key, v);
	snprintf(d->interfaces[d->n_interfaces++], sizeof(d->interfaces[0]), "%s", v);
	return 0;
}

static int set_export(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		      const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];

	/* Same alphabet as disk names, so the name is safe in nbd+unix:///NAME URIs unquoted. */
	if (!cfg_valid_name(v))
		return cfg_fail(why, n, "%s: '%s' is not a valid export name (" CFG_NAME_CHARS ")", key,
				cfg_show(v, sh));
	snprintf(d->export_name, sizeof(d->export_name), "%s", v);
	return 0;
}

static int set_no_path_retry(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			     const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	uint32_t s;

	if (strcmp(v, "fail") == 0) {
		d->no_path_retry_s = 0;
		return 0;
	}
	if (strcmp(v, "queue") == 0) {
		d->no_path_retry_s = -1;
		return 0;
	}
	switch (cfg_parse_uint(v, 1, NPR_MAX, &s)) {
	case CFG_NUM_OK:
		d->no_path_retry_s = (int32_t)s;
		return 0;
	case CFG_NUM_NOT_NUMBER:
		return cfg_fail(why, n, "%s: '%s' is not 'fail', 'queue' or a number of seconds", key,
				cfg_show(v, sh));
	case CFG_NUM_RANGE:
		break;
	}
	return cfg_fail(why, n, "%s: '%s' is out of range (1-%d seconds; or 'fail', 'queue')", key,
			cfg_show(v, sh), NPR_MAX);
}

static int set_max_retries(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			   const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 0, RETRIES_MAX, &d->max_retries, why, n);
}

static int set_selector(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			const char *v, char *why, size_t n)
{
	static const char *const names[] = { "service-time", "queue-length", "round-robin" };
	char sh[CFG_SHOW_BUF];

	for (size_t i = 0; i < MP_ARRAY_SIZE(names); i++) {
		if (strcmp(v, names[i]) == 0) {
			snprintf(d->selector, sizeof(d->selector), "%s", names[i]);
			return 0;
		}
	}
	return cfg_fail(why, n, "%s: '%s' is not one of service-time, queue-length, round-robin",
			key, cfg_show(v, sh));
}

static int set_rr_min_io(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			 const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 1, RR_MIN_IO_MAX, &d->rr_min_io, why, n);
}

static int set_failback(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			const char *v, char *why, size_t n)
{
	static const struct { const char *name; enum mp_failback fb; } modes[] = {
		{ "immediate", MP_FAILBACK_IMMEDIATE },
		{ "manual", MP_FAILBACK_MANUAL },
		{ "followover", MP_FAILBACK_FOLLOWOVER },
	};
	char sh[CFG_SHOW_BUF];
	uint32_t s;

	for (size_t i = 0; i < MP_ARRAY_SIZE(modes); i++) {
		if (strcmp(v, modes[i].name) == 0) {
			d->failback = modes[i].fb;
			d->failback_delay_s = 0;
			return 0;
		}
	}
	switch (cfg_parse_uint(v, 1, FAILBACK_MAX, &s)) {
	case CFG_NUM_OK:
		d->failback = MP_FAILBACK_DEFERRED;
		d->failback_delay_s = s;
		return 0;
	case CFG_NUM_NOT_NUMBER:
		return cfg_fail(why, n, "%s: '%s' is not 'immediate', 'manual', 'followover' or a "
				"number of seconds", key, cfg_show(v, sh));
	case CFG_NUM_RANGE:
		break;
	}
	return cfg_fail(why, n, "%s: '%s' is out of range (1-%d seconds; or 'immediate', 'manual', "
			"'followover')", key, cfg_show(v, sh), FAILBACK_MAX);
}

/* Times: ranges in ms; "zero" allows 0 (off) below the minimum. */
#define TIME_SETTER(field, min, max, zero, whole)                                             \
	static int set_##field(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d,            \
			       const char *key, const char *v, char *why, size_t n)            \
	{                                                                                      \
		return cfg_set_time(key, v, min, max, zero, whole, &d->field##_ms, why, n);    \
	}
TIME_SETTER(noop_interval, 100, 3600000, true, false)
TIME_SETTER(noop_timeout, 100, 3600000, false, false)
TIME_SETTER(command_timeout, 500, 3600000, true, false)
TIME_SETTER(login_timeout, 500, 3600000, false, false)
TIME_SETTER(reconnect_max, 100, 600000, false, false)
TIME_SETTER(marginal_window, 1000, 3600000, false, true)
TIME_SETTER(marginal_hold, 1000, 3600000, false, true)
TIME_SETTER(alua_refresh, 1000, 3600000, true, true)
#undef TIME_SETTER

static int set_alua(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key, const char *v,
		    char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	if (strcmp(v, "auto") == 0 || strcmp(v, "off") == 0) {
		d->alua_off = strcmp(v, "off") == 0;
		return 0;
	}
	return cfg_fail(why, n, "%s: '%s' is not 'auto' or 'off'", key, cfg_show(v, sh));
}

static int set_alua_explicit(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			     const char *v, char *why, size_t n)
{
	return cfg_set_bool(key, v, &d->alua_explicit, why, n);
}

static int set_marginal_flaps(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d,
			      const char *key, const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 0, MARGINAL_MAX, &d->marginal_flaps, why, n);
}

static int set_marginal_latency_factor(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d,
				       const char *key, const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 0, MARGINAL_MAX, &d->marginal_latency_factor, why, n);
}

/*
 * Whether prio target t names the interface iface or the portal p (either may be NULL).
 * t was checked by set_prio: an interface name, or a portal when it parses as one.
 */
static bool prio_names(const char *t, const char *iface, const struct mp_conf_portal *p)
{
	char problem[CFG_WHY_BUF];
	struct mp_conf_portal tp;

	if (iface && *iface && strcmp(t, iface) == 0)
		return true;
	return p && cfg_parse_portal(t, &tp, problem, sizeof(problem)) == 0 &&
	       cfg_same_portal(&tp, p);
}

/* Two rules for one thing: the same text, or the same portal written two ways. */
static bool prio_same_target(const char *a, const char *b)
{
	char problem[CFG_WHY_BUF];
	struct mp_conf_portal pa;

	if (strcmp(a, b) == 0)
		return true;
	return cfg_parse_portal(a, &pa, problem, sizeof(problem)) == 0 && prio_names(b, NULL, &pa);
}

static int set_prio(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
		    const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF], problem[CFG_WHY_BUF], target[sizeof(d->prios[0].target)];
	size_t tlen = strcspn(v, " \t");
	const char *num = v + tlen;
	struct mp_conf_portal p;
	struct mp_conf_prio *r;
	uint32_t prio;

	if (d->n_prios >= MP_CONF_MAX_PRIOS)
		return cfg_fail(why, n, "too many prio rules (max %d)", MP_CONF_MAX_PRIOS);
	while (cfg_is_space(*num))
		num++;
	if (!*num)
		return cfg_fail(why, n, "%s: '%s' needs a target and a priority, e.g. veth1 80", key,
				cfg_show(v, sh));
	if (tlen >= sizeof(target))
		return cfg_fail(why, n, "%s: the target is longer than %zu bytes", key,
				sizeof(target) - 1);
	memcpy(target, v, tlen);
	target[tlen] = '\0';
	/* An interface name (it has no ':'), else it must be a portal. */
	if (!(cfg_valid_ifname(target) && tlen < sizeof(d->interfaces[0])) &&
	    cfg_parse_portal(target, &p, problem, sizeof(problem)) < 0)
		return cfg_fail(why, n, "%s: '%s' is not an interface name or a portal (%s)", key,
				cfg_show(target, sh), problem);
	switch (cfg_parse_uint(num, 0, PRIO_MAX, &prio)) {
	case CFG_NUM_OK:
		break;
	case CFG_NUM_NOT_NUMBER:
		return cfg_fail(why, n, "%s: priority '%s' is not a number", key, cfg_show(num, sh));
	case CFG_NUM_RANGE:
		return cfg_fail(why, n, "%s: priority '%s' is out of range (0-%d)", key,
				cfg_show(num, sh), PRIO_MAX);
	}
	for (size_t i = 0; i < d->n_prios; i++)
		if (prio_same_target(d->prios[i].target, target))
			return cfg_fail(why, n, "%s: '%s' is listed twice (first at line %d)", key,
					cfg_show(target, sh), d->prios[i].line);
	r = &d->prios[d->n_prios++];
	memcpy(r->target, target, tlen + 1);
	r->prio = (int32_t)prio;
	r->line = 0;  /* the parser sets it: it knows the line */
	return 0;
}

int32_t mp_conf_path_prio(const struct mp_conf_disk *d, const char *iface,
			  const struct mp_conf_portal *portal)
{
	for (size_t i = 0; i < d->n_prios; i++)
		if (prio_names(d->prios[i].target, iface, portal))
			return d->prios[i].prio;
	return MP_CONF_PRIO_DEFAULT;
}

static const struct key_def keys[] = {
	{ .key = "initiator_name", .sec = SEC_GLOBAL, .set = set_initiator_name },
	{ .key = "log_level",      .sec = SEC_GLOBAL, .set = set_log_level },
	{ .key = "control",        .sec = SEC_GLOBAL, .set = set_control },
	{ .key = "control_max_clients", .sec = SEC_GLOBAL, .set = set_control_max_clients },
	{ .key = "control_max_pending", .sec = SEC_GLOBAL, .set = set_control_max_pending },
	{ .key = "syslog",         .sec = SEC_GLOBAL, .set = set_syslog },
	{ .key = "listen",         .sec = SEC_NBD,    .set = cfg_set_listen, .repeatable = true },
	{ .key = "tls",            .sec = SEC_NBD,    .set = cfg_set_tls },
	{ .key = "tls_cert",       .sec = SEC_NBD,    .set = cfg_set_tls_cert },
	{ .key = "tls_key",        .sec = SEC_NBD,    .set = cfg_set_tls_key },
	{ .key = "tls_ca",         .sec = SEC_NBD,    .set = cfg_set_tls_ca },
	{ .key = "tls_psk_file",   .sec = SEC_NBD,    .set = cfg_set_tls_psk_file },
	{ .key = "insecure",       .sec = SEC_NBD,    .set = cfg_set_insecure },
	{ .key = "max_clients",    .sec = SEC_NBD,    .set = cfg_set_max_clients },
	{ .key = "max_handshakes", .sec = SEC_NBD,    .set = cfg_set_max_handshakes },
	{ .key = "handshake_timeout", .sec = SEC_NBD, .set = cfg_set_handshake_timeout },
	{ .key = "max_inflight",   .sec = SEC_NBD,    .set = cfg_set_max_inflight },
	{ .key = "max_inflight_mib", .sec = SEC_NBD,  .set = cfg_set_max_inflight_mib },
	{ .key = "max_request_kib", .sec = SEC_NBD,   .set = cfg_set_max_request_kib },
	{ .key = "target",         .sec = SEC_DISK,   .set = set_target },
	{ .key = "lun",            .sec = SEC_DISK,   .set = set_lun },
	{ .key = "luns",           .sec = SEC_DISK,   .set = set_luns },
	{ .key = "portal",         .sec = SEC_DISK,   .set = set_portal, .repeatable = true },
	{ .key = "interface",      .sec = SEC_DISK,   .set = set_interface, .repeatable = true },
	{ .key = "export",         .sec = SEC_DISK,   .set = set_export },
	{ .key = "no_path_retry",  .sec = SEC_DISK,   .set = set_no_path_retry },
	{ .key = "max_retries",    .sec = SEC_DISK,   .set = set_max_retries },
	{ .key = "discovery",      .sec = SEC_DISK,   .set = set_discovery, .repeatable = true },
	{ .key = "selector",       .sec = SEC_DISK,   .set = set_selector },
	{ .key = "rr_min_io",      .sec = SEC_DISK,   .set = set_rr_min_io },
	{ .key = "prio",           .sec = SEC_DISK,   .set = set_prio, .repeatable = true },
	{ .key = "failback",       .sec = SEC_DISK,   .set = set_failback },
	{ .key = "noop_interval",  .sec = SEC_DISK,   .set = set_noop_interval },
	{ .key = "noop_timeout",   .sec = SEC_DISK,   .set = set_noop_timeout },
	{ .key = "command_timeout", .sec = SEC_DISK,  .set = set_command_timeout },
	{ .key = "login_timeout",  .sec = SEC_DISK,   .set = set_login_timeout },
	{ .key = "reconnect_max",  .sec = SEC_DISK,   .set = set_reconnect_max },
	{ .key = "marginal_flaps", .sec = SEC_DISK,   .set = set_marginal_flaps },
	{ .key = "marginal_window", .sec = SEC_DISK,  .set = set_marginal_window },
	{ .key = "marginal_hold",  .sec = SEC_DISK,   .set = set_marginal_hold },
	{ .key = "marginal_latency_factor", .sec = SEC_DISK, .set = set_marginal_latency_factor },
	{ .key = "alua",           .sec = SEC_DISK,   .set = set_alua },
	{ .key = "alua_explicit",  .sec = SEC_DISK,   .set = set_alua_explicit },
	{ .key = "alua_refresh",   .sec = SEC_DISK,   .set = set_alua_refresh },
	{ .key = "secrets",        .sec = SEC_GLOBAL, .set = cfg_set_secrets },
	{ .key = "auth",           .sec = SEC_DISK,   .set = cfg_set_auth },
	{ .key = "chap_user",      .sec = SEC_DISK,   .set = cfg_set_chap_user },
	{ .key = "chap_mutual_user", .sec = SEC_DISK, .set = cfg_set_chap_mutual_user },
	{ .key = "discovery_auth", .sec = SEC_DISK,   .set = cfg_set_discovery_auth },
	{ .key = "discovery_chap_user", .sec = SEC_DISK, .set = cfg_set_discovery_chap_user },
	{ .key = "discovery_chap_mutual_user", .sec = SEC_DISK, .set = cfg_set_discovery_chap_mutual_user },
	{ .key = "frontend",       .sec = SEC_DISK,   .set = cfg_set_frontend, .repeatable = true },
	{ .key = "nbd_connections", .sec = SEC_DISK,  .set = cfg_set_nbd_connections },
	{ .key = "nbd_timeout",    .sec = SEC_DISK,   .set = cfg_set_nbd_timeout },
	{ .key = "nbd_dead_timeout", .sec = SEC_DISK, .set = cfg_set_nbd_dead_timeout },
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
	cfg_nbd_init(c);
	snprintf(c->control, sizeof(c->control), "%s", "/run/mpiscsi/control.sock");
	c->syslog = -1;
	c->control_max_clients = 16;
	c->control_max_pending = 8;
}

void mp_conf_free(struct mp_conf *c)
{
	mp_secrets_free(c->secrets);
	c->secrets = NULL;
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
	snprintf(d->selector, sizeof(d->selector), "service-time");
	d->rr_min_io = 1;
	d->failback = MP_FAILBACK_IMMEDIATE;
	d->noop_interval_ms = 500;
	d->noop_timeout_ms = 1000;
	d->command_timeout_ms = 10000;
	d->login_timeout_ms = 3000;
	d->reconnect_max_ms = 1000;
	d->marginal_flaps = 3;
	d->marginal_window_ms = 60000;
	d->marginal_hold_ms = 30000;
	d->marginal_latency_factor = 20;
	d->alua_explicit = true;
	d->alua_refresh_ms = 5000;
	cfg_frontend_defaults(d);
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
		return cfg_fail(why, n, "[disk %s] has no target", d->name);
	if (d->n_portals == 0 && d->n_discovery == 0)
		return cfg_fail(why, n, "[disk %s] has no portal or discovery (at least one is "
				"required)", d->name);
	if (cfg_check_disk_chap(d, why, n) < 0)
		return -1;
	for (size_t r = 0; r < d->n_prios; r++) {
		const struct mp_conf_prio *pr = &d->prios[r];
		bool named = false;

		for (size_t k = 0; k < d->n_interfaces && !named; k++)
			named = prio_names(pr->target, d->interfaces[k], NULL);
		for (size_t k = 0; k < d->n_portals && !named; k++)
			named = prio_names(pr->target, NULL, &d->portals[k]);
		if (!named) {
			char sh[CFG_SHOW_BUF];

			*line = pr->line;
			return cfg_fail(why, n, "prio: '%s' is not an interface or portal of [disk %s]",
					cfg_show(pr->target, sh), d->name);
		}
	}
	for (size_t j = 0; j < i; j++) {
		const struct mp_conf_disk *o = &c->disks[j];

		if (strcmp(o->name, d->name) == 0)
			return cfg_fail(why, n, "duplicate disk '%s' (first defined at line %d)", d->name,
					o->line);
		/* Two exports of one LU would bypass the path identity guard: one disk, one LU. */
		if (strcmp(o->target, d->target) == 0 && mp_conf_disks_overlap(o, d))
			return cfg_fail(why, n, o->lun_mode == MP_CONF_LUNS_ONE && d->lun_mode == MP_CONF_LUNS_ONE
					? "[disk %s] has the same target and lun as [disk %s]"
					: "[disk %s] takes LUNs of the same target as [disk %s]", d->name, o->name);
		if (strcmp(o->export_name, d->export_name) == 0) {
			if (export_line)
				*line = export_line;
			return cfg_fail(why, n, "export '%s' of [disk %s] is already used by [disk %s]",
					d->export_name, d->name, o->name);
		}
	}
	return 0;
}

int mp_conf_validate(const struct mp_conf *c, char *err, size_t errlen)
{
	char why[CFG_WHY_BUF];
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
	if (cfg_check_nbd(c, &line, why, sizeof(why)) < 0) {
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
	char why[CFG_WHY_BUF];
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
	char why[CFG_WHY_BUF];
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
	while (cfg_is_space(*s))
		s++;
	return !*s || *s == '#' || *s == ';';
}

static int parse_section(struct parser *ps, char *s)
{
	char sh[CFG_SHOW_BUF];
	char *close = strchr(s, ']'), *inner, *arg;
	const struct mp_conf_disk *dup;
	size_t wlen;

	if (close_section(ps) < 0)
		return -1;
	if (!close)
		return perr(ps, ps->line, "unterminated section header");
	if (!only_comment(close + 1))
		return perr(ps, ps->line, "unexpected '%s' after section header",
			    cfg_show(cfg_trim(close + 1), sh));
	*close = '\0';
	inner = cfg_trim(s + 1);
	wlen = strcspn(inner, " \t");
	arg = cfg_trim(inner + wlen);  /* inner is trimmed already, so this leaves inner intact */
	if (wlen == 6 && memcmp(inner, "global", 6) == 0 && !*arg) {
		ps->sec = SEC_GLOBAL;
		return 0;
	}
	if (wlen == 3 && memcmp(inner, "nbd", 3) == 0 && !*arg) {
		ps->sec = SEC_NBD;
		return 0;
	}
	if (wlen != 4 || memcmp(inner, "disk", 4) != 0)
		return perr(ps, ps->line, "unknown section [%s]", cfg_show(inner, sh));
	if (!*arg)
		return perr(ps, ps->line, "[disk] needs a name, e.g. [disk data0]");
	if (!cfg_valid_name(arg))
		return perr(ps, ps->line, "invalid disk name '%s' (" CFG_NAME_CHARS ")", cfg_show(arg, sh));
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

	while (cfg_is_space(*v))
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
		if ((*q == '#' || *q == ';') && (q == v || cfg_is_space(q[-1]))) {
			*q = '\0';
			break;
		}
	}
	*out = cfg_trim(v);
	return 0;
}

static int parse_line(struct parser *ps, char *line)
{
	char sh[CFG_SHOW_BUF], why[CFG_WHY_BUF];
	char *s = cfg_trim(line), *eq, *key, *value = NULL;
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
	key = cfg_trim(s);
	if (!*key)
		return perr(ps, ps->line, "expected 'key = value'");
	if (ps->sec == SEC_NONE)
		return perr(ps, ps->line, "key outside of any section");
	if (parse_value(ps, key, eq + 1, &value) < 0)
		return -1;
	k = find_key(key);
	if (!k && ps->sec == SEC_DISK)
		return perr(ps, ps->line, "unknown key '%s' in [disk %s]", cfg_show(key, sh),
			    ps->disk->name);
	if (!k)
		return perr(ps, ps->line, "unknown key '%s' in %s", cfg_show(key, sh),
			    section_names[ps->sec]);
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
	if (k->set == set_prio)  /* mp_conf_validate blames a rule that names nothing at its line */
		ps->disk->prios[ps->disk->n_prios - 1].line = ps->line;
	if (k->set == cfg_set_frontend)  /* a second frontend of one kind names the first's line */
		ps->disk->frontends[ps->disk->n_frontends - 1].line = ps->line;
	if (k->sec == SEC_NBD)   /* likewise for the [nbd] checks */
		cfg_nbd_note_line(ps->c, k->key, ps->line);
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
	if (k->set == cfg_set_listen)  /* a command-line listen replaces the file's listeners */
		cfg_nbd_override_listen(c);
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

/*
 * A URL without a LUN takes every LUN of its target; its disks are "<tail>-<lun>", tail being
 * the target name after its last ':' (characters other than letters, digits, '-', '_' and '.'
 * become '_'), so that names do not depend on the order of URLs or of LUN discovery.
 */
static void url_target_name(const struct mp_conf *c, const char *target, char *out, size_t n)
{
	const char *tail = strrchr(target, ':');
	tail = tail ? tail + 1 : target;
	if (!*tail)
		tail = target;
	snprintf(out, n, "%.40s", tail);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			*p = '_';
	for (size_t i = 0; i < c->n_disks; i++)
		if (strcmp(c->disks[i].name, out) == 0) {
			size_t l = strlen(out);
			snprintf(out + l, n - l, "_%zu", c->n_disks);
			break;
		}
}

static int parse_url(const char *url, struct mp_conf_portal *portal, char *target, uint32_t *lun,
		     bool *has_lun, char *why, size_t n)
{
	static const char scheme[] = "iscsi://";
	static const char form[] = "expected iscsi://HOST[:PORT]/IQN[/LUN]";
	char sh[CFG_SHOW_BUF], problem[CFG_WHY_BUF], authority[URL_MAX_BYTES + 1], tgt[URL_MAX_BYTES + 1];
	const char *rest, *slash, *lun_s;
	size_t alen, tlen;

	if (strlen(url) > URL_MAX_BYTES)
		return cfg_fail(why, n, "URL is longer than %d bytes", URL_MAX_BYTES);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return cfg_fail(why, n, "contains a space or control character");
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return cfg_fail(why, n, "not an iscsi:// URL (%s)", form);
	rest = url + sizeof(scheme) - 1;
	slash = strchr(rest, '/');
	alen = slash ? (size_t)(slash - rest) : strlen(rest);
	memcpy(authority, rest, alen);
	authority[alen] = '\0';
	if (strchr(authority, '@'))
		return cfg_fail(why, n, "user names and passwords in the URL are not supported");
	if (cfg_parse_portal(authority, portal, problem, sizeof(problem)) < 0)
		return cfg_fail(why, n, "%s", problem);
	if (!slash || !slash[1])
		return cfg_fail(why, n, "missing target IQN (%s)", form);
	rest = slash + 1;
	slash = strchr(rest, '/');
	tlen = slash ? (size_t)(slash - rest) : strlen(rest);
	memcpy(tgt, rest, tlen);
	tgt[tlen] = '\0';
	if (tlen == 0)
		return cfg_fail(why, n, "missing target IQN (%s)", form);
	if (cfg_check_iscsi_name("target", tgt, why, n) < 0)
		return -1;
	if (tlen >= MP_CONF_IQN_MAX)  /* check_iscsi_name said so already; keep the copy obviously safe */
		return cfg_fail(why, n, "target is too long");
	memcpy(target, tgt, tlen + 1);
	*lun = 0;
	*has_lun = false;
	lun_s = slash ? slash + 1 : "";
	if (strchr(lun_s, '/'))
		return cfg_fail(why, n, "unexpected '%s' after the LUN", cfg_show(strchr(lun_s, '/'), sh));
	if (!*lun_s)
		return 0;
	switch (cfg_parse_uint(lun_s, 0, LUN_MAX, lun)) {
	case CFG_NUM_OK:
		*has_lun = true;
		return 0;
	case CFG_NUM_NOT_NUMBER:
		return cfg_fail(why, n, "LUN '%s' is not a number", cfg_show(lun_s, sh));
	case CFG_NUM_RANGE:
		break;
	}
	return cfg_fail(why, n, "LUN '%s' is out of range (0-%d)", cfg_show(lun_s, sh), LUN_MAX);
}

int mp_conf_add_url(struct mp_conf *c, const char *url, char *err, size_t errlen)
{
	char sh[CFG_SHOW_BUF], why[CFG_WHY_BUF], target[MP_CONF_IQN_MAX], name[MP_CONF_NAME_MAX];
	struct mp_conf_portal portal;
	struct mp_conf_disk *d = NULL;
	uint32_t lun;
	bool has_lun;

	if (parse_url(url, &portal, target, &lun, &has_lun, why, sizeof(why)) < 0)
		goto fail;
	enum mp_conf_lun_mode mode = has_lun ? MP_CONF_LUNS_ONE : MP_CONF_LUNS_ALL;
	for (size_t i = 0; i < c->n_disks; i++) {
		struct mp_conf_disk *o = &c->disks[i];

		if (o->lun_mode != mode || (has_lun && o->lun != lun) || strcmp(o->target, target) != 0)
			continue;
		if (o->line) {
			snprintf(why, sizeof(why), "target and LUN are already [disk %s] (%s:%d)",
				 o->name, cfg_show(c->file, sh), o->line);
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
			if (cfg_same_portal(&d->portals[i], &portal)) {
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
	if (has_lun)
		url_disk_name(c, name, sizeof(name));
	else
		url_target_name(c, target, name, sizeof(name));
	d = new_disk(c, name, 0);
	if (!d) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	snprintf(d->target, sizeof(d->target), "%s", target);
	d->lun = lun;
	d->lun_mode = mode;
	d->portals[0] = portal;
	d->n_portals = 1;
	return 0;
fail:
	snprintf(err, errlen, "'%s': %s", cfg_show(url, sh), why);
	return -1;
}
