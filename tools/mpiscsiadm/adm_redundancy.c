/* mpiscsiadm's text for show-redundancy: one line per disk with its verdict, an indented line per condition. */
#include <inttypes.h>
#include <stdio.h>

#include "tools/mpiscsiadm/adm.h"

void adm_render_redundancy(json_object *data)
{
	json_object *disks = adm_get(data, "disks");
	for (size_t i = 0; i < adm_arr_len(disks); i++) {
		json_object *d = json_object_array_get_idx(disks, i), *conds = adm_get(d, "conditions");
		size_t n = adm_arr_len(conds);
		printf("%s ", adm_gets(d, "disk", "?"));
		if (adm_getb(d, "ok") || n == 0)
			printf("ok");
		for (size_t k = 0; k < n; k++)
			printf("%s%s", k ? "," : "", adm_gets(json_object_array_get_idx(conds, k), "name", "?"));
		printf(" (%" PRId64 " usable path%s)\n", adm_geti(d, "usable_paths", 0),
		       adm_geti(d, "usable_paths", 0) == 1 ? "" : "s");
		for (size_t k = 0; k < n; k++) {
			json_object *c = json_object_array_get_idx(conds, k);
			printf("  %s: %s\n", adm_gets(c, "name", "?"), adm_gets(c, "reason", ""));
		}
	}
}
