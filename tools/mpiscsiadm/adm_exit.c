/* iscsiadm's exit statuses for -m node --login/--logout: the daemon's errno -> open-iscsi's number and words. */
#include "tools/mpiscsiadm/adm.h"

#include <errno.h>
#include <stddef.h>

/* The statuses used here, as iscsiadm(8) numbers them (ISCSI_ERR_* of open-iscsi). */
enum {
	ISCSI_ERR = 1,                 /* generic */
	ISCSI_ERR_TRANS = 4,           /* connect problem */
	ISCSI_ERR_INVAL = 7,           /* invalid argument */
	ISCSI_ERR_TRANS_TIMEOUT = 8,   /* timed out while trying to connect / log in */
	ISCSI_ERR_SESS_EXISTS = 15,    /* session is logged in */
	ISCSI_ERR_FATAL_LOGIN = 19,    /* non-retryable login failure (target not found, rejected) */
	ISCSI_ERR_NO_OBJS_FOUND = 21,  /* no sessions/LUNs found to act on */
	ISCSI_ERR_LOGIN_AUTH_FAILED = 24,
};

static const struct {
	int err, status;
} map[] = {
	{ EHOSTUNREACH, ISCSI_ERR_TRANS },     /* portal unreachable (refused, no route) */
	{ ECONNREFUSED, ISCSI_ERR_TRANS },
	{ ETIMEDOUT, ISCSI_ERR_TRANS_TIMEOUT },
	{ EACCES, ISCSI_ERR_LOGIN_AUTH_FAILED }, /* CHAP refused or no credentials */
	{ ENXIO, ISCSI_ERR_FATAL_LOGIN },      /* login status 0203/0204: target not found */
	{ EPERM, ISCSI_ERR_FATAL_LOGIN },      /* any other login reject */
	{ EEXIST, ISCSI_ERR_SESS_EXISTS },
	{ ENOENT, ISCSI_ERR_NO_OBJS_FOUND },   /* logout: no such session; login: no such LUN */
	{ ENODEV, ISCSI_ERR_INVAL },           /* -I names no NIC on this host */
	{ EINVAL, ISCSI_ERR_INVAL },
};

int adm_iscsi_exit(int err)
{
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].err == err)
			return map[i].status;
	return ISCSI_ERR;
}

const char *adm_iscsi_exit_text(int status)
{
	switch (status) {
	case ISCSI_ERR_TRANS: return "encountered connection failure";
	case ISCSI_ERR_INVAL: return "invalid parameter";
	case ISCSI_ERR_TRANS_TIMEOUT: return "connection timed out";
	case ISCSI_ERR_SESS_EXISTS: return "session exists";
	case ISCSI_ERR_FATAL_LOGIN: return "encountered non-retryable iSCSI login failure";
	case ISCSI_ERR_NO_OBJS_FOUND: return "no objects found";
	case ISCSI_ERR_LOGIN_AUTH_FAILED: return "iSCSI login failed due to authorization failure";
	default: break;
	}
	return "generic error";
}
