/* The attach sequence: INQUIRY, VPD pages and READ CAPACITY(16), one command at a time over a path. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "initiator/attach.h"
#include "mpath/scsi_cdb.h"
#include "initiator/scsi_parse.h"
#include "mpath/classify.h"

/* The steps, in the order they run; optional VPD pages are skipped when 0x00 does not list them. */
enum step {
	ST_INQUIRY = 0,
	ST_VPD00,
	ST_VPD80,
	ST_VPD83,
	ST_VPDB0,
	ST_VPDB2,
	ST_RC16,
	ST_MODESENSE,
	ST_END,
};

struct step_desc {
	const char *name;     /* for messages */
	int page;             /* VPD page code, -1 for a non-VPD command */
	uint16_t alloc;       /* first allocation length */
	bool optional;        /* only sent when VPD 0x00 lists the page */
};

/*
 * 255 bytes hold every page we read except 0x83, which lists several
 * designators of up to 255 bytes each; 32 is the whole READ CAPACITY(16) data.
 */
static const struct step_desc steps[ST_END] = {
	[ST_INQUIRY] = { "INQUIRY", -1, 255, false },
	[ST_VPD00] = { "VPD 0x00", 0x00, 255, false },
	[ST_VPD80] = { "VPD 0x80", 0x80, 255, true },
	[ST_VPD83] = { "VPD 0x83", 0x83, 4096, false },
	[ST_VPDB0] = { "VPD 0xB0", 0xb0, 255, true },
	[ST_VPDB2] = { "VPD 0xB2", 0xb2, 255, true },
	[ST_RC16] = { "READ CAPACITY(16)", -1, 32, false },
	/* Only the header matters (WP, DPOFUA); the caching page keeps the answer short. Not
	 * every target has it: any refusal means "not write protected, no FUA". */
	[ST_MODESENSE] = { "MODE SENSE(10)", -1, 64, false },
};

/* The largest allocation length an INQUIRY CDB can carry. */
#define INQUIRY_ALLOC_MAX 0xffffu

struct mp_attach {
	struct mp_scsi_cmd cmd;       /* the one command in flight; done() finds us via container_of */
	struct mp_path *path;
	mp_attach_done_fn *done;
	void *arg;
	struct mp_attach_opts opts;
	enum step step;
	unsigned ua_left;             /* unit attention re-issues left for this step */
	bool resized;                 /* this step was already re-issued with the page's real length */
	bool in_flight;               /* cmd submitted and not yet completed */
	bool cancelled;               /* free on completion, never call done */
	bool finished;                /* done is running or ran */
	uint16_t alloc;               /* allocation length of the current command */
	uint8_t *buf;                 /* owned; buf_size bytes */
	size_t buf_size;
	struct mp_vpd_pages pages;
	struct mp_lu_info info;
	char msg[192];
};

void mp_attach_opts_default(struct mp_attach_opts *o)
{
	o->ua_retries = MP_ATTACH_UA_RETRIES_DEFAULT;
}

static void attach_free(struct mp_attach *a)
{
	free(a->buf);
	free(a);
}

/* Deliver the one result and free the context. */
static void finish(struct mp_attach *a, int err, const char *fmt, ...) MP_PRINTF(3, 4);
static void finish(struct mp_attach *a, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
	va_end(ap);
	a->finished = true;
	a->done(a->arg, err, err ? NULL : &a->info, a->msg);
	attach_free(a);
}

/* Build and submit the current step's command. Returns 0, or -1 with errno (no command in flight). */
static int issue(struct mp_attach *a)
{
	const struct step_desc *s = &steps[a->step];
	if (a->buf_size < a->alloc) {
		uint8_t *nb = realloc(a->buf, a->alloc);
		if (!nb)
			return -1;
		a->buf = nb;
		a->buf_size = a->alloc;
	}
	/* Cleared so that a path misreporting its residual can only expose zeros, never an older page. */
	memset(a->buf, 0, a->alloc);
	struct mp_scsi_cmd *c = &a->cmd;
	if (a->step == ST_INQUIRY)
		c->cdb_len = mp_cdb_inquiry(c->cdb, a->alloc);
	else if (a->step == ST_RC16)
		c->cdb_len = mp_cdb_read_capacity16(c->cdb, a->alloc);
	else if (a->step == ST_MODESENSE)
		c->cdb_len = mp_cdb_mode_sense10(c->cdb, 0x08, 0x00, a->alloc);
	else
		c->cdb_len = mp_cdb_inquiry_vpd(c->cdb, (uint8_t)s->page, a->alloc);
	c->dir = MP_DIR_READ;
	c->buf = a->buf;
	c->len = a->alloc;
	if (a->path->ops->submit(a->path, c) < 0)
		return -1;
	a->in_flight = true;
	return 0;
}

/* Issue the current step, or finish with the submit error. */
static void issue_or_fail(struct mp_attach *a)
{
	if (issue(a) < 0) {
		int e = errno ? errno : EIO;
		finish(a, e, "%s: submit failed: %s", steps[a->step].name, strerror(e));
	}
}

