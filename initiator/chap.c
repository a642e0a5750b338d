/* CHAP credentials for a libiscsi context, and recognising a login that failed authentication from libiscsi's error text. */
#include "initiator/chap.h"

#include <iscsi/iscsi.h>
#include <string.h>

/* libiscsi 1.19 copies names and secrets into fields of MAX_STRING_SIZE (255) bytes. */
#define LIBISCSI_STRING_MAX 255

static bool fits(const char *s)
{
	return s && s[0] && strnlen(s, LIBISCSI_STRING_MAX + 1) <= LIBISCSI_STRING_MAX;
}

int mp_iscsi_chap_apply(struct iscsi_context *ctx, const struct mp_iscsi_chap *c)
{
	bool mutual = c->mutual_user || c->mutual_secret;

	if (!fits(c->user) || !fits(c->secret) || (mutual && (!fits(c->mutual_user) || !fits(c->mutual_secret))))
		return -1;
	if (iscsi_set_initiator_username_pwd(ctx, c->user, c->secret) != 0)
		return -1;
	/* libiscsi asks for the target's CHAP only when a target user is set. */
	if (mutual && iscsi_set_target_username_pwd(ctx, c->mutual_user, c->mutual_secret) != 0)
		return -1;
	return 0;
}

/*
 * libiscsi 1.19 reports a login failure only as text (the callback gets
 * SCSI_STATUS_ERROR): "Failed to log in to target. Status: Authentication
 * failure(513)" for a login response with status class 2 detail 1 (RFC 7143
 * 11.13.5; 513 = 0x0201), and, when it checks the target's side of mutual CHAP
 * itself, "Wrong CHAP targetname received", "Invalid CHAP_R response from the
 * target", "Wrong size of CHAP_R" or "did not return CHAP_N/CHAP_R during SECNEG".
 */
enum mp_iscsi_auth_fail mp_iscsi_auth_failure(const char *e)
{
	static const char *const mutual[] = {
		"Wrong CHAP targetname", "Invalid CHAP_R", "Wrong size of CHAP_R",
		"did not return CHAP_N", "did not return CHAP_R",
	};

	if (!e)
		return MP_AUTH_FAIL_NONE;
	if (strstr(e, "Authentication failure(513)"))
		return MP_AUTH_FAIL_REFUSED;
	for (size_t i = 0; i < sizeof(mutual) / sizeof(mutual[0]); i++)
		if (strstr(e, mutual[i]))
			return MP_AUTH_FAIL_MUTUAL;
	return MP_AUTH_FAIL_NONE;
}

const char *mp_iscsi_auth_fail_text(enum mp_iscsi_auth_fail f)
{
	switch (f) {
	case MP_AUTH_FAIL_REFUSED: return "CHAP authentication failed";
	case MP_AUTH_FAIL_MUTUAL: return "mutual CHAP authentication failed";
	case MP_AUTH_FAIL_NONE: break;
	}
	return "login failed";
}
