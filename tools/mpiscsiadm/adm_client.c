/* mpiscsiadm's client side of the control protocol: one request, one reply, and reading its data. */
#include "tools/mpiscsiadm/adm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tools/ctl/ctl_proto.h"

json_object *adm_get(json_object *o, const char *key)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *adm_gets(json_object *o, const char *key, const char *dflt)
{
	json_object *v = adm_get(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}

int64_t adm_geti(json_object *o, const char *key, int64_t dflt)
{
	json_object *v = adm_get(o, key);
	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : dflt;
}

bool adm_getb(json_object *o, const char *key)
{
	json_object *v = adm_get(o, key);
	return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

size_t adm_arr_len(json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

int adm_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Send line, read one reply line into *reply (malloc'd, no newline). Returns 0 or an EXIT_ code. */
static int transact(const struct cli_opts *o, const char *line, char **reply, size_t *reply_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = o->timeout_s };
	if (strlen(o->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mpiscsiadm: socket path too long: %s\n", o->socket);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, o->socket, strlen(o->socket) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "mpiscsiadm: socket: %s\n", strerror(errno));
		return EXIT_UNREACHABLE;
	}
	/* On a Unix socket the send timeout also bounds connect() against a full backlog. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "mpiscsiadm: cannot reach mpiscsid at %s: %s\n", o->socket,
			errno == EAGAIN ? "timed out" : strerror(errno));
		close(fd);
		return EXIT_UNREACHABLE;
	}
	size_t len = strlen(line), off = 0;
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			/* The daemon may have answered and closed at once (too many clients: EBUSY):
			 * its reply is still there to read. */
			break;
		}
		if (n < 0) {
			fprintf(stderr, "mpiscsiadm: sending to %s: %s\n", o->socket,
				errno == EAGAIN ? "timed out" : strerror(errno));
			close(fd);
			return EXIT_UNREACHABLE;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);

	size_t cap = 4096, have = 0;
	char *buf = malloc(cap);
	char *nl = NULL;
	while (buf && !nl) {
		if (have == cap) {
			if (cap >= MP_CTL_MAX_REPLY) {
				fprintf(stderr, "mpiscsiadm: reply longer than %u bytes\n", MP_CTL_MAX_REPLY);
				goto fail;
			}
			char *b = realloc(buf, cap * 2);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + have, cap - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "mpiscsiadm: reading from %s: %s\n", o->socket,
				n == 0 ? "connection closed before a reply" :
				errno == EAGAIN ? "timed out" : strerror(errno));
			goto fail;
		}
		nl = memchr(buf + have, '\n', (size_t)n);
		have += (size_t)n;
	}
	if (!buf) {
		fprintf(stderr, "mpiscsiadm: out of memory\n");
		goto fail;
	}
	close(fd);
	*reply = buf;
	*reply_len = (size_t)(nl - buf);
	return 0;
fail:
	free(buf);
	close(fd);
	return EXIT_UNREACHABLE;
}

int adm_print_json(json_object *data)
{
	printf("%s\n", json_object_to_json_string_ext(data, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_UNREACHABLE;
}

int adm_call(const struct cli_opts *o, const char *wire, json_object *args, json_object **data)
{
	return adm_call_ex(o, wire, args, data, NULL);
}

int adm_call_ex(const struct cli_opts *o, const char *wire, json_object *args, json_object **data, int *err_out)
{
	*data = NULL;
	char *line = mp_ctl_request_build(wire, args);
	if (!line) {
		fprintf(stderr, "mpiscsiadm: out of memory\n");
		return EXIT_UNREACHABLE;
	}
	char *reply = NULL;
	size_t reply_len = 0;
	int rc = transact(o, line, &reply, &reply_len);
	free(line);
	if (rc != 0)
		return rc;
	struct mp_ctl_error err = { 0 };
	int pr = mp_ctl_reply_parse(reply, reply_len, data, &err);
	free(reply);
	if (pr < 0) {
		fprintf(stderr, "mpiscsiadm: bad reply from %s: %s\n", o->socket, err.message);
		return EXIT_UNREACHABLE;
	}
	if (pr > 0 && err_out) {
		/* The caller words the error (and its --json form) itself. */
		*err_out = err.err;
		json_object *eo = json_object_new_object();
		json_object_object_add(eo, "code", json_object_new_string(mp_ctl_errno_code(err.err)));
		json_object_object_add(eo, "message", json_object_new_string(err.message));
		*data = eo;
		return EXIT_REFUSED;
	}
	if (pr > 0) {
		fprintf(stderr, "mpiscsiadm: %s: %s\n", mp_ctl_errno_code(err.err), err.message);
		if (o->json) {
			json_object *eo = json_object_new_object();
			json_object_object_add(eo, "code", json_object_new_string(mp_ctl_errno_code(err.err)));
			json_object_object_add(eo, "message", json_object_new_string(err.message));
			adm_print_json(eo);
			json_object_put(eo);
		}
		*data = NULL;
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}
