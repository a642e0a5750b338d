/* Unit tests for initiator/chap.c: which libiscsi login errors are authentication failures, and the credential checks. */
#include <criterion/criterion.h>
#include <iscsi/iscsi.h>
#include <string.h>

#include "initiator/chap.h"

/* Texts libiscsi 1.19 leaves in iscsi_get_error() after a failed login (as seen against tgtd and LIO). */
static const struct { const char *err; enum mp_iscsi_auth_fail want; } cases[] = {
	{ "Failed to log in to target. Status: Authentication failure(513)", MP_AUTH_FAIL_REFUSED },
	{ "Authentication failed. Invalid CHAP_R response from the target", MP_AUTH_FAIL_MUTUAL },
	{ "Failed to log in to target. Wrong CHAP targetname received: outuser", MP_AUTH_FAIL_MUTUAL },
	{ "Wrong size of CHAP_R received from target.", MP_AUTH_FAIL_MUTUAL },
	{ "Failed to log in to target. It did not return CHAP_N during SECNEG.", MP_AUTH_FAIL_MUTUAL },
	{ "Failed to log in to target. It did not return CHAP_R during SECNEG.", MP_AUTH_FAIL_MUTUAL },
	{ "Failed to log in to target. Status: Authorization failure(514)", MP_AUTH_FAIL_NONE },
	{ "Failed to log in to target. Status: Target not found(515)", MP_AUTH_FAIL_NONE },
	{ "Failed to log in to target. Status: Service unavailable(769)", MP_AUTH_FAIL_NONE },
	{ "Socket connection lost", MP_AUTH_FAIL_NONE },
	{ "", MP_AUTH_FAIL_NONE },
};

Test(chap, classify_login_errors)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(mp_iscsi_auth_failure(cases[i].err), cases[i].want, "\"%s\"", cases[i].err);
	cr_expect_eq(mp_iscsi_auth_failure(NULL), MP_AUTH_FAIL_NONE);
	cr_expect_str_eq(mp_iscsi_auth_fail_text(MP_AUTH_FAIL_REFUSED), "CHAP authentication failed");
	cr_expect_str_eq(mp_iscsi_auth_fail_text(MP_AUTH_FAIL_MUTUAL), "mutual CHAP authentication failed");
}

Test(chap, apply_checks_lengths)
{
	struct iscsi_context *ctx = iscsi_create_context("iqn.2026-11.test.mpiscsi:ini");
	char k255[256], k256[257];

	cr_assert_not_null(ctx);
	memset(k255, 'k', 255);
	k255[255] = '\0';
	memset(k256, 'k', 256);
	k256[256] = '\0';
	struct mp_iscsi_chap one = { .user = "alice", .secret = "alice-secret-1" };
	cr_expect_eq(mp_iscsi_chap_apply(ctx, &one), 0);
	struct mp_iscsi_chap mutual = { .user = "alice", .secret = k255, .mutual_user = "tgt", .mutual_secret = "tgt-secret-12" };
	cr_expect_eq(mp_iscsi_chap_apply(ctx, &mutual), 0);
	/* libiscsi would cut these to 255 bytes and log in with another secret: refused. */
	struct mp_iscsi_chap too_long = { .user = "alice", .secret = k256 };
	cr_expect_eq(mp_iscsi_chap_apply(ctx, &too_long), -1);
	struct mp_iscsi_chap empty = { .user = "alice", .secret = "" };
	cr_expect_eq(mp_iscsi_chap_apply(ctx, &empty), -1);
	struct mp_iscsi_chap no_user = { .user = NULL, .secret = "alice-secret-1" };
	cr_expect_eq(mp_iscsi_chap_apply(ctx, &no_user), -1);
	struct mp_iscsi_chap half = { .user = "alice", .secret = "alice-secret-1", .mutual_user = "tgt" };
	cr_expect_eq(mp_iscsi_chap_apply(ctx, &half), -1, "mutual user without its secret");
	iscsi_destroy_context(ctx);
}
