/* Why a login failed, in kinds tools can act on: libiscsi's login status text parsed, names and finality. */
#include "initiator/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mp_iscsi_login_status(const char *e)
{
	/* libiscsi words a refused login "Failed to log in to target. Status: <text>(<status>)",
	 * status being class << 8 | detail (RFC 7143 11.13.5). */
	const char *p = e ? strstr(e, "Status: ") : NULL;
	const char *open = p ? strrchr(p, '(') : NULL;
	if (!open)
		return -1;
	char *end;
	long v = strtol(open + 1, &end, 10);
	if (end == open + 1 || *end != ')' || v < 0 || v > 0xffff)
		return -1;
	return (int)v;
}

bool mp_iscsi_login_fail_final(enum mp_iscsi_login_fail f)
{
	switch (f) {
	case MP_LOGIN_FAIL_AUTH:
	case MP_LOGIN_FAIL_NOT_FOUND:
	case MP_LOGIN_FAIL_REJECTED:
	case MP_LOGIN_FAIL_NO_IFACE:
		return true;
	case MP_LOGIN_FAIL_NONE:
	case MP_LOGIN_FAIL_CONNECT:
	case MP_LOGIN_FAIL_TIMEOUT:
	case MP_LOGIN_FAIL_LOST:
		break;
	}
	return false;
}

const char *mp_iscsi_login_fail_name(enum mp_iscsi_login_fail f)
{
	switch (f) {
	case MP_LOGIN_FAIL_NONE: return "no failure";
	case MP_LOGIN_FAIL_CONNECT: return "portal unreachable";
	case MP_LOGIN_FAIL_TIMEOUT: return "login timed out";
	case MP_LOGIN_FAIL_LOST: return "connection lost during login";
	case MP_LOGIN_FAIL_AUTH: return "authentication failed";
	case MP_LOGIN_FAIL_NOT_FOUND: return "target not found";
	case MP_LOGIN_FAIL_REJECTED: return "login rejected";
	case MP_LOGIN_FAIL_NO_IFACE: return "no such network interface";
	}
	return "?";
}
