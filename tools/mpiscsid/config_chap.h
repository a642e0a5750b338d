/* Internal to tools/config*.c: the CHAP keys' setters and the per-disk CHAP check. */
#ifndef MP_TOOLS_CONFIG_CHAP_H
#define MP_TOOLS_CONFIG_CHAP_H

#include <stddef.h>

#include "tools/mpiscsid/config.h"

/* [global] secrets = /ABSOLUTE/PATH */
int cfg_set_secrets(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		    char *why, size_t n);
/* [disk] auth, discovery_auth = none | chap | mutual */
int cfg_set_auth(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		 char *why, size_t n);
int cfg_set_discovery_auth(struct mp_conf *c, struct mp_conf_disk *d, const char *key,
			   const char *v, char *why, size_t n);
/* [disk] chap_user, chap_mutual_user, discovery_chap_user, discovery_chap_mutual_user = NAME */
int cfg_set_chap_user(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		      char *why, size_t n);
int cfg_set_chap_mutual_user(struct mp_conf *c, struct mp_conf_disk *d, const char *key,
			     const char *v, char *why, size_t n);
int cfg_set_discovery_chap_user(struct mp_conf *c, struct mp_conf_disk *d, const char *key,
				const char *v, char *why, size_t n);
int cfg_set_discovery_chap_mutual_user(struct mp_conf *c, struct mp_conf_disk *d, const char *key,
				       const char *v, char *why, size_t n);

/*
 * A disk's CHAP keys as a whole: every user name its auth needs and none it does not,
 * distinct names for the two directions, discovery_auth only with a discovery portal.
 * Returns 0, or -1 with why ("[disk NAME] ...").
 */
int cfg_check_disk_chap(const struct mp_conf_disk *d, char *why, size_t n);

#endif
