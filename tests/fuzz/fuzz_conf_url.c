/* libFuzzer target: iscsi:// URLs through mp_conf_add_url(), one per input line, merged into one config. */
#include <string.h>

#include "tools/mpiscsid/config.h"
#include "tests/fuzz/fuzz_conf_check.h"

/*
 * Each line of the input is one URL as given on the command line (a C
 * string). Later URLs for the same target and LUN add portals to an earlier
 * disk, so several lines exercise the merge path and the portal limit.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_conf c;
	char err[512];
	const uint8_t *p = data, *end = data + size;

	mp_conf_init(&c);
	for (int lines = 0; p < end && lines < 64; lines++) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *url = fuzz_strndup(p, n);
		size_t before = c.n_disks;

		memset(err, 0, sizeof(err));
		if (mp_conf_add_url(&c, url, err, sizeof(err)) < 0) {
			fuzz_check_err(err, sizeof(err));
			FUZZ_CHECK(c.n_disks == before);
		} else {
			FUZZ_CHECK(c.n_disks == before || c.n_disks == before + 1);
			FUZZ_CHECK(c.n_disks > 0);
		}
		fuzz_check_conf(&c);
		free(url);
		p += n + (nl ? 1 : 0);
	}
	memset(err, 0, sizeof(err));
	if (mp_conf_validate(&c, err, sizeof(err)) < 0)
		fuzz_check_err(err, sizeof(err));
	mp_conf_free(&c);
	return 0;
}
