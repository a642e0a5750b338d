/* Internal to tools/config*.c: the [nbd] keys' setters (listen, TLS), their defaults and the section's checks. */
#ifndef MP_TOOLS_CONFIG_NBD_H
#define MP_TOOLS_CONFIG_NBD_H

#include <stddef.h>

#include "tools/mpiscsid/config.h"

/* Defaults: one listener unix:/run/mpiscsi/nbd.sock (replaced by the first listen key), tls auto. */
void cfg_nbd_init(struct mp_conf *c);

/* listen = unix:/PATH | tcp:HOST:PORT, repeatable (max MP_CONF_MAX_LISTEN). */
int cfg_set_listen(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		   char *why, size_t n);
/* tls = off | on | require */
int cfg_set_tls(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		char *why, size_t n);
/* tls_cert, tls_key, tls_ca, tls_psk_file = /ABSOLUTE/PATH */
int cfg_set_tls_cert(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		     char *why, size_t n);
int cfg_set_tls_key(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		    char *why, size_t n);
int cfg_set_tls_ca(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		   char *why, size_t n);
int cfg_set_tls_psk_file(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			 char *why, size_t n);
/* insecure = yes | no */
int cfg_set_insecure(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
		     char *why, size_t n);

/* Limits: max_clients, max_handshakes, handshake_timeout, max_inflight, max_inflight_mib,
 * max_request_kib (see struct mp_conf_nbd). */
int cfg_set_max_clients(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			char *why, size_t n);
int cfg_set_max_handshakes(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			   char *why, size_t n);
int cfg_set_handshake_timeout(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			      char *why, size_t n);
int cfg_set_max_inflight(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			 char *why, size_t n);
int cfg_set_max_inflight_mib(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			     char *why, size_t n);
int cfg_set_max_request_kib(struct mp_conf *c, struct mp_conf_disk *d, const char *key, const char *v,
			    char *why, size_t n);

/* The parser tells which line set an [nbd] key (after its setter succeeded), for later checks
 * (a cfg_key_line, config_parse.h). */
void cfg_nbd_note_line(struct mp_conf *c, struct mp_conf_disk *d, const char *key, int line);

/* A command-line listen replaces the listeners from the file (mp_conf_set calls this first). */
void cfg_nbd_override_listen(struct mp_conf *c);

/*
 * The [nbd] section as a whole, once every source was read: tls_cert with tls_key, tls_ca
 * only with a certificate, tls = on/require only with credentials, every TCP listener with
 * required TLS unless insecure = yes, and insecure = yes only with loopback TCP listeners.
 * Returns 0, or -1 with why and *line (0 when the key came from the command line).
 */
int cfg_check_nbd(const struct mp_conf *c, int *line, char *why, size_t n);

#endif
