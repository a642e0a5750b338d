/* Unit tests for tools/ctl/ctl_proto.c: table-driven request parsing and validation, reply building and parsing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/util.h"
#include "tools/ctl/ctl_proto.h"

/* ---- the command table ---- */

Test(ctl_cmds, table_is_consistent)
{
	for (int i = 0; i < MP_CTL_CMD__COUNT; i++) {
		const struct mp_ctl_cmd_spec *s = mp_ctl_cmd_spec((enum mp_ctl_cmd)i);
		cr_assert_not_null(s);
		cr_assert_not_null(s->name, "command %d has no name", i);
		cr_assert_eq((int)s->id, i, "row %d has id %d", i, (int)s->id);
		cr_assert_eq(mp_ctl_cmd_find(s->name), s, "%s not found by name", s->name);
		cr_assert_leq(s->n_args, MP_CTL_MAX_ARGS);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(mp_ctl_cmd_spec((enum mp_ctl_cmd)j)->name, s->name);
	}
	cr_assert_null(mp_ctl_cmd_spec(MP_CTL_CMD__COUNT));
	cr_assert_null(mp_ctl_cmd_find("show"));
}

Test(ctl_errno, codes_round_trip)
{
	static const int errs[] = { ENOENT, EINVAL, EBUSY, EBADMSG, EMSGSIZE, EPROTONOSUPPORT, ENOSYS, EPROTO,
				    EPERM, ENODEV, EALREADY };
	for (size_t i = 0; i < MP_ARRAY_SIZE(errs); i++)
		cr_assert_eq(mp_ctl_errno_from_code(mp_ctl_errno_code(errs[i])), errs[i]);
	cr_assert_str_eq(mp_ctl_errno_code(ENOENT), "ENOENT");
	cr_assert_str_eq(mp_ctl_errno_code(99999), "EIO");
	cr_assert_eq(mp_ctl_errno_from_code("ENOTACODE"), EIO);
}

/* ---- requests: table-driven ---- */

struct req_case {
	const char *what;
	const char *line;
	int err;                      /* 0: must parse */
	enum mp_ctl_cmd cmd;          /* when err == 0 */
	const char *int_arg;          /* when err == 0: an int argument to check, or NULL */
	int64_t int_val;
};

#define GOOD(w, l, c) { w, l, 0, c, NULL, 0 }
#define GOOD_INT(w, l, c, a, v) { w, l, 0, c, a, v }
#define BAD(w, l, e) { w, l, e, 0, NULL, 0 }

