/* Unit tests of the redundancy audit (mpath/redundancy.c) against fake sysfs trees, and of its change tracker. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "mpath/redundancy.h"

/* The fake sysfs root of the running test (Criterion runs each test in its own process). */
static char root[64];

static void mkdir_p(const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *s = path + strlen(root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
		*s = '/';
	}
	cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
}

/* class/net/NIC, with a device link to link when link is not NULL (a veth has none). */
static void nic(const char *name, const char *link)
{
	char rel[256], path[PATH_MAX];
	snprintf(rel, sizeof(rel), "class/net/%s", name);
	mkdir_p(rel);
	if (!link)
		return;
	snprintf(path, sizeof(path), "%s/%s/device", root, rel);
	cr_assert_eq(symlink(link, path), 0, "symlink %s: %s", path, strerror(errno));
}

/*
 * A NIC laid out as real sysfs lays it out: class/net/NAME links to
 * devices/DEV/net/NAME, whose device link is "../../../" plus DEV's last component.
 */
static void nic_in_devices(const char *name, const char *dev)
{
	char rel[256], path[PATH_MAX], link[300];
	snprintf(rel, sizeof(rel), "devices/%s/net/%s", dev, name);
	mkdir_p(rel);
	snprintf(path, sizeof(path), "%s/%s/device", root, rel);
	snprintf(link, sizeof(link), "../../../%s", strrchr(dev, '/') + 1);
	cr_assert_eq(symlink(link, path), 0, "symlink %s: %s", path, strerror(errno));
	mkdir_p("class/net");
	snprintf(path, sizeof(path), "%s/class/net/%s", root, name);
	snprintf(link, sizeof(link), "../../%s", rel);
	cr_assert_eq(symlink(link, path), 0, "symlink %s: %s", path, strerror(errno));
}

/*
 * The fake tree every test sees. In real sysfs class/net/IF is itself a link into
 * /sys/devices, so "../../../0000:03:00.1" resolves there; here class/net/IF is a plain
 * directory and such links dangle: the audit must read the link's text, not follow it.
 */
static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/test_redundancy.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	nic("eth1", "../../../0000:03:00.0");  /* eth1, eth2, eth5: ports of one dual/quad-port card */
	nic("eth2", "../../../0000:03:00.1");
	nic("eth5", "../../../0000:03:00.3");
	nic("eth3", "../../../0000:04:00.0");  /* another card: same domain, other bus */
	nic("eth6", "/nowhere/pci0000:00/0000:00:1c.0/0000:03:00.2");  /* absolute link, bridge above it */
	nic("veth1", NULL);                     /* virtual NICs: no device link */
	nic("veth2", NULL);
	nic("usb0", "../../../1-1:1.0");        /* a device that is no PCI function, link dangles */
	nic("big0", "../../../10000:e1:00.0");  /* a five-digit (VMD) domain */
	nic("big1", "../../../10000:e1:00.1");
	/* virtio-net: the link names virtio0, the PCI function is its parent (found by resolving) */
	nic_in_devices("vio0", "pci0000:00/0000:00:03.0/virtio0");
	nic_in_devices("vio1", "pci0000:00/0000:00:04.0/virtio1");
	nic("vio9", "../../../virtio9");  /* dangles: no PCI function known */
	/* a real NIC in the real layout, a port of eth1's card */
	nic_in_devices("eth8", "pci0000:00/0000:00:1c.0/0000:03:00.2");
	/* eth4 is absent: a NIC that is gone, or a name that never existed */
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(path);
}

static void teardown(void)
{
	cr_expect_eq(nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0, "removing %s", root);
}

TestSuite(redundancy, .init = setup, .fini = teardown);

#define P1 "198.18.1.2:3260"
#define P2 "198.18.2.2:3260"
#define P3 "198.18.3.2:3260"

/* usable, in the active group, no ALUA group */
#define UP(i, p)        { (i), (p), true, true, false, 0 }
/* usable, not in the active group, no ALUA group */
#define UP_IDLE(i, p)   { (i), (p), true, false, false, 0 }
/* usable, in the active group, ALUA group g */
#define UP_G(i, p, g)   { (i), (p), true, true, true, (g) }
/* usable, not in the active group, ALUA group g */
#define IDLE_G(i, p, g) { (i), (p), true, false, true, (g) }
/* not usable */
#define DOWN(i, p)      { (i), (p), false, true, true, 7 }

#define B(c) MP_SPOF_BIT(MP_SPOF_##c)
/* what one usable path in the active group, with or without a known group, always gives */
#define ONE_PATH (B(SINGLE_PATH) | B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD) | B(SINGLE_PORTAL))

