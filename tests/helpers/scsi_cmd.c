/* Sends one SCSI CDB over iSCSI (libiscsi, sync API) and prints status, sense and data-in. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

/*
 * Usage: scsi_cmd [-i INITIATOR_IQN] [-t TIMEOUT_S] [-u UA_RETRIES] [-w LEN] URL CDB_HEX [DATA_IN_LEN]
 *   URL      iscsi://[user%pass@]host[:port]/iqn/lun
 *   CDB_HEX  e.g. 280000000000000001 00 (spaces ignored)
 *   -w LEN   data-out of LEN bytes (0x5a) instead of data-in
 *   -u N     repeat the command up to N times while it returns UNIT ATTENTION (default 0)
 * Logs in with connect + login only (no TEST UNIT READY, unlike iscsi_full_connect_sync), so
 * paths in ALUA standby/unavailable/transitioning can be probed.
 * Output, one line each:
 *   status 0xSS NAME           (0x02 CHECK CONDITION ...)
 *   sense KK/AA/QQ             (hex key/asc/ascq; only on CHECK CONDITION)
 *   data HEX                   (data-in received, only when some was)
 * Exit: 0 the command completed (any SCSI status), 1 usage, 2 connect/login failed,
 * 3 transport error.
 */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static const char *status_name(int s)
{
	switch (s) {
	case SCSI_STATUS_GOOD: return "GOOD";
	case SCSI_STATUS_CHECK_CONDITION: return "CHECK_CONDITION";
	case SCSI_STATUS_BUSY: return "BUSY";
	case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION_CONFLICT";
	case SCSI_STATUS_TASK_SET_FULL: return "TASK_SET_FULL";
	case SCSI_STATUS_TASK_ABORTED: return "TASK_ABORTED";
	default: return "OTHER";
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: scsi_cmd [-i IQN] [-t TIMEOUT_S] [-u UA_RETRIES] [-w LEN] URL CDB_HEX [DATA_IN_LEN]\n");
	exit(1);
}

int main(int argc, char **argv)
{
	const char *initiator = "iqn.2026-11.org.mpiscsi:scsi-cmd";
	int timeout = 10, ua_retries = 0, wlen = -1, opt;

	while ((opt = getopt(argc, argv, "i:t:u:w:")) != -1) {
		switch (opt) {
		case 'i': initiator = optarg; break;
		case 't': timeout = atoi(optarg); break;
		case 'u': ua_retries = atoi(optarg); break;
		case 'w': wlen = atoi(optarg); break;
		default: usage();
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		usage();
	const char *url = argv[optind];
	const char *hex = argv[optind + 1];
	int din = argc - optind == 3 ? atoi(argv[optind + 2]) : 0;

	unsigned char cdb[32];
	int n = 0, hi = -1;
	for (const char *p = hex; *p; p++) {
		if (isspace((unsigned char)*p))
			continue;
		int v = hexval((unsigned char)*p);
		if (v < 0 || (hi < 0 && n == (int)sizeof(cdb))) {
			fprintf(stderr, "scsi_cmd: bad CDB hex '%s'\n", hex);
			return 1;
		}
		if (hi < 0) {
			hi = v;
		} else {
			cdb[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0 || n < 6 || din < 0 || (wlen >= 0 && din > 0)) {
		fprintf(stderr, "scsi_cmd: bad CDB or lengths\n");
		return 1;
	}

	struct iscsi_context *iscsi = iscsi_create_context(initiator);
	if (!iscsi) {
		fprintf(stderr, "scsi_cmd: no context\n");
		return 2;
	}
	struct iscsi_url *iu = iscsi_parse_full_url(iscsi, url);
	if (!iu) {
		fprintf(stderr, "scsi_cmd: bad URL: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return 1;
	}
	iscsi_set_targetname(iscsi, iu->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_timeout(iscsi, timeout);
	if (iu->user[0])
		iscsi_set_initiator_username_pwd(iscsi, iu->user, iu->passwd);
	if (iu->target_user[0])
		iscsi_set_target_username_pwd(iscsi, iu->target_user, iu->target_passwd);
	if (iscsi_connect_sync(iscsi, iu->portal) != 0 || iscsi_login_sync(iscsi) != 0) {
		fprintf(stderr, "scsi_cmd: login to %s failed: %s\n", iu->portal, iscsi_get_error(iscsi));
		/* Free everything on every exit: under ASan a leak changes the exit status. */
		iscsi_destroy_url(iu);
		iscsi_destroy_context(iscsi);
		return 2;
	}

	int rc = 0;
	for (int attempt = 0;; attempt++) {
		struct scsi_task *task;
		struct iscsi_data out = { 0 };
		unsigned char *wbuf = NULL;
		if (wlen >= 0) {
			wbuf = malloc(wlen ? (size_t)wlen : 1);
			if (!wbuf) {
				rc = 3;
				break;
			}
			memset(wbuf, 0x5a, (size_t)wlen);
			out.size = (size_t)wlen;
			out.data = wbuf;
			task = scsi_create_task(n, cdb, SCSI_XFER_WRITE, wlen);
		} else {
			task = scsi_create_task(n, cdb, din ? SCSI_XFER_READ : SCSI_XFER_NONE, din);
		}
		if (!task) {
			fprintf(stderr, "scsi_cmd: no task\n");
			free(wbuf);
			rc = 3;
			break;
		}
		if (!iscsi_scsi_command_sync(iscsi, iu->lun, task, wlen >= 0 ? &out : NULL)) {
			fprintf(stderr, "scsi_cmd: transport error: %s\n", iscsi_get_error(iscsi));
			scsi_free_scsi_task(task);
			free(wbuf);
			rc = 3;
			break;
		}
		printf("status 0x%02x %s\n", task->status, status_name(task->status));
		if (task->status == SCSI_STATUS_CHECK_CONDITION)
			printf("sense %02x/%02x/%02x\n", task->sense.key, (task->sense.ascq >> 8) & 0xff,
			       task->sense.ascq & 0xff);
		if (task->status == SCSI_STATUS_GOOD && task->datain.size > 0) {
			printf("data ");
			for (int i = 0; i < task->datain.size; i++)
				printf("%02x", task->datain.data[i]);
			printf("\n");
		}
		int ua = task->status == SCSI_STATUS_CHECK_CONDITION && task->sense.key == SCSI_SENSE_UNIT_ATTENTION;
		scsi_free_scsi_task(task);
		free(wbuf);
		if (!ua || attempt >= ua_retries)
			break;
	}
	fflush(stdout);
	if (rc == 0)
		iscsi_logout_sync(iscsi);
	iscsi_destroy_url(iu);
	iscsi_destroy_context(iscsi);
	return rc;
}
