/* ISIDs for our sessions: derived from initiator name, NIC, portal and target, unique per target. */
#ifndef MP_INITIATOR_ISID_H
#define MP_INITIATOR_ISID_H

#include <stddef.h>
#include <stdint.h>

/*
 * RFC 7143 identifies a session by (initiator name, ISID, target name, TPGT); a second login
 * with an ISID that already has a session to the same target portal group is a session
 * reinstatement and closes the first. So every session of ours to one target gets its own
 * ISID, and the same one across reconnects and daemon restarts, so that the I_T nexus (and
 * the SCSI reservations registered on it) survives.
 *
 * Layout (type 0x80, "random", as libiscsi's iscsi_set_isid_random() writes it): byte 0 =
 * 0x80, bytes 1-3 = a 24-bit hash of the initiator name, bytes 4-5 = the qualifier: a
 * 16-bit hash of (NIC or "", portal, target) plus bump, so that a collision with another
 * session moves to the next qualifier.
 */
void mp_isid_derive(const char *initiator, const char *iface, const char *portal, const char *target,
		    unsigned bump, uint8_t out[6]);

/*
 * The ISID for a new session to target: the derived one with the smallest bump that no
 * session in taken[0..n) has (taken: the ISIDs of the daemon's other sessions to the same
 * target). Returns the bump used (0 when there was no collision).
 */
unsigned mp_isid_pick(const char *initiator, const char *iface, const char *portal, const char *target,
		      const uint8_t (*taken)[6], size_t n, uint8_t out[6]);

/* "0x80a1b2c3d4e5" into buf (at least 15 bytes). */
void mp_isid_text(const uint8_t isid[6], char *buf, size_t n);

#endif
