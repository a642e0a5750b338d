/* The daemon's configuration: the INI file (etc/mpiscsi.conf) and the iscsi:// URL quick-start form. */
#ifndef MP_TOOLS_CONFIG_H
#define MP_TOOLS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpath/lu.h"   /* enum mp_failback */

#define MP_CONF_MAX_PORTALS 16
#define MP_CONF_MAX_IFACES  16
#define MP_CONF_NAME_MAX    64
#define MP_CONF_IQN_MAX     224   /* RFC 7143: iSCSI names are at most 223 bytes */
#define MP_CONF_MAX_DISKS   1024  /* bounds the memory a hostile or broken config can take */
#define MP_CONF_MAX_PRIOS   16
#define MP_CONF_PRIO_DEFAULT 50   /* priority of a path that no prio rule names */

struct mp_conf_portal {
	char host[256];       /* IPv4, [IPv6] without brackets, or a host name */
	uint16_t port;        /* default 3260 */
};

/* prio = TARGET N: paths through interface TARGET, or to portal TARGET, get priority N. */
struct mp_conf_prio {
	char target[264];     /* as written: an interface name, HOST[:PORT] or [IPv6][:PORT] */
	int32_t prio;         /* 0-1000; higher is preferred */
	int line;             /* line of the prio key */
};

struct mp_conf_disk {
	char name[MP_CONF_NAME_MAX];        /* [disk NAME] or "disk<N>" for URLs */
	char target[MP_CONF_IQN_MAX];       /* target IQN */
	uint32_t lun;                       /* default 0 */
	struct mp_conf_portal portals[MP_CONF_MAX_PORTALS];
	size_t n_portals;
	char interfaces[MP_CONF_MAX_IFACES][16]; /* NIC names (IFNAMSIZ); none = let routing choose */
	size_t n_interfaces;
	char export_name[MP_CONF_NAME_MAX]; /* NBD export name; default = name */
	int32_t no_path_retry_s;            /* -1 queue forever, 0 fail at once, N s; default 30 */
	uint32_t max_retries;               /* re-issues per command; default 5 */
	/* SendTargets portals; the target's portals they report become paths too. */
	struct mp_conf_portal discovery[MP_CONF_MAX_PORTALS];
	size_t n_discovery;
	/* Path selection within a path group. */
	char selector[16];                  /* "service-time" (default), "queue-length", "round-robin" */
	uint32_t rr_min_io;                 /* commands per path, round-robin only; 1-100000, default 1 */
	/* Path groups: paths of equal priority; I/O goes to the highest group with a usable path. */
	struct mp_conf_prio prios[MP_CONF_MAX_PRIOS]; /* resolve with mp_conf_path_prio() */
	size_t n_prios;
	enum mp_failback failback;          /* default MP_FAILBACK_IMMEDIATE */
	uint32_t failback_delay_s;          /* MP_FAILBACK_DEFERRED only: 1-3600 s; else 0 */
	/* Timers, all in milliseconds. */
	uint32_t noop_interval_ms;          /* NOP-Out ping period; 0 = none; default 500 */
	uint32_t noop_timeout_ms;           /* NOP-In wait before the path is failed; default 1000 */
	uint32_t command_timeout_ms;        /* per-command deadline; 0 = none; default 10000 */
	uint32_t login_timeout_ms;          /* connect + login + attach deadline; default 3000 */
	uint32_t reconnect_max_ms;          /* reconnect backoff ceiling; default 1000 */
	/* Marginal-path damping (the window and hold are whole seconds, kept in ms). */
	uint32_t marginal_flaps;            /* failures within the window that make a path
					       marginal; 0 = off; default 3 */
	uint32_t marginal_window_ms;        /* default 60000 */
	uint32_t marginal_hold_ms;          /* how long a marginal path is kept out; default 30000 */
	uint32_t marginal_latency_factor;   /* latency above N x the group's best = marginal;
					       0 = off; default 20 */
	/* ALUA (used when the target reports it). */
	bool alua_off;                      /* alua = off: ignore the target's ALUA; default auto */
	bool alua_explicit;                 /* activate a standby group with STPG; default yes */
	uint32_t alua_refresh_ms;           /* periodic RTPG, whole seconds; 0 = none; default 5000 */
	int line;                           /* line of the [disk] header, 0 for URLs */
};

struct mp_conf {
	char file[4096];                    /* the file read, "" if none */
	char initiator_name[MP_CONF_IQN_MAX]; /* default iqn.2026-11.org.mpiscsi:<hostname> */
	int log_level;                      /* enum mp_log_level; default info */
	char nbd_listen[4096];              /* "unix:/path" ; default unix:/run/mpiscsi/nbd.sock */
	struct mp_conf_disk *disks;
	size_t n_disks;
};

/* Defaults for everything; no disks. */
void mp_conf_init(struct mp_conf *c);
void mp_conf_free(struct mp_conf *c);

/*
 * Parse INI text into c (which mp_conf_init prepared). On error returns -1 and
 * err holds "NAME:LINE: what is wrong" (NAME is the file name given) and c is
 * unchanged. Disks are checked as complete (target, portal, unique export) here.
 */
int mp_conf_parse(struct mp_conf *c, const char *name, const char *text, size_t len,
		  char *err, size_t errlen);
/* Read and parse a file; errors as mp_conf_parse, or "FILE: strerror" if unreadable. */
int mp_conf_load(struct mp_conf *c, const char *file, char *err, size_t errlen);
/*
 * Add a disk from iscsi://HOST[:PORT]/IQN/LUN (HOST may be [IPv6]). A URL whose
 * target and LUN match an earlier URL disk adds a portal (a path) to it.
 */
int mp_conf_add_url(struct mp_conf *c, const char *url, char *err, size_t errlen);
/*
 * Set one [global] or [nbd] key from outside a file (command-line overrides such as
 * --log-level): section is "global" or "nbd", key and value as in the file. On error
 * returns -1 and err holds "KEY: what is wrong" (no file name or line).
 */
int mp_conf_set(struct mp_conf *c, const char *section, const char *key, const char *value,
		char *err, size_t errlen);
/*
 * Checks after all sources were read: at least one disk, each with target and a portal or
 * discovery portal, prio rules that name an interface or portal of their disk, unique
 * names and exports, no two disks for one target+LUN. Errors as mp_conf_parse.
 */
int mp_conf_validate(const struct mp_conf *c, char *err, size_t errlen);
/*
 * Priority of the path through interface iface (NULL or "" if the disk lists none) to
 * portal (listed or discovered): the first prio rule, in file order, that names the
 * interface or the portal; MP_CONF_PRIO_DEFAULT if none does.
 */
int32_t mp_conf_path_prio(const struct mp_conf_disk *d, const char *iface,
			  const struct mp_conf_portal *portal);

#endif