static const struct req_case req_cases[] = {
	/* good */
	GOOD("version", "{\"v\":1,\"cmd\":\"version\"}", MP_CTL_CMD_VERSION),
	GOOD("args null", "{\"v\":1,\"cmd\":\"show-paths\",\"args\":null}", MP_CTL_CMD_SHOW_PATHS),
	GOOD("args empty", "{\"v\":1,\"cmd\":\"show-disks\",\"args\":{}}", MP_CTL_CMD_SHOW_DISKS),
	GOOD("white space and CR", "  { \"cmd\" : \"show-topology\" , \"v\" : 1 } \t\r", MP_CTL_CMD_SHOW_TOPOLOGY),
	GOOD("unknown top-level member ignored", "{\"v\":1,\"cmd\":\"version\",\"tag\":[1,{\"a\":2}]}",
	     MP_CTL_CMD_VERSION),
	GOOD_INT("fail-path", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":3}}", MP_CTL_CMD_FAIL_PATH, "id", 3),
	GOOD_INT("fail-path id 0", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":0}}", MP_CTL_CMD_FAIL_PATH,
		 "id", 0),
	GOOD_INT("reinstate-path max id", "{\"v\":1,\"cmd\":\"reinstate-path\",\"args\":{\"id\":4294967295}}",
		 MP_CTL_CMD_REINSTATE_PATH, "id", 4294967295LL),
	GOOD_INT("switchgroup", "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"disk\":\"disk0\",\"prio\":50}}",
		 MP_CTL_CMD_SWITCHGROUP, "prio", 50),
	GOOD_INT("switchgroup negative prio",
		 "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"prio\":-2147483647,\"disk\":\"naa.6001\"}}",
		 MP_CTL_CMD_SWITCHGROUP, "prio", -2147483647LL),
	GOOD("show-maps", "{\"v\":1,\"cmd\":\"show-maps\"}", MP_CTL_CMD_SHOW_MAPS),
	GOOD("show-topology of one disk", "{\"v\":1,\"cmd\":\"show-topology\",\"args\":{\"disk\":\"disk0\"}}",
	     MP_CTL_CMD_SHOW_TOPOLOGY),
	GOOD("show-paths of one disk", "{\"v\":1,\"cmd\":\"show-paths\",\"args\":{\"disk\":\"naa.6001\"}}",
	     MP_CTL_CMD_SHOW_PATHS),
	GOOD("nesting at the limit", "{\"v\":1,\"cmd\":\"version\",\"x\":[[[[[[[1]]]]]]]}", MP_CTL_CMD_VERSION),
	GOOD("UTF-8 in an ignored member", "{\"v\":1,\"cmd\":\"version\",\"x\":\"gr\xc3\xbc\xc3\x9f\"}",
	     MP_CTL_CMD_VERSION),

	/* garbage */
	BAD("empty", "", EBADMSG),
	BAD("only blanks", "  \r", EBADMSG),
	BAD("text", "show paths", EBADMSG),
	BAD("half an object", "{\"v\":1,\"cmd\":", EBADMSG),
	BAD("unterminated string", "{\"v\":1,\"cmd\":\"vers", EBADMSG),
	BAD("array", "[1,2]", EBADMSG),
	BAD("null", "null", EBADMSG),
	BAD("number", "1", EBADMSG),
	BAD("string", "\"version\"", EBADMSG),
	BAD("trailing garbage", "{\"v\":1,\"cmd\":\"version\"} x", EBADMSG),
	BAD("two objects", "{\"v\":1,\"cmd\":\"version\"}{\"v\":1,\"cmd\":\"version\"}", EBADMSG),
	BAD("single quotes", "{'v':1,'cmd':'version'}", EBADMSG),
	BAD("trailing comma", "{\"v\":1,\"cmd\":\"version\",}", EBADMSG),
	BAD("comment", "{\"v\":1,/* hi */\"cmd\":\"version\"}", EBADMSG),
	BAD("invalid UTF-8", "{\"v\":1,\"cmd\":\"version\",\"x\":\"\xff\xfe\"}", EBADMSG),
	BAD("too deep", "{\"v\":1,\"cmd\":\"version\",\"x\":[[[[[[[[1]]]]]]]]}", EBADMSG),

	/* envelope */
	BAD("no version", "{\"cmd\":\"version\"}", EPROTO),
	BAD("version as string", "{\"v\":\"1\",\"cmd\":\"version\"}", EPROTO),
	BAD("version as double", "{\"v\":1.0,\"cmd\":\"version\"}", EPROTO),
	BAD("version null", "{\"v\":null,\"cmd\":\"version\"}", EPROTO),
	BAD("version 2", "{\"v\":2,\"cmd\":\"version\"}", EPROTONOSUPPORT),
	BAD("version 0", "{\"v\":0,\"cmd\":\"version\"}", EPROTONOSUPPORT),
	BAD("version -1", "{\"v\":-1,\"cmd\":\"version\"}", EPROTONOSUPPORT),
	BAD("version huge", "{\"v\":99999999999999999999999,\"cmd\":\"version\"}", EPROTO),
	BAD("no command", "{\"v\":1}", EPROTO),
	BAD("command not a string", "{\"v\":1,\"cmd\":7}", EPROTO),
	BAD("unknown command", "{\"v\":1,\"cmd\":\"format-disk\"}", ENOSYS),
	BAD("command case", "{\"v\":1,\"cmd\":\"Version\"}", ENOSYS),
	BAD("command with NUL", "{\"v\":1,\"cmd\":\"version\\u0000x\"}", ENOSYS),
	BAD("empty command", "{\"v\":1,\"cmd\":\"\"}", ENOSYS),

	/* arguments */
	BAD("args an array", "{\"v\":1,\"cmd\":\"version\",\"args\":[]}", EINVAL),
	BAD("args a string", "{\"v\":1,\"cmd\":\"version\",\"args\":\"id=3\"}", EINVAL),
	BAD("unknown argument", "{\"v\":1,\"cmd\":\"version\",\"args\":{\"verbose\":true}}", EINVAL),
	BAD("missing id", "{\"v\":1,\"cmd\":\"fail-path\"}", EINVAL),
	BAD("missing id, empty args", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{}}", EINVAL),
	BAD("id null", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":null}}", EINVAL),
	BAD("id as string", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":\"3\"}}", EINVAL),
	BAD("id fractional", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":1.5}}", EINVAL),
	BAD("id exponent", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":1e3}}", EINVAL),
	BAD("id boolean", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":true}}", EINVAL),
	BAD("id negative", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":-1}}", EINVAL),
	BAD("id too big", "{\"v\":1,\"cmd\":\"reinstate-path\",\"args\":{\"id\":4294967296}}", EINVAL),
	BAD("id beyond int64", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":18446744073709551615}}", EINVAL),
	BAD("id and a typo", "{\"v\":1,\"cmd\":\"fail-path\",\"args\":{\"id\":1,\"force\":true}}", EINVAL),
	BAD("show-paths disk a number", "{\"v\":1,\"cmd\":\"show-paths\",\"args\":{\"disk\":1}}", EINVAL),
	BAD("show-topology disk empty", "{\"v\":1,\"cmd\":\"show-topology\",\"args\":{\"disk\":\"\"}}", EINVAL),
	BAD("show-maps takes no disk", "{\"v\":1,\"cmd\":\"show-maps\",\"args\":{\"disk\":\"d\"}}", EINVAL),
	BAD("show-disks takes no disk", "{\"v\":1,\"cmd\":\"show-disks\",\"args\":{\"disk\":\"d\"}}", EINVAL),
	BAD("switchgroup no prio", "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"disk\":\"disk0\"}}", EINVAL),
	BAD("switchgroup no disk", "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"prio\":1}}", EINVAL),
	BAD("switchgroup disk empty", "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"disk\":\"\",\"prio\":1}}",
	    EINVAL),
	BAD("switchgroup disk number", "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"disk\":0,\"prio\":1}}",
	    EINVAL),
	BAD("switchgroup disk with NUL",
	    "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"disk\":\"d\\u0000x\",\"prio\":1}}", EINVAL),
	BAD("switchgroup prio INT32_MIN",
	    "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"disk\":\"d\",\"prio\":-2147483648}}", EINVAL),
	BAD("switchgroup prio too big",
	    "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"disk\":\"d\",\"prio\":2147483648}}", EINVAL),
};

