/* CHAP in the configuration: the auth and chap_* keys, [global] secrets, and their checks against the secrets file. */
#include "tools/mpiscsid/config_chap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "tools/mpiscsid/config_values.h"
#include "tools/mpiscsid/secrets.h"

const char *mp_conf_auth_name(enum mp_conf_auth a)
{
	const char *name = cfg_name_of(&cfg_auth_names, (int)a);

	return name ? name : "?";
}

int cfg_set_secrets(struct mp_conf *c, struct mp_conf_disk *d MP_UNUSED, const char *key, const char *v,
		    char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];

	if (v[0] != '/')
		return cfg_fail(why, n, "%s: '%s' must be an absolute path", key, cfg_show(v, sh));
	if (strlen(v) >= sizeof(c->secrets_file))
		return cfg_fail(why, n, "%s: the path is longer than %zu bytes", key, sizeof(c->secrets_file) - 1);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return cfg_fail(why, n, "%s: '%s' contains a control character", key, cfg_show(v, sh));
	snprintf(c->secrets_file, sizeof(c->secrets_file), "%s", v);
	return 0;
}

static int parse_auth(const char *key, const char *v, enum mp_conf_auth *out, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	int a;

	if (cfg_name_parse(&cfg_auth_names, v, &a)) {
		*out = (enum mp_conf_auth)a;
		return 0;
	}
	return cfg_fail(why, n, "%s: '%s' is not 'none', 'chap' or 'mutual'", key, cfg_show(v, sh));
}

int cfg_set_auth(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key, const char *v,
		 char *why, size_t n)
{
	return parse_auth(key, v, &d->auth, why, n);
}

int cfg_set_discovery_auth(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			   const char *v, char *why, size_t n)
{
	return parse_auth(key, v, &d->discovery_auth, why, n);
}

/*
 * A bad name is not quoted back: "chap_user = alice s3cret" (a secret where it does not
 * belong) must not end up on a terminal or in a log.
 */
static int set_name(const char *key, const char *v, char *out, char *why, size_t n)
{
	if (!mp_chap_name_valid(v))
		return cfg_fail(why, n, "%s: not a CHAP name (1-%d visible ASCII characters, no spaces; "
				"the value is not shown in case it holds a secret)", key, MP_CHAP_NAME_MAX_LEN);
	snprintf(out, MP_CONF_CHAP_NAME_MAX, "%s", v);
	return 0;
}

int cfg_set_chap_user(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key, const char *v,
		      char *why, size_t n)
{
	return set_name(key, v, d->chap_user, why, n);
}

int cfg_set_chap_mutual_user(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
			     const char *v, char *why, size_t n)
{
	return set_name(key, v, d->chap_mutual_user, why, n);
}

int cfg_set_discovery_chap_user(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
				const char *v, char *why, size_t n)
{
	return set_name(key, v, d->discovery_chap_user, why, n);
}

int cfg_set_discovery_chap_mutual_user(struct mp_conf *c MP_UNUSED, struct mp_conf_disk *d, const char *key,
				       const char *v, char *why, size_t n)
{
	return set_name(key, v, d->discovery_chap_mutual_user, why, n);
}

/* One direction set (session or discovery, pre = "" or "discovery_"). */
static int check_auth(const char *disk, const char *pre, enum mp_conf_auth a, const char *user,
		      const char *muser, char *why, size_t n)
{
	if (a == MP_CONF_AUTH_NONE && (user[0] || muser[0]))
		return cfg_fail(why, n, "[disk %s] sets %schap_%suser but %sauth is none (set %sauth = %s)",
				disk, pre, user[0] ? "" : "mutual_", pre, pre, muser[0] ? "mutual" : "chap");
	if (a == MP_CONF_AUTH_NONE)
		return 0;
	if (!user[0])
		return cfg_fail(why, n, "[disk %s] has %sauth = %s but no %schap_user", disk, pre,
				mp_conf_auth_name(a), pre);
	if (a == MP_CONF_AUTH_CHAP && muser[0])
		return cfg_fail(why, n, "[disk %s] sets %schap_mutual_user, which needs %sauth = mutual", disk,
				pre, pre);
	if (a == MP_CONF_AUTH_MUTUAL && !muser[0])
		return cfg_fail(why, n, "[disk %s] has %sauth = mutual but no %schap_mutual_user (the target's "
				"CHAP name)", disk, pre, pre);
	if (a == MP_CONF_AUTH_MUTUAL && strcmp(user, muser) == 0)
		return cfg_fail(why, n, "[disk %s]: %schap_user and %schap_mutual_user are both '%s'; mutual "
				"CHAP needs another name and secret for each direction (RFC 7143)", disk, pre,
				pre, user);
	return 0;
}

