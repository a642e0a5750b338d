/* libFuzzer target: the INI configuration file parser mp_conf_parse(), then mp_conf_validate(), with contract checks. */
#include <string.h>

#include "tools/mpiscsid/config.h"
#include "tests/fuzz/fuzz_conf_check.h"

/*
 * The input is the file's text, handed over with its length and no NUL
 * terminator (exactly as mp_conf_load reads it), in a buffer of exactly that
 * size. A successful parse is parsed a second time into the same struct,
 * which exercises the reload path (disks copied, duplicates refused).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_conf c;
	char err[512];
	char *text = (char *)fuzz_dup(data, size);

	mp_conf_init(&c);
	memset(err, 0, sizeof(err));
	if (mp_conf_parse(&c, "fuzz.conf", text, size, err, sizeof(err)) < 0) {
		fuzz_check_err(err, sizeof(err));
		FUZZ_CHECK(strncmp(err, "fuzz.conf:", 10) == 0);
		/* "c is unchanged" on error. */
		FUZZ_CHECK(c.n_disks == 0 && c.disks == NULL);
		fuzz_check_conf(&c);
		goto out;
	}
	fuzz_check_conf(&c);
	FUZZ_CHECK(strcmp(c.file, "fuzz.conf") == 0);

	memset(err, 0, sizeof(err));
	if (mp_conf_validate(&c, err, sizeof(err)) < 0)
		fuzz_check_err(err, sizeof(err));

	size_t n = c.n_disks;
	memset(err, 0, sizeof(err));
	if (mp_conf_parse(&c, "again.conf", text, size, err, sizeof(err)) < 0) {
		fuzz_check_err(err, sizeof(err));
		FUZZ_CHECK(c.n_disks == n);
	}
	fuzz_check_conf(&c);
out:
	mp_conf_free(&c);
	free(text);
	return 0;
}
