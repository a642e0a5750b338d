/* Unit tests for tools/mpiscsid/config.c: valid files, every error message word for word, iscsi:// URLs. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "tools/mpiscsid/config.h"

#define IQN "iqn.2026-11.test.mpiscsi:tgt"

static int parse(struct mp_conf *c, const char *text, char *err, size_t errlen)
{
	return mp_conf_parse(c, "t.conf", text, strlen(text), err, errlen);
}

/* ---- valid files ---- */

Test(config, every_key)
{
	static const char text[] =
		"# full-line comment\n"
		"; another one\n"
		"[global]\n"
		"initiator_name = iqn.2026-11.test.mpiscsi:host1\n"
		"log_level = debug\n"
		"\n"
		"[nbd]\n"
		"listen = unix:/tmp/mpiscsi-test.sock\n"
		"\n"
		"[disk data0]\n"
		"target = " IQN "\n"
		"lun = 16383\n"
		"portal = 198.18.1.2\n"
		"portal = 198.18.2.2:3261\n"
		"portal = [2001:db8::1]:3262\n"
		"portal = [2001:db8::2]\n"
		"portal = [fe80::1%veth1]:3260\n"
		"portal = target.example:65535\n"
		"interface = veth1\n"
		"interface = veth2\n"
		"export = vm-disk.0\n"
		"no_path_retry = queue\n"
		"max_retries = 100\n"
		"[disk data1]\n"
		"target = eui.02004567A425678D\n"
		"portal = 198.18.3.2\n"
		"no_path_retry = fail\n"
		"max_retries = 0\n"
		"[disk data2]\n"
		"target = naa.600140512345678901234567890abcde\n"
		"portal = 198.18.4.2\n"
		"no_path_retry = 86400\n";
	struct mp_conf c;
	char err[512] = "";
	const struct mp_conf_disk *d;

	mp_conf_init(&c);
	cr_assert_eq(parse(&c, text, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.file, "t.conf");
	cr_expect_str_eq(c.initiator_name, "iqn.2026-11.test.mpiscsi:host1");
	cr_expect_eq(c.log_level, MP_LOG_DEBUG);
	cr_expect_str_eq(c.nbd.listen[0], "unix:/tmp/mpiscsi-test.sock");
	cr_assert_eq(c.n_disks, 3);

	d = &c.disks[0];
	cr_expect_str_eq(d->name, "data0");
	cr_expect_str_eq(d->target, IQN);
	cr_expect_eq(d->lun, 16383);
	cr_assert_eq(d->n_portals, 6);
	cr_expect_str_eq(d->portals[0].host, "198.18.1.2");
	cr_expect_eq(d->portals[0].port, 3260);
	cr_expect_str_eq(d->portals[1].host, "198.18.2.2");
	cr_expect_eq(d->portals[1].port, 3261);
	cr_expect_str_eq(d->portals[2].host, "2001:db8::1");
	cr_expect_eq(d->portals[2].port, 3262);
	cr_expect_str_eq(d->portals[3].host, "2001:db8::2");
	cr_expect_eq(d->portals[3].port, 3260);
	cr_expect_str_eq(d->portals[4].host, "fe80::1%veth1");
	cr_expect_str_eq(d->portals[5].host, "target.example");
	cr_expect_eq(d->portals[5].port, 65535);
	cr_assert_eq(d->n_interfaces, 2);
	cr_expect_str_eq(d->interfaces[0], "veth1");
	cr_expect_str_eq(d->interfaces[1], "veth2");
	cr_expect_str_eq(d->export_name, "vm-disk.0");
	cr_expect_eq(d->no_path_retry_s, -1);
	cr_expect_eq(d->max_retries, 100);
	cr_expect_eq(d->line, 10);

	d = &c.disks[1];
	cr_expect_str_eq(d->name, "data1");
	cr_expect_str_eq(d->target, "eui.02004567A425678D");
	cr_expect_eq(d->no_path_retry_s, 0);
	cr_expect_eq(d->max_retries, 0);
	cr_expect_eq(d->line, 24);

	d = &c.disks[2];
	cr_expect_eq(d->no_path_retry_s, 86400);
	cr_expect_str_eq(d->export_name, "data2");
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);
	mp_conf_free(&c);
}

