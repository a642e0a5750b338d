/* The daemon's NBD server set-up from the [nbd] configuration: TLS credentials and listeners. */
#ifndef MP_TOOLS_NBD_SETUP_H
#define MP_TOOLS_NBD_SETUP_H

#include <stddef.h>

#include "tools/mpiscsid/config.h"
#include "transport/nbd/nbd_server.h"

/*
 * Load the TLS credentials the [nbd] section names (file modes checked, keys parsed),
 * or set *out to NULL when TLS is off. Meant to run before the daemon detaches, so a bad
 * key file is reported on the terminal. Returns 0, or -1 with err naming the file.
 */
int mp_nbd_tls_load(const struct mp_conf *c, struct nbd_tls_creds **out, char *err, size_t errlen);

/* "unix:/run/x.sock, tcp:127.0.0.1:10809" for a log line. */
void mp_nbd_listen_summary(const struct mp_conf *c, char *buf, size_t n);

#endif
