/* The LUNs a [disk] section takes (lun, luns, or every LUN) and the names of the disks it makes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/mpiscsid/config.h"
#include "tools/mpiscsid/config_values.h"

static bool range_has(const struct mp_conf_disk *d, uint32_t lun)
{
	for (size_t i = 0; i < d->n_luns; i++)
		if (lun >= d->luns[i].lo && lun <= d->luns[i].hi)
			return true;
	return false;
}

bool mp_conf_disk_wants_lun(const struct mp_conf_disk *d, uint32_t lun)
{
	switch (d->lun_mode) {
	case MP_CONF_LUNS_ALL:
		return lun <= MP_CONF_LUN_MAX;
	case MP_CONF_LUNS_ONE:
		return lun == d->lun;
	case MP_CONF_LUNS_LIST:
		return range_has(d, lun);
	}
	return false;
}

bool mp_conf_disks_overlap(const struct mp_conf_disk *a, const struct mp_conf_disk *b)
{
	if (a->lun_mode == MP_CONF_LUNS_ALL || b->lun_mode == MP_CONF_LUNS_ALL)
		return true;
	if (a->lun_mode == MP_CONF_LUNS_ONE)
		return mp_conf_disk_wants_lun(b, a->lun);
	if (b->lun_mode == MP_CONF_LUNS_ONE)
		return mp_conf_disk_wants_lun(a, b->lun);
	for (size_t i = 0; i < a->n_luns; i++)
		for (size_t j = 0; j < b->n_luns; j++)
			if (a->luns[i].lo <= b->luns[j].hi && b->luns[j].lo <= a->luns[i].hi)
				return true;
	return false;
}

int mp_conf_disk_lun_names(const struct mp_conf_disk *d, uint32_t lun, char *name, char *export_name)
{
	if (d->lun_mode == MP_CONF_LUNS_ONE) {
		snprintf(name, MP_CONF_NAME_MAX, "%s", d->name);
		snprintf(export_name, MP_CONF_NAME_MAX, "%s", d->export_name);
		return 0;
	}
	int a = snprintf(name, MP_CONF_NAME_MAX, "%s-%u", d->name, lun);
	int b = snprintf(export_name, MP_CONF_NAME_MAX, "%s-%u", d->export_name, lun);
	if (a < 0 || b < 0 || a >= MP_CONF_NAME_MAX || b >= MP_CONF_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void mp_conf_luns_text(const struct mp_conf_disk *d, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	if (d->lun_mode == MP_CONF_LUNS_ONE) {
		snprintf(buf, n, "lun = %u", d->lun);
		return;
	}
	if (d->lun_mode != MP_CONF_LUNS_LIST)
		return;
	used = (size_t)snprintf(buf, n, "luns = ");
	for (size_t i = 0; i < d->n_luns && used < n; i++) {
		if (d->luns[i].lo == d->luns[i].hi)
			used += (size_t)snprintf(buf + used, n - used, "%s%u", i ? "," : "", d->luns[i].lo);
		else
			used += (size_t)snprintf(buf + used, n - used, "%s%u-%u", i ? "," : "", d->luns[i].lo,
						 d->luns[i].hi);
	}
}

/* One "N" or "N-M" item of a LUN list. */
static int parse_item(const char *s, size_t len, struct mp_conf_lun_range *r)
{
	char a[16], b[16];
	const char *dash = memchr(s, '-', len);
	size_t la = dash ? (size_t)(dash - s) : len, lb = dash ? len - la - 1 : 0;
	uint32_t lo, hi;
	if (la == 0 || la >= sizeof(a) || (dash && (lb == 0 || lb >= sizeof(b))))
		return -1;
	memcpy(a, s, la);
	a[la] = '\0';
	if (cfg_parse_uint(a, 0, MP_CONF_LUN_MAX, &lo) != CFG_NUM_OK)
		return -1;
	hi = lo;
	if (dash) {
		memcpy(b, dash + 1, lb);
		b[lb] = '\0';
		if (cfg_parse_uint(b, 0, MP_CONF_LUN_MAX, &hi) != CFG_NUM_OK || hi < lo)
			return -1;
	}
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

int mp_conf_parse_luns(struct mp_conf_disk *d, const char *key, const char *v, char *why, size_t n)
{
	char sh[CFG_SHOW_BUF];
	struct mp_conf_lun_range r[MP_CONF_MAX_LUN_RANGES];
	size_t count = 0;
	const char *p = v;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (count == MP_CONF_MAX_LUN_RANGES)
			return cfg_fail(why, n, "%s: more than %d items", key, MP_CONF_MAX_LUN_RANGES);
		if (parse_item(p, len, &r[count]) < 0)
			return cfg_fail(why, n, "%s: '%s' is not a list of LUNs 0-%d (e.g. 1,3-5)", key,
					cfg_show(v, sh), MP_CONF_LUN_MAX);
		count++;
		if (!comma)
			break;
		p = comma + 1;
	}
	/* Ascending, no overlaps: a LUN listed twice is a mistake worth naming. */
	for (size_t i = 1; i < count; i++)
		for (size_t j = i; j > 0 && r[j].lo < r[j - 1].lo; j--) {
			struct mp_conf_lun_range t = r[j];
			r[j] = r[j - 1];
			r[j - 1] = t;
		}
	for (size_t i = 1; i < count; i++)
		if (r[i].lo <= r[i - 1].hi)
			return cfg_fail(why, n, "%s: LUN %u is listed twice", key, r[i].lo);
	memcpy(d->luns, r, count * sizeof(r[0]));
	d->n_luns = count;
	d->lun_mode = MP_CONF_LUNS_LIST;
	return 0;
}