struct acase {
	const char *name;
	struct mp_audit_path p[5];
	size_t n;
	unsigned want;
};

static const struct acase cases[] = {
	/* no path, one path */
	{ "no path at all", { { 0 } }, 0, B(NO_PATH) },
	{ "two paths, none usable", { DOWN("eth1", P1), DOWN("eth3", P2) }, 2, B(NO_PATH) },
	{ "one usable path, ALUA group known", { UP_G("eth1", P1, 1), DOWN("eth3", P2) }, 2,
	  ONE_PATH | B(SINGLE_GROUP) },
	{ "one usable path, no ALUA", { UP("eth1", P1) }, 1, ONE_PATH },
	{ "one usable path outside the active group", { UP_IDLE("eth3", P1) }, 1,
	  ONE_PATH & ~B(ACTIVE_NIC) },

	/* NIC */
	{ "two paths through one NIC to two portals", { UP_G("eth1", P1, 1), UP_G("eth1", P2, 2) }, 2,
	  B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD) },
	{ "a down path on another NIC does not count", { UP("eth1", P1), UP("eth1", P2), DOWN("eth3", P3) }, 3,
	  B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD) },
	{ "two NICs on two cards to two portals", { UP_G("eth1", P1, 1), UP_G("eth3", P2, 2) }, 2, 0 },

	/* card */
	{ "two ports of one card (03:00.0, 03:00.1)", { UP("eth1", P1), UP("eth2", P2) }, 2, B(SINGLE_CARD) },
	{ "three ports of one card", { UP("eth1", P1), UP("eth2", P2), UP("eth5", P3) }, 3, B(SINGLE_CARD) },
	{ "03:00.0 and 04:00.0 are two cards", { UP("eth1", P1), UP("eth3", P2) }, 2, 0 },
	{ "one card, a third path on another card", { UP("eth1", P1), UP("eth2", P2), UP("eth3", P3) }, 3, 0 },
	{ "absolute link: last PCI function, not the bridge", { UP("eth1", P1), UP("eth6", P2) }, 2,
	  B(SINGLE_CARD) },
	{ "five-digit domain, one card", { UP("big0", P1), UP("big1", P2) }, 2, B(SINGLE_CARD) },
	{ "same bus and device, other domain", { UP("eth1", P1), UP("big0", P2) }, 2, 0 },
	{ "two veths without device links are two devices", { UP("veth1", P1), UP("veth2", P2) }, 2, 0 },
	{ "one veth is one device", { UP("veth1", P1), UP("veth1", P2) }, 2,
	  B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD) },
	{ "a missing NIC is a device of its own", { UP("eth4", P1), UP("eth1", P2) }, 2, 0 },
	{ "two missing NICs are two devices", { UP("eth4", P1), UP("eth7", P2) }, 2, 0 },
	{ "a non-PCI device is its own", { UP("usb0", P1), UP("veth1", P2) }, 2, 0 },
	{ "virtio: parent PCI functions differ", { UP("vio0", P1), UP("vio1", P2) }, 2, 0 },
	{ "virtio with a dangling link is its own device", { UP("vio9", P1), UP("vio0", P2) }, 2, 0 },
	{ "real layout: a port of eth1's card", { UP("eth8", P1), UP("eth1", P2) }, 2, B(SINGLE_CARD) },
	{ "a name with a slash is not looked up", { UP("../net/eth2", P1), UP("eth1", P2) }, 2, 0 },

	/* unbound paths: one NIC named "" */
	{ "two unbound paths", { UP("", P1), UP(NULL, P2) }, 2, B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD) },
	{ "unbound and bound", { UP("", P1), UP("eth1", P2) }, 2, 0 },

	/* active group only */
	{ "active group on one NIC, another NIC idle",
	  { IDLE_G("eth3", P1, 2), UP_G("eth1", P1, 1), UP_G("eth1", P2, 1) }, 3, B(ACTIVE_NIC) },
	{ "active group on two NICs", { UP_G("eth1", P1, 1), UP_G("eth3", P2, 1), IDLE_G("eth3", P3, 2) }, 3, 0 },
	{ "active group without a usable path", { DOWN("eth1", P1), UP_IDLE("eth1", P2), UP_IDLE("eth3", P3) },
	  3, 0 },

	/* portal */
	{ "two NICs to one portal", { UP("eth1", P1), UP("eth3", P1) }, 2, B(SINGLE_PORTAL) },
	{ "NULL portals are one portal", { UP("eth1", NULL), UP("eth3", NULL) }, 2, B(SINGLE_PORTAL) },

	/* ALUA group */
	{ "one ALUA group", { UP_G("eth1", P1, 3), UP_G("eth3", P2, 3) }, 2, B(SINGLE_GROUP) },
	{ "two ALUA groups", { UP_G("eth1", P1, 3), IDLE_G("eth3", P2, 4) }, 2, B(ACTIVE_NIC) },
	{ "a down path in another group does not count", { UP_G("eth1", P1, 3), UP_G("eth3", P2, 3),
	  DOWN("eth3", P3) }, 3, B(SINGLE_GROUP) },
	{ "a path without a known group: not judged", { UP_G("eth1", P1, 3), UP("eth3", P2) }, 2, 0 },
	{ "the first path without a known group: not judged", { UP("eth1", P1), UP_G("eth3", P2, 0) }, 2, 0 },
	{ "no ALUA at all", { UP("eth1", P1), UP("eth3", P2) }, 2, 0 },

	/* everything at once */
	{ "one NIC, one portal, one group", { UP_G("eth1", P1, 1), UP_G("eth1", P1, 1) }, 2,
	  B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD) | B(SINGLE_PORTAL) | B(SINGLE_GROUP) },
};

