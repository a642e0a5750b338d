/* CHAP for libiscsi logins: credentials into a context, and telling an authentication failure from other login failures. */
#ifndef MP_INITIATOR_CHAP_H
#define MP_INITIATOR_CHAP_H

#include <stdbool.h>

struct iscsi_context;

/*
 * Credentials for one login. The strings are borrowed: libiscsi copies them into its
 * context (which zeroes them when it is destroyed), so they need to live only until
 * mp_iscsi_chap_apply() returns.
 */
struct mp_iscsi_chap {
	const char *user, *secret;               /* we prove ourselves to the target (one-way CHAP) */
	const char *mutual_user, *mutual_secret; /* the target proves itself to us; NULL = one-way */
};

/*
 * How long a path or discovery waits before it logs in again after an authentication
 * failure: a wrong secret does not fix itself, and a target may lock an account out
 * after repeated failures, so there is no fast retry.
 */
#define MP_ISCSI_AUTH_RETRY_S 30.0

/* Why a login failed, as far as authentication is concerned. */
enum mp_iscsi_auth_fail {
	MP_AUTH_FAIL_NONE = 0, /* not an authentication problem (or no failure) */
	MP_AUTH_FAIL_REFUSED,  /* the target refused our credentials: status 0201 "authentication failure" */
	MP_AUTH_FAIL_MUTUAL,   /* mutual CHAP: the target did not prove itself (wrong name or
				  response, or it did not answer our challenge) */
};

/*
 * Set c's credentials on ctx (before the login). c->user and c->secret are required,
 * the mutual pair is optional. Returns 0, or -1 if a string is empty or longer than
 * libiscsi keeps (255 bytes), which would otherwise log in with a cut secret.
 */
int mp_iscsi_chap_apply(struct iscsi_context *ctx, const struct mp_iscsi_chap *c);

/* Classify a failed login from libiscsi's error text (iscsi_get_error() after the login callback). */
enum mp_iscsi_auth_fail mp_iscsi_auth_failure(const char *libiscsi_error);

/* What went wrong, in words: "CHAP authentication failed" / "mutual CHAP authentication failed". */
const char *mp_iscsi_auth_fail_text(enum mp_iscsi_auth_fail f);

#endif
