/* libFuzzer target: the CHAP secrets file parser mp_secrets_parse(), with its contract and "messages never quote the file" checked. */
#include <string.h>

#include "tools/mpiscsid/secrets.h"
#include "tests/fuzz/fuzz_common.h"

#define NAME "fuzz.secrets"

/* Every line's second field, if it is as long as a secret can be: none may appear in msg. */
static void check_no_field_quoted(const char *text, size_t len, const char *msg)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *a = p, *b;

		while (a < e && (*a == ' ' || *a == '\t'))
			a++;
		while (a < e && *a != ' ' && *a != '\t')
			a++;
		while (a < e && (*a == ' ' || *a == '\t'))
			a++;
		for (b = a; b < e && *b != ' ' && *b != '\t' && *b != '\r' && *b != '\0'; b++)
			;
		if (b - a >= MP_SECRET_MIN_LEN) {
			char *field = fuzz_strndup((const uint8_t *)a, (size_t)(b - a));
			FUZZ_CHECK(strstr(msg, field) == NULL);
			free(field);
		}
		p = nl ? nl + 1 : end;
	}
}

/*
 * The input is the file's text, with its length and no NUL terminator, in a buffer of
 * exactly that size (as mp_secrets_load hands it over).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = (char *)fuzz_dup(data, size);
	char err[512];
	struct mp_secrets *s;

	memset(err, 0, sizeof(err));
	s = mp_secrets_parse(NAME, text, size, err, sizeof(err));
	if (!s) {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		FUZZ_CHECK(strncmp(err, NAME ":", sizeof(NAME)) == 0);
		/* After "NAME:" or "NAME:LINE:" only the parser's own words follow. */
		check_no_field_quoted(text, size, err + sizeof(NAME));
		free(text);
		return 0;
	}
	FUZZ_CHECK(mp_secrets_count(s) <= MP_SECRETS_MAX);
	FUZZ_CHECK(strcmp(mp_secrets_file(s), NAME) == 0);
	/* Every entry line is found again, with a secret of an allowed length and alphabet. */
	const char *p = text, *end = text + size;
	size_t found = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *a = p, *b;

		while (a < e && (*a == ' ' || *a == '\t'))
			a++;
		if (a < e && *a != '#' && *a != '\r') {
			for (b = a; b < e && *b != ' ' && *b != '\t'; b++)
				;
			char *user = fuzz_strndup((const uint8_t *)a, (size_t)(b - a));
			const char *k = mp_secrets_get(s, user);
			FUZZ_CHECK(mp_chap_name_valid(user));
			FUZZ_CHECK(k != NULL);
			size_t kl = strlen(k);
			FUZZ_CHECK(kl >= MP_SECRET_MIN_LEN && kl <= MP_SECRET_MAX_LEN);
			for (size_t i = 0; i < kl; i++)
				FUZZ_CHECK(k[i] > ' ' && k[i] < 0x7f);
			free(user);
			found++;
		}
		p = nl ? nl + 1 : end;
	}
	FUZZ_CHECK(found == mp_secrets_count(s));
	mp_secrets_free(s);
	free(text);
	return 0;
}
