/* The export seam: one const ops table per local-disk front end (NBD socket server, kernel /dev/nbdN, later TCMU). */
#ifndef MP_TRANSPORT_EXPORT_H
#define MP_TRANSPORT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ev.h>
#include "transport/nbd/nbd_server.h"  /* struct nbd_limits, enum nbd_tls_policy (socket front end) */

struct mp_lu;

/*
 * A front end presents logical units of the multipath core as local disks. The daemon
 * creates each configured front end once, adds a disk to it when the disk's LU is ready,
 * removes it when the disk goes, reloads limits, and frees it at shutdown. mpath/ knows
 * none of this: a front end only calls mp_lu_submit() and reads mp_lu_get_info().
 *
 * Rules for every implementation (checked by the wrappers in transport/export/export.c,
 * which is the only caller of the ops):
 * - Everything runs on the loop given to create(); no op blocks for I/O and none is
 *   thread-safe. Netlink requests to the kernel are the one exception: they are
 *   synchronous request/answer exchanges bounded by a receive timeout.
 * - Errors: an op that fails returns -1 (or NULL) with errno set and a one-line message
 *   in err naming what failed and what to do; it leaves nothing half done (a failed
 *   add_disk left no state for that disk; the front end and its other disks go on).
 * - Ownership: the front end never owns an LU. The LU outlives every request the front
 *   end submitted to it (the daemon frees LUs only after the front end removed the disk or
 *   was freed, and mp_lu_free() completes whatever is still queued). Requests completing
 *   after remove_disk() or free() land in orphaned objects the front end frees then.
 * - Exactly once: each disk handle returned by add_disk() is passed to remove_disk() at
 *   most once, and never after free(); free() is called exactly once and releases every
 *   disk still added (without the removal's drain: see free).
 */

/* Settings of the whole front end (create and reload). Fields a front end does not use are ignored. */
#define MP_EXPORT_MAX_LISTEN 8
struct mp_export_listen {
	const char *spec;                 /* "unix:/path", "tcp:HOST:PORT" (nbd_addr.h) */
	enum nbd_tls_policy tls;
};
struct mp_export_config {
	/* socket */
	struct mp_export_listen listen[MP_EXPORT_MAX_LISTEN];
	size_t n_listen;
	bool insecure;                    /* TCP without required TLS on loopback addresses */
	struct nbd_tls_creds *tls;        /* create() takes this reference (NULL: no TLS) */
	struct nbd_limits limits;         /* 0 fields keep the defaults */
	/* Names of disks that will be added later (still attaching): a client asking for one is
	 * told it is not ready yet (nbd_server_set_pending). NULL: unknown names are unknown. */
	nbd_pending_fn *pending;
	void *pending_arg;
};

/* Per-disk settings of the kernel NBD front end (nbd-device). */
#define MP_EXPORT_NBD_CONNECTIONS_DEFAULT 2u
#define MP_EXPORT_NBD_CONNECTIONS_MAX     16u
struct mp_export_nbd_dev {
	int index;                        /* -1: any free /dev/nbdN; else that N */
	unsigned connections;             /* K socketpairs (1..MP_EXPORT_NBD_CONNECTIONS_MAX) */
	uint32_t timeout_s;               /* NBD_ATTR_TIMEOUT: request timeout; 0 = the kernel's */
	uint32_t dead_timeout_s;          /* NBD_ATTR_DEAD_CONN_TIMEOUT */
};

/* One disk as the daemon hands it to a front end; copied by add_disk (pointers need not outlive the call). */
struct mp_export_disk {
	const char *name;                 /* the disk's name, for logs and errors */
	const char *export_name;          /* socket: the NBD export name */
	const char *description;          /* socket: NBD_INFO_DESCRIPTION; may be NULL */
	struct mp_lu *lu;                 /* ready: mp_lu_get_info() is not NULL */
	struct mp_export_nbd_dev nbd_dev; /* nbd-device only */
};

struct mp_export_fe;        /* one front end instance (opaque to the daemon) */
struct mp_export_fe_disk;   /* one disk in one front end (opaque to the daemon) */

struct mp_export_ops {
	const char *name;       /* "socket", "nbd-device": the config's frontend = NAME */

