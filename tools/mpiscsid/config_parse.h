/* Internal to tools/mpiscsid/config*.c: the key tables each section's file provides to the INI parser (config.c), and the disk helpers they share. */
#ifndef MP_TOOLS_CONFIG_PARSE_H
#define MP_TOOLS_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "tools/mpiscsid/config.h"

/*
 * Each key's setter checks the value and stores it; on error it writes "KEY: problem" to
 * why and leaves c and d as they were. d is the open [disk] section (NULL for [global] and
 * [nbd] keys, and for command-line overrides).
 */
typedef int cfg_key_setter(struct mp_conf *c, struct mp_conf_disk *d, const char *key,
			   const char *v, char *why, size_t n);
/* Called after a successful setter read from a file: where the key was, for later messages. */
typedef void cfg_key_line(struct mp_conf *c, struct mp_conf_disk *d, const char *key, int line);

struct cfg_key {
	const char *key;
	bool repeatable;        /* portal, interface...: every occurrence adds one */
	cfg_key_setter *set;
	cfg_key_line *note_line; /* optional */
};

/* A section's keys; each table has at most CFG_MAX_SECTION_KEYS (the parser keeps a line per key). */
#define CFG_MAX_SECTION_KEYS 64
struct cfg_key_table {
	const struct cfg_key *keys;
	size_t n;
};
extern const struct cfg_key_table cfg_global_keys;  /* config_global.c */
extern const struct cfg_key_table cfg_nbd_keys;     /* config_nbd.c */
extern const struct cfg_key_table cfg_disk_keys;    /* config_disk.c */

/* Append a disk with every default, named name (also its export name); NULL if out of memory. */
struct mp_conf_disk *cfg_new_disk(struct mp_conf *c, const char *name, int line);
/*
 * Checks disk i against its own requirements and the disks before it (config_disk.c). *line
 * gets the line to blame: the [disk] header, or export_line for an export clash when the key
 * was set. Returns 0, or -1 with why.
 */
int cfg_check_disk(const struct mp_conf *c, size_t i, int export_line, int *line, char *why,
		   size_t n);

#endif
