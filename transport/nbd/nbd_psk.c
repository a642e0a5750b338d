/* TLS pre-shared key files: parse "identity:hexkey" lines, look identities up, wipe keys (see nbd_psk.h). */
#include "transport/nbd/nbd_psk.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/util.h"

static int psk_fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
	MP_PRINTF(5, 6);
static int psk_fail(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, errlen, "%s:%zu: %s", name, line, why);
	else
		snprintf(err, errlen, "%s: %s", name, why);
	return -1;
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Overwrite key material in a way the compiler may not drop. */
static void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/* One line without its end of line; blank lines were skipped by the caller. */
static int parse_line(const char *s, size_t n, const char *name, size_t line, struct nbd_psk *e,
		      char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return psk_fail(err, errlen, name, line, "expected identity:hexkey (no ':' found)");
	size_t il = (size_t)(colon - s);
	if (il == 0)
		return psk_fail(err, errlen, name, line, "empty identity before ':'");
	if (il > NBD_PSK_MAX_IDENTITY)
		return psk_fail(err, errlen, name, line, "identity is longer than %u bytes", NBD_PSK_MAX_IDENTITY);
	for (size_t i = 0; i < il; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return psk_fail(err, errlen, name, line, "control character in the identity");

	const char *hex = colon + 1;
	size_t hl = n - il - 1;
	if (hl == 0)
		return psk_fail(err, errlen, name, line, "empty key after ':'");
	/* The key is never quoted back: only the position of a bad character. */
	for (size_t i = 0; i < hl; i++)
		if (hex_value(hex[i]) < 0)
			return psk_fail(err, errlen, name, line, "character %zu of the key is not a hex digit", i + 1);
	if (hl % 2)
		return psk_fail(err, errlen, name, line, "key has an odd number of hex digits (%zu)", hl);
	if (hl / 2 > NBD_PSK_MAX_KEY)
		return psk_fail(err, errlen, name, line, "key is longer than %u bytes", NBD_PSK_MAX_KEY);

	memcpy(e->identity, s, il);
	e->identity[il] = '\0';
	e->identity_len = il;
	for (size_t i = 0; i < hl / 2; i++)
		e->key[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
	e->key_len = hl / 2;
	return 0;
}

int nbd_psk_parse(const char *text, size_t len, const char *name, struct nbd_psk_table *t,
		  char *err, size_t errlen)
{
	struct nbd_psk_table out = { NULL, 0 };
	size_t cap = 0, line = 0;
	const char *p = text, *end = text + len;

	t->v = NULL;
	t->n = 0;
	if (len > NBD_PSK_MAX_FILE)
		return psk_fail(err, errlen, name, 0, "file is larger than %u bytes", NBD_PSK_MAX_FILE);
	if (len && memchr(text, '\0', len))
		return psk_fail(err, errlen, name, 0, "NUL byte in the file (not a text file)");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *s = p;

		line++;
		p = nl ? nl + 1 : end;
		while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (out.n == NBD_PSK_MAX_ENTRIES) {
			psk_fail(err, errlen, name, line, "more than %u identities", NBD_PSK_MAX_ENTRIES);
			goto fail;
		}
		if (out.n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct nbd_psk *nv = malloc(ncap * sizeof(*nv));
			if (!nv) {
				psk_fail(err, errlen, name, 0, "out of memory");
				goto fail;
			}
			if (out.n)
				memcpy(nv, out.v, out.n * sizeof(*nv));
			if (out.v) {
				wipe(out.v, cap * sizeof(*out.v));
				free(out.v);
			}
			out.v = nv;
			cap = ncap;
		}
		struct nbd_psk *e = &out.v[out.n];
		if (parse_line(s, n, name, line, e, err, errlen) < 0)
			goto fail;
		for (size_t i = 0; i < out.n; i++) {
			if (out.v[i].identity_len == e->identity_len &&
			    memcmp(out.v[i].identity, e->identity, e->identity_len) == 0) {
				wipe(e, sizeof(*e));
				psk_fail(err, errlen, name, line, "identity '%s' is listed twice", out.v[i].identity);
				goto fail;
			}
		}
		out.n++;
	}
	if (out.n == 0) {
		psk_fail(err, errlen, name, 0, "no identity:hexkey line in the file");
		goto fail;
	}
	*t = out;
	return 0;
fail:
	if (out.v)
		wipe(out.v, cap * sizeof(*out.v));
	free(out.v);
	return -1;
}

const struct nbd_psk *nbd_psk_find(const struct nbd_psk_table *t, const char *identity, size_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].identity_len == len && memcmp(t->v[i].identity, identity, len) == 0)
			return &t->v[i];
	return NULL;
}

void nbd_psk_table_free(struct nbd_psk_table *t)
{
	if (t->v)
		wipe(t->v, t->n * sizeof(*t->v));
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
