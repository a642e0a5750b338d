/* The control protocol between mpiscsid and mpiscsiadm: newline-delimited JSON, pure functions. */
#ifndef MP_TOOLS_CTL_PROTO_H
#define MP_TOOLS_CTL_PROTO_H

#include "common/version.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "common/util.h"

/*
 * Wire format (protocol version 1)
 * - A Unix stream socket carries newline-terminated lines, each one JSON object
 *   in UTF-8. The client sends one request line and reads one reply line; it
 *   may send the next request on the same connection (replies come in order).
 * - Request: {"v":1,"cmd":"NAME","args":{...}}. "args" may be absent or null
 *   (same as {}). Unknown top-level members are ignored, so version 1 can gain
 *   optional envelope members; unknown members inside "args" are refused,
 *   so a typo never silently changes what a command does.
 * - Reply: {"v":1,"ok":true,"data":{...}} or
 *   {"v":1,"ok":false,"error":{"code":"ENOENT","message":"..."}}. code is an
 *   errno name (see mp_ctl_errno_code); message is for humans.
 * - A request line is at most MP_CTL_MAX_REQUEST bytes with its newline and
 *   nests at most MP_CTL_MAX_DEPTH levels. A reply line is at most
 *   MP_CTL_MAX_REPLY bytes.
 * - Errors the parser reports: EBADMSG (not JSON, not an object, NUL byte,
 *   bad UTF-8, too deep), EMSGSIZE (too long), EPROTONOSUPPORT (v is not 1),
 *   EPROTO (v or cmd missing or of the wrong type), ENOSYS (unknown command),
 *   EINVAL (missing, unknown or invalid argument).
 * - Growth: a new command is one row in the command table (ctl_proto.c) and
 *   one handler in the server; new optional arguments keep version 1; a
 *   change of meaning of an existing command or member needs version 2.
 */

#define MP_CTL_VERSION        1
#define MP_CTL_MAX_REQUEST    (64u * 1024u)
#define MP_CTL_MAX_REPLY      (4u * 1024u * 1024u)
#define MP_CTL_MAX_DEPTH      8
#define MP_CTL_MAX_STRING_ARG 255u
#define MP_CTL_DEFAULT_SOCKET "/run/mpiscsi/control.sock"
/* Software version both programs report. */
#define MP_CTL_SOFTWARE_VERSION MPISCSI_VERSION

/* Commands of protocol version 1; the value indexes the server's handler table. */
enum mp_ctl_cmd {
	MP_CTL_CMD_VERSION = 0,     /* version: daemon and protocol version, command list */
	MP_CTL_CMD_SHOW_TOPOLOGY,   /* show-topology {disk?}: disks (or the one named), path groups by prio, paths */
	MP_CTL_CMD_SHOW_PATHS,      /* show-paths {disk?}: every path (or the named disk's) with its counters */
	MP_CTL_CMD_SHOW_DISKS,      /* show-disks: one row per disk */
	MP_CTL_CMD_FAIL_PATH,       /* fail-path {id}: operator takes a path out of use */
	MP_CTL_CMD_REINSTATE_PATH,  /* reinstate-path {id}: undo fail-path, clear marginal */
	MP_CTL_CMD_SWITCHGROUP,     /* switchgroup {disk, prio}: make that path group active */
	MP_CTL_CMD_SHOW_SESSIONS,   /* show-sessions: one iSCSI session per path */
	MP_CTL_CMD_SHOW_CONFIG,     /* show-config: the running configuration as mpiscsi.conf text */
	MP_CTL_CMD_RECONFIGURE,     /* reconfigure: reload the configuration (as SIGHUP) */
	MP_CTL_CMD_NODE_LOGIN,      /* node-login {target, portal, lun?, iface?, timeout_s?}: add paths (and
				     * disks); the reply waits for the outcome (mpiscsid's ctl_server.h) */
	MP_CTL_CMD_NODE_LOGOUT,     /* node-logout {target, portal?, lun?}: remove paths (and empty disks) */
	MP_CTL_CMD_SHOW_MAPS,       /* show-maps: one row per disk, as multipathd's show maps */
	MP_CTL_CMD_SHOW_REDUNDANCY, /* show-redundancy: each disk's single points of failure and why */
	MP_CTL_CMD__COUNT
};

/* How one argument is typed and bounded. Integers are JSON integers (no fractions, no strings). */
enum mp_ctl_arg_type {
	MP_CTL_ARG_INT,             /* integer in [min, max] */
	MP_CTL_ARG_STRING,          /* 1..MP_CTL_MAX_STRING_ARG bytes, no NUL */
	MP_CTL_ARG_BOOL,
};

