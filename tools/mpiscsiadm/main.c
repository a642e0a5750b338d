/* mpiscsiadm: the operator's CLI for mpiscsid, talking the ctl_proto protocol over its control socket. */
#include "common/version.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/util.h"
#include "tools/mpiscsiadm/adm.h"
#include "tools/ctl/ctl_proto.h"

/* Build a command's "args" from its positional words; -1 with a message for a usage error. */
typedef int args_fn(char **words, json_object **args, char *err, size_t errlen);
/* Print a successful reply's data as text. */
typedef void render_fn(json_object *data);

/*
 * The multipathd-style commands: the words that name a command, its
 * positional parameters, the protocol command it sends. iscsiadm-style modes
 * (-m discovery|node|session) will get tables of their own, selected by -m.
 */
struct cli_cmd {
	const char *words[2];
	const char *params;          /* for usage, "" if none */
	size_t n_params;
	const char *wire;            /* ctl_proto command name */
	args_fn *args;
	render_fn *render;
	const char *help;
};

/* ---- small helpers for reading reply data ---- */

/* 64M, 1.5G, 512: binary units as multipath prints sizes. */
static void fmt_size(char *buf, size_t len, json_object *bytes_obj)
{
	static const char units[] = "KMGTPE";
	if (!bytes_obj || !json_object_is_type(bytes_obj, json_type_int)) {
		snprintf(buf, len, "?");
		return;
	}
	uint64_t b = json_object_get_uint64(bytes_obj);
	if (b < 1024) {
		snprintf(buf, len, "%" PRIu64, b);
		return;
	}
	double v = (double)b;
	size_t u = 0;
	for (v /= 1024; v >= 1024 && u + 1 < sizeof(units) - 1; v /= 1024)
		u++;
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f%c", v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
}

/* ---- a text table with aligned columns ---- */

#define TABLE_MAX_COLS 16

struct table {
	size_t ncols, nrows, cap;
	char **cells;                /* nrows * ncols, malloc'd strings */
	size_t width[TABLE_MAX_COLS];
};

static void table_add(struct table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
		if (!c) {
			perror("mpiscsiadm");
			exit(EXIT_UNREACHABLE);
		}
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *s = strdup(row[i] ? row[i] : "-");
		if (!s) {
			perror("mpiscsiadm");
			exit(EXIT_UNREACHABLE);
		}
		t->cells[t->nrows * t->ncols + i] = s;
		t->width[i] = MP_MAX(t->width[i], strlen(s));
	}
	t->nrows++;
}

static void table_print_free(struct table *t)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			if (i + 1 == t->ncols)
				printf("%s\n", s);
			else
				printf("%-*s ", (int)t->width[i], s);
			free(t->cells[r * t->ncols + i]);
		}
	}
	free(t->cells);
}

/* ---- renderers ---- */

static void path_flags(json_object *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", adm_getb(p, "admin_failed") ? "admin_failed" : "",
		 adm_getb(p, "admin_failed") && adm_getb(p, "marginal") ? "," : "", adm_getb(p, "marginal") ? "marginal" : "");
}

