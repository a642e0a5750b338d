/* Redundancy audit of one disk: which single points of failure its paths share, why, and what changed. */
#ifndef MP_MPATH_REDUNDANCY_H
#define MP_MPATH_REDUNDANCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Conditions the audit reports, in the order a log or a listing shows them.
 * The bit of condition c is MP_SPOF_BIT(c). Bit values may change between
 * versions; the names (mp_spof_name) are the stable interface (JSON, logs).
 *
 * The mask states facts, so stronger conditions imply weaker ones:
 * - with no usable path only MP_SPOF_NO_PATH holds (nothing else is judged);
 * - with exactly one usable path MP_SPOF_SINGLE_PATH holds, and with it
 *   SINGLE_NIC, SINGLE_CARD, SINGLE_PORTAL, SINGLE_GROUP (when that path
 *   knows its group) and ACTIVE_NIC (when that path is in the active group);
 * - SINGLE_NIC implies SINGLE_CARD (one NIC sits on one device).
 */
enum mp_spof {
	MP_SPOF_NO_PATH = 0,   /* "no_path": no usable path at all */
	MP_SPOF_SINGLE_PATH,   /* "single_path": exactly one usable path */
	MP_SPOF_SINGLE_NIC,    /* "single_nic": every usable path leaves through one NIC (or all are unbound) */
	MP_SPOF_ACTIVE_NIC,    /* "active_group_single_nic": every usable path of the active group leaves
	                        * through one NIC (judged only when the active group has a usable path) */
	MP_SPOF_SINGLE_CARD,   /* "single_card": the NICs of every usable path are on one PCI device */
	MP_SPOF_SINGLE_PORTAL, /* "single_portal": every usable path goes to one target portal */
	MP_SPOF_SINGLE_GROUP,  /* "single_group": every usable path is in one ALUA target port group
	                        * (judged only when every usable path knows its group) */
	MP_SPOF_COUNT
};

#define MP_SPOF_BIT(c) (1u << (c))
#define MP_SPOF_ALL    (MP_SPOF_BIT(MP_SPOF_COUNT) - 1u)

/* One path of the disk, as the audit sees it. The strings are only read during the call. */
struct mp_audit_path {
	const char *iface;     /* NIC the path is bound to; "" or NULL: unbound (leaves by the default
	                        * route); all unbound paths count as one NIC, named "" */
	const char *portal;    /* target portal "HOST:PORT", compared as a string: the caller passes
	                        * every portal in one canonical form; NULL counts as "" */
	bool usable;           /* the path can take I/O now (up, not failed; any ALUA state that
	                        * the caller counts as a way to the LU) */
	bool in_active_group;  /* the path belongs to the group that takes I/O now */
	bool has_tpg;          /* the target named the path's ALUA target port group */
	uint16_t tpg;          /* that group (valid when has_tpg) */
};

/* Longest reason, NUL included; longer ones are cut (a portal name can be long). */
#define MP_REDUNDANCY_REASON_MAX 512

/* The verdict for one disk. */
struct mp_redundancy {
	unsigned mask;          /* MP_SPOF_BIT() of every condition that holds */
	size_t n_usable;        /* usable paths seen */
	/* reason[c]: one line without a newline, naming the NIC, card, portal or group,
	 * e.g. "every usable path leaves through eth1"; "" when condition c does not hold. */
	char reason[MP_SPOF_COUNT][MP_REDUNDANCY_REASON_MAX];
};

/*
 * Audit the n paths of one disk and fill *out. sysfs_root is where sysfs is
 * mounted ("/sys" when NULL); a test passes a fake tree.
 *
 * Two NICs are on one card when their PCI functions share domain:bus:device
 * and differ at most in the function number. A NIC's PCI function is the
 * last component of its <sysfs_root>/class/net/<IF>/device link target that
 * reads DOMAIN:BUS:DEVICE.FUNCTION (hex), or, when the link names no PCI
 * function (virtio0, a USB interface), the nearest such component of the
 * link's resolved path (the function the device hangs from). A NIC without
 * that link or without a PCI function above it (veth, bridge, a NIC that is
 * gone), an interface name that is not a plain file name, and the unbound
 * "default route" are each a device of their own. Ports of one card behind
 * a PCIe switch (different bus numbers) and SR-IOV virtual functions are
 * judged separate devices.
 *
 * Returns 0. Returns -1 with errno EINVAL when out is NULL or paths is NULL
 * while n > 0, ENAMETOOLONG when sysfs_root is too long to build a path;
 * *out is then cleared (no condition). A missing or unreadable sysfs entry is
 * not an error. Reads sysfs; keeps no state between calls.
 */
int mp_redundancy_audit(const struct mp_audit_path *paths, size_t n, const char *sysfs_root,
			struct mp_redundancy *out);

/* Stable lower-case name of condition c for JSON and logs ("single_nic"); NULL when c is out of range. */
const char *mp_spof_name(enum mp_spof c);

/*
 * Change tracker: from the mask of the previous audit and the new one,
 * started = conditions that hold now and did not before (the daemon logs one
 * warning each), cleared = conditions that held and hold no more (one notice
 * each). Bits outside MP_SPOF_ALL are ignored. Pure; pass 0 as before for
 * the first audit of a disk.
 */
struct mp_spof_change {
	unsigned started;
	unsigned cleared;
};
struct mp_spof_change mp_spof_diff(unsigned before, unsigned after);

/*
 * Take the lowest condition out of *bits and return it, or return -1 when
 * *bits holds none (bits outside MP_SPOF_ALL are dropped). For loops:
 * while ((c = mp_spof_next(&ch.started)) >= 0) log(..., mp_spof_name(c), v.reason[c]).
 */
int mp_spof_next(unsigned *bits);

#endif
