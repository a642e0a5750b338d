/* libFuzzer target: both byte streams of an iSCSI connection through the PDU guard (initiator/pdu_guard.c). */
#include <errno.h>
#include <string.h>

#include "initiator/pdu_guard.h"
#include "tests/fuzz/fuzz_common.h"

/*
 * Input: one byte of per-service budget (low 3 bits, 0 = none), then records:
 * a byte c (bit 7: received from the target, else sent by us; low 7 bits the
 * length, 127 = a 16-bit big-endian length follows) and that many bytes.
 * Besides memory safety, the guard's contract is checked: in() returns 0 or
 * -1/EPROTO, a refusal is final and explained in printable text, a redirect
 * is reported only with a refusal, the budget pauses only between PDUs, and
 * the outcome does not depend on how the streams are cut (the input is run
 * twice, once per record and once in small chunks).
 */

struct outcome {
	bool failed;
	char err[256];
	char redirect[300];
	uint64_t in, out;
};

static void check_text(const char *s, size_t max)
{
	FUZZ_CHECK(s != NULL);
	size_t n = strnlen(s, max);
	FUZZ_CHECK(n > 0 && n < max);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

static int feed(struct mp_pdu_guard *g, bool in, const uint8_t *rec, size_t n, bool split, unsigned *k)
{
	uint8_t *copy = fuzz_dup(rec, n); /* exact-size heap copy: ASan sees a read past the record */
	const uint8_t *p = copy;
	int ret = 0;
	while (n) {
		size_t c = split ? 1 + (*k)++ % 7 : n;
		if (c > n)
			c = n;
		bool was_failed = mp_pdu_guard_failed(g);
		errno = 0;
		int rc = in ? mp_pdu_guard_in(g, p, c) : mp_pdu_guard_out(g, p, c);
		if (in) {
			FUZZ_CHECK(rc == 0 || (rc == -1 && errno == EPROTO));
			FUZZ_CHECK(!was_failed || rc == -1);
			FUZZ_CHECK(rc == 0 || mp_pdu_guard_failed(g));
		} else {
			FUZZ_CHECK(rc == 0 || (rc == -1 && errno == ENOMEM));
		}
		if (rc < 0) {
			ret = -1;
			break;
		}
		p += c;
		n -= c;
	}
	free(copy);
	return ret;
}

static void run(const uint8_t *data, size_t size, bool split, struct outcome *o)
{
	struct mp_pdu_guard *g = mp_pdu_guard_new();
	if (!g)
		abort();
	memset(o, 0, sizeof(*o));
	unsigned budget = size ? data[0] & 7 : 0;
	size_t i = size ? 1 : 0;
	unsigned k = 0;
	mp_pdu_guard_budget(g, budget);
	while (i < size) {
		uint8_t c = data[i++];
		size_t len = c & 0x7f;
		if (len == 0x7f) {
			if (size - i < 2)
				break;
			len = (size_t)data[i] << 8 | data[i + 1];
			i += 2;
		}
		if (len > size - i)
			len = size - i;
		bool in = c & 0x80;
		if (in && mp_pdu_guard_in_paused(g)) {
			/* Paused only with a budget, and only while no PDU is half received. */
			FUZZ_CHECK(budget > 0);
			mp_pdu_guard_budget(g, budget);
			FUZZ_CHECK(!mp_pdu_guard_in_paused(g));
		}
		if (feed(g, in, data + i, len, split, &k) < 0 && in)
			break;
		i += len;
	}
	o->failed = mp_pdu_guard_failed(g);
	if (o->failed) {
		check_text(mp_pdu_guard_error(g), 256);
		snprintf(o->err, sizeof(o->err), "%s", mp_pdu_guard_error(g));
		uint8_t z = 0x20;
		FUZZ_CHECK(mp_pdu_guard_in(g, &z, 1) == -1 && errno == EPROTO);
	} else {
		FUZZ_CHECK(mp_pdu_guard_error(g) == NULL);
	}
	const char *r = mp_pdu_guard_redirect(g);
	if (r) {
		FUZZ_CHECK(o->failed && strstr(o->err, "redirected to "));
		check_text(r, sizeof(o->redirect));
		FUZZ_CHECK(strrchr(r, ':') != NULL && strchr(r, ',') == NULL);
		snprintf(o->redirect, sizeof(o->redirect), "%s", r);
	}
	struct mp_pdu_guard_stats st;
	mp_pdu_guard_get_stats(g, &st);
	FUZZ_CHECK(st.outstanding <= st.pdus_out);
	FUZZ_CHECK(st.max_recv_dsl >= 512 && st.max_recv_dsl <= 16777215);
	FUZZ_CHECK(st.target_max_recv_dsl >= 512 && st.target_max_recv_dsl <= 16777215);
	FUZZ_CHECK(st.first_burst <= st.max_burst || !st.full_feature || o->failed);
	o->in = st.pdus_in;
	o->out = st.pdus_out;
	/* A reset guard is a new connection's. */
	mp_pdu_guard_reset(g);
	FUZZ_CHECK(!mp_pdu_guard_failed(g) && !mp_pdu_guard_redirect(g));
	mp_pdu_guard_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome a, b;
	run(data, size, false, &a);
	run(data, size, true, &b);
	FUZZ_CHECK(a.failed == b.failed);
	FUZZ_CHECK(strcmp(a.err, b.err) == 0);
	FUZZ_CHECK(strcmp(a.redirect, b.redirect) == 0);
	if (!a.failed)
		FUZZ_CHECK(a.in == b.in && a.out == b.out);
	return 0;
}
