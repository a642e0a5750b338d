/* Internal to tools/config*.c: value parsers shared by the INI keys and iscsi:// URLs. */
#ifndef MP_TOOLS_CONFIG_VALUES_H
#define MP_TOOLS_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/util.h"
#include "tools/mpiscsid/config.h"

#define CFG_SHOW_MAX     128           /* bytes of a bad value quoted back in a message */
#define CFG_SHOW_BUF     (CFG_SHOW_MAX + 4)
#define CFG_WHY_BUF      1024
#define CFG_DEFAULT_PORT 3260
#define CFG_NAME_CHARS   "1-63 characters from A-Z a-z 0-9 _ . -"

/* Write "fmt..." to why and return -1. */
int cfg_fail(char *why, size_t n, const char *fmt, ...) MP_PRINTF(3, 4);
/* v made safe to quote: control bytes become '?', cut at CFG_SHOW_MAX; buf has CFG_SHOW_BUF. */
const char *cfg_show(const char *v, char *buf);
bool cfg_is_space(char ch);
char *cfg_trim(char *s);

/* Decimal digits only: no sign, no hex, no spaces, so "1e3" or "-1" can not slip through. */
enum cfg_num { CFG_NUM_OK, CFG_NUM_NOT_NUMBER, CFG_NUM_RANGE };
enum cfg_num cfg_parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* "KEY: 'v' is not a number" / "KEY: 'v' is out of range (MIN-MAX)". */
int cfg_set_number(const char *key, const char *v, uint32_t min, uint32_t max, uint32_t *out,
		   char *why, size_t n);

/* yes/no keys: "yes" or "no" (also true/false, on/off, 1/0). */
int cfg_set_bool(const char *key, const char *v, bool *out, char *why, size_t n);
/*
 * A time in milliseconds: N or N.NNN (seconds, at most 3 decimals), Ns, N.NNNs or Nms.
 * zero_ok also allows 0 below min; whole_s refuses values that are not whole seconds.
 */
int cfg_set_time(const char *key, const char *v, uint32_t min_ms, uint32_t max_ms, bool zero_ok,
		 bool whole_s, uint32_t *out_ms, char *why, size_t n);

bool cfg_valid_name(const char *s);
int cfg_check_iscsi_name(const char *key, const char *v, char *why, size_t n);
bool cfg_valid_ifname(const char *s);
/* HOST[:PORT] or [IPv6][:PORT]; why gets the problem without the portal text. */
int cfg_parse_portal(const char *s, struct mp_conf_portal *out, char *why, size_t n);
bool cfg_same_portal(const struct mp_conf_portal *a, const struct mp_conf_portal *b);

/*
 * The words of a keyword-valued key, one table per key, read by its setter and written by
 * the printer, so that what is printed is what parses. A value may have several words (yes,
 * true, on); the first one listed for it is the one printed.
 */
struct cfg_name {
	const char *name;
	int value;
};
struct cfg_names {
	const struct cfg_name *v;
	size_t n;
};
extern const struct cfg_names cfg_bool_names;     /* yes/no (true/false, on/off, 1/0): 1, 0 */
extern const struct cfg_names cfg_syslog_names;   /* [global] syslog: auto -1, yes 1, no 0 */
extern const struct cfg_names cfg_tls_names;      /* [nbd] tls: enum mp_conf_tls but AUTO */
extern const struct cfg_names cfg_auth_names;     /* auth, discovery_auth: enum mp_conf_auth */
extern const struct cfg_names cfg_npr_names;      /* no_path_retry words: queue -1, fail 0 */
extern const struct cfg_names cfg_failback_names; /* failback words: enum mp_failback but DEFERRED
						     (written as its seconds) */
extern const struct cfg_names cfg_alua_names;     /* alua: auto 0, off 1 (mp_conf_disk.alua_off) */
/* The value of word s (exact, case-sensitive) in t into *value; false if t has no such word. */
bool cfg_name_parse(const struct cfg_names *t, const char *s, int *value);
/* The word printed for value, or NULL if t has none. */
const char *cfg_name_of(const struct cfg_names *t, int value);

/*
 * Print "key = value" and a newline, with "  # comment" before the newline if comment is
 * not NULL. The value is quoted (\" and \\ escaped) when the parser would otherwise read it
 * differently: white space at either end, a leading '"', or '#' or ';' at its start or after
 * white space. A value can not hold a newline (the parser reads lines).
 */
void cfg_print_kv(FILE *f, const char *key, const char *value, const char *comment);

#endif
