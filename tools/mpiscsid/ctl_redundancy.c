/* The control socket's show-redundancy answer: every disk's last redundancy verdict (mpath/redundancy.h) as JSON. */
#include "tools/mpiscsid/ctl_redundancy.h"

#include <errno.h>
#include <stdlib.h>

#include "mpath/lu.h"
#include "mpath/redundancy.h"
#include "tools/mpiscsid/ctl_server.h"

static json_object *verdict_json(const char *disk, const struct mp_redundancy *v)
{
	json_object *o = json_object_new_object(), *conds = json_object_new_array();
	unsigned bits = v->mask;
	int c;

	while ((c = mp_spof_next(&bits)) >= 0) {
		json_object *x = json_object_new_object();
		json_object_object_add(x, "name", json_object_new_string(mp_spof_name((enum mp_spof)c)));
		json_object_object_add(x, "reason", json_object_new_string(v->reason[c]));
		json_object_array_add(conds, x);
	}
	json_object_object_add(o, "disk", json_object_new_string(disk ? disk : "?"));
	json_object_object_add(o, "ok", json_object_new_boolean(v->mask == 0));
	json_object_object_add(o, "usable_paths", json_object_new_int64((int64_t)v->n_usable));
	json_object_object_add(o, "conditions", conds);
	return o;
}

int ctl_redundancy_json(const struct mp_ctl_model *m, json_object **data)
{
	size_t n = m->n_disks(m->arg);
	struct mp_redundancy *v = malloc(sizeof(*v)); /* 3.6 KB: not on the stack */
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	json_object *disks = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct mp_lu *lu = m->disk_lu(m->arg, i);
		if (!lu || mp_lu_redundancy(lu, v) != 0)
			mp_redundancy_audit(NULL, 0, NULL, v); /* no LU: no path (reads nothing) */
		json_object_array_add(disks, verdict_json(m->disk_name(m->arg, i), v));
	}
	free(v);
	*data = json_object_new_object();
	json_object_object_add(*data, "disks", disks);
	return 0;
}
