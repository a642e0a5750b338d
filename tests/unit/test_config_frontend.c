/* Unit tests for the front-end keys of a [disk] (tools/mpiscsid/config_frontend.c): values, defaults, the auto timeout, errors word for word. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mpiscsid/config.h"

#define DISK "[disk d0]\ntarget = iqn.2026-11.test.mpiscsi:tgt\nportal = 198.18.1.2\n"

static int parse(struct mp_conf *c, const char *text, char *err, size_t errlen)
{
	mp_conf_init(c);
	return mp_conf_parse(c, "t.conf", text, strlen(text), err, errlen);
}

Test(config_frontend, defaults_socket_only)
{
	struct mp_conf c;
	char err[512] = "";
	cr_assert_eq(parse(&c, DISK, err, sizeof(err)), 0, "%s", err);
	const struct mp_conf_disk *d = &c.disks[0];
	int idx = 5;
	cr_assert(mp_conf_has_frontend(d, "socket", &idx));
	cr_assert_eq(idx, -1);
	cr_assert_not(mp_conf_has_frontend(d, "nbd-device", NULL));
	cr_assert_eq(d->nbd_connections, 2);
	cr_assert_eq(d->nbd_dead_timeout_ms, 60000);
	/* auto: no_path_retry 30 + command_timeout 10 + 30 */
	cr_assert_eq(mp_conf_nbd_timeout_s(d), 70);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	mp_conf_print_frontends(f, d);
	fclose(f);
	cr_assert_str_eq(text, "", "the default prints nothing (configs read back as before)");
	free(text);
	mp_conf_free(&c);
}

Test(config_frontend, several_frontends_and_settings)
{
	struct mp_conf c;
	char err[512] = "";
	cr_assert_eq(parse(&c, DISK "frontend = socket\nfrontend = nbd-device:/dev/nbd3\nnbd_connections = 4\n"
			   "nbd_timeout = 20\nnbd_dead_timeout = 0\nno_path_retry = queue\n", err, sizeof(err)), 0, "%s", err);
	const struct mp_conf_disk *d = &c.disks[0];
	int idx = -1;
	cr_assert(mp_conf_has_frontend(d, "socket", NULL));
	cr_assert(mp_conf_has_frontend(d, "nbd-device", &idx));
	cr_assert_eq(idx, 3);
	cr_assert_eq(d->nbd_connections, 4);
	cr_assert_eq(mp_conf_nbd_timeout_s(d), 20);
	cr_assert_eq(d->nbd_dead_timeout_ms, 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	mp_conf_print_frontends(f, d);
	fclose(f);
	cr_assert_str_eq(text, "frontend = socket\nfrontend = nbd-device:/dev/nbd3\nnbd_connections = 4\n"
			       "nbd_timeout = 20\nnbd_dead_timeout = 0\n");
	free(text);
	mp_conf_free(&c);
}

Test(config_frontend, nbd_device_only_and_auto_for_queue)
{
	struct mp_conf c;
	char err[512] = "";
	cr_assert_eq(parse(&c, DISK "frontend = nbd-device\nno_path_retry = queue\n", err, sizeof(err)), 0, "%s", err);
	const struct mp_conf_disk *d = &c.disks[0];
	int idx = 7;
	cr_assert_not(mp_conf_has_frontend(d, "socket", NULL), "listing a front end replaces the default");
	cr_assert(mp_conf_has_frontend(d, "nbd-device", &idx));
	cr_assert_eq(idx, -1);
	cr_assert_eq(mp_conf_nbd_timeout_s(d), 86400, "queue forever: the kernel's timeout is a day");
	mp_conf_free(&c);
}

static void expect_error(const char *extra, const char *want)
{
	struct mp_conf c;
	char err[512] = "", text[1024];
	snprintf(text, sizeof(text), DISK "%s", extra);
	cr_assert_eq(parse(&c, text, err, sizeof(err)), -1, "accepted: %s", extra);
	cr_assert_str_eq(err, want);
	mp_conf_free(&c);
}

Test(config_frontend, errors_name_file_and_line)
{
	expect_error("frontend = tcmu\n",
		     "t.conf:4: frontend: 'tcmu' is not 'socket', 'nbd-device' or 'nbd-device:/dev/nbdN'");
	expect_error("frontend = socket:/dev/nbd0\n", "t.conf:4: frontend: 'socket:/dev/nbd0': only nbd-device takes a device");
	expect_error("frontend = nbd-device:/dev/sda\n",
		     "t.conf:4: frontend: 'nbd-device:/dev/sda': the device must be /dev/nbdN (N a number)");
	expect_error("frontend = nbd-device:/dev/nbd\n",
		     "t.conf:4: frontend: 'nbd-device:/dev/nbd': the device must be /dev/nbdN (N a number)");
	expect_error("frontend = nbd-device\nfrontend = nbd-device:/dev/nbd1\n",
		     "t.conf:5: frontend: 'nbd-device:/dev/nbd1': [disk d0] already has a nbd-device front end (first at line 4)");
	expect_error("nbd_connections = 0\n", "t.conf:4: nbd_connections: '0' is out of range (1-16)");
	expect_error("nbd_connections = 17\n", "t.conf:4: nbd_connections: '17' is out of range (1-16)");
	expect_error("nbd_timeout = 0\n", "t.conf:4: nbd_timeout: '0' is out of range (1s-86400s)");
	expect_error("nbd_timeout = 1.5\n", "t.conf:4: nbd_timeout: '1.5' is not a whole number of seconds");
	expect_error("nbd_dead_timeout = never\n", "t.conf:4: nbd_dead_timeout: 'never' is not a time (use e.g. 2, 1.5, 500ms)");
}
