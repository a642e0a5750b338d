/* mpiscsid's control commands that read or steer the multipath state: show disks/paths/maps/topology/sessions/config, fail/reinstate path, switchgroup, version. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "initiator/session.h"
#include "mpath/lu.h"
#include "mpath/rtpg.h"
#include "tools/ctl/ctl_proto.h"
#include "tools/mpiscsid/ctl_int.h"





/* The fields every path view has; i is the index of the path's disk. */
static json_object *path_json(const struct mp_ctl *ctl, size_t i, const struct mp_path *p)
{
	const struct mp_ctl_model *m = &ctl->model;
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "iface", json_object_new_string(p->iface));
	/* Where the path leads (null when the daemon cannot say). */
	struct mp_ctl_path_where w;
	bool where = m->path_where && m->path_where(m->arg, i, p, &w);
	json_object_object_add(o, "target", where ? str_or_null(w.target) : NULL);
	json_object_object_add(o, "portal", where ? str_or_null(w.portal) : NULL);
	json_object_object_add(o, "lun", where ? json_object_new_int64(w.lun) : NULL);
	json_object_object_add(o, "state", json_object_new_string(mp_path_state_name(p->state)));
	json_object_object_add(o, "usable", json_object_new_boolean(mp_lu_path_usable(p)));
	json_object_object_add(o, "prio", json_object_new_int(p->prio));
	json_object_object_add(o, "admin_failed", json_object_new_boolean(p->admin_failed));
	json_object_object_add(o, "marginal", json_object_new_boolean(p->marginal));
	json_object_object_add(o, "inflight", json_object_new_int64(p->inflight));
	/* ALUA: the path's target port group and its state (null when unknown or not used). */
	int st = p->lu ? mp_lu_path_alua_state(p->lu, p) : -1;
	json_object_object_add(o, "alua_group", p->has_tpg ? json_object_new_int(p->tpg) : NULL);
	json_object_object_add(o, "alua_state", st >= 0 ? json_object_new_string(mp_alua_state_name((uint8_t)st)) : NULL);
	json_object_object_add(o, "rel_port", p->has_rel_port ? json_object_new_int(p->rel_port) : NULL);
	return o;
}

/* The disk's ALUA groups as the target last reported them; null when the disk does not use ALUA. */
static json_object *alua_json(const struct mp_lu *lu)
{
	if (!lu || !mp_lu_alua_enabled(lu))
		return NULL;
	struct mp_alua_view v[MP_RTPG_MAX_GROUPS];
	size_t n = mp_lu_alua_groups(lu, v, MP_ARRAY_SIZE(v));
	json_object *o = json_object_new_object(), *groups = json_object_new_array();
	if (!o || !groups) {
		json_object_put(o);
		json_object_put(groups);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *g = json_object_new_object(), *paths = json_object_new_array();
		json_object_object_add(g, "id", json_object_new_int(v[i].id));
		json_object_object_add(g, "state", json_object_new_string(mp_alua_state_name(v[i].state)));
		json_object_object_add(g, "pref", json_object_new_boolean(v[i].pref));
		for (const struct mp_path *p = mp_lu_first_path(lu); p; p = p->lu_next)
			if (p->has_tpg && p->tpg == v[i].id)
				json_object_array_add(paths, json_object_new_int64(p->id));
		json_object_object_add(g, "paths", paths);
		json_object_array_add(groups, g);
	}
	json_object_object_add(o, "groups", groups);
	return o;
}

static json_object *path_json_full(const struct mp_ctl *ctl, size_t i, const struct mp_path *p, const char *disk)
{
	json_object *o = path_json(ctl, i, p);
	if (!o)
		return NULL;
	json_object_object_add(o, "disk", str_or_null(disk));
	json_object_object_add(o, "inflight_bytes", json_object_new_uint64(p->inflight_bytes));
	json_object_object_add(o, "submitted", json_object_new_uint64(p->submitted));
	json_object_object_add(o, "completed", json_object_new_uint64(p->completed));
	json_object_object_add(o, "errors", json_object_new_uint64(p->errors));
	json_object_object_add(o, "lat_ewma_us", json_object_new_uint64(p->lat_ewma_us));
	return o;
}

/*
 * The group that takes I/O: the core's active group while it has a usable
 * path; otherwise the best group with one, where the next request goes (the
 * core picks the active group lazily, at the first request or failure).
 * INT32_MIN when no path is usable.
 */
