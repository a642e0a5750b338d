/* The INI parser of the configuration file (sections, keys, quoting, comments), command-line overrides, defaults and the final checks; each section's keys are in config_global.c, config_nbd.c, config_disk.c. */
#include "tools/mpiscsid/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "mpath/selector.h"
#include "tools/mpiscsid/config_frontend.h"
#include "tools/mpiscsid/config_nbd.h"
#include "tools/mpiscsid/config_parse.h"
#include "tools/mpiscsid/config_values.h"
#include "tools/mpiscsid/secrets.h"

#define LINE_MAX_BYTES   4096          /* longer lines are refused, never truncated */
#define FILE_MAX_BYTES   (1024 * 1024) /* a config file is small; a huge one is a mistake */
#define DEFAULT_NPR      30
#define DEFAULT_RETRIES  5
#define IQN_PREFIX       "iqn.2026-11.org.mpiscsi:"

enum section { SEC_NONE, SEC_GLOBAL, SEC_NBD, SEC_DISK };

struct parser {
	struct mp_conf *c;     /* the working copy, committed only when the whole text is good */
	const char *name;      /* file name for messages */
	int line;
	char *err;
	size_t errlen;
	enum section sec;
	struct mp_conf_disk *disk;  /* the open [disk] section; re-fetched after each new disk */
	int key_line[CFG_MAX_SECTION_KEYS]; /* line where each key of this section's table was set */
};

/* Each section's keys (the setters live with their section). */
static const struct cfg_key_table *const section_keys[] = {
	[SEC_NONE] = NULL, [SEC_GLOBAL] = &cfg_global_keys, [SEC_NBD] = &cfg_nbd_keys,
	[SEC_DISK] = &cfg_disk_keys,
};

static const char *const section_names[] = {
	[SEC_NONE] = "", [SEC_GLOBAL] = "[global]", [SEC_NBD] = "[nbd]", [SEC_DISK] = "[disk NAME]",
};

/* The key called key in any section; *sec gets its section, *index its place in that table. */
static const struct cfg_key *find_key(const char *key, enum section *sec, size_t *index)
{
	for (size_t s = 0; s < MP_ARRAY_SIZE(section_keys); s++) {
		const struct cfg_key_table *t = section_keys[s];

		for (size_t i = 0; t && i < t->n; i++) {
			if (strcmp(t->keys[i].key, key) == 0) {
				*sec = (enum section)s;
				*index = i;
				return &t->keys[i];
			}
		}
	}
	return NULL;
}

/* ---- defaults, memory ---- */

