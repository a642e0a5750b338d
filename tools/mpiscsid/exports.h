/* The daemon's front ends: which of them each disk is presented through (frontend = ...), behind the export seam. */
#ifndef MP_TOOLS_EXPORTS_H
#define MP_TOOLS_EXPORTS_H

#include <stddef.h>
#include <ev.h>

#include "tools/mpiscsid/config.h"
#include "transport/export.h"

struct mp_lu;
struct mp_exports;

/*
 * The front ends the configuration's disks use (transport/export.h), created now: the
 * socket server when a disk has frontend = socket (the default) or when no disk is
 * configured (disks come at run time), the kernel NBD device when one has nbd-device
 * (which also pins the daemon's memory: see nbd_dev.c). A front end a later reload or
 * login needs is created then. Takes the TLS reference (NULL: none). pending (may be
 * NULL) tells the socket server which names are disks not ready yet (nbd_pending_fn in
 * transport/nbd/nbd_server.h); it is called with pending_arg. NULL with err on failure.
 */
struct mp_exports *mp_exports_new(struct ev_loop *loop, const struct mp_conf *c, struct nbd_tls_creds *tls,
				  nbd_pending_fn *pending, void *pending_arg, char *err, size_t errlen);

/*
 * The disk called name (unique among running disks) has its LU ready (its first path
 * attached): add it to each front end its configuration section conf lists (frontend, the
 * nbd_* keys; several disks may share one section), the socket export under export_name.
 * A front end that fails logs one error naming the disk and what to do; the others go on
 * and the daemon keeps running. Returns how many front ends serve the disk now.
 */
size_t mp_exports_disk_ready(struct mp_exports *ex, const char *name, const char *export_name,
			     const struct mp_conf_disk *conf, struct mp_lu *lu);

/*
 * Start serving (the socket server listens on the [nbd] addresses), at start-up, whether
 * or not any disk is ready yet: each disk is served from mp_exports_disk_ready on. Call
 * once; a front end created later starts at once. 0, or -1 with err (the daemon cannot
 * serve what it was asked to: exit).
 */
int mp_exports_start(struct mp_exports *ex, const struct mp_conf *c, char *err, size_t errlen);

/*
 * The disk called name goes: each front end stops taking its requests, answers what it
 * took, then lets it go (NBD clients disconnected; /dev/nbdN disconnected). The LU must
 * stay until the disk's requests are finished (the daemon's drain). Unknown names: nothing.
 */
void mp_exports_disk_removed(struct mp_exports *ex, const char *name);

/* New [nbd] limits from a reload apply at once; listeners and TLS change with a restart. */
void mp_exports_reload(struct mp_exports *ex, const struct mp_conf *c);

/* The kernel devices of disk name, "/dev/nbd0" (comma-separated if several), or "" (mpiscsiadm show disks). */
void mp_exports_device(const struct mp_exports *ex, const char *name, char *buf, size_t n);

/*
 * Stop everything at once (see the free op in transport/export.h): listeners and clients
 * closed, kernel devices left attached for the next daemon. Before the LUs are freed.
 */
void mp_exports_free(struct mp_exports *ex);

#endif
