/* mpiscsid's configuration: built from file, URLs and options; reloaded on SIGHUP or reconfigure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "common/log.h"
#include "tools/mpiscsid/config.h"
#include "tools/mpiscsid/config_nbd.h"
#include "tools/mpiscsid/ctl_server.h"
#include "tools/mpiscsid/daemon.h"
#include "tools/mpiscsid/exports.h"
#include "tools/mpiscsid/notify.h"

/* The configuration file is named but absent (ENOENT, also for a missing directory on the
 * way): the daemon then starts or reloads as if it were empty. Any other failure to read it
 * (a directory, permissions, a syntax error) stays an error. */
static bool conf_file_absent(const char *file)
{
	struct stat st;
	return stat(file, &st) != 0 && errno == ENOENT;
}

/* The configuration from the file, the URLs and the command-line overrides, validated. */
int daemon_conf_build(const struct daemon *d, struct mp_conf *c, bool *absent, char *err, size_t len)
{
	mp_conf_init(c);
	*absent = false;
	if (d->conf_file && conf_file_absent(d->conf_file))
		*absent = true; /* like iscsid and multipathd without their file: nothing configured */
	else if (d->conf_file && mp_conf_load(c, d->conf_file, err, len) != 0)
		return -1;
	for (int i = 0; i < d->n_urls; i++)
		if (mp_conf_add_url(c, d->urls[i], err, len) != 0)
			return -1;
	if (d->opt_nbd && mp_conf_set(c, "nbd", "listen", d->opt_nbd, err, len) != 0)
		return -1;
	if (d->opt_iname && mp_conf_set(c, "global", "initiator_name", d->opt_iname, err, len) != 0)
		return -1;
	if (d->opt_level && mp_conf_set(c, "global", "log_level", d->opt_level, err, len) != 0)
		return -1;
	if (d->control && mp_conf_set(c, "global", "control", d->control, err, len) != 0)
		return -1;
	if (mp_conf_validate(c, err, len) != 0)
		return -1;
	return mp_conf_load_secrets(c, err, len); /* CHAP: checked at every start and reload */
}

/* Render a disk's effective settings (the same text --check-config prints). */
static char *disk_text(const struct mp_conf_disk *k)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	mp_conf_print_disk(f, k);
	fclose(f);
	return text;
}

/* Same disk, nothing to restart: every effective setting equal (compared as rendered text, so
 * bytes a struct holds beyond a string's end do not count). When in doubt: changed. */