static void render_topology(json_object *data)
{
	json_object *disks = adm_get(data, "disks");
	for (size_t i = 0; i < adm_arr_len(disks); i++) {
		json_object *d = json_object_array_get_idx(disks, i), *groups = adm_get(d, "groups");
		char size[32], prio[32];
		fmt_size(size, sizeof(size), adm_get(d, "size_bytes"));
		if (!adm_getb(d, "ready")) {
			printf("%s (not ready) selector=%s queued=%" PRId64 "\n", adm_gets(d, "name", "?"),
			       adm_gets(d, "selector", "-"), adm_geti(d, "queued", 0));
		} else {
			printf("%s (%s) %s,%s size=%s selector=%s queued=%" PRId64 "\n", adm_gets(d, "name", "?"),
			       adm_gets(d, "designator", "?"), adm_gets(d, "vendor", ""), adm_gets(d, "product", ""), size,
			       adm_gets(d, "selector", "-"), adm_geti(d, "queued", 0));
		}
		json_object *alua = adm_get(d, "alua"), *ag = adm_get(alua, "groups");
		if (alua) {
			printf("alua:");
			for (size_t g = 0; g < adm_arr_len(ag); g++) {
				json_object *x = json_object_array_get_idx(ag, g);
				printf("%s group %" PRId64 " %s%s", g ? "," : "", adm_geti(x, "id", -1), adm_gets(x, "state", "?"),
				       adm_getb(x, "pref") ? " (preferred)" : "");
			}
			printf("%s\n", adm_arr_len(ag) ? "" : " no answer yet");
		}
		/* Column widths over every path of this disk. */
		int wid = 1, wname = 1, wstate = 4;
		for (size_t g = 0; g < adm_arr_len(groups); g++) {
			json_object *paths = adm_get(json_object_array_get_idx(groups, g), "paths");
			for (size_t k = 0; k < adm_arr_len(paths); k++) {
				json_object *p = json_object_array_get_idx(paths, k);
				snprintf(prio, sizeof(prio), "%" PRId64, adm_geti(p, "id", -1));
				wid = MP_MAX(wid, (int)strlen(prio));
				wname = MP_MAX(wname, (int)strlen(adm_gets(p, "name", "?")));
				wstate = MP_MAX(wstate, (int)strlen(adm_gets(p, "state", "?")));
			}
		}
		size_t ng = adm_arr_len(groups);
		for (size_t g = 0; g < ng; g++) {
			json_object *grp = json_object_array_get_idx(groups, g), *paths = adm_get(grp, "paths");
			bool last_g = g + 1 == ng;
			printf("%s-+- prio=%" PRId64 " status=%s\n", last_g ? "`" : "|", adm_geti(grp, "prio", 0),
			       adm_gets(grp, "status", "?"));
			size_t np = adm_arr_len(paths);
			for (size_t k = 0; k < np; k++) {
				json_object *p = json_object_array_get_idx(paths, k);
				char flags[32];
				path_flags(p, flags, sizeof(flags));
				char alua_s[64] = "";
				if (adm_get(p, "alua_group"))
					snprintf(alua_s, sizeof(alua_s), " tpg=%" PRId64 ":%s", adm_geti(p, "alua_group", -1),
						 adm_gets(p, "alua_state", "unknown"));
				printf("%s %s %*" PRId64 " %-*s %-*s inflight=%" PRId64 "%s%s%s\n", last_g ? " " : "|",
				       k + 1 == np ? "`-" : "|-", wid, adm_geti(p, "id", -1), wname, adm_gets(p, "name", "?"),
				       wstate, adm_gets(p, "state", "?"), adm_geti(p, "inflight", 0), alua_s, flags[0] ? " " : "",
				       flags);
			}
		}
	}
}

static void render_paths(json_object *data)
{
	static const char *const head[] = { "ID", "DISK", "NAME", "IFACE", "STATE", "PRIO", "FLAGS", "INFLIGHT",
					    "SUBMITTED", "COMPLETED", "ERRORS", "LAT_US" };
	static const char *const num[] = { "prio", "inflight", "submitted", "completed", "errors", "lat_ewma_us" };
	struct table t = { .ncols = MP_ARRAY_SIZE(head) };
	json_object *paths = adm_get(data, "paths");
	table_add(&t, head);
	for (size_t i = 0; i < adm_arr_len(paths); i++) {
		json_object *p = json_object_array_get_idx(paths, i);
		char id[24], flags[32], nums[MP_ARRAY_SIZE(num)][24];
		snprintf(id, sizeof(id), "%" PRId64, adm_geti(p, "id", -1));
		path_flags(p, flags, sizeof(flags));
		for (size_t k = 0; k < MP_ARRAY_SIZE(num); k++) {
			json_object *v = adm_get(p, num[k]);
			if (k == 0)
				snprintf(nums[k], sizeof(nums[k]), "%" PRId64, adm_geti(p, num[k], 0));
			else
				snprintf(nums[k], sizeof(nums[k]), "%" PRIu64, v ? json_object_get_uint64(v) : 0);
		}
		const char *iface = adm_gets(p, "iface", "");
		const char *row[] = { id, adm_gets(p, "disk", "-"), adm_gets(p, "name", "?"), iface[0] ? iface : "-",
				      adm_gets(p, "state", "?"), nums[0], flags[0] ? flags : "-", nums[1], nums[2],
				      nums[3], nums[4], nums[5] };
		table_add(&t, row);
	}
	table_print_free(&t);
}

