/* Unit tests of sense parsing and completion classification (mpath/classify.c), table-driven. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "mpath/classify.h"

struct ccase {
	const char *name;
	enum mp_xport xport;
	uint8_t status;
	uint8_t sense[32];
	uint8_t sense_len;
	enum mp_verdict want;
	int want_err;
};

#define FIXED(k, a, q) { 0x70, 0, (k), 0, 0, 0, 0, 10, 0, 0, 0, 0, (a), (q), 0, 0, 0, 0 }, 18
#define DESC(k, a, q) { 0x72, (k), (a), (q), 0, 0, 0, 0 }, 8

static const struct ccase cases[] = {
	{ "good", MP_XPORT_OK, 0x00, { 0 }, 0, MP_V_OK, 0 },
	{ "condition met", MP_XPORT_OK, 0x04, { 0 }, 0, MP_V_OK, 0 },
	{ "cancelled", MP_XPORT_CANCELLED, 0, { 0 }, 0, MP_V_PATH_ERROR, 0 },
	{ "transport error", MP_XPORT_ERROR, 0, { 0 }, 0, MP_V_PATH_ERROR, 0 },
	{ "timeout", MP_XPORT_TIMEOUT, 0, { 0 }, 0, MP_V_PATH_ERROR, 0 },
	{ "busy", MP_XPORT_OK, 0x08, { 0 }, 0, MP_V_RETRY, 0 },
	{ "task set full", MP_XPORT_OK, 0x28, { 0 }, 0, MP_V_RETRY, 0 },
	{ "reservation conflict", MP_XPORT_OK, 0x18, { 0 }, 0, MP_V_RESV_CONFLICT, EIO },
	{ "check condition, no sense", MP_XPORT_OK, 0x02, { 0 }, 0, MP_V_PATH_ERROR, 0 },
	{ "check condition, garbage sense", MP_XPORT_OK, 0x02, { 0x12, 0x34 }, 2, MP_V_PATH_ERROR, 0 },
	{ "recovered error", MP_XPORT_OK, 0x02, FIXED(0x1, 0x17, 0x01), MP_V_OK, 0 },
	{ "UA ALUA changed 2A/06", MP_XPORT_OK, 0x02, FIXED(0x6, 0x2a, 0x06), MP_V_RETRY, 0 },
	{ "UA 2A/07", MP_XPORT_OK, 0x02, FIXED(0x6, 0x2a, 0x07), MP_V_RETRY, 0 },
	{ "UA reset 29/00 (descriptor)", MP_XPORT_OK, 0x02, DESC(0x6, 0x29, 0x00), MP_V_RETRY, 0 },
	{ "ALUA transitioning 04/0A", MP_XPORT_OK, 0x02, FIXED(0x2, 0x04, 0x0a), MP_V_RETRY, 0 },
	{ "standby 04/0B", MP_XPORT_OK, 0x02, FIXED(0x2, 0x04, 0x0b), MP_V_ALUA_STATE, 0 },
	{ "unavailable 04/0C", MP_XPORT_OK, 0x02, FIXED(0x2, 0x04, 0x0c), MP_V_ALUA_STATE, 0 },
	{ "port offline 04/12", MP_XPORT_OK, 0x02, FIXED(0x2, 0x04, 0x12), MP_V_ALUA_STATE, 0 },
	{ "medium not present", MP_XPORT_OK, 0x02, FIXED(0x2, 0x3a, 0x00), MP_V_DEVICE_ERROR, EIO },
	{ "medium error", MP_XPORT_OK, 0x02, FIXED(0x3, 0x11, 0x00), MP_V_DEVICE_ERROR, EIO },
	{ "hardware error", MP_XPORT_OK, 0x02, FIXED(0x4, 0x44, 0x00), MP_V_DEVICE_ERROR, EIO },
	{ "write protected", MP_XPORT_OK, 0x02, FIXED(0x7, 0x27, 0x00), MP_V_DEVICE_ERROR, EPERM },
	{ "space allocation failed", MP_XPORT_OK, 0x02, FIXED(0x7, 0x27, 0x07), MP_V_DEVICE_ERROR, ENOSPC },
	{ "LBA out of range", MP_XPORT_OK, 0x02, FIXED(0x5, 0x21, 0x00), MP_V_DEVICE_ERROR, EINVAL },
	{ "invalid opcode", MP_XPORT_OK, 0x02, FIXED(0x5, 0x20, 0x00), MP_V_DEVICE_ERROR, ENOTSUP },
	{ "aborted command", MP_XPORT_OK, 0x02, FIXED(0xb, 0x47, 0x00), MP_V_RETRY, 0 },
	{ "fixed sense too short for ASC", MP_XPORT_OK, 0x02, { 0x70, 0, 0x3 }, 3, MP_V_DEVICE_ERROR, EIO },
	{ "ACA active", MP_XPORT_OK, 0x30, { 0 }, 0, MP_V_DEVICE_ERROR, EIO },
};

/* A completion as a path hands it to the core: sense bytes are copied in, the rest is zero. */
static struct mp_scsi_result result_of(enum mp_xport xport, uint8_t status, const uint8_t *sense, uint8_t len)
{
	struct mp_scsi_result r;
	memset(&r, 0, sizeof(r));
	r.xport = xport;
	r.status = status;
	memcpy(r.sense, sense, len);
	r.sense_len = len;
	return r;
}