static bool disk_conf_same(const struct mp_conf_disk *a, const struct mp_conf_disk *b)
{
	char *x = disk_text(a), *y = disk_text(b);
	bool same = x && y && strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

/* The service manager hears RELOADING=1 when a reload starts and READY=1 when it is over,
 * whether it succeeded or left the running configuration in place. */
static void reload_notify_start(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char msg[96];
	/* MONOTONIC_USEC lets a manager tell this reload from an older one (systemd >= 253 asks for it). */
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	daemon_notify_send(msg);
}

static void reload_notify_done(const struct daemon *d)
{
	char status[160], msg[200];
	daemon_status_text(d, status, sizeof(status));
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	daemon_notify_send(msg);
}

/* The reload itself (daemon_reload wraps it in the notifications). */
static int reload_apply(struct daemon *d, struct mp_ctl_reload_counts *counts, char *msg, size_t len)
{
	struct mp_conf nc;
	char err[1024];
	bool absent;
	if (daemon_conf_build(d, &nc, &absent, err, sizeof(err)) != 0) {
		mp_err("reload: %s; the running configuration stays", err);
		snprintf(msg, len, "%s", err);
		mp_conf_free(&nc);
		errno = EINVAL;
		return -1;
	}
	/* Names must stay unique against targets added at run time. */
	for (size_t j = 0; j < nc.n_disks; j++)
		for (size_t i = 0; i < d->n_specs; i++) {
			const struct mp_conf_disk *o = d->specs[i]->conf;
			if (!d->specs[i]->from_config &&
			    (strcmp(o->export_name, nc.disks[j].export_name) == 0 || strcmp(o->name, nc.disks[j].name) == 0 ||
			     (strcmp(o->target, nc.disks[j].target) == 0 && mp_conf_disks_overlap(o, &nc.disks[j])))) {
				snprintf(msg, len, "disk %s: its name, export or LUNs are taken by %s, added at run time",
					 nc.disks[j].name, o->name);
				mp_err("reload: %s; the running configuration stays", msg);
				mp_conf_free(&nc);
				errno = EEXIST;
				return -1;
			}
		}
	if (absent) {
		/* A file that went away is more likely a mistake than a wish to drop its disks:
		 * only a daemon that has none of them (it started without the file) reloads. */
		for (size_t i = 0; i < d->n_specs; i++) {
			bool kept = !d->specs[i]->from_config;
			for (size_t j = 0; j < nc.n_disks && !kept; j++)
				kept = strcmp(nc.disks[j].name, d->specs[i]->conf->name) == 0;
			if (kept)
				continue;
			snprintf(msg, len, "%s does not exist (disk %s came from it)", d->conf_file,
				 d->specs[i]->conf->name);
			mp_err("reload: %s; the running configuration stays", msg);
			mp_conf_free(&nc);
			errno = ENOENT;
			return -1;
		}
		mp_info("reload: %s does not exist: no disk is configured from it", d->conf_file);
	}
	if (strcmp(nc.initiator_name, d->conf.initiator_name) != 0)
		mp_warn("reload: initiator_name changes only with a restart");
	if (!mp_conf_nbd_same(&nc, &d->conf))
		mp_warn("reload: [nbd] listen and TLS settings change only with a restart");
	if (strcmp(nc.control, d->conf.control) != 0)
		mp_warn("reload: control changes only with a restart");
	mp_exports_reload(d->exports, &nc); /* limits apply to new connections and requests at once */
	if (d->ctl) {
		mp_ctl_set_max_clients(d->ctl, nc.control_max_clients);
		mp_ctl_set_max_pending(d->ctl, nc.control_max_pending);
	}
	if (nc.log_level != d->conf.log_level)
		mp_log_set_level((enum mp_log_level)nc.log_level);
	unsigned added = 0, removed = 0, changed = 0, kept = 0, failed = 0;
	for (size_t i = 0; i < d->n_specs;) {
		struct tspec *sp = d->specs[i];
		const struct mp_conf_disk *n = NULL;
		for (size_t j = 0; j < nc.n_disks && sp->from_config; j++)
			if (strcmp(nc.disks[j].name, sp->conf->name) == 0)
				n = &nc.disks[j];
		if (!sp->from_config || (n && disk_conf_same(sp->conf, n))) {
			kept += sp->from_config;
			i++;
			continue;
		}
		spec_remove(d, sp, n ? "configuration changed" : "no longer in the configuration");
		if (n)
			changed++;
		else
			removed++;
	}
	/* The secrets of the new configuration are used from here on (sessions fetch them at
	 * every login). */
	struct mp_conf old = d->conf;
	d->conf = nc;
	for (size_t j = 0; j < d->conf.n_disks; j++) {
		if (spec_find(d, d->conf.disks[j].name))
			continue;
		if (!spec_new(d, &d->conf.disks[j], true)) {
			mp_err("reload: disk %s: cannot start: %s", d->conf.disks[j].name, strerror(errno));
			failed++;
		} else {
			added++;
		}
	}
	mp_conf_free(&old);
	/* Sessions waiting to reconnect (e.g. held back after a CHAP failure) try the new
	 * configuration (secrets) now rather than at the end of their backoff. */
	for (size_t i = 0; i < d->n_sessions; i++)
		mp_iscsi_session_reinstate(d->sessions[i].s);
	added -= MP_MIN(added, changed); /* a changed disk is removed and started again */
	snprintf(msg, len, "%u added, %u removed, %u changed, %u unchanged%s", added, removed, changed, kept,
		 failed ? ", some failed to start (see the log)" : "");
	mp_info("reload: %s", msg);
	*counts = (struct mp_ctl_reload_counts){ .added = added, .removed = removed, .changed = changed,
						 .unchanged = kept, .failed = failed };
	return 0;
}

int daemon_reload(struct daemon *d, char *msg, size_t len)
{
	struct mp_ctl_reload_counts counts;
	return daemon_reload_counted(d, &counts, msg, len);
}

int daemon_reload_counted(struct daemon *d, struct mp_ctl_reload_counts *counts, char *msg, size_t len)
{
	*counts = (struct mp_ctl_reload_counts){ 0 };
	reload_notify_start();
	int rc = reload_apply(d, counts, msg, len);
	int e = errno;
	reload_notify_done(d);
	errno = e;
	return rc;
}