static int32_t io_group(struct mp_lu *lu)
{
	int32_t active = mp_lu_active_prio(lu), best = INT32_MIN;
	bool active_usable = false;
	for (const struct mp_path *p = mp_lu_first_path(lu); p; p = p->lu_next) {
		if (!mp_lu_path_usable(p))
			continue;
		active_usable |= p->prio == active;
		best = MP_MAX(best, p->prio);
	}
	return active_usable ? active : best;
}

/* One disk's summary (the show-disks row; show-topology adds "groups"). */
static json_object *disk_json(const struct mp_ctl *ctl, size_t i)
{
	const struct mp_ctl_model *m = &ctl->model;
	struct mp_lu *lu = m->disk_lu(m->arg, i);
	const struct mp_lu_info *info = lu ? mp_lu_get_info(lu) : NULL;
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "name", str_or_null(m->disk_name(m->arg, i)));
	json_object_object_add(o, "export", m->disk_export ? str_or_null(m->disk_export(m->arg, i)) : NULL);
	char dev[128] = "";
	if (m->disk_device)
		m->disk_device(m->arg, i, dev, sizeof(dev));
	json_object_object_add(o, "device", dev[0] ? json_object_new_string(dev) : NULL);
	json_object_object_add(o, "ready", json_object_new_boolean(info != NULL));
	json_object_object_add(o, "designator", info ? json_object_new_string(info->designator) : NULL);
	json_object_object_add(o, "serial", info ? json_object_new_string(info->serial) : NULL);
	json_object_object_add(o, "vendor", info ? json_object_new_string(info->vendor) : NULL);
	json_object_object_add(o, "product", info ? json_object_new_string(info->product) : NULL);
	json_object_object_add(o, "revision", info ? json_object_new_string(info->revision) : NULL);
	json_object_object_add(o, "block_size", info ? json_object_new_int64(info->block_size) : NULL);
	json_object_object_add(o, "size_bytes",
			       info ? json_object_new_uint64(info->num_blocks * info->block_size) : NULL);
	json_object_object_add(o, "selector", lu ? str_or_null(mp_lu_selector_name(lu)) : NULL);
	int32_t ap = lu ? io_group(lu) : INT32_MIN;
	json_object_object_add(o, "active_prio", ap == INT32_MIN ? NULL : json_object_new_int(ap));
	json_object_object_add(o, "queued", json_object_new_int64(lu ? mp_lu_queued(lu) : 0));
	unsigned n = 0, usable = 0;
	for (const struct mp_path *p = lu ? mp_lu_first_path(lu) : NULL; p; p = p->lu_next) {
		n++;
		usable += mp_lu_path_usable(p);
	}
	json_object_object_add(o, "paths_total", json_object_new_int64(n));
	json_object_object_add(o, "paths_usable", json_object_new_int64(usable));
	json_object_object_add(o, "alua", alua_json(lu));
	return o;
}

/* The path groups of lu by prio, best first, as multipath -ll shows them (disk index i). */
static json_object *groups_json(const struct mp_ctl *ctl, size_t i, struct mp_lu *lu)
{
	json_object *groups = json_object_new_array();
	int32_t takes_io = io_group(lu);
	bool have_prev = false;
	int32_t prev = 0;
	for (;;) {
		/* Next lower prio than prev: paths are few, a scan per group is cheap and needs no memory. */
		bool found = false;
		int32_t best = 0;
		for (const struct mp_path *p = mp_lu_first_path(lu); p; p = p->lu_next)
			if ((!have_prev || p->prio < prev) && (!found || p->prio > best)) {
				best = p->prio;
				found = true;
			}
		if (!found || !groups)
			break;
		json_object *g = json_object_new_object(), *paths = json_object_new_array();
		unsigned usable = 0, up = 0, total = 0;
		for (const struct mp_path *p = mp_lu_first_path(lu); p; p = p->lu_next) {
			if (p->prio != best)
				continue;
			total++;
			usable += mp_lu_path_usable(p);
			up += p->state == MP_PATH_UP;
			json_object_array_add(paths, path_json(ctl, i, p));
		}
		const char *status = mp_ctl_group_status(best == takes_io, usable, up);
		json_object_object_add(g, "prio", json_object_new_int(best));
		json_object_object_add(g, "status", json_object_new_string(status));
		json_object_object_add(g, "paths_total", json_object_new_int64(total));
		json_object_object_add(g, "paths_usable", json_object_new_int64(usable));
		json_object_object_add(g, "paths", paths);
		json_object_array_add(groups, g);
		prev = best;
		have_prev = true;
	}
	return groups;
}