Test(ctl_request, table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(req_cases); i++) {
		const struct req_case *tc = &req_cases[i];
		struct mp_ctl_request req;
		struct mp_ctl_error err = { 0 };
		int rc = mp_ctl_request_parse(tc->line, strlen(tc->line), &req, &err);
		if (tc->err == 0) {
			cr_assert_eq(rc, 0, "%s: refused: %s", tc->what, err.message);
			cr_assert_eq(req.spec->id, tc->cmd, "%s: wrong command %s", tc->what, req.spec->name);
			if (tc->int_arg) {
				int64_t v = -12345;
				cr_assert(mp_ctl_arg_int(&req, tc->int_arg, &v), "%s: no arg %s", tc->what, tc->int_arg);
				cr_assert_eq(v, tc->int_val, "%s: %s = %lld", tc->what, tc->int_arg, (long long)v);
			}
			mp_ctl_request_clear(&req);
		} else {
			cr_assert_eq(rc, -1, "%s: accepted", tc->what);
			cr_assert_eq(err.err, tc->err, "%s: error %s (%s), expected %s", tc->what,
				     mp_ctl_errno_code(err.err), err.message, mp_ctl_errno_code(tc->err));
			cr_assert_neq(err.message[0], '\0', "%s: no message", tc->what);
			cr_assert_null(req.spec);
			cr_assert_null(req.root);
		}
	}
}

