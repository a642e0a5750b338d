/* The [nbd] section: listen addresses, TLS keys, insecure; defaults, whole-section checks and its text for --check-config. */
#include "tools/mpiscsid/config_nbd.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "tools/mpiscsid/config_parse.h"
#include "tools/mpiscsid/config_values.h"
#include "transport/nbd/nbd_addr.h"

#define DEFAULT_LISTEN "unix:/run/mpiscsi/nbd.sock"

void cfg_nbd_init(struct mp_conf *c)
{
	struct mp_conf_nbd *b = &c->nbd;

	memset(b, 0, sizeof(*b));
	snprintf(b->listen[0], sizeof(b->listen[0]), "%s", DEFAULT_LISTEN);
	b->n_listen = 1;
	b->listen_replace = true;
	b->tls = MP_CONF_TLS_AUTO;
	b->max_clients = 256;
	b->max_handshakes = 32;
	b->handshake_timeout_ms = 10000;
	b->max_inflight = 256;
	b->max_inflight_mib = 128;
	b->max_request_kib = 32768;
}

int cfg_set_max_clients(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, const char *v,
			char *why, size_t n)
{
	return cfg_set_number(key, v, 1, 65536, &c->nbd.max_clients, why, n);
}

int cfg_set_max_handshakes(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, const char *v,
			   char *why, size_t n)
{
	return cfg_set_number(key, v, 1, 65536, &c->nbd.max_handshakes, why, n);
}

int cfg_set_handshake_timeout(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
			      const char *v, char *why, size_t n)
{
	/* Long enough for a TLS handshake over a slow link, short enough that clients that
	 * connect and stall are dropped soon (they also lose their place to newcomers). */
	return cfg_set_time(key, v, 100, 600000, false, false, &c->nbd.handshake_timeout_ms, why, n);
}

int cfg_set_max_inflight(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, const char *v,
			 char *why, size_t n)
{
	return cfg_set_number(key, v, 1, 4096, &c->nbd.max_inflight, why, n);
}

int cfg_set_max_inflight_mib(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
			     const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 1, 4096, &c->nbd.max_inflight_mib, why, n);
}

int cfg_set_max_request_kib(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,
			    const char *v, char *why, size_t n)
{
	return cfg_set_number(key, v, 4, 32768, &c->nbd.max_request_kib, why, n);
}

void cfg_nbd_override_listen(struct mp_conf *c)
{
	c->nbd.listen_replace = true;
}

int cfg_set_listen(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, const char *v,
		   char *why, size_t n)
{
	struct mp_conf_nbd *b = &c->nbd;
	char sh[CFG_SHOW_BUF], problem[CFG_WHY_BUF];
	struct nbd_listen_addr a;

	if (nbd_listen_addr_parse(v, &a, problem, sizeof(problem)) < 0)
		return cfg_fail(why, n, "%s: '%s': %s", key, cfg_show(v, sh), problem);
	if (strlen(v) >= sizeof(b->listen[0]))  /* not reached: the parser's limits are smaller */
		return cfg_fail(why, n, "%s: '%s' is too long", key, cfg_show(v, sh));
	/* Checked before anything changes: a refused value leaves the list as it was. */
	if (!b->listen_replace) {
		if (b->n_listen >= MP_CONF_MAX_LISTEN)
			return cfg_fail(why, n, "too many listen addresses (max %d)", MP_CONF_MAX_LISTEN);
		for (size_t i = 0; i < b->n_listen; i++)
			if (strcmp(b->listen[i], v) == 0)
				return cfg_fail(why, n, "%s: '%s' is listed twice", key, cfg_show(v, sh));
	} else {
		b->n_listen = 0;
		b->listen_replace = false;
	}
	snprintf(b->listen[b->n_listen], sizeof(b->listen[0]), "%s", v);
	b->listen_line[b->n_listen] = 0;
	b->n_listen++;
	return 0;
}

int cfg_set_tls(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, const char *v,
		char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	int mode;

	if (cfg_name_parse(&cfg_tls_names, v, &mode)) {
		c->nbd.tls = (enum mp_conf_tls)mode;
		return 0;
	}
	return cfg_fail(why, n, "%s: '%s' is not 'off', 'on' or 'require'", key, cfg_show(v, sh));
}

static int set_path(char *dst, size_t size, const char *key, const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];

	/* The daemon changes to / when it detaches: a relative path would name another file. */
	if (v[0] != '/')
		return cfg_fail(why, n, "%s: '%s' needs an absolute path", key, cfg_show(v, sh));
	if (strlen(v) >= size)
		return cfg_fail(why, n, "%s: path is too long (%zu bytes, max %zu)", key, strlen(v), size - 1);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return cfg_fail(why, n, "%s: '%s' contains a control character", key, cfg_show(v, sh));
	snprintf(dst, size, "%s", v);
	return 0;
}

