/* The daemon's configuration: the INI file (etc/mpiscsi.conf) and the iscsi:// URL quick-start form. */
#ifndef MP_TOOLS_CONFIG_H
#define MP_TOOLS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpath/lu.h"   /* enum mp_failback */

#define MP_CONF_MAX_PORTALS 16
#define MP_CONF_MAX_IFACES  16
#define MP_CONF_NAME_MAX    64
#define MP_CONF_IQN_MAX     224   /* RFC 7143: iSCSI names are at most 223 bytes */
#define MP_CONF_MAX_DISKS   1024  /* bounds the memory a hostile or broken config can take */
#define MP_CONF_MAX_PRIOS   16
#define MP_CONF_PRIO_DEFAULT 50   /* priority of a path that no prio rule names */
#define MP_CONF_CHAP_NAME_MAX 256 /* CHAP user names: 1-255 visible ASCII bytes (tools/secrets.h) */

/* auth, discovery_auth: how a login authenticates. The secrets are in the secrets file. */
enum mp_conf_auth {
	MP_CONF_AUTH_NONE = 0,  /* no CHAP (the target must not ask for it) */
	MP_CONF_AUTH_CHAP,      /* one-way: we prove ourselves as chap_user */
	MP_CONF_AUTH_MUTUAL,    /* and the target proves itself as chap_mutual_user */
};

struct mp_secrets;

/* [nbd] tls: whether the NBD server offers TLS (mp_conf_listen_tls says what each listener does). */
enum mp_conf_tls {
	MP_CONF_TLS_AUTO = 0,   /* not set: on when tls_cert or tls_psk_file is set, else off */
	MP_CONF_TLS_OFF,        /* no TLS; a TCP listener then needs insecure = yes (loopback only) */
	MP_CONF_TLS_ON,         /* required on TCP listeners (optional with insecure = yes), optional
				   on Unix sockets */
	MP_CONF_TLS_REQUIRE,    /* required on every listener */
};

/* What one listener does about TLS. */
enum mp_conf_listen_tls {
	MP_CONF_LISTEN_PLAIN = 0,      /* no TLS offered */
	MP_CONF_LISTEN_TLS_OPTIONAL,   /* offered; clients may go on without */
	MP_CONF_LISTEN_TLS_REQUIRED,   /* nothing without TLS */
};

#define MP_CONF_MAX_LISTEN  8
#define MP_CONF_LISTEN_LEN  128   /* unix:/PATH fits sockaddr_un; tcp:HOST:PORT is at most 127 */
#define MP_CONF_PATH_MAX    4096

/* The [nbd] section (tools/config_nbd.c). The *_line fields: where each key was set, 0 if not
 * in a file (default or command line); errors found after parsing name that line. */
struct mp_conf_nbd {
	char listen[MP_CONF_MAX_LISTEN][MP_CONF_LISTEN_LEN]; /* unix:/PATH or tcp:HOST:PORT;
						   default unix:/run/mpiscsi/nbd.sock */
	int listen_line[MP_CONF_MAX_LISTEN];
	size_t n_listen;                    /* 1..MP_CONF_MAX_LISTEN */
	bool listen_replace;                /* the next listen replaces the list (the default, or
					       after a command-line override began) */
	enum mp_conf_tls tls;               /* default MP_CONF_TLS_AUTO */
	char tls_cert[MP_CONF_PATH_MAX];    /* PEM certificate chain; "" = none */
	char tls_key[MP_CONF_PATH_MAX];     /* its PEM private key (mode 0600) */
	char tls_ca[MP_CONF_PATH_MAX];      /* PEM CAs: clients must show a certificate they signed */
	char tls_psk_file[MP_CONF_PATH_MAX]; /* identity:hexkey lines (mode 0600) */
	bool insecure;                      /* TCP without required TLS, loopback only; default no */
	/* Limits (transport/nbd/nbd_server.h, struct nbd_limits). */
	uint32_t max_clients;               /* connections at once; 1-65536, default 256 */
	uint32_t max_handshakes;            /* of those, still in the handshake; 1-65536, default 32
					       (the oldest is closed for a newcomer) */
	uint32_t handshake_timeout_ms;      /* handshake deadline from accept; 100 ms-600 s,
					       default 10000 */
	uint32_t max_inflight;              /* requests in flight per connection; 1-4096, default 256 */
	uint32_t max_inflight_mib;          /* payload buffers per connection, MiB; 1-4096, default 128 */
	uint32_t max_request_kib;           /* largest READ/WRITE, KiB; 4-32768, default 32768 */
	int tls_line, cert_line, key_line, ca_line, psk_line, insecure_line;
};

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

