/* mpiscsiadm's shared pieces: options, exit statuses, one request to the daemon, reading reply data. */
#ifndef MP_TOOLS_ADM_H
#define MP_TOOLS_ADM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Exit statuses (documented in mpiscsiadm(8)). */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,     /* the daemon (or, for discovery, the target) answered with an error */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3, /* no daemon (or portal), timeout, or an answer that is not the protocol */
};

#define ADM_DEFAULT_TIMEOUT_S 30

struct cli_opts {
	const char *socket;
	bool json;
	long timeout_s;
};

/*
 * Send command wire with args (owned, may be NULL) to the daemon and wait for
 * its reply. Returns EXIT_OK with *data set (caller puts it), or another EXIT_
 * status after printing what went wrong (and, with --json, the error as JSON).
 */
int adm_call(const struct cli_opts *o, const char *wire, json_object *args, json_object **data);
/* As adm_call, but a refusal is not printed: EXIT_REFUSED with *err_out its errno and *data
 * {"code", "message"} (caller puts it). */
int adm_call_ex(const struct cli_opts *o, const char *wire, json_object *args, json_object **data, int *err_out);
/*
 * iscsiadm's exit status (open-iscsi's iscsi_err.h, iscsiadm(8)) for a node login or logout
 * the daemon refused with errno err, and its words ("connection timed out").
 */
int adm_iscsi_exit(int err);
const char *adm_iscsi_exit_text(int status);

/* Print data as pretty JSON; EXIT_OK or EXIT_UNREACHABLE when stdout fails. */
int adm_print_json(json_object *data);

/* Reading reply data: absent keys and wrong types give the default. */
json_object *adm_get(json_object *o, const char *key);
const char *adm_gets(json_object *o, const char *key, const char *dflt);
int64_t adm_geti(json_object *o, const char *key, int64_t dflt);
bool adm_getb(json_object *o, const char *key);
size_t adm_arr_len(json_object *a);
/* Strict decimal in [min, max]: 0, or -1. */
int adm_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Text of show-redundancy's reply (adm_redundancy.c). */
void adm_render_redundancy(json_object *data);

/* The iscsiadm-style modes (-m discovery|node|session), argv as given to main. */
int adm_mode_main(int argc, char **argv);

#endif
