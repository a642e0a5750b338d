/* Redundancy audit of one disk's paths (single NIC, card, portal, ALUA group, path) and its change tracker. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "mpath/redundancy.h"

static const char *const spof_names[MP_SPOF_COUNT] = {
	[MP_SPOF_NO_PATH] = "no_path",
	[MP_SPOF_SINGLE_PATH] = "single_path",
	[MP_SPOF_SINGLE_NIC] = "single_nic",
	[MP_SPOF_ACTIVE_NIC] = "active_group_single_nic",
	[MP_SPOF_SINGLE_CARD] = "single_card",
	[MP_SPOF_SINGLE_PORTAL] = "single_portal",
	[MP_SPOF_SINGLE_GROUP] = "single_group",
};

const char *mp_spof_name(enum mp_spof c)
{
	if ((unsigned)c >= MP_SPOF_COUNT)
		return NULL;
	return spof_names[c];
}

struct mp_spof_change mp_spof_diff(unsigned before, unsigned after)
{
	before &= MP_SPOF_ALL;
	after &= MP_SPOF_ALL;
	return (struct mp_spof_change){ .started = after & ~before, .cleared = before & ~after };
}

int mp_spof_next(unsigned *bits)
{
	*bits &= MP_SPOF_ALL;
	if (!*bits)
		return -1;
	int c = __builtin_ctz(*bits);
	*bits &= *bits - 1;
	return c;
}

/* ---- what a path's NIC and portal are ---- */

static const char *nic_of(const struct mp_audit_path *p) { return p->iface ? p->iface : ""; }
static const char *portal_of(const struct mp_audit_path *p) { return p->portal ? p->portal : ""; }

/* The NIC as a reason names it: unbound paths leave by whatever the routing table picks. */
static const char *nic_words(const char *nic) { return *nic ? nic : "the default route (no NIC bound)"; }

/* ---- which device a NIC sits on ---- */

enum card_kind {
	CARD_ROUTE, /* unbound path: the default route, one device of its own */
	CARD_OWN,   /* NIC with no PCI function found: a device of its own, keyed by the NIC's name */
	CARD_PCI,   /* NIC on a PCI function: keyed by domain:bus:device */
};

struct card {
	enum card_kind kind;
	const char *nic;  /* CARD_OWN: the NIC's name (borrowed from the path) */
	char pci[16];     /* CARD_PCI: "DDDD:BB:DD" (domain 4 to 8 hex digits) */
};

static bool card_eq(const struct card *a, const struct card *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case CARD_ROUTE: return true;
	case CARD_OWN: return strcmp(a->nic, b->nic) == 0;
	case CARD_PCI: return strcmp(a->pci, b->pci) == 0;
	}
	return false;
}

static size_t hex_run(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
		i++;
	return i;
}

/* Does s[0..len) read DOMAIN:BUS:DEVICE.FUNCTION (sysfs's name of a PCI function)? Then key gets
 * DOMAIN:BUS:DEVICE, the part the ports of one card share. */
static bool parse_pci_function(const char *s, size_t len, char key[16])
{
	size_t i = 0, k;

	k = hex_run(s, len);
	if (k < 4 || k > 8 || k >= len || s[k] != ':')
		return false;
	i = k + 1;
	if (hex_run(s + i, len - i) != 2 || i + 2 >= len || s[i + 2] != ':')
		return false;
	i += 3;
	if (hex_run(s + i, len - i) != 2 || i + 2 >= len || s[i + 2] != '.')
		return false;
	i += 3;
	if (len != i + 1 || s[i] < '0' || s[i] > '7')
		return false;
	memcpy(key, s, i - 1);
	key[i - 1] = '\0';
	return true;
}

/* The last component of path that names a PCI function: the function the device is, or hangs from. */
static bool last_pci_function(const char *path, char key[16])
{
	size_t end = strlen(path);

	while (end > 0) {
		while (end > 0 && path[end - 1] == '/')
			end--;
		size_t start = end;
		while (start > 0 && path[start - 1] != '/')
			start--;
		if (end > start && parse_pci_function(path + start, end - start, key))
			return true;
		end = start;
	}
	return false;
}

/* A name readlink may be asked about: one plain file name, as the kernel's interface names are. */
static bool plain_name(const char *nic)
{
	return *nic && strlen(nic) <= NAME_MAX && !strchr(nic, '/') && strcmp(nic, ".") != 0 &&
	       strcmp(nic, "..") != 0;
}

/* The caller has checked that root leaves room for "/class/net/" NAME_MAX "/device". */
static void card_of(const char *root, const char *nic, struct card *out)
{
	char dev[PATH_MAX], target[PATH_MAX];

	memset(out, 0, sizeof(*out));
	if (!*nic) {
		out->kind = CARD_ROUTE;
		return;
	}
	out->kind = CARD_OWN;
	out->nic = nic;
	if (!plain_name(nic))
		return;
	snprintf(dev, sizeof(dev), "%s/class/net/%s/device", root, nic);
	ssize_t r = readlink(dev, target, sizeof(target));
	if (r < 0 || (size_t)r >= sizeof(target))
		return;  /* no device link (veth, bridge, a NIC that is gone) or a link too long to trust */
	target[r] = '\0';
	if (!last_pci_function(target, out->pci)) {
		/* virtio0, a USB interface: the PCI function is an ancestor of the resolved device */
		if (!realpath(dev, target) || !last_pci_function(target, out->pci))
			return;
	}
	out->kind = CARD_PCI;
}

/* ---- reasons ---- */