/* frontend = KIND[:ARG]: one way the disk is presented (tools/config_frontend.c). */
#define MP_CONF_MAX_FRONTENDS 4
struct mp_conf_frontend {
	char kind[16];        /* a registered front end: "socket", "nbd-device" (transport/export.h) */
	int nbd_index;        /* nbd-device:/dev/nbdN: N; -1 = any free device */
	int line;             /* line of the frontend key */
};

#define MP_CONF_MAX_LUN_RANGES 32
#define MP_CONF_LUN_MAX 16383       /* SAM: the flat/peripheral LUN space libiscsi addresses */

/* Which LUNs of its target a [disk] section (or URL) takes (tools/config_luns.c). */
enum mp_conf_lun_mode {
	MP_CONF_LUNS_ALL = 0,  /* neither lun nor luns: every direct-access LUN REPORT LUNS lists;
				  the disks are NAME-<lun> */
	MP_CONF_LUNS_ONE,      /* lun = N, or a URL with a LUN: that LUN; the disk is NAME */
	MP_CONF_LUNS_LIST,     /* luns = 1,3-5: those LUNs; the disks are NAME-<lun> */
};

struct mp_conf_lun_range {
	uint16_t lo, hi;                    /* inclusive */
};

struct mp_conf_disk {
	char name[MP_CONF_NAME_MAX];        /* [disk NAME], "disk<N>" for URLs with a LUN, the
					       target's tail for URLs without */
	char target[MP_CONF_IQN_MAX];       /* target IQN */
	enum mp_conf_lun_mode lun_mode;     /* default MP_CONF_LUNS_ALL */
	uint32_t lun;                       /* MP_CONF_LUNS_ONE: the LUN */
	struct mp_conf_lun_range luns[MP_CONF_MAX_LUN_RANGES]; /* MP_CONF_LUNS_LIST, ascending */
	size_t n_luns;
	struct mp_conf_portal portals[MP_CONF_MAX_PORTALS];
	size_t n_portals;
	char interfaces[MP_CONF_MAX_IFACES][16]; /* NIC names (IFNAMSIZ); none = let routing choose */
	size_t n_interfaces;
	int interface_line[MP_CONF_MAX_IFACES]; /* where each was set, 0 if not in a file */
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
	/* CHAP (tools/config_chap.c): user names only; the secrets are in the [global] secrets file. */
	enum mp_conf_auth auth;             /* session logins; default none */
	char chap_user[MP_CONF_CHAP_NAME_MAX];        /* our CHAP name (auth chap, mutual) */
	char chap_mutual_user[MP_CONF_CHAP_NAME_MAX]; /* the target's CHAP name (auth mutual) */
	enum mp_conf_auth discovery_auth;   /* SendTargets logins; default none */
	char discovery_chap_user[MP_CONF_CHAP_NAME_MAX];
	char discovery_chap_mutual_user[MP_CONF_CHAP_NAME_MAX];
	/* Front ends (tools/config_frontend.c). None listed: socket only. */
	struct mp_conf_frontend frontends[MP_CONF_MAX_FRONTENDS];
	size_t n_frontends;
	uint32_t nbd_connections;           /* nbd-device: socketpairs to the kernel; 1-16, default 2 */
	uint32_t nbd_timeout_ms;            /* nbd-device: request timeout, whole s; 0 = auto
					       (mp_conf_nbd_timeout_s) */
	uint32_t nbd_dead_timeout_ms;       /* nbd-device: dead-connection timeout, whole s; default 60 s */
	int line;                           /* line of the [disk] header, 0 for URLs */
};

struct mp_conf {
	char file[4096];                    /* the file read, "" if none */
	char initiator_name[MP_CONF_IQN_MAX]; /* default iqn.2026-11.org.mpiscsi:<hostname> */
	int log_level;                      /* enum mp_log_level; default info */
	char control[108];                  /* control socket path; default /run/mpiscsi/control.sock */
	uint32_t control_max_clients;       /* control socket clients at once; 1-1024, default 16 */
	uint32_t control_max_pending;       /* of those, without a first complete request;
					       1-1024, default 8 (the oldest is closed for a newcomer) */
	int syslog;                         /* log to syslog: 1 yes, 0 no, -1 auto (when not in the foreground) */
	struct mp_conf_nbd nbd;             /* [nbd]: listeners and TLS */
	char secrets_file[4096];            /* [global] secrets: the CHAP secrets file; "" = none */
	struct mp_secrets *secrets;         /* its contents, loaded by mp_conf_load_secrets(); owned,
					       zeroed and freed by mp_conf_free; NULL until then */
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
 * Every interface a disk names exists on this host (down is fine: it may come up later).
 * For --check-config and logins, not for a running daemon's start or reload (a session over a
 * missing NIC waits for it, never logs in unbound). -1 with "FILE:LINE: ..." in err.
 */
