/* Unit tests for initiator/linkmon's pure parts: the up/down rule and the RTM_NEWLINK/DELLINK parser. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>

#include "initiator/linkmon.h"

/* ---- mp_link_is_up: one row per state a NIC reports ---- */

struct up_case {
	const char *what;
	unsigned flags;
	int operstate;
	bool up;
};

static const struct up_case up_cases[] = {
	{ "up, carrier, operstate UP", IFF_UP | IFF_RUNNING | IFF_LOWER_UP, IF_OPER_UP, true },
	{ "loopback: UNKNOWN with carrier", IFF_UP | IFF_RUNNING | IFF_LOWER_UP | IFF_LOOPBACK, IF_OPER_UNKNOWN, true },
	{ "UNKNOWN without carrier", IFF_UP, IF_OPER_UNKNOWN, false },
	{ "admin down", IFF_BROADCAST, IF_OPER_DOWN, false },
	{ "admin down, stale operstate UP", IFF_LOWER_UP, IF_OPER_UP, false },
	{ "veth peer down: LOWERLAYERDOWN", IFF_UP | IFF_BROADCAST, IF_OPER_LOWERLAYERDOWN, false },
	{ "NO-CARRIER: operstate DOWN", IFF_UP, IF_OPER_DOWN, false },
	{ "dormant (802.1X)", IFF_UP | IFF_LOWER_UP | IFF_DORMANT, IF_OPER_DORMANT, false },
	{ "notpresent", IFF_UP | IFF_LOWER_UP, IF_OPER_NOTPRESENT, false },
	{ "testing", IFF_UP | IFF_LOWER_UP, IF_OPER_TESTING, false },
	{ "operstate UP but no LOWER_UP", IFF_UP | IFF_RUNNING, IF_OPER_UP, false },
	{ "no IFLA_OPERSTATE, running", IFF_UP | IFF_RUNNING, -1, true },
	{ "no IFLA_OPERSTATE, not running", IFF_UP | IFF_LOWER_UP, -1, false },
};

Test(linkmon, up_rule)
{
	for (size_t i = 0; i < sizeof(up_cases) / sizeof(up_cases[0]); i++) {
		const struct up_case *c = &up_cases[i];
		cr_expect_eq(mp_link_is_up(c->flags, c->operstate), c->up, "%s: expected %s", c->what,
			     c->up ? "up" : "down");
	}
}

/* ---- message builder ---- */

struct mb {
	union {
		struct nlmsghdr h;
		uint8_t b[1024];
	} u;
};

