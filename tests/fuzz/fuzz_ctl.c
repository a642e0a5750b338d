/* libFuzzer target: control protocol lines through mp_ctl_request_parse() and mp_ctl_reply_parse(), with round trips. */
#include <errno.h>
#include <string.h>

#include "tools/ctl/ctl_proto.h"
#include "tests/fuzz/fuzz_common.h"

static void check_error(const struct mp_ctl_error *e)
{
	FUZZ_CHECK(e->err > 0);
	FUZZ_CHECK(fuzz_terminated(e->message, sizeof(e->message)));
}

/* Strip the newline a builder appends; the parsers take a line without it. */
static size_t line_len(const char *s)
{
	size_t n = strlen(s);
	FUZZ_CHECK(n > 0 && s[n - 1] == '\n');
	return n - 1;
}

/*
 * Whatever error the daemon reports, the reply it builds must be a valid
 * reply line for the client, with the same code and message.
 */
static void check_error_reply(const struct mp_ctl_error *e)
{
	size_t len = 0;
	char *line = mp_ctl_reply_error(e, &len);
	FUZZ_CHECK(line && len == strlen(line));
	json_object *data = (json_object *)1;
	struct mp_ctl_error back;
	memset(&back, 0, sizeof(back));
	int rc = mp_ctl_reply_parse(line, line_len(line), &data, &back);
	if (rc != 1)
		fprintf(stderr, "error reply does not parse back (rc %d, %s: %s): %s", rc,
			mp_ctl_errno_code(back.err), back.message, line);
	FUZZ_CHECK(rc == 1);
	FUZZ_CHECK(data == NULL);
	FUZZ_CHECK(strcmp(mp_ctl_errno_code(back.err), mp_ctl_errno_code(e->err)) == 0);
	FUZZ_CHECK(strcmp(back.message, e->message) == 0);
	free(line);
}

static void request(const char *line, size_t len)
{
	struct mp_ctl_request req;
	struct mp_ctl_error err;

	memset(&req, 0xa5, sizeof(req));
	memset(&err, 0, sizeof(err));
	if (mp_ctl_request_parse(line, len, &req, &err) < 0) {
		check_error(&err);
		FUZZ_CHECK(err.err == EBADMSG || err.err == EMSGSIZE || err.err == EPROTONOSUPPORT ||
			   err.err == EPROTO || err.err == ENOSYS || err.err == EINVAL || err.err == ENOMEM);
		FUZZ_CHECK(req.spec == NULL && req.root == NULL && req.args == NULL);
		check_error_reply(&err);
		return;
	}
	FUZZ_CHECK(req.spec && req.root);
	FUZZ_CHECK(req.spec == mp_ctl_cmd_find(req.spec->name));
	FUZZ_CHECK(req.spec == mp_ctl_cmd_spec(req.spec->id));
	FUZZ_CHECK(!req.args || json_object_is_type(req.args, json_type_object));

	/* Every required argument is there with its type; integers are in range. */
	for (size_t i = 0; i < req.spec->n_args; i++) {
		const struct mp_ctl_arg_spec *a = &req.spec->args[i];
		int64_t n;
		const char *s;
		bool b;
		bool have = false;
		switch (a->type) {
		case MP_CTL_ARG_INT:
			have = mp_ctl_arg_int(&req, a->name, &n);
			if (have)
				FUZZ_CHECK(n >= a->min && n <= a->max);
			break;
		case MP_CTL_ARG_STRING:
			have = mp_ctl_arg_string(&req, a->name, &s);
			if (have)
				FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= MP_CTL_MAX_STRING_ARG);
			break;
		case MP_CTL_ARG_BOOL:
			have = mp_ctl_arg_bool(&req, a->name, &b);
			break;
		}
		FUZZ_CHECK(have || !a->required);
	}

	/* Round trip: the request rebuilt from what was parsed parses to the same command. */
	char *again = mp_ctl_request_build(req.spec->name, req.args ? json_object_get(req.args) : NULL);
	FUZZ_CHECK(again != NULL);
	struct mp_ctl_request req2;
	memset(&err, 0, sizeof(err));
	FUZZ_CHECK(mp_ctl_request_parse(again, line_len(again), &req2, &err) == 0);
	FUZZ_CHECK(req2.spec == req.spec);
	mp_ctl_request_clear(&req2);
	free(again);

	/* An ok reply carrying the request as data parses back for the client. */
	size_t rlen = 0;
	char *reply = mp_ctl_reply_ok(json_object_get(req.root), &rlen);
	FUZZ_CHECK(reply && rlen == strlen(reply));
	json_object *data = NULL;
	FUZZ_CHECK(mp_ctl_reply_parse(reply, line_len(reply), &data, &err) == 0 && data);
	json_object_put(data);
	free(reply);

	mp_ctl_request_clear(&req);
	FUZZ_CHECK(req.spec == NULL && req.root == NULL);
}

/* The client reading whatever a (possibly hostile) daemon sent. */
static void reply(const char *line, size_t len)
{
	json_object *data = (json_object *)1;
	struct mp_ctl_error err;

	memset(&err, 0, sizeof(err));
	int rc = mp_ctl_reply_parse(line, len, &data, &err);
	switch (rc) {
	case 0:
		FUZZ_CHECK(data != NULL);
		json_object_put(data);
		break;
	case 1:
		FUZZ_CHECK(data == NULL);
		check_error(&err);
		break;
	case -1:
		FUZZ_CHECK(data == NULL);
		check_error(&err);
		FUZZ_CHECK(err.err == EBADMSG || err.err == EMSGSIZE || err.err == EPROTONOSUPPORT ||
			   err.err == EPROTO || err.err == ENOMEM);
		break;
	default:
		FUZZ_CHECK(!"reply parse returned an undocumented value");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The line as the server's reader hands it over: len bytes, no terminator. */
	char *line = (char *)fuzz_dup(data, size);
	request(line, size);
	reply(line, size);
	free(line);
	return 0;
}
