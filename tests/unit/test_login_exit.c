/* Unit tests for login outcomes: libiscsi's login status text parsed, failure kinds, iscsiadm exit statuses, NIC checks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "initiator/session.h"
#include "tools/mpiscsiadm/adm.h"
#include "tools/mpiscsid/config.h"

Test(login_exit, login_status_from_libiscsi_text)
{
	static const struct { const char *e; int want; } cases[] = {
		{ "Failed to log in to target. Status: Target not found(515)", 0x0203 },
		{ "Failed to log in to target. Status: Authentication failure(513)", 0x0201 },
		{ "Failed to log in to target. Status: Target removed(516)", 0x0204 },
		{ "Failed to log in to target. Status: Service unavailable(769)", 0x0301 },
		{ "Failed to log in to target. Status: Odd (text)(514)", 0x0202 },
		{ "Socket connection lost", -1 },
		{ "Status: no number()", -1 },
		{ "Status: Huge(99999999)", -1 },
		{ "Status: Junk(12x)", -1 },
		{ "", -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(mp_iscsi_login_status(cases[i].e), cases[i].want, "\"%s\"", cases[i].e);
	cr_expect_eq(mp_iscsi_login_status(NULL), -1);
}

Test(login_exit, final_kinds)
{
	/* The target said no: retrying soon does not help, the login answers at once. */
	cr_expect(mp_iscsi_login_fail_final(MP_LOGIN_FAIL_AUTH));
	cr_expect(mp_iscsi_login_fail_final(MP_LOGIN_FAIL_NOT_FOUND));
	cr_expect(mp_iscsi_login_fail_final(MP_LOGIN_FAIL_REJECTED));
	cr_expect(mp_iscsi_login_fail_final(MP_LOGIN_FAIL_NO_IFACE));
	/* The network may heal within the login's timeout. */
	cr_expect_not(mp_iscsi_login_fail_final(MP_LOGIN_FAIL_CONNECT));
	cr_expect_not(mp_iscsi_login_fail_final(MP_LOGIN_FAIL_TIMEOUT));
	cr_expect_not(mp_iscsi_login_fail_final(MP_LOGIN_FAIL_LOST));
	cr_expect_not(mp_iscsi_login_fail_final(MP_LOGIN_FAIL_NONE));
	cr_expect_str_eq(mp_iscsi_login_fail_name(MP_LOGIN_FAIL_NOT_FOUND), "target not found");
}

/* iscsiadm(8)'s numbers (open-iscsi include/iscsi_err.h). */
Test(login_exit, iscsiadm_statuses)
{
	static const struct { int err, want; } cases[] = {
		{ EHOSTUNREACH, 4 },  /* ISCSI_ERR_TRANS */
		{ ECONNREFUSED, 4 },
		{ ETIMEDOUT, 8 },     /* ISCSI_ERR_TRANS_TIMEOUT */
		{ EEXIST, 15 },       /* ISCSI_ERR_SESS_EXISTS */
		{ ENXIO, 19 },        /* ISCSI_ERR_FATAL_LOGIN: target not found */
		{ EPERM, 19 },
		{ ENOENT, 21 },       /* ISCSI_ERR_NO_OBJS_FOUND */
		{ EACCES, 24 },       /* ISCSI_ERR_LOGIN_AUTH_FAILED */
		{ ENODEV, 7 },        /* ISCSI_ERR_INVAL */
		{ EINVAL, 7 },
		{ ECANCELED, 1 },     /* ISCSI_ERR */
		{ EIO, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(adm_iscsi_exit(cases[i].err), cases[i].want, "errno %d (%s)", cases[i].err,
			     strerror(cases[i].err));
	cr_expect_str_eq(adm_iscsi_exit_text(8), "connection timed out");
	cr_expect_str_eq(adm_iscsi_exit_text(15), "session exists");
	cr_expect_str_eq(adm_iscsi_exit_text(24), "iSCSI login failed due to authorization failure");
}

Test(login_exit, config_nics_exist)
{
	static const char text[] = "[disk a]\ntarget = iqn.2026-11.t:x\nportal = 198.18.1.2\n"
				   "interface = lo\n\ninterface = nosuchnic9\n";
	struct mp_conf c;
	char err[512] = "";
	mp_conf_init(&c);
	cr_assert_eq(mp_conf_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mp_conf_check_nics(&c, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:6: interface: 'nosuchnic9': no such network interface on this host");
	c.disks[0].n_interfaces = 1; /* lo only: it exists (down would be fine too) */
	cr_expect_eq(mp_conf_check_nics(&c, err, sizeof(err)), 0);
	mp_conf_free(&c);
}
