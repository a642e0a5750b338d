/* mpiscsid's run-time model: targets (config sections) -> shared sessions -> disks (one per LU) and their paths. */
#ifndef MP_TOOLS_DAEMON_H
#define MP_TOOLS_DAEMON_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "initiator/iscsi_path.h"
#include "initiator/session.h"
#include "mpath/lu.h"
#include "tools/mpiscsid/config.h"

struct daemon;
struct tspec;
struct nbd_server;
struct mp_exports;
struct mp_linkmon;
struct mp_ctl;
struct mp_discovery;

/* One SendTargets discovery portal of a target spec. */
struct disc_req {
	ev_timer retry;                 /* first: the callback casts back */
	struct tspec *sp;
	const struct mp_conf_portal *portal;
	struct mp_discovery *h;         /* in progress, or NULL */
};

/*
 * A target spec: one [disk] section or URL group. It names a target, the portals and NICs
 * that reach it and the LUNs it takes; its sessions (shared with other specs of the same
 * target) report the LUNs, and the spec makes a disk of each LUN it takes.
 */
struct tspec {
	struct daemon *d;
	struct mp_conf_disk *conf;      /* owned copy: a reload replaces the daemon's config */
	bool from_config;               /* false: added at run time (mpiscsiadm -m node --login) */
	bool scanned;                   /* a session of it has reported its LUNs at least once */
	struct mp_conf_portal *portals; /* portals that have sessions (configured and discovered) */
	size_t n_portals;
	struct mp_iscsi_session **sess; /* the sessions it uses (not owned: the daemon's registry owns them) */
	size_t n_sess;
	struct disc_req *disc;          /* one per discovery portal of the config */
};

/* One disk: one LU, exported; its paths run over sessions of its spec. */
struct disk {
	struct daemon *d;
	struct tspec *sp;               /* NULL once its spec is gone (while draining) */
	uint32_t lun;
	char name[MP_CONF_NAME_MAX], export_name[MP_CONF_NAME_MAX];
	int32_t no_path_retry_s;        /* copied from the spec, for the drain deadline */
	bool discovered;                /* made because a scan listed the LUN (not named by the config):
					   removed when the target no longer lists it */
	bool draining;                  /* removed: waits for its requests, then is freed */
	ev_timer drain;                 /* the drain's deadline (mp_lu_drain reports the end) */
	struct disk *drain_next;
	struct mp_lu *lu;
	struct mp_iscsi_path **paths;
	size_t n_paths;
	bool exported;
};

/* A session of the daemon's registry: one per (NIC or none, portal, target). */
struct sess_entry {
	struct mp_iscsi_session *s;
	uint32_t lun_tag;               /* 0; with MPISCSI_TEST_SESSION_PER_LU, LUN + 1 of the one LU it serves */
	void *box;                      /* its portal, NIC and CHAP names (tools/mpiscsid/targets.c) */
};

struct daemon {
	struct ev_loop *loop;
	struct mp_clock clock;
	struct mp_conf conf;
	struct mp_exports *exports;     /* the front ends (tools/mpiscsid/exports.h) */
	struct tspec **specs;
	size_t n_specs;
	struct sess_entry *sessions;
	size_t n_sessions;
	struct disk **disks;            /* running disks; pointers stay valid while they run */
	size_t n_disks;
	struct disk *draining;          /* removed disks still finishing their requests */
	/* What the configuration is built from, for reloads. */
	const char *conf_file;
	char **urls;
	int n_urls;
	const char *opt_nbd, *opt_iname, *opt_level;
	const char *control;
	unsigned node_seq;              /* names of targets added at run time */
	bool plain_close;               /* MPISCSI_TEST_PLAIN_CLOSE set: see mp_iscsi_session_opts */
	bool no_pdu_guard;              /* MPISCSI_TEST_NO_PDU_GUARD set: libiscsi sees targets' PDUs unchecked */
	bool session_per_lu;            /* MPISCSI_TEST_SESSION_PER_LU set: the old one-session-per-LU bug */
	uint32_t last_path_id, last_session_id;
	struct mp_linkmon *linkmon;
	struct mp_ctl *ctl;
	bool listening;                 /* the front ends serve (from start-up on) */
	bool all_ready_noted;           /* "all N disk(s) attached and exported" was logged */
	int exit_status;
	ev_signal sig_int, sig_term, sig_hup;
};

/* ---- tools/mpiscsid/targets.c: target specs and the session registry ---- */

