/* mpiscsiadm -m node --login in the daemon: add the sessions, wait for their outcome, answer, undo a failure. */
#ifndef MP_TOOLS_NODE_LOGIN_H
#define MP_TOOLS_NODE_LOGIN_H

#include <stddef.h>
#include <stdint.h>

struct daemon;
struct mp_ctl_later;

/*
 * Log in to target at portal (lun < 0: every LUN; iface NULL: the matching disks' NICs, or
 * none). Returns -1 with errno and msg when refused at once (EINVAL bad portal, ENODEV no
 * such NIC, EEXIST the session is already there), or 1: sessions were added and later is
 * answered (mp_ctl_later_login_done) once every new session logged in and the LUNs it brings
 * attached (or were refused by the identity check), once one failed for good (the target
 * refused the login: CHAP, target not found), or after timeout_s with the last reason. A
 * session that failed is taken out again, and a disk section made for the login is removed
 * when none of its sessions logged in: a failed login leaves nothing behind.
 */
int node_login_start(struct daemon *d, const char *target, const char *portal, int64_t lun, const char *iface,
		     double timeout_s, struct mp_ctl_later *later, char *msg, size_t len);

/* Test hook: with it set, NICs are not checked for existence (the old bug: login unbound). */
#define NODE_LOGIN_TEST_NO_NIC_CHECK_ENV "MPISCSI_TEST_NO_NIC_CHECK"

#endif