static bool find_disk(struct mp_ctl *ctl, const char *key, size_t *out, struct mp_ctl_error *err);

/*
 * The disks a show command covers: [*first, *end). With a "disk" argument only
 * that disk (ENOENT if there is none), else every disk.
 */
static bool disk_range(struct mp_ctl *ctl, const struct mp_ctl_request *req, size_t *first, size_t *end,
		       struct mp_ctl_error *err)
{
	const char *key;
	if (mp_ctl_arg_string(req, "disk", &key)) {
		if (!find_disk(ctl, key, first, err))
			return false;
		*end = *first + 1;
		return true;
	}
	*first = 0;
	*end = ctl->model.n_disks(ctl->model.arg);
	return true;
}

int cmd_show_disks(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			  struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	size_t first, n;
	if (!disk_range(ctl, req, &first, &n, err))
		return -1;
	json_object *disks = json_object_new_array();
	for (size_t i = first; i < n; i++) {
		json_object *d = disk_json(ctl, i);
		struct mp_lu *lu = m->disk_lu(m->arg, i);
		if (req->spec->id == MP_CTL_CMD_SHOW_TOPOLOGY && d)
			json_object_object_add(d, "groups", lu ? groups_json(ctl, i, lu) : json_object_new_array());
		json_object_array_add(disks, d);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "disks", disks);
	return 0;
}

int cmd_show_paths(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			  struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	size_t first, n;
	if (!disk_range(ctl, req, &first, &n, err))
		return -1;
	json_object *paths = json_object_new_array();
	for (size_t i = first; i < n; i++) {
		struct mp_lu *lu = m->disk_lu(m->arg, i);
		for (const struct mp_path *p = lu ? mp_lu_first_path(lu) : NULL; p; p = p->lu_next)
			json_object_array_add(paths, path_json_full(ctl, i, p, m->disk_name(m->arg, i)));
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "paths", paths);
	return 0;
}

/* One row per disk, as multipathd's "show maps": who it is, how big, how healthy. */
int cmd_show_maps(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
			 struct mp_ctl_error *err MP_UNUSED)
{
	const struct mp_ctl_model *m = &ctl->model;
	json_object *maps = json_object_new_array();
	size_t n = m->n_disks(m->arg);
	for (size_t i = 0; i < n; i++) {
		struct mp_lu *lu = m->disk_lu(m->arg, i);
		const struct mp_lu_info *info = lu ? mp_lu_get_info(lu) : NULL;
		unsigned total = 0, up = 0, usable = 0;
		for (const struct mp_path *p = lu ? mp_lu_first_path(lu) : NULL; p; p = p->lu_next) {
			total++;
			up += p->state == MP_PATH_UP;
			usable += mp_lu_path_usable(p);
		}
		json_object *o = json_object_new_object();
		if (!o)
			continue;
		json_object_object_add(o, "name", str_or_null(m->disk_name(m->arg, i)));
		json_object_object_add(o, "wwid", info ? json_object_new_string(info->designator) : NULL);
		json_object_object_add(o, "size_bytes",
				       info ? json_object_new_uint64(info->num_blocks * info->block_size) : NULL);
		json_object_object_add(o, "state", json_object_new_string(mp_ctl_map_state(info != NULL, total, up,
											       usable)));
		json_object_object_add(o, "paths", json_object_new_int64(total));
		json_object_object_add(o, "paths_up", json_object_new_int64(up));
		json_object_object_add(o, "paths_usable", json_object_new_int64(usable));
		int32_t g = lu ? io_group(lu) : INT32_MIN;
		json_object_object_add(o, "active_prio", g == INT32_MIN ? NULL : json_object_new_int(g));
		json_object_object_add(o, "queued", json_object_new_int64(lu ? mp_lu_queued(lu) : 0));
		json_object_object_add(o, "export", m->disk_export ? str_or_null(m->disk_export(m->arg, i)) : NULL);
		json_object_array_add(maps, o);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "maps", maps);
	return 0;
}

