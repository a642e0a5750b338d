/* libFuzzer target: target-supplied REPORT TARGET PORT GROUPS answers through mp_rtpg_parse(), plus the STPG builder. */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "mpath/rtpg.h"
#include "tests/fuzz/fuzz_common.h"

/*
 * The input is one RTPG answer as received (len = bytes transferred), in a
 * buffer of exactly that size. Besides memory safety, the parser's contract
 * is checked: failure is EBADMSG with a zeroed result; on success the counts
 * stay in bounds, truncated says exactly len < data_len, the first kept
 * descriptor is the bytes right after the header, and a shorter prefix of the
 * same answer parses to a prefix of the same groups.
 */

static int parse(const uint8_t *b, size_t len, struct mp_rtpg *r)
{
	memset(r, 0xa5, sizeof(*r));
	errno = 0;
	int rc = mp_rtpg_parse(b, len, r);
	if (rc) {
		FUZZ_CHECK(rc == -1 && errno == EBADMSG);
		FUZZ_CHECK(fuzz_all_zero(r, sizeof(*r)));
	}
	return rc;
}

static void check_result(const uint8_t *b, size_t len, const struct mp_rtpg *r)
{
	FUZZ_CHECK(len >= 4);
	FUZZ_CHECK(r->data_len == (uint64_t)mp_be32(b) + 4);
	FUZZ_CHECK(r->truncated == (len < r->data_len));
	FUZZ_CHECK(r->n_groups <= MP_RTPG_MAX_GROUPS);
	FUZZ_CHECK(r->n_groups_total >= r->n_groups);
	FUZZ_CHECK(r->n_groups == (r->n_groups_total < MP_RTPG_MAX_GROUPS ? r->n_groups_total : MP_RTPG_MAX_GROUPS));
	/* Every group kept takes at least 8 received bytes. */
	FUZZ_CHECK(r->n_groups_total <= len / 8);
	if (r->extended) {
		FUZZ_CHECK(len >= 5 && ((b[4] >> 4) & 7) == 1 && r->data_len >= 8);
		FUZZ_CHECK(len >= 6 || r->implicit_trans_s == 0);
		FUZZ_CHECK(len < 6 || r->implicit_trans_s == b[5]);
	} else {
		FUZZ_CHECK(r->implicit_trans_s == 0);
	}
	for (size_t i = 0; i < r->n_groups; i++) {
		const struct mp_tpg_desc *d = &r->g[i];
		FUZZ_CHECK(d->state < 16);
		FUZZ_CHECK(strncmp(mp_alua_state_name(d->state), "reserved(>", 10) != 0);
		FUZZ_CHECK((d->supported & 0x20) == 0);
		FUZZ_CHECK(d->n_ports <= MP_RTPG_MAX_PORTS && d->n_ports <= d->port_count);
		/* Ports are dropped beyond MP_RTPG_MAX_PORTS, or one from LIO's last extended descriptor. */
		if (d->n_ports < MP_MIN(d->port_count, MP_RTPG_MAX_PORTS))
			FUZZ_CHECK(r->extended && i + 1 == r->n_groups_total && d->n_ports + 1 == d->port_count);
		const struct mp_tpg_desc *f = mp_rtpg_find(r, d->id);
		FUZZ_CHECK(f != NULL && f->id == d->id && f <= d);
	}
	if (r->n_groups > 0) {
		/* The first descriptor is the one right after the header. */
		const uint8_t *p = b + (r->extended ? 8 : 4);
		const struct mp_tpg_desc *d = &r->g[0];
		FUZZ_CHECK(d->id == mp_be16(p + 2) && d->state == (p[0] & 0x0f) && d->pref == !!(p[0] & 0x80));
		FUZZ_CHECK(d->status == p[5] && d->port_count == p[7]);
		if (d->n_ports > 0)
			FUZZ_CHECK(d->ports[0] == mp_be16(p + 10));
		FUZZ_CHECK((size_t)(p - b) + 8 + 4 * (size_t)d->n_ports <= len);
	}
}

/* A prefix of an accepted answer is a truncated answer with a prefix of its groups. */
static void check_prefix(const uint8_t *b, size_t cut, const struct mp_rtpg *whole)
{
	uint8_t *c = fuzz_dup(b, cut);
	struct mp_rtpg *r = malloc(sizeof(*r));
	if (!r)
		abort();
	int rc = parse(c, cut, r);
	FUZZ_CHECK(rc == 0);
	check_result(c, cut, r);
	FUZZ_CHECK(r->truncated == (cut < whole->data_len));
	FUZZ_CHECK(r->data_len == whole->data_len);
	FUZZ_CHECK(r->n_groups <= whole->n_groups && r->n_groups_total <= whole->n_groups_total);
	for (size_t i = 0; i < r->n_groups; i++)
		FUZZ_CHECK(memcmp(&r->g[i], &whole->g[i], sizeof(r->g[i])) == 0);
	free(r);
	free(c);
}

static void stpg(const uint8_t *data, size_t size)
{
	if (size < 4)
		return;
	uint8_t buf[16];
	size_t bsize = data[0] % (sizeof(buf) + 1);
	uint8_t state = data[1];
	uint16_t tpg = mp_be16(data + 2);
	memset(buf, 0xa5, sizeof(buf));
	errno = 0;
	int rc = mp_stpg_param_build(buf, bsize, tpg, state);
	bool settable = state <= 3 || state == 0xe;
	if (rc < 0) {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(settable ? errno == ENOSPC && bsize < 8 : errno == EINVAL);
		for (size_t i = 0; i < sizeof(buf); i++)
			FUZZ_CHECK(buf[i] == 0xa5);
		return;
	}
	FUZZ_CHECK(rc == 8 && settable && bsize >= 8);
	FUZZ_CHECK(fuzz_all_zero(buf, 4) && buf[4] == state && buf[5] == 0 && mp_be16(buf + 6) == tpg);
	FUZZ_CHECK(buf[8] == 0xa5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = fuzz_dup(data, size);
	struct mp_rtpg *r = malloc(sizeof(*r));
	if (!r)
		abort();

	if (parse(b, size, r) == 0) {
		check_result(b, size, r);
		if (size > 4) {
			check_prefix(b, size - 1, r);
			check_prefix(b, 4 + (size - 4) / 2, r);
		}
	}
	stpg(data, size);
	free(r);
	free(b);
	return 0;
}