struct mp_ctl_arg_spec {
	const char *name;
	enum mp_ctl_arg_type type;
	bool required;
	int64_t min, max;           /* MP_CTL_ARG_INT only */
};

#define MP_CTL_MAX_ARGS 8

struct mp_ctl_cmd_spec {
	enum mp_ctl_cmd id;
	const char *name;           /* on the wire */
	const char *summary;        /* one line, for listings */
	bool mutates;               /* changes daemon state (for logging and, later, access checks) */
	size_t n_args;
	struct mp_ctl_arg_spec args[MP_CTL_MAX_ARGS];
};

/* The command table, indexed by enum mp_ctl_cmd. */
const struct mp_ctl_cmd_spec *mp_ctl_cmd_spec(enum mp_ctl_cmd id);
/* Look up a command by its wire name; NULL if unknown. */
const struct mp_ctl_cmd_spec *mp_ctl_cmd_find(const char *name);

/* An error in the protocol's terms: errno-style number and a message. */
struct mp_ctl_error {
	int err;                    /* positive errno */
	char message[256];
};
void mp_ctl_error_set(struct mp_ctl_error *e, int err, const char *fmt, ...) MP_PRINTF(3, 4);

/* "ENOENT" for ENOENT, ...; "EIO" for numbers it does not know. */
const char *mp_ctl_errno_code(int err);
/* Inverse of mp_ctl_errno_code; EIO for unknown names. */
int mp_ctl_errno_from_code(const char *code);

/* A parsed, validated request. Owns root; release with mp_ctl_request_clear. */
struct mp_ctl_request {
	const struct mp_ctl_cmd_spec *spec;
	json_object *root;
	json_object *args;          /* borrowed from root; NULL when none were given */
};

/*
 * Parse one request line (without its newline; a trailing "\r" and white space
 * are ignored). len counts bytes and may include NUL bytes, which are refused.
 * Returns 0 and fills req, or -1 and fills err (req is left cleared).
 * Lines longer than MP_CTL_MAX_REQUEST - 1 bytes are refused with EMSGSIZE.
 */
int mp_ctl_request_parse(const char *line, size_t len, struct mp_ctl_request *req, struct mp_ctl_error *err);
void mp_ctl_request_clear(struct mp_ctl_request *req);

/* Typed access to arguments validated by mp_ctl_request_parse; false when the argument is absent. */
bool mp_ctl_arg_int(const struct mp_ctl_request *req, const char *name, int64_t *out);
bool mp_ctl_arg_string(const struct mp_ctl_request *req, const char *name, const char **out);
bool mp_ctl_arg_bool(const struct mp_ctl_request *req, const char *name, bool *out);

/*
 * Build a request line (with its newline) for cmd with args (NULL for none;
 * the call takes ownership of args). Returns a malloc'd string, or NULL on
 * allocation failure or an unknown command.
 */
char *mp_ctl_request_build(const char *cmd, json_object *args);

/*
 * Build a reply line with its newline; malloc'd, *len set to its length
 * without the terminating NUL. reply_ok takes ownership of data (NULL means
 * an empty object). A reply longer than MP_CTL_MAX_REPLY becomes an EMSGSIZE
 * error reply. NULL only on allocation failure.
 */
char *mp_ctl_reply_ok(json_object *data, size_t *len);
char *mp_ctl_reply_error(const struct mp_ctl_error *e, size_t *len);

/*
 * Client side: parse one reply line (without its newline). Returns 0 and
 * *data (owned by the caller, never NULL) for ok:true; 1 and err filled for
 * ok:false; -1 and err filled (EBADMSG/EPROTO/EPROTONOSUPPORT) for a reply
 * that is not valid protocol.
 */
int mp_ctl_reply_parse(const char *line, size_t len, json_object **data, struct mp_ctl_error *err);

/*
 * Path group status, as multipathd shows it (mpiscsiadm(8), "show topology"):
 * "active" for the one group that takes I/O, "enabled" for another group with a
 * usable path, "disabled" for a group whose paths are logged in but none may
 * take I/O (ALUA standby or unavailable, failed by an operator, marginal),
 * "failed" when none of its paths is even logged in.
 */
const char *mp_ctl_group_status(bool takes_io, unsigned usable, unsigned up);

/*
 * A disk's state in show-maps: "attaching" before its identity is known,
 * "no-path" when no path may take I/O (requests queue or fail), "degraded"
 * when some path is not logged in, "ok" otherwise.
 */
const char *mp_ctl_map_state(bool ready, unsigned total, unsigned up, unsigned usable);

#endif