#define PATH_SETTER(name, field)                                                                  \
	int cfg_set_##name(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key,  \
			   const char *v, char *why, size_t n)                                    \
	{                                                                                         \
		return set_path(c->nbd.field, sizeof(c->nbd.field), key, v, why, n);              \
	}
PATH_SETTER(tls_cert, tls_cert)
PATH_SETTER(tls_key, tls_key)
PATH_SETTER(tls_ca, tls_ca)
PATH_SETTER(tls_psk_file, tls_psk_file)
#undef PATH_SETTER

int cfg_set_insecure(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, const char *v,
		     char *why, size_t n)
{
	return cfg_set_bool(key, v, &c->nbd.insecure, why, n);
}

void cfg_nbd_note_line(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, int line)
{
	struct mp_conf_nbd *b = &c->nbd;

	if (strcmp(key, "listen") == 0 && b->n_listen)
		b->listen_line[b->n_listen - 1] = line;
	else if (strcmp(key, "tls") == 0)
		b->tls_line = line;
	else if (strcmp(key, "tls_cert") == 0)
		b->cert_line = line;
	else if (strcmp(key, "tls_key") == 0)
		b->key_line = line;
	else if (strcmp(key, "tls_ca") == 0)
		b->ca_line = line;
	else if (strcmp(key, "tls_psk_file") == 0)
		b->psk_line = line;
	else if (strcmp(key, "insecure") == 0)
		b->insecure_line = line;
}

enum mp_conf_tls mp_conf_tls_mode(const struct mp_conf *c)
{
	if (c->nbd.tls != MP_CONF_TLS_AUTO)
		return c->nbd.tls;
	return c->nbd.tls_cert[0] || c->nbd.tls_psk_file[0] ? MP_CONF_TLS_ON : MP_CONF_TLS_OFF;
}

static bool is_tcp(const char *spec)
{
	return strncmp(spec, "tcp:", 4) == 0;
}

enum mp_conf_listen_tls mp_conf_listen_tls(const struct mp_conf *c, size_t i)
{
	switch (mp_conf_tls_mode(c)) {
	case MP_CONF_TLS_AUTO:  /* not returned by mp_conf_tls_mode */
	case MP_CONF_TLS_OFF:
		return MP_CONF_LISTEN_PLAIN;
	case MP_CONF_TLS_REQUIRE:
		return MP_CONF_LISTEN_TLS_REQUIRED;
	case MP_CONF_TLS_ON:
		break;
	}
	/* A Unix socket is protected by its file mode; TCP by TLS, unless a test asked otherwise. */
	if (is_tcp(c->nbd.listen[i]) && !c->nbd.insecure)
		return MP_CONF_LISTEN_TLS_REQUIRED;
	return MP_CONF_LISTEN_TLS_OPTIONAL;
}

int cfg_check_nbd(const struct mp_conf *c, int *line, char *why, size_t n)
{
	const struct mp_conf_nbd *b = &c->nbd;
	enum mp_conf_tls mode = mp_conf_tls_mode(c);

	*line = 0;
	if (b->tls_cert[0] && !b->tls_key[0]) {
		*line = b->cert_line;
		return cfg_fail(why, n, "tls_cert is set but tls_key is not: both are needed");
	}
	if (b->tls_key[0] && !b->tls_cert[0]) {
		*line = b->key_line;
		return cfg_fail(why, n, "tls_key is set but tls_cert is not: both are needed");
	}
	if (b->tls_ca[0] && !b->tls_cert[0]) {
		*line = b->ca_line;
		return cfg_fail(why, n, "tls_ca (client certificates) needs tls_cert and tls_key");
	}
	if (mode != MP_CONF_TLS_OFF && !b->tls_cert[0] && !b->tls_psk_file[0]) {
		*line = b->tls_line;
		return cfg_fail(why, n, "tls = %s needs tls_cert and tls_key, or tls_psk_file",
				cfg_name_of(&cfg_tls_names, mode));
	}
	for (size_t i = 0; i < b->n_listen; i++) {
		char sh[CFG_SHOW_BUF], problem[CFG_WHY_BUF];
		struct nbd_listen_addr a;

		*line = b->listen_line[i];
		if (nbd_listen_addr_parse(b->listen[i], &a, problem, sizeof(problem)) < 0)  /* set_listen checked */
			return cfg_fail(why, n, "listen: '%s': %s", cfg_show(b->listen[i], sh), problem);
		if (a.kind != NBD_ADDR_TCP)
			continue;
		if (b->insecure && !a.loopback) {
			*line = b->insecure_line ? b->insecure_line : *line;
			return cfg_fail(why, n, "insecure = yes, but listen '%s' is not a loopback address "
					"(127.0.0.0/8 or [::1]): plain NBD over a network is refused",
					cfg_show(b->listen[i], sh));
		}
		if (mp_conf_listen_tls(c, i) != MP_CONF_LISTEN_TLS_REQUIRED && !b->insecure)
			return cfg_fail(why, n, "listen: '%s' needs TLS: set tls_cert and tls_key, or "
					"tls_psk_file (plain TCP only with insecure = yes, on a loopback "
					"address)", cfg_show(b->listen[i], sh));
	}
	*line = 0;
	return 0;
}

