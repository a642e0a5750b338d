/* mpiscsid's control socket: Unix listener, non-blocking clients, command handlers over the model. */
#include "tools/mpiscsid/ctl_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/admission.h"
#include "common/listener.h"
#include "common/log.h"
#include "common/unix_listen.h"
#include "common/util.h"
#include "initiator/session.h"
#include "mpath/lu.h"
#include "mpath/rtpg.h"
#include "tools/ctl/ctl_proto.h"

struct ctl_client {
	ev_io io;                   /* first: io_cb casts back */
	ev_timer timer;             /* stall and idle timeouts, checked lazily */
	struct mp_ctl *ctl;
	struct ctl_client *prev, *next;
	struct mp_admit_entry pend; /* in ctl->adm while it has sent no complete request: may be evicted */
	ev_tstamp accepted;         /* a pending client must send its request by accepted + MP_CTL_PENDING_TIMEOUT */
	int fd;
	bool eof;                   /* the peer closed its sending side */
	bool close_after_reply;     /* the stream cannot be resynchronised */
	ev_tstamp last_progress;
	struct mp_ctl_later *later; /* a request whose reply comes later: the client waits for it */
	char *out;                  /* the reply being sent, or NULL */
	size_t out_len, out_off;
	size_t in_len;
	char in[MP_CTL_MAX_REQUEST];
};

struct mp_ctl {
	struct mp_listener *lst;    /* the socket (its file removed only if still ours) and accept back-off */
	struct ev_loop *loop;
	struct mp_ctl_model model;
	struct ctl_client *clients;
	unsigned n_clients;
	/* Clients that have not sent a complete request yet, oldest first: the oldest is closed when
	 * a newcomer finds adm.max_pending (MP_CTL_MAX_PENDING unless set) or adm.max_clients
	 * (MP_CTL_MAX_CLIENTS unless set) reached. adm.no_budget: test hook MP_CTL_TEST_NO_BUDGET_ENV. */
	struct mp_admit adm;
	struct ctl_client *serving; /* the client whose request is being handled (for a later reply) */
	struct mp_ctl_later *laters; /* replies owed, also to clients gone (their outcome is dropped) */
};

/* A reply owed (ctl_server.h). */
struct mp_ctl_later {
	struct mp_ctl *ctl;
	struct ctl_client *c;       /* NULL once the client is gone */
	struct mp_ctl_later *prev, *next;
	void (*cancel)(void *arg);
	void *cancel_arg;
};

static void client_run(struct ctl_client *c);
static void client_close(struct ctl_client *c);

/* ---- command handlers ---- */

typedef int ctl_handler_fn(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
			   struct mp_ctl_error *err);

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

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