Test(classify, table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(cases); i++) {
		const struct ccase *c = &cases[i];
		struct mp_scsi_result r = result_of(c->xport, c->status, c->sense, c->sense_len);
		int err = -1;
		enum mp_verdict v = mp_classify(&r, &err);
		cr_expect_eq(v, c->want, "%s: got %s, want %s", c->name, mp_verdict_name(v), mp_verdict_name(c->want));
		cr_expect_eq(err, c->want_err, "%s: errno %d, want %d", c->name, err, c->want_err);
	}
}

Test(classify, sense_parse_formats_and_truncation)
{
	struct mp_sense s;
	const uint8_t fixed[18] = { 0xf0, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a, 0x06 };
	cr_assert_eq(mp_sense_parse(fixed, sizeof(fixed), &s), 0);
	cr_assert(s.valid && s.key == 6 && s.asc == 0x2a && s.ascq == 0x06);
	const uint8_t desc[8] = { 0x72, 0x02, 0x04, 0x0b };
	cr_assert_eq(mp_sense_parse(desc, sizeof(desc), &s), 0);
	cr_assert(s.key == 2 && s.asc == 4 && s.ascq == 0x0b);
	cr_assert_eq(mp_sense_parse(desc, 3, &s), -1, "descriptor sense shorter than 4 bytes");
	cr_assert_eq(mp_sense_parse(fixed, 1, &s), -1);
	cr_assert_eq(mp_sense_parse(NULL, 18, &s), -1);
	const uint8_t bad[4] = { 0x7f, 1, 2, 3 };
	cr_assert_eq(mp_sense_parse(bad, sizeof(bad), &s), -1, "unknown response code");
	/* Additional length too small to hold ASC/ASCQ: key only. */
	const uint8_t shortadd[18] = { 0x70, 0, 0x03, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0x11, 0x00 };
	cr_assert_eq(mp_sense_parse(shortadd, sizeof(shortadd), &s), 0);
	cr_assert(s.key == 3 && s.asc == 0);
}

/* ---- struct mp_completion: what each ALUA sense and unit attention implies ---- */

/* One sense the target may send, and every field of the completion it must give. */
struct scase {
	const char *name;
	uint8_t key, asc, ascq;
	enum mp_verdict verdict;
	int err;
	enum mp_port_alua alua;
	enum mp_ua ua;
};