Test(ctl_request, string_argument)
{
	static const char line[] = "{\"v\":1,\"cmd\":\"switchgroup\",\"args\":{\"disk\":\"disk0\",\"prio\":7}}";
	struct mp_ctl_request req;
	struct mp_ctl_error err;
	const char *s = NULL;
	bool b;
	int64_t v;
	cr_assert_eq(mp_ctl_request_parse(line, strlen(line), &req, &err), 0);
	cr_assert(mp_ctl_arg_string(&req, "disk", &s));
	cr_assert_str_eq(s, "disk0");
	cr_assert_not(mp_ctl_arg_string(&req, "prio", &s), "an int read as a string");
	cr_assert_not(mp_ctl_arg_int(&req, "disk", &v), "a string read as an int");
	cr_assert_not(mp_ctl_arg_bool(&req, "prio", &b));
	cr_assert_not(mp_ctl_arg_int(&req, "nothing", &v));
	mp_ctl_request_clear(&req);
	cr_assert_null(req.root);
}

Test(ctl_request, nul_byte_inside_the_line)
{
	static const char line[] = "{\"v\":1,\"cmd\":\"version\"}\0garbage";
	struct mp_ctl_request req;
	struct mp_ctl_error err;
	cr_assert_eq(mp_ctl_request_parse(line, sizeof(line) - 1, &req, &err), -1);
	cr_assert_eq(err.err, EBADMSG);
}

/* A valid version request padded with an ignored member to exactly len bytes. */
static char *padded_request(size_t len)
{
	static const char head[] = "{\"v\":1,\"cmd\":\"version\",\"pad\":\"";
	static const char tail[] = "\"}";
	char *s = malloc(len + 1);
	cr_assert_not_null(s);
	cr_assert_geq(len, sizeof(head) + sizeof(tail));
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, 'a', len - (sizeof(head) - 1) - (sizeof(tail) - 1));
	memcpy(s + len - (sizeof(tail) - 1), tail, sizeof(tail));
	cr_assert_eq(strlen(s), len);
	return s;
}

Test(ctl_request, size_bound)
{
	struct mp_ctl_request req;
	struct mp_ctl_error err;
	/* The longest line that fits MP_CTL_MAX_REQUEST with its newline. */
	char *s = padded_request(MP_CTL_MAX_REQUEST - 1);
	cr_assert_eq(mp_ctl_request_parse(s, MP_CTL_MAX_REQUEST - 1, &req, &err), 0, "%s", err.message);
	mp_ctl_request_clear(&req);
	free(s);
	s = padded_request(MP_CTL_MAX_REQUEST);
	cr_assert_eq(mp_ctl_request_parse(s, MP_CTL_MAX_REQUEST, &req, &err), -1);
	cr_assert_eq(err.err, EMSGSIZE);
	free(s);
	/* Far too long: refused by length before anything is parsed. */
	cr_assert_eq(mp_ctl_request_parse("x", (size_t)1 << 40, &req, &err), -1);
	cr_assert_eq(err.err, EMSGSIZE);
}

Test(ctl_request, deep_nesting_refused_without_recursion)
{
	static const size_t depths[] = { 9, 64, 20000 };
	for (size_t k = 0; k < MP_ARRAY_SIZE(depths); k++) {
		size_t d = depths[k];
		char *s = malloc(2 * d + 64);
		size_t n = (size_t)sprintf(s, "{\"v\":1,\"cmd\":\"version\",\"x\":");
		memset(s + n, '[', d);
		memset(s + n + d, ']', d);
		n += 2 * d;
		s[n++] = '}';
		struct mp_ctl_request req;
		struct mp_ctl_error err;
		cr_assert_eq(mp_ctl_request_parse(s, n, &req, &err), -1, "depth %zu accepted", d);
		cr_assert_eq(err.err, d + 1 > MP_CTL_MAX_REQUEST - 1 ? EMSGSIZE : EBADMSG, "depth %zu: %s", d,
			     err.message);
		free(s);
	}
}

