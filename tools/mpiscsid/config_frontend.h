/* Internal to tools/config*.c: the front-end keys of a [disk] (frontend, nbd_connections, nbd_timeout, nbd_dead_timeout). */
#ifndef MP_TOOLS_CONFIG_FRONTEND_H
#define MP_TOOLS_CONFIG_FRONTEND_H

#include <stddef.h>
#include <stdio.h>

#include "tools/mpiscsid/config.h"

/* Defaults of a new disk: socket only, 2 connections, timeout auto, dead-connection timeout 60 s. */
void cfg_frontend_defaults(struct mp_conf_disk *d);

/* [disk] frontend = socket | nbd-device | nbd-device:/dev/nbdN (repeatable, one of each kind) */
int cfg_set_frontend(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		     char *why, size_t n);
/* [disk] nbd_connections = 1..16 */
int cfg_set_nbd_connections(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			    char *why, size_t n);
/* [disk] nbd_timeout = auto | whole seconds 1..86400 */
int cfg_set_nbd_timeout(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			char *why, size_t n);
/* [disk] nbd_dead_timeout = whole seconds 0..86400 */
int cfg_set_nbd_dead_timeout(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			     char *why, size_t n);

#endif
