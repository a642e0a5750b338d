/* libFuzzer target: SendTargets TargetAddress strings through mp_portal_parse(), with a format/parse round trip. */
#include <errno.h>
#include <string.h>

#include "initiator/discovery.h"
#include "tests/fuzz/fuzz_common.h"

static bool host_chars_ok(const struct mp_portal *p)
{
	for (const char *c = p->host; *c; c++) {
		if (p->ipv6 ? !(*c == ':' || *c == '.' || *c == '%' || (*c >= '0' && *c <= '9') ||
				(*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))
			    : !(*c == '.' || *c == '-' || (*c >= '0' && *c <= '9') ||
				(*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
			return false;
	}
	return true;
}

/*
 * The input is the address bytes as received (not NUL-terminated), in a
 * buffer of exactly that size. A parsed portal, formatted and parsed again,
 * must give the same portal.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)fuzz_dup(data, size);
	struct mp_portal p, untouched;

	memset(&p, 0xa5, sizeof(p));
	untouched = p;
	errno = 0;
	if (mp_portal_parse(s, size, &p) < 0) {
		FUZZ_CHECK(errno == EINVAL);
		FUZZ_CHECK(memcmp(&p, &untouched, sizeof(p)) == 0);
		free((void *)s);
		return 0;
	}
	FUZZ_CHECK(size > 0 && !memchr(s, '\0', size));
	FUZZ_CHECK(fuzz_terminated(p.host, sizeof(p.host)));
	FUZZ_CHECK(p.host[0] != '\0' && strlen(p.host) <= MP_PORTAL_HOST_MAX);
	FUZZ_CHECK(host_chars_ok(&p));
	FUZZ_CHECK(p.port >= 1);
	FUZZ_CHECK(p.has_tpgt || memchr(s, ',', size) == NULL);

	char buf[MP_PORTAL_HOST_MAX + 32];
	for (int with_tpgt = 0; with_tpgt <= 1; with_tpgt++) {
		int n = mp_portal_format(&p, with_tpgt, buf, sizeof(buf));
		FUZZ_CHECK(n > 0 && (size_t)n == strlen(buf));
		struct mp_portal q;
		memset(&q, 0, sizeof(q));
		FUZZ_CHECK(mp_portal_parse(buf, (size_t)n, &q) == 0);
		FUZZ_CHECK(strcmp(q.host, p.host) == 0 && q.port == p.port && q.ipv6 == p.ipv6);
		FUZZ_CHECK(q.has_tpgt == (with_tpgt && p.has_tpgt));
		if (q.has_tpgt)
			FUZZ_CHECK(q.tpgt == p.tpgt);
	}
	/* Too small a buffer: ENOSPC and "". */
	char tiny[4];
	memset(tiny, 'x', sizeof(tiny));
	errno = 0;
	int n = mp_portal_format(&p, true, tiny, sizeof(tiny));
	if (n < 0)
		FUZZ_CHECK(errno == ENOSPC && tiny[0] == '\0');
	else
		FUZZ_CHECK((size_t)n < sizeof(tiny) && fuzz_terminated(tiny, sizeof(tiny)));
	free((void *)s);
	return 0;
}
