/* The control protocol: command table, request parsing and validation, reply building and parsing. */
#include "tools/ctl/ctl_proto.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARG_PATH_ID { .name = "id", .type = MP_CTL_ARG_INT, .required = true, .min = 0, .max = UINT32_MAX }
/* A disk by its name, export name or LU designator; optional: absent means every disk. */
#define ARG_DISK_FILTER { .name = "disk", .type = MP_CTL_ARG_STRING }

/* The protocol's commands; row i has id i (checked by mp_ctl_cmd_spec's callers through the test). */
static const struct mp_ctl_cmd_spec cmd_table[MP_CTL_CMD__COUNT] = {
	[MP_CTL_CMD_VERSION] = {
		.id = MP_CTL_CMD_VERSION, .name = "version",
		.summary = "daemon and protocol version, supported commands",
	},
	[MP_CTL_CMD_SHOW_TOPOLOGY] = {
		.id = MP_CTL_CMD_SHOW_TOPOLOGY, .name = "show-topology",
		.summary = "disks (or the one named) with their path groups and paths",
		.n_args = 1, .args = { ARG_DISK_FILTER },
	},
	[MP_CTL_CMD_SHOW_PATHS] = {
		.id = MP_CTL_CMD_SHOW_PATHS, .name = "show-paths",
		.summary = "every path (or the named disk's) with its counters",
		.n_args = 1, .args = { ARG_DISK_FILTER },
	},
	[MP_CTL_CMD_SHOW_DISKS] = {
		.id = MP_CTL_CMD_SHOW_DISKS, .name = "show-disks",
		.summary = "one line per disk",
	},
	[MP_CTL_CMD_FAIL_PATH] = {
		.id = MP_CTL_CMD_FAIL_PATH, .name = "fail-path", .mutates = true,
		.summary = "take a path out of use until it is reinstated",
		.n_args = 1, .args = { ARG_PATH_ID },
	},
	[MP_CTL_CMD_REINSTATE_PATH] = {
		.id = MP_CTL_CMD_REINSTATE_PATH, .name = "reinstate-path", .mutates = true,
		.summary = "return a failed or marginal path to use",
		.n_args = 1, .args = { ARG_PATH_ID },
	},
	[MP_CTL_CMD_SWITCHGROUP] = {
		.id = MP_CTL_CMD_SWITCHGROUP, .name = "switchgroup", .mutates = true,
		.summary = "make the path group with this prio the active one",
		.n_args = 2,
		.args = {
			{ .name = "disk", .type = MP_CTL_ARG_STRING, .required = true },
			/* INT32_MIN means "no group" in the core, so it is not a valid prio. */
			{ .name = "prio", .type = MP_CTL_ARG_INT, .required = true,
			  .min = (int64_t)INT32_MIN + 1, .max = INT32_MAX },
		},
	},
	[MP_CTL_CMD_SHOW_SESSIONS] = {
		.id = MP_CTL_CMD_SHOW_SESSIONS, .name = "show-sessions",
		.summary = "the iSCSI session of every path",
	},
	[MP_CTL_CMD_SHOW_CONFIG] = {
		.id = MP_CTL_CMD_SHOW_CONFIG, .name = "show-config",
		.summary = "the running configuration",
	},
	[MP_CTL_CMD_RECONFIGURE] = {
		.id = MP_CTL_CMD_RECONFIGURE, .name = "reconfigure", .mutates = true,
		.summary = "reload the configuration file: add, drain and remove, keep the unchanged",
	},
	[MP_CTL_CMD_NODE_LOGIN] = {
		.id = MP_CTL_CMD_NODE_LOGIN, .name = "node-login", .mutates = true,
		.summary = "log in to a target portal: one session per NIC; its LUNs (or the one named) become disks; "
			   "answers once logged in and attached, or failed, or timeout_s (default 30) passed",
		.n_args = 5,
		.args = {
			{ .name = "target", .type = MP_CTL_ARG_STRING, .required = true },
			{ .name = "portal", .type = MP_CTL_ARG_STRING, .required = true },
			{ .name = "lun", .type = MP_CTL_ARG_INT, .min = 0, .max = 16383 },
			{ .name = "iface", .type = MP_CTL_ARG_STRING },
			{ .name = "timeout_s", .type = MP_CTL_ARG_INT, .min = 1, .max = 86400 },
		},
	},
	[MP_CTL_CMD_NODE_LOGOUT] = {
		.id = MP_CTL_CMD_NODE_LOGOUT, .name = "node-logout", .mutates = true,
		.summary = "log out of a target (one portal or all, one NIC or all): its sessions go; a disk left without paths is removed",
		.n_args = 4,
		.args = {
			{ .name = "target", .type = MP_CTL_ARG_STRING, .required = true },
			{ .name = "portal", .type = MP_CTL_ARG_STRING },
			{ .name = "lun", .type = MP_CTL_ARG_INT, .min = 0, .max = 16383 },
			{ .name = "iface", .type = MP_CTL_ARG_STRING },
		},
	},
	[MP_CTL_CMD_SHOW_MAPS] = {
		.id = MP_CTL_CMD_SHOW_MAPS, .name = "show-maps",
		.summary = "one line per disk: name, designator, size, state, paths",
	},
	[MP_CTL_CMD_SHOW_REDUNDANCY] = {
		.id = MP_CTL_CMD_SHOW_REDUNDANCY, .name = "show-redundancy",
		.summary = "each disk's redundancy verdict: single points of failure and why",
	},
};

