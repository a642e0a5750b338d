/* The control socket's show-redundancy answer: every disk's redundancy verdict as JSON. */
#ifndef MP_TOOLS_CTL_REDUNDANCY_H
#define MP_TOOLS_CTL_REDUNDANCY_H

#include <json-c/json.h>

struct mp_ctl_model;

/*
 * {"disks": [{"disk": NAME, "ok": BOOL, "usable_paths": N,
 *             "conditions": [{"name": "single_nic", "reason": "..."}, ...]}, ...]}
 * in the model's disk order; conditions in the audit's order (mpath/redundancy.h), empty when
 * ok. A disk without an LU yet is listed with the verdict of an LU without paths (no_path).
 * Returns 0 and *data (the caller's), or -1 with errno ENOMEM.
 */
int ctl_redundancy_json(const struct mp_ctl_model *m, json_object **data);

#endif