/* Move to the next step that applies and issue it; after the last, report success. */
static void advance(struct mp_attach *a)
{
	do {
		a->step++;
	} while (a->step < ST_END && steps[a->step].optional &&
		 !mp_vpd_pages_has(&a->pages, (uint8_t)steps[a->step].page));
	if (a->step == ST_END) {
		finish(a, 0, "%s", "");
		return;
	}
	a->ua_left = a->opts.ua_retries;
	a->resized = false;
	a->alloc = steps[a->step].alloc;
	issue_or_fail(a);
}

static const char *status_name(uint8_t st)
{
	switch (st) {
	case MP_ST_BUSY: return "BUSY";
	case MP_ST_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
	case MP_ST_TASK_SET_FULL: return "TASK SET FULL";
	case MP_ST_ACA_ACTIVE: return "ACA ACTIVE";
	case MP_ST_TASK_ABORTED: return "TASK ABORTED";
	default: return "unexpected status";
	}
}

/* After VPD 0x83: settle the LU identity, falling back to the unit serial number. */
static void settle_identity(struct mp_attach *a, const struct mp_vpd83 *v)
{
	if (v && v->designator[0]) {
		memcpy(a->info.designator, v->designator, sizeof(a->info.designator));
	} else if (a->info.serial[0]) {
		int n = snprintf(a->info.designator, sizeof(a->info.designator), "serial.%s", a->info.serial);
		if (n < 0 || (size_t)n >= sizeof(a->info.designator)) {
			finish(a, ENODEV, "VPD 0x83: no logical unit designator, and the unit serial number is too long");
			return;
		}
	} else {
		finish(a, ENODEV, "VPD 0x83: no logical unit designator and no unit serial number");
		return;
	}
	advance(a);
}

/* Parse the current step's data (n bytes received) into info, then go on. */
static void handle_data(struct mp_attach *a, size_t n)
{
	const char *name = steps[a->step].name;
	int rc = 0;
	switch (a->step) {
	case ST_INQUIRY: {
		struct mp_inquiry q;
		rc = mp_parse_inquiry(a->buf, n, &q);
		if (rc < 0)
			break;
		if (q.qualifier != 0 || q.peripheral_type != 0) {
			finish(a, ENODEV, "INQUIRY: peripheral qualifier %u type 0x%02x: not a connected disk",
			       q.qualifier, q.peripheral_type);
			return;
		}
		a->info.peripheral_type = q.peripheral_type;
		a->info.tpgs = q.tpgs;
		memcpy(a->info.vendor, q.vendor, sizeof(a->info.vendor));
		memcpy(a->info.product, q.product, sizeof(a->info.product));
		memcpy(a->info.revision, q.revision, sizeof(a->info.revision));
		break;
	}
	case ST_VPD00:
		rc = mp_parse_vpd00(a->buf, n, &a->pages);
		break;
	case ST_VPD80:
		rc = mp_parse_vpd80(a->buf, n, a->info.serial, sizeof(a->info.serial));
		break;
	case ST_VPD83: {
		struct mp_vpd83 v;
		rc = mp_parse_vpd83(a->buf, n, &v);
		if (rc < 0)
			break;
		a->info.has_rel_port = v.has_rel_port;
		a->info.rel_port = v.rel_port;
		a->info.has_tpg = v.has_tpg;
		a->info.tpg = v.tpg;
		settle_identity(a, &v);
		return;
	}
	case ST_VPDB0: {
		struct mp_vpd_b0 b;
		rc = mp_parse_vpd_b0(a->buf, n, &b);
		if (rc < 0)
			break;
		a->info.max_xfer_blocks = b.max_xfer;
		a->info.opt_xfer_blocks = b.opt_xfer;
		a->info.opt_gran_blocks = b.opt_gran;
		a->info.max_unmap_blocks = b.max_unmap_lbas;
		a->info.max_unmap_descs = b.max_unmap_descs;
		a->info.max_write_same_blocks = b.max_write_same;
		break;
	}
	case ST_VPDB2: {
		struct mp_vpd_b2 b;
		rc = mp_parse_vpd_b2(a->buf, n, &b);
		if (rc < 0)
			break;
		a->info.lbpu = b.lbpu;
		a->info.lbpws = b.lbpws;
		a->info.anc_sup = b.anc_sup;
		break;
	}
	case ST_RC16: {
		struct mp_read_cap16 r;
		rc = mp_parse_read_cap16(a->buf, n, &r);
		if (rc < 0)
			break;
		a->info.block_size = r.block_size;
		a->info.num_blocks = r.num_blocks;
		a->info.phys_exp = r.phys_exp;
		a->info.lbpme = r.lbpme;
		a->info.lbprz = r.lbprz;
		break;
	}
	case ST_MODESENSE: {
		bool wp, dpofua;
		if (mp_parse_mode_sense10(a->buf, n, &wp, &dpofua) == 0) {
			a->info.write_protect = wp;
			a->info.fua = dpofua;
		}
		rc = 0; /* a short answer only means: nothing known */
		break;
	}
	case ST_END:
		break;
	}
	if (rc < 0) {
		int e = errno;
		finish(a, e, "%s: malformed response (%zu bytes): %s", name, n, strerror(e));
		return;
	}
	advance(a);
}

