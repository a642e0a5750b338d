/* mpiscsiadm: the operator's CLI for mpiscsid (a stub until the control socket exists). */
#include <stdio.h>
#include <string.h>

#define MPISCSI_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mpiscsiadm [--help] [--version]\n"
		"The iscsiadm-style commands (discovery, node login/logout, session, show topology,\n"
		"fail/reinstate path) arrive with mpiscsid's control socket; this build has none yet.\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("mpiscsiadm %s\n", MPISCSI_VERSION);
		return 0;
	}
	usage(stderr);
	fprintf(stderr, "mpiscsiadm: no such command in this build\n");
	return 2;
}