static void render_disks(json_object *data)
{
	static const char *const head[] = { "NAME", "EXPORT", "DESIGNATOR", "VENDOR,PRODUCT", "SIZE", "SELECTOR",
					    "PRIO", "PATHS", "QUEUED" };
	struct table t = { .ncols = MP_ARRAY_SIZE(head) };
	json_object *disks = adm_get(data, "disks");
	/* A DEVICE column only when a disk has a kernel device (/dev/nbdN): the table is otherwise unchanged. */
	bool devcol = false;
	for (size_t i = 0; i < adm_arr_len(disks); i++)
		devcol |= adm_get(json_object_array_get_idx(disks, i), "device") != NULL;
	static const char *const head_dev[] = { "NAME", "EXPORT", "DEVICE", "DESIGNATOR", "VENDOR,PRODUCT", "SIZE",
						"SELECTOR", "PRIO", "PATHS", "QUEUED" };
	if (devcol) {
		t.ncols = MP_ARRAY_SIZE(head_dev);
		table_add(&t, head_dev);
	} else {
		table_add(&t, head);
	}
	for (size_t i = 0; i < adm_arr_len(disks); i++) {
		json_object *d = json_object_array_get_idx(disks, i);
		char vp[64], size[32], prio[24], paths[48], queued[24];
		bool ready = adm_getb(d, "ready");
		snprintf(vp, sizeof(vp), "%s,%s", adm_gets(d, "vendor", ""), adm_gets(d, "product", ""));
		fmt_size(size, sizeof(size), adm_get(d, "size_bytes"));
		if (adm_get(d, "active_prio"))
			snprintf(prio, sizeof(prio), "%" PRId64, adm_geti(d, "active_prio", 0));
		else
			snprintf(prio, sizeof(prio), "-");
		snprintf(paths, sizeof(paths), "%" PRId64 "/%" PRId64, adm_geti(d, "paths_usable", 0),
			 adm_geti(d, "paths_total", 0));
		snprintf(queued, sizeof(queued), "%" PRId64, adm_geti(d, "queued", 0));
		const char *row[] = { adm_gets(d, "name", "?"), adm_gets(d, "export", "-"),
				      ready ? adm_gets(d, "designator", "?") : "(not ready)", ready ? vp : "-",
				      ready ? size : "-", adm_gets(d, "selector", "-"), prio, paths, queued };
		const char *row_dev[] = { row[0], row[1], adm_gets(d, "device", "-"), row[2], row[3], row[4], row[5],
					  row[6], row[7], row[8] };
		table_add(&t, devcol ? row_dev : row);
	}
	table_print_free(&t);
}

/* One line per disk, as multipathd's "show maps". */
static void render_maps(json_object *data)
{
	static const char *const head[] = { "NAME", "WWID", "SIZE", "STATE", "PATHS", "USABLE", "PRIO", "QUEUED" };
	struct table t = { .ncols = MP_ARRAY_SIZE(head) };
	json_object *maps = adm_get(data, "maps");
	table_add(&t, head);
	for (size_t i = 0; i < adm_arr_len(maps); i++) {
		json_object *d = json_object_array_get_idx(maps, i);
		char size[32], paths[24], usable[24], prio[24], queued[24];
		if (adm_get(d, "size_bytes"))
			fmt_size(size, sizeof(size), adm_get(d, "size_bytes"));
		else
			snprintf(size, sizeof(size), "-");
		snprintf(paths, sizeof(paths), "%" PRId64, adm_geti(d, "paths", 0));
		snprintf(usable, sizeof(usable), "%" PRId64, adm_geti(d, "paths_usable", 0));
		if (adm_get(d, "active_prio"))
			snprintf(prio, sizeof(prio), "%" PRId64, adm_geti(d, "active_prio", 0));
		else
			snprintf(prio, sizeof(prio), "-");
		snprintf(queued, sizeof(queued), "%" PRId64, adm_geti(d, "queued", 0));
		const char *row[] = { adm_gets(d, "name", "?"), adm_gets(d, "wwid", "-"), size, adm_gets(d, "state", "?"),
				      paths, usable, prio, queued };
		table_add(&t, row);
	}
	table_print_free(&t);
}

