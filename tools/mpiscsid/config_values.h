/* Internal to tools/config*.c: value parsers shared by the INI keys and iscsi:// URLs. */
#ifndef MP_TOOLS_CONFIG_VALUES_H
#define MP_TOOLS_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * A time in milliseconds: N or N.NNN (seconds, at most 3 decimals), Ns, N.NNNs or Nms.
 * zero_ok also allows 0 below min; whole_s refuses values that are not whole seconds.
 */
/* yes/no keys: "yes" or "no" (also true/false, on/off, 1/0). */
int cfg_set_bool(const char *key, const char *v, bool *out, char *why, size_t n);
int cfg_set_time(const char *key, const char *v, uint32_t min_ms, uint32_t max_ms, bool zero_ok,
		 bool whole_s, uint32_t *out_ms, char *why, size_t n);

bool cfg_valid_name(const char *s);
int cfg_check_iscsi_name(const char *key, const char *v, char *why, size_t n);
bool cfg_valid_ifname(const char *s);
/* HOST[:PORT] or [IPv6][:PORT]; why gets the problem without the portal text. */
int cfg_parse_portal(const char *s, struct mp_conf_portal *out, char *why, size_t n);
bool cfg_same_portal(const struct mp_conf_portal *a, const struct mp_conf_portal *b);

#endif