/* Path ids are unique across disks; NULL and ENOENT if no disk has it. */
static struct mp_path *find_path(struct mp_ctl *ctl, int64_t id, size_t *disk, struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	size_t n = m->n_disks(m->arg);
	for (size_t i = 0; i < n; i++) {
		struct mp_lu *lu = m->disk_lu(m->arg, i);
		for (struct mp_path *p = lu ? mp_lu_first_path(lu) : NULL; p; p = p->lu_next)
			if (p->id == id) {
				*disk = i;
				return p;
			}
	}
	mp_ctl_error_set(err, ENOENT, "no path with id %lld", (long long)id);
	return NULL;
}

int cmd_path_control(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			    struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	bool fail = req->spec->id == MP_CTL_CMD_FAIL_PATH;
	int64_t id = -1;
	size_t i = 0;
	mp_ctl_arg_int(req, "id", &id);
	struct mp_path *p = find_path(ctl, id, &i, err);
	if (!p)
		return -1;
	struct mp_lu *lu = m->disk_lu(m->arg, i);
	const char *disk = m->disk_name(m->arg, i);
	errno = 0;
	int rc = fail ? mp_lu_path_admin_fail(lu, p) : mp_lu_path_reinstate(lu, p);
	if (rc != 0) {
		int e = errno ? errno : EIO;
		mp_ctl_error_set(err, e, "%s path %lld (%s) of disk %s: %s", fail ? "fail" : "reinstate",
				 (long long)id, p->name, disk ? disk : "?", strerror(e));
		return -1;
	}
	mp_debug("control: operator %s path %u (%s) of disk %s", fail ? "failed" : "reinstated", p->id,
		p->name, disk ? disk : "?");
	*data = path_json_full(ctl, i, p, disk);
	return 0;
}

/* A disk by its name, export name or LU designator. */
static bool find_disk(struct mp_ctl *ctl, const char *key, size_t *out, struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	size_t n = m->n_disks(m->arg);
	for (size_t i = 0; i < n; i++) {
		struct mp_lu *lu = m->disk_lu(m->arg, i);
		const struct mp_lu_info *info = lu ? mp_lu_get_info(lu) : NULL;
		const char *name = m->disk_name(m->arg, i);
		const char *exp = m->disk_export ? m->disk_export(m->arg, i) : NULL;
		if ((name && strcmp(name, key) == 0) || (exp && strcmp(exp, key) == 0) ||
		    (info && info->designator[0] && strcmp(info->designator, key) == 0)) {
			*out = i;
			return true;
		}
	}
	mp_ctl_error_set(err, ENOENT, "no disk named '%s'", key);
	return false;
}

int cmd_switchgroup(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			   struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	const char *key = "";
	int64_t prio = 0;
	size_t i;
	mp_ctl_arg_string(req, "disk", &key);
	mp_ctl_arg_int(req, "prio", &prio);
	if (!find_disk(ctl, key, &i, err))
		return -1;
	struct mp_lu *lu = m->disk_lu(m->arg, i);
	const char *disk = m->disk_name(m->arg, i);
	if (!lu) {
		mp_ctl_error_set(err, ENODEV, "disk %s has no logical unit yet", disk ? disk : key);
		return -1;
	}
	errno = 0;
	if (mp_lu_switch_group(lu, (int32_t)prio) != 0) {
		int e = errno ? errno : EIO;
		mp_ctl_error_set(err, e, "switchgroup disk %s prio %lld: %s", disk ? disk : key, (long long)prio,
				 e == ENOENT ? "no usable path has that prio" : strerror(e));
		return -1;
	}
	mp_debug("control: operator switched disk %s to path group prio %lld", disk ? disk : key, (long long)prio);
	*data = json_object_new_object();
	json_object_object_add(*data, "disk", str_or_null(disk));
	int32_t ap = mp_lu_active_prio(lu);
	json_object_object_add(*data, "active_prio", ap == INT32_MIN ? NULL : json_object_new_int(ap));
	return 0;
}

