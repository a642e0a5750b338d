/* The [disk NAME] section's keys (paths, policies, timers, ALUA, prio rules) and the checks of a disk as a whole. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "mpath/selector.h"
#include "tools/mpiscsid/config_chap.h"
#include "tools/mpiscsid/config_frontend.h"
#include "tools/mpiscsid/config_parse.h"
#include "tools/mpiscsid/config_values.h"

#define NPR_MAX          86400         /* no_path_retry: one day is "forever" for a timeout */
#define RETRIES_MAX      100
#define RR_MIN_IO_MAX    100000
#define FAILBACK_MAX     3600          /* deferred failback, seconds */
#define PRIO_MAX         1000
#define MARGINAL_MAX     1000          /* marginal_flaps, marginal_latency_factor */

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
	if (cfg_set_number(key, v, 0, MP_CONF_LUN_MAX, &d->lun, why, n) < 0)
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

/* "'a', 'b', 'c'": the words of t, for messages. */
static const char *words_text(const struct cfg_names *t, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->n && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s'%s'", i ? ", " : "", t->v[i].name);
	return buf;
}

/*
 * KEY = a word of t, or a number of seconds 1..max (no_path_retry, failback). Returns 1 with
 * *word set for a word, 0 with *seconds set for a number, -1 with why (naming t's words).
 */
static int word_or_seconds(const char *key, const char *v, const struct cfg_names *t, uint32_t max,
			   int *word, uint32_t *seconds, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF], words[128];

	if (cfg_name_parse(t, v, word))
		return 1;
	switch (cfg_parse_uint(v, 1, max, seconds)) {
	case CFG_NUM_OK:
		return 0;
	case CFG_NUM_NOT_NUMBER:
		return cfg_fail(why, n, "%s: '%s' is not %s or a number of seconds", key, cfg_show(v, sh),
				words_text(t, words, sizeof(words)));
	case CFG_NUM_RANGE:
		break;
	}
	return cfg_fail(why, n, "%s: '%s' is out of range (1-%u seconds; or %s)", key, cfg_show(v, sh), max,
			words_text(t, words, sizeof(words)));
}

static int set_no_path_retry(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			     const char *v, char *why, size_t n)
{
	uint32_t s;
	int word;

	switch (word_or_seconds(key, v, &cfg_npr_names, NPR_MAX, &word, &s, why, n)) {
	case 1:
		d->no_path_retry_s = word;
		return 0;
	case 0:
		d->no_path_retry_s = (int32_t)s;
		return 0;
	}
	return -1;
}

static int set_max_retries(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			   const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 0, RETRIES_MAX, &d->max_retries, why, n);
}