/* A CHECK CONDITION: retry a unit attention, tolerate an unlisted 0x83, else fail. */
static void handle_check_condition(struct mp_attach *a, const struct mp_scsi_result *res)
{
	const char *name = steps[a->step].name;
	struct mp_completion cc;
	mp_classify_completion(res, &cc);
	const struct mp_sense s = cc.sense;
	if (!s.valid) {
		finish(a, EIO, "%s: CHECK CONDITION without usable sense data", name);
		return;
	}
	if (cc.ua != MP_UA_NONE) {
		/* Power-on, reset, or changed-parameters notices the target owes this I_T nexus. */
		if (a->ua_left > 0) {
			a->ua_left--;
			issue_or_fail(a);
			return;
		}
		finish(a, EIO, "%s: CHECK CONDITION %X/%02X/%02X (unit attention persists after %u retries)",
		       name, s.key, s.asc, s.ascq, a->opts.ua_retries);
		return;
	}
	if (a->step == ST_MODESENSE) {
		/* Optional information: a target without the caching page, or a port whose ALUA
		 * state refuses MODE SENSE, gives "no FUA, not write protected". */
		advance(a);
		return;
	}
	if (a->step == ST_RC16 && a->info.tpgs && cc.alua != MP_PORT_ALUA_NONE) {
		/* ALUA transitioning/standby/unavailable/offline ports may refuse READ CAPACITY. The
		 * identity is read: the path can join a disk that knows its size, and wait there. */
		a->info.capacity_unknown = true;
		advance(a);
		return;
	}
	if (a->step == ST_VPD83 && s.key == MP_SK_ILLEGAL_REQUEST && !mp_vpd_pages_has(&a->pages, 0x83)) {
		/* The target said it lacks 0x83 and meant it: identify by serial number instead. */
		settle_identity(a, NULL);
		return;
	}
	finish(a, EIO, "%s: CHECK CONDITION %X/%02X/%02X", name, s.key, s.asc, s.ascq);
}

static void on_done(struct mp_scsi_cmd *cmd, const struct mp_scsi_result *res)
{
	struct mp_attach *a = mp_container_of(cmd, struct mp_attach, cmd);
	a->in_flight = false;
	if (a->cancelled) {
		attach_free(a);
		return;
	}
	const char *name = steps[a->step].name;
	switch (res->xport) {
	case MP_XPORT_OK:
		break;
	case MP_XPORT_CANCELLED:
		finish(a, ECANCELED, "%s: cancelled (path went down)", name);
		return;
	case MP_XPORT_TIMEOUT:
		finish(a, ETIMEDOUT, "%s: timed out", name);
		return;
	case MP_XPORT_ERROR:
	default:
		finish(a, ENOTCONN, "%s: transport error", name);
		return;
	}
	if (res->status == MP_ST_CHECK_CONDITION) {
		handle_check_condition(a, res);
		return;
	}
	if (res->status != MP_ST_GOOD) {
		finish(a, EIO, "%s: status 0x%02x (%s)", name, res->status, status_name(res->status));
		return;
	}
	/* Received bytes; a residual larger than the buffer is nonsense and counts as nothing received. */
	size_t n = res->residual <= cmd->len ? cmd->len - res->residual : 0;
	if (steps[a->step].page >= 0 && !a->resized) {
		/* The page is longer than we asked for: ask once more, for all of it (as far as a CDB can). */
		size_t full = mp_vpd_page_size(a->buf, n);
		if (full > a->alloc && n >= a->alloc && a->alloc < INQUIRY_ALLOC_MAX) {
			a->resized = true;
			a->alloc = (uint16_t)MP_MIN(full, (size_t)INQUIRY_ALLOC_MAX);
			issue_or_fail(a);
			return;
		}
	}
	handle_data(a, n);
}

struct mp_attach *mp_attach_start(struct mp_path *path, const struct mp_attach_opts *opts,
				  mp_attach_done_fn *done, void *arg)
{
	if (!path || !path->ops || !path->ops->submit || !done) {
		errno = EINVAL;
		return NULL;
	}
	struct mp_attach *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->path = path;
	a->done = done;
	a->arg = arg;
	if (opts)
		a->opts = *opts;
	else
		mp_attach_opts_default(&a->opts);
	a->cmd.done = on_done;
	a->step = ST_INQUIRY;
	a->ua_left = a->opts.ua_retries;
	a->alloc = steps[ST_INQUIRY].alloc;
	if (issue(a) < 0) {
		int e = errno;
		attach_free(a);
		errno = e;
		return NULL;
	}
	return a;
}

void mp_attach_cancel(struct mp_attach *a)
{
	if (!a || a->finished || a->cancelled)
		return;
	a->cancelled = true;
	if (!a->in_flight)
		attach_free(a);
}
