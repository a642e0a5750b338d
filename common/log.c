/* Logging to stderr (foreground, with journal priority prefixes when stderr is the journal) or syslog, filtered by level. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Process-wide logging settings: written at start-up and reload only, never on the data path. */
static struct {
	enum mp_log_level level;
	bool syslog;
	bool journal;   /* stderr is the journal's stream: "<N>" priority prefixes, no timestamp */
	const char *ident;
} log_cfg = { MP_LOG_INFO, false, false, "mpiscsi" };

static const char *const level_names[] = { "err", "warn", "info", "debug" };

bool mp_log_stderr_is_journal(void)
{
	/* systemd sets JOURNAL_STREAM=DEVICE:INODE for a service whose stdout or stderr it
	 * connected to the journal. Compare with stderr itself: a variable inherited by a
	 * process whose stderr was redirected elsewhere (a test's log file, a pipe) must not
	 * put prefixes into that file. */
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	int used = 0;
	struct stat st;

	if (!v || sscanf(v, "%llu:%llu%n", &dev, &ino, &used) != 2 || v[used] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void mp_log_init(const char *ident, bool use_syslog, enum mp_log_level level)
{
	log_cfg.ident = ident;
	log_cfg.syslog = use_syslog;
	log_cfg.journal = !use_syslog && mp_log_stderr_is_journal();
	log_cfg.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void mp_log_set_level(enum mp_log_level level) { log_cfg.level = level; }
enum mp_log_level mp_log_get_level(void) { return log_cfg.level; }

int mp_log_level_parse(const char *s)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *mp_log_level_name(int level)
{
	return level >= 0 && (size_t)level < MP_ARRAY_SIZE(level_names) ? level_names[level] : "?";
}

void mp_log(enum mp_log_level level, const char *fmt, ...)
{
	/* syslog(3) priorities; the same numbers are the journal's "<N>" line prefixes (sd-daemon(3)). */
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	va_list ap;

	if (level > log_cfg.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_cfg.syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	if (log_cfg.journal) {
		/* The journal adds the time, the program name and the pid itself. */
		fprintf(stderr, "<%d>%s\n", prio[level], msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%s]: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, log_cfg.ident, level_names[level], msg);
}