int cmd_version(struct mp_ctl *ctl MP_UNUSED, const struct mp_ctl_request *req MP_UNUSED,
		       json_object **data, struct mp_ctl_error *err MP_UNUSED)
{
	json_object *cmds = json_object_new_array();
	for (int c = 0; c < MP_CTL_CMD__COUNT; c++)
		json_object_array_add(cmds, json_object_new_string(mp_ctl_cmd_spec((enum mp_ctl_cmd)c)->name));
	*data = json_object_new_object();
	json_object_object_add(*data, "daemon", json_object_new_string("mpiscsid"));
	json_object_object_add(*data, "version", json_object_new_string(MP_CTL_SOFTWARE_VERSION));
	json_object_object_add(*data, "protocol", json_object_new_int(MP_CTL_VERSION));
	json_object_object_add(*data, "commands", cmds);
	return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int cmd_show_sessions(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
			     struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	if (!m->session || !m->n_sessions || !m->session_luns) {
		mp_ctl_error_set(err, ENOSYS, "this daemon does not report sessions");
		return -1;
	}
	json_object *arr = json_object_new_array();
	size_t n = m->n_sessions(m->arg);
	for (size_t i = 0; i < n; i++) {
		struct mp_iscsi_session_view v;
		if (!m->session(m->arg, i, &v))
			continue;
		char isid[13];
		hex(v.isid, sizeof(v.isid), isid);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "sid", json_object_new_int64(v.id));
		json_object_object_add(o, "target", json_object_new_string(v.target));
		json_object_object_add(o, "portal", json_object_new_string(v.portal));
		json_object_object_add(o, "iface", json_object_new_string(v.iface));
		json_object_object_add(o, "egress", json_object_new_string(v.egress));
		json_object_object_add(o, "initiator", json_object_new_string(v.initiator));
		json_object_object_add(o, "isid", json_object_new_string(isid));
		json_object_object_add(o, "session_state", json_object_new_string(v.state));
		json_object_object_add(o, "logged_in", json_object_new_boolean(v.logged_in));
		json_object_object_add(o, "state_age_s", json_object_new_double(v.state_age_s));
		json_object_object_add(o, "last_error", json_object_new_string(v.last_error));
		json_object_object_add(o, "logins", json_object_new_int64(v.logins));
		json_object *par = json_object_new_object();
		json_object_object_add(par, "header_digest", json_object_new_string(v.header_digest));
		json_object_object_add(par, "noop_interval_ms", json_object_new_int64(v.noop_interval_ms));
		json_object_object_add(par, "noop_timeout_ms", json_object_new_int64(v.noop_timeout_ms));
		json_object_object_add(par, "command_timeout_ms", json_object_new_int64(v.command_timeout_ms));
		json_object_object_add(par, "login_timeout_ms", json_object_new_int64(v.login_timeout_ms));
		json_object_object_add(par, "reconnect_max_ms", json_object_new_int64(v.reconnect_max_ms));
		json_object_object_add(par, "chap_user", v.chap_user[0] ? json_object_new_string(v.chap_user) : NULL);
		json_object_object_add(o, "params", par);
		/* The LUs this session carries, as -P 3 shows the attached SCSI devices. */
		struct mp_ctl_session_lun luns[256];
		size_t nl = m->session_luns(m->arg, i, luns, MP_ARRAY_SIZE(luns));
		json_object *la = json_object_new_array();
		for (size_t j = 0; j < nl; j++) {
			const struct mp_ctl_session_lun *l = &luns[j];
			json_object *lo = json_object_new_object();
			json_object_object_add(lo, "lun", json_object_new_int64(l->lun));
			json_object_object_add(lo, "path_id", json_object_new_int64(l->path_id));
			json_object_object_add(lo, "path_state", json_object_new_string(l->path_state));
			json_object_object_add(lo, "disk", str_or_null(l->disk));
			json_object_object_add(lo, "export", str_or_null(l->export_name));
			json_object_object_add(lo, "designator", l->info ? json_object_new_string(l->info->designator) : NULL);
			json_object_object_add(lo, "size_bytes", l->info ? json_object_new_uint64(l->info->num_blocks *
												   l->info->block_size) : NULL);
			json_object_array_add(la, lo);
		}
		json_object_object_add(o, "luns", la);
		json_object_array_add(arr, o);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "sessions", arr);
	return 0;
}

int cmd_show_config(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
			   struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	if (!m->config_text) {
		mp_ctl_error_set(err, ENOSYS, "this daemon does not report its configuration");
		return -1;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f || m->config_text(m->arg, f) != 0) {
		if (f)
			fclose(f);
		free(text);
		mp_ctl_error_set(err, ENOMEM, "cannot render the configuration");
		return -1;
	}
	fclose(f);
	*data = json_object_new_object();
	const char *file = m->config_file ? m->config_file(m->arg) : NULL;
	json_object_object_add(*data, "file", str_or_null(file));
	json_object_object_add(*data, "text", json_object_new_string_len(text, (int)len));
	free(text);
	return 0;
}

