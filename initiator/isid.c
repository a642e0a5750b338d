/* ISID derivation and collision handling for the daemon's sessions (see isid.h). */
#include "initiator/isid.h"

#include <stdio.h>
#include <string.h>

/* FNV-1a: a stable small hash, so the ISID survives restarts of the daemon too. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	/* A separator, so that ("ab", "c") and ("a", "bc") differ. */
	return (h ^ 0xffu) * 16777619u;
}

void mp_isid_derive(const char *initiator, const char *iface, const char *portal, const char *target,
		    unsigned bump, uint8_t out[6])
{
	uint32_t rnd = fnv1a(2166136261u, initiator) & 0xffffffu;
	uint32_t h = fnv1a(fnv1a(fnv1a(2166136261u, iface ? iface : ""), portal), target);
	uint16_t qual = (uint16_t)((h ^ (h >> 16)) + bump);
	out[0] = 0x80;
	out[1] = (uint8_t)(rnd >> 16);
	out[2] = (uint8_t)(rnd >> 8);
	out[3] = (uint8_t)rnd;
	out[4] = (uint8_t)(qual >> 8);
	out[5] = (uint8_t)qual;
}

unsigned mp_isid_pick(const char *initiator, const char *iface, const char *portal, const char *target,
		      const uint8_t (*taken)[6], size_t n, uint8_t out[6])
{
	/* n sessions can block at most n qualifiers: n + 1 tries always find a free one. */
	for (unsigned bump = 0;; bump++) {
		mp_isid_derive(initiator, iface, portal, target, bump, out);
		size_t i = 0;
		while (i < n && memcmp(taken[i], out, 6) != 0)
			i++;
		if (i == n || bump > n)
			return bump;
	}
}

void mp_isid_text(const uint8_t isid[6], char *buf, size_t n)
{
	snprintf(buf, n, "0x%02x%02x%02x%02x%02x%02x", isid[0], isid[1], isid[2], isid[3], isid[4], isid[5]);
}
