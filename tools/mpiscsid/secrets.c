/* CHAP secrets file: owner and mode check, a strict line parser, and a store that is zeroed when freed. */
#include "tools/mpiscsid/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

struct entry {
	char user[MP_CHAP_NAME_MAX_LEN + 1];
	char secret[MP_SECRET_MAX_LEN + 1];
	size_t line;                 /* where it was defined, for "already used at line N" */
};

/*
 * One allocation, sized once from a first pass over the text and never reallocated:
 * realloc would leave copies of secrets behind in freed memory.
 */
struct mp_secrets {
	size_t size;                 /* bytes allocated, all zeroed by mp_secrets_free */
	size_t n;
	char file[4096];
	struct entry e[];
};

static bool visible(unsigned char c) { return c >= 0x21 && c <= 0x7e; }
static bool blank(unsigned char c) { return c == ' ' || c == '\t'; }

bool mp_chap_name_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!visible((unsigned char)s[n]) || n >= MP_CHAP_NAME_MAX_LEN)
			return false;
	return n > 0;
}

static void fail(char *err, size_t errlen, const char *fmt, ...) MP_PRINTF(3, 4);
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void mp_secrets_free(struct mp_secrets *s)
{
	if (!s)
		return;
	explicit_bzero(s, s->size);
	free(s);
}

size_t mp_secrets_count(const struct mp_secrets *s) { return s ? s->n : 0; }
const char *mp_secrets_file(const struct mp_secrets *s) { return s ? s->file : ""; }

const char *mp_secrets_get(const struct mp_secrets *s, const char *user)
{
	for (size_t i = 0; s && user && i < s->n; i++)
		if (strcmp(s->e[i].user, user) == 0)
			return s->e[i].secret;
	return NULL;
}

/* The next line of text[*pos..len): [*b, *e) without its '\n' and a CR before it. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **b, const char **e)
{
	const char *p, *nl;

	if (*pos >= len)
		return false;
	p = text + *pos;
	nl = memchr(p, '\n', len - *pos);
	*b = p;
	*e = nl ? nl : text + len;
	*pos = (size_t)(*e - text) + (nl ? 1 : 0);
	if (*e > *b && (*e)[-1] == '\r')
		(*e)--;
	return true;
}

/* Skip blanks; true if what is left of the line is an entry (not empty, not a comment). */
static bool entry_line(const char **b, const char *e)
{
	while (*b < e && blank((unsigned char)**b))
		(*b)++;
	return *b < e && **b != '#';
}

/*
 * Every message names the file and the line and says what is wrong, but quotes nothing
 * of the line: a secret written in the wrong place must not end up in a log.
 */
