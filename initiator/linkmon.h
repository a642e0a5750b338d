/* Link monitor: rtnetlink (RTNLGRP_LINK) on the libev loop, reports NICs going up and down. */
#ifndef MP_INITIATOR_LINKMON_H
#define MP_INITIATOR_LINKMON_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * What "up" means here: the NIC can carry our traffic now.
 *
 *   up = IFF_UP && IFF_LOWER_UP && operstate in { IF_OPER_UP, IF_OPER_UNKNOWN }
 *
 * IF_OPER_UNKNOWN is accepted because drivers that do not track an operational
 * state (loopback, dummy, some virtual NICs) report it while working; requiring
 * IFF_LOWER_UP (carrier) with it keeps a cable-less NIC down. Everything else is
 * down: admin down, NO-CARRIER, IF_OPER_LOWERLAYERDOWN (a veth whose peer went
 * down, a VLAN whose parent went down), DORMANT (802.1X not yet authorised),
 * NOTPRESENT, TESTING. A message without IFLA_OPERSTATE (very old kernels) uses
 * IFF_RUNNING instead, which the kernel derives from the same states.
 */
bool mp_link_is_up(unsigned flags, int operstate);

/* IFNAMSIZ, without pulling <net/if.h> or <linux/if.h> (they clash) into every user. */
#define MP_IFNAMSIZ 16

/* One parsed RTM_NEWLINK / RTM_DELLINK message. */
struct mp_link_msg {
	bool del;                /* RTM_DELLINK: the link is gone */
	int ifindex;             /* > 0 */
	char ifname[MP_IFNAMSIZ];  /* NUL-terminated, never empty */
	unsigned flags;          /* ifi_flags (IFF_*) */
	int operstate;           /* IF_OPER_*, or -1 if the message has none */
	bool up;                 /* mp_link_is_up(flags, operstate); false for del */
};

/*
 * Parse one netlink message of len bytes at buf (len may exceed the message:
 * only nlmsg_len bytes are read, and nlmsg_len must fit in len). Pure: no
 * socket, no state. Returns 1 and fills *out for a well-formed link message,
 * 0 for any other message type (out untouched), -1 with errno EINVAL for a
 * malformed one (short header, bad attribute lengths, no or unterminated or
 * over-long IFLA_IFNAME, ifindex <= 0).
 */
int mp_linkmon_parse(const void *buf, size_t len, struct mp_link_msg *out);

/*
 * Called once for every real change of a link's state after the initial dump:
 * a known link going up or down, a new link appearing (with its state, up or
 * down), and a link that was up disappearing or being renamed (down under its
 * old name; a renamed link is then reported under its new name as new).
 * Repeated messages with an unchanged state are not reported. After a netlink
 * overrun the link table is read again and only the differences are reported.
 * The callback may call mp_linkmon_is_up() and mp_linkmon_free().
 */
typedef void mp_link_fn(void *arg, const char *ifname, int ifindex, bool up);

struct mp_linkmon;

/*
 * Open a NETLINK_ROUTE socket in the caller's network namespace, subscribe to
 * RTNLGRP_LINK and read the current link table before returning (a local
 * netlink dump, bounded by a 2 s deadline), so that mp_linkmon_is_up() answers
 * at once; the initial table is not reported through fn. Events then arrive on
 * loop. Returns NULL with errno set on failure (ENOMEM, a socket errno, or
 * ETIMEDOUT if the kernel did not finish the dump).
 */
struct mp_linkmon *mp_linkmon_new(struct ev_loop *loop, mp_link_fn *fn, void *arg);

/* Stop watching and release everything; fn is not called any more. NULL is ignored. */
void mp_linkmon_free(struct mp_linkmon *m);

/* 1 if ifname is up, 0 if it exists and is down, -1 if no such link is known. */
int mp_linkmon_is_up(const struct mp_linkmon *m, const char *ifname);

/*
 * Set the socket's receive buffer (SO_RCVBUF). The default is 1 MiB; tests
 * set a tiny one to provoke an overrun (ENOBUFS), which triggers a re-dump.
 * Returns 0, or -1 with errno.
 */
int mp_linkmon_set_rcvbuf(struct mp_linkmon *m, int bytes);

/* How many overruns (ENOBUFS, or a truncated or interrupted dump) were recovered by re-reading the table. */
unsigned mp_linkmon_resyncs(const struct mp_linkmon *m);

#endif
