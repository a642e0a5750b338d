/* libFuzzer target: target-supplied REPORT LUNS answers through mp_report_luns_parse(), plus the CDB builder. */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "initiator/report_luns.h"
#include "tests/fuzz/fuzz_common.h"

/*
 * The input is one REPORT LUNS answer as received (len = bytes transferred),
 * in a buffer of exactly that size; its reserved header byte 4, when it
 * arrived, also picks max (so that "max reached" is explored). Besides
 * memory safety the contract is checked: failure is EBADMSG with zeroed outputs and only for a
 * short header or a list length that is not a multiple of 8; on success need
 * is the list length + 8 (saturated), the LUNs are distinct, in range, in
 * list order, each decodes back from its libiscsi wire value, n + skipped
 * never exceeds the whole entries that arrived, and a shorter prefix of the
 * same answer yields a prefix of the same LUNs.
 */

#define OUT_MAX 300

struct res {
	int rc;
	uint32_t out[OUT_MAX + 1];
	size_t n, skipped;
	uint32_t need;
};

static void parse(const uint8_t *b, size_t len, size_t max, struct res *r)
{
	for (size_t i = 0; i <= OUT_MAX; i++)
		r->out[i] = 0xdeadbeef;
	r->n = r->skipped = 777;
	r->need = 777;
	errno = 0;
	r->rc = mp_report_luns_parse(b, len, r->out, max, &r->n, &r->need, &r->skipped);
	if (r->rc) {
		FUZZ_CHECK(r->rc == -1 && errno == EBADMSG);
		FUZZ_CHECK(r->n == 0 && r->need == 0 && r->skipped == 0);
		FUZZ_CHECK(len < 8 || mp_be32(b) % 8 != 0);
	} else {
		FUZZ_CHECK(r->rc == 0);
		FUZZ_CHECK(len >= 8 && mp_be32(b) % 8 == 0);
	}
	FUZZ_CHECK(r->out[max] == 0xdeadbeef); /* never past max */
}

/* The LUN an entry holds if the parser decodes it (single level, peripheral bus 0 or flat space). */
static bool ref_decode(const uint8_t *e, uint32_t *lun)
{
	if (!fuzz_all_zero(e + 2, 6))
		return false;
	if (e[0] >> 6 == 0 && (e[0] & 0x3f) == 0) {
		*lun = e[1];
		return true;
	}
	if (e[0] >> 6 == 1) {
		*lun = (uint32_t)(e[0] & 0x3f) << 8 | e[1];
		return true;
	}
	return false;
}

static void check_ok(const uint8_t *b, size_t len, size_t max, const struct res *r)
{
	uint32_t ll = mp_be32(b);
	FUZZ_CHECK(r->need == (ll > UINT32_MAX - 8 ? UINT32_MAX : ll + 8));
	FUZZ_CHECK(r->n <= max);
	size_t avail = MP_MIN((size_t)ll, len - 8) / 8;
	FUZZ_CHECK(r->n + r->skipped <= avail);
	/* Walk the list as the reference decoder would and compare LUN by LUN. */
	size_t k = 0, skip = 0;
	for (size_t i = 0; i < avail && k < max; i++) {
		uint32_t lun;
		if (!ref_decode(b + 8 + 8 * i, &lun)) {
			skip++;
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup |= r->out[j] == lun;
		if (dup)
			continue;
		FUZZ_CHECK(k < r->n && r->out[k] == lun);
		k++;
	}
	FUZZ_CHECK(k == r->n);
	FUZZ_CHECK(skip == r->skipped);
	for (size_t i = 0; i < r->n; i++) {
		FUZZ_CHECK(r->out[i] <= MP_REPORT_LUNS_MAX_LUN);
		/* libiscsi sends the wire value as BHS LUN bytes 0..1: it decodes to the same LUN. */
		uint8_t e[8] = { 0 };
		mp_put_be16(e, (uint16_t)mp_report_luns_wire(r->out[i]));
		uint32_t back;
		FUZZ_CHECK(ref_decode(e, &back) && back == r->out[i]);
	}
}

static void check_prefix(const uint8_t *b, size_t cut, size_t max, const struct res *whole)
{
	uint8_t *c = fuzz_dup(b, cut);
	struct res *r = malloc(sizeof(*r));
	if (!r)
		abort();
	parse(c, cut, max, r);
	FUZZ_CHECK(r->rc == 0);
	check_ok(c, cut, max, r);
	FUZZ_CHECK(r->need == whole->need);
	FUZZ_CHECK(r->n <= whole->n);
	FUZZ_CHECK(memcmp(r->out, whole->out, r->n * sizeof(r->out[0])) == 0);
	free(r);
	free(c);
}

static void cdb(const uint8_t *data, size_t size)
{
	if (size < 4)
		return;
	uint8_t c[13];
	memset(c, 0xa5, sizeof(c));
	uint32_t alloc = mp_be32(data);
	mp_report_luns_cdb(c, alloc);
	FUZZ_CHECK(c[0] == 0xa0 && fuzz_all_zero(c + 1, 5) && mp_be32(c + 6) == alloc && c[10] == 0 && c[11] == 0);
	FUZZ_CHECK(c[12] == 0xa5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = fuzz_dup(data, size);
	struct res *r = malloc(sizeof(*r));
	if (!r)
		abort();
	/* Mostly room for every LUN of a small answer; sometimes a small max. */
	size_t max = size > 4 && (data[4] & 0x80) ? data[4] % 8 : OUT_MAX;

	parse(b, size, max, r);
	if (r->rc == 0) {
		check_ok(b, size, max, r);
		if (size > 8) {
			check_prefix(b, size - 1, max, r);
			check_prefix(b, 8 + (size - 8) / 2, max, r);
		}
	}
	cdb(data, size);
	free(r);
	free(b);
	return 0;
}
