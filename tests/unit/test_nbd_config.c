/* Unit tests for the [nbd] section of the daemon's configuration (tools/mpiscsid/config_nbd.c): listeners, TLS keys, checks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tools/mpiscsid/config.h"

#define IQN "iqn.2026-11.test.mpiscsi:t1"
#define DISK "[disk d0]\ntarget = " IQN "\nportal = 198.18.1.2\n"  /* 3 lines */

/* Parse (with a disk appended) and validate, as the daemon does. */
static int load(struct mp_conf *c, const char *nbd, char *err, size_t n)
{
	char text[4096];

	snprintf(text, sizeof(text), DISK "%s", nbd);
	mp_conf_init(c);
	if (mp_conf_parse(c, "t.conf", text, strlen(text), err, n) < 0)
		return -1;
	return mp_conf_validate(c, err, n);
}

Test(nbd_config, defaults)
{
	struct mp_conf c;
	char err[512] = "";

	cr_assert_eq(load(&c, "", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.nbd.n_listen, 1);
	cr_expect_str_eq(c.nbd.listen[0], "unix:/run/mpiscsi/nbd.sock");
	cr_expect_eq(c.nbd.tls, MP_CONF_TLS_AUTO);
	cr_expect_eq(mp_conf_tls_mode(&c), MP_CONF_TLS_OFF);
	cr_expect_eq(mp_conf_listen_tls(&c, 0), MP_CONF_LISTEN_PLAIN);
	cr_expect_eq(c.nbd.insecure, false);
	mp_conf_free(&c);
}

Test(nbd_config, every_key_and_policies)
{
	struct mp_conf c;
	char err[512] = "";

	cr_assert_eq(load(&c,
			  "[nbd]\n"
			  "listen = unix:/run/a.sock\n"
			  "listen = tcp:127.0.0.1:10809\n"
			  "listen = tcp:[::]:10809\n"
			  "tls_cert = /etc/mpiscsi/server-cert.pem\n"
			  "tls_key = /etc/mpiscsi/server-key.pem\n"
			  "tls_ca = /etc/mpiscsi/ca-cert.pem\n"
			  "tls_psk_file = /etc/mpiscsi/keys.psk\n",
			  err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.nbd.n_listen, 3);
	cr_expect_str_eq(c.nbd.listen[0], "unix:/run/a.sock");
	cr_expect_str_eq(c.nbd.listen[1], "tcp:127.0.0.1:10809");
	cr_expect_str_eq(c.nbd.listen[2], "tcp:[::]:10809");
	cr_expect_eq(c.nbd.listen_line[1], 6);
	cr_expect_str_eq(c.nbd.tls_cert, "/etc/mpiscsi/server-cert.pem");
	cr_expect_str_eq(c.nbd.tls_key, "/etc/mpiscsi/server-key.pem");
	cr_expect_str_eq(c.nbd.tls_ca, "/etc/mpiscsi/ca-cert.pem");
	cr_expect_str_eq(c.nbd.tls_psk_file, "/etc/mpiscsi/keys.psk");
	/* tls not set, credentials set: on; Unix optional, TCP required. */
	cr_expect_eq(mp_conf_tls_mode(&c), MP_CONF_TLS_ON);
	cr_expect_eq(mp_conf_listen_tls(&c, 0), MP_CONF_LISTEN_TLS_OPTIONAL);
	cr_expect_eq(mp_conf_listen_tls(&c, 1), MP_CONF_LISTEN_TLS_REQUIRED);
	cr_expect_eq(mp_conf_listen_tls(&c, 2), MP_CONF_LISTEN_TLS_REQUIRED);
	c.nbd.tls = MP_CONF_TLS_REQUIRE;
	cr_expect_eq(mp_conf_listen_tls(&c, 0), MP_CONF_LISTEN_TLS_REQUIRED);
	c.nbd.tls = MP_CONF_TLS_OFF;
	cr_expect_eq(mp_conf_listen_tls(&c, 0), MP_CONF_LISTEN_PLAIN);
	cr_expect_eq(mp_conf_listen_tls(&c, 1), MP_CONF_LISTEN_PLAIN);
	mp_conf_free(&c);
}

Test(nbd_config, insecure_loopback)
{
	struct mp_conf c;
	char err[512] = "";

	/* Plain TCP for tests: only with insecure = yes, only on loopback. */
	cr_assert_eq(load(&c, "[nbd]\nlisten = tcp:127.0.0.1:10809\nlisten = tcp:[::1]:10809\ninsecure = yes\n",
			  err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(mp_conf_listen_tls(&c, 0), MP_CONF_LISTEN_PLAIN);
	mp_conf_free(&c);
	/* insecure with TLS on: TCP clients may choose. */
	cr_assert_eq(load(&c, "[nbd]\nlisten = tcp:127.0.0.1:10809\ninsecure = yes\ntls_psk_file = /k.psk\n",
			  err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(mp_conf_listen_tls(&c, 0), MP_CONF_LISTEN_TLS_OPTIONAL);
	mp_conf_free(&c);
}

struct bad_case {
	const char *nbd;
	const char *err;
};

/* Line numbers: the disk takes lines 1-3, [nbd] is line 4. */
static const struct bad_case bad[] = {
	{ "[nbd]\nlisten = tcp:127.0.0.1:10809\n",
	  "t.conf:5: listen: 'tcp:127.0.0.1:10809' needs TLS: set tls_cert and tls_key, or tls_psk_file "
	  "(plain TCP only with insecure = yes, on a loopback address)" },
	{ "[nbd]\nlisten = tcp:198.18.0.1:10809\ntls = off\ntls_psk_file = /k.psk\n",
	  "t.conf:5: listen: 'tcp:198.18.0.1:10809' needs TLS: set tls_cert and tls_key, or tls_psk_file "
	  "(plain TCP only with insecure = yes, on a loopback address)" },
	{ "[nbd]\nlisten = tcp:198.18.0.1:10809\ninsecure = yes\n",
	  "t.conf:6: insecure = yes, but listen 'tcp:198.18.0.1:10809' is not a loopback address "
	  "(127.0.0.0/8 or [::1]): plain NBD over a network is refused" },
	{ "[nbd]\ninsecure = yes\nlisten = tcp:0.0.0.0:10809\ntls_psk_file = /k.psk\n",
	  "t.conf:5: insecure = yes, but listen 'tcp:0.0.0.0:10809' is not a loopback address "
	  "(127.0.0.0/8 or [::1]): plain NBD over a network is refused" },
	{ "[nbd]\ntls_cert = /c.pem\n", "t.conf:5: tls_cert is set but tls_key is not: both are needed" },
	{ "[nbd]\n\ntls_key = /k.pem\n", "t.conf:6: tls_key is set but tls_cert is not: both are needed" },
	{ "[nbd]\ntls_psk_file = /k.psk\ntls_ca = /ca.pem\n",
	  "t.conf:6: tls_ca (client certificates) needs tls_cert and tls_key" },
	{ "[nbd]\ntls = require\n", "t.conf:5: tls = require needs tls_cert and tls_key, or tls_psk_file" },
	{ "[nbd]\ntls = on\n", "t.conf:5: tls = on needs tls_cert and tls_key, or tls_psk_file" },
	/* Caught by the parser. */
	{ "[nbd]\ntls = yes\n", "t.conf:5: tls: 'yes' is not 'off', 'on' or 'require'" },
	{ "[nbd]\ninsecure = maybe\n", "t.conf:5: insecure: 'maybe' is not 'yes' or 'no'" },
	{ "[nbd]\ntls_cert = etc/c.pem\n", "t.conf:5: tls_cert: 'etc/c.pem' needs an absolute path" },
	{ "[nbd]\ntls_psk_file = keys.psk\n", "t.conf:5: tls_psk_file: 'keys.psk' needs an absolute path" },
	{ "[nbd]\ntls = on\ntls = off\n", "t.conf:6: duplicate key 'tls' (first set at line 5)" },
	{ "[nbd]\nlisten = unix:/a\nlisten = unix:/a\n", "t.conf:6: listen: 'unix:/a' is listed twice" },
	{ "[nbd]\nlisten = tcp:[::1]:0\n", "t.conf:5: listen: 'tcp:[::1]:0': port must be a number from 1 to 65535" },
	{ "[nbd]\nmax_handshakes = 0\n", "t.conf:5: max_handshakes: '0' is out of range (1-65536)" },
	{ "[nbd]\nmax_handshakes = 65537\n", "t.conf:5: max_handshakes: '65537' is out of range (1-65536)" },
	{ "[nbd]\nhandshake_timeout = 50ms\n", "t.conf:5: handshake_timeout: '50ms' is out of range (100ms-600s)" },
	{ "[nbd]\nhandshake_timeout = 601\n", "t.conf:5: handshake_timeout: '601' is out of range (100ms-600s)" },
	{ "[nbd]\nhandshake_timeout = 0\n", "t.conf:5: handshake_timeout: '0' is out of range (100ms-600s)" },
	{ "[nbd]\nhandshake_timeout = soon\n",
	  "t.conf:5: handshake_timeout: 'soon' is not a time (use e.g. 2, 1.5, 500ms)" },
	{ "[nbd]\nlisten=unix:/1\nlisten=unix:/2\nlisten=unix:/3\nlisten=unix:/4\nlisten=unix:/5\n"
	  "listen=unix:/6\nlisten=unix:/7\nlisten=unix:/8\nlisten=unix:/9\n",
	  "t.conf:13: too many listen addresses (max 8)" },
};

Test(nbd_config, bad)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mp_conf c;
		char err[512] = "";
		cr_expect_eq(load(&c, bad[i].nbd, err, sizeof(err)), -1, "case %zu accepted", i);
		cr_expect_str_eq(err, bad[i].err, "case %zu", i);
		mp_conf_free(&c);
	}
}

Test(nbd_config, command_line_listen_replaces_the_files)
{
	struct mp_conf c;
	char err[512] = "";

	cr_assert_eq(load(&c, "[nbd]\nlisten = unix:/a\nlisten = unix:/b\n", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.nbd.n_listen, 2);
	cr_expect_eq(mp_conf_set(&c, "nbd", "listen", "tcp:127.0.0.1:1", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.nbd.n_listen, 1);
	cr_expect_str_eq(c.nbd.listen[0], "tcp:127.0.0.1:1");
	/* Without TLS the check now refuses it, and names no line: it came from the command line. */
	cr_expect_eq(mp_conf_validate(&c, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "listen: 'tcp:127.0.0.1:1' needs TLS: set tls_cert and tls_key, or "
			      "tls_psk_file (plain TCP only with insecure = yes, on a loopback address)");
	/* A refused override changes nothing. */
	cr_expect_eq(mp_conf_set(&c, "nbd", "listen", "tcp:1.2.3.4", err, sizeof(err)), -1);
	cr_expect_str_eq(c.nbd.listen[0], "tcp:127.0.0.1:1");
	cr_expect_eq(mp_conf_set(&c, "nbd", "tls", "require", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.nbd.tls, MP_CONF_TLS_REQUIRE);
	mp_conf_free(&c);
}

Test(nbd_config, same)
{
	struct mp_conf a, b;
	char err[512] = "";

	cr_assert_eq(load(&a, "[nbd]\nlisten = unix:/a\ntls_psk_file = /k\n", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(load(&b, "[nbd]\nlisten = unix:/a\ntls_psk_file = /k\n", err, sizeof(err)), 0, "%s", err);
	cr_expect(mp_conf_nbd_same(&a, &b));
	snprintf(b.nbd.tls_psk_file, sizeof(b.nbd.tls_psk_file), "/k2");
	cr_expect_not(mp_conf_nbd_same(&a, &b));
	mp_conf_free(&a);
	mp_conf_free(&b);
}

Test(nbd_config, print_shows_paths_and_policies)
{
	struct mp_conf c;
	char err[512] = "", *text = NULL;
	size_t len = 0;

	cr_assert_eq(load(&c,
			  "[nbd]\nlisten = unix:/run/a.sock\nlisten = tcp:127.0.0.1:10809\n"
			  "tls_cert = /c.pem\ntls_key = /k.pem\ntls_ca = /ca.pem\ntls_psk_file = /keys.psk\n",
			  err, sizeof(err)), 0, "%s", err);
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	mp_conf_print_nbd(f, &c);
	fclose(f);
	cr_expect_str_eq(text,
			 "\n[nbd]\n"
			 "listen = unix:/run/a.sock  # TLS optional\n"
			 "listen = tcp:127.0.0.1:10809  # TLS required\n"
			 "tls = on  # default\n"
			 "tls_cert = /c.pem\n"
			 "tls_key = /k.pem\n"
			 "tls_ca = /ca.pem  # client certificates required\n"
			 "tls_psk_file = /keys.psk\n"
			 "insecure = no\n"
			 "max_clients = 256\nmax_handshakes = 32\nhandshake_timeout = 10\n"
			 "max_inflight = 256\nmax_inflight_mib = 128\nmax_request_kib = 32768\n");
	/* What was printed reads back as the same section. */
	struct mp_conf again;
	char full[2048];
	snprintf(full, sizeof(full), DISK "%s", text);
	mp_conf_init(&again);
	cr_expect_eq(mp_conf_parse(&again, "p.conf", full, strlen(full), err, sizeof(err)), 0, "%s", err);
	cr_expect(mp_conf_nbd_same(&c, &again));
	cr_expect_eq(again.nbd.max_handshakes, 32);
	cr_expect_eq(again.nbd.handshake_timeout_ms, 10000);
	mp_conf_free(&again);
	free(text);
	mp_conf_free(&c);
}

/* The pending-handshake budget and deadline ([nbd]) and the control socket's pending budget
 * ([global]): defaults, bounds, time units, and the printed form reads back. */
Test(nbd_config, handshake_budget_keys)
{
	struct mp_conf c;
	char err[512] = "";

	cr_assert_eq(load(&c, "", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.nbd.max_handshakes, 32);
	cr_expect_eq(c.nbd.handshake_timeout_ms, 10000);
	cr_expect_eq(c.control_max_pending, 8);
	mp_conf_free(&c);

	static const struct { const char *text; uint32_t hs, to_ms, pend; } good[] = {
		{ "[nbd]\nmax_handshakes = 1\nhandshake_timeout = 100ms\n", 1, 100, 8 },
		{ "[nbd]\nmax_handshakes = 65536\nhandshake_timeout = 600\n", 65536, 600000, 8 },
		{ "[nbd]\nhandshake_timeout = 2.5\n", 32, 2500, 8 },
		{ "[nbd]\nhandshake_timeout = 3s\n", 32, 3000, 8 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(load(&c, good[i].text, err, sizeof(err)), 0, "case %zu: %s", i, err);
		cr_expect_eq(c.nbd.max_handshakes, good[i].hs, "case %zu", i);
		cr_expect_eq(c.nbd.handshake_timeout_ms, good[i].to_ms, "case %zu", i);
		mp_conf_free(&c);
	}
	/* [global] comes before the disk in a file; parse it without load()'s prefix. */
	const char *g = "[global]\ncontrol_max_pending = 3\n" DISK;
	mp_conf_init(&c);
	cr_assert_eq(mp_conf_parse(&c, "g.conf", g, strlen(g), err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c.control_max_pending, 3);
	mp_conf_free(&c);
	const char *gbad = "[global]\ncontrol_max_pending = 0\n" DISK;
	mp_conf_init(&c);
	cr_expect_eq(mp_conf_parse(&c, "g.conf", gbad, strlen(gbad), err, sizeof(err)), -1);
	cr_expect(strstr(err, "g.conf:2: control_max_pending") != NULL, "%s", err);
	mp_conf_free(&c);

	/* A value in ms is printed in ms and reads back. */
	char *text = NULL;
	size_t len = 0;
	cr_assert_eq(load(&c, "[nbd]\nhandshake_timeout = 1500ms\nmax_handshakes = 7\n", err, sizeof(err)), 0, "%s", err);
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	mp_conf_print_nbd(f, &c);
	fclose(f);
	cr_expect(strstr(text, "\nmax_handshakes = 7\nhandshake_timeout = 1500ms\n") != NULL, "%s", text);
	free(text);
	mp_conf_free(&c);
}
