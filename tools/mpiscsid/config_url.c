/* iscsi://HOST[:PORT]/IQN[/LUN] quick-start URLs: each makes a disk, or one more path to an earlier URL's disk. */
#include <stdio.h>
#include <string.h>

#include "tools/mpiscsid/config.h"
#include "tools/mpiscsid/config_parse.h"
#include "tools/mpiscsid/config_values.h"

#define URL_MAX_BYTES    4096

/* The first "diskN" that is neither a disk name nor an export, so URL disks never clash. */
static void url_disk_name(const struct mp_conf *c, char *out, size_t n)
{
	for (size_t i = 0;; i++) {
		bool used = false;

		snprintf(out, n, "disk%zu", i);
		for (size_t j = 0; j < c->n_disks && !used; j++)
			used = strcmp(c->disks[j].name, out) == 0 ||
			       strcmp(c->disks[j].export_name, out) == 0;
		if (!used)
			return;
	}
}

/*
 * A URL without a LUN takes every LUN of its target; its disks are "<tail>-<lun>", tail being
 * the target name after its last ':' (characters other than letters, digits, '-', '_' and '.'
 * become '_'), so that names do not depend on the order of URLs or of LUN discovery.
 */
static void url_target_name(const struct mp_conf *c, const char *target, char *out, size_t n)
{
	const char *tail = strrchr(target, ':');
	tail = tail ? tail + 1 : target;
	if (!*tail)
		tail = target;
	snprintf(out, n, "%.40s", tail);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			*p = '_';
	for (size_t i = 0; i < c->n_disks; i++)
		if (strcmp(c->disks[i].name, out) == 0) {
			size_t l = strlen(out);
			snprintf(out + l, n - l, "_%zu", c->n_disks);
			break;
		}
}

static int parse_url(const char *url, struct mp_conf_portal *portal, char *target, uint32_t *lun,
		     bool *has_lun, char *why, size_t n)
{
	static const char scheme[] = "iscsi://";
	static const char form[] = "expected iscsi://HOST[:PORT]/IQN[/LUN]";
	char sh[CFG_SHOW_BUF], problem[CFG_WHY_BUF], authority[URL_MAX_BYTES + 1], tgt[URL_MAX_BYTES + 1];
	const char *rest, *slash, *lun_s;
	size_t alen, tlen;

	if (strlen(url) > URL_MAX_BYTES)
		return cfg_fail(why, n, "URL is longer than %d bytes", URL_MAX_BYTES);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return cfg_fail(why, n, "contains a space or control character");
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return cfg_fail(why, n, "not an iscsi:// URL (%s)", form);
	rest = url + sizeof(scheme) - 1;
	slash = strchr(rest, '/');
	alen = slash ? (size_t)(slash - rest) : strlen(rest);
	memcpy(authority, rest, alen);
	authority[alen] = '\0';
	if (strchr(authority, '@'))
		return cfg_fail(why, n, "user names and passwords in the URL are not supported");
	if (cfg_parse_portal(authority, portal, problem, sizeof(problem)) < 0)
		return cfg_fail(why, n, "%s", problem);
	if (!slash || !slash[1])
		return cfg_fail(why, n, "missing target IQN (%s)", form);
	rest = slash + 1;
	slash = strchr(rest, '/');
	tlen = slash ? (size_t)(slash - rest) : strlen(rest);
	memcpy(tgt, rest, tlen);
	tgt[tlen] = '\0';
	if (tlen == 0)
		return cfg_fail(why, n, "missing target IQN (%s)", form);
	if (cfg_check_iscsi_name("target", tgt, why, n) < 0)
		return -1;
	if (tlen >= MP_CONF_IQN_MAX)  /* check_iscsi_name said so already; keep the copy obviously safe */
		return cfg_fail(why, n, "target is too long");
	memcpy(target, tgt, tlen + 1);
	*lun = 0;
	*has_lun = false;
	lun_s = slash ? slash + 1 : "";
	if (strchr(lun_s, '/'))
		return cfg_fail(why, n, "unexpected '%s' after the LUN", cfg_show(strchr(lun_s, '/'), sh));
	if (!*lun_s)
		return 0;
	switch (cfg_parse_uint(lun_s, 0, MP_CONF_LUN_MAX, lun)) {
	case CFG_NUM_OK:
		*has_lun = true;
		return 0;
	case CFG_NUM_NOT_NUMBER:
		return cfg_fail(why, n, "LUN '%s' is not a number", cfg_show(lun_s, sh));
	case CFG_NUM_RANGE:
		break;
	}
	return cfg_fail(why, n, "LUN '%s' is out of range (0-%d)", cfg_show(lun_s, sh), MP_CONF_LUN_MAX);
}

int mp_conf_add_url(struct mp_conf *c, const char *url, char *err, size_t errlen)
{
	char sh[CFG_SHOW_BUF], why[CFG_WHY_BUF], target[MP_CONF_IQN_MAX], name[MP_CONF_NAME_MAX];
	struct mp_conf_portal portal;
	struct mp_conf_disk *d = NULL;
	uint32_t lun;
	bool has_lun;

	if (parse_url(url, &portal, target, &lun, &has_lun, why, sizeof(why)) < 0)
		goto fail;
	enum mp_conf_lun_mode mode = has_lun ? MP_CONF_LUNS_ONE : MP_CONF_LUNS_ALL;
	for (size_t i = 0; i < c->n_disks; i++) {
		struct mp_conf_disk *o = &c->disks[i];

		if (o->lun_mode != mode || (has_lun && o->lun != lun) || strcmp(o->target, target) != 0)
			continue;
		if (o->line) {
			snprintf(why, sizeof(why), "target and LUN are already [disk %s] (%s:%d)",
				 o->name, cfg_show(c->file, sh), o->line);
			goto fail;
		}
		d = o;
		break;
	}
	if (d) {
		/* A repeat of a URL disk: one more path to the same LU. */
		if (d->n_portals >= MP_CONF_MAX_PORTALS) {
			snprintf(why, sizeof(why), "too many portals for %s (max %d)", d->name,
				 MP_CONF_MAX_PORTALS);
			goto fail;
		}
		for (size_t i = 0; i < d->n_portals; i++) {
			if (cfg_same_portal(&d->portals[i], &portal)) {
				snprintf(why, sizeof(why), "portal is already a path of %s", d->name);
				goto fail;
			}
		}
		d->portals[d->n_portals++] = portal;
		return 0;
	}
	if (c->n_disks >= MP_CONF_MAX_DISKS) {
		snprintf(why, sizeof(why), "too many disks (max %d)", MP_CONF_MAX_DISKS);
		goto fail;
	}
	if (has_lun)
		url_disk_name(c, name, sizeof(name));
	else
		url_target_name(c, target, name, sizeof(name));
	d = cfg_new_disk(c, name, 0);
	if (!d) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	snprintf(d->target, sizeof(d->target), "%s", target);
	d->lun = lun;
	d->lun_mode = mode;
	d->portals[0] = portal;
	d->n_portals = 1;
	return 0;
fail:
	snprintf(err, errlen, "'%s': %s", cfg_show(url, sh), why);
	return -1;
}