static void mb_init(struct mb *m, uint16_t type, int ifindex, unsigned flags)
{
	memset(m, 0, sizeof(*m));
	m->u.h.nlmsg_type = type;
	m->u.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	struct ifinfomsg *ifi = NLMSG_DATA(&m->u.h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
}

static void mb_attr(struct mb *m, uint16_t type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(m->u.b + NLMSG_ALIGN(m->u.h.nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	m->u.h.nlmsg_len = NLMSG_ALIGN(m->u.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void mb_name(struct mb *m, const char *name) { mb_attr(m, IFLA_IFNAME, name, strlen(name) + 1); }
static void mb_oper(struct mb *m, uint8_t st) { mb_attr(m, IFLA_OPERSTATE, &st, 1); }

Test(linkmon, parse_newlink_up)
{
	struct mb m;
	mb_init(&m, RTM_NEWLINK, 7, IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
	uint32_t mtu = 1500;
	mb_attr(&m, IFLA_MTU, &mtu, sizeof(mtu));   /* unrelated attributes are skipped */
	mb_name(&m, "veth1");
	mb_oper(&m, IF_OPER_UP);
	struct mp_link_msg lm;
	cr_assert_eq(mp_linkmon_parse(&m, m.u.h.nlmsg_len, &lm), 1);
	cr_expect_not(lm.del);
	cr_expect_eq(lm.ifindex, 7);
	cr_expect_str_eq(lm.ifname, "veth1");
	cr_expect_eq(lm.operstate, IF_OPER_UP);
	cr_expect(lm.up);
}

Test(linkmon, parse_peer_down_is_down)
{
	struct mb m;
	mb_init(&m, RTM_NEWLINK, 3, IFF_UP | IFF_BROADCAST | IFF_MULTICAST);
	mb_name(&m, "vA");
	mb_oper(&m, IF_OPER_LOWERLAYERDOWN);
	struct mp_link_msg lm;
	cr_assert_eq(mp_linkmon_parse(&m, sizeof(m), &lm), 1);  /* len may exceed the message */
	cr_expect_not(lm.up);
}

Test(linkmon, parse_dellink)
{
	struct mb m;
	mb_init(&m, RTM_DELLINK, 9, IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
	mb_name(&m, "eth9");
	mb_oper(&m, IF_OPER_UP);
	struct mp_link_msg lm;
	cr_assert_eq(mp_linkmon_parse(&m, m.u.h.nlmsg_len, &lm), 1);
	cr_expect(lm.del);
	cr_expect_not(lm.up, "a deleted link is never up");
	cr_expect_str_eq(lm.ifname, "eth9");
}

Test(linkmon, parse_no_operstate)
{
	struct mb m;
	mb_init(&m, RTM_NEWLINK, 2, IFF_UP | IFF_RUNNING);
	mb_name(&m, "x");
	struct mp_link_msg lm;
	cr_assert_eq(mp_linkmon_parse(&m, m.u.h.nlmsg_len, &lm), 1);
	cr_expect_eq(lm.operstate, -1);
	cr_expect(lm.up);
}

Test(linkmon, parse_other_types_ignored)
{
	struct mb m;
	mb_init(&m, RTM_NEWADDR, 2, 0);
	struct mp_link_msg lm = { .ifindex = 42 };
	cr_expect_eq(mp_linkmon_parse(&m, m.u.h.nlmsg_len, &lm), 0);
	cr_expect_eq(lm.ifindex, 42, "out untouched");
	m.u.h.nlmsg_type = NLMSG_DONE;
	cr_expect_eq(mp_linkmon_parse(&m, m.u.h.nlmsg_len, &lm), 0);
}

/* ---- malformed: each breaks exactly one thing ---- */

enum breakage {
	B_LEN_TOO_SHORT_FOR_HDR,  /* len < sizeof(nlmsghdr) */
	B_NLMSG_LEN_PAST_BUFFER,  /* nlmsg_len > len */
	B_NLMSG_LEN_TINY,         /* nlmsg_len < sizeof(nlmsghdr) */
	B_NO_IFINFOMSG,           /* message shorter than its ifinfomsg */
	B_NO_NAME,
	B_EMPTY_NAME,
	B_NAME_UNTERMINATED,
	B_NAME_TOO_LONG,          /* IFNAMSIZ characters + NUL */
	B_ZERO_LEN_NAME_ATTR,
	B_ZERO_LEN_OPERSTATE,
	B_ATTR_PAST_END,          /* the last attribute's length runs past nlmsg_len */
	B_PARTIAL_ATTR_HDR,       /* 2 stray bytes after the last attribute */
	B_IFINDEX_ZERO,
	B_IFINDEX_NEGATIVE,
};

static const struct {
	enum breakage b;
	const char *what;
} bad_cases[] = {
	{ B_LEN_TOO_SHORT_FOR_HDR, "buffer shorter than nlmsghdr" },
	{ B_NLMSG_LEN_PAST_BUFFER, "nlmsg_len past the buffer" },
	{ B_NLMSG_LEN_TINY, "nlmsg_len smaller than nlmsghdr" },
	{ B_NO_IFINFOMSG, "no room for ifinfomsg" },
	{ B_NO_NAME, "no IFLA_IFNAME" },
	{ B_EMPTY_NAME, "empty IFLA_IFNAME" },
	{ B_NAME_UNTERMINATED, "IFLA_IFNAME without NUL" },
	{ B_NAME_TOO_LONG, "IFLA_IFNAME of IFNAMSIZ characters" },
	{ B_ZERO_LEN_NAME_ATTR, "zero-length IFLA_IFNAME" },
	{ B_ZERO_LEN_OPERSTATE, "zero-length IFLA_OPERSTATE" },
	{ B_ATTR_PAST_END, "attribute longer than the message" },
	{ B_PARTIAL_ATTR_HDR, "partial attribute header at the end" },
	{ B_IFINDEX_ZERO, "ifindex 0" },
	{ B_IFINDEX_NEGATIVE, "ifindex -1" },
};

static size_t build_bad(struct mb *m, enum breakage b)
{
	mb_init(m, RTM_NEWLINK, 4, IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
	struct ifinfomsg *ifi = NLMSG_DATA(&m->u.h);
	char longname[IFNAMSIZ + 1];
	memset(longname, 'a', IFNAMSIZ);
	longname[IFNAMSIZ] = 0;
	switch (b) {
	case B_LEN_TOO_SHORT_FOR_HDR:
		mb_name(m, "ok0");
		return sizeof(struct nlmsghdr) - 1;
	case B_NLMSG_LEN_PAST_BUFFER:
		mb_name(m, "ok0");
		return m->u.h.nlmsg_len - 1;
	case B_NLMSG_LEN_TINY:
		m->u.h.nlmsg_len = sizeof(struct nlmsghdr) - 4;
		return sizeof(*m);
	case B_NO_IFINFOMSG:
		m->u.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg) - 4);
		return m->u.h.nlmsg_len;
	case B_NO_NAME:
		mb_oper(m, IF_OPER_UP);
		break;
	case B_EMPTY_NAME:
		mb_name(m, "");
		break;
	case B_NAME_UNTERMINATED:
		mb_attr(m, IFLA_IFNAME, "eth0", 4);
		break;
	case B_NAME_TOO_LONG:
		mb_name(m, longname);
		break;
	case B_ZERO_LEN_NAME_ATTR:
		mb_attr(m, IFLA_IFNAME, "", 0);
		break;
	case B_ZERO_LEN_OPERSTATE:
		mb_name(m, "ok0");
		mb_attr(m, IFLA_OPERSTATE, "", 0);
		break;
	case B_ATTR_PAST_END: {
		mb_name(m, "ok0");
		mb_oper(m, IF_OPER_UP);
		struct rtattr *last = (struct rtattr *)(m->u.b + m->u.h.nlmsg_len - RTA_ALIGN(RTA_LENGTH(1)));
		last->rta_len = 64;
		break;
	}
	case B_PARTIAL_ATTR_HDR:
		mb_name(m, "ok0");
		m->u.h.nlmsg_len += 2;
		break;
	case B_IFINDEX_ZERO:
		mb_name(m, "ok0");
		ifi->ifi_index = 0;
		break;
	case B_IFINDEX_NEGATIVE:
		mb_name(m, "ok0");
		ifi->ifi_index = -1;
		break;
	}
	return m->u.h.nlmsg_len;
}

Test(linkmon, parse_malformed)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct mb m;
		size_t len = build_bad(&m, bad_cases[i].b);
		struct mp_link_msg lm = { .ifindex = 42 };
		errno = 0;
		int r = mp_linkmon_parse(&m, len, &lm);
		cr_expect_eq(r, -1, "%s: expected -1, got %d", bad_cases[i].what, r);
		cr_expect_eq(errno, EINVAL, "%s: errno %d", bad_cases[i].what, errno);
		cr_expect_eq(lm.ifindex, 42, "%s: out written", bad_cases[i].what);
	}
}

Test(linkmon, parse_longest_name_ok)
{
	struct mb m;
	char name[IFNAMSIZ];
	memset(name, 'b', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	mb_init(&m, RTM_NEWLINK, 5, 0);
	mb_name(&m, name);
	struct mp_link_msg lm;
	cr_assert_eq(mp_linkmon_parse(&m, m.u.h.nlmsg_len, &lm), 1);
	cr_expect_str_eq(lm.ifname, name);
	cr_expect_eq(mp_linkmon_parse(NULL, 100, &lm), -1);
}
