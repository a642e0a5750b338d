/* Unit tests of sense parsing and completion classification (mpath/classify.c), table-driven. */
#include <criterion/criterion.h>
#include <errno.h>
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

Test(classify, table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(cases); i++) {
		const struct ccase *c = &cases[i];
		struct mp_scsi_result r;
		memset(&r, 0, sizeof(r));
		r.xport = c->xport;
		r.status = c->status;
		memcpy(r.sense, c->sense, c->sense_len);
		r.sense_len = c->sense_len;
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