Test(ctl_request, build_round_trip)
{
	json_object *args = json_object_new_object();
	json_object_object_add(args, "id", json_object_new_int64(42));
	char *line = mp_ctl_request_build("fail-path", args);
	cr_assert_not_null(line);
	size_t len = strlen(line);
	cr_assert_eq(line[len - 1], '\n', "no newline");
	cr_assert_null(memchr(line, '\n', len - 1), "newline inside the line");
	struct mp_ctl_request req;
	struct mp_ctl_error err;
	int64_t id = 0;
	cr_assert_eq(mp_ctl_request_parse(line, len - 1, &req, &err), 0, "%s", err.message);
	cr_assert_eq(req.spec->id, MP_CTL_CMD_FAIL_PATH);
	cr_assert(mp_ctl_arg_int(&req, "id", &id));
	cr_assert_eq(id, 42);
	mp_ctl_request_clear(&req);
	free(line);

	line = mp_ctl_request_build("version", NULL);
	cr_assert_not_null(line);
	cr_assert_eq(mp_ctl_request_parse(line, strlen(line) - 1, &req, &err), 0, "%s", err.message);
	mp_ctl_request_clear(&req);
	free(line);

	cr_assert_null(mp_ctl_request_build("no-such-command", json_object_new_object()));
}

/* ---- replies ---- */

Test(ctl_reply, ok_round_trip)
{
	json_object *data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string("disk0\nwith newline/and slash"));
	json_object_object_add(data, "big", json_object_new_uint64(18446744073709551615ULL));
	size_t len = 0;
	char *line = mp_ctl_reply_ok(data, &len);
	cr_assert_not_null(line);
	cr_assert_eq(len, strlen(line));
	cr_assert_eq(line[len - 1], '\n');
	cr_assert_null(memchr(line, '\n', len - 1), "reply spans lines: %s", line);
	cr_assert_not_null(strstr(line, "\"v\":1"));
	cr_assert_not_null(strstr(line, "\"ok\":true"));

	json_object *back = NULL;
	struct mp_ctl_error err = { 0 };
	cr_assert_eq(mp_ctl_reply_parse(line, len - 1, &back, &err), 0, "%s", err.message);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(back, "name")), "disk0\nwith newline/and slash");
	cr_assert_eq(json_object_get_uint64(json_object_object_get(back, "big")), 18446744073709551615ULL);
	json_object_put(back);
	free(line);

	line = mp_ctl_reply_ok(NULL, &len);
	cr_assert_str_eq(line, "{\"v\":1,\"ok\":true,\"data\":{}}\n");
	free(line);
}

Test(ctl_reply, error_round_trip)
{
	struct mp_ctl_error e, back = { 0 };
	mp_ctl_error_set(&e, ENOENT, "no path with id %d", 9);
	size_t len = 0;
	char *line = mp_ctl_reply_error(&e, &len);
	cr_assert_str_eq(line, "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"ENOENT\",\"message\":\"no path with id 9\"}}\n");
	json_object *data = (json_object *)1;
	cr_assert_eq(mp_ctl_reply_parse(line, len - 1, &data, &back), 1);
	cr_assert_null(data);
	cr_assert_eq(back.err, ENOENT);
	cr_assert_str_eq(back.message, "no path with id 9");
	free(line);
}

Test(ctl_reply, oversized_data_becomes_an_error)
{
	json_object *data = json_object_new_array();
	char chunk[1025];
	memset(chunk, 'x', sizeof(chunk) - 1);
	chunk[sizeof(chunk) - 1] = '\0';
	for (size_t i = 0; i < MP_CTL_MAX_REPLY / 1024 + 1; i++)
		json_object_array_add(data, json_object_new_string(chunk));
	size_t len = 0;
	char *line = mp_ctl_reply_ok(data, &len);
	cr_assert_not_null(line);
	cr_assert_lt(len, 1024);
	cr_assert_not_null(strstr(line, "\"EMSGSIZE\""), "%s", line);
	free(line);
}

struct reply_case {
	const char *what;
	const char *line;
	int rc;
	int err;
};