static char *mask_names(unsigned mask, char *buf, size_t len)
{
	int c;
	buf[0] = '\0';
	while ((c = mp_spof_next(&mask)) >= 0)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "", mp_spof_name(c));
	return buf;
}

Test(redundancy, table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(cases); i++) {
		const struct acase *t = &cases[i];
		struct mp_redundancy r;
		char got[256], want[256];

		memset(&r, 0xa5, sizeof(r));
		cr_assert_eq(mp_redundancy_audit(t->p, t->n, root, &r), 0, "%s", t->name);
		cr_expect_eq(r.mask, t->want, "%s: got {%s}, want {%s}", t->name,
			     mask_names(r.mask, got, sizeof(got)), mask_names(t->want, want, sizeof(want)));
		/* a reason exactly for each condition that holds, one line each */
		for (int c = 0; c < MP_SPOF_COUNT; c++) {
			bool held = r.mask & MP_SPOF_BIT(c);
			cr_expect_eq(r.reason[c][0] != '\0', held, "%s: %s: reason \"%s\"", t->name, mp_spof_name(c),
				     r.reason[c]);
			cr_expect_null(strchr(r.reason[c], '\n'), "%s: %s", t->name, mp_spof_name(c));
		}
	}
}

static void audit(const struct mp_audit_path *p, size_t n, struct mp_redundancy *r)
{
	cr_assert_eq(mp_redundancy_audit(p, n, root, r), 0);
}

Test(redundancy, reasons_word_for_word)
{
	struct mp_redundancy r;

	const struct mp_audit_path nic1[] = { UP_G("eth1", P1, 1), UP_G("eth1", P2, 1) };
	audit(nic1, 2, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_NIC], "every usable path leaves through eth1");
	cr_expect_str_eq(r.reason[MP_SPOF_ACTIVE_NIC], "every usable path of the active group leaves through eth1");
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_CARD], "every usable path leaves through eth1, on card 0000:03:00");
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_GROUP], "every usable path is in target port group 1");
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_PORTAL], "");
	cr_expect_eq(r.n_usable, 2);

	const struct mp_audit_path card2[] = { UP("eth1", P1), DOWN("eth3", P1), UP("eth2", P1), UP("eth1", P2) };
	audit(card2, 4, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_CARD], "eth1 and eth2 are ports of one card (0000:03:00)");
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_NIC], "");
	cr_expect_eq(r.n_usable, 3);

	const struct mp_audit_path card3[] = { UP("eth5", P1), UP("eth1", P2), UP("eth5", P3), UP("eth2", P1) };
	audit(card3, 4, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_CARD], "eth5, eth1 and eth2 are ports of one card (0000:03:00)");

	const struct mp_audit_path virt[] = { UP("veth1", P1), UP("veth1", P1) };
	audit(virt, 2, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_CARD],
			 "every usable path leaves through veth1, which has no PCI device (a device of its own)");
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_PORTAL], "every usable path goes to portal 198.18.1.2:3260");

	const struct mp_audit_path unbound[] = { UP(NULL, P1), UP("", P2) };
	audit(unbound, 2, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_NIC],
			 "every usable path leaves through the default route (no NIC bound)");
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_CARD],
			 "every usable path leaves through the default route (no NIC bound), counted as one device");

	const struct mp_audit_path one[] = { DOWN("eth3", P2), UP("eth1", P1) };
	audit(one, 2, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_PATH], "only one usable path: through eth1 to 198.18.1.2:3260");
	const struct mp_audit_path one_unbound[] = { UP("", P3) };
	audit(one_unbound, 1, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_PATH],
			 "only one usable path: through the default route (no NIC bound) to 198.18.3.2:3260");

	const struct mp_audit_path active[] = { IDLE_G("eth3", P1, 2), UP_G("eth2", P1, 1), UP_G("eth2", P2, 1) };
	audit(active, 3, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_ACTIVE_NIC], "every usable path of the active group leaves through eth2");

	const struct mp_audit_path virtio[] = { UP("vio0", P1), UP("vio0", P2) };
	audit(virtio, 2, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_CARD], "every usable path leaves through vio0, on card 0000:00:03");

	audit(NULL, 0, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_NO_PATH], "no usable path: the disk has no path");
	const struct mp_audit_path down1[] = { DOWN("eth1", P1) };
	audit(down1, 1, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_NO_PATH], "no usable path: its only path cannot take I/O");
	const struct mp_audit_path down3[] = { DOWN("eth1", P1), DOWN("eth2", P1), DOWN("", P2) };
	audit(down3, 3, &r);
	cr_expect_str_eq(r.reason[MP_SPOF_NO_PATH], "no usable path: none of its 3 paths can take I/O");
}

