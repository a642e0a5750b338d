/* SendTargets discovery on the libev loop (libiscsi discovery session), and the portal address parser. */
#ifndef MP_INITIATOR_DISCOVERY_H
#define MP_INITIATOR_DISCOVERY_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "initiator/chap.h"

#define MP_ISCSI_NAME_MAX   223   /* RFC 7143: an iSCSI name is at most 223 bytes */
#define MP_PORTAL_HOST_MAX  253   /* a DNS name; an address is shorter */
#define MP_ISCSI_PORT       3260

/* One portal: host (an IPv4 or IPv6 address without brackets, or a DNS name), port, TPGT. */
struct mp_portal {
	char host[MP_PORTAL_HOST_MAX + 1];
	uint16_t port;          /* 1..65535; MP_ISCSI_PORT if the string had none */
	uint16_t tpgt;          /* target portal group tag; valid if has_tpgt */
	bool has_tpgt;
	bool ipv6;              /* host is an IPv6 address (written [host] in strings) */
};

/*
 * Parse a portal as SendTargets returns it (RFC 7143 TargetAddress):
 *   HOST[:PORT][,TPGT]   HOST = IPv4 address or DNS name
 *   [IPV6][:PORT][,TPGT]
 * s holds len bytes and need not be NUL-terminated; a NUL inside len is an
 * error. Pure, no allocation, no name resolution. Strict: no spaces, no signs,
 * decimal PORT 1..65535 and TPGT 0..65535 without leading zeros beyond "0",
 * IPv6 must be a valid address (inet_pton) and bracketed, an unbracketed host
 * holds only letters, digits, '.', '-' and is at most MP_PORTAL_HOST_MAX long.
 * Returns 0 and fills *out, or -1 with errno EINVAL (out untouched).
 */
int mp_portal_parse(const char *s, size_t len, struct mp_portal *out);

/*
 * Write "HOST:PORT" (or "[V6]:PORT"), with ",TPGT" appended if with_tpgt and
 * p->has_tpgt, into buf. Returns the length, or -1 with errno ENOSPC if it
 * does not fit (buf then holds "").
 */
int mp_portal_format(const struct mp_portal *p, bool with_tpgt, char *buf, size_t size);

struct mp_discovery_opts {
	const char *initiator_name;  /* our IQN; required */
	const char *portal;          /* "HOST[:PORT]" or "[V6][:PORT]" (port 3260 if none); required */
	const char *iface;           /* bind the connection to this NIC, or NULL */
	unsigned timeout_ms;         /* bound on the whole exchange; 0 means MP_DISCOVERY_TIMEOUT_MS */
	const struct mp_iscsi_chap *chap; /* CHAP for the discovery login, or NULL; needed only during
					     mp_discovery_start (libiscsi copies it) */
};
#define MP_DISCOVERY_TIMEOUT_MS 10000

/* One target portal the target reported. */
struct mp_discovered {
	char target[MP_ISCSI_NAME_MAX + 1];   /* target IQN (or eui./naa. name) */
	struct mp_portal portal;              /* has_tpgt false: the target listed no address,
						 which means the discovery portal itself */
};

struct mp_discovery_result {
	const struct mp_discovered *entries;  /* n entries, in the order the target sent them */
	size_t n;
	size_t skipped;                       /* malformed names or addresses left out */
};

/*
 * Called exactly once per mp_discovery_start() that returned non-NULL, unless
 * mp_discovery_cancel() was called first; never from inside mp_discovery_start().
 * err 0: res lists what the target reported (possibly nothing), msg is NULL.
 * err > 0: res is NULL, msg says what failed, with the portal, e.g.
 * "discovery 198.18.1.2:3261: connect failed: ...":
 *   EINVAL      the portal string is not HOST[:PORT][,TPGT] (a TPGT is ignored)
 *   ENOTCONN    the TCP connection could not be made or was lost
 *   EACCES      the target refused the login
 *   EKEYREJECTED  CHAP failed: the target refused our credentials (or wants CHAP and
 *               got none), or, with mutual CHAP, it did not prove itself; msg starts
 *               "discovery PORTAL: CHAP authentication failed" or "... mutual CHAP ..."
 *   EPROTO      the discovery exchange failed (a bad or refused text response)
 *   ETIMEDOUT   nothing completed within timeout_ms
 *   ENOMEM
 * res and msg are valid only during the call. When done returns, the handle has
 * been freed. done may start new discoveries and cancel other ones.
 */
typedef void mp_discovery_done_fn(void *arg, int err, const struct mp_discovery_result *res, const char *msg);

struct mp_discovery;

/*
 * Connect to opts->portal (through opts->iface if set), log in to a discovery
 * session, send SendTargets=All, log out. The strings in opts are copied.
 * Name resolution of a DNS portal happens inside this call (libiscsi uses
 * getaddrinfo), so pass addresses where blocking matters. Returns the handle,
 * or NULL with errno EINVAL (missing initiator name or portal, over-long
 * strings, CHAP names or secrets empty or longer than 255 bytes) or ENOMEM;
 * done is then never called.
 */
struct mp_discovery *mp_discovery_start(struct ev_loop *loop, const struct mp_discovery_opts *opts,
					mp_discovery_done_fn *done, void *arg);

/*
 * Abandon a discovery whose done has not run: done will not be called, the
 * connection is closed and everything is freed before this returns. Safe at any
 * state. Calling it from inside done (for this handle) is a harmless no-op.
 * NULL is ignored.
 */
void mp_discovery_cancel(struct mp_discovery *d);

#endif