static const struct reply_case reply_cases[] = {
	{ "ok without data", "{\"v\":1,\"ok\":true}", 0, 0 },
	{ "ok with array data", "{\"v\":1,\"ok\":true,\"data\":[1,2]}", 0, 0 },
	{ "error", "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"EBUSY\",\"message\":\"busy\"}}", 1, EBUSY },
	{ "error, unknown code", "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"EWHATEVER\"}}", 1, EIO },
	{ "error without code", "{\"v\":1,\"ok\":false,\"error\":{\"message\":\"x\"}}", -1, EPROTO },
	{ "error not an object", "{\"v\":1,\"ok\":false,\"error\":\"x\"}", -1, EPROTO },
	{ "no ok", "{\"v\":1,\"data\":{}}", -1, EPROTO },
	{ "ok not boolean", "{\"v\":1,\"ok\":1}", -1, EPROTO },
	{ "no version", "{\"ok\":true}", -1, EPROTO },
	{ "version 2", "{\"v\":2,\"ok\":true}", -1, EPROTONOSUPPORT },
	{ "garbage", "HTTP/1.1 400 Bad Request", -1, EBADMSG },
	{ "not an object", "[true]", -1, EBADMSG },
};

Test(ctl_reply, parse_table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(reply_cases); i++) {
		const struct reply_case *tc = &reply_cases[i];
		json_object *data = NULL;
		struct mp_ctl_error err = { 0 };
		int rc = mp_ctl_reply_parse(tc->line, strlen(tc->line), &data, &err);
		cr_assert_eq(rc, tc->rc, "%s: rc %d (%s)", tc->what, rc, err.message);
		if (rc == 0) {
			cr_assert_not_null(data, "%s", tc->what);
			json_object_put(data);
		} else {
			cr_assert_null(data, "%s", tc->what);
			cr_assert_eq(err.err, tc->err, "%s: %s", tc->what, mp_ctl_errno_code(err.err));
		}
	}
}

/* Found by fuzz_ctl: a quoted name cut inside a UTF-8 character made the reply invalid UTF-8. */
Test(ctl_proto, error_messages_stay_valid_utf8_when_input_is_cut)
{
	struct mp_ctl_error e;
	/* "x\xc3\xa9y" cut after 2 bytes leaves a lone lead byte before the closing quote. */
	mp_ctl_error_set(&e, ENOSYS, "unknown command '%.2s'", "x\xc3\xa9y");
	cr_assert_str_eq(e.message, "unknown command 'x?'");
	mp_ctl_error_set(&e, EINVAL, "%s", "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82 bad \xe2\x82 \x80 \xc0\xaf");
	cr_assert_str_eq(e.message, "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82 bad ?? ? ??");
}

/* ---- path group status and map state (mpiscsiadm(8), show topology / show maps) ---- */

Test(ctl_status, group_status_like_multipathd)
{
	/* Only the group that takes I/O is active, and only while it has a usable path. */
	cr_assert_str_eq(mp_ctl_group_status(true, 2, 2), "active");
	cr_assert_str_eq(mp_ctl_group_status(true, 1, 2), "active");
	cr_assert_str_eq(mp_ctl_group_status(false, 1, 1), "enabled");
	/* No usable path: never active, whatever the core last picked. */
	cr_assert_str_eq(mp_ctl_group_status(true, 0, 0), "failed");
	cr_assert_str_eq(mp_ctl_group_status(false, 0, 0), "failed");
	/* Logged in but kept out of I/O (ALUA standby, operator, marginal). */
	cr_assert_str_eq(mp_ctl_group_status(true, 0, 1), "disabled");
	cr_assert_str_eq(mp_ctl_group_status(false, 0, 2), "disabled");
}

Test(ctl_status, map_state)
{
	cr_assert_str_eq(mp_ctl_map_state(false, 2, 0, 0), "attaching");
	cr_assert_str_eq(mp_ctl_map_state(false, 2, 2, 2), "attaching");
	cr_assert_str_eq(mp_ctl_map_state(true, 2, 2, 2), "ok");
	/* ALUA standby paths are up but not usable: still ok. */
	cr_assert_str_eq(mp_ctl_map_state(true, 2, 2, 1), "ok");
	cr_assert_str_eq(mp_ctl_map_state(true, 2, 1, 1), "degraded");
	cr_assert_str_eq(mp_ctl_map_state(true, 2, 1, 0), "no-path");
	cr_assert_str_eq(mp_ctl_map_state(true, 2, 0, 0), "no-path");
	cr_assert_str_eq(mp_ctl_map_state(true, 0, 0, 0), "no-path");
}
