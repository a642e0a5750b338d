/* The daemon's NBD server set-up from the [nbd] configuration: TLS credentials and listeners (see nbd_setup.h). */
#include "tools/mpiscsid/nbd_setup.h"

#include <stdio.h>
#include <string.h>

int mp_nbd_tls_load(const struct mp_conf *c, struct nbd_tls_creds **out, char *err, size_t errlen)
{
	const struct mp_conf_nbd *b = &c->nbd;

	*out = NULL;
	if (mp_conf_tls_mode(c) == MP_CONF_TLS_OFF)
		return 0;
	const struct nbd_tls_config tc = {
		.cert_file = b->tls_cert,
		.key_file = b->tls_key,
		.ca_file = b->tls_ca,
		.psk_file = b->tls_psk_file,
	};
	*out = nbd_tls_creds_load(&tc, err, errlen);
	return *out ? 0 : -1;
}

void mp_nbd_listen_summary(const struct mp_conf *c, char *buf, size_t n)
{
	size_t used = 0;

	if (n)
		buf[0] = '\0';
	for (size_t i = 0; i < c->nbd.n_listen && used < n; i++) {
		int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", c->nbd.listen[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}