bool mp_conf_nbd_same(const struct mp_conf *a, const struct mp_conf *b)
{
	const struct mp_conf_nbd *x = &a->nbd, *y = &b->nbd;

	if (x->n_listen != y->n_listen || mp_conf_tls_mode(a) != mp_conf_tls_mode(b) ||
	    x->insecure != y->insecure || strcmp(x->tls_cert, y->tls_cert) != 0 ||
	    strcmp(x->tls_key, y->tls_key) != 0 || strcmp(x->tls_ca, y->tls_ca) != 0 ||
	    strcmp(x->tls_psk_file, y->tls_psk_file) != 0)
		return false;
	for (size_t i = 0; i < x->n_listen; i++)
		if (strcmp(x->listen[i], y->listen[i]) != 0)
			return false;
	return true;
}

void mp_conf_print_nbd(FILE *f, const struct mp_conf *c)
{
	static const char *const what[] = {
		[MP_CONF_LISTEN_PLAIN] = "no TLS",
		[MP_CONF_LISTEN_TLS_OPTIONAL] = "TLS optional",
		[MP_CONF_LISTEN_TLS_REQUIRED] = "TLS required",
	};
	const struct mp_conf_nbd *b = &c->nbd;

	/* Paths only: key material stays in its files. tls is printed as what it means; when it
	 * was not set, "# default" says so (read back, it is then set explicitly to that mode). */
	fprintf(f, "\n[nbd]\n");
	for (size_t i = 0; i < b->n_listen; i++)
		cfg_print_kv(f, "listen", b->listen[i], what[mp_conf_listen_tls(c, i)]);
	cfg_print_kv(f, "tls", cfg_name_of(&cfg_tls_names, mp_conf_tls_mode(c)),
		     b->tls == MP_CONF_TLS_AUTO ? "default" : NULL);
	if (b->tls_cert[0])
		cfg_print_kv(f, "tls_cert", b->tls_cert, NULL);
	if (b->tls_key[0])
		cfg_print_kv(f, "tls_key", b->tls_key, NULL);
	if (b->tls_ca[0])
		cfg_print_kv(f, "tls_ca", b->tls_ca, "client certificates required");
	if (b->tls_psk_file[0])
		cfg_print_kv(f, "tls_psk_file", b->tls_psk_file, NULL);
	cfg_print_kv(f, "insecure", cfg_name_of(&cfg_bool_names, b->insecure), NULL);
	fprintf(f, "max_clients = %u\nmax_handshakes = %u\n", b->max_clients, b->max_handshakes);
	if (b->handshake_timeout_ms % 1000 == 0)
		fprintf(f, "handshake_timeout = %u\n", b->handshake_timeout_ms / 1000);
	else
		fprintf(f, "handshake_timeout = %ums\n", b->handshake_timeout_ms);
	fprintf(f, "max_inflight = %u\nmax_inflight_mib = %u\nmax_request_kib = %u\n",
		b->max_inflight, b->max_inflight_mib, b->max_request_kib);
}

static const struct cfg_key keys[] = {
	{ .key = "listen",         .set = cfg_set_listen, .repeatable = true, .note_line = cfg_nbd_note_line },
	{ .key = "tls",            .set = cfg_set_tls, .note_line = cfg_nbd_note_line },
	{ .key = "tls_cert",       .set = cfg_set_tls_cert, .note_line = cfg_nbd_note_line },
	{ .key = "tls_key",        .set = cfg_set_tls_key, .note_line = cfg_nbd_note_line },
	{ .key = "tls_ca",         .set = cfg_set_tls_ca, .note_line = cfg_nbd_note_line },
	{ .key = "tls_psk_file",   .set = cfg_set_tls_psk_file, .note_line = cfg_nbd_note_line },
	{ .key = "insecure",       .set = cfg_set_insecure, .note_line = cfg_nbd_note_line },
	{ .key = "max_clients",    .set = cfg_set_max_clients },
	{ .key = "max_handshakes", .set = cfg_set_max_handshakes },
	{ .key = "handshake_timeout", .set = cfg_set_handshake_timeout },
	{ .key = "max_inflight",   .set = cfg_set_max_inflight },
	{ .key = "max_inflight_mib", .set = cfg_set_max_inflight_mib },
	{ .key = "max_request_kib", .set = cfg_set_max_request_kib },
};
_Static_assert(MP_ARRAY_SIZE(keys) <= CFG_MAX_SECTION_KEYS, "too many [nbd] keys for the parser");
const struct cfg_key_table cfg_nbd_keys = { keys, MP_ARRAY_SIZE(keys) };