static int set_selector(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			const char *v, char *why, size_t n)
{
	const struct mp_selector_ops *sel = mp_selector_find(v);
	char sh[CFG_SHOW_BUF];

	/* The selectors' own registry (mpath/selector.c) is the list of names. */
	if (sel && strlen(sel->name) < sizeof(d->selector)) {
		snprintf(d->selector, sizeof(d->selector), "%s", sel->name);
		return 0;
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
	uint32_t s;
	int fb;

	switch (word_or_seconds(key, v, &cfg_failback_names, FAILBACK_MAX, &fb, &s, why, n)) {
	case 1:
		d->failback = (enum mp_failback)fb;
		d->failback_delay_s = 0;
		return 0;
	case 0:
		d->failback = MP_FAILBACK_DEFERRED;
		d->failback_delay_s = s;
		return 0;
	}
	return -1;
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
	int off;

	if (cfg_name_parse(&cfg_alua_names, v, &off)) {
		d->alua_off = off != 0;
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

/* The parser tells each rule (and each front end) its line, for messages about it later. */
static void note_prio_line(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key MP_UNUSED,
			   int line)
{
	d->prios[d->n_prios - 1].line = line;   /* mp_conf_validate blames a rule that names nothing */
}

static void note_frontend_line(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d,
			       const char *key MP_UNUSED, int line)
{
	d->frontends[d->n_frontends - 1].line = line;  /* a second frontend of one kind names the first */
}

static void note_interface_line(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key MP_UNUSED,
				int line)
{
	d->interface_line[d->n_interfaces - 1] = line;  /* mp_conf_check_nics names it */
}

int mp_conf_check_nics(const struct mp_conf *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct mp_conf_disk *d = &c->disks[i];
		for (size_t k = 0; k < d->n_interfaces; k++) {
			if (if_nametoindex(d->interfaces[k]) != 0)
				continue;
			if (d->interface_line[k] > 0)
				snprintf(err, errlen, "%s:%d: interface: '%s': no such network interface on this host",
					 c->file, d->interface_line[k], d->interfaces[k]);
			else
				snprintf(err, errlen, "disk %s: interface '%s': no such network interface on this host",
					 d->name, d->interfaces[k]);
			errno = ENODEV;
			return -1;
		}
	}
	return 0;
}

static const struct cfg_key keys[] = {
	{ .key = "target",         .set = set_target },
	{ .key = "lun",            .set = set_lun },
	{ .key = "luns",           .set = set_luns },
	{ .key = "portal",         .set = set_portal, .repeatable = true },
	{ .key = "interface",      .set = set_interface, .repeatable = true, .note_line = note_interface_line },
	{ .key = "export",         .set = set_export },
	{ .key = "no_path_retry",  .set = set_no_path_retry },
	{ .key = "max_retries",    .set = set_max_retries },
	{ .key = "discovery",      .set = set_discovery, .repeatable = true },
	{ .key = "selector",       .set = set_selector },
	{ .key = "rr_min_io",      .set = set_rr_min_io },
	{ .key = "prio",           .set = set_prio, .repeatable = true, .note_line = note_prio_line },
	{ .key = "failback",       .set = set_failback },
	{ .key = "noop_interval",  .set = set_noop_interval },
	{ .key = "noop_timeout",   .set = set_noop_timeout },
	{ .key = "command_timeout", .set = set_command_timeout },
	{ .key = "login_timeout",  .set = set_login_timeout },
	{ .key = "reconnect_max",  .set = set_reconnect_max },
	{ .key = "marginal_flaps", .set = set_marginal_flaps },
	{ .key = "marginal_window", .set = set_marginal_window },
	{ .key = "marginal_hold",  .set = set_marginal_hold },
	{ .key = "marginal_latency_factor", .set = set_marginal_latency_factor },
	{ .key = "alua",           .set = set_alua },
	{ .key = "alua_explicit",  .set = set_alua_explicit },
	{ .key = "alua_refresh",   .set = set_alua_refresh },
	{ .key = "auth",           .set = cfg_set_auth },
	{ .key = "chap_user",      .set = cfg_set_chap_user },
	{ .key = "chap_mutual_user", .set = cfg_set_chap_mutual_user },
	{ .key = "discovery_auth", .set = cfg_set_discovery_auth },
	{ .key = "discovery_chap_user", .set = cfg_set_discovery_chap_user },
	{ .key = "discovery_chap_mutual_user", .set = cfg_set_discovery_chap_mutual_user },
	{ .key = "frontend",       .set = cfg_set_frontend, .repeatable = true,
	  .note_line = note_frontend_line },
	{ .key = "nbd_connections", .set = cfg_set_nbd_connections },
	{ .key = "nbd_timeout",    .set = cfg_set_nbd_timeout },
	{ .key = "nbd_dead_timeout", .set = cfg_set_nbd_dead_timeout },
};
_Static_assert(MP_ARRAY_SIZE(keys) <= CFG_MAX_SECTION_KEYS, "too many [disk] keys for the parser");
const struct cfg_key_table cfg_disk_keys = { keys, MP_ARRAY_SIZE(keys) };

/* Whole-disk checks, shared by the parser (at the end of each [disk] section) and mp_conf_validate. */
int cfg_check_disk(const struct mp_conf *c, size_t i, int export_line, int *line, char *why,
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
