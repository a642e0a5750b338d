/* The attach sequence: read an LU's identity, capacity and limits over one path, asynchronously. */
#ifndef MP_INITIATOR_ATTACH_H
#define MP_INITIATOR_ATTACH_H

#include "mpath/lu.h"
#include "mpath/path.h"

struct mp_attach;

/*
 * Called exactly once per mp_attach_start() that returned non-NULL, unless
 * mp_attach_cancel() was called first. err is 0 and info the LU's data, or err
 * is a positive errno and msg says which command failed and why, e.g.
 * "VPD 0x83: CHECK CONDITION 5/24/00" (info is NULL then):
 *   EIO        a command failed (bad status, sense, or unit attention retries exhausted)
 *   ENOTCONN / ECANCELED / ETIMEDOUT   the transport failed, cancelled or timed out a command
 *   ENODEV     the LU is not a connected direct-access disk, or has no identity at all
 *   EPROTO     a response was malformed (see scsi_parse.h)
 *   other      submit() refused a command (its errno), or ENOMEM
 * info and msg are valid only during the call. When done returns, the attach
 * context has been freed: the handle must not be used again. done may free or
 * re-use the path (no command of this attach is in flight any more).
 */
typedef void mp_attach_done_fn(void *arg, int err, const struct mp_lu_info *info, const char *msg);

struct mp_attach_opts {
	/* Re-issues of one command that failed with UNIT ATTENTION (sense key 6). */
	unsigned ua_retries;
};
#define MP_ATTACH_UA_RETRIES_DEFAULT 5
void mp_attach_opts_default(struct mp_attach_opts *o);

/*
 * Start reading: INQUIRY, VPD 0x00, 0x80 (if listed), 0x83, 0xB0 (if listed),
 * 0xB2 (if listed), READ CAPACITY(16), one command at a time through
 * path->ops->submit. opts NULL means defaults. Returns the handle, or NULL with
 * errno (ENOMEM, or the errno of a submit() that refused the first command);
 * then done is never called. done is never called from inside this function.
 */
struct mp_attach *mp_attach_start(struct mp_path *path, const struct mp_attach_opts *opts,
				  mp_attach_done_fn *done, void *arg);

/*
 * Abandon an attach whose done has not been called yet: done will not be
 * called. Safe while a command is in flight: the context then stays allocated
 * until that command completes (the path completes every command exactly
 * once), and is freed there; the path must therefore not be freed before its
 * in-flight commands have completed. Calling it from inside done is a harmless
 * no-op. NULL is ignored.
 */
void mp_attach_cancel(struct mp_attach *a);

#endif
