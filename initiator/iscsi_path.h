/* One iSCSI path: a libiscsi session over one NIC to one portal, driven by libev, implementing mp_path_ops. */
#ifndef MP_INITIATOR_ISCSI_PATH_H
#define MP_INITIATOR_ISCSI_PATH_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "initiator/chap.h"
#include "mpath/lu.h"

/*
 * Fill c with the CHAP credentials for the next login; c's strings need to stay valid only
 * until the call's caller returns to the loop (libiscsi copies them). Called before every
 * login, so a secret that changed (a reloaded secrets file) is used at the next one.
 * Returns 0, or -1 with why (never a secret) when there are no credentials to use.
 */
typedef int mp_iscsi_chap_fn(void *arg, struct mp_iscsi_chap *c, char *why, size_t n);

struct mp_iscsi_path_opts {
	const char *initiator_name;  /* our IQN */
	const char *target;          /* target IQN */
	const char *portal;          /* "HOST:PORT" or "[V6]:PORT" as libiscsi takes it */
	const char *iface;           /* NIC to bind to, or NULL */
	uint32_t lun;
	uint32_t id;                 /* the path's number for tools */
	int32_t prio;                /* path group priority */
	uint32_t noop_interval_ms;   /* NOP-Out after this long without data from the target; 0 = off */
	uint32_t noop_timeout_ms;    /* no data for this long after a NOP-Out: the path is dead */
	uint32_t command_timeout_ms; /* a command older than this fails the path; 0 = no deadline */
	uint32_t login_timeout_ms;   /* connect + login + attach must finish within this */
	uint32_t reconnect_max_ms;   /* reconnect backoff ceiling (it starts at 100 ms and doubles) */
	bool plain_close;            /* TEST ONLY: close sockets gracefully, so a dead connection's unsent
	                              * PDUs may still be delivered late (shows what the abortive close
	                              * prevents: tests/e2e/t_74_stale_write.sh) */
	mp_iscsi_chap_fn *chap;      /* CHAP credentials for each login; NULL = no authentication. A
				      * login refused for authentication is retried only after
				      * MP_ISCSI_AUTH_RETRY_S. */
	void *chap_arg;              /* for chap; must outlive the path */
};

/* Defaults: NOP every 0.5 s of silence, 1 s to answer, 10 s command deadline, 3 s login, 1 s backoff cap. */
void mp_iscsi_path_opts_default(struct mp_iscsi_path_opts *o);

struct mp_iscsi_path;

/*
 * Create a path that belongs to lu (registered with mp_lu_add_path) and start
 * connecting. It logs in, reads the LU's identity (initiator/attach.c), joins
 * the LU, and reconnects with backoff and the same ISID when the session fails.
 */
struct mp_iscsi_path *mp_iscsi_path_new(struct ev_loop *loop, struct mp_lu *lu,
					const struct mp_iscsi_path_opts *opts);
/* Tear the session down (in-flight commands complete CANCELLED), unregister and free. */
void mp_iscsi_path_free(struct mp_iscsi_path *p);
struct mp_path *mp_iscsi_path_core(struct mp_iscsi_path *p);

/* The NIC this path is bound to went down (fail the path now) or came up (reconnect now). */
void mp_iscsi_path_link_event(struct mp_iscsi_path *p, bool up);
/* The NIC the path is bound to, or the one its last session went out of; "" if unknown. */
const char *mp_iscsi_path_iface(const struct mp_iscsi_path *p);

/* What tools show of a path's session (mpiscsiadm -m session). */
struct mp_iscsi_session_view {
	const char *initiator;        /* borrowed from the path; valid while it lives */
	const char *target;
	const char *portal;
	const char *iface;            /* bound NIC, "" if none */
	const char *egress;           /* NIC the session left through, "" if unknown */
	uint32_t lun;
	uint8_t isid[6];
	const char *state;            /* "idle", "connecting", "login", "attach", "logged-in", "refused" */
	bool logged_in;
	double state_age_s;           /* seconds in this state */
	const char *last_error;       /* the last teardown's reason, "" if none */
	uint32_t noop_interval_ms, noop_timeout_ms, command_timeout_ms, login_timeout_ms, reconnect_max_ms;
	const char *header_digest;    /* what is offered at login */
};
void mp_iscsi_path_session(const struct mp_iscsi_path *p, struct mp_iscsi_session_view *v);

/* Stable ISID qualifier for a path: the same NIC and portal always get the same one. */
uint16_t mp_iscsi_isid_qualifier(const char *iface, const char *portal);

#endif
