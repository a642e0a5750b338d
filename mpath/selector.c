/* Path selector registry (lookup by name) and the helpers the selectors share. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "mpath/selector.h"
#include "mpath/selector_impl.h"

static const struct mp_selector_ops *const selectors[] = {
	&mp_selector_round_robin,
	&mp_selector_queue_length,
	&mp_selector_service_time,
};

const struct mp_selector_ops *mp_selector_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < MP_ARRAY_SIZE(selectors); i++)
		if (strcmp(selectors[i]->name, name) == 0)
			return selectors[i];
	return NULL;
}

/* [s, e) without leading and trailing blanks. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* One "key=value" item [s, e). */
static int parse_item(const char *sel, const char *s, const char *e, const struct mp_sel_arg *spec,
                      size_t nspec, uint32_t *vals, bool *seen, char *err, size_t errlen)
{
	trim(&s, &e);
	const char *eq = memchr(s, '=', (size_t)(e - s));
	if (!eq) {
		snprintf(err, errlen, "%s: argument '%.*s' is not key=value", sel, (int)(e - s), s);
		return -1;
	}
	const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
	trim(&ks, &ke);
	trim(&vs, &ve);
	size_t i;
	for (i = 0; i < nspec; i++)
		if (strlen(spec[i].key) == (size_t)(ke - ks) && memcmp(spec[i].key, ks, (size_t)(ke - ks)) == 0)
			break;
	if (i == nspec) {
		if (nspec == 0)
			snprintf(err, errlen, "%s: unknown argument '%.*s' (it takes none)", sel, (int)(ke - ks), ks);
		else
			snprintf(err, errlen, "%s: unknown argument '%.*s'", sel, (int)(ke - ks), ks);
		return -1;
	}
	if (seen[i]) {
		snprintf(err, errlen, "%s: argument '%s' given twice", sel, spec[i].key);
		return -1;
	}
	seen[i] = true;
	/* Digits only: strtoul would take signs and blanks. */
	char num[16];
	size_t len = (size_t)(ve - vs);
	bool ok = len > 0 && len < sizeof(num);
	for (const char *c = vs; ok && c < ve; c++)
		ok = isdigit((unsigned char)*c);
	unsigned long v = 0;
	if (ok) {
		memcpy(num, vs, len);
		num[len] = '\0';
		errno = 0;
		v = strtoul(num, NULL, 10);
		ok = errno == 0 && v >= spec[i].min && v <= spec[i].max;
	}
	if (!ok) {
		snprintf(err, errlen, "%s: %s='%.*s' is not a number from %" PRIu32 " to %" PRIu32, sel,
		         spec[i].key, (int)len, vs, spec[i].min, spec[i].max);
		return -1;
	}
	vals[i] = (uint32_t)v;
	return 0;
}

int mp_sel_parse_args(const char *sel, const char *args, const struct mp_sel_arg *spec, size_t nspec,
                      uint32_t *vals, char *err, size_t errlen)
{
	bool seen[8] = { false };
	if (nspec > MP_ARRAY_SIZE(seen)) {
		snprintf(err, errlen, "%s: too many argument kinds", sel);
		return -1;
	}
	for (size_t i = 0; i < nspec; i++)
		vals[i] = spec[i].def;
	if (!args)
		return 0;
	const char *s = args, *end = args + strlen(args);
	const char *ts = s, *te = end;
	trim(&ts, &te);
	if (ts == te)
		return 0;
	while (s <= end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *e = comma ? comma : end;
		if (parse_item(sel, s, e, spec, nspec, vals, seen, err, errlen) < 0)
			return -1;
		s = e + 1;
	}
	return 0;
}

void mp_sel_lu_fini(struct mp_sel_lu *lu)
{
	for (size_t i = 0; i < lu->n; i++)
		free(lu->paths[i]);
	free(lu->paths);
	lu->paths = NULL;
	lu->n = lu->cap = 0;
}

static size_t find_index(const struct mp_sel_lu *lu, const struct mp_path *p)
{
	for (size_t i = 0; i < lu->n; i++)
		if (lu->paths[i]->path == p)
			return i;
	return SIZE_MAX;
}

struct mp_sel_path *mp_sel_lookup(const struct mp_sel_lu *lu, const struct mp_path *p)
{
	size_t i = find_index(lu, p);
	return i == SIZE_MAX ? NULL : lu->paths[i];
}

struct mp_sel_path *mp_sel_add(struct mp_sel_lu *lu, struct mp_path *p, size_t size)
{
	struct mp_sel_path *sp = mp_sel_lookup(lu, p);
	if (sp)
		return sp;
	if (lu->n == lu->cap) {
		size_t cap = lu->cap ? lu->cap * 2 : 4;
		struct mp_sel_path **np = realloc(lu->paths, cap * sizeof(*np));
		if (!np)
			return NULL;
		lu->paths = np;
		lu->cap = cap;
	}
	sp = calloc(1, size);
	if (!sp)
		return NULL;
	sp->path = p;
	sp->seq = ++lu->next_seq;
	sp->added_us = lu->now_us;
	lu->paths[lu->n++] = sp;
	p->sel = sp;
	return sp;
}

void mp_sel_remove(struct mp_sel_lu *lu, struct mp_path *p)
{
	size_t i = find_index(lu, p);
	if (i == SIZE_MAX)
		return;
	struct mp_sel_path *sp = lu->paths[i];
	/* Keep the others in join order (the rotation itself goes by seq). */
	memmove(&lu->paths[i], &lu->paths[i + 1], (lu->n - i - 1) * sizeof(lu->paths[0]));
	lu->n--;
	if (p->sel == sp)
		p->sel = NULL;
	free(sp);
}

struct mp_sel_path *mp_sel_start(struct mp_sel_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t now_us)
{
	if (now_us > lu->now_us)
		lu->now_us = now_us;
	struct mp_sel_path *sp = mp_sel_lookup(lu, p);
	if (!sp)
		return NULL;
	sp->inflight++;
	sp->inflight_bytes += bytes;
	return sp;
}

struct mp_sel_path *mp_sel_end(struct mp_sel_lu *lu, struct mp_path *p, uint32_t bytes, uint64_t start_us,
                               uint64_t now_us)
{
	if (now_us > lu->now_us)
		lu->now_us = now_us;
	struct mp_sel_path *sp = mp_sel_lookup(lu, p);
	if (!sp || start_us < sp->added_us || sp->inflight == 0)
		return NULL;
	sp->inflight--;
	sp->inflight_bytes = sp->inflight_bytes > bytes ? sp->inflight_bytes - bytes : 0;
	if (sp->inflight == 0)
		sp->inflight_bytes = 0;
	return sp;
}

void mp_sel_op_destroy(void *st)
{
	if (!st)
		return;
	mp_sel_lu_fini(st);
	free(st);
}

void mp_sel_op_add_path(void *st, struct mp_path *p)
{
	mp_sel_add(st, p, sizeof(struct mp_sel_path));
}

void mp_sel_op_remove_path(void *st, struct mp_path *p)
{
	mp_sel_remove(st, p);
}

void mp_sel_op_start_io(void *st, struct mp_path *p, uint32_t bytes, uint64_t now_us)
{
	mp_sel_start(st, p, bytes, now_us);
}

void mp_sel_op_end_io(void *st, struct mp_path *p, uint32_t bytes, uint64_t start_us, uint64_t now_us)
{
	mp_sel_end(st, p, bytes, start_us, now_us);
}
