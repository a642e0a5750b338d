/* The daemon's NBD server set-up from the [nbd] configuration: TLS credentials and listeners (see nbd_setup.h). */
#include "tools/nbd_setup.h"

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

int mp_nbd_listen_all(struct nbd_server *srv, const struct mp_conf *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->nbd.n_listen; i++) {
		struct nbd_listen_opts o = { .insecure = c->nbd.insecure };
		switch (mp_conf_listen_tls(c, i)) {
		case MP_CONF_LISTEN_PLAIN: o.tls = NBD_TLS_NONE; break;
		case MP_CONF_LISTEN_TLS_OPTIONAL: o.tls = NBD_TLS_OPTIONAL; break;
		case MP_CONF_LISTEN_TLS_REQUIRED: o.tls = NBD_TLS_REQUIRED; break;
		}
		if (nbd_server_listen_opts(srv, c->nbd.listen[i], &o, err, errlen) != 0)
			return -1;
	}
	return 0;
}

void mp_nbd_apply_limits(struct nbd_server *srv, const struct mp_conf *c)
{
	const struct nbd_limits lim = {
		.max_clients = c->nbd.max_clients,
		.max_handshakes = c->nbd.max_handshakes,
		.handshake_timeout_ms = c->nbd.handshake_timeout_ms,
		.max_inflight = c->nbd.max_inflight,
		.max_inflight_bytes = (uint64_t)c->nbd.max_inflight_mib << 20,
		.max_request = c->nbd.max_request_kib << 10,
	};
	nbd_server_set_limits(srv, &lim);
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
