/* libFuzzer target: TLS PSK files ("identity:hexkey" lines) through nbd_psk_parse(), with lookups of every parsed identity. */
#include <string.h>

#include "transport/nbd/nbd_psk.h"
#include "tests/fuzz/fuzz_common.h"

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * The input is the file's bytes, in a buffer of exactly that size. On success
 * every entry must be well formed, unique, found by nbd_psk_find, and its line
 * "identity:hex" must be in the input with the key decoding to what was stored.
 * On error the table must be empty and the message terminated and non-empty.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)fuzz_dup(data, size);
	struct nbd_psk_table t = { (struct nbd_psk *)1, 99 };
	char err[300];

	memset(err, 'x', sizeof(err));
	if (nbd_psk_parse(text, size, "f", &t, err, sizeof(err)) < 0) {
		FUZZ_CHECK(t.v == NULL && t.n == 0);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] == 'f');
		free((void *)text);
		return 0;
	}
	FUZZ_CHECK(t.n >= 1 && t.n <= NBD_PSK_MAX_ENTRIES && t.v != NULL);
	FUZZ_CHECK(size <= NBD_PSK_MAX_FILE && !memchr(text, '\0', size));
	for (size_t i = 0; i < t.n; i++) {
		const struct nbd_psk *e = &t.v[i];
		FUZZ_CHECK(fuzz_terminated(e->identity, sizeof(e->identity)));
		FUZZ_CHECK(e->identity_len >= 1 && e->identity_len <= NBD_PSK_MAX_IDENTITY);
		FUZZ_CHECK(strlen(e->identity) == e->identity_len);
		FUZZ_CHECK(!strchr(e->identity, ':'));
		for (size_t k = 0; k < e->identity_len; k++)
			FUZZ_CHECK((unsigned char)e->identity[k] >= 0x20 && e->identity[k] != 0x7f);
		FUZZ_CHECK(e->key_len >= 1 && e->key_len <= NBD_PSK_MAX_KEY);
		FUZZ_CHECK(nbd_psk_find(&t, e->identity, e->identity_len) == e);
		/* The line is in the input: the identity and ':' at a line start, then the hex. */
		bool seen = false;
		for (size_t off = 0; off + e->identity_len + 1 + 2 * e->key_len <= size && !seen; off++) {
			if (off && text[off - 1] != '\n')
				continue;
			const char *p = text + off;
			if (memcmp(p, e->identity, e->identity_len) != 0 || p[e->identity_len] != ':')
				continue;
			const char *h = p + e->identity_len + 1;
			bool same = true;
			for (size_t k = 0; k < e->key_len && same; k++)
				same = hexval(h[2 * k]) >= 0 && hexval(h[2 * k + 1]) >= 0 &&
				       (uint8_t)(hexval(h[2 * k]) << 4 | hexval(h[2 * k + 1])) == e->key[k];
			seen = same;
		}
		FUZZ_CHECK(seen);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(t.v[j].identity_len != e->identity_len ||
				   memcmp(t.v[j].identity, e->identity, e->identity_len) != 0);
	}
	nbd_psk_table_free(&t);
	FUZZ_CHECK(t.v == NULL && t.n == 0);
	free((void *)text);
	return 0;
}