const struct mp_ctl_cmd_spec *mp_ctl_cmd_spec(enum mp_ctl_cmd id)
{
	if ((unsigned)id >= MP_CTL_CMD__COUNT)
		return NULL;
	return &cmd_table[id];
}

const struct mp_ctl_cmd_spec *mp_ctl_cmd_find(const char *name)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(cmd_table); i++)
		if (cmd_table[i].name && strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}

/*
 * Messages quote client input cut to a length ('%.64s'), which can split a UTF-8
 * character anywhere in the message; a reply must stay valid UTF-8 for the
 * client's strict parser, so every byte of a malformed sequence becomes '?'.
 */
static void utf8_repair(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		size_t i = 1;
		while (n && i < n && (p[i] & 0xc0) == 0x80)
			i++;
		if (n == 0 || i < n || (n == 2 && *p < 0xc2)) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

void mp_ctl_error_set(struct mp_ctl_error *e, int err, const char *fmt, ...)
{
	va_list ap;
	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	utf8_repair(e->message);
}

#define E(x) { x, #x }
static const struct { int err; const char *code; } errno_codes[] = {
	E(EPERM), E(ENOENT), E(EIO), E(ENXIO), E(EAGAIN), E(ENOMEM), E(EACCES), E(EBUSY),
	E(EEXIST), E(ENODEV), E(EINVAL), E(ENOSPC), E(ERANGE), E(ENOSYS), E(EPROTO),
	E(EBADMSG), E(EMSGSIZE), E(EPROTONOSUPPORT), E(EOPNOTSUPP), E(ENOTCONN), E(ESHUTDOWN),
	E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTUNREACH), E(EALREADY), E(ECANCELED),
};
#undef E

const char *mp_ctl_errno_code(int err)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(errno_codes); i++)
		if (errno_codes[i].err == err)
			return errno_codes[i].code;
	return "EIO";
}

int mp_ctl_errno_from_code(const char *code)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(errno_codes); i++)
		if (strcmp(errno_codes[i].code, code) == 0)
			return errno_codes[i].err;
	return EIO;
}

/*
 * Parse text as exactly one JSON value with json-c in strict mode (no
 * comments, single quotes or trailing garbage), UTF-8 validated, at most
 * MP_CTL_MAX_DEPTH deep. NULL and err set on failure.
 */