static int cmd_show_disks(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
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

static int cmd_show_paths(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
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
static int cmd_show_maps(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
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

static int cmd_path_control(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
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

static int cmd_switchgroup(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
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

static int cmd_version(struct mp_ctl *ctl MP_UNUSED, const struct mp_ctl_request *req MP_UNUSED,
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

static int cmd_show_sessions(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
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

static int cmd_show_config(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
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

static int cmd_reconfigure(struct mp_ctl *ctl, const struct mp_ctl_request *req MP_UNUSED, json_object **data,
			   struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	char msg[256] = "";
	struct mp_ctl_reload_counts c = { 0 };
	if (!m->reconfigure) {
		mp_ctl_error_set(err, ENOSYS, "this daemon cannot reload");
		return -1;
	}
	if (m->reconfigure(m->arg, &c, msg, sizeof(msg)) != 0) {
		mp_ctl_error_set(err, errno ? errno : EINVAL, "%s", msg);
		return -1;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "result", json_object_new_string(msg));
	json_object_object_add(*data, "added", json_object_new_int64(c.added));
	json_object_object_add(*data, "removed", json_object_new_int64(c.removed));
	json_object_object_add(*data, "changed", json_object_new_int64(c.changed));
	json_object_object_add(*data, "unchanged", json_object_new_int64(c.unchanged));
	json_object_object_add(*data, "failed", json_object_new_int64(c.failed));
	return 0;
}

static int cmd_node(struct mp_ctl *ctl, const struct mp_ctl_request *req, json_object **data,
		    struct mp_ctl_error *err)
{
	const struct mp_ctl_model *m = &ctl->model;
	bool login = req->spec->id == MP_CTL_CMD_NODE_LOGIN;
	const char *target = NULL, *portal = NULL, *iface = NULL;
	int64_t lun = -1, timeout_s = 30;
	char msg[256] = "";
	mp_ctl_arg_string(req, "target", &target);
	mp_ctl_arg_string(req, "portal", &portal);
	mp_ctl_arg_string(req, "iface", &iface);
	mp_ctl_arg_int(req, "lun", &lun);
	mp_ctl_arg_int(req, "timeout_s", &timeout_s);
	if (login ? !m->node_login : !m->node_logout) {
		mp_ctl_error_set(err, ENOSYS, "this daemon cannot log in or out at run time");
		return -1;
	}
	errno = 0;
	int rc;
	if (login) {
		/* The reply waits for the login's outcome: the model answers through later. */
		struct mp_ctl_later *l = ctl->serving ? calloc(1, sizeof(*l)) : NULL;
		if (!l) {
			mp_ctl_error_set(err, ENOMEM, "out of memory");
			return -1;
		}
		l->ctl = ctl;
		rc = m->node_login(m->arg, target, portal, lun, iface, (double)timeout_s, l, msg, sizeof(msg));
		if (rc == 1) {
			l->c = ctl->serving;
			l->c->later = l;
			l->next = ctl->laters;
			if (l->next)
				l->next->prev = l;
			ctl->laters = l;
			return 1;
		}
		free(l);
	} else {
		rc = m->node_logout(m->arg, target, portal, lun, iface, msg, sizeof(msg));
	}
	if (rc != 0) {
		mp_ctl_error_set(err, errno ? errno : EINVAL, "%s", msg);
		return -1;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "result", json_object_new_string(msg));
	return 0;
}

static void later_unlink(struct mp_ctl_later *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		l->ctl->laters = l->next;
	if (l->next)
		l->next->prev = l->prev;
}

void mp_ctl_later_set_cancel(struct mp_ctl_later *l, void (*cancel)(void *arg), void *arg)
{
	l->cancel = cancel;
	l->cancel_arg = arg;
}

static json_object *login_json(const struct mp_ctl_login_result *r)
{
	json_object *o = json_object_new_object(), *ss = json_object_new_array(), *ds = json_object_new_array();
	json_object_object_add(o, "result", json_object_new_string(r->message ? r->message : ""));
	for (size_t i = 0; i < r->n_sessions; i++) {
		const struct mp_ctl_login_session *x = &r->sessions[i];
		json_object *so = json_object_new_object();
		json_object_object_add(so, "iface", json_object_new_string(x->iface ? x->iface : ""));
		json_object_object_add(so, "portal", json_object_new_string(x->portal ? x->portal : ""));
		json_object_object_add(so, "logged_in", json_object_new_boolean(x->err == 0));
		json_object_object_add(so, "code", x->err ? json_object_new_string(mp_ctl_errno_code(x->err)) : NULL);
		json_object_object_add(so, "error", str_or_null(x->err ? x->error : NULL));
		json_object_array_add(ss, so);
	}
	for (size_t i = 0; i < r->n_disks; i++) {
		const struct mp_ctl_login_disk *x = &r->disks[i];
		json_object *d = json_object_new_object();
		json_object_object_add(d, "lun", json_object_new_int64(x->lun));
		json_object_object_add(d, "disk", str_or_null(x->disk));
		json_object_object_add(d, "export", str_or_null(x->export_name));
		json_object_object_add(d, "device", x->device && x->device[0] ? json_object_new_string(x->device) : NULL);
		json_object_object_add(d, "state", str_or_null(x->state));
		json_object_array_add(ds, d);
	}
	json_object_object_add(o, "sessions", ss);
	json_object_object_add(o, "disks", ds);
	return o;
}

void mp_ctl_later_login_done(struct mp_ctl_later *l, const struct mp_ctl_login_result *r)
{
	struct ctl_client *c = l->c;
	later_unlink(l);
	free(l);
	if (r->err)
		mp_info("control: node-login refused: %s", r->message ? r->message : "");
	if (!c)
		return; /* the client went away: nobody to tell */
	c->later = NULL;
	char *reply;
	if (r->err) {
		struct mp_ctl_error e;
		mp_ctl_error_set(&e, r->err, "%s", r->message ? r->message : "login failed");
		reply = mp_ctl_reply_error(&e, &c->out_len);
	} else {
		reply = mp_ctl_reply_ok(login_json(r), &c->out_len);
	}
	if (!reply) {
		mp_warn("control: out of memory for a reply");
		client_close(c);
		return;
	}
	c->out = reply;
	c->out_off = 0;
	c->last_progress = ev_now(c->ctl->loop);
	client_run(c);
}

/* Handlers by command; a command without one answers ENOSYS. */
static ctl_handler_fn *const handlers[MP_CTL_CMD__COUNT] = {
	[MP_CTL_CMD_VERSION] = cmd_version,
	[MP_CTL_CMD_SHOW_TOPOLOGY] = cmd_show_disks,
	[MP_CTL_CMD_SHOW_PATHS] = cmd_show_paths,
	[MP_CTL_CMD_SHOW_DISKS] = cmd_show_disks,
	[MP_CTL_CMD_FAIL_PATH] = cmd_path_control,
	[MP_CTL_CMD_REINSTATE_PATH] = cmd_path_control,
	[MP_CTL_CMD_SWITCHGROUP] = cmd_switchgroup,
	[MP_CTL_CMD_SHOW_SESSIONS] = cmd_show_sessions,
	[MP_CTL_CMD_SHOW_CONFIG] = cmd_show_config,
	[MP_CTL_CMD_RECONFIGURE] = cmd_reconfigure,
	[MP_CTL_CMD_NODE_LOGIN] = cmd_node,
	[MP_CTL_CMD_NODE_LOGOUT] = cmd_node,
	[MP_CTL_CMD_SHOW_MAPS] = cmd_show_maps,
};

/* Answer one request line: a malloc'd reply line, or NULL when out of memory. */
static char *handle_line(struct mp_ctl *ctl, const char *line, size_t len, size_t *out_len, bool *fatal,
			 bool *deferred)
{
	struct mp_ctl_request req;
	struct mp_ctl_error err = { 0 };
	json_object *data = NULL;
	char *reply;

	if (mp_ctl_request_parse(line, len, &req, &err) < 0) {
		*fatal = err.err == EMSGSIZE;
		mp_debug("control: bad request: %s", err.message);
		return mp_ctl_reply_error(&err, out_len);
	}
	ctl_handler_fn *fn = handlers[req.spec->id];
	if (!fn)
		mp_ctl_error_set(&err, ENOSYS, "command '%s' is not implemented by this daemon", req.spec->name);
	int rc = fn ? fn(ctl, &req, &data, &err) : -1;
	if (rc == 1) {
		*deferred = true; /* the handler took a later: the reply comes from mp_ctl_later_*_done */
		reply = NULL;
	} else if (rc == 0) {
		reply = mp_ctl_reply_ok(data, out_len);
	} else {
		json_object_put(data);
		if (req.spec->mutates)
			mp_info("control: %s refused: %s", req.spec->name, err.message);
		reply = mp_ctl_reply_error(&err, out_len);
	}
	mp_ctl_request_clear(&req);
	return reply;
}

/* ---- clients ---- */

static void client_close(struct ctl_client *c)
{
	struct mp_ctl *ctl = c->ctl;
	mp_admit_end(&ctl->adm, &c->pend);
	if (c->later)
		c->later->c = NULL; /* the login goes on; its outcome is dropped */
	ev_io_stop(ctl->loop, &c->io);
	ev_timer_stop(ctl->loop, &c->timer);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->n_clients--;
	free(c->out);
	free(c);
}

/* Send what the socket takes now: 0 (done or would block) or -1 (peer gone). */
static int client_flush(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)n;
		c->last_progress = ev_now(c->ctl->loop);
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

static void client_set_events(struct ctl_client *c, int events)
{
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(c->ctl->loop, &c->io);
	if (!events)
		return; /* waiting for a later reply: not even EOF is read (it would fire forever) */
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->ctl->loop, &c->io);
}

/*
 * Advance one client as far as it goes without blocking: send the pending
 * reply; when none is pending, answer the next buffered line. Closes the
 * client when it is finished or broken; then c is gone.
 */
static void client_run(struct ctl_client *c)
{
	for (;;) {
		if (c->later)
			break; /* its reply comes later; later requests wait in the socket */
		if (c->out) {
			if (client_flush(c) < 0) {
				client_close(c);
				return;
			}
			if (c->out)
				break;
		}
		if (c->close_after_reply) {
			client_close(c);
			return;
		}
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t line_len, used;
		if (nl) {
			line_len = (size_t)(nl - c->in);
			used = line_len + 1;
		} else if (c->in_len == sizeof(c->in) || (c->eof && c->in_len > 0)) {
			line_len = used = c->in_len;  /* overlong (parse refuses it) or the last line */
		} else if (c->eof) {
			client_close(c);
			return;
		} else {
			break;
		}
		bool fatal = false, deferred = false;
		mp_admit_end(&c->ctl->adm, &c->pend);  /* a request in progress is never evicted */
		c->ctl->serving = c;
		c->out = handle_line(c->ctl, c->in, line_len, &c->out_len, &fatal, &deferred);
		c->ctl->serving = NULL;
		c->out_off = 0;
		if (!c->out && !deferred) {
			mp_warn("control: out of memory for a reply");
			client_close(c);
			return;
		}
		c->close_after_reply |= fatal;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
	client_set_events(c, c->later ? 0 : c->out ? EV_WRITE : EV_READ);
}

static void client_io_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents)
{
	struct ctl_client *c = (struct ctl_client *)w;  /* io is the first member */

	if ((revents & EV_READ) && !c->out && !c->eof && c->in_len < sizeof(c->in)) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			c->last_progress = ev_now(c->ctl->loop);
		} else if (n == 0) {
			c->eof = true;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			client_close(c);
			return;
		}
	}
	client_run(c);
}

/* Lazy timeout: the timer wakes at most every MP_CTL_STALL_TIMEOUT and compares with last_progress. */
static void client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents MP_UNUSED)
{
	struct ctl_client *c = mp_container_of(w, struct ctl_client, timer);
	ev_tstamp left;
	if (c->later) {
		/* Waiting for a later reply: the model answers by its own deadline. */
		w->repeat = MP_CTL_STALL_TIMEOUT;
		ev_timer_again(loop, w);
		return;
	}
	if (c->pend.pending) {
		/* From accept, not from the last byte: a trickle does not keep a slot. */
		left = c->accepted + MP_CTL_PENDING_TIMEOUT - ev_now(loop);
		if (left <= 0) {
			mp_debug("control: closing a client without a request after %.0f s", MP_CTL_PENDING_TIMEOUT);
			client_close(c);
			return;
		}
	} else {
		bool busy = c->out || c->in_len > 0;
		ev_tstamp limit = busy ? MP_CTL_STALL_TIMEOUT : MP_CTL_IDLE_TIMEOUT;
		left = c->last_progress + limit - ev_now(loop);
		if (left <= 0) {
			mp_debug("control: closing a client %s for %.0f s", busy ? "stalled" : "idle", limit);
			client_close(c);
			return;
		}
	}
	w->repeat = MP_MIN(left, MP_CTL_STALL_TIMEOUT);
	ev_timer_again(loop, w);
}

static void refuse_client(int fd, unsigned n)
{
	struct mp_ctl_error err;
	size_t len;
	mp_ctl_error_set(&err, EBUSY, "%u control clients connected, try again later", n);
	char *line = mp_ctl_reply_error(&err, &len);
	if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		mp_debug("control: refusing a client: %s", strerror(errno));
	free(line);
	close(fd);
}

static void evict_log(struct mp_admit *a, uint64_t n)
{
	struct mp_ctl *ctl = mp_container_of(a, struct mp_ctl, adm);
	mp_warn("control: %llu client(s) that sent no request closed to admit new ones (control_max_pending %u, "
		"control_max_clients %u)", (unsigned long long)n, ctl->adm.max_pending, ctl->adm.max_clients);
}

/* Close the oldest client that has sent no request, for a newcomer. */
static void evict(struct mp_admit *a MP_UNUSED, struct mp_admit_entry *e)
{
	client_close(mp_container_of(e, struct ctl_client, pend));
}

static void accept_cb(struct mp_listener *l MP_UNUSED, int fd, void *arg)
{
	struct mp_ctl *ctl = arg;

	if (!mp_admit_newcomer(&ctl->adm, ctl->n_clients)) {
		mp_warn("control: %u clients connected, refusing another", ctl->n_clients);
		refuse_client(fd, ctl->n_clients);
		return;
	}
	struct ctl_client *c = calloc(1, sizeof(*c));
	if (!c) {
		mp_warn("control: out of memory for a new client");
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->last_progress = c->accepted = ev_now(ctl->loop);
	c->next = ctl->clients;
	if (c->next)
		c->next->prev = c;
	ctl->clients = c;
	ctl->n_clients++;
	mp_admit_begin(&ctl->adm, &c->pend);
	ev_io_init(&c->io, client_io_cb, fd, EV_READ);
	ev_io_start(ctl->loop, &c->io);
	ev_init(&c->timer, client_timer_cb);
	c->timer.repeat = MP_CTL_PENDING_TIMEOUT;
	ev_timer_again(ctl->loop, &c->timer);
}

/* ---- listening ---- */

struct mp_ctl *mp_ctl_new(struct ev_loop *loop, const char *path, const struct mp_ctl_model *model,
			  char *err, size_t errlen)
{
	if (!model || !model->n_disks || !model->disk_lu || !model->disk_name) {
		snprintf(err, errlen, "control socket: incomplete model");
		errno = EINVAL;
		return NULL;
	}
	struct mp_ctl *ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	mp_admit_init(&ctl->adm, loop, evict, evict_log);
	ctl->adm.max_clients = MP_CTL_MAX_CLIENTS;
	ctl->adm.max_pending = MP_CTL_MAX_PENDING;
	ctl->adm.log_interval = MP_CTL_EVICT_LOG_INTERVAL;
	ctl->adm.no_budget = getenv(MP_CTL_TEST_NO_BUDGET_ENV) != NULL;
	if (ctl->adm.no_budget)
		mp_warn("control: %s set: pending-client budget OFF (tests only)", MP_CTL_TEST_NO_BUDGET_ENV);
	ctl->loop = loop;
	ctl->model = *model;
	/* 0600: the socket's mode is the only access control. */
	struct mp_unix_sock sock;
	const struct mp_listener_opts lo = { .who = "control", .name = path, .batch = 16, .accept = accept_cb,
					     .arg = ctl };
	if (mp_unix_listen(path, 0600, 16, &sock, err, errlen) < 0 ||
	    !(ctl->lst = mp_listener_new_unix(loop, &sock, &lo))) {
		int e = errno;
		if (e == ENOMEM)
			snprintf(err, errlen, "out of memory");
		free(ctl);
		errno = e;
		return NULL;
	}
	mp_info("control: listening on unix:%s", path);
	return ctl;
}

void mp_ctl_set_max_clients(struct mp_ctl *ctl, unsigned n)
{
	ctl->adm.max_clients = n ? n : MP_CTL_MAX_CLIENTS;
}

void mp_ctl_set_max_pending(struct mp_ctl *ctl, unsigned n)
{
	ctl->adm.max_pending = n ? n : MP_CTL_MAX_PENDING;
}

unsigned mp_ctl_client_count(const struct mp_ctl *ctl)
{
	return ctl->n_clients;
}

unsigned mp_ctl_pending_count(const struct mp_ctl *ctl)
{
	return ctl->adm.n_pending;
}

uint64_t mp_ctl_evictions(const struct mp_ctl *ctl)
{
	return ctl->adm.evictions;
}

void mp_ctl_free(struct mp_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_close(ctl->clients);
	/* Replies still owed: the model drops its waits (and never answers them). */
	while (ctl->laters) {
		struct mp_ctl_later *l = ctl->laters;
		later_unlink(l);
		if (l->cancel)
			l->cancel(l->cancel_arg);
		free(l);
	}
	mp_listener_free(ctl->lst);
	mp_admit_stop(&ctl->adm);
	free(ctl);
}