int cfg_check_disk_chap(const struct mp_conf_disk *d, char *why, size_t n)
{
	if (check_auth(d->name, "", d->auth, d->chap_user, d->chap_mutual_user, why, n) < 0 ||
	    check_auth(d->name, "discovery_", d->discovery_auth, d->discovery_chap_user,
		       d->discovery_chap_mutual_user, why, n) < 0)
		return -1;
	if (d->discovery_auth != MP_CONF_AUTH_NONE && d->n_discovery == 0)
		return cfg_fail(why, n, "[disk %s] has discovery_auth = %s but no discovery portal", d->name,
				mp_conf_auth_name(d->discovery_auth));
	return 0;
}

/* "FILE:LINE: " before a disk's message when it came from a file. */
static int disk_fail(const struct mp_conf *c, const struct mp_conf_disk *d, char *err, size_t errlen,
		     const char *fmt, ...) MP_PRINTF(5, 6);
static int disk_fail(const struct mp_conf *c, const struct mp_conf_disk *d, char *err, size_t errlen,
		     const char *fmt, ...)
{
	char why[CFG_WHY_BUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (d->line > 0)
		snprintf(err, errlen, "%s:%d: %s", c->file, d->line, why);
	else
		snprintf(err, errlen, "%s", why);
	return -1;
}

/* Both users of one direction set have secrets, and different ones. */
static int check_secrets(const struct mp_conf *c, const struct mp_secrets *s, const struct mp_conf_disk *d,
			 const char *pre, enum mp_conf_auth a, const char *user, const char *muser,
			 char *err, size_t errlen)
{
	const char *k, *mk;

	if (a == MP_CONF_AUTH_NONE)
		return 0;
	k = mp_secrets_get(s, user);
	if (!k)
		return disk_fail(c, d, err, errlen, "[disk %s]: %schap_user '%s' has no secret in %s", d->name,
				 pre, user, mp_secrets_file(s));
	if (a != MP_CONF_AUTH_MUTUAL)
		return 0;
	mk = mp_secrets_get(s, muser);
	if (!mk)
		return disk_fail(c, d, err, errlen, "[disk %s]: %schap_mutual_user '%s' has no secret in %s",
				 d->name, pre, muser, mp_secrets_file(s));
	if (strcmp(k, mk) == 0)
		return disk_fail(c, d, err, errlen, "[disk %s]: %schap_user '%s' and %schap_mutual_user '%s' have "
				 "the same secret in %s; RFC 7143 forbids one secret for both directions",
				 d->name, pre, user, pre, muser, mp_secrets_file(s));
	return 0;
}

int mp_conf_load_secrets(struct mp_conf *c, char *err, size_t errlen)
{
	const struct mp_conf_disk *first = NULL;
	struct mp_secrets *s;

	for (size_t i = 0; i < c->n_disks && !first; i++)
		if (c->disks[i].auth != MP_CONF_AUTH_NONE || c->disks[i].discovery_auth != MP_CONF_AUTH_NONE)
			first = &c->disks[i];
	if (!c->secrets_file[0]) {
		if (!first)
			return 0;
		return disk_fail(c, first, err, errlen, "[disk %s] uses CHAP, but no secrets file is set "
				 "(add secrets = /etc/mpiscsi/secrets to [global])", first->name);
	}
	/* A file that is named is checked even when no disk uses it yet. */
	s = mp_secrets_load(c->secrets_file, err, errlen);
	if (!s)
		return -1;
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct mp_conf_disk *d = &c->disks[i];

		if (check_secrets(c, s, d, "", d->auth, d->chap_user, d->chap_mutual_user, err, errlen) < 0 ||
		    check_secrets(c, s, d, "discovery_", d->discovery_auth, d->discovery_chap_user,
				  d->discovery_chap_mutual_user, err, errlen) < 0) {
			mp_secrets_free(s);
			return -1;
		}
	}
	mp_secrets_free(c->secrets);
	c->secrets = s;
	return 0;
}

int mp_conf_chap_secrets(const struct mp_conf *c, const char *user, const char *mutual_user,
			 const char **secret, const char **mutual_secret, char *why, size_t n)
{
	*secret = mp_secrets_get(c->secrets, user);
	*mutual_secret = mutual_user ? mp_secrets_get(c->secrets, mutual_user) : NULL;
	if (!c->secrets)
		return cfg_fail(why, n, "no secrets file is loaded");
	if (!*secret)
		return cfg_fail(why, n, "CHAP user '%s' has no secret in %s", user ? user : "",
				mp_secrets_file(c->secrets));
	if (mutual_user && !*mutual_secret)
		return cfg_fail(why, n, "CHAP user '%s' has no secret in %s", mutual_user,
				mp_secrets_file(c->secrets));
	return 0;
}