static const struct scase senses[] = {
	/* NOT READY: the four ALUA port states, and two that are not ALUA. */
	{ "04/0A transitioning", MP_SK_NOT_READY, 0x04, 0x0a, MP_V_RETRY, 0, MP_PORT_TRANSITIONING, MP_UA_NONE },
	{ "04/0B standby", MP_SK_NOT_READY, 0x04, 0x0b, MP_V_ALUA_STATE, 0, MP_PORT_STANDBY, MP_UA_NONE },
	{ "04/0C unavailable", MP_SK_NOT_READY, 0x04, 0x0c, MP_V_ALUA_STATE, 0, MP_PORT_UNAVAILABLE, MP_UA_NONE },
	{ "04/12 offline", MP_SK_NOT_READY, 0x04, 0x12, MP_V_ALUA_STATE, 0, MP_PORT_OFFLINE, MP_UA_NONE },
	{ "04/01 becoming ready", MP_SK_NOT_READY, 0x04, 0x01, MP_V_RETRY, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "04/03 manual intervention", MP_SK_NOT_READY, 0x04, 0x03, MP_V_PATH_ERROR, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "NOT READY 3A/00 no medium", MP_SK_NOT_READY, 0x3a, 0x00, MP_V_DEVICE_ERROR, EIO, MP_PORT_ALUA_NONE,
	  MP_UA_NONE },
	/* UNIT ATTENTION: each kind. */
	{ "UA 2A/06 ALUA changed", MP_SK_UNIT_ATTENTION, 0x2a, 0x06, MP_V_RETRY, 0, MP_PORT_ALUA_NONE,
	  MP_UA_ALUA_CHANGED },
	{ "UA 2A/07 implicit transition failed", MP_SK_UNIT_ATTENTION, 0x2a, 0x07, MP_V_RETRY, 0,
	  MP_PORT_ALUA_NONE, MP_UA_ALUA_TRANSITION_FAILED },
	{ "UA 29/00 power on, reset", MP_SK_UNIT_ATTENTION, 0x29, 0x00, MP_V_RETRY, 0, MP_PORT_ALUA_NONE, MP_UA_RESET },
	{ "UA 29/01 power on", MP_SK_UNIT_ATTENTION, 0x29, 0x01, MP_V_RETRY, 0, MP_PORT_ALUA_NONE, MP_UA_RESET },
	{ "UA 29/02 bus reset", MP_SK_UNIT_ATTENTION, 0x29, 0x02, MP_V_RETRY, 0, MP_PORT_ALUA_NONE, MP_UA_RESET },
	{ "UA 29/03 device reset", MP_SK_UNIT_ATTENTION, 0x29, 0x03, MP_V_RETRY, 0, MP_PORT_ALUA_NONE, MP_UA_RESET },
	{ "UA 29/07 I_T nexus loss", MP_SK_UNIT_ATTENTION, 0x29, 0x07, MP_V_RETRY, 0, MP_PORT_ALUA_NONE, MP_UA_RESET },
	{ "UA 3F/0E LUNs changed", MP_SK_UNIT_ATTENTION, 0x3f, 0x0e, MP_V_RETRY, 0, MP_PORT_ALUA_NONE,
	  MP_UA_LUNS_CHANGED },
	{ "UA 2A/00 parameters changed", MP_SK_UNIT_ATTENTION, 0x2a, 0x00, MP_V_RETRY, 0, MP_PORT_ALUA_NONE,
	  MP_UA_PARAMS_CHANGED },
	{ "UA 2A/01 mode parameters changed", MP_SK_UNIT_ATTENTION, 0x2a, 0x01, MP_V_RETRY, 0, MP_PORT_ALUA_NONE,
	  MP_UA_PARAMS_CHANGED },
	{ "UA 2A/09 capacity changed", MP_SK_UNIT_ATTENTION, 0x2a, 0x09, MP_V_RETRY, 0, MP_PORT_ALUA_NONE,
	  MP_UA_PARAMS_CHANGED },
	{ "UA 2A/03 reservations preempted", MP_SK_UNIT_ATTENTION, 0x2a, 0x03, MP_V_RETRY, 0, MP_PORT_ALUA_NONE,
	  MP_UA_OTHER },
	{ "UA 3F/03 inquiry data changed", MP_SK_UNIT_ATTENTION, 0x3f, 0x03, MP_V_RETRY, 0, MP_PORT_ALUA_NONE,
	  MP_UA_OTHER },
	/* The sense key decides: an ALUA pair under another key implies nothing. */
	{ "UA key with 04/0B", MP_SK_UNIT_ATTENTION, 0x04, 0x0b, MP_V_RETRY, 0, MP_PORT_ALUA_NONE, MP_UA_OTHER },
	{ "NOT READY key with 2A/06", MP_SK_NOT_READY, 0x2a, 0x06, MP_V_PATH_ERROR, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "ILLEGAL REQUEST 3F/0E", MP_SK_ILLEGAL_REQUEST, 0x3f, 0x0e, MP_V_DEVICE_ERROR, EINVAL, MP_PORT_ALUA_NONE,
	  MP_UA_NONE },
	{ "DATA PROTECT 27/07 space allocation failed", MP_SK_DATA_PROTECT, 0x27, 0x07, MP_V_DEVICE_ERROR, ENOSPC,
	  MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "RECOVERED ERROR", MP_SK_RECOVERED_ERROR, 0x17, 0x01, MP_V_OK, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
};

/* Sense data in the formats a target may use: fixed (with and without VALID), descriptor. */
enum sense_fmt { FMT_FIXED, FMT_FIXED_VALID, FMT_DESC, FMT_COUNT };
static const char *const fmt_names[FMT_COUNT] = { "fixed", "fixed+VALID", "descriptor" };

static uint8_t put_sense(uint8_t *b, enum sense_fmt f, uint8_t key, uint8_t asc, uint8_t ascq)
{
	if (f == FMT_DESC) {
		const uint8_t d[8] = { 0x72, key, asc, ascq, 0, 0, 0, 0 };
		memcpy(b, d, sizeof(d));
		return sizeof(d);
	}
	const uint8_t x[18] = { f == FMT_FIXED ? 0x70 : 0xf0, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq };
	memcpy(b, x, sizeof(x));
	return sizeof(x);
}

static void check_completion(const char *what, const struct mp_scsi_result *r, const struct mp_completion *c,
			     enum mp_verdict verdict, int err, int valid, uint8_t key, uint8_t asc, uint8_t ascq,
			     enum mp_port_alua alua, enum mp_ua ua)
{
	cr_expect_eq(c->verdict, verdict, "%s: verdict %s, want %s", what, mp_verdict_name(c->verdict),
		     mp_verdict_name(verdict));
	cr_expect_eq(c->err, err, "%s: errno %d, want %d", what, c->err, err);
	cr_expect_eq(c->sense.valid, valid, "%s: sense.valid %d, want %d", what, c->sense.valid, valid);
	cr_expect_eq(c->sense.key, key, "%s: key %x, want %x", what, c->sense.key, key);
	cr_expect_eq(c->sense.asc, asc, "%s: ASC %02x, want %02x", what, c->sense.asc, asc);
	cr_expect_eq(c->sense.ascq, ascq, "%s: ASCQ %02x, want %02x", what, c->sense.ascq, ascq);
	cr_expect_eq(c->alua, alua, "%s: ALUA state %d, want %d", what, (int)c->alua, (int)alua);
	cr_expect_eq(c->ua, ua, "%s: unit attention %d, want %d", what, (int)c->ua, (int)ua);
	/* The thin wrapper says the same. */
	int e = -1;
	cr_expect_eq(mp_classify(r, &e), verdict, "%s: mp_classify disagrees", what);
	cr_expect_eq(e, err, "%s: mp_classify errno %d, want %d", what, e, err);
}

Test(classify, completion_fields_for_alua_and_unit_attention_senses)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(senses); i++) {
		const struct scase *s = &senses[i];
		for (int f = 0; f < FMT_COUNT; f++) {
			char what[96];
			snprintf(what, sizeof(what), "%s (%s)", s->name, fmt_names[f]);
			uint8_t b[MP_SENSE_MAX];
			uint8_t n = put_sense(b, (enum sense_fmt)f, s->key, s->asc, s->ascq);
			struct mp_scsi_result r = result_of(MP_XPORT_OK, MP_ST_CHECK_CONDITION, b, n);
			struct mp_completion c;
			memset(&c, 0xa5, sizeof(c)); /* every field must be written */
			mp_classify_completion(&r, &c);
			check_completion(what, &r, &c, s->verdict, s->err, 1, s->key, s->asc, s->ascq, s->alua, s->ua);
		}
	}
}

