/* libFuzzer target: SCSI sense data through mp_sense_parse() and whole completions through mp_classify_completion(). */
#include <errno.h>
#include <string.h>

#include "mpath/classify.h"
#include "tests/fuzz/fuzz_common.h"

/*
 * Input: byte 0 the transport outcome (mod 4), byte 1 the SAM status, the
 * rest the sense bytes as the target sent them. The sense bytes are parsed
 * on their own from a buffer of exactly their size (to catch over-reads),
 * then classified as the core would see them in struct mp_scsi_result.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t slen = size - 2;
	uint8_t *sense = fuzz_dup(data + 2, slen);

	struct mp_sense s;
	memset(&s, 0xa5, sizeof(s));
	int rc = mp_sense_parse(sense, slen, &s);
	if (rc == 0) {
		FUZZ_CHECK(s.valid == 1);
		FUZZ_CHECK(s.key <= 0x0f);
		uint8_t code = sense[0] & 0x7f;
		FUZZ_CHECK(code >= 0x70 && code <= 0x73);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(s.valid == 0 && s.key == 0 && s.asc == 0 && s.ascq == 0);
	}

	struct mp_scsi_result res;
	memset(&res, 0, sizeof(res));
	res.xport = (enum mp_xport)(data[0] & 3);
	res.status = data[1];
	res.sense_len = (uint8_t)(slen < MP_SENSE_MAX ? slen : MP_SENSE_MAX);
	memcpy(res.sense, sense, res.sense_len);
	int err = -12345;
	enum mp_verdict v = mp_classify(&res, &err);

	FUZZ_CHECK(v >= MP_V_OK && v <= MP_V_RESV_CONFLICT);
	FUZZ_CHECK(strcmp(mp_verdict_name(v), "?") != 0);
	/* err is a positive errno exactly for the verdicts that complete with an error. */
	if (v == MP_V_DEVICE_ERROR || v == MP_V_RESV_CONFLICT)
		FUZZ_CHECK(err > 0);
	else
		FUZZ_CHECK(err == 0);
	/* A transport failure is always a path error, and GOOD on a working transport is OK. */
	if (res.xport != MP_XPORT_OK)
		FUZZ_CHECK(v == MP_V_PATH_ERROR);
	else if (res.status == 0x00)
		FUZZ_CHECK(v == MP_V_OK);
	else if (res.status == 0x18)
		FUZZ_CHECK(v == MP_V_RESV_CONFLICT);
	if (v == MP_V_RESV_CONFLICT)
		FUZZ_CHECK(res.status == 0x18);
	/* Sense only matters with CHECK CONDITION: unparseable sense is a path error then. */
	if (res.xport == MP_XPORT_OK && res.status == 0x02) {
		struct mp_sense s2;
		if (mp_sense_parse(res.sense, res.sense_len, &s2) < 0)
			FUZZ_CHECK(v == MP_V_PATH_ERROR);
		else if (s2.key == 0x0 || s2.key == 0x1)
			FUZZ_CHECK(v == MP_V_OK);
		else if (s2.key == 0x6)
			FUZZ_CHECK(v == MP_V_RETRY);
	}

	/* The whole completion: the wrapper's answer, and what the sense may imply. */
	struct mp_completion c;
	memset(&c, 0xa5, sizeof(c));
	mp_classify_completion(&res, &c);
	FUZZ_CHECK(c.verdict == v && c.err == err);
	if (res.xport != MP_XPORT_OK || res.status != MP_ST_CHECK_CONDITION || !c.sense.valid) {
		/* No usable sense: every sense field zero, nothing implied. */
		FUZZ_CHECK(c.sense.valid == 0 && c.sense.key == 0 && c.sense.asc == 0 && c.sense.ascq == 0);
		FUZZ_CHECK(c.alua == MP_PORT_ALUA_NONE && c.ua == MP_UA_NONE);
	}
	/* A port state only from NOT READY 04/xx, a unit attention kind exactly for that key. */
	if (c.alua != MP_PORT_ALUA_NONE)
		FUZZ_CHECK(c.sense.key == MP_SK_NOT_READY && c.sense.asc == MP_ASC_LU_NOT_READY &&
			   (c.verdict == MP_V_RETRY || c.verdict == MP_V_ALUA_STATE));
	FUZZ_CHECK(c.alua <= MP_PORT_OFFLINE && c.ua <= MP_UA_OTHER);
	FUZZ_CHECK((c.ua != MP_UA_NONE) == (c.sense.valid && c.sense.key == MP_SK_UNIT_ATTENTION));
	free(sense);
	return 0;
}