static int parse_entry(struct mp_secrets *s, const char *name, size_t line, const char *b,
		       const char *e, char *err, size_t errlen)
{
	const char *u, *ue, *k, *ke;
	struct entry *en;

	for (const char *p = b; p < e; p++) {
		if (!visible((unsigned char)*p) && !blank((unsigned char)*p)) {
			fail(err, errlen, "%s:%zu: control character or non-ASCII byte (only visible ASCII, "
			     "spaces and tabs are allowed)", name, line);
			return -1;
		}
	}
	u = b;
	for (ue = u; ue < e && !blank((unsigned char)*ue); ue++)
		;
	for (k = ue; k < e && blank((unsigned char)*k); k++)
		;
	for (ke = k; ke < e && !blank((unsigned char)*ke); ke++)
		;
	if (k == e) {
		fail(err, errlen, "%s:%zu: expected 'USER SECRET', found one field", name, line);
		return -1;
	}
	for (const char *p = ke; p < e; p++) {
		if (!blank((unsigned char)*p)) {
			fail(err, errlen, "%s:%zu: expected 'USER SECRET', found more than two fields (a "
			     "secret can not contain spaces)", name, line);
			return -1;
		}
	}
	if ((size_t)(ue - u) > MP_CHAP_NAME_MAX_LEN) {
		fail(err, errlen, "%s:%zu: the user name is longer than %d bytes", name, line,
		     MP_CHAP_NAME_MAX_LEN);
		return -1;
	}
	if ((size_t)(ke - k) < MP_SECRET_MIN_LEN) {
		fail(err, errlen, "%s:%zu: the secret is shorter than %d bytes (RFC 7143 asks for at "
		     "least 96 bits)", name, line, MP_SECRET_MIN_LEN);
		return -1;
	}
	if ((size_t)(ke - k) > MP_SECRET_MAX_LEN) {
		fail(err, errlen, "%s:%zu: the secret is longer than %d bytes", name, line, MP_SECRET_MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (strlen(s->e[i].user) == (size_t)(ue - u) && memcmp(s->e[i].user, u, (size_t)(ue - u)) == 0) {
			fail(err, errlen, "%s:%zu: this user name is already used at line %zu", name, line,
			     s->e[i].line);
			return -1;
		}
	}
	en = &s->e[s->n++];
	memcpy(en->user, u, (size_t)(ue - u));
	memcpy(en->secret, k, (size_t)(ke - k));
	en->line = line;
	return 0;
}

struct mp_secrets *mp_secrets_parse(const char *name, const char *text, size_t len, char *err,
				    size_t errlen)
{
	struct mp_secrets *s;
	const char *b, *e;
	size_t pos = 0, count = 0, line = 0;

	if (len > MP_SECRETS_FILE_MAX) {
		fail(err, errlen, "%s: larger than %d bytes", name, MP_SECRETS_FILE_MAX);
		return NULL;
	}
	while (next_line(text, len, &pos, &b, &e))
		count += entry_line(&b, e);
	if (count > MP_SECRETS_MAX) {
		fail(err, errlen, "%s: more than %d entries", name, MP_SECRETS_MAX);
		return NULL;
	}
	size_t size = sizeof(*s) + count * sizeof(s->e[0]);
	s = calloc(1, size);
	if (!s) {
		fail(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	s->size = size;
	snprintf(s->file, sizeof(s->file), "%s", name);
	pos = 0;
	while (next_line(text, len, &pos, &b, &e)) {
		line++;
		if (!entry_line(&b, e))
			continue;
		if (parse_entry(s, name, line, b, e, err, errlen) < 0) {
			mp_secrets_free(s);
			return NULL;
		}
	}
	return s;
}

int mp_secrets_check_stat(const char *name, const struct stat *st, uid_t euid, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		fail(err, errlen, "%s: not a regular file", name);
		return -1;
	}
	if (st->st_uid != 0 && st->st_uid != euid) {
		fail(err, errlen, "%s: owned by uid %u, but a secrets file must belong to root or to the "
		     "daemon's user (uid %u): chown root %s", name, (unsigned)st->st_uid, (unsigned)euid, name);
		return -1;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		fail(err, errlen, "%s: mode %04o lets group or others access it; a secrets file must be "
		     "for its owner only: chmod 600 %s", name, (unsigned)(st->st_mode & 07777), name);
		return -1;
	}
	return 0;
}

struct mp_secrets *mp_secrets_load(const char *file, char *err, size_t errlen)
{
	struct mp_secrets *s = NULL;
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	/* O_NONBLOCK: a FIFO put in the file's place must not hang the daemon (fstat refuses it). */
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		fail(err, errlen, "%s: %s", file, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		fail(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (mp_secrets_check_stat(file, &st, geteuid(), err, errlen) < 0)
		goto out;
	/* One byte more than allowed tells "exactly at the limit" from "too big". Plain read()
	 * into our own buffer: stdio would keep a copy in a buffer we can not zero. */
	buf = malloc(MP_SECRETS_FILE_MAX + 1);
	if (!buf) {
		fail(err, errlen, "%s: out of memory", file);
		goto out;
	}
	while (n <= MP_SECRETS_FILE_MAX) {
		ssize_t r = read(fd, buf + n, MP_SECRETS_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(err, errlen, "%s: %s", file, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > MP_SECRETS_FILE_MAX) {
		fail(err, errlen, "%s: larger than %d bytes", file, MP_SECRETS_FILE_MAX);
		goto out;
	}
	s = mp_secrets_parse(file, buf, n, err, errlen);
out:
	if (buf) {
		explicit_bzero(buf, MP_MIN(n, (size_t)MP_SECRETS_FILE_MAX + 1));
		free(buf);
	}
	close(fd);
	return s;
}