/* Completions whose sense is absent, short, malformed or beside the point. */
struct mcase {
	const char *name;
	enum mp_xport xport;
	uint8_t status;
	uint8_t sense[20];
	uint8_t sense_len;
	enum mp_verdict verdict;
	int err;
	int valid;
	uint8_t key, asc, ascq;
	enum mp_port_alua alua;
	enum mp_ua ua;
};

static const struct mcase malformed[] = {
	{ "CHECK CONDITION, no sense", MP_XPORT_OK, MP_ST_CHECK_CONDITION, { 0 }, 0, MP_V_PATH_ERROR, 0, 0, 0, 0, 0,
	  MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "one byte", MP_XPORT_OK, MP_ST_CHECK_CONDITION, { 0x70 }, 1, MP_V_PATH_ERROR, 0, 0, 0, 0, 0,
	  MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "unknown response code", MP_XPORT_OK, MP_ST_CHECK_CONDITION, { 0x7f, 0x06, 0x2a, 0x06 }, 4,
	  MP_V_PATH_ERROR, 0, 0, 0, 0, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "descriptor, 3 bytes", MP_XPORT_OK, MP_ST_CHECK_CONDITION, { 0x72, 0x02, 0x04 }, 3, MP_V_PATH_ERROR, 0, 0,
	  0, 0, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	/* Fixed format cut before the ASC: the key alone still says "unit attention"... */
	{ "fixed UA, key only", MP_XPORT_OK, MP_ST_CHECK_CONDITION, { 0x70, 0, 0x06 }, 3, MP_V_RETRY, 0, 1,
	  MP_SK_UNIT_ATTENTION, 0, 0, MP_PORT_ALUA_NONE, MP_UA_OTHER },
	/* ...but a NOT READY without its ASC/ASCQ names no port state. */
	{ "fixed NOT READY, key only", MP_XPORT_OK, MP_ST_CHECK_CONDITION, { 0x70, 0, 0x02 }, 3, MP_V_PATH_ERROR, 0,
	  1, MP_SK_NOT_READY, 0, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "fixed 04/0B cut after the ASC", MP_XPORT_OK, MP_ST_CHECK_CONDITION,
	  { 0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04 }, 13, MP_V_PATH_ERROR, 0, 1, MP_SK_NOT_READY, 0, 0,
	  MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "fixed 04/0B beyond the additional length", MP_XPORT_OK, MP_ST_CHECK_CONDITION,
	  { 0x70, 0, 0x02, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0x04, 0x0b }, 18, MP_V_PATH_ERROR, 0, 1, MP_SK_NOT_READY, 0, 0,
	  MP_PORT_ALUA_NONE, MP_UA_NONE },
	/* Sense bytes count only with CHECK CONDITION on a working transport. */
	{ "transport error with 04/0B sense", MP_XPORT_ERROR, MP_ST_CHECK_CONDITION, { 0x72, 0x02, 0x04, 0x0b }, 4,
	  MP_V_PATH_ERROR, 0, 0, 0, 0, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "cancelled with 2A/06 sense", MP_XPORT_CANCELLED, 0, { 0x72, 0x06, 0x2a, 0x06 }, 4, MP_V_PATH_ERROR, 0, 0,
	  0, 0, 0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "GOOD with 2A/06 sense", MP_XPORT_OK, MP_ST_GOOD, { 0x72, 0x06, 0x2a, 0x06 }, 4, MP_V_OK, 0, 0, 0, 0, 0,
	  MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "BUSY with 04/0A sense", MP_XPORT_OK, MP_ST_BUSY, { 0x72, 0x02, 0x04, 0x0a }, 4, MP_V_RETRY, 0, 0, 0, 0, 0,
	  MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "reservation conflict", MP_XPORT_OK, MP_ST_RESERVATION_CONFLICT, { 0 }, 0, MP_V_RESV_CONFLICT, EIO, 0, 0, 0,
	  0, MP_PORT_ALUA_NONE, MP_UA_NONE },
	{ "ACA ACTIVE", MP_XPORT_OK, MP_ST_ACA_ACTIVE, { 0 }, 0, MP_V_DEVICE_ERROR, EIO, 0, 0, 0, 0,
	  MP_PORT_ALUA_NONE, MP_UA_NONE },
};

Test(classify, completion_fields_for_short_malformed_and_irrelevant_sense)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(malformed); i++) {
		const struct mcase *m = &malformed[i];
		struct mp_scsi_result r = result_of(m->xport, m->status, m->sense, m->sense_len);
		struct mp_completion c;
		memset(&c, 0xa5, sizeof(c));
		mp_classify_completion(&r, &c);
		check_completion(m->name, &r, &c, m->verdict, m->err, m->valid, m->key, m->asc, m->ascq, m->alua,
				 m->ua);
	}
}