static json_object *parse_json(const char *line, size_t len, struct mp_ctl_error *err)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0) {
		mp_ctl_error_set(err, EBADMSG, "empty line");
		return NULL;
	}
	if (memchr(line, '\0', len)) {
		mp_ctl_error_set(err, EBADMSG, "NUL byte in line");
		return NULL;
	}
	if (len > INT_MAX) {
		mp_ctl_error_set(err, EMSGSIZE, "line too long");
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(MP_CTL_MAX_DEPTH + 1);  /* json-c allows depth - 1 levels */
	if (!tok) {
		mp_ctl_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *obj = json_tokener_parse_ex(tok, line, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (!obj || jerr != json_tokener_success) {
		/* Continue means the text ended inside a value: also malformed, the line is complete. */
		const char *why = jerr == json_tokener_continue ? "unexpected end of line"
				  : json_tokener_error_desc(jerr);
		mp_ctl_error_set(err, EBADMSG, "malformed JSON: %s", why);
		json_object_put(obj);
		obj = NULL;
	} else if ((size_t)json_tokener_get_parse_end(tok) != len) {
		mp_ctl_error_set(err, EBADMSG, "malformed JSON: trailing characters");
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* A JSON integer (not a double, not a string) that fits int64; json-c clamps bigger ones, so check text. */
static bool json_get_exact_int(json_object *v, int64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	int64_t i = json_object_get_int64(v);
	if (errno != 0)
		return false;
	if (i == INT64_MAX) {
		/* json-c saturates; accept only if the value really is INT64_MAX (or is a uint64 above it). */
		uint64_t u = json_object_get_uint64(v);
		if (u != (uint64_t)INT64_MAX)
			return false;
	}
	*out = i;
	return true;
}

static int validate_args(const struct mp_ctl_cmd_spec *spec, json_object *args, struct mp_ctl_error *err)
{
	if (args) {
		json_object_object_foreach(args, key, val) {
			(void)val;
			bool known = false;
			for (size_t i = 0; i < spec->n_args; i++)
				known |= strcmp(spec->args[i].name, key) == 0;
			if (!known) {
				mp_ctl_error_set(err, EINVAL, "%s: unknown argument '%.64s'", spec->name, key);
				return -1;
			}
		}
	}
	for (size_t i = 0; i < spec->n_args; i++) {
		const struct mp_ctl_arg_spec *a = &spec->args[i];
		json_object *v = NULL;
		if (!args || !json_object_object_get_ex(args, a->name, &v) || !v) {
			if (a->required) {
				mp_ctl_error_set(err, EINVAL, "%s: missing argument '%s'", spec->name, a->name);
				return -1;
			}
			continue;
		}
		int64_t n;
		size_t slen;
		switch (a->type) {
		case MP_CTL_ARG_INT:
			if (!json_get_exact_int(v, &n)) {
				mp_ctl_error_set(err, EINVAL, "%s: argument '%s' must be an integer", spec->name, a->name);
				return -1;
			}
			if (n < a->min || n > a->max) {
				mp_ctl_error_set(err, EINVAL, "%s: argument '%s' = %lld is out of range [%lld, %lld]",
						 spec->name, a->name, (long long)n, (long long)a->min, (long long)a->max);
				return -1;
			}
			break;
		case MP_CTL_ARG_STRING:
			if (!json_object_is_type(v, json_type_string)) {
				mp_ctl_error_set(err, EINVAL, "%s: argument '%s' must be a string", spec->name, a->name);
				return -1;
			}
			slen = (size_t)json_object_get_string_len(v);
			if (slen == 0 || slen > MP_CTL_MAX_STRING_ARG || strlen(json_object_get_string(v)) != slen) {
				mp_ctl_error_set(err, EINVAL, "%s: argument '%s' must be 1..%u bytes without NUL",
						 spec->name, a->name, MP_CTL_MAX_STRING_ARG);
				return -1;
			}
			break;
		case MP_CTL_ARG_BOOL:
			if (!json_object_is_type(v, json_type_boolean)) {
				mp_ctl_error_set(err, EINVAL, "%s: argument '%s' must be true or false", spec->name, a->name);
				return -1;
			}
			break;
		}
	}
	return 0;
}

int mp_ctl_request_parse(const char *line, size_t len, struct mp_ctl_request *req, struct mp_ctl_error *err)
{
	memset(req, 0, sizeof(*req));
	if (len >= MP_CTL_MAX_REQUEST) {
		mp_ctl_error_set(err, EMSGSIZE, "request longer than %u bytes", MP_CTL_MAX_REQUEST - 1);
		return -1;
	}
	json_object *root = parse_json(line, len, err);
	if (!root)
		return -1;
	json_object *v, *cmd, *args = NULL;
	int64_t ver;
	if (!json_object_is_type(root, json_type_object)) {
		mp_ctl_error_set(err, EBADMSG, "request is not a JSON object");
		goto fail;
	}
	if (!json_object_object_get_ex(root, "v", &v) || !json_get_exact_int(v, &ver)) {
		mp_ctl_error_set(err, EPROTO, "request has no integer protocol version \"v\"");
		goto fail;
	}
	if (ver != MP_CTL_VERSION) {
		mp_ctl_error_set(err, EPROTONOSUPPORT, "protocol version %lld is not supported (this daemon speaks %d)",
				 (long long)ver, MP_CTL_VERSION);
		goto fail;
	}
	if (!json_object_object_get_ex(root, "cmd", &cmd) || !json_object_is_type(cmd, json_type_string)) {
		mp_ctl_error_set(err, EPROTO, "request has no command string \"cmd\"");
		goto fail;
	}
	const char *name = json_object_get_string(cmd);
	const struct mp_ctl_cmd_spec *spec = NULL;
	if (strlen(name) == (size_t)json_object_get_string_len(cmd))
		spec = mp_ctl_cmd_find(name);
	if (!spec) {
		mp_ctl_error_set(err, ENOSYS, "unknown command '%.64s'", name);
		goto fail;
	}
	if (json_object_object_get_ex(root, "args", &args) && args &&
	    !json_object_is_type(args, json_type_object)) {
		mp_ctl_error_set(err, EINVAL, "\"args\" must be an object");
		goto fail;
	}
	if (validate_args(spec, args, err) < 0)
		goto fail;
	req->spec = spec;
	req->root = root;
	req->args = args;
	return 0;
fail:
	json_object_put(root);
	return -1;
}

void mp_ctl_request_clear(struct mp_ctl_request *req)
{
	json_object_put(req->root);
	memset(req, 0, sizeof(*req));
}

static json_object *arg_get(const struct mp_ctl_request *req, const char *name)
{
	json_object *v = NULL;
	if (!req->args || !json_object_object_get_ex(req->args, name, &v))
		return NULL;
	return v;
}

bool mp_ctl_arg_int(const struct mp_ctl_request *req, const char *name, int64_t *out)
{
	json_object *v = arg_get(req, name);
	return v && json_get_exact_int(v, out);
}

bool mp_ctl_arg_string(const struct mp_ctl_request *req, const char *name, const char **out)
{
	json_object *v = arg_get(req, name);
	if (!v || !json_object_is_type(v, json_type_string))
		return false;
	*out = json_object_get_string(v);
	return true;
}

bool mp_ctl_arg_bool(const struct mp_ctl_request *req, const char *name, bool *out)
{
	json_object *v = arg_get(req, name);
	if (!v || !json_object_is_type(v, json_type_boolean))
		return false;
	*out = json_object_get_boolean(v);
	return true;
}

/* Serialise obj (consumed) as one line with a newline; NULL on allocation failure. */
static char *to_line(json_object *obj, size_t *len)
{
	if (!obj)
		return NULL;
	size_t n;
	const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *out = s ? malloc(n + 2) : NULL;
	if (out) {
		memcpy(out, s, n);
		out[n] = '\n';
		out[n + 1] = '\0';
		if (len)
			*len = n + 1;
	}
	json_object_put(obj);
	return out;
}

char *mp_ctl_request_build(const char *cmd, json_object *args)
{
	json_object *root = json_object_new_object();
	if (!root || !mp_ctl_cmd_find(cmd)) {
		json_object_put(args);
		json_object_put(root);
		return NULL;
	}
	json_object_object_add(root, "v", json_object_new_int(MP_CTL_VERSION));
	json_object_object_add(root, "cmd", json_object_new_string(cmd));
	json_object_object_add(root, "args", args ? args : json_object_new_object());
	return to_line(root, NULL);
}

char *mp_ctl_reply_error(const struct mp_ctl_error *e, size_t *len)
{
	json_object *root = json_object_new_object();
	json_object *eo = json_object_new_object();
	if (!root || !eo) {
		json_object_put(root);
		json_object_put(eo);
		return NULL;
	}
	json_object_object_add(eo, "code", json_object_new_string(mp_ctl_errno_code(e->err)));
	json_object_object_add(eo, "message", json_object_new_string(e->message));
	json_object_object_add(root, "v", json_object_new_int(MP_CTL_VERSION));
	json_object_object_add(root, "ok", json_object_new_boolean(0));
	json_object_object_add(root, "error", eo);
	return to_line(root, len);
}

char *mp_ctl_reply_ok(json_object *data, size_t *len)
{
	json_object *root = json_object_new_object();
	if (!data)
		data = json_object_new_object();
	if (!root || !data) {
		json_object_put(root);
		json_object_put(data);
		return NULL;
	}
	json_object_object_add(root, "v", json_object_new_int(MP_CTL_VERSION));
	json_object_object_add(root, "ok", json_object_new_boolean(1));
	json_object_object_add(root, "data", data);
	size_t n = 0;
	char *line = to_line(root, &n);
	if (line && n > MP_CTL_MAX_REPLY) {
		free(line);
		struct mp_ctl_error e;
		mp_ctl_error_set(&e, EMSGSIZE, "reply of %zu bytes exceeds the limit of %u bytes", n,
				 MP_CTL_MAX_REPLY);
		return mp_ctl_reply_error(&e, len);
	}
	if (line && len)
		*len = n;
	return line;
}

int mp_ctl_reply_parse(const char *line, size_t len, json_object **data, struct mp_ctl_error *err)
{
	*data = NULL;
	if (len >= MP_CTL_MAX_REPLY) {
		mp_ctl_error_set(err, EMSGSIZE, "reply longer than %u bytes", MP_CTL_MAX_REPLY - 1);
		return -1;
	}
	json_object *root = parse_json(line, len, err), *v, *ok, *d, *eo, *code, *msg;
	int64_t ver;
	if (!root)
		return -1;
	int rc = -1;
	if (!json_object_is_type(root, json_type_object)) {
		mp_ctl_error_set(err, EBADMSG, "reply is not a JSON object");
	} else if (!json_object_object_get_ex(root, "v", &v) || !json_get_exact_int(v, &ver)) {
		mp_ctl_error_set(err, EPROTO, "reply has no protocol version");
	} else if (ver != MP_CTL_VERSION) {
		mp_ctl_error_set(err, EPROTONOSUPPORT, "reply has protocol version %lld, expected %d",
				 (long long)ver, MP_CTL_VERSION);
	} else if (!json_object_object_get_ex(root, "ok", &ok) || !json_object_is_type(ok, json_type_boolean)) {
		mp_ctl_error_set(err, EPROTO, "reply has no \"ok\"");
	} else if (json_object_get_boolean(ok)) {
		if (!json_object_object_get_ex(root, "data", &d) || !d) {
			*data = json_object_new_object();
		} else {
			*data = json_object_get(d);
		}
		rc = *data ? 0 : -1;
		if (rc < 0)
			mp_ctl_error_set(err, ENOMEM, "out of memory");
	} else if (!json_object_object_get_ex(root, "error", &eo) || !json_object_is_type(eo, json_type_object) ||
		   !json_object_object_get_ex(eo, "code", &code) || !json_object_is_type(code, json_type_string)) {
		mp_ctl_error_set(err, EPROTO, "error reply without an error code");
	} else {
		const char *m = "";
		if (json_object_object_get_ex(eo, "message", &msg) && json_object_is_type(msg, json_type_string))
			m = json_object_get_string(msg);
		mp_ctl_error_set(err, mp_ctl_errno_from_code(json_object_get_string(code)), "%s", m);
		rc = 1;
	}
	json_object_put(root);
	return rc;
}

const char *mp_ctl_group_status(bool takes_io, unsigned usable, unsigned up)
{
	if (usable)
		return takes_io ? "active" : "enabled";
	return up ? "disabled" : "failed";
}

const char *mp_ctl_map_state(bool ready, unsigned total, unsigned up, unsigned usable)
{
	if (!ready)
		return "attaching";
	if (!usable)
		return "no-path";
	return up < total ? "degraded" : "ok";
}