	/*
	 * A front end with no disks that serves nothing yet. The config's TLS reference is the
	 * front end's from here on, also on failure. NULL with errno and err on failure.
	 */
	struct mp_export_fe *(*create)(struct ev_loop *loop, const struct mp_export_config *cfg,
				       char *err, size_t errlen);

	/*
	 * Begin serving: the socket server starts listening. The daemon calls it once, at
	 * start, before or after disks are added (each disk is served from its add_disk on).
	 * Optional (NULL: nothing). 0, or -1 with errno and err; after a failure the front end
	 * may only be freed.
	 */
	int (*start)(struct mp_export_fe *fe, char *err, size_t errlen);

	/*
	 * Export disk d. On success *out is the disk's handle and the disk is served (kernel
	 * device attached, export name offered). 0, or -1 with errno and err (one line naming
	 * the disk and what to do) and no state left behind.
	 */
	int (*add_disk)(struct mp_export_fe *fe, const struct mp_export_disk *d,
			struct mp_export_fe_disk **out, char *err, size_t errlen);

	/*
	 * Stop serving the disk: no new request is taken from its clients; requests already
	 * taken are answered as they complete (the drain), then the disk is let go (kernel:
	 * NBD_CMD_DISCONNECT; socket: clients disconnected). May finish asynchronously; the
	 * handle is the front end's again at once and must not be used by the caller.
	 */
	void (*remove_disk)(struct mp_export_fe *fe, struct mp_export_fe_disk *disk);

	/* New settings (limits) from a reload; what needs a restart (listeners, TLS) stays and is
	 * not an error; cfg->tls is not taken (pass NULL). Optional. */
	void (*reload)(struct mp_export_fe *fe, const struct mp_export_config *cfg);

	/*
	 * Where the disk can be found, for `mpiscsiadm show disks`: "/dev/nbd0" or "" (the
	 * socket front end has no device). Writes at most n bytes, NUL-terminated. Optional.
	 */
	void (*device)(const struct mp_export_fe *fe, const struct mp_export_fe_disk *disk, char *buf, size_t n);

	/*
	 * Stop and free everything, at once: listeners and client sockets closed. Disks still
	 * added are released without a drain and, for the kernel device, WITHOUT a disconnect:
	 * the kernel keeps /dev/nbdN (and a filesystem on it) for the next daemon to reattach
	 * within the dead-connection timeout. Requests in the core complete later into orphaned
	 * objects, which free themselves (the loop must keep running or the LUs be freed).
	 */
	void (*free)(struct mp_export_fe *fe);
};

/* ---- registry and contract-checking wrappers (transport/export/export.c) ---- */

/* The front end called name ("socket", "nbd-device"), or NULL. */
const struct mp_export_ops *mp_export_find(const char *name);
/* Every registered front end, NULL-terminated (for help texts and config checks). */
extern const struct mp_export_ops *const mp_export_registry[];

/* An instance of ops; the wrappers below check the contract and count disks. NULL with errno and err. */
struct mp_export *mp_export_new(const struct mp_export_ops *ops, struct ev_loop *loop,
				const struct mp_export_config *cfg, char *err, size_t errlen);
const char *mp_export_name(const struct mp_export *ex);
int mp_export_start(struct mp_export *ex, char *err, size_t errlen);
/* The handle is opaque; pass it back to mp_export_remove/mp_export_device only. */
int mp_export_add(struct mp_export *ex, const struct mp_export_disk *d, struct mp_export_fe_disk **out,
		  char *err, size_t errlen);
void mp_export_remove(struct mp_export *ex, struct mp_export_fe_disk *disk);
void mp_export_reload(struct mp_export *ex, const struct mp_export_config *cfg);
void mp_export_device(const struct mp_export *ex, const struct mp_export_fe_disk *disk, char *buf, size_t n);
/* Disks added and not removed, for tests. */
size_t mp_export_disk_count(const struct mp_export *ex);
void mp_export_free(struct mp_export *ex);

/* The implementations. */
extern const struct mp_export_ops mp_export_socket_ops;      /* transport/export/socket.c */
extern const struct mp_export_ops mp_export_nbd_device_ops;  /* transport/nbd_kernel/nbd_dev.c */

#endif