static void render_path_result(json_object *p)
{
	char flags[32];
	path_flags(p, flags, sizeof(flags));
	printf("ok: path %" PRId64 " %s (disk %s) is %s%s%s\n", adm_geti(p, "id", -1), adm_gets(p, "name", "?"),
	       adm_gets(p, "disk", "?"), adm_gets(p, "state", "?"), flags[0] ? ", " : "", flags);
}

static void render_switchgroup(json_object *data)
{
	printf("ok: disk %s uses path group prio=%" PRId64 "\n", adm_gets(data, "disk", "?"),
	       adm_geti(data, "active_prio", 0));
}

static void render_version(json_object *data)
{
	printf("mpiscsiadm %s\n%s %s (control protocol %" PRId64 ")\n", MP_CTL_SOFTWARE_VERSION,
	       adm_gets(data, "daemon", "mpiscsid"), adm_gets(data, "version", "?"), adm_geti(data, "protocol", 0));
}

/* ---- argument builders ---- */

static int args_path_id(char **words, json_object **args, char *err, size_t errlen)
{
	int64_t id;
	if (adm_parse_i64(words[0], 0, UINT32_MAX, &id) < 0) {
		snprintf(err, errlen, "'%s' is not a path id (see 'show paths')", words[0]);
		return -1;
	}
	*args = json_object_new_object();
	json_object_object_add(*args, "id", json_object_new_int64(id));
	return 0;
}

static int args_switchgroup(char **words, json_object **args, char *err, size_t errlen)
{
	int64_t prio;
	if (words[0][0] == '\0' || strlen(words[0]) > MP_CTL_MAX_STRING_ARG) {
		snprintf(err, errlen, "'%s' is not a disk name", words[0]);
		return -1;
	}
	if (adm_parse_i64(words[1], (int64_t)INT32_MIN + 1, INT32_MAX, &prio) < 0) {
		snprintf(err, errlen, "'%s' is not a path group prio (see 'show topology')", words[1]);
		return -1;
	}
	*args = json_object_new_object();
	json_object_object_add(*args, "disk", json_object_new_string(words[0]));
	json_object_object_add(*args, "prio", json_object_new_int64(prio));
	return 0;
}

/* A disk named on the command line (its name, export name or designator; the daemon looks it up). */
static int args_disk(char **words, json_object **args, char *err, size_t errlen)
{
	if (words[0][0] == '\0' || strlen(words[0]) > MP_CTL_MAX_STRING_ARG) {
		snprintf(err, errlen, "'%s' is not a disk name", words[0]);
		return -1;
	}
	*args = json_object_new_object();
	json_object_object_add(*args, "disk", json_object_new_string(words[0]));
	return 0;
}

static void render_config(json_object *data)
{
	const char *file = adm_gets(data, "file", NULL);
	printf("# mpiscsid's running configuration%s%s\n%s", file ? ", from " : "", file ? file : "",
	       adm_gets(data, "text", ""));
}

static void render_result(json_object *data)
{
	printf("ok: %s\n", adm_gets(data, "result", ""));
}