int mp_conf_check_nics(const struct mp_conf *c, char *err, size_t errlen);
/*
 * After mp_conf_validate: read the [global] secrets file (tools/secrets.c: owner, mode and
 * format checked) into c->secrets if it is set or a disk uses CHAP, and check that every
 * CHAP user a disk names has a secret there and that no disk uses one secret for both
 * directions. Errors name the file (and the config line of the disk); they never contain
 * a secret.
 */
int mp_conf_load_secrets(struct mp_conf *c, char *err, size_t errlen);
/*
 * The secrets of user and mutual_user (NULL: one-way) from c->secrets, for a login.
 * The pointers stay valid until c is freed. Returns -1 with why (naming the user, never
 * a secret) when one is missing.
 */
int mp_conf_chap_secrets(const struct mp_conf *c, const char *user, const char *mutual_user,
			 const char **secret, const char **mutual_secret, char *why, size_t n);
/* Whether d takes LUN lun of its target. */
bool mp_conf_disk_wants_lun(const struct mp_conf_disk *d, uint32_t lun);
/* Whether two disks of one target take a LUN in common. */
bool mp_conf_disks_overlap(const struct mp_conf_disk *a, const struct mp_conf_disk *b);
/*
 * The running disk's name and NBD export name for LUN lun of d: d's own for
 * MP_CONF_LUNS_ONE, "<name>-<lun>" and "<export>-<lun>" otherwise. Returns -1 when
 * they do not fit MP_CONF_NAME_MAX.
 */
int mp_conf_disk_lun_names(const struct mp_conf_disk *d, uint32_t lun, char *name, char *export_name);
/* The lun/luns line of d ("lun = 3", "luns = 1,3-5"), or "" for every LUN. */
void mp_conf_luns_text(const struct mp_conf_disk *d, char *buf, size_t n);
/* Parse "1,3-5" into d (the luns key); -1 with why. */
int mp_conf_parse_luns(struct mp_conf_disk *d, const char *key, const char *v, char *why, size_t n);

/* "none", "chap", "mutual". */
const char *mp_conf_auth_name(enum mp_conf_auth a);
/* [nbd] tls with AUTO resolved: MP_CONF_TLS_OFF, _ON or _REQUIRE. */
enum mp_conf_tls mp_conf_tls_mode(const struct mp_conf *c);
/* What listener i (< c->nbd.n_listen) does about TLS. */
enum mp_conf_listen_tls mp_conf_listen_tls(const struct mp_conf *c, size_t i);
/* Whether two configurations have the same [nbd] section. */
bool mp_conf_nbd_same(const struct mp_conf *a, const struct mp_conf *b);
/* The [nbd] section as config text, with each listener's TLS as a comment; paths, never keys. */
void mp_conf_print_nbd(FILE *f, const struct mp_conf *c);
/*
 * Priority of the path through interface iface (NULL or "" if the disk lists none) to
 * portal (listed or discovered): the first prio rule, in file order, that names the
 * interface or the portal; MP_CONF_PRIO_DEFAULT if none does.
 */
int32_t mp_conf_path_prio(const struct mp_conf_disk *d, const char *iface,
			  const struct mp_conf_portal *portal);

/* Front ends (tools/config_frontend.c). */
/* Whether the disk has front end kind ("socket" also when none is listed); *nbd_index (may be
 * NULL) gets its device number or -1. */
bool mp_conf_has_frontend(const struct mp_conf_disk *d, const char *kind, int *nbd_index);
/* The kernel NBD request timeout in seconds: nbd_timeout, or for auto no_path_retry + one
 * command_timeout + 30 s (a day for no_path_retry = queue). */
uint32_t mp_conf_nbd_timeout_s(const struct mp_conf_disk *d);
/* The disk's frontend and nbd_* keys as config text (for mp_conf_print_disk); nothing for the default (socket only). */
void mp_conf_print_frontends(FILE *f, const struct mp_conf_disk *d);

/* ---- tools/mpiscsid/config_print.c ---- */

/* The effective configuration as mpiscsi.conf text (--check-config, mpiscsiadm show config):
 * every key with its effective value; parsing the text again gives the same configuration
 * (tls not set is printed as the mode it means, marked "# default"; values the parser would
 * read differently bare are quoted). CHAP secrets are never printed (the secrets file's name
 * and count only). tests/unit/test_config_roundtrip.c makes the trip. */
void mp_conf_print(FILE *f, const struct mp_conf *c);
/* One [disk] section with every effective setting (also what a reload compares). */
void mp_conf_print_disk(FILE *f, const struct mp_conf_disk *k);

#endif