Test(config, defaults)
{
	struct mp_conf c;
	char err[512] = "";
	const struct mp_conf_disk *d;
	const char *host;

	mp_conf_init(&c);
	cr_expect_eq(c.log_level, MP_LOG_INFO);
	cr_expect_str_eq(c.nbd.listen[0], "unix:/run/mpiscsi/nbd.sock");
	cr_expect_str_eq(c.file, "");
	cr_expect_eq(c.n_disks, 0);
	/* The default name is the prefix and a sanitised host name: lower case, digits, '.', '-'. */
	cr_assert_eq(strncmp(c.initiator_name, "iqn.2026-11.org.mpiscsi:", 24), 0, "%s", c.initiator_name);
	host = c.initiator_name + 24;
	cr_expect_gt(strlen(host), 0);
	cr_expect_eq(strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-"), strlen(host), "%s", host);
	cr_expect_lt(strlen(c.initiator_name), MP_CONF_IQN_MAX);

	cr_assert_eq(parse(&c, "[disk d]\ntarget = " IQN "\nportal = 198.18.1.2\n", err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(c.n_disks, 1);
	d = &c.disks[0];
	cr_expect_eq(d->lun, 0);
	cr_expect_eq(d->portals[0].port, 3260);
	cr_expect_eq(d->n_interfaces, 0);
	cr_expect_str_eq(d->export_name, "d");
	cr_expect_eq(d->no_path_retry_s, 30);
	cr_expect_eq(d->max_retries, 5);
	cr_expect_eq(d->line, 1);
	cr_expect_eq(d->n_discovery, 0);
	cr_expect_str_eq(d->selector, "service-time");
	cr_expect_eq(d->rr_min_io, 1);
	cr_expect_eq(d->n_prios, 0);
	cr_expect_eq(d->failback, MP_FAILBACK_IMMEDIATE);
	cr_expect_eq(d->failback_delay_s, 0);
	cr_expect_eq(d->noop_interval_ms, 500);
	cr_expect_eq(d->noop_timeout_ms, 1000);
	cr_expect_eq(d->command_timeout_ms, 10000);
	cr_expect_eq(d->login_timeout_ms, 3000);
	cr_expect_eq(d->reconnect_max_ms, 1000);
	cr_expect_eq(d->marginal_flaps, 3);
	cr_expect_eq(d->marginal_window_ms, 60000);
	cr_expect_eq(d->marginal_hold_ms, 30000);
	cr_expect_eq(d->marginal_latency_factor, 20);
	cr_expect_eq(c.log_level, MP_LOG_INFO);
	cr_expect_str_eq(c.nbd.listen[0], "unix:/run/mpiscsi/nbd.sock");
	mp_conf_free(&c);
}

Test(config, multipath_keys)
{
	static const char text[] =
		"[disk data0]\n"
		"target = " IQN "\n"
		"prio = veth1 80\n"                    /* line 3: before the interface it names */
		"prio = 198.18.2.2:3261 1000\n"
		"prio = [2001:DB8::2]:3260 0\n"       /* portal written another way */
		"portal = 198.18.1.2\n"
		"portal = 198.18.2.2:3261\n"
		"portal = [2001:db8::2]\n"
		"interface = veth1\n"
		"interface = veth2\n"
		"discovery = 198.18.9.2\n"
		"discovery = [2001:db8::9]:3261\n"
		"discovery = 198.18.1.2\n"            /* may also be a portal */
		"selector = round-robin\n"
		"rr_min_io = 100000\n"
		"failback = 3600\n"
		"noop_interval = 0\n"
		"noop_timeout = 100ms\n"
		"command_timeout = 0\n"
		"login_timeout = 0.5\n"
		"reconnect_max = 600s\n"
		"marginal_flaps = 0\n"
		"marginal_window = 3600\n"
		"marginal_hold = 1000ms\n"
		"marginal_latency_factor = 1000\n"
		"lun = 0\n"
		"[disk data1]\n"
		"target = " IQN "\n"
		"lun = 1\n"
		"discovery = target.example:3262\n"   /* discovery only, no portal */
		"selector = queue-length\n"
		"rr_min_io = 7\n"                      /* accepted, ignored without round-robin */
		"failback = manual\n"
		"marginal_flaps = 1000\n"
		"marginal_latency_factor = 0\n"
		"[disk data2]\n"
		"target = " IQN "\n"
		"lun = 2\n"
		"portal = 198.18.1.2\n"
		"failback = followover\n"
		"selector = service-time\n"
		"[disk data3]\n"
		"target = " IQN "\n"
		"lun = 3\n"
		"portal = 198.18.1.2\n"
		"failback = 1\n"
		"prio = 198.18.1.2 1\n"
		"[disk data4]\n"
		"target = " IQN "\n"
		"lun = 4\n"
		"portal = 198.18.1.2\n"
		"failback = immediate\n";
	struct mp_conf c;
	char err[512] = "";
	const struct mp_conf_disk *d;

	mp_conf_init(&c);
	cr_assert_eq(parse(&c, text, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.n_disks, 5);

	d = &c.disks[0];
	cr_assert_eq(d->n_prios, 3);
	cr_expect_str_eq(d->prios[0].target, "veth1");
	cr_expect_eq(d->prios[0].prio, 80);
	cr_expect_eq(d->prios[0].line, 3);
	cr_expect_str_eq(d->prios[1].target, "198.18.2.2:3261");
	cr_expect_eq(d->prios[1].prio, 1000);
	cr_expect_eq(d->prios[1].line, 4);
	cr_expect_str_eq(d->prios[2].target, "[2001:DB8::2]:3260");
	cr_expect_eq(d->prios[2].prio, 0);
	cr_expect_eq(d->prios[2].line, 5);
	cr_assert_eq(d->n_discovery, 3);
	cr_expect_str_eq(d->discovery[0].host, "198.18.9.2");
	cr_expect_eq(d->discovery[0].port, 3260);
	cr_expect_str_eq(d->discovery[1].host, "2001:db8::9");
	cr_expect_eq(d->discovery[1].port, 3261);
	cr_expect_str_eq(d->discovery[2].host, "198.18.1.2");
	cr_expect_eq(d->n_portals, 3);
	cr_expect_str_eq(d->selector, "round-robin");
	cr_expect_eq(d->rr_min_io, 100000);
	cr_expect_eq(d->failback, MP_FAILBACK_DEFERRED);
	cr_expect_eq(d->failback_delay_s, 3600);
	cr_expect_eq(d->noop_interval_ms, 0);
	cr_expect_eq(d->noop_timeout_ms, 100);
	cr_expect_eq(d->command_timeout_ms, 0);
	cr_expect_eq(d->login_timeout_ms, 500);
	cr_expect_eq(d->reconnect_max_ms, 600000);
	cr_expect_eq(d->marginal_flaps, 0);
	cr_expect_eq(d->marginal_window_ms, 3600000);
	cr_expect_eq(d->marginal_hold_ms, 1000);
	cr_expect_eq(d->marginal_latency_factor, 1000);

	d = &c.disks[1];
	cr_expect_eq(d->n_portals, 0);
	cr_assert_eq(d->n_discovery, 1);
	cr_expect_str_eq(d->discovery[0].host, "target.example");
	cr_expect_eq(d->discovery[0].port, 3262);
	cr_expect_str_eq(d->selector, "queue-length");
	cr_expect_eq(d->rr_min_io, 7);
	cr_expect_eq(d->failback, MP_FAILBACK_MANUAL);
	cr_expect_eq(d->failback_delay_s, 0);
	cr_expect_eq(d->marginal_flaps, 1000);
	cr_expect_eq(d->marginal_latency_factor, 0);
	/* Untouched keys keep their defaults. */
	cr_expect_eq(d->noop_interval_ms, 500);
	cr_expect_eq(d->marginal_window_ms, 60000);

	cr_expect_eq(c.disks[2].failback, MP_FAILBACK_FOLLOWOVER);
	cr_expect_str_eq(c.disks[2].selector, "service-time");
	cr_expect_eq(c.disks[3].failback, MP_FAILBACK_DEFERRED);
	cr_expect_eq(c.disks[3].failback_delay_s, 1);
	cr_expect_eq(c.disks[3].prios[0].prio, 1);
	cr_expect_eq(c.disks[4].failback, MP_FAILBACK_IMMEDIATE);
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);
	mp_conf_free(&c);
}

struct time_case {
	const char *key;
	const char *value;
	size_t field;       /* offsetof the uint32_t in struct mp_conf_disk */
	uint32_t ms;
};

#define T(k, v, ms) { #k, v, offsetof(struct mp_conf_disk, k##_ms), ms }
static const struct time_case good_times[] = {
	T(noop_interval, "0", 0), T(noop_interval, "0ms", 0), T(noop_interval, "0s", 0),
	T(noop_interval, "0.000", 0), T(noop_interval, "100ms", 100), T(noop_interval, "0.1", 100),
	T(noop_interval, "1.5", 1500), T(noop_interval, "1.5s", 1500), T(noop_interval, "1.25", 1250),
	T(noop_interval, "1.005", 1005), T(noop_interval, "2", 2000), T(noop_interval, "2s", 2000),
	T(noop_interval, "007", 7000), T(noop_interval, "1.000", 1000), T(noop_interval, "3600", 3600000),
	T(noop_interval, "3600s", 3600000), T(noop_interval, "3600000ms", 3600000),
	T(noop_interval, "3600.000", 3600000),
	T(noop_timeout, "100ms", 100), T(noop_timeout, "0.100", 100), T(noop_timeout, "3600", 3600000),
	T(command_timeout, "0", 0), T(command_timeout, "500ms", 500), T(command_timeout, "0.5", 500),
	T(command_timeout, "30", 30000), T(command_timeout, "3600s", 3600000),
	T(login_timeout, "500ms", 500), T(login_timeout, "0.5s", 500), T(login_timeout, "3600", 3600000),
	T(reconnect_max, "100ms", 100), T(reconnect_max, "0.1", 100), T(reconnect_max, "600", 600000),
	T(reconnect_max, "600000ms", 600000),
	T(marginal_window, "1", 1000), T(marginal_window, "1000ms", 1000), T(marginal_window, "2.000", 2000),
	T(marginal_window, "3600s", 3600000),
	T(marginal_hold, "1s", 1000), T(marginal_hold, "3600", 3600000), T(marginal_hold, "5000ms", 5000),
};
#undef T

Test(config, time_values)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(good_times); i++) {
		const struct time_case *t = &good_times[i];
		struct mp_conf c;
		char err[512] = "", text[256];
		uint32_t got;

		snprintf(text, sizeof(text), "[disk d]\ntarget = " IQN "\nportal = 198.18.1.2\n%s = %s\n",
			 t->key, t->value);
		mp_conf_init(&c);
		cr_assert_eq(parse(&c, text, err, sizeof(err)), 0, "%s = %s: %s", t->key, t->value, err);
		memcpy(&got, (const char *)&c.disks[0] + t->field, sizeof(got));
		cr_expect_eq(got, t->ms, "%s = %s: got %u ms, expected %u", t->key, t->value, got, t->ms);
		mp_conf_free(&c);
	}
}

Test(config, path_prio)
{
	static const char text[] =
		"[disk data0]\n"
		"target = " IQN "\n"
		"portal = 198.18.1.2\n"
		"portal = 198.18.2.2:3261\n"
		"portal = [2001:db8::2]\n"
		"interface = veth1\n"
		"interface = veth2\n"
		"prio = veth1 80\n"
		"prio = 198.18.2.2:3261 10\n"
		"prio = [2001:DB8::2]:3260 0\n"
		"lun = 0\n"
		"[disk data1]\n"
		"target = " IQN "\n"
		"lun = 1\n"
		"portal = 198.18.1.2\n"
		"interface = veth1\n"
		"prio = 198.18.1.2:3260 20\n"        /* a portal rule first: it wins over veth1 */
		"prio = veth1 90\n";
	struct mp_conf_portal p1 = { "198.18.1.2", 3260 }, p2 = { "198.18.2.2", 3261 };
	struct mp_conf_portal p2_other_port = { "198.18.2.2", 3260 }, p6 = { "2001:db8::2", 3260 };
	struct mp_conf_portal found = { "198.18.7.7", 3260 };  /* one that discovery added */
	struct mp_conf c;
	char err[512] = "";
	const struct mp_conf_disk *d;

	mp_conf_init(&c);
	cr_assert_eq(parse(&c, text, err, sizeof(err)), 0, "%s", err);
	d = &c.disks[0];
	cr_expect_eq(mp_conf_path_prio(d, "veth1", &p1), 80);
	cr_expect_eq(mp_conf_path_prio(d, "veth2", &p1), MP_CONF_PRIO_DEFAULT);
	cr_expect_eq(mp_conf_path_prio(d, "veth2", &p2), 10);
	cr_expect_eq(mp_conf_path_prio(d, "veth2", &p2_other_port), 50);
	cr_expect_eq(mp_conf_path_prio(d, "veth1", &p2), 80);  /* the first rule that matches */
	cr_expect_eq(mp_conf_path_prio(d, "veth2", &p6), 0);
	cr_expect_eq(mp_conf_path_prio(d, NULL, &p6), 0);
	cr_expect_eq(mp_conf_path_prio(d, "", &p1), 50);
	cr_expect_eq(mp_conf_path_prio(d, NULL, &found), 50);
	cr_expect_eq(mp_conf_path_prio(d, "veth1", &found), 80);
	d = &c.disks[1];
	cr_expect_eq(mp_conf_path_prio(d, "veth1", &p1), 20);
	cr_expect_eq(mp_conf_path_prio(d, "veth1", &found), 90);
	cr_expect_eq(mp_conf_path_prio(d, NULL, &p2), 50);
	mp_conf_free(&c);
}

Test(config, syntax_comments_quotes_whitespace)
{
	static const char text[] =
		"\xef\xbb\xbf# a UTF-8 byte order mark is skipped\r\n"
		"  [ global ]   # trailing comment after a header\r\n"
		"\tlog_level\t=\twarn ; trailing comment\r\n"
		"initiator_name=\"iqn.2026-11.test:quoted\"   # comment after quotes\r\n"
		"[nbd]\n"
		"listen = \"unix:/tmp/a b#c;d \\\"q\\\" \\\\ \\n.sock\"\n"
		"[global]\n"
		"log_level = ERR\n"
		"[ disk \t d0 ]\n"
		"target = iqn.2026-11.test:a#b;c # comment\n"
		"portal=198.18.1.2:3260\n"
		"   ;indented comment\n"
		"export = \"x.y\"\n"
		"[disk d1]\n"
		"target = \"" IQN "\"\n"
		"portal = 198.18.1.2"; /* no newline at the end */
	struct mp_conf c;
	char err[512] = "";

	mp_conf_init(&c);
	cr_assert_eq(parse(&c, text, err, sizeof(err)), 0, "%s", err);
	/* A [global] section may come back; the later one wins (one key per section instance). */
	cr_expect_eq(c.log_level, MP_LOG_ERR);
	cr_expect_str_eq(c.initiator_name, "iqn.2026-11.test:quoted");
	/* Inside quotes '#' and ';' are text; \" and \\ are escapes, other backslashes stay. */
	cr_expect_str_eq(c.nbd.listen[0], "unix:/tmp/a b#c;d \"q\" \\ \\n.sock");
	cr_assert_eq(c.n_disks, 2);
	cr_expect_str_eq(c.disks[0].name, "d0");
	/* '#' or ';' starts a comment only at the start of a value or after white space. */
	cr_expect_str_eq(c.disks[0].target, "iqn.2026-11.test:a#b;c");
	cr_expect_str_eq(c.disks[0].export_name, "x.y");
	cr_expect_eq(c.disks[0].line, 9);
	cr_expect_str_eq(c.disks[1].target, IQN);
	cr_expect_eq(c.disks[1].n_portals, 1);
	mp_conf_free(&c);
}

Test(config, empty_text_is_a_valid_configuration_without_disks)
{
	struct mp_conf c;
	char err[512] = "";

	/* An empty start: the daemon runs with no disk and disks come at run time. */
	mp_conf_init(&c);
	cr_assert_eq(parse(&c, "", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(parse(&c, "# only a comment\n\n[global]\n", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.n_disks, 0);
	mp_conf_free(&c);

	mp_conf_init(&c);
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);
	mp_conf_free(&c);
}

/* ---- every error, with file name and line ---- */

#define DISK "[disk data0]\ntarget = " IQN "\n"       /* lines 1-2; the next line is 3 */
#define DISKP DISK "portal = 198.18.1.2\n"            /* lines 1-3; the next line is 4 */
#define LONG64 "a123456789b123456789c123456789d123456789e123456789f123456789abcd"

struct err_case {
	const char *text;
	const char *err;
};

static const struct err_case err_cases[] = {
	/* structure */
	{ "lun = 1\n", "t.conf:1: key outside of any section" },
	{ "\n# c\nportal = 198.18.1.2\n", "t.conf:3: key outside of any section" },
	{ "[global]\nlog_level\n", "t.conf:2: expected 'key = value'" },
	{ "[global]\n = info\n", "t.conf:2: expected 'key = value'" },
	{ "garbage\n", "t.conf:1: expected 'key = value'" },
	{ "[global\n", "t.conf:1: unterminated section header" },
	{ "[global] extra\n", "t.conf:1: unexpected 'extra' after section header" },
	{ "[foo]\n", "t.conf:1: unknown section [foo]" },
	{ "[]\n", "t.conf:1: unknown section []" },
	{ "[global x]\n", "t.conf:1: unknown section [global x]" },
	{ "[Global]\n", "t.conf:1: unknown section [Global]" },
	{ "[disks data0]\n", "t.conf:1: unknown section [disks data0]" },
	{ "[disk]\n", "t.conf:1: [disk] needs a name, e.g. [disk data0]" },
	{ "[disk a/b]\n", "t.conf:1: invalid disk name 'a/b' (1-63 characters from A-Z a-z 0-9 _ . -)" },
	{ "[disk a b]\n", "t.conf:1: invalid disk name 'a b' (1-63 characters from A-Z a-z 0-9 _ . -)" },
	{ "[disk " LONG64 "]\n",
	  "t.conf:1: invalid disk name '" LONG64 "' (1-63 characters from A-Z a-z 0-9 _ . -)" },
	{ DISKP "[disk data1]\ntarget = " IQN "x\nlun = 1\nportal = 198.18.1.2\n[disk data0]\n",
	  "t.conf:8: duplicate disk 'data0' (first defined at line 1)" },
	{ DISKP "portl = 198.18.1.2\n", "t.conf:4: unknown key 'portl' in [disk data0]" },
	{ "[global]\nloglevel = info\n", "t.conf:2: unknown key 'loglevel' in [global]" },
	{ "[nbd]\nsocket = unix:/x\n", "t.conf:2: unknown key 'socket' in [nbd]" },
	{ DISK "Target = " IQN "\n", "t.conf:3: unknown key 'Target' in [disk data0]" },
	{ "[global]\nlun = 1\n", "t.conf:2: key 'lun' belongs in [disk NAME], not in [global]" },
	{ "[nbd]\ninitiator_name = iqn.a\n",
	  "t.conf:2: key 'initiator_name' belongs in [global], not in [nbd]" },
	{ DISK "listen = unix:/x\n", "t.conf:3: key 'listen' belongs in [nbd], not in [disk NAME]" },
	{ DISK "lun =\n", "t.conf:3: lun: value is empty" },
	{ DISK "lun = \"\"\n", "t.conf:3: lun: value is empty" },
	{ DISK "lun = # no value, only a comment\n", "t.conf:3: lun: value is empty" },
	{ DISK "portal = \"198.18.1.2\n", "t.conf:3: portal: unterminated quoted value" },
	{ DISK "portal = \"198.18.1.2\" x\n", "t.conf:3: portal: unexpected text after the closing quote" },
	{ DISKP "lun = 1\nlun = 2\n", "t.conf:5: duplicate key 'lun' (first set at line 4)" },
	{ "[global]\nlog_level = info\n\nlog_level = warn\n",
	  "t.conf:4: duplicate key 'log_level' (first set at line 2)" },
	/* [global] */
	{ "[global]\ninitiator_name = host1\n",
	  "t.conf:2: initiator_name: 'host1' must start with 'iqn.', 'eui.' or 'naa.'" },
	{ "[global]\ninitiator_name = IQN.2026-11.x:y\n",
	  "t.conf:2: initiator_name: 'IQN.2026-11.x:y' must start with 'iqn.', 'eui.' or 'naa.'" },
	{ "[global]\ninitiator_name = iqn.\n",
	  "t.conf:2: initiator_name: 'iqn.' has nothing after the prefix" },
	{ "[global]\ninitiator_name = \"iqn.2026-11.x:a b\"\n",
	  "t.conf:2: initiator_name: 'iqn.2026-11.x:a b' contains a space or control character" },
	{ "[global]\nlog_level = loud\n",
	  "t.conf:2: log_level: 'loud' is not one of err, warn, info, debug" },
	/* [nbd] */
	{ "[nbd]\nlisten = tcp:example.com:10809\n",
	  "t.conf:2: listen: 'tcp:example.com:10809': not a valid IPv4 address (host names are not "
	  "accepted; IPv6 needs brackets)" },
	{ "[nbd]\nlisten = /run/x.sock\n",
	  "t.conf:2: listen: '/run/x.sock': must be unix:/PATH or tcp:HOST:PORT" },
	{ "[nbd]\nlisten = unix:run/x.sock\n",
	  "t.conf:2: listen: 'unix:run/x.sock': needs an absolute path (unix:/PATH)" },
	{ "[nbd]\nlisten = unix:/" LONG64 "/" LONG64 "\n",
	  "t.conf:2: listen: 'unix:/" LONG64 "/a123456789b123456789c123456789d123456789e123456789f123456"
	  "...': socket path is too long (130 bytes, max 107)" },
	/* [disk]: target, lun */
	{ "[disk data0]\ntarget = tgt1\n",
	  "t.conf:2: target: 'tgt1' must start with 'iqn.', 'eui.' or 'naa.'" },
	{ "[disk data0]\ntarget = naa.\n", "t.conf:2: target: 'naa.' has nothing after the prefix" },
	{ DISKP "lun = 70000\n", "t.conf:4: lun: '70000' is out of range (0-16383)" },
	{ DISKP "lun = 16384\n", "t.conf:4: lun: '16384' is out of range (0-16383)" },
	{ DISKP "lun = 99999999999999999999999\n",
	  "t.conf:4: lun: '99999999999999999999999' is out of range (0-16383)" },
	{ DISKP "lun = -1\n", "t.conf:4: lun: '-1' is not a number" },
	{ DISKP "lun = 0x10\n", "t.conf:4: lun: '0x10' is not a number" },
	{ DISKP "lun = 1 2\n", "t.conf:4: lun: '1 2' is not a number" },
	/* portal */
	{ DISK "portal = [2001:db8::1:3260\n",
	  "t.conf:3: portal: '[2001:db8::1:3260': missing ']' after the IPv6 address" },
	{ DISK "portal = []:3260\n", "t.conf:3: portal: '[]:3260': empty IPv6 address" },
	{ DISK "portal = [2001:db8::1]3260\n",
	  "t.conf:3: portal: '[2001:db8::1]3260': unexpected '3260' after ']'" },
	{ DISK "portal = [2001:db8::g]:3260\n",
	  "t.conf:3: portal: '[2001:db8::g]:3260': '2001:db8::g' is not a valid IPv6 address" },
	{ DISK "portal = [198.18.1.2]:3260\n",
	  "t.conf:3: portal: '[198.18.1.2]:3260': '198.18.1.2' is not a valid IPv6 address" },
	{ DISK "portal = [fe80::1%a/b]\n",
	  "t.conf:3: portal: '[fe80::1%a/b]': 'a/b' is not a valid IPv6 zone (interface name)" },
	{ DISK "portal = 2001:db8::1\n",
	  "t.conf:3: portal: '2001:db8::1': an IPv6 address needs brackets, e.g. [2001:db8::1]:3260" },
	{ DISK "portal = :3260\n", "t.conf:3: portal: ':3260': missing host" },
	{ DISK "portal = target_1!.example\n",
	  "t.conf:3: portal: 'target_1!.example': 'target_1!.example' is not a valid host name or address" },
	{ DISK "portal = 198.18.1.300\n",
	  "t.conf:3: portal: '198.18.1.300': '198.18.1.300' is not a valid IPv4 address" },
	{ DISK "portal = 198.18.1.2:\n", "t.conf:3: portal: '198.18.1.2:': port '' is not a number" },
	{ DISK "portal = 198.18.1.2:iscsi\n",
	  "t.conf:3: portal: '198.18.1.2:iscsi': port 'iscsi' is not a number" },
	{ DISK "portal = 198.18.1.2:0\n",
	  "t.conf:3: portal: '198.18.1.2:0': port '0' is out of range (1-65535)" },
	{ DISK "portal = [2001:db8::1]:65536\n",
	  "t.conf:3: portal: '[2001:db8::1]:65536': port '65536' is out of range (1-65535)" },
	{ DISK "portal = 198.18.1.2\nportal = 198.18.1.2:3260\n",
	  "t.conf:4: portal: '198.18.1.2:3260' is listed twice" },
	{ DISK "portal = [2001:DB8::1]\nportal = [2001:db8::1]:3260\n",
	  "t.conf:4: portal: '[2001:db8::1]:3260' is listed twice" },
	{ DISK "portal=198.18.1.1\nportal=198.18.1.2\nportal=198.18.1.3\nportal=198.18.1.4\n"
	  "portal=198.18.1.5\nportal=198.18.1.6\nportal=198.18.1.7\nportal=198.18.1.8\n"
	  "portal=198.18.1.9\nportal=198.18.1.10\nportal=198.18.1.11\nportal=198.18.1.12\n"
	  "portal=198.18.1.13\nportal=198.18.1.14\nportal=198.18.1.15\nportal=198.18.1.16\n"
	  "portal=198.18.1.17\n",
	  "t.conf:19: too many portals (max 16)" },
	/* interface */
	{ DISKP "interface = enp0s31f6-toolong\n",
	  "t.conf:4: interface: 'enp0s31f6-toolong' is longer than 15 bytes" },
	{ DISKP "interface = eth0:1\n", "t.conf:4: interface: 'eth0:1' is not a valid interface name" },
	{ DISKP "interface = ..\n", "t.conf:4: interface: '..' is not a valid interface name" },
	{ DISKP "interface = \"a b\"\n", "t.conf:4: interface: 'a b' is not a valid interface name" },
	{ DISKP "interface = veth1\ninterface = veth1\n", "t.conf:5: interface: 'veth1' is listed twice" },
	{ DISKP "interface=i1\ninterface=i2\ninterface=i3\ninterface=i4\ninterface=i5\n"
	  "interface=i6\ninterface=i7\ninterface=i8\ninterface=i9\ninterface=i10\ninterface=i11\n"
	  "interface=i12\ninterface=i13\ninterface=i14\ninterface=i15\ninterface=i16\ninterface=i17\n",
	  "t.conf:20: too many interfaces (max 16)" },
	/* export */
	{ DISKP "export = my disk\n",
	  "t.conf:4: export: 'my disk' is not a valid export name (1-63 characters from A-Z a-z 0-9 _ . -)" },
	{ DISKP "export = " LONG64 "\n",
	  "t.conf:4: export: '" LONG64 "' is not a valid export name (1-63 characters from A-Z a-z 0-9 _ . -)" },
	/* no_path_retry, max_retries */
	{ DISKP "no_path_retry = forever\n",
	  "t.conf:4: no_path_retry: 'forever' is not 'fail', 'queue' or a number of seconds" },
	{ DISKP "no_path_retry = 0\n",
	  "t.conf:4: no_path_retry: '0' is out of range (1-86400 seconds; or 'fail', 'queue')" },
	{ DISKP "no_path_retry = 86401\n",
	  "t.conf:4: no_path_retry: '86401' is out of range (1-86400 seconds; or 'fail', 'queue')" },
	{ DISKP "max_retries = 101\n", "t.conf:4: max_retries: '101' is out of range (0-100)" },
	{ DISKP "max_retries = many\n", "t.conf:4: max_retries: 'many' is not a number" },
	/* whole-disk checks: on the [disk] header line, also when another section follows */
	{ "\n[disk data0]\nportal = 198.18.1.2\n", "t.conf:2: [disk data0] has no target" },
	{ "[disk data0]\ntarget = " IQN "\n[global]\nlog_level = info\n",
	  "t.conf:1: [disk data0] has no portal or discovery (at least one is required)" },
	{ "[disk data0]\n[disk data1]\n", "t.conf:1: [disk data0] has no target" },
	{ DISKP "[disk data1]\ntarget = " IQN "\nportal = 198.18.2.2\n",
	  "t.conf:4: [disk data1] takes LUNs of the same target as [disk data0]" },
	{ DISKP "lun = 2\n[disk data1]\ntarget = " IQN "\nlun = 2\nportal = 198.18.2.2\n",
	  "t.conf:5: [disk data1] has the same target and lun as [disk data0]" },
	{ DISKP "luns = 1,3-5\n[disk data1]\ntarget = " IQN "\nluns = 0, 4\nportal = 198.18.2.2\n",
	  "t.conf:5: [disk data1] takes LUNs of the same target as [disk data0]" },
	{ DISKP "luns = 1,3-5\n[disk data1]\ntarget = " IQN "\nlun = 2\nportal = 198.18.2.2\n[disk data2]\n"
	  "target = " IQN "\nluns = 6-16383\nportal = 198.18.2.2\n[disk data3]\ntarget = " IQN "\nlun = 0\n"
	  "portal = 198.18.2.2\nlun = 1\n", "t.conf:17: duplicate key 'lun' (first set at line 15)" },
	{ DISKP "lun = 1\nluns = 2\n", "t.conf:5: luns: this section has lun already; use one of lun and luns" },
	{ DISKP "luns = 2\nlun = 1\n", "t.conf:5: lun: this section has luns already; use one of lun and luns" },
	{ DISKP "luns = 2,,3\n", "t.conf:4: luns: '2,,3' is not a list of LUNs 0-16383 (e.g. 1,3-5)" },
	{ DISKP "luns = 5-3\n", "t.conf:4: luns: '5-3' is not a list of LUNs 0-16383 (e.g. 1,3-5)" },
	{ DISKP "luns = 16384\n", "t.conf:4: luns: '16384' is not a list of LUNs 0-16383 (e.g. 1,3-5)" },
	{ DISKP "luns = 1-4,4\n", "t.conf:4: luns: LUN 4 is listed twice" },
	{ DISKP "luns = x\n", "t.conf:4: luns: 'x' is not a list of LUNs 0-16383 (e.g. 1,3-5)" },
	/* export clashes: at the export line when it was set, else at the header */
	{ DISKP "[disk data1]\ntarget = " IQN "x\nlun = 1\nexport = data0\nportal = 198.18.1.2\n",
	  "t.conf:7: export 'data0' of [disk data1] is already used by [disk data0]" },
	{ DISKP "export = data1\n[disk data1]\ntarget = " IQN "x\nlun = 1\nportal = 198.18.1.2\n",
	  "t.conf:5: export 'data1' of [disk data1] is already used by [disk data0]" },
	/* discovery: the portal syntax and limits, with its own key name */
	{ DISK "discovery = 2001:db8::1\n",
	  "t.conf:3: discovery: '2001:db8::1': an IPv6 address needs brackets, e.g. [2001:db8::1]:3260" },
	{ DISK "discovery = 198.18.1.2:0\n",
	  "t.conf:3: discovery: '198.18.1.2:0': port '0' is out of range (1-65535)" },
	{ DISK "discovery = [2001:db8::1\n",
	  "t.conf:3: discovery: '[2001:db8::1': missing ']' after the IPv6 address" },
	{ DISK "discovery = 198.18.1.2\ndiscovery = 198.18.1.2:3260\n",
	  "t.conf:4: discovery: '198.18.1.2:3260' is listed twice" },
	{ DISK "discovery=198.18.1.1\ndiscovery=198.18.1.2\ndiscovery=198.18.1.3\n"
	  "discovery=198.18.1.4\ndiscovery=198.18.1.5\ndiscovery=198.18.1.6\ndiscovery=198.18.1.7\n"
	  "discovery=198.18.1.8\ndiscovery=198.18.1.9\ndiscovery=198.18.1.10\ndiscovery=198.18.1.11\n"
	  "discovery=198.18.1.12\ndiscovery=198.18.1.13\ndiscovery=198.18.1.14\n"
	  "discovery=198.18.1.15\ndiscovery=198.18.1.16\ndiscovery=198.18.1.17\n",
	  "t.conf:19: too many discovery portals (max 16)" },
	/* selector, rr_min_io */
	{ DISKP "selector = rr\n",
	  "t.conf:4: selector: 'rr' is not one of service-time, queue-length, round-robin" },
	{ DISKP "selector = Round-Robin\n",
	  "t.conf:4: selector: 'Round-Robin' is not one of service-time, queue-length, round-robin" },
	{ DISKP "selector = round-robin\nselector = queue-length\n",
	  "t.conf:5: duplicate key 'selector' (first set at line 4)" },
	{ "[global]\nselector = round-robin\n",
	  "t.conf:2: key 'selector' belongs in [disk NAME], not in [global]" },
	{ DISKP "rr_min_io = 0\n", "t.conf:4: rr_min_io: '0' is out of range (1-100000)" },
	{ DISKP "rr_min_io = 100001\n", "t.conf:4: rr_min_io: '100001' is out of range (1-100000)" },
	{ DISKP "rr_min_io = 1k\n", "t.conf:4: rr_min_io: '1k' is not a number" },
	/* failback */
	{ DISKP "failback = soon\n",
	  "t.conf:4: failback: 'soon' is not 'immediate', 'manual', 'followover' or a number of seconds" },
	{ DISKP "failback = 30s\n",
	  "t.conf:4: failback: '30s' is not 'immediate', 'manual', 'followover' or a number of seconds" },
	{ DISKP "failback = Manual\n",
	  "t.conf:4: failback: 'Manual' is not 'immediate', 'manual', 'followover' or a number of seconds" },
	{ DISKP "failback = 0\n",
	  "t.conf:4: failback: '0' is out of range (1-3600 seconds; or 'immediate', 'manual', 'followover')" },
	{ DISKP "failback = 3601\n",
	  "t.conf:4: failback: '3601' is out of range (1-3600 seconds; or 'immediate', 'manual', 'followover')" },
	{ DISKP "failback = manual\nfailback = 10\n",
	  "t.conf:5: duplicate key 'failback' (first set at line 4)" },
	/* times: syntax */
	{ DISKP "noop_timeout = 5x\n", "t.conf:4: noop_timeout: '5x' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 1.5ms\n",
	  "t.conf:4: noop_timeout: '1.5ms' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = .5\n", "t.conf:4: noop_timeout: '.5' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 1.\n", "t.conf:4: noop_timeout: '1.' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 1.s\n", "t.conf:4: noop_timeout: '1.s' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = -1\n", "t.conf:4: noop_timeout: '-1' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 1 s\n", "t.conf:4: noop_timeout: '1 s' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 1S\n", "t.conf:4: noop_timeout: '1S' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 1m\n", "t.conf:4: noop_timeout: '1m' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 1.2.3\n",
	  "t.conf:4: noop_timeout: '1.2.3' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 1.2345\n",
	  "t.conf:4: noop_timeout: '1.2345' has more than 3 decimals (the resolution is 1 ms)" },
	{ DISKP "noop_timeout = 1.0000s\n",
	  "t.conf:4: noop_timeout: '1.0000s' has more than 3 decimals (the resolution is 1 ms)" },
	/* times: ranges, one key each */
	{ DISKP "noop_timeout = 99ms\n", "t.conf:4: noop_timeout: '99ms' is out of range (100ms-3600s)" },
	{ DISKP "noop_timeout = 0\n", "t.conf:4: noop_timeout: '0' is out of range (100ms-3600s)" },
	{ DISKP "noop_timeout = 3600.001\n",
	  "t.conf:4: noop_timeout: '3600.001' is out of range (100ms-3600s)" },
	{ DISKP "noop_timeout = 99999999999999999999\n",
	  "t.conf:4: noop_timeout: '99999999999999999999' is out of range (100ms-3600s)" },
	{ DISKP "noop_timeout = 99999999999999999999ms\n",
	  "t.conf:4: noop_timeout: '99999999999999999999ms' is out of range (100ms-3600s)" },
	{ DISKP "noop_interval = 0.05\n",
	  "t.conf:4: noop_interval: '0.05' is out of range (0 or 100ms-3600s)" },
	{ DISKP "noop_interval = 3601\n",
	  "t.conf:4: noop_interval: '3601' is out of range (0 or 100ms-3600s)" },
	{ DISKP "noop_interval = 1x\n",
	  "t.conf:4: noop_interval: '1x' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "command_timeout = 499ms\n",
	  "t.conf:4: command_timeout: '499ms' is out of range (0 or 500ms-3600s)" },
	{ DISKP "command_timeout = 3601s\n",
	  "t.conf:4: command_timeout: '3601s' is out of range (0 or 500ms-3600s)" },
	{ DISKP "command_timeout = none\n",
	  "t.conf:4: command_timeout: 'none' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "login_timeout = 0\n", "t.conf:4: login_timeout: '0' is out of range (500ms-3600s)" },
	{ DISKP "login_timeout = 0.499\n", "t.conf:4: login_timeout: '0.499' is out of range (500ms-3600s)" },
	{ DISKP "login_timeout = 3601\n", "t.conf:4: login_timeout: '3601' is out of range (500ms-3600s)" },
	{ DISKP "login_timeout = 3 s\n",
	  "t.conf:4: login_timeout: '3 s' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "reconnect_max = 50ms\n", "t.conf:4: reconnect_max: '50ms' is out of range (100ms-600s)" },
	{ DISKP "reconnect_max = 601\n", "t.conf:4: reconnect_max: '601' is out of range (100ms-600s)" },
	{ DISKP "reconnect_max = 1h\n",
	  "t.conf:4: reconnect_max: '1h' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "noop_timeout = 2\nnoop_timeout = 3\n",
	  "t.conf:5: duplicate key 'noop_timeout' (first set at line 4)" },
	/* marginal-path damping */
	{ DISKP "marginal_flaps = 1001\n", "t.conf:4: marginal_flaps: '1001' is out of range (0-1000)" },
	{ DISKP "marginal_flaps = off\n", "t.conf:4: marginal_flaps: 'off' is not a number" },
	{ DISKP "marginal_window = 0\n", "t.conf:4: marginal_window: '0' is out of range (1s-3600s)" },
	{ DISKP "marginal_window = 3601\n", "t.conf:4: marginal_window: '3601' is out of range (1s-3600s)" },
	{ DISKP "marginal_window = 1.5\n",
	  "t.conf:4: marginal_window: '1.5' is not a whole number of seconds" },
	{ DISKP "marginal_window = 1min\n",
	  "t.conf:4: marginal_window: '1min' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "marginal_hold = 1500ms\n",
	  "t.conf:4: marginal_hold: '1500ms' is not a whole number of seconds" },
	{ DISKP "marginal_hold = 999ms\n", "t.conf:4: marginal_hold: '999ms' is out of range (1s-3600s)" },
	{ DISKP "marginal_hold = 3601s\n", "t.conf:4: marginal_hold: '3601s' is out of range (1s-3600s)" },
	{ DISKP "marginal_hold = x\n", "t.conf:4: marginal_hold: 'x' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ DISKP "marginal_latency_factor = 1001\n",
	  "t.conf:4: marginal_latency_factor: '1001' is out of range (0-1000)" },
	{ DISKP "marginal_latency_factor = -1\n",
	  "t.conf:4: marginal_latency_factor: '-1' is not a number" },
	/* prio: the value */
	{ DISKP "prio = veth1\n", "t.conf:4: prio: 'veth1' needs a target and a priority, e.g. veth1 80" },
	{ DISKP "prio = veth1 x\n", "t.conf:4: prio: priority 'x' is not a number" },
	{ DISKP "prio = veth1 -1\n", "t.conf:4: prio: priority '-1' is not a number" },
	{ DISKP "prio = veth1 80 90\n", "t.conf:4: prio: priority '80 90' is not a number" },
	{ DISKP "prio = veth1 1001\n", "t.conf:4: prio: priority '1001' is out of range (0-1000)" },
	{ DISKP "prio = 2001:db8::1 80\n",
	  "t.conf:4: prio: '2001:db8::1' is not an interface name or a portal (an IPv6 address needs "
	  "brackets, e.g. [2001:db8::1]:3260)" },
	{ DISKP "prio = a/b 80\n",
	  "t.conf:4: prio: 'a/b' is not an interface name or a portal ('a/b' is not a valid host name or "
	  "address)" },
	{ DISKP "prio = 198.18.1.2:0 80\n",
	  "t.conf:4: prio: '198.18.1.2:0' is not an interface name or a portal (port '0' is out of range "
	  "(1-65535))" },
	{ DISKP "prio = " LONG64 LONG64 LONG64 LONG64 LONG64 " 1\n",
	  "t.conf:4: prio: the target is longer than 263 bytes" },
	{ DISKP "interface = veth1\nprio = veth1 80\nprio = veth1 90\n",
	  "t.conf:6: prio: 'veth1' is listed twice (first at line 5)" },
	{ DISKP "prio = 198.18.1.2 80\nprio = 198.18.1.2:3260 90\n",
	  "t.conf:5: prio: '198.18.1.2:3260' is listed twice (first at line 4)" },
	{ DISKP "prio=i1 1\nprio=i2 1\nprio=i3 1\nprio=i4 1\nprio=i5 1\nprio=i6 1\nprio=i7 1\n"
	  "prio=i8 1\nprio=i9 1\nprio=i10 1\nprio=i11 1\nprio=i12 1\nprio=i13 1\nprio=i14 1\n"
	  "prio=i15 1\nprio=i16 1\nprio=i17 1\n",
	  "t.conf:20: too many prio rules (max 16)" },
	/* prio: the target must name an interface or portal of the disk, blamed at the prio line */
	{ DISKP "interface = veth1\nprio = veth3 80\n",
	  "t.conf:5: prio: 'veth3' is not an interface or portal of [disk data0]" },
	{ DISKP "prio = 198.18.1.2:3261 80\n[disk data1]\ntarget = " IQN "\nlun = 1\nportal = 198.18.2.2\n",
	  "t.conf:4: prio: '198.18.1.2:3261' is not an interface or portal of [disk data0]" },
	{ DISK "discovery = 198.18.1.2\nprio = 198.18.1.2 80\n",
	  "t.conf:4: prio: '198.18.1.2' is not an interface or portal of [disk data0]" },
	/* a disk may have discovery instead of portal, but needs one of the two */
	{ DISK "selector = round-robin\n",
	  "t.conf:1: [disk data0] has no portal or discovery (at least one is required)" },
	/* bytes: control characters are shown as '?', long values are cut */
	{ DISKP "p\x01rtal = x\n", "t.conf:4: unknown key 'p?rtal' in [disk data0]" },
	{ DISKP LONG64 LONG64 LONG64 " = 1\n",
	  "t.conf:4: unknown key '" LONG64 LONG64 "...' in [disk data0]" },
};

Test(config, every_error_message)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(err_cases); i++) {
		const struct err_case *t = &err_cases[i];
		struct mp_conf c;
		char err[1024] = "";
		int rc;

		mp_conf_init(&c);
		rc = parse(&c, t->text, err, sizeof(err));
		cr_expect_eq(rc, -1, "case %zu should fail: %s", i, t->text);
		cr_expect_str_eq(err, t->err, "case %zu:\n  got      %s\n  expected %s", i, err, t->err);
		/* On error nothing of the text is kept. */
		cr_expect_eq(c.n_disks, 0, "case %zu", i);
		cr_expect_null(c.disks, "case %zu", i);
		mp_conf_free(&c);
	}
}

Test(config, long_line_and_nul_byte)
{
	struct mp_conf c;
	char err[512] = "";
	size_t n = 4096 + 100;
	char *text = malloc(n);
	static const char nul[] = "[global]\nlog_level = info\0 x\n";

	cr_assert_not_null(text);
	mp_conf_init(&c);
	/* Exactly 4096 bytes is still a line (a long comment); 4097 is refused. */
	memset(text, ' ', n);
	memcpy(text, "[global]\n#", 10);
	text[9 + 4096] = '\n';
	cr_expect_eq(mp_conf_parse(&c, "t.conf", text, 9 + 4097, err, sizeof(err)), 0, "%s", err);
	text[9 + 4096] = ' ';
	text[9 + 4097] = '\n';
	cr_expect_eq(mp_conf_parse(&c, "t.conf", text, 9 + 4098, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:2: line is longer than 4096 bytes");
	/* Also without a final newline. */
	cr_expect_eq(mp_conf_parse(&c, "t.conf", text, n, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:2: line is longer than 4096 bytes");
	free(text);

	cr_expect_eq(mp_conf_parse(&c, "t.conf", nul, sizeof(nul) - 1, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:2: NUL byte in line");
	mp_conf_free(&c);
}

Test(config, too_many_disks)
{
	size_t n = (MP_CONF_MAX_DISKS + 1) * 128;
	char *text = malloc(n), *p = text;
	struct mp_conf c;
	char err[512] = "";

	cr_assert_not_null(text);
	for (int i = 0; i <= MP_CONF_MAX_DISKS; i++)
		p += sprintf(p, "[disk d%d]\ntarget = " IQN "\nlun = %d\nportal = 198.18.1.2\n", i, i);
	mp_conf_init(&c);
	cr_expect_eq(mp_conf_parse(&c, "t.conf", text, (size_t)(p - text), err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:4097: too many disks (max 1024)");
	/* One fewer is fine, and the array holds them all. */
	p = strstr(text, "[disk d1024]");
	cr_assert_not_null(p);
	cr_expect_eq(mp_conf_parse(&c, "t.conf", text, (size_t)(p - text), err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.n_disks, MP_CONF_MAX_DISKS);
	cr_expect_str_eq(c.disks[1023].name, "d1023");
	cr_expect_eq(c.disks[1023].lun, 1023);
	mp_conf_free(&c);
	free(text);
}

Test(config, failed_parse_keeps_previous_config)
{
	struct mp_conf c;
	char err[512] = "";

	mp_conf_init(&c);
	cr_assert_eq(mp_conf_add_url(&c, "iscsi://198.18.1.2/" IQN "/7", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(parse(&c, "[global]\nlog_level = debug\n", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(parse(&c, "[global]\nlog_level = err\n[disk x]\nlun = 1\n", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:3: [disk x] has no target");
	cr_expect_eq(c.log_level, MP_LOG_DEBUG);
	cr_assert_eq(c.n_disks, 1);
	cr_expect_str_eq(c.disks[0].name, "disk0");
	mp_conf_free(&c);
}

/* ---- mp_conf_load ---- */

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

Test(config, load_file)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[64], err[512] = "", want[512];
	static const char text[] = "[disk d]\ntarget = " IQN "\nportal = 198.18.1.2\nlun = x\n";
	struct mp_conf c;
	char *big;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mpiscsi.conf", dir);
	mp_conf_init(&c);

	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	cr_expect_eq(mp_conf_load(&c, path, err, sizeof(err)), -1);
	cr_expect_str_eq(err, want);

	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	cr_expect_eq(mp_conf_load(&c, dir, err, sizeof(err)), -1);
	cr_expect_str_eq(err, want);

	write_file(path, text, sizeof(text) - 1);
	snprintf(want, sizeof(want), "%s:4: lun: 'x' is not a number", path);
	cr_expect_eq(mp_conf_load(&c, path, err, sizeof(err)), -1);
	cr_expect_str_eq(err, want);

	write_file(path, text, sizeof(text) - 9);  /* without the bad "lun = x\n" */
	cr_expect_eq(mp_conf_load(&c, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.file, path);
	cr_expect_eq(c.n_disks, 1);
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);

	big = malloc(1024 * 1024 + 1);
	cr_assert_not_null(big);
	memset(big, '\n', 1024 * 1024 + 1);
	write_file(path, big, 1024 * 1024);
	cr_expect_eq(mp_conf_load(&c, path, err, sizeof(err)), 0, "%s", err);
	write_file(path, big, 1024 * 1024 + 1);
	snprintf(want, sizeof(want), "%s: file is larger than 1048576 bytes", path);
	cr_expect_eq(mp_conf_load(&c, path, err, sizeof(err)), -1);
	cr_expect_str_eq(err, want);
	free(big);

	unlink(path);
	rmdir(dir);
	mp_conf_free(&c);
}

/* The shipped example must stay valid; make runs the tests from the top of the tree. */
Test(config, example_file_is_valid)
{
	struct mp_conf c;
	char err[1024] = "";

	mp_conf_init(&c);
	cr_assert_eq(mp_conf_load(&c, "etc/mpiscsi.conf", err, sizeof(err)), 0,
		     "%s (run from the top of the source tree)", err);
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.n_disks, 3);
	cr_expect_str_eq(c.disks[0].name, "data0");
	cr_expect_eq(c.disks[0].n_portals, 2);
	cr_expect_eq(c.disks[0].n_interfaces, 2);
	cr_expect_eq(c.disks[0].lun_mode, MP_CONF_LUNS_ONE);
	cr_expect_eq(c.disks[2].lun_mode, MP_CONF_LUNS_ALL, "[disk bulk] takes every LUN");
	/* data0 spells out the multipath keys, logs leaves them out: both must be the defaults. */
	{
		const struct mp_conf_disk *x = &c.disks[0], *y = &c.disks[1];

		cr_expect_str_eq(x->selector, y->selector);
		cr_expect_eq(x->rr_min_io, y->rr_min_io);
		cr_expect_eq(x->failback, y->failback);
		cr_expect_eq(x->noop_interval_ms, y->noop_interval_ms);
		cr_expect_eq(x->noop_timeout_ms, y->noop_timeout_ms);
		cr_expect_eq(x->command_timeout_ms, y->command_timeout_ms);
		cr_expect_eq(x->login_timeout_ms, y->login_timeout_ms);
		cr_expect_eq(x->reconnect_max_ms, y->reconnect_max_ms);
		cr_expect_eq(x->marginal_flaps, y->marginal_flaps);
		cr_expect_eq(x->marginal_window_ms, y->marginal_window_ms);
		cr_expect_eq(x->marginal_hold_ms, y->marginal_hold_ms);
		cr_expect_eq(x->marginal_latency_factor, y->marginal_latency_factor);
		cr_expect_eq(x->n_prios, 0);
		cr_expect_eq(x->n_discovery, 0);
	}
	mp_conf_free(&c);
}

/* ---- mp_conf_validate on a configuration changed after parsing ---- */

Test(config, validate_reports_file_line)
{
	struct mp_conf c;
	char err[512] = "";

	mp_conf_init(&c);
	cr_assert_eq(parse(&c, "\n" DISKP, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);
	c.disks[0].n_portals = 0;
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:2: [disk data0] has no portal or discovery (at least one is "
			      "required)");
	mp_conf_free(&c);
}

Test(config, validate_checks_prio_targets)
{
	struct mp_conf c;
	char err[512] = "";

	mp_conf_init(&c);
	cr_assert_eq(parse(&c, DISKP "interface = veth1\n\nprio = veth1 80\nprio = 198.18.1.2 70\n",
			   err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);
	/* The rule is blamed at its own line, not at the [disk] header. */
	c.disks[0].n_interfaces = 0;
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:6: prio: 'veth1' is not an interface or portal of [disk data0]");
	c.disks[0].n_interfaces = 1;
	c.disks[0].portals[0].port = 3261;
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:7: prio: '198.18.1.2' is not an interface or portal of [disk data0]");
	/* Discovery alone is enough for a disk. */
	c.disks[0].portals[0].port = 3260;
	c.disks[0].n_prios = 0;
	c.disks[0].n_portals = 0;
	c.disks[0].n_discovery = 1;
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);
	mp_conf_free(&c);
}

/* ---- mp_conf_set: command-line overrides ---- */

Test(config, set_overrides)
{
	struct mp_conf c;
	char err[512] = "";

	mp_conf_init(&c);
	cr_expect_eq(mp_conf_set(&c, "global", "log_level", "debug", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.log_level, MP_LOG_DEBUG);
	cr_expect_eq(mp_conf_set(&c, "global", "initiator_name", "iqn.2026-11.test:cli", err,
				 sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.initiator_name, "iqn.2026-11.test:cli");
	cr_expect_eq(mp_conf_set(&c, "nbd", "listen", "unix:/tmp/x.sock", err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.nbd.listen[0], "unix:/tmp/x.sock");

	cr_expect_eq(mp_conf_set(&c, "global", "log_level", "chatty", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "log_level: 'chatty' is not one of err, warn, info, debug");
	cr_expect_eq(mp_conf_set(&c, "nbd", "listen", "tcp:198.18.0.1", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "listen: 'tcp:198.18.0.1': expected tcp:HOST:PORT");
	cr_expect_eq(mp_conf_set(&c, "global", "listen", "unix:/x", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "unknown key 'listen' in [global]");
	cr_expect_eq(mp_conf_set(&c, "disk", "lun", "1", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "unknown section [disk]");
	cr_expect_eq(mp_conf_set(&c, "global", "initiator_name", "", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "initiator_name: value is empty");
	/* Failed overrides leave the earlier values. */
	cr_expect_eq(c.log_level, MP_LOG_DEBUG);
	cr_expect_str_eq(c.nbd.listen[0], "unix:/tmp/x.sock");
	mp_conf_free(&c);
}

/* ---- iscsi:// URLs ---- */

struct url_case {
	const char *url;
	const char *host;
	uint16_t port;
	const char *target;
	uint32_t lun;
};

#define EVERY_LUN 99999u /* (a URL without a LUN) */
static const struct url_case good_urls[] = {
	{ "iscsi://198.18.1.2/" IQN "/1", "198.18.1.2", 3260, IQN, 1 },
	{ "iscsi://198.18.1.2:3261/" IQN "/0", "198.18.1.2", 3261, IQN, 0 },
	{ "iscsi://[2001:db8::1]:3262/" IQN "/16383", "2001:db8::1", 3262, IQN, 16383 },
	{ "iscsi://[2001:db8::1]/" IQN "/2", "2001:db8::1", 3260, IQN, 2 },
	{ "iscsi://target.example/" IQN, "target.example", 3260, IQN, EVERY_LUN },
	{ "iscsi://198.18.1.2/" IQN "/", "198.18.1.2", 3260, IQN, EVERY_LUN },
	{ "iscsi://198.18.1.2/eui.02004567A425678D/3", "198.18.1.2", 3260, "eui.02004567A425678D", 3 },
};

Test(config, url_good)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(good_urls); i++) {
		const struct url_case *t = &good_urls[i];
		struct mp_conf c;
		char err[512] = "";
		const struct mp_conf_disk *d;

		mp_conf_init(&c);
		cr_assert_eq(mp_conf_add_url(&c, t->url, err, sizeof(err)), 0, "%s: %s", t->url, err);
		cr_assert_eq(c.n_disks, 1);
		d = &c.disks[0];
		bool every = t->lun == EVERY_LUN;
		/* Every LUN: named after the target's tail, so names do not depend on URL order. */
		cr_expect_str_eq(d->name, every ? "tgt" : "disk0", "%s", t->url);
		cr_expect_str_eq(d->export_name, every ? "tgt" : "disk0", "%s", t->url);
		cr_expect_str_eq(d->target, t->target, "%s", t->url);
		cr_expect_eq(d->lun_mode, every ? MP_CONF_LUNS_ALL : MP_CONF_LUNS_ONE, "%s", t->url);
		if (!every)
			cr_expect_eq(d->lun, t->lun, "%s", t->url);
		cr_expect_eq(d->n_portals, 1, "%s", t->url);
		cr_expect_str_eq(d->portals[0].host, t->host, "%s", t->url);
		cr_expect_eq(d->portals[0].port, t->port, "%s", t->url);
		cr_expect_eq(d->no_path_retry_s, 30, "%s", t->url);
		cr_expect_eq(d->max_retries, 5, "%s", t->url);
		/* URL disks take the multipath defaults. */
		cr_expect_str_eq(d->selector, "service-time", "%s", t->url);
		cr_expect_eq(d->failback, MP_FAILBACK_IMMEDIATE, "%s", t->url);
		cr_expect_eq(d->noop_interval_ms, 500, "%s", t->url);
		cr_expect_eq(d->command_timeout_ms, 10000, "%s", t->url);
		cr_expect_eq(d->marginal_hold_ms, 30000, "%s", t->url);
		cr_expect_eq(d->n_prios, 0, "%s", t->url);
		cr_expect_eq(d->n_discovery, 0, "%s", t->url);
		cr_expect_eq(d->line, 0, "%s", t->url);
		cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s: %s", t->url, err);
		mp_conf_free(&c);
	}
}

Test(config, url_repeats_add_paths)
{
	struct mp_conf c;
	char err[512] = "";

	mp_conf_init(&c);
	cr_assert_eq(mp_conf_add_url(&c, "iscsi://198.18.1.2/" IQN "/0", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mp_conf_add_url(&c, "iscsi://198.18.2.2:3260/" IQN "/0", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mp_conf_add_url(&c, "iscsi://198.18.1.2/" IQN "/1", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mp_conf_add_url(&c, "iscsi://[2001:db8::2]/" IQN, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mp_conf_add_url(&c, "iscsi://198.18.2.2/" IQN "/", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.n_disks, 3);
	cr_expect_str_eq(c.disks[0].name, "disk0");
	cr_expect_eq(c.disks[0].lun, 0);
	cr_assert_eq(c.disks[0].n_portals, 2);
	cr_expect_str_eq(c.disks[0].portals[1].host, "198.18.2.2");
	/* Two URLs without a LUN: one every-LUN disk of the target with two portals. */
	cr_expect_str_eq(c.disks[2].name, "tgt");
	cr_expect_eq(c.disks[2].lun_mode, MP_CONF_LUNS_ALL);
	cr_assert_eq(c.disks[2].n_portals, 2);
	cr_expect_str_eq(c.disks[2].portals[0].host, "2001:db8::2");
	cr_expect_str_eq(c.disks[2].portals[1].host, "198.18.2.2");
	cr_expect_str_eq(c.disks[1].name, "disk1");
	cr_expect_eq(c.disks[1].lun, 1);
	cr_expect_eq(c.disks[1].n_portals, 1);

	/* The same portal twice is one path, not two. */
	cr_expect_eq(mp_conf_add_url(&c, "iscsi://198.18.2.2/" IQN "/0", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "'iscsi://198.18.2.2/" IQN "/0': portal is already a path of disk0");
	mp_conf_free(&c);
}

Test(config, url_too_many_portals)
{
	struct mp_conf c;
	char err[512] = "", url[128];

	mp_conf_init(&c);
	for (int i = 1; i <= MP_CONF_MAX_PORTALS; i++) {
		snprintf(url, sizeof(url), "iscsi://198.18.%d.2/" IQN "/0", i);
		cr_assert_eq(mp_conf_add_url(&c, url, err, sizeof(err)), 0, "%s", err);
	}
	cr_expect_eq(mp_conf_add_url(&c, "iscsi://198.18.17.2/" IQN "/0", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "'iscsi://198.18.17.2/" IQN "/0': too many portals for disk0 (max 16)");
	mp_conf_free(&c);
}

Test(config, url_names_avoid_file_disks)
{
	struct mp_conf c;
	char err[512] = "";

	mp_conf_init(&c);
	cr_assert_eq(parse(&c, "[disk disk0]\ntarget = " IQN "\nportal = 198.18.1.2\nlun = 0\n"
			       "[disk a]\ntarget = " IQN "\nlun = 1\nexport = disk1\nportal = 198.18.1.2\n",
			   err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mp_conf_add_url(&c, "iscsi://198.18.1.2/" IQN "/2", err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.disks[2].name, "disk2");
	cr_expect_str_eq(c.disks[2].export_name, "disk2");
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), 0, "%s", err);

	/* A URL for a LU that a [disk] section already has is a mistake, not an extra path. */
	cr_expect_eq(mp_conf_add_url(&c, "iscsi://198.18.2.2/" IQN "/1", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "'iscsi://198.18.2.2/" IQN "/1': target and LUN are already [disk a] (t.conf:5)");
	mp_conf_free(&c);
}

Test(config, file_after_url)
{
	struct mp_conf c;
	char err[512] = "";

	mp_conf_init(&c);
	cr_assert_eq(mp_conf_add_url(&c, "iscsi://198.18.1.2/" IQN "/0", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(parse(&c, "[disk disk0]\n", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:1: duplicate disk 'disk0' (already added from an iscsi:// URL)");
	cr_expect_eq(parse(&c, DISKP, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:1: [disk data0] takes LUNs of the same target as [disk disk0]");
	mp_conf_free(&c);
}

struct url_err {
	const char *url;
	const char *err;
};

static const struct url_err bad_urls[] = {
	{ "http://198.18.1.2/" IQN "/0",
	  "'http://198.18.1.2/" IQN "/0': not an iscsi:// URL (expected iscsi://HOST[:PORT]/IQN[/LUN])" },
	{ "198.18.1.2",
	  "'198.18.1.2': not an iscsi:// URL (expected iscsi://HOST[:PORT]/IQN[/LUN])" },
	{ "", "'': not an iscsi:// URL (expected iscsi://HOST[:PORT]/IQN[/LUN])" },
	{ "iscsi://", "'iscsi://': missing host" },
	{ "iscsi:///" IQN "/0", "'iscsi:///" IQN "/0': missing host" },
	{ "iscsi://198.18.1.2",
	  "'iscsi://198.18.1.2': missing target IQN (expected iscsi://HOST[:PORT]/IQN[/LUN])" },
	{ "iscsi://198.18.1.2/",
	  "'iscsi://198.18.1.2/': missing target IQN (expected iscsi://HOST[:PORT]/IQN[/LUN])" },
	{ "iscsi://198.18.1.2//0",
	  "'iscsi://198.18.1.2//0': missing target IQN (expected iscsi://HOST[:PORT]/IQN[/LUN])" },
	{ "iscsi://198.18.1.2/tgt1/0",
	  "'iscsi://198.18.1.2/tgt1/0': target: 'tgt1' must start with 'iqn.', 'eui.' or 'naa.'" },
	{ "iscsi://198.18.1.2/" IQN "/x", "'iscsi://198.18.1.2/" IQN "/x': LUN 'x' is not a number" },
	{ "iscsi://198.18.1.2/" IQN "/-1", "'iscsi://198.18.1.2/" IQN "/-1': LUN '-1' is not a number" },
	{ "iscsi://198.18.1.2/" IQN "/16384",
	  "'iscsi://198.18.1.2/" IQN "/16384': LUN '16384' is out of range (0-16383)" },
	{ "iscsi://198.18.1.2/" IQN "/0/x", "'iscsi://198.18.1.2/" IQN "/0/x': unexpected '/x' after the LUN" },
	{ "iscsi://198.18.1.2:0/" IQN "/0",
	  "'iscsi://198.18.1.2:0/" IQN "/0': port '0' is out of range (1-65535)" },
	{ "iscsi://198.18.1.2:x/" IQN "/0", "'iscsi://198.18.1.2:x/" IQN "/0': port 'x' is not a number" },
	{ "iscsi://198.18.1.2:/" IQN "/0", "'iscsi://198.18.1.2:/" IQN "/0': port '' is not a number" },
	{ "iscsi://2001:db8::1/" IQN "/0",
	  "'iscsi://2001:db8::1/" IQN "/0': an IPv6 address needs brackets, e.g. [2001:db8::1]:3260" },
	{ "iscsi://[2001:db8::1/" IQN "/0",
	  "'iscsi://[2001:db8::1/" IQN "/0': missing ']' after the IPv6 address" },
	{ "iscsi://[2001:db8::zz]/" IQN "/0",
	  "'iscsi://[2001:db8::zz]/" IQN "/0': '2001:db8::zz' is not a valid IPv6 address" },
	{ "iscsi://user%secret@198.18.1.2/" IQN "/0",
	  "'iscsi://user%secret@198.18.1.2/" IQN "/0': user names and passwords in the URL are not supported" },
	{ "iscsi://198.18.1.2/" IQN " /0",
	  "'iscsi://198.18.1.2/" IQN " /0': contains a space or control character" },
	{ "iscsi://198.18.1.2/" IQN "\n/0",
	  "'iscsi://198.18.1.2/" IQN "?/0': contains a space or control character" },
};

Test(config, url_errors)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(bad_urls); i++) {
		const struct url_err *t = &bad_urls[i];
		struct mp_conf c;
		char err[1024] = "";

		mp_conf_init(&c);
		cr_expect_eq(mp_conf_add_url(&c, t->url, err, sizeof(err)), -1, "case %zu", i);
		cr_expect_str_eq(err, t->err, "case %zu:\n  got      %s\n  expected %s", i, err, t->err);
		cr_expect_eq(c.n_disks, 0, "case %zu", i);
		mp_conf_free(&c);
	}
}

Test(config, url_too_long)
{
	size_t n = 4097;
	char *url = malloc(n + 1), want[512];
	struct mp_conf c;
	char err[512] = "";

	cr_assert_not_null(url);
	memset(url, 'a', n);
	memcpy(url, "iscsi://", 8);
	url[n] = '\0';
	/* The quoted URL is cut at 128 bytes. */
	snprintf(want, sizeof(want), "'%.128s...': URL is longer than 4096 bytes", url);
	mp_conf_init(&c);
	cr_expect_eq(mp_conf_add_url(&c, url, err, sizeof(err)), -1);
	cr_expect_str_eq(err, want);
	mp_conf_free(&c);
	free(url);
}