static void default_initiator_name(char *out, size_t n)
{
	char host[256] = "";
	size_t j = 0;

	/* gethostname does not promise a NUL on truncation; the last byte stays '\0'. */
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	/* IQNs are lower case by stringprep; anything else becomes '-'. */
	for (size_t i = 0; host[i] && j < sizeof(host) - 1; i++) {
		char ch = host[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			ch = '-';
		host[j++] = ch;
	}
	host[j] = '\0';
	snprintf(out, n, "%s%.*s", IQN_PREFIX, (int)(MP_CONF_IQN_MAX - 1 - strlen(IQN_PREFIX)),
		 j ? host : "localhost");
}

void mp_conf_init(struct mp_conf *c)
{
	memset(c, 0, sizeof(*c));
	default_initiator_name(c->initiator_name, sizeof(c->initiator_name));
	c->log_level = MP_LOG_INFO;
	cfg_nbd_init(c);
	snprintf(c->control, sizeof(c->control), "%s", "/run/mpiscsi/control.sock");
	c->syslog = -1;
	c->control_max_clients = 16;
	c->control_max_pending = 8;
}

void mp_conf_free(struct mp_conf *c)
{
	mp_secrets_free(c->secrets);
	c->secrets = NULL;
	free(c->disks);
	c->disks = NULL;
	c->n_disks = 0;
}

/*
 * The array's capacity is the next power of two at or above n_disks, so growing needs no
 * extra field in struct mp_conf and appending stays amortised O(1).
 */
static size_t disk_capacity(size_t n)
{
	size_t cap = 1;

	while (cap < n)
		cap *= 2;
	return n ? cap : 0;
}

struct mp_conf_disk *cfg_new_disk(struct mp_conf *c, const char *name, int line)
{
	struct mp_conf_disk *d;

	if (c->n_disks == disk_capacity(c->n_disks)) {
		size_t cap = c->n_disks ? c->n_disks * 2 : 1;
		struct mp_conf_disk *nd = realloc(c->disks, cap * sizeof(*nd));

		if (!nd)
			return NULL;
		c->disks = nd;
	}
	d = &c->disks[c->n_disks++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->export_name, sizeof(d->export_name), "%s", name);
	d->no_path_retry_s = DEFAULT_NPR;
	d->max_retries = DEFAULT_RETRIES;
	snprintf(d->selector, sizeof(d->selector), "%s", MP_SELECTOR_DEFAULT);
	d->rr_min_io = 1;
	d->failback = MP_FAILBACK_IMMEDIATE;
	d->noop_interval_ms = 500;
	d->noop_timeout_ms = 1000;
	d->command_timeout_ms = 10000;
	d->login_timeout_ms = 3000;
	d->reconnect_max_ms = 1000;
	d->marginal_flaps = 3;
	d->marginal_window_ms = 60000;
	d->marginal_hold_ms = 30000;
	d->marginal_latency_factor = 20;
	d->alua_explicit = true;
	d->alua_refresh_ms = 5000;
	cfg_frontend_defaults(d);
	d->line = line;
	return d;
}

static const struct mp_conf_disk *find_disk(const struct mp_conf *c, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto; i++)
		if (strcmp(c->disks[i].name, name) == 0)
			return &c->disks[i];
	return NULL;
}

