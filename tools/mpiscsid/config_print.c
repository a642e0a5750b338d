/* The effective configuration printed as mpiscsi.conf text: --check-config, show config, reload comparisons. */
#include <stdio.h>
#include <string.h>

#include "tools/mpiscsid/config.h"
#include "tools/mpiscsid/config_frontend.h"
#include "tools/mpiscsid/config_nbd.h"
#include "tools/mpiscsid/secrets.h"

static const char *failback_name(enum mp_failback f)
{
	switch (f) {
	case MP_FAILBACK_IMMEDIATE: return "immediate";
	case MP_FAILBACK_MANUAL: return "manual";
	case MP_FAILBACK_FOLLOWOVER: return "followover";
	case MP_FAILBACK_DEFERRED: return "deferred";
	}
	return "?";
}


/* The effective configuration as mpiscsi.conf text (--check-config, mpiscsiadm show config). */
void mp_conf_print(FILE *f, const struct mp_conf *c)
{
	static const char *const levels[] = { "err", "warn", "info", "debug" };
	fprintf(f, "[global]\ninitiator_name = %s\nlog_level = %s\ncontrol = %s\ncontrol_max_clients = %u\n"
		"control_max_pending = %u\n"
		"syslog = %s\n",
		c->initiator_name, c->log_level >= 0 && c->log_level < 4 ? levels[c->log_level] : "?", c->control,
		c->control_max_clients, c->control_max_pending, c->syslog < 0 ? "auto" : c->syslog ? "yes" : "no");
	if (c->secrets_file[0]) /* the file's name and how many it holds; a secret is never shown */
		fprintf(f, "secrets = %s  # %zu CHAP secret(s): ********\n", c->secrets_file,
			mp_secrets_count(c->secrets));
	mp_conf_print_nbd(f, c);
	for (size_t i = 0; i < c->n_disks; i++)
		mp_conf_print_disk(f, &c->disks[i]);
}

/* CHAP keys: user names only. Secrets stay in the secrets file and are never printed. */
static void print_chap(FILE *f, const char *pre, enum mp_conf_auth a, const char *user, const char *muser)
{
	fprintf(f, "%sauth = %s\n", pre, mp_conf_auth_name(a));
	if (user[0])
		fprintf(f, "%schap_user = %s\n", pre, user);
	if (muser[0])
		fprintf(f, "%schap_mutual_user = %s\n", pre, muser);
}

/* One [disk] section with every effective setting (also what a reload compares). */
void mp_conf_print_disk(FILE *f, const struct mp_conf_disk *k)
{
	char luns[400];
	mp_conf_luns_text(k, luns, sizeof(luns));
	fprintf(f, "\n[disk %s]\ntarget = %s\n%s%s", k->name, k->target, luns[0] ? luns : "# every LUN",
		"\n");
	for (size_t j = 0; j < k->n_portals; j++)
		fprintf(f, "portal = %s%s%s:%u\n", strchr(k->portals[j].host, ':') ? "[" : "",
		       k->portals[j].host, strchr(k->portals[j].host, ':') ? "]" : "", k->portals[j].port);
	for (size_t j = 0; j < k->n_interfaces; j++)
		fprintf(f, "interface = %s\n", k->interfaces[j]);
	fprintf(f, "export = %s\n", k->export_name);
	if (k->no_path_retry_s < 0)
		fprintf(f, "no_path_retry = queue\n");
	else if (k->no_path_retry_s == 0)
		fprintf(f, "no_path_retry = fail\n");
	else
		fprintf(f, "no_path_retry = %d\n", k->no_path_retry_s);
	fprintf(f, "max_retries = %u\n", k->max_retries);
	for (size_t j = 0; j < k->n_discovery; j++)
		fprintf(f, "discovery = %s%s%s:%u\n", strchr(k->discovery[j].host, ':') ? "[" : "",
		       k->discovery[j].host, strchr(k->discovery[j].host, ':') ? "]" : "", k->discovery[j].port);
	fprintf(f, "selector = %s\nrr_min_io = %u\n", k->selector, k->rr_min_io);
	for (size_t j = 0; j < k->n_prios; j++)
		fprintf(f, "prio = %s %d\n", k->prios[j].target, k->prios[j].prio);
	if (k->failback == MP_FAILBACK_DEFERRED)
		fprintf(f, "failback = %u\n", k->failback_delay_s);
	else
		fprintf(f, "failback = %s\n", failback_name(k->failback));
	fprintf(f, "noop_interval = %ums\nnoop_timeout = %ums\ncommand_timeout = %ums\n"
	       "login_timeout = %ums\nreconnect_max = %ums\n",
	       k->noop_interval_ms, k->noop_timeout_ms, k->command_timeout_ms, k->login_timeout_ms,
	       k->reconnect_max_ms);
	fprintf(f, "marginal_flaps = %u\nmarginal_window = %ums\nmarginal_hold = %ums\n"
	       "marginal_latency_factor = %u\n", k->marginal_flaps, k->marginal_window_ms,
	       k->marginal_hold_ms, k->marginal_latency_factor);
	fprintf(f, "alua = %s\nalua_explicit = %s\nalua_refresh = %ums\n", k->alua_off ? "off" : "auto",
	       k->alua_explicit ? "yes" : "no", k->alua_refresh_ms);
	mp_conf_print_frontends(f, k);
	print_chap(f, "", k->auth, k->chap_user, k->chap_mutual_user);
	if (k->n_discovery)
		print_chap(f, "discovery_", k->discovery_auth, k->discovery_chap_user, k->discovery_chap_mutual_user);
}