/* The same NICs judged against a tree without those entries: each NIC is its own device, no error. */
Test(redundancy, missing_sysfs)
{
	char gone[PATH_MAX];
	struct mp_redundancy r;
	const struct mp_audit_path ports[] = { UP("eth1", P1), UP("eth2", P2) };

	audit(ports, 2, &r);
	cr_expect_eq(r.mask, B(SINGLE_CARD), "the fake tree says one card");

	snprintf(gone, sizeof(gone), "%s/no-such-sysfs", root);
	cr_assert_eq(mp_redundancy_audit(ports, 2, gone, &r), 0);
	cr_expect_eq(r.mask, 0u, "no sysfs: two NICs are two devices");

	/* class/net present, the NICs' folders gone */
	char net[PATH_MAX];
	snprintf(net, sizeof(net), "%s/net-only", root);
	cr_assert_eq(mkdir(net, 0755), 0);
	snprintf(gone, sizeof(gone), "%s/net-only/class", root);
	cr_assert_eq(mkdir(gone, 0755), 0);
	snprintf(gone, sizeof(gone), "%s/net-only/class/net", root);
	cr_assert_eq(mkdir(gone, 0755), 0);
	cr_assert_eq(mp_redundancy_audit(ports, 2, net, &r), 0);
	cr_expect_eq(r.mask, 0u);
}

/* NULL means /sys; the loopback NIC has no device link there, so it is a device of its own. */
Test(redundancy, default_root_is_sys)
{
	struct mp_redundancy r;
	const struct mp_audit_path lo[] = { UP("lo", P1), UP("lo", P2) };

	cr_assert_eq(mp_redundancy_audit(lo, 2, NULL, &r), 0);
	cr_expect_eq(r.mask, B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD));
	cr_expect_str_eq(r.reason[MP_SPOF_SINGLE_CARD],
			 "every usable path leaves through lo, which has no PCI device (a device of its own)");
}