int mp_conf_validate(const struct mp_conf *c, char *err, size_t errlen)
{
	char why[CFG_WHY_BUF];
	int line;

	/* No disk at all is a valid configuration: the daemon starts empty and disks are added
	 * at run time (mpiscsiadm -m node --login) or by a reload. */
	for (size_t i = 0; i < c->n_disks; i++) {
		if (cfg_check_disk(c, i, 0, &line, why, sizeof(why)) == 0)
			continue;
		if (line > 0)
			snprintf(err, errlen, "%s:%d: %s", c->file, line, why);
		else
			snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (cfg_check_nbd(c, &line, why, sizeof(why)) < 0) {
		if (line > 0)
			snprintf(err, errlen, "%s:%d: %s", c->file, line, why);
		else
			snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

/* ---- the INI parser ---- */

static int perr(const struct parser *ps, int line, const char *fmt, ...) MP_PRINTF(3, 4);
static int perr(const struct parser *ps, int line, const char *fmt, ...)
{
	char why[CFG_WHY_BUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->name, line, why);
	return -1;
}

/* A disk section ends at the next header or the end of the text: check it as a whole then. */
static int close_section(struct parser *ps)
{
	char why[CFG_WHY_BUF];
	enum section sec;
	size_t ex;
	int line;

	if (ps->sec == SEC_DISK && find_key("export", &sec, &ex) &&
	    cfg_check_disk(ps->c, ps->c->n_disks - 1, ps->key_line[ex], &line, why, sizeof(why)) < 0)
		return perr(ps, line, "%s", why);
	ps->sec = SEC_NONE;
	ps->disk = NULL;
	memset(ps->key_line, 0, sizeof(ps->key_line));
	return 0;
}

/* After a header or a quoted value only a comment may follow. */
static bool only_comment(const char *s)
{
	while (cfg_is_space(*s))
		s++;
	return !*s || *s == '#' || *s == ';';
}

static int parse_section(struct parser *ps, char *s)
{
	char sh[CFG_SHOW_BUF];
	char *close = strchr(s, ']'), *inner, *arg;
	const struct mp_conf_disk *dup;
	size_t wlen;

	if (close_section(ps) < 0)
		return -1;
	if (!close)
		return perr(ps, ps->line, "unterminated section header");
	if (!only_comment(close + 1))
		return perr(ps, ps->line, "unexpected '%s' after section header",
			    cfg_show(cfg_trim(close + 1), sh));
	*close = '\0';
	inner = cfg_trim(s + 1);
	wlen = strcspn(inner, " \t");
	arg = cfg_trim(inner + wlen);  /* inner is trimmed already, so this leaves inner intact */
	if (wlen == 6 && memcmp(inner, "global", 6) == 0 && !*arg) {
		ps->sec = SEC_GLOBAL;
		return 0;
	}
	if (wlen == 3 && memcmp(inner, "nbd", 3) == 0 && !*arg) {
		ps->sec = SEC_NBD;
		return 0;
	}
	if (wlen != 4 || memcmp(inner, "disk", 4) != 0)
		return perr(ps, ps->line, "unknown section [%s]", cfg_show(inner, sh));
	if (!*arg)
		return perr(ps, ps->line, "[disk] needs a name, e.g. [disk data0]");
	if (!cfg_valid_name(arg))
		return perr(ps, ps->line, "invalid disk name '%s' (" CFG_NAME_CHARS ")", cfg_show(arg, sh));
	dup = find_disk(ps->c, ps->c->n_disks, arg);
	if (dup && dup->line)
		return perr(ps, ps->line, "duplicate disk '%s' (first defined at line %d)", arg, dup->line);
	if (dup)
		return perr(ps, ps->line, "duplicate disk '%s' (already added from an iscsi:// URL)", arg);
	if (ps->c->n_disks >= MP_CONF_MAX_DISKS)
		return perr(ps, ps->line, "too many disks (max %d)", MP_CONF_MAX_DISKS);
	ps->disk = cfg_new_disk(ps->c, arg, ps->line);
	if (!ps->disk)
		return perr(ps, ps->line, "out of memory");
	ps->sec = SEC_DISK;
	return 0;
}

/*
 * The value after '=': "quoted" (\" and \\ are the only escapes; other backslashes stay),
 * or bare, where '#' or ';' at its start or after a space starts a comment.
 */
static int parse_value(const struct parser *ps, const char *key, char *raw, char **out)
{
	char *v = raw;

	while (cfg_is_space(*v))
		v++;
	if (*v == '"') {
		char *src = v + 1, *dst = v;

		while (*src && *src != '"') {
			if (src[0] == '\\' && (src[1] == '"' || src[1] == '\\'))
				src++;
			*dst++ = *src++;
		}
		if (!*src)
			return perr(ps, ps->line, "%s: unterminated quoted value", key);
		if (!only_comment(src + 1))
			return perr(ps, ps->line, "%s: unexpected text after the closing quote", key);
		*dst = '\0';
		*out = v;
		return 0;
	}
	for (char *q = v; *q; q++) {
		if ((*q == '#' || *q == ';') && (q == v || cfg_is_space(q[-1]))) {
			*q = '\0';
			break;
		}
	}
	*out = cfg_trim(v);
	return 0;
}

static int parse_line(struct parser *ps, char *line)
{
	char sh[CFG_SHOW_BUF], why[CFG_WHY_BUF];
	char *s = cfg_trim(line), *eq, *key, *value = NULL;
	const struct cfg_key *k;
	enum section sec = SEC_NONE;
	size_t index = 0;
	int *seen;

	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return parse_section(ps, s);
	eq = strchr(s, '=');
	if (!eq)
		return perr(ps, ps->line, "expected 'key = value'");
	*eq = '\0';
	key = cfg_trim(s);
	if (!*key)
		return perr(ps, ps->line, "expected 'key = value'");
	if (ps->sec == SEC_NONE)
		return perr(ps, ps->line, "key outside of any section");
	if (parse_value(ps, key, eq + 1, &value) < 0)
		return -1;
	k = find_key(key, &sec, &index);
	if (!k && ps->sec == SEC_DISK)
		return perr(ps, ps->line, "unknown key '%s' in [disk %s]", cfg_show(key, sh),
			    ps->disk->name);
	if (!k)
		return perr(ps, ps->line, "unknown key '%s' in %s", cfg_show(key, sh),
			    section_names[ps->sec]);
	if (sec != ps->sec)
		return perr(ps, ps->line, "key '%s' belongs in %s, not in %s", key,
			    section_names[sec],
			    ps->sec == SEC_DISK ? "[disk NAME]" : section_names[ps->sec]);
	if (!*value)
		return perr(ps, ps->line, "%s: value is empty", key);
	seen = &ps->key_line[index];
	if (!k->repeatable && *seen)
		return perr(ps, ps->line, "duplicate key '%s' (first set at line %d)", key, *seen);
	if (k->set(ps->c, ps->disk, key, value, why, sizeof(why)) < 0)
		return perr(ps, ps->line, "%s", why);
	if (k->note_line)
		k->note_line(ps->c, ps->disk, k->key, ps->line);
	*seen = ps->line;
	return 0;
}

static int copy_disks(struct mp_conf *dst, const struct mp_conf *src)
{
	dst->disks = NULL;
	dst->n_disks = 0;
	if (src->n_disks == 0)
		return 0;
	dst->disks = malloc(disk_capacity(src->n_disks) * sizeof(*dst->disks));
	if (!dst->disks)
		return -1;
	memcpy(dst->disks, src->disks, src->n_disks * sizeof(*dst->disks));
	dst->n_disks = src->n_disks;
	return 0;
}

int mp_conf_parse(struct mp_conf *c, const char *name, const char *text, size_t len,
		  char *err, size_t errlen)
{
	/* Parse into a copy so that a bad file leaves the previous configuration intact (reload). */
	struct mp_conf work = *c;
	struct parser ps = { .c = &work, .name = name, .err = err, .errlen = errlen };
	const char *p = text, *end = text + len;
	char *line = NULL;

	if (strlen(name) >= sizeof(work.file)) {
		snprintf(err, errlen, "%.64s...: file name is too long", name);
		return -1;
	}
	if (copy_disks(&work, c) < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	snprintf(work.file, sizeof(work.file), "%s", name);
	line = malloc(LINE_MAX_BYTES + 1);
	if (!line) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)  /* a UTF-8 BOM some editors add */
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		ps.line++;
		if (n > LINE_MAX_BYTES) {
			perr(&ps, ps.line, "line is longer than %d bytes", LINE_MAX_BYTES);
			goto fail;
		}
		if (memchr(p, '\0', n)) {
			perr(&ps, ps.line, "NUL byte in line");
			goto fail;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (parse_line(&ps, line) < 0)
			goto fail;
		p = nl ? nl + 1 : end;
	}
	if (close_section(&ps) < 0)
		goto fail;
	free(line);
	free(c->disks);
	*c = work;
	return 0;
fail:
	free(line);
	free(work.disks);
	return -1;
}

int mp_conf_load(struct mp_conf *c, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "re");
	char *buf;
	size_t n = 0;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	/* One byte more than allowed tells "exactly at the limit" from "too big". */
	buf = malloc(FILE_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	n = fread(buf, 1, FILE_MAX_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		rc = -1;
	} else if (n > FILE_MAX_BYTES) {
		snprintf(err, errlen, "%s: file is larger than %d bytes", file, FILE_MAX_BYTES);
		rc = -1;
	} else {
		rc = mp_conf_parse(c, file, buf, n, err, errlen);
	}
	fclose(f);
	free(buf);
	return rc;
}

int mp_conf_set(struct mp_conf *c, const char *section, const char *key, const char *value,
		char *err, size_t errlen)
{
	enum section want, sec = SEC_NONE;
	size_t index;
	const struct cfg_key *k = find_key(key, &sec, &index);

	if (strcmp(section, "global") == 0) {
		want = SEC_GLOBAL;
	} else if (strcmp(section, "nbd") == 0) {
		want = SEC_NBD;
	} else {
		snprintf(err, errlen, "unknown section [%s]", section);
		return -1;
	}
	if (!k || sec != want) {
		snprintf(err, errlen, "unknown key '%s' in [%s]", key, section);
		return -1;
	}
	if (!*value) {
		snprintf(err, errlen, "%s: value is empty", key);
		return -1;
	}
	if (k->set == cfg_set_listen)  /* a command-line listen replaces the file's listeners */
		cfg_nbd_override_listen(c);
	return k->set(c, NULL, key, value, err, errlen);
}
