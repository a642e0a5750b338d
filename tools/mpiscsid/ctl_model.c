/* mpiscsid as the control socket sees it: disks, sessions, config text, node login/logout, reconfigure. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "initiator/discovery.h"
#include "tools/mpiscsid/config.h"
#include "tools/mpiscsid/ctl_server.h"
#include "tools/mpiscsid/daemon.h"
#include "tools/mpiscsid/exports.h"
#include "tools/mpiscsid/node_login.h"

static size_t model_n_sessions(void *arg) { return ((struct daemon *)arg)->n_sessions; }

static bool model_session(void *arg, size_t i, struct mp_iscsi_session_view *v)
{
	struct daemon *d = arg;
	if (i >= d->n_sessions)
		return false;
	mp_iscsi_session_view(d->sessions[i].s, v);
	return true;
}

static size_t model_session_luns(void *arg, size_t i, struct mp_ctl_session_lun *out, size_t max)
{
	struct daemon *d = arg;
	size_t n = 0;
	if (i >= d->n_sessions)
		return 0;
	for (size_t k = 0; k < d->n_disks; k++)
		for (size_t j = 0; j < d->disks[k]->n_paths && n < max; j++) {
			struct mp_iscsi_path *p = d->disks[k]->paths[j];
			if (mp_iscsi_path_session(p) != d->sessions[i].s)
				continue;
			out[n++] = (struct mp_ctl_session_lun){
				.lun = mp_iscsi_path_lun(p),
				.path_id = mp_iscsi_path_core(p)->id,
				.disk = d->disks[k]->name,
				.export_name = d->disks[k]->export_name,
				.path_state = mp_path_state_name(mp_iscsi_path_core(p)->state),
				.info = mp_lu_get_info(d->disks[k]->lu),
			};
		}
	return n;
}

static int model_config_text(void *arg, FILE *f)
{
	struct daemon *d = arg;
	mp_conf_print(f, &d->conf);
	/* Targets added at run time are not in the file: listed as comments. */
	for (size_t i = 0; i < d->n_specs; i++)
		if (!d->specs[i]->from_config) {
			char luns[400];
			mp_conf_luns_text(d->specs[i]->conf, luns, sizeof(luns));
			fprintf(f, "\n# [disk %s] added at run time: %s, %s\n", d->specs[i]->conf->name,
				d->specs[i]->conf->target, luns[0] ? luns : "every LUN");
		}
	return ferror(f) ? -1 : 0;
}

static const char *model_config_file(void *arg) { return ((struct daemon *)arg)->conf_file; }

static int model_reconfigure(void *arg, struct mp_ctl_reload_counts *counts, char *msg, size_t len)
{
	return daemon_reload_counted(arg, counts, msg, len);
}

static int model_node_login(void *arg, const char *target, const char *portal, int64_t lun, const char *iface,
			    double timeout_s, struct mp_ctl_later *later, char *msg, size_t len)
{
	return node_login_start(arg, target, portal, lun, iface, timeout_s, later, msg, len);
}

static int model_node_logout(void *arg, const char *target, const char *portal, int64_t lun, const char *iface,
			     char *msg, size_t len)
{
	struct daemon *d = arg;
	struct mp_portal pp;
	struct mp_conf_portal cp;
	if (portal) {
		if (mp_portal_parse(portal, strlen(portal), &pp) != 0) {
			snprintf(msg, len, "'%s' is not a portal (HOST[:PORT])", portal);
			errno = EINVAL;
			return -1;
		}
		memset(&cp, 0, sizeof(cp));
		snprintf(cp.host, sizeof(cp.host), "%s", pp.host);
		cp.port = pp.port;
	}
	size_t sessions = 0, specs = 0;
	for (size_t i = 0; i < d->n_specs;) {
		struct tspec *sp = d->specs[i];
		if (strcmp(sp->conf->target, target) != 0 ||
		    (lun >= 0 && !mp_conf_disk_wants_lun(sp->conf, (uint32_t)lun))) {
			i++;
			continue;
		}
		size_t n = spec_drop_sessions(sp, portal ? &cp : NULL, iface);
		sessions += n;
		if (sp->n_sess || sp->conf->n_discovery) {
			i++;
			continue;
		}
		/* No session left: the target's disks are drained and removed. */
		specs++;
		spec_remove(d, sp, "logged out");
	}
	if (!sessions && !specs) {
		snprintf(msg, len, "no session to %s%s%s%s%s", target, portal ? " via " : "", portal ? portal : "",
			 iface ? " on " : "", iface ? iface : "");
		errno = ENOENT;
		return -1;
	}
	snprintf(msg, len, "%zu session(s) logged out, %zu target(s) removed", sessions, specs);
	mp_info("control: %s (%s%s%s)", msg, target, portal ? " via " : "", portal ? portal : "");
	return 0;
}

/* What the control socket sees of the daemon. */
static size_t model_n_disks(void *arg) { return ((struct daemon *)arg)->n_disks; }
static struct mp_lu *model_disk_lu(void *arg, size_t i) { return ((struct daemon *)arg)->disks[i]->lu; }
static const char *model_disk_name(void *arg, size_t i) { return ((struct daemon *)arg)->disks[i]->name; }
static const char *model_disk_export(void *arg, size_t i)
{
	return ((struct daemon *)arg)->disks[i]->export_name;
}

static void model_disk_device(void *arg, size_t i, char *buf, size_t n)
{
	struct daemon *d = arg;
	mp_exports_device(d->exports, d->disks[i]->name, buf, n);
}

/* Path objects name their target, portal and LUN: found through the disk's iSCSI paths. */
static bool model_path_where(void *arg, size_t i, const struct mp_path *p, struct mp_ctl_path_where *out)
{
	const struct disk *k = ((struct daemon *)arg)->disks[i];
	for (size_t j = 0; j < k->n_paths; j++) {
		struct mp_iscsi_path *ip = k->paths[j];
		if (mp_iscsi_path_core(ip) != p)
			continue;
		const struct mp_iscsi_session *s = mp_iscsi_path_session(ip);
		*out = (struct mp_ctl_path_where){ .target = mp_iscsi_session_target(s),
						   .portal = mp_iscsi_session_portal(s),
						   .lun = mp_iscsi_path_lun(ip) };
		return true;
	}
	return false;
}

void daemon_ctl_model(struct daemon *d, struct mp_ctl_model *m)
{
	*m = (struct mp_ctl_model){
		.arg = d,
		.n_disks = model_n_disks,
		.disk_lu = model_disk_lu,
		.disk_name = model_disk_name,
		.disk_export = model_disk_export,
		.disk_device = model_disk_device,
		.n_sessions = model_n_sessions,
		.session = model_session,
		.session_luns = model_session_luns,
		.config_text = model_config_text,
		.config_file = model_config_file,
		.reconfigure = model_reconfigure,
		.node_login = model_node_login,
		.node_logout = model_node_logout,
		.path_where = model_path_where,
	};
}