Test(redundancy, bad_arguments)
{
	struct mp_redundancy r;
	const struct mp_audit_path p[] = { UP("eth1", P1) };
	char *long_root;

	errno = 0;
	cr_expect_eq(mp_redundancy_audit(p, 1, root, NULL), -1);
	cr_expect_eq(errno, EINVAL);

	memset(&r, 0xa5, sizeof(r));
	errno = 0;
	cr_expect_eq(mp_redundancy_audit(NULL, 1, root, &r), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(r.mask, 0u, "cleared on error");
	cr_expect_str_eq(r.reason[MP_SPOF_NO_PATH], "");

	long_root = malloc(PATH_MAX);
	cr_assert_not_null(long_root);
	memset(long_root, 'x', PATH_MAX - 1);
	long_root[0] = '/';
	long_root[PATH_MAX - 1] = '\0';
	errno = 0;
	memset(&r, 0xa5, sizeof(r));
	cr_expect_eq(mp_redundancy_audit(p, 1, long_root, &r), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	cr_expect_eq(r.mask, 0u);
	free(long_root);
}

/* A portal name longer than a reason is cut, never overrun, and the line stays terminated. */
Test(redundancy, long_reason_is_cut)
{
	struct mp_redundancy r;
	char portal[2 * MP_REDUNDANCY_REASON_MAX];

	memset(portal, 'h', sizeof(portal) - 1);
	portal[sizeof(portal) - 1] = '\0';
	const struct mp_audit_path p[] = { UP("eth1", portal), UP("eth3", portal) };
	audit(p, 2, &r);
	cr_expect_eq(r.mask, B(SINGLE_PORTAL));
	cr_expect_eq(strlen(r.reason[MP_SPOF_SINGLE_PORTAL]), MP_REDUNDANCY_REASON_MAX - 1);
	cr_expect_eq(strncmp(r.reason[MP_SPOF_SINGLE_PORTAL], "every usable path goes to portal hhh", 36), 0);
}

struct tcase {
	const char *name;
	unsigned before, after, started, cleared;
};

static const struct tcase tracker[] = {
	{ "first audit, nothing holds", 0, 0, 0, 0 },
	{ "first audit, two hold", 0, B(SINGLE_NIC) | B(SINGLE_CARD), B(SINGLE_NIC) | B(SINGLE_CARD), 0 },
	{ "unchanged", B(SINGLE_PORTAL), B(SINGLE_PORTAL), 0, 0 },
	{ "one starts, one stays", B(SINGLE_PORTAL), B(SINGLE_PORTAL) | B(SINGLE_GROUP), B(SINGLE_GROUP), 0 },
	{ "one clears, one stays", B(SINGLE_NIC) | B(SINGLE_CARD), B(SINGLE_CARD), 0, B(SINGLE_NIC) },
	{ "one clears, another starts", B(SINGLE_PATH) | B(SINGLE_NIC), B(NO_PATH),
	  B(NO_PATH), B(SINGLE_PATH) | B(SINGLE_NIC) },
	{ "everything clears", MP_SPOF_ALL, 0, 0, MP_SPOF_ALL },
	{ "unknown bits ignored", 0x80000000u | B(SINGLE_NIC), 0x40000000u | B(SINGLE_NIC), 0, 0 },
};

Test(redundancy, change_tracker)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(tracker); i++) {
		const struct tcase *t = &tracker[i];
		struct mp_spof_change ch = mp_spof_diff(t->before, t->after);
		cr_expect_eq(ch.started, t->started, "%s: started %#x, want %#x", t->name, ch.started, t->started);
		cr_expect_eq(ch.cleared, t->cleared, "%s: cleared %#x, want %#x", t->name, ch.cleared, t->cleared);
	}
}

/* Two audits in a row, as the daemon will run them when a path is added: what warns, what clears. */
Test(redundancy, tracker_follows_audits)
{
	struct mp_redundancy a, b;
	const struct mp_audit_path before[] = { UP("eth1", P1) };
	const struct mp_audit_path after[] = { UP("eth1", P1), UP("eth3", P1) };

	audit(before, 1, &a);
	audit(after, 2, &b);
	struct mp_spof_change ch = mp_spof_diff(a.mask, b.mask);
	cr_expect_eq(ch.started, 0u);
	cr_expect_eq(ch.cleared, B(SINGLE_PATH) | B(SINGLE_NIC) | B(ACTIVE_NIC) | B(SINGLE_CARD));
	cr_expect_eq(b.mask, B(SINGLE_PORTAL), "the portal stays a single point");
}

Test(redundancy, next_and_names)
{
	unsigned bits = B(SINGLE_GROUP) | B(NO_PATH) | B(SINGLE_NIC) | 0x80000000u;
	cr_expect_eq(mp_spof_next(&bits), MP_SPOF_NO_PATH);
	cr_expect_eq(mp_spof_next(&bits), MP_SPOF_SINGLE_NIC);
	cr_expect_eq(mp_spof_next(&bits), MP_SPOF_SINGLE_GROUP);
	cr_expect_eq(mp_spof_next(&bits), -1, "unknown bits are dropped");
	cr_expect_eq(bits, 0u);

	static const char *const want[MP_SPOF_COUNT] = {
		"no_path", "single_path", "single_nic", "active_group_single_nic", "single_card", "single_portal",
		"single_group",
	};
	for (int c = 0; c < MP_SPOF_COUNT; c++)
		cr_expect_str_eq(mp_spof_name(c), want[c]);
	cr_expect_null(mp_spof_name(MP_SPOF_COUNT));
	cr_expect_null(mp_spof_name((enum mp_spof)-1));
}
