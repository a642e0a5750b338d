/* The effective configuration printed as mpiscsi.conf text: --check-config, show config, reload comparisons. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "tools/mpiscsid/config.h"
#include "tools/mpiscsid/config_frontend.h"
#include "tools/mpiscsid/config_nbd.h"
#include "tools/mpiscsid/config_values.h"
#include "tools/mpiscsid/secrets.h"

/*
 * Keyword values come from the same tables the setters read (config_values.h), and free text
 * goes through cfg_print_kv, which quotes what the parser would otherwise read differently:
 * parsing the printed text gives the same configuration (tests/unit/test_config_roundtrip.c).
 */

/* A word from t, or "?" for a value t does not name (a corrupt struct, never a parsed one). */
static const char *name_of(const struct cfg_names *t, int value)
{
	const char *name = cfg_name_of(t, value);

	return name ? name : "?";
}

/* The effective configuration as mpiscsi.conf text (--check-config, mpiscsiadm show config). */
void mp_conf_print(FILE *f, const struct mp_conf *c)
{
	fprintf(f, "[global]\n");
	cfg_print_kv(f, "initiator_name", c->initiator_name, NULL);
	cfg_print_kv(f, "log_level", mp_log_level_name(c->log_level), NULL);
	cfg_print_kv(f, "control", c->control, NULL);
	fprintf(f, "control_max_clients = %u\ncontrol_max_pending = %u\n", c->control_max_clients,
		c->control_max_pending);
	cfg_print_kv(f, "syslog", name_of(&cfg_syslog_names, c->syslog), NULL);
	if (c->secrets_file[0]) { /* the file's name and how many it holds; a secret is never shown */
		char note[64];

		snprintf(note, sizeof(note), "%zu CHAP secret(s): ********", mp_secrets_count(c->secrets));
		cfg_print_kv(f, "secrets", c->secrets_file, note);
	}
	mp_conf_print_nbd(f, c);
	for (size_t i = 0; i < c->n_disks; i++)
		mp_conf_print_disk(f, &c->disks[i]);
}

/* CHAP keys: user names only. Secrets stay in the secrets file and are never printed. */
static void print_chap(FILE *f, const char *pre, enum mp_conf_auth a, const char *user, const char *muser)
{
	char key[64];

	snprintf(key, sizeof(key), "%sauth", pre);
	cfg_print_kv(f, key, mp_conf_auth_name(a), NULL);
	snprintf(key, sizeof(key), "%schap_user", pre);
	if (user[0])
		cfg_print_kv(f, key, user, NULL);
	snprintf(key, sizeof(key), "%schap_mutual_user", pre);
	if (muser[0])
		cfg_print_kv(f, key, muser, NULL);
}

static void print_portal(FILE *f, const char *key, const struct mp_conf_portal *p)
{
	bool v6 = strchr(p->host, ':') != NULL;

	fprintf(f, "%s = %s%s%s:%u\n", key, v6 ? "[" : "", p->host, v6 ? "]" : "", p->port);
}

/* One [disk] section with every effective setting (also what a reload compares). */
void mp_conf_print_disk(FILE *f, const struct mp_conf_disk *k)
{
	const char *word;
	char luns[400];

	mp_conf_luns_text(k, luns, sizeof(luns));
	fprintf(f, "\n[disk %s]\n", k->name);
	cfg_print_kv(f, "target", k->target, NULL);
	fprintf(f, "%s\n", luns[0] ? luns : "# every LUN");
	for (size_t j = 0; j < k->n_portals; j++)
		print_portal(f, "portal", &k->portals[j]);
	for (size_t j = 0; j < k->n_interfaces; j++)
		cfg_print_kv(f, "interface", k->interfaces[j], NULL);
	cfg_print_kv(f, "export", k->export_name, NULL);
	word = cfg_name_of(&cfg_npr_names, k->no_path_retry_s);
	if (word)
		cfg_print_kv(f, "no_path_retry", word, NULL);
	else
		fprintf(f, "no_path_retry = %d\n", k->no_path_retry_s);
	fprintf(f, "max_retries = %u\n", k->max_retries);
	for (size_t j = 0; j < k->n_discovery; j++)
		print_portal(f, "discovery", &k->discovery[j]);
	cfg_print_kv(f, "selector", k->selector, NULL);
	fprintf(f, "rr_min_io = %u\n", k->rr_min_io);
	for (size_t j = 0; j < k->n_prios; j++) {
		char rule[sizeof(k->prios[j].target) + 16];

		snprintf(rule, sizeof(rule), "%s %d", k->prios[j].target, k->prios[j].prio);
		cfg_print_kv(f, "prio", rule, NULL);
	}
	if (k->failback == MP_FAILBACK_DEFERRED)
		fprintf(f, "failback = %u\n", k->failback_delay_s);
	else
		cfg_print_kv(f, "failback", name_of(&cfg_failback_names, (int)k->failback), NULL);
	fprintf(f, "noop_interval = %ums\nnoop_timeout = %ums\ncommand_timeout = %ums\n"
	       "login_timeout = %ums\nreconnect_max = %ums\n",
	       k->noop_interval_ms, k->noop_timeout_ms, k->command_timeout_ms, k->login_timeout_ms,
	       k->reconnect_max_ms);
	fprintf(f, "marginal_flaps = %u\nmarginal_window = %ums\nmarginal_hold = %ums\n"
	       "marginal_latency_factor = %u\n", k->marginal_flaps, k->marginal_window_ms,
	       k->marginal_hold_ms, k->marginal_latency_factor);
	cfg_print_kv(f, "alua", name_of(&cfg_alua_names, k->alua_off), NULL);
	cfg_print_kv(f, "alua_explicit", name_of(&cfg_bool_names, k->alua_explicit), NULL);
	fprintf(f, "alua_refresh = %ums\n", k->alua_refresh_ms);
	mp_conf_print_frontends(f, k);
	print_chap(f, "", k->auth, k->chap_user, k->chap_mutual_user);
	if (k->n_discovery)
		print_chap(f, "discovery_", k->discovery_auth, k->discovery_chap_user, k->discovery_chap_mutual_user);
}