/* Start a target spec from its configuration (copied) and add it to the running set. */
struct tspec *spec_new(struct daemon *d, const struct mp_conf_disk *c, bool from_config);
/* Take a spec out of service: its disks are drained and removed, its sessions released. */
void spec_remove(struct daemon *d, struct tspec *sp, const char *why);
struct tspec *spec_find(struct daemon *d, const char *name);
/* Sessions to portal pt (through each of the spec's NICs, or none); iface non-NULL: that NIC only.
 * Returns how many new sessions it made, or -1 with errno (EEXIST: already there). */
int spec_add_portal(struct tspec *sp, const struct mp_conf_portal *pt, const char *iface);
/* Drop the spec's sessions to portal (all if NULL) through iface (any if NULL); returns how many. */
size_t spec_drop_sessions(struct tspec *sp, const struct mp_conf_portal *portal, const char *iface);

/* Free sessions that no spec uses and no path runs on. */
void sessions_gc(struct daemon *d);
/* A NIC went down or up. */
void sessions_link_event(struct daemon *d, const char *ifname, bool up);
/* libiscsi wants "HOST:PORT", with IPv6 literals in brackets. */
void portal_string(const struct mp_conf_portal *pt, char *buf, size_t len);
/* The registry entry of session s, or NULL. */
struct sess_entry *sess_entry_of(struct daemon *d, const struct mp_iscsi_session *s);
/* The portal and NIC (NULL: none) a registry entry was made for. */
void sess_entry_where(const struct sess_entry *e, const struct mp_conf_portal **pt, const char **iface);
/* Same (NIC, portal, target): with MPISCSI_TEST_SESSION_PER_LU, sessions of one nexus key. */
bool sess_same_key(const struct mp_iscsi_session *a, const struct mp_iscsi_session *b);
/* The session for (iface, portal, target) of spec sp: the running one or a new one (*created). */
struct mp_iscsi_session *sess_get(struct daemon *d, struct tspec *sp, const struct mp_conf_portal *pt,
				  const char *iface, uint32_t lun_tag, bool *created);
/* Spec sp has session s among its own. */
bool spec_uses(const struct tspec *sp, const struct mp_iscsi_session *s);

/* ---- tools/mpiscsid/disk.c: the disks' lives ---- */

/* A session of sp reported its LUNs (ok) or could not (!ok): the spec's disks and paths over s
 * follow (LUNs gone lose their path over s, LUNs the spec takes get a disk and paths). */
void disks_reconcile(struct tspec *sp, struct mp_iscsi_session *s, bool ok, const uint32_t *luns, size_t n);
/* The paths of sp's disks over session s (or its nexus key) go. */
void disks_drop_paths_over(struct daemon *d, const struct tspec *sp, const struct mp_iscsi_session *s);
/* Drain a disk and free it once its requests are done (no_path_retry + 10 s at most). */
void disk_remove(struct daemon *d, struct disk *k, const char *why);
/* Free everything of a disk now (paths first). */
void disk_free(struct daemon *d, struct disk *k);
struct disk *disk_find(struct daemon *d, const char *name);
/* A disk has attached (or k NULL: a scan finished): export it (the listeners are already
 * open), and log once when every configured target has reported and every disk is exported. */
void daemon_disk_ready(struct daemon *d, struct disk *k);
/* nbd_pending_fn for the socket server (arg = d): name is a disk the daemon runs or the
 * configuration names that is not exported yet; why says what it waits for. */
bool daemon_export_pending(void *arg, const char *name, size_t len, char *why, size_t n);
/* A disk leaves service: its export goes. */
void daemon_disk_unexport(struct daemon *d, struct disk *k);

/* ---- tools/mpiscsid/reload.c ---- */

/* The configuration from the file, the URLs and the command-line overrides, validated, with
 * the CHAP secrets loaded. A configuration file that does not exist counts as an empty one
 * (*absent set true). No disk at all is fine: disks come at run time. -1 with a message in err. */
int daemon_conf_build(const struct daemon *d, struct mp_conf *c, bool *absent, char *err, size_t len);
/* Reload: specs whose section changed restart, new ones start, removed ones drain. Returns 0
 * with a summary in msg, or -1 (errno) leaving the running configuration as it is. */
int daemon_reload(struct daemon *d, char *msg, size_t len);
/* The same, and *counts (zeroed first) says how many disk sections were added, removed, ... */
struct mp_ctl_reload_counts;
int daemon_reload_counted(struct daemon *d, struct mp_ctl_reload_counts *counts, char *msg, size_t len);

/* ---- tools/mpiscsid/ctl_model.c ---- */

/* What the control socket sees of the daemon and may do to it (arg = d). */
struct mp_ctl_model;
void daemon_ctl_model(struct daemon *d, struct mp_ctl_model *m);

#endif