static const struct cli_cmd commands[] = {
	{ { "show", "maps" }, "", 0, "show-maps", NULL, render_maps,
	  "one line per disk: name, WWID, size, state, paths (like multipathd show maps)" },
	{ { "show", "topology" }, "", 0, "show-topology", NULL, render_topology,
	  "disks with their path groups and paths (like multipath -ll)" },
	{ { "show", "topology" }, "NAME", 1, "show-topology", args_disk, render_topology,
	  "the same for disk NAME only" },
	{ { "show", "paths" }, "", 0, "show-paths", NULL, render_paths, "every path with its counters" },
	{ { "show", "paths" }, "NAME", 1, "show-paths", args_disk, render_paths, "the paths of disk NAME only" },
	{ { "show", "disks" }, "", 0, "show-disks", NULL, render_disks, "one line per disk, with its export" },
	{ { "fail", "path" }, "ID", 1, "fail-path", args_path_id, render_path_result,
	  "take path ID out of use until it is reinstated" },
	{ { "reinstate", "path" }, "ID", 1, "reinstate-path", args_path_id, render_path_result,
	  "return path ID to use (also clears a marginal mark)" },
	{ { "switchgroup", NULL }, "DISK PRIO", 2, "switchgroup", args_switchgroup, render_switchgroup,
	  "make DISK's path group with priority PRIO the active one" },
	{ { "show", "config" }, "", 0, "show-config", NULL, render_config,
	  "the running configuration (secrets never shown)" },
	{ { "reconfigure", NULL }, "", 0, "reconfigure", NULL, render_result,
	  "reload the configuration file (as SIGHUP): new disks start, removed ones drain" },
	{ { "version", NULL }, "", 0, "version", NULL, render_version, "client and daemon versions" },
	{ { "show", "redundancy" }, "", 0, "show-redundancy", NULL, adm_render_redundancy,
	  "each disk's single points of failure (NIC, card, portal, ALUA group, path) and why" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mpiscsiadm [--control SOCKET] [-t SECONDS] [--json] COMMAND (options may follow it)\n"
		"       mpiscsiadm -m discovery|node|session ... (iscsiadm style; -m MODE --help)\n"
		"       mpiscsiadm --help | --version\n\n"
		"Commands:\n");
	for (size_t i = 0; i < MP_ARRAY_SIZE(commands); i++) {
		const struct cli_cmd *c = &commands[i];
		char name[64];
		snprintf(name, sizeof(name), "%s%s%s%s%s", c->words[0], c->words[1] ? " " : "",
			 c->words[1] ? c->words[1] : "", c->n_params ? " " : "", c->params);
		fprintf(f, "  %-24s %s\n", name, c->help);
	}
	fprintf(f,
		"\nOptions:\n"
		"  -s, --control PATH   control socket (default %s); --socket is the same\n"
		"  -t, --timeout SECS   give up on the daemon after SECS seconds (default %d)\n"
		"  -j, --json           print the daemon's reply data as JSON\n"
		"  -h, --help           print this text\n"
		"  -V, --version        print mpiscsiadm's version\n\n"
		"Exit status: 0 ok, 1 the daemon refused, 2 usage error, 3 cannot reach the daemon.\n",
		MP_CTL_DEFAULT_SOCKET, ADM_DEFAULT_TIMEOUT_S);
}

/* The command named by words (argc of them), or NULL. */
static const struct cli_cmd *find_command(int argc, char **words)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(commands); i++) {
		const struct cli_cmd *c = &commands[i];
		int nw = c->words[1] ? 2 : 1;
		if (argc != nw + (int)c->n_params)
			continue;
		if (strcmp(words[0], c->words[0]) == 0 && (nw == 1 || strcmp(words[1], c->words[1]) == 0))
			return c;
	}
	return NULL;
}

/* The options that take a value, as getopt would see them before the command words. */
static bool opt_takes_value(const char *a)
{
	return strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0 || strcmp(a, "--control") == 0 ||
	       strcmp(a, "-t") == 0 || strcmp(a, "--timeout") == 0;
}

/* An option of ours where it may also stand after the command words (a value follows if it takes one). */
static bool late_option(const char *a)
{
	return strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0 || opt_takes_value(a) ||
	       strncmp(a, "--socket=", 9) == 0 || strncmp(a, "--control=", 10) == 0 || strncmp(a, "--timeout=", 10) == 0;
}

