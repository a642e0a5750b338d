/* Unit tests for initiator/isid.c: stable derivation, distinct sessions, collision handling. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "initiator/isid.h"

#define INI "iqn.2026-11.org.mpiscsi:host1"
#define TGT "iqn.2026-11.test:tgt"

Test(isid, layout_and_stability)
{
	uint8_t a[6], b[6];
	mp_isid_derive(INI, "veth1", "198.18.1.2:3260", TGT, 0, a);
	mp_isid_derive(INI, "veth1", "198.18.1.2:3260", TGT, 0, b);
	cr_expect_eq(a[0], 0x80, "type 0x80 (random), as libiscsi lays it out");
	cr_expect_eq(memcmp(a, b, 6), 0, "the same session gets the same ISID every time (restarts too)");
	char t[16];
	mp_isid_text(a, t, sizeof(t));
	cr_expect_eq(strlen(t), 14);
	cr_expect_eq(strncmp(t, "0x80", 4), 0);
}

Test(isid, differs_by_nic_portal_target_not_by_lun)
{
	uint8_t base[6], o[6];
	mp_isid_derive(INI, "veth1", "198.18.1.2:3260", TGT, 0, base);
	mp_isid_derive(INI, "veth2", "198.18.1.2:3260", TGT, 0, o);
	cr_expect_neq(memcmp(base + 4, o + 4, 2), 0, "another NIC, another qualifier");
	mp_isid_derive(INI, "veth1", "198.18.2.2:3260", TGT, 0, o);
	cr_expect_neq(memcmp(base + 4, o + 4, 2), 0, "another portal, another qualifier");
	mp_isid_derive(INI, "veth1", "198.18.1.2:3260", TGT "x", 0, o);
	cr_expect_neq(memcmp(base + 4, o + 4, 2), 0, "another target, another qualifier");
	mp_isid_derive(INI, NULL, "198.18.1.2:3260", TGT, 0, o);
	cr_expect_neq(memcmp(base, o, 6), 0, "no NIC differs from veth1");
	mp_isid_derive(INI "x", "veth1", "198.18.1.2:3260", TGT, 0, o);
	cr_expect_neq(memcmp(base + 1, o + 1, 3), 0, "another initiator name, another number");
	/* Fields are separated: ("ab", "c") is not ("a", "bc"). */
	uint8_t p[6], q[6];
	mp_isid_derive(INI, "ab", "c", TGT, 0, p);
	mp_isid_derive(INI, "a", "bc", TGT, 0, q);
	cr_expect_neq(memcmp(p, q, 6), 0);
}

Test(isid, collision_moves_to_next_qualifier)
{
	uint8_t want[6], got[6], taken[3][6];
	mp_isid_derive(INI, "veth1", "198.18.1.2:3260", TGT, 0, want);
	cr_expect_eq(mp_isid_pick(INI, "veth1", "198.18.1.2:3260", TGT, NULL, 0, got), 0u);
	cr_expect_eq(memcmp(want, got, 6), 0, "no other session: the derived ISID");

	memcpy(taken[0], want, 6);
	cr_expect_eq(mp_isid_pick(INI, "veth1", "198.18.1.2:3260", TGT, (const uint8_t(*)[6])taken, 1, got), 1u);
	cr_expect_neq(memcmp(want, got, 6), 0, "a collision moves on");
	uint8_t next[6];
	mp_isid_derive(INI, "veth1", "198.18.1.2:3260", TGT, 1, next);
	cr_expect_eq(memcmp(next, got, 6), 0, "to the next qualifier, deterministically");

	/* Two taken in a row: bump 2. */
	memcpy(taken[1], next, 6);
	memset(taken[2], 0, 6);
	cr_expect_eq(mp_isid_pick(INI, "veth1", "198.18.1.2:3260", TGT, (const uint8_t(*)[6])taken, 3, got), 2u);
	for (int i = 0; i < 3; i++)
		cr_expect_neq(memcmp(taken[i], got, 6), 0, "the result is none of the taken ones");
}

Test(isid, many_sessions_to_one_target_are_distinct)
{
	/* 2 NICs x 8 portals, each picked against the ones before it, as the daemon does. */
	uint8_t all[16][6];
	size_t n = 0;
	for (int nic = 1; nic <= 2; nic++)
		for (int portal = 1; portal <= 8; portal++) {
			char ifn[8], pt[32];
			snprintf(ifn, sizeof(ifn), "veth%d", nic);
			snprintf(pt, sizeof(pt), "198.18.%d.2:3260", portal);
			mp_isid_pick(INI, ifn, pt, TGT, (const uint8_t(*)[6])all, n, all[n]);
			n++;
		}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			cr_expect_neq(memcmp(all[i], all[j], 6), 0, "sessions %zu and %zu share an ISID", i, j);
}