MP_PRINTF(2, 3) static void put(char *reason, const char *fmt, ...)
{
	size_t len = strlen(reason);
	va_list ap;

	if (len + 1 >= MP_REDUNDANCY_REASON_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(reason + len, MP_REDUNDANCY_REASON_MAX - len, fmt, ap);
	va_end(ap);
}

static void hold(struct mp_redundancy *out, enum mp_spof c)
{
	out->mask |= MP_SPOF_BIT(c);
}

/* Is the NIC of usable path i the NIC of an earlier usable path? */
static bool nic_seen_before(const struct mp_audit_path *paths, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (paths[j].usable && strcmp(nic_of(&paths[j]), nic_of(&paths[i])) == 0)
			return true;
	return false;
}

/* "eth1", "eth1 and eth2", "eth1, eth2 and eth3": the distinct NICs of the usable paths, in order. */
static size_t put_nic_list(char *reason, const struct mp_audit_path *paths, size_t n)
{
	size_t distinct = 0, k = 0;

	for (size_t i = 0; i < n; i++)
		if (paths[i].usable && !nic_seen_before(paths, i))
			distinct++;
	for (size_t i = 0; i < n; i++) {
		if (!paths[i].usable || nic_seen_before(paths, i))
			continue;
		put(reason, "%s%s", k == 0 ? "" : k + 1 == distinct ? " and " : ", ", nic_words(nic_of(&paths[i])));
		k++;
	}
	return distinct;
}

static void judge_card(struct mp_redundancy *out, const struct mp_audit_path *paths, size_t n,
		       size_t first, const char *root)
{
	struct card c0, c;
	char *reason = out->reason[MP_SPOF_SINGLE_CARD];

	card_of(root, nic_of(&paths[first]), &c0);
	for (size_t i = first + 1; i < n; i++) {
		/* One sysfs read per NIC and call: a NIC seen before is on a card already compared. */
		if (!paths[i].usable || nic_seen_before(paths, i))
			continue;
		card_of(root, nic_of(&paths[i]), &c);
		if (!card_eq(&c0, &c))
			return;
	}
	hold(out, MP_SPOF_SINGLE_CARD);
	switch (c0.kind) {
	case CARD_ROUTE:
		put(reason, "every usable path leaves through %s, counted as one device", nic_words(""));
		break;
	case CARD_OWN:
		put(reason, "every usable path leaves through %s, which has no PCI device (a device of its own)",
		    c0.nic);
		break;
	case CARD_PCI:
		if (out->mask & MP_SPOF_BIT(MP_SPOF_SINGLE_NIC)) {
			put(reason, "every usable path leaves through %s, on card %s", nic_of(&paths[first]), c0.pci);
		} else {
			put_nic_list(reason, paths, n);
			put(reason, " are ports of one card (%s)", c0.pci);
		}
		break;
	}
}

int mp_redundancy_audit(const struct mp_audit_path *paths, size_t n, const char *sysfs_root,
			struct mp_redundancy *out)
{
	const char *root = sysfs_root ? sysfs_root : "/sys";
	size_t first = 0, first_active = 0, n_active = 0;
	bool same_nic = true, same_active_nic = true, same_portal = true, same_group = true;

	if (!out) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (!paths && n) {
		errno = EINVAL;
		return -1;
	}
	if (strlen(root) + sizeof("/class/net//device") + NAME_MAX > PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}

	for (size_t i = 0; i < n; i++) {
		const struct mp_audit_path *p = &paths[i];
		if (!p->usable)
			continue;
		if (out->n_usable++ == 0) {
			first = i;
		} else {
			const struct mp_audit_path *f = &paths[first];
			same_nic &= strcmp(nic_of(p), nic_of(f)) == 0;
			same_portal &= strcmp(portal_of(p), portal_of(f)) == 0;
			same_group &= p->has_tpg && f->has_tpg && p->tpg == f->tpg;
		}
		same_group &= p->has_tpg;
		if (p->in_active_group) {
			if (n_active++ == 0)
				first_active = i;
			else
				same_active_nic &= strcmp(nic_of(p), nic_of(&paths[first_active])) == 0;
		}
	}

	if (out->n_usable == 0) {
		hold(out, MP_SPOF_NO_PATH);
		if (n == 0)
			put(out->reason[MP_SPOF_NO_PATH], "no usable path: the disk has no path");
		else if (n == 1)
			put(out->reason[MP_SPOF_NO_PATH], "no usable path: its only path cannot take I/O");
		else
			put(out->reason[MP_SPOF_NO_PATH], "no usable path: none of its %zu paths can take I/O", n);
		return 0;
	}

	const struct mp_audit_path *f = &paths[first];
	if (out->n_usable == 1) {
		hold(out, MP_SPOF_SINGLE_PATH);
		put(out->reason[MP_SPOF_SINGLE_PATH], "only one usable path: through %s to %s",
		    nic_words(nic_of(f)), portal_of(f));
	}
	if (same_nic) {
		hold(out, MP_SPOF_SINGLE_NIC);
		put(out->reason[MP_SPOF_SINGLE_NIC], "every usable path leaves through %s", nic_words(nic_of(f)));
	}
	if (n_active > 0 && same_active_nic) {
		hold(out, MP_SPOF_ACTIVE_NIC);
		put(out->reason[MP_SPOF_ACTIVE_NIC], "every usable path of the active group leaves through %s",
		    nic_words(nic_of(&paths[first_active])));
	}
	judge_card(out, paths, n, first, root);
	if (same_portal) {
		hold(out, MP_SPOF_SINGLE_PORTAL);
		put(out->reason[MP_SPOF_SINGLE_PORTAL], "every usable path goes to portal %s", portal_of(f));
	}
	if (same_group) {
		hold(out, MP_SPOF_SINGLE_GROUP);
		put(out->reason[MP_SPOF_SINGLE_GROUP], "every usable path is in target port group %" PRIu16,
		    f->tpg);
	}
	return 0;
}