/*
 * multipathd users write "show paths --json": options may follow the command.
 * Reorder argv so that every option comes before
 * the command words, then "--", then the words. Only our own option names are
 * moved once the words have begun, so a word such as switchgroup's prio "-1"
 * stays a word. Writes the new vector to out (argc + 2 slots: one more for
 * the "--", one for the NULL) and returns its length.
 */
static int hoist_options(int argc, char **argv, char **out)
{
	int n = 0, nw = 0, first_word = -1;
	out[n++] = argv[0];
	int i = 1;
	/* Leading options as given (getopt reads every form of them). */
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			first_word = i;
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		out[n++] = argv[i];
		if (opt_takes_value(argv[i]) && i + 1 < argc)
			out[n++] = argv[++i];
	}
	if (first_word < 0)
		first_word = i;
	/* After the first word: our options move up, the rest stay words in order. */
	char **w = malloc(sizeof(*w) * (size_t)(argc + 1));
	if (!w) {
		perror("mpiscsiadm");
		exit(EXIT_UNREACHABLE);
	}
	for (i = first_word; i < argc; i++) {
		if (late_option(argv[i])) {
			out[n++] = argv[i];
			if (opt_takes_value(argv[i]) && i + 1 < argc)
				out[n++] = argv[++i];
		} else {
			w[nw++] = argv[i];
		}
	}
	out[n++] = "--";
	for (i = 0; i < nw; i++)
		out[n++] = w[i];
	out[n] = NULL;
	free(w);
	return n;
}

/* ---- talking to the daemon ---- */

static int run(const struct cli_opts *o, const struct cli_cmd *c, char **params)
{
	json_object *args = NULL, *data = NULL;
	char msg[256];
	if (c->args && c->args(params, &args, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "mpiscsiadm: %s\n", msg);
		return EXIT_USAGE;
	}
	int rc = adm_call(o, c->wire, args, &data);
	if (rc != EXIT_OK)
		return rc;
	if (o->json) {
		rc = adm_print_json(data);
	} else {
		c->render(data);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_UNREACHABLE;
	}
	json_object_put(data);
	return rc;
}

/* The command line once its options stand before the command words. */
static int cli_main(int argc, char **argv, struct cli_opts *opts)
{
	static const struct option longopts[] = {
		{ "control", required_argument, NULL, 's' },  /* as mpiscsid's --control */
		{ "socket", required_argument, NULL, 's' },   /* the older name, kept */
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = *opts;
	int opt;
	int64_t t;

	/* "+": options end at the first command word, so "switchgroup disk0 -1" keeps its prio. */
	while ((opt = getopt_long(argc, argv, "+s:t:jhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.socket = optarg; break;
		case 'j': o.json = true; break;
		case 't':
			if (adm_parse_i64(optarg, 1, 86400, &t) < 0) {
				fprintf(stderr, "mpiscsiadm: --timeout wants 1..86400 seconds, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			o.timeout_s = (long)t;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("mpiscsiadm %s\n", MP_CTL_SOFTWARE_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const struct cli_cmd *c = find_command(argc - optind, argv + optind);
	if (!c) {
		fprintf(stderr, "mpiscsiadm: unknown command or wrong number of arguments:");
		for (int i = optind; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\nTry 'mpiscsiadm --help'.\n");
		return EXIT_USAGE;
	}
	return run(&o, c, argv + optind + (c->words[1] ? 2 : 1));
}

int main(int argc, char **argv)
{
	struct cli_opts o = { .socket = MP_CTL_DEFAULT_SOCKET, .timeout_s = ADM_DEFAULT_TIMEOUT_S };

	/* iscsiadm shapes (-m discovery|node|session) have options of their own (-t is the type there). */
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "-m", 2) == 0 || strncmp(argv[i], "--mode", 6) == 0)
			return adm_mode_main(argc, argv);

	/* Options after the command words move before them (and a "--"), see hoist_options. */
	char **hv = malloc(sizeof(*hv) * (size_t)(argc + 2));
	if (!hv) {
		perror("mpiscsiadm");
		return EXIT_UNREACHABLE;
	}
	int rc = cli_main(hoist_options(argc, argv, hv), hv, &o);
	free(hv);
	return rc;
}
