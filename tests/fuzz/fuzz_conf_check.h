/* Invariants of a parsed struct mp_conf, shared by the config file and URL fuzz targets. */
#ifndef MP_TESTS_FUZZ_CONF_CHECK_H
#define MP_TESTS_FUZZ_CONF_CHECK_H

#include "tools/mpiscsid/config.h"
#include "common/log.h"
#include "tests/fuzz/fuzz_common.h"

#define T(field) fuzz_terminated((field), sizeof(field))

static inline void fuzz_check_portal(const struct mp_conf_portal *p)
{
	FUZZ_CHECK(T(p->host));
	FUZZ_CHECK(p->host[0] != '\0');
	FUZZ_CHECK(p->port != 0);
}

/* Every string terminated inside its array, every count within its array, every enum valid. */
static inline void fuzz_check_conf(const struct mp_conf *c)
{
	FUZZ_CHECK(T(c->file) && T(c->initiator_name));
	FUZZ_CHECK(c->nbd.n_listen >= 1 && c->nbd.n_listen <= MP_CONF_MAX_LISTEN);
	for (size_t i = 0; i < c->nbd.n_listen; i++)
		FUZZ_CHECK(T(c->nbd.listen[i]) && c->nbd.listen[i][0] != '\0');
	FUZZ_CHECK(T(c->nbd.tls_cert) && T(c->nbd.tls_key) && T(c->nbd.tls_ca) && T(c->nbd.tls_psk_file));
	FUZZ_CHECK(c->nbd.tls >= MP_CONF_TLS_AUTO && c->nbd.tls <= MP_CONF_TLS_REQUIRE);
	FUZZ_CHECK(c->log_level >= MP_LOG_ERR && c->log_level <= MP_LOG_DEBUG);
	FUZZ_CHECK(c->n_disks <= MP_CONF_MAX_DISKS);
	FUZZ_CHECK(T(c->secrets_file) && c->secrets == NULL); /* parsing never reads the secrets file */
	FUZZ_CHECK(c->n_disks == 0 || c->disks != NULL);
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct mp_conf_disk *d = &c->disks[i];
		FUZZ_CHECK(T(d->name) && T(d->target) && T(d->export_name) && T(d->selector));
		FUZZ_CHECK(d->n_portals <= MP_CONF_MAX_PORTALS);
		FUZZ_CHECK(d->n_discovery <= MP_CONF_MAX_PORTALS);
		FUZZ_CHECK(d->n_interfaces <= MP_CONF_MAX_IFACES);
		FUZZ_CHECK(d->n_prios <= MP_CONF_MAX_PRIOS);
		for (size_t j = 0; j < d->n_portals; j++)
			fuzz_check_portal(&d->portals[j]);
		for (size_t j = 0; j < d->n_discovery; j++)
			fuzz_check_portal(&d->discovery[j]);
		for (size_t j = 0; j < d->n_interfaces; j++)
			FUZZ_CHECK(T(d->interfaces[j]) && d->interfaces[j][0] != '\0');
		for (size_t j = 0; j < d->n_prios; j++) {
			FUZZ_CHECK(T(d->prios[j].target));
			FUZZ_CHECK(d->prios[j].prio >= 0 && d->prios[j].prio <= 1000);
		}
		FUZZ_CHECK(d->failback >= MP_FAILBACK_IMMEDIATE && d->failback <= MP_FAILBACK_DEFERRED);
		FUZZ_CHECK((d->failback == MP_FAILBACK_DEFERRED) == (d->failback_delay_s != 0));
		FUZZ_CHECK(d->failback_delay_s <= 3600);
		FUZZ_CHECK(d->no_path_retry_s >= -1);
		FUZZ_CHECK(T(d->chap_user) && T(d->chap_mutual_user) && T(d->discovery_chap_user) &&
			   T(d->discovery_chap_mutual_user));
		FUZZ_CHECK(d->auth <= MP_CONF_AUTH_MUTUAL && d->discovery_auth <= MP_CONF_AUTH_MUTUAL);
		/* The priority lookup must answer for every listed portal without reading out of bounds. */
		for (size_t j = 0; j < d->n_portals; j++) {
			int32_t pr = mp_conf_path_prio(d, d->n_interfaces ? d->interfaces[0] : NULL, &d->portals[j]);
			FUZZ_CHECK(pr >= 0 && pr <= 1000);
		}
	}
}

/* An error message: non-empty and terminated inside its buffer. */
static inline void fuzz_check_err(const char *err, size_t size)
{
	FUZZ_CHECK(fuzz_terminated(err, size));
	FUZZ_CHECK(err[0] != '\0');
}

#undef T
#endif
