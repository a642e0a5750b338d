/* The [global] section's keys: initiator name, logging, the control socket (secrets is in config_chap.c). */
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "common/log.h"
#include "common/util.h"
#include "tools/mpiscsid/config_chap.h"
#include "tools/mpiscsid/config_parse.h"
#include "tools/mpiscsid/config_values.h"

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

	if (cfg_name_parse(&cfg_syslog_names, v, &c->syslog))
		return 0;
	return cfg_fail(why, n, "%s: '%s' is not 'auto', 'yes' or 'no'", key, cfg_show(v, sh));
}

static const struct cfg_key keys[] = {
	{ .key = "initiator_name", .set = set_initiator_name },
	{ .key = "log_level",      .set = set_log_level },
	{ .key = "control",        .set = set_control },
	{ .key = "control_max_clients", .set = set_control_max_clients },
	{ .key = "control_max_pending", .set = set_control_max_pending },
	{ .key = "syslog",         .set = set_syslog },
	{ .key = "secrets",        .set = cfg_set_secrets },
};
_Static_assert(MP_ARRAY_SIZE(keys) <= CFG_MAX_SECTION_KEYS, "too many [global] keys for the parser");
const struct cfg_key_table cfg_global_keys = { keys, MP_ARRAY_SIZE(keys) };
