/* Talking to the kernel's "nbd" generic netlink family: one request, its answer or error, bounded in time. */
#ifndef MP_TRANSPORT_NBD_KERNEL_GENL_H
#define MP_TRANSPORT_NBD_KERNEL_GENL_H

#include <stddef.h>
#include <stdint.h>
#include "transport/nbd_kernel/nbd_nl.h"

/* How long one request may wait for the kernel's answer. */
#define NBD_GENL_TIMEOUT_MS 5000

struct nbd_genl;

/*
 * A generic netlink socket. The "nbd" family is looked up at each request until found, so
 * a module loaded after the daemon started is used from then on. NULL with errno and err.
 */
struct nbd_genl *nbd_genl_open(char *err, size_t errlen);
void nbd_genl_close(struct nbd_genl *g);

/*
 * Each call sends one request and waits (at most NBD_GENL_TIMEOUT_MS) for the kernel's
 * answer. 0, or -1 with errno: ENODEV (no "nbd" family: the module is not loaded; err says
 * "modprobe nbd"), ETIMEDOUT, or the kernel's own error (EBUSY: the device is in use,
 * EPERM: CAP_SYS_ADMIN needed, EINVAL: refused settings or backend mismatch), and err
 * holding one line saying so.
 */
int nbd_genl_connect(struct nbd_genl *g, const struct nbd_nl_config *cfg, uint32_t *index, char *err, size_t errlen);
int nbd_genl_reconfigure(struct nbd_genl *g, const struct nbd_nl_config *cfg, char *err, size_t errlen);
int nbd_genl_disconnect(struct nbd_genl *g, int index, char *err, size_t errlen);
/* Devices (index -1: all) and whether each is connected; *n may exceed max. */
int nbd_genl_status(struct nbd_genl *g, int index, struct nbd_nl_dev *out, size_t max, size_t *n,
		    char *err, size_t errlen);

#endif
