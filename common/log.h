/* Logging: levels, stderr or syslog, one formatted line per call. */
#ifndef MP_COMMON_LOG_H
#define MP_COMMON_LOG_H

#include <stdbool.h>
#include "common/util.h"

enum mp_log_level {
	MP_LOG_ERR = 0,   /* something failed that an operator must know about */
	MP_LOG_WARN,      /* degraded but working: a path lost, a retry */
	MP_LOG_INFO,      /* state changes: path up/down, disk attached, export ready */
	MP_LOG_DEBUG,     /* per-command detail, off by default */
};

/* Set once at start-up (and on reload); not touched on the data path. Without syslog, lines go
 * to stderr as "HH:MM:SS.mmm IDENT[LEVEL]: message", or, when stderr is the journal's stream
 * (mp_log_stderr_is_journal), as "<N>message" with N the syslog priority (3 err, 4 warning,
 * 6 info, 7 debug), which the journal stores as the line's priority. */
void mp_log_init(const char *ident, bool use_syslog, enum mp_log_level level);
/* $JOURNAL_STREAM is set and names stderr's device and inode. */
bool mp_log_stderr_is_journal(void);
void mp_log_set_level(enum mp_log_level level);
enum mp_log_level mp_log_get_level(void);
/* Parse "err|warn|info|debug"; -1 if unknown. */
int mp_log_level_parse(const char *s);
/* The name mp_log_level_parse reads back ("err" ... "debug"), "?" if out of range. */
const char *mp_log_level_name(int level);
void mp_log(enum mp_log_level level, const char *fmt, ...) MP_PRINTF(2, 3);

#define mp_err(...)   mp_log(MP_LOG_ERR, __VA_ARGS__)
#define mp_warn(...)  mp_log(MP_LOG_WARN, __VA_ARGS__)
#define mp_info(...)  mp_log(MP_LOG_INFO, __VA_ARGS__)
#define mp_debug(...) do { if (mp_log_get_level() >= MP_LOG_DEBUG) mp_log(MP_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
