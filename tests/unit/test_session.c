/* Unit tests of initiator/session.c's fan-out to its LU paths: a real session on a real libev loop against an in-test iSCSI responder on 127.0.0.1. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/evclock.h"
#include "common/util.h"
#include "initiator/iscsi_path.h"
#include "initiator/isid.h"
#include "initiator/session.h"
#include "mpath/lu.h"

#define INI "iqn.2026-01.test:ini"
#define TGT "iqn.2026-01.test:tgt"
#define NO_TAG 0xffffffffu
/* Every wait of these tests ends (and fails the test) after this long; the steps take well
 * under a second each, so a loaded machine has a wide margin. */
#define DEADLINE_S 8.0

/*
 * ---- the responder ----
 *
 * A minimal iSCSI target on the test's own loop. It must be protocol-correct: the session's
 * PDU guard (initiator/pdu_guard.c) checks every PDU it sends and fails the connection on
 * any mistake. It answers Login (to full feature phase, no authentication), NOP-Out, REPORT
 * LUNS (LUNs 0, 1, 2) and standard INQUIRY (LUN 0 a controller, 0x0c; 1 and 2 disks), and
 * holds every other command unanswered: the attach's VPD 0x00 then stays in flight, which
 * keeps each path in "attach" (the test is about the session's state, not about attach).
 * With serve_attach it also answers what the attach reads (VPD 0x00, 0x80, 0x83, READ
 * CAPACITY(16), MODE SENSE(10)), so that the paths join their LUs. With garble_luns it answers
 * that many REPORT LUNS with a list the parser refuses (see r_scsi).
 */
struct responder {
	ev_io lw;                    /* the listening socket */
	ev_io cw;                    /* the one connection */
	struct ev_loop *loop;
	int lfd, cfd;
	uint16_t port;
	uint8_t buf[65536];          /* bytes received, not yet parsed */
	size_t have;
	uint32_t statsn, exp_cmdsn;
	bool mute;                   /* read and drop everything: the initiator hears nothing */
	bool serve_attach;           /* answer the attach's commands too */
	bool isid_seen;              /* this connection's first Login Request was recorded */
	unsigned garble_luns;        /* REPORT LUNS answers still to send malformed */
	unsigned busy_inq1;          /* INQUIRYs of LUN 1 still to answer BUSY */
	unsigned gone_inq2;          /* INQUIRYs of LUN 2 still to answer 5/25/00 (LU not supported) */
	unsigned accepts;            /* connections accepted */
	unsigned ends;               /* connections the initiator ended (EOF or reset) */
	unsigned logins;             /* final Login Responses sent */
	unsigned nops;               /* NOP-Outs answered */
	unsigned nops_ignored;       /* NOP-Outs read while mute */
	unsigned report_luns, inquiries, held, attach_answers;
	uint8_t isid[8][6];          /* the ISID of each connection's login (first 8) */
	unsigned n_isid;
	char err[256];               /* the first thing the responder did not expect; "" if none */
};

static void r_fail(struct responder *r, const char *what)
{
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "%s", what);
}

static void put_dsl(uint8_t *h, uint32_t n)
{
	h[5] = (uint8_t)(n >> 16);
	h[6] = (uint8_t)(n >> 8);
	h[7] = (uint8_t)n;
}

static void r_send(struct responder *r, const uint8_t *pdu, size_t n)
{
	while (n && r->cfd >= 0) {
		ssize_t w = send(r->cfd, pdu, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* A few hundred bytes into an empty loopback socket: only a dead connection refuses. */
			return;
		}
		pdu += w;
		n -= (size_t)w;
	}
}

/* A response header: op, flags, the request's bytes 8-15 (LUN, or ISID+TSIH at login), its ITT. */
static void r_hdr(struct responder *r, uint8_t *h, uint8_t op, uint8_t flags, const uint8_t *req, bool status)
{
	memset(h, 0, 48);
	h[0] = op;
	h[1] = flags;
	memcpy(h + 8, req + 8, 8);
	mp_put_be32(h + 16, mp_be32(req + 16));
	mp_put_be32(h + 24, status ? r->statsn++ : r->statsn);
	mp_put_be32(h + 28, r->exp_cmdsn);
	mp_put_be32(h + 32, r->exp_cmdsn + 63);
}

/* Sends header h with data[0..n) padded to 4 bytes. */
static void r_send_pdu(struct responder *r, uint8_t *h, const void *data, uint32_t n)
{
	uint8_t pdu[48 + 512];
	cr_assert_leq(n, 512u);
	put_dsl(h, n);
	memcpy(pdu, h, 48);
	memset(pdu + 48, 0, 512);
	if (n)
		memcpy(pdu + 48, data, n);
	r_send(r, pdu, 48 + ((n + 3) & ~3u));
}

static bool has_key(const uint8_t *d, uint32_t n, const char *key)
{
	size_t kl = strlen(key);
	for (uint32_t i = 0; i < n;) {
		const uint8_t *z = memchr(d + i, 0, n - i);
		size_t len = z ? (size_t)(z - (d + i)) : n - i;
		if (len > kl && memcmp(d + i, key, kl) == 0 && d[i + kl] == '=')
			return true;
		i += (uint32_t)len + 1;
	}
	return false;
}

static const char auth_keys[] = "AuthMethod=None";
static const char op_keys[] =
	"HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=65536\0MaxBurstLength=262144\0"
	"FirstBurstLength=65536\0MaxOutstandingR2T=1\0InitialR2T=No\0ImmediateData=Yes";

/* A Login Request: answer at the stage asked for, moving on when the initiator asks to. */
static void r_login(struct responder *r, const uint8_t *h, const uint8_t *d, uint32_t dsl)
{
	uint8_t rsp[48], text[sizeof(auth_keys) + sizeof(op_keys)];
	uint32_t n = 0;
	if (!r->isid_seen) {
		r->isid_seen = true;
		if (r->n_isid < MP_ARRAY_SIZE(r->isid))
			memcpy(r->isid[r->n_isid++], h + 8, 6);
		r->exp_cmdsn = mp_be32(h + 24);
	}
	if (has_key(d, dsl, "AuthMethod")) {
		memcpy(text + n, auth_keys, sizeof(auth_keys));
		n += sizeof(auth_keys);
	}
	if (has_key(d, dsl, "HeaderDigest")) {
		memcpy(text + n, op_keys, sizeof(op_keys));
		n += sizeof(op_keys);
	}
	/* Transit (T), current and next stage as asked; C off. */
	uint8_t flags = h[1] & 0x8f;
	bool final = (flags & 0x80) && (flags & 3) == 3;
	r_hdr(r, rsp, 0x23, flags, h, true);
	if (final) {
		mp_put_be16(rsp + 14, 1); /* TSIH */
		r->logins++;
	}
	r_send_pdu(r, rsp, text, n);
}

/* Data-In with the status (S bit): data[0..n) of the command's expected length, underflow if short. */
/* A SCSI Response with no data: status, and for CHECK CONDITION fixed-format sense key/asc/ascq. */
static void r_status(struct responder *r, const uint8_t *req, uint8_t status, uint8_t key, uint8_t asc, uint8_t ascq)
{
	uint8_t h[48], d[2 + 18] = { 0 };
	uint32_t edtl = mp_be32(req + 20);
	r_hdr(r, h, 0x21, (uint8_t)(0x80 | (edtl ? 0x02 : 0)), req, true);
	h[2] = 0;       /* command completed at target */
	h[3] = status;
	mp_put_be32(h + 44, edtl); /* nothing was sent: all of it is residual underflow */
	if (status != 0x02) {
		r_send_pdu(r, h, NULL, 0);
		return;
	}
	mp_put_be16(d, 18);
	d[2] = 0x70;
	d[4] = key;
	d[9] = 10;
	d[14] = asc;
	d[15] = ascq;
	r_send_pdu(r, h, d, sizeof(d));
}

static void r_data_in(struct responder *r, const uint8_t *req, const uint8_t *data, uint32_t n)
{
	uint32_t edtl = mp_be32(req + 20);
	uint32_t sent = MP_MIN(n, edtl);
	uint8_t h[48];
	r_hdr(r, h, 0x25, (uint8_t)(0x81 | (sent < edtl ? 0x02 : 0)), req, true);
	mp_put_be32(h + 20, NO_TAG);
	mp_put_be32(h + 36, 0); /* DataSN */
	mp_put_be32(h + 40, 0); /* buffer offset */
	mp_put_be32(h + 44, edtl - sent);
	r_send_pdu(r, h, data, sent);
}

/* What the attach reads of a disk LUN; false for a command it does not know. Each LUN has its own identity. */
static bool r_attach_answer(struct responder *r, const uint8_t *h, uint32_t lun)
{
	const uint8_t *cdb = h + 32;
	uint8_t d[32] = { 0 };
	uint32_t n = 0;
	if (cdb[0] == 0x12 && (cdb[1] & 1)) {
		d[1] = cdb[2];
		switch (cdb[2]) {
		case 0x00: /* supported pages */
			d[3] = 3;
			d[5] = 0x80;
			d[6] = 0x83;
			n = 7;
			break;
		case 0x80: /* unit serial number */
			d[3] = 4;
			memcpy(d + 4, "SN0", 3);
			d[7] = (uint8_t)('0' + lun);
			n = 8;
			break;
		case 0x83: /* one NAA 6 logical unit designator */
			d[3] = 20;
			d[4] = 0x01; /* binary */
			d[5] = 0x03; /* associated with the LU, NAA */
			d[7] = 16;
			d[8] = 0x60;
			d[9] = 0x01;
			d[10] = 0x40;
			d[11] = 0x50;
			d[23] = (uint8_t)lun;
			n = 24;
			break;
		default:
			return false;
		}
	} else if (cdb[0] == 0x9e && (cdb[1] & 0x1f) == 0x10) {
		mp_put_be64(d, 2047); /* 1 MiB of 512-byte blocks */
		mp_put_be32(d + 8, 512);
		n = 32;
	} else if (cdb[0] == 0x5a) {
		mp_put_be16(d, 6); /* header only: not write protected, no DPOFUA */
		n = 8;
	} else {
		return false;
	}
	r->attach_answers++;
	r_data_in(r, h, d, n);
	return true;
}

static void r_scsi(struct responder *r, const uint8_t *h)
{
	const uint8_t *cdb = h + 32;
	/* Our LUNs are below 256: single-level peripheral addressing, LUN in byte 9. */
	uint32_t lun = h[9];
	if (h[8] != 0)
		r_fail(r, "a LUN outside 0..255");
	if (!(h[1] & 0x40) || (h[1] & 0x20)) {
		r->held++; /* nothing here writes; hold whatever it is */
		return;
	}
	if (cdb[0] == 0xa0) {
		uint8_t d[32] = { 0 };
		mp_put_be32(d, 24);
		d[9] = 0; d[17] = 1; d[25] = 2; /* LUNs 0, 1, 2 (byte 1 of each 8-byte entry) */
		r->report_luns++;
		if (r->garble_luns) {
			/*
			 * A LUN LIST LENGTH of 20, not a multiple of 8 (the third entry cut short), and
			 * only those 8 + 20 bytes sent: the transfer is well formed (r_data_in reports
			 * the short answer as an underflow residual, as the PDU guard requires), so
			 * only initiator/report_luns.c's parser can refuse it.
			 */
			r->garble_luns--;
			mp_put_be32(d, 20);
			r_data_in(r, h, d, 8 + 20);
			return;
		}
		r_data_in(r, h, d, sizeof(d));
		return;
	}
	if (cdb[0] == 0x12 && !(cdb[1] & 1) && lun == 1 && r->busy_inq1) {
		r->busy_inq1--;
		r->inquiries++;
		r_status(r, h, 0x08, 0, 0, 0); /* BUSY */
		return;
	}
	if (cdb[0] == 0x12 && !(cdb[1] & 1) && lun == 2 && r->gone_inq2) {
		r->gone_inq2--;
		r->inquiries++;
		r_status(r, h, 0x02, 0x5, 0x25, 0x00); /* ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED */
		return;
	}
	if (cdb[0] == 0x12 && !(cdb[1] & 1)) {
		uint8_t d[36];
		memset(d, ' ', sizeof(d));
		d[0] = lun == 0 ? 0x0c : 0x00; /* LUN 0: storage array controller; others: disks */
		d[1] = 0;
		d[2] = 5;
		d[3] = 2;
		d[4] = sizeof(d) - 5;
		d[5] = d[6] = d[7] = 0;
		memcpy(d + 8, "MPTEST  ", 8);
		memcpy(d + 16, lun == 0 ? "CONTROLLER      " : "DISK            ", 16);
		memcpy(d + 32, "0001", 4);
		r->inquiries++;
		r_data_in(r, h, d, sizeof(d));
		return;
	}
	if (r->serve_attach && r_attach_answer(r, h, lun))
		return;
	r->held++; /* VPD pages, READ CAPACITY and the rest: never answered */
}

static void r_pdu(struct responder *r, const uint8_t *h, const uint8_t *d, uint32_t dsl)
{
	uint8_t op = h[0] & 0x3f;
	bool immediate = h[0] & 0x40;
	if (r->mute) {
		r->nops_ignored += op == 0x00;
		return;
	}
	/* A non-immediate request takes a CmdSN: the next response acknowledges it. */
	if (!immediate && (op == 0x00 || op == 0x01 || op == 0x02 || op == 0x04 || op == 0x06))
		r->exp_cmdsn = mp_be32(h + 24) + 1;
	switch (op) {
	case 0x03:
		r_login(r, h, d, dsl);
		break;
	case 0x00: {
		if (mp_be32(h + 16) == NO_TAG)
			break; /* an answer to a ping of ours; we send none */
		uint8_t rsp[48];
		r_hdr(r, rsp, 0x20, 0x80, h, true);
		mp_put_be32(rsp + 20, NO_TAG);
		r->nops++;
		r_send_pdu(r, rsp, d, MP_MIN(dsl, 512u));
		break;
	}
	case 0x01:
		r_scsi(r, h);
		break;
	default: {
		char m[64];
		snprintf(m, sizeof(m), "unexpected opcode 0x%02x", op);
		r_fail(r, m);
		break;
	}
	}
}

static void r_close_conn(struct responder *r)
{
	if (r->cfd < 0)
		return;
	ev_io_stop(r->loop, &r->cw);
	close(r->cfd);
	r->cfd = -1;
	r->have = 0;
}

static void r_conn_cb(struct ev_loop *loop MP_UNUSED, ev_io *w, int revents MP_UNUSED)
{
	struct responder *r = mp_container_of(w, struct responder, cw);
	ssize_t n = recv(r->cfd, r->buf + r->have, sizeof(r->buf) - r->have, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		r->ends++;
		r_close_conn(r);
		return;
	}
	r->have += (size_t)n;
	while (r->have >= 48) {
		const uint8_t *h = r->buf;
		uint32_t dsl = (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
		/* No digests: the login answers HeaderDigest=None and DataDigest=None. */
		size_t total = 48 + h[4] * 4u + ((dsl + 3) & ~3u);
		if (total > sizeof(r->buf)) {
			r_fail(r, "a PDU larger than the receive buffer");
			r_close_conn(r);
			return;
		}
		if (r->have < total)
			break;
		r_pdu(r, h, h + 48 + h[4] * 4u, dsl);
		if (r->cfd < 0)
			return;
		memmove(r->buf, r->buf + total, r->have - total);
		r->have -= total;
	}
}

static void r_accept_cb(struct ev_loop *loop, ev_io *w, int revents MP_UNUSED)
{
	struct responder *r = mp_container_of(w, struct responder, lw);
	int fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (r->cfd >= 0) {
		/* The initiator gave the old connection up; we may not have read its reset yet. */
		r->ends++;
		r_close_conn(r);
	}
	r->cfd = fd;
	r->accepts++;
	r->have = 0;
	r->mute = false;
	r->isid_seen = false;
	r->statsn = 1000 * r->accepts;
	ev_io_init(&r->cw, r_conn_cb, fd, EV_READ);
	ev_io_start(loop, &r->cw);
}

static void r_start(struct responder *r, struct ev_loop *loop)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->cfd = -1;
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(r->lfd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	cr_assert_eq(bind(r->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(r->lfd, 4), 0);
	cr_assert_eq(getsockname(r->lfd, (struct sockaddr *)&a, &al), 0);
	r->port = ntohs(a.sin_port);
	ev_io_init(&r->lw, r_accept_cb, r->lfd, EV_READ);
	ev_io_start(loop, &r->lw);
}

static void r_stop(struct responder *r)
{
	r_close_conn(r);
	ev_io_stop(r->loop, &r->lw);
	close(r->lfd);
}

/*
 * ---- the initiator side: one session, two LUs, a path for LUN 1 and one for LUN 2 ----
 */

/* What the observer saw of one path: its "waiting" transitions and the loop turn of each. */
struct seen {
	bool waiting;
	unsigned ups, downs;          /* left "waiting" / went back to it */
	unsigned up_turn, down_turn;  /* ev_iteration() of the last of each */
	enum mp_path_state core_at_down; /* the core's state of the path at the last down */
	bool lu_saw_down;             /* the LU's own path was that path, DOWN, at the last down */
};

#define MAX_SCANS 8

struct fx {
	struct ev_loop *loop;
	struct mp_clock clock;
	struct responder r;
	struct mp_lu *lu[2];
	struct mp_iscsi_session *s;
	struct mp_iscsi_path *p[2];   /* LUN 1 on lu[0], LUN 2 on lu[1] */
	bool freed[2];                /* the test freed it: the luns callback must not make it again */
	unsigned ready[2];            /* the LU's ready callback ran (its first path attached) */
	ev_prepare obs;
	struct seen seen[2];
	unsigned scans;
	bool scan_ok[MAX_SCANS];
	size_t scan_n[MAX_SCANS];
	uint32_t scan_luns[MAX_SCANS][4];
	char scan_why[MAX_SCANS][160]; /* the callback's why; "" for NULL */
	uint8_t isid[6];
	char portal[32];
};

/* Makes the paths of LUNs 1 and 2 the first time the session lists them, as tools/mpiscsid/disk.c does. */
static void luns_cb(void *arg, struct mp_iscsi_session *s, bool ok, const uint32_t *luns, size_t n,
		    const char *why)
{
	struct fx *f = arg;
	cr_assert_eq(s, f->s);
	if (f->scans < MAX_SCANS) {
		f->scan_ok[f->scans] = ok;
		f->scan_n[f->scans] = n;
		if (n) /* a failed scan passes luns NULL */
			memcpy(f->scan_luns[f->scans], luns, MP_MIN(n, (size_t)4) * sizeof(*luns));
		snprintf(f->scan_why[f->scans], sizeof(f->scan_why[0]), "%s", why ? why : "");
	}
	f->scans++;
	for (size_t i = 0; ok && i < n; i++) {
		if (luns[i] < 1 || luns[i] > 2)
			continue;
		size_t k = luns[i] - 1;
		if (f->p[k] || f->freed[k])
			continue;
		struct mp_iscsi_path_opts po = { .lun = luns[i], .id = luns[i], .prio = 0 };
		f->p[k] = mp_iscsi_path_new(s, f->lu[k], &po);
		cr_assert_not_null(f->p[k]);
	}
}

/*
 * Runs before every loop turn blocks, so it sees the paths as every callback of the last
 * turn left them: two paths that change in one callback change at the same turn.
 */
static void obs_cb(struct ev_loop *loop, ev_prepare *w, int revents MP_UNUSED)
{
	struct fx *f = w->data;
	for (int i = 0; i < 2; i++) {
		struct seen *o = &f->seen[i];
		if (!f->p[i])
			continue;
		bool waiting = strcmp(mp_iscsi_path_state(f->p[i]), "waiting") == 0;
		if (o->waiting && !waiting) {
			o->ups++;
			o->up_turn = ev_iteration(loop);
		} else if (!o->waiting && waiting) {
			struct mp_path *core = mp_iscsi_path_core(f->p[i]);
			o->downs++;
			o->down_turn = ev_iteration(loop);
			o->core_at_down = core->state;
			o->lu_saw_down = mp_lu_first_path(f->lu[i]) == core && core->state == MP_PATH_DOWN &&
					 !mp_lu_path_usable(core);
		}
		o->waiting = waiting;
	}
}

static void deadline_cb(struct ev_loop *loop MP_UNUSED, ev_timer *w, int revents MP_UNUSED)
{
	*(bool *)w->data = true;
}

typedef bool cond_fn(const struct fx *f);

/* Turns the loop until cond holds or DEADLINE_S passed; false on the deadline. */
static bool run_until(struct fx *f, cond_fn *cond)
{
	bool expired = false;
	ev_timer t;
	ev_timer_init(&t, deadline_cb, DEADLINE_S, 0.);
	t.data = &expired;
	ev_timer_start(f->loop, &t);
	while (!cond(f) && !expired)
		ev_run(f->loop, EVRUN_ONCE);
	ev_timer_stop(f->loop, &t);
	return cond(f);
}

static void lu_ready_cb(struct mp_lu *lu MP_UNUSED, void *arg)
{
	(*(unsigned *)arg)++;
}

static void fx_init(struct fx *f, uint32_t noop_interval_ms, uint32_t noop_timeout_ms, bool serve_attach)
{
	memset(f, 0, sizeof(*f));
	f->loop = ev_loop_new(EVFLAG_AUTO);
	cr_assert_not_null(f->loop);
	r_start(&f->r, f->loop);
	f->r.serve_attach = serve_attach;
	mp_evclock_init(&f->clock, f->loop);
	struct mp_lu_opts lo;
	mp_lu_opts_default(&lo);
	f->lu[0] = mp_lu_new("lun1", &f->clock, &lo);
	f->lu[1] = mp_lu_new("lun2", &f->clock, &lo);
	cr_assert(f->lu[0] && f->lu[1]);
	mp_lu_set_ready_cb(f->lu[0], lu_ready_cb, &f->ready[0]);
	mp_lu_set_ready_cb(f->lu[1], lu_ready_cb, &f->ready[1]);
	snprintf(f->portal, sizeof(f->portal), "127.0.0.1:%u", f->r.port);
	mp_isid_derive(INI, "", f->portal, TGT, 0, f->isid);
	for (int i = 0; i < 2; i++)
		f->seen[i].waiting = true;
	ev_prepare_init(&f->obs, obs_cb);
	f->obs.data = f;
	ev_prepare_start(f->loop, &f->obs);

	struct mp_iscsi_session_opts so;
	mp_iscsi_session_opts_default(&so);
	so.initiator_name = INI;
	so.target = TGT;
	so.portal = f->portal;
	so.id = 7;
	memcpy(so.isid, f->isid, sizeof(so.isid));
	so.noop_interval_ms = noop_interval_ms;
	so.noop_timeout_ms = noop_timeout_ms;
	so.command_timeout_ms = 0; /* the held attach commands must not fail the session */
	so.login_timeout_ms = 3000;
	so.reconnect_max_ms = 200;
	so.luns = luns_cb;
	so.luns_arg = f;
	f->s = mp_iscsi_session_new(f->loop, &so);
	cr_assert_not_null(f->s);
}

static void fx_free(struct fx *f)
{
	/* Paths first (one with a command in flight resets the session: harmless here). */
	for (int i = 0; i < 2; i++) {
		mp_iscsi_path_free(f->p[i]);
		f->p[i] = NULL;
	}
	cr_assert_eq(mp_iscsi_session_n_paths(f->s), 0);
	mp_iscsi_session_free(f->s);
	mp_lu_free(f->lu[0]);
	mp_lu_free(f->lu[1]);
	ev_prepare_stop(f->loop, &f->obs);
	r_stop(&f->r);
	ev_loop_destroy(f->loop);
}

static bool both_attaching_once(const struct fx *f)
{
	return f->p[0] && f->p[1] && f->seen[0].ups == 1 && f->seen[1].ups == 1 && f->r.held >= 2;
}
static bool both_down_once(const struct fx *f)
{
	return f->seen[0].downs == 1 && f->seen[1].downs == 1;
}
static bool both_attaching_twice(const struct fx *f)
{
	return f->seen[0].ups == 2 && f->seen[1].ups == 2;
}
static bool lun1_attaching_twice(const struct fx *f)
{
	return f->seen[0].ups == 2;
}
static bool attached(const struct fx *f, int i)
{
	return f->p[i] && strcmp(mp_iscsi_path_state(f->p[i]), "attached") == 0;
}
static bool both_attached_once(const struct fx *f)
{
	return attached(f, 0) && attached(f, 1) && f->seen[0].ups == 1 && f->seen[1].ups == 1;
}
static bool both_attached_twice(const struct fx *f)
{
	return attached(f, 0) && attached(f, 1) && f->seen[0].ups == 2 && f->seen[1].ups == 2;
}
static bool session_idle(const struct fx *f)
{
	struct mp_iscsi_session_view v;
	mp_iscsi_session_view(f->s, &v);
	return strcmp(v.state, "idle") == 0;
}

static void assert_scan(const struct fx *f, unsigned k)
{
	cr_assert(f->scan_ok[k], "scan %u failed", k + 1);
	cr_assert_eq(f->scan_n[k], 2, "scan %u reported %zu LUNs, want {1, 2} (LUN 0 is a controller)", k + 1,
		     f->scan_n[k]);
	cr_assert_eq(f->scan_luns[k][0], 1);
	cr_assert_eq(f->scan_luns[k][1], 2);
}

static void assert_path(const struct fx *f, int i, const char *ip_state, enum mp_path_state core)
{
	cr_assert_not_null(f->p[i]);
	cr_assert_str_eq(mp_iscsi_path_state(f->p[i]), ip_state, "path of LUN %d", i + 1);
	cr_assert_eq(mp_iscsi_path_core(f->p[i])->state, core, "path of LUN %d: core state %s, want %s", i + 1,
		     mp_path_state_name(mp_iscsi_path_core(f->p[i])->state), mp_path_state_name(core));
}

/* Login, scan and attach start: the luns callback names {1, 2} once, both paths leave "waiting" together. */
static void first_login(struct fx *f)
{
	cr_assert(run_until(f, both_attaching_once), "paths did not start attaching: scans %u, ups %u/%u, held %u, "
		  "responder error \"%s\"", f->scans, f->seen[0].ups, f->seen[1].ups, f->r.held, f->r.err);
	cr_assert_eq(f->scans, 1);
	assert_scan(f, 0);
	cr_assert_eq(f->r.report_luns, 1);
	cr_assert_eq(f->r.inquiries, 3 + 2, "3 scan INQUIRYs, then one attach INQUIRY per path");
	cr_assert_eq(f->seen[0].up_turn, f->seen[1].up_turn);
	for (int i = 0; i < 2; i++)
		assert_path(f, i, "attach", MP_PATH_ATTACHING);
	cr_assert(mp_iscsi_session_ready(f->s));
	cr_assert_eq(mp_iscsi_session_n_paths(f->s), 2);
	bool known = false;
	cr_assert(mp_iscsi_session_lists_lun(f->s, 2, &known) && known);
	cr_assert(!mp_iscsi_session_lists_lun(f->s, 0, &known), "LUN 0 (a controller) listed as a disk");
	struct mp_iscsi_session_view v;
	mp_iscsi_session_view(f->s, &v);
	cr_assert_eq(v.logins, 1);
	cr_assert_eq(v.n_luns, 2);
	cr_assert_str_eq(v.state, "logged-in");
}

/* Both paths went down at one turn, each LU saw it; then the session came back and both attach again. */
static void down_and_back(struct fx *f)
{
	cr_assert(run_until(f, both_down_once), "paths did not go down: downs %u/%u, states %s/%s",
		  f->seen[0].downs, f->seen[1].downs, mp_iscsi_path_state(f->p[0]), mp_iscsi_path_state(f->p[1]));
	cr_assert_eq(f->seen[0].down_turn, f->seen[1].down_turn, "the paths went down at turns %u and %u",
		     f->seen[0].down_turn, f->seen[1].down_turn);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(f->seen[i].core_at_down, MP_PATH_DOWN);
		cr_assert(f->seen[i].lu_saw_down, "LU of LUN %d did not see its path down", i + 1);
	}
	cr_assert(!mp_iscsi_session_ready(f->s));

	cr_assert(run_until(f, both_attaching_twice), "paths did not come back: accepts %u, scans %u, ups %u/%u, "
		  "responder error \"%s\"", f->r.accepts, f->scans, f->seen[0].ups, f->seen[1].ups, f->r.err);
	cr_assert_eq(f->seen[0].up_turn, f->seen[1].up_turn, "the paths came back at turns %u and %u",
		     f->seen[0].up_turn, f->seen[1].up_turn);
	cr_assert_eq(f->r.accepts, 2);
	cr_assert_eq(f->r.logins, 2);
	cr_assert_eq(f->scans, 2, "the luns callback ran %u times for 2 logins", f->scans);
	assert_scan(f, 1);
	for (int i = 0; i < 2; i++)
		assert_path(f, i, "attach", MP_PATH_ATTACHING);
	struct mp_iscsi_session_view v;
	mp_iscsi_session_view(f->s, &v);
	cr_assert_eq(v.logins, 2);
	cr_assert_arr_eq(v.isid, f->isid, 6);
	/* What went on the wire: the same ISID at both logins (the I_T nexus survives). */
	cr_assert_eq(f->r.n_isid, 2);
	cr_assert_arr_eq(f->r.isid[0], f->isid, 6);
	cr_assert_arr_eq(f->r.isid[1], f->isid, 6);
	cr_assert_str_eq(f->r.err, "");
}

Test(session, target_closes_connection_paths_go_down_and_back_together, .timeout = 30)
{
	struct fx f;
	fx_init(&f, 200, 400, false);
	first_login(&f);
	/* The target closes the connection (FIN). */
	r_close_conn(&f.r);
	down_and_back(&f);
	fx_free(&f);
}

Test(session, silent_target_nop_timeout_paths_go_down_and_back_together, .timeout = 30)
{
	struct fx f;
	fx_init(&f, 100, 300, false);
	first_login(&f);
	/* The connection stays open but nothing comes back: only the NOP-Out deadline can tell. */
	f.r.mute = true;
	ev_tstamp t0 = ev_now(f.loop);
	cr_assert(run_until(&f, both_down_once), "paths did not go down: downs %u/%u", f.seen[0].downs,
		  f.seen[1].downs);
	ev_tstamp dt = ev_now(f.loop) - t0;
	/* (a NOP-Out sent just before the mute may be the one that goes unanswered) */
	cr_assert_geq(dt, 0.15, "the session gave up after %.3f s, before the NOP-Out timeout", dt);
	cr_assert(run_until(&f, session_idle));
	struct mp_iscsi_session_view v;
	mp_iscsi_session_view(f.s, &v);
	cr_assert(strstr(v.last_error, "NOP-Out"), "teardown reason: %s", v.last_error);
	cr_assert_geq(f.r.nops_ignored, 1, "the session gave up without sending a NOP-Out");
	/* The downs were counted; down_and_back checks the rest of the story. */
	down_and_back(&f);
	fx_free(&f);
}

Test(session, freeing_a_path_with_a_command_in_flight_resets_the_session, .timeout = 30)
{
	struct fx f;
	fx_init(&f, 200, 400, false);
	first_login(&f);
	/* The held VPD 0x00 of LUN 2's attach is in flight on the shared session. */
	cr_assert_geq(mp_iscsi_session_inflight(f.s, f.p[1]), 1);
	unsigned ends = f.r.ends;
	mp_iscsi_path_free(f.p[1]);
	f.p[1] = NULL;
	f.freed[1] = true;
	/* At once, inside the call: the other LU's path is down and its LU knows. */
	cr_assert_eq(mp_iscsi_session_n_paths(f.s), 1);
	assert_path(&f, 0, "waiting", MP_PATH_DOWN);
	cr_assert_eq(mp_lu_first_path(f.lu[0]), mp_iscsi_path_core(f.p[0]));
	cr_assert_null(mp_lu_first_path(f.lu[1]), "the freed path is still on its LU");
	cr_assert(!mp_iscsi_session_ready(f.s));
	/* The connection was closed (the responder reads its end), then the session logs in again. */
	cr_assert(run_until(&f, lun1_attaching_twice), "path of LUN 1 did not come back: "
		  "accepts %u, scans %u, ups %u", f.r.accepts, f.scans, f.seen[0].ups);
	cr_assert_eq(f.seen[0].ups, 2);
	cr_assert_eq(f.seen[0].downs, 1);
	cr_assert_gt(f.r.ends, ends, "the responder never saw the old connection end");
	cr_assert_eq(f.r.accepts, 2);
	cr_assert_eq(f.scans, 2);
	assert_scan(&f, 1);
	cr_assert_null(f.p[1]);
	cr_assert_eq(mp_iscsi_session_n_paths(f.s), 1);
	assert_path(&f, 0, "attach", MP_PATH_ATTACHING);
	struct mp_iscsi_session_view v;
	mp_iscsi_session_view(f.s, &v);
	cr_assert_eq(v.logins, 2);
	cr_assert_str_eq(f.r.err, "");
	fx_free(&f);
}

/* With the attach answered, the paths are UP in their LUs: the LUs see them leave and come back. */
Test(session, attached_paths_leave_and_rejoin_their_lus_together, .timeout = 30)
{
	struct fx f;
	fx_init(&f, 200, 400, true);
	cr_assert(run_until(&f, both_attached_once), "paths did not attach: states %s/%s, responder error \"%s\"",
		  f.p[0] ? mp_iscsi_path_state(f.p[0]) : "-", f.p[1] ? mp_iscsi_path_state(f.p[1]) : "-", f.r.err);
	cr_assert_eq(f.scans, 1);
	assert_scan(&f, 0);
	cr_assert_eq(f.seen[0].up_turn, f.seen[1].up_turn);
	for (int i = 0; i < 2; i++) {
		assert_path(&f, i, "attached", MP_PATH_UP);
		cr_assert(mp_lu_path_usable(mp_iscsi_path_core(f.p[i])));
		cr_assert_eq(f.ready[i], 1);
		cr_assert_not_null(mp_lu_get_info(f.lu[i]));
		cr_assert_eq(mp_lu_get_info(f.lu[i])->num_blocks, 2048);
	}
	cr_assert_str_neq(mp_lu_get_info(f.lu[0])->designator, mp_lu_get_info(f.lu[1])->designator);

	r_close_conn(&f.r);
	cr_assert(run_until(&f, both_down_once), "paths did not go down: downs %u/%u", f.seen[0].downs,
		  f.seen[1].downs);
	cr_assert_eq(f.seen[0].down_turn, f.seen[1].down_turn, "the paths went down at turns %u and %u",
		     f.seen[0].down_turn, f.seen[1].down_turn);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(f.seen[i].core_at_down, MP_PATH_DOWN);
		cr_assert(f.seen[i].lu_saw_down, "LU of LUN %d did not see its path down", i + 1);
	}

	cr_assert(run_until(&f, both_attached_twice), "paths did not attach again: ups %u/%u, states %s/%s",
		  f.seen[0].ups, f.seen[1].ups, mp_iscsi_path_state(f.p[0]), mp_iscsi_path_state(f.p[1]));
	cr_assert_eq(f.seen[0].up_turn, f.seen[1].up_turn, "the paths came back at turns %u and %u",
		     f.seen[0].up_turn, f.seen[1].up_turn);
	for (int i = 0; i < 2; i++) {
		assert_path(&f, i, "attached", MP_PATH_UP);
		cr_assert(mp_lu_path_usable(mp_iscsi_path_core(f.p[i])));
		cr_assert_eq(f.ready[i], 1, "the ready callback runs once per LU");
	}
	cr_assert_eq(f.scans, 2);
	assert_scan(&f, 1);
	struct mp_iscsi_session_view v;
	mp_iscsi_session_view(f.s, &v);
	cr_assert_eq(v.logins, 2);
	cr_assert_eq(f.r.n_isid, 2);
	cr_assert_arr_eq(f.r.isid[1], f.isid, 6);
	cr_assert_eq(f.r.held, 0, "%u command(s) the responder does not know", f.r.held);
	cr_assert_gt(f.r.attach_answers, 0);
	cr_assert_str_eq(f.r.err, "");
	fx_free(&f);
}

static bool three_scans(const struct fx *f)
{
	return f->scans == 3;
}

/*
 * Issue 10, "Bad input": a malformed REPORT LUNS answer costs the rescan, not the session.
 * The scan after the second login fails; the LUNs of the first stay known, both paths stay
 * registered and attach again, nothing is torn down, and a later rescan that is answered
 * honestly succeeds on the same login.
 */
Test(session, malformed_report_luns_keeps_the_old_luns_and_the_session, .timeout = 30)
{
	struct fx f;
	fx_init(&f, 200, 400, false);
	first_login(&f);
	f.r.garble_luns = 1;
	r_close_conn(&f.r);
	cr_assert(run_until(&f, both_down_once), "paths did not go down: downs %u/%u", f.seen[0].downs,
		  f.seen[1].downs);
	unsigned ends = f.r.ends;
	cr_assert(run_until(&f, both_attaching_twice), "paths did not come back after the failed scan: accepts %u, "
		  "scans %u, ups %u/%u, states %s/%s, responder error \"%s\"", f.r.accepts, f.scans, f.seen[0].ups,
		  f.seen[1].ups, mp_iscsi_path_state(f.p[0]), mp_iscsi_path_state(f.p[1]), f.r.err);
	cr_assert_eq(f.seen[0].up_turn, f.seen[1].up_turn);
	cr_assert_eq(f.r.report_luns, 2);
	cr_assert_eq(f.r.garble_luns, 0, "the responder never sent the malformed answer");
	cr_assert_eq(f.scans, 2, "the luns callback ran %u times for 2 logins", f.scans);
	cr_assert(!f.scan_ok[1], "the malformed REPORT LUNS answer was taken");
	cr_assert_eq(f.scan_n[1], 0);
	cr_assert_str_neq(f.scan_why[1], "", "a failed scan without a reason");
	cr_assert(strstr(f.scan_why[1], "REPORT LUNS"), "why: %s", f.scan_why[1]);

	/* The old LUN set is kept and the session is not torn down for it. */
	cr_assert_eq(mp_iscsi_session_n_paths(f.s), 2);
	for (int i = 0; i < 2; i++)
		assert_path(&f, i, "attach", MP_PATH_ATTACHING);
	cr_assert(mp_iscsi_session_ready(f.s));
	bool known = false;
	cr_assert(mp_iscsi_session_lists_lun(f.s, 1, &known) && known, "LUN 1 forgotten");
	cr_assert(mp_iscsi_session_lists_lun(f.s, 2, &known) && known, "LUN 2 forgotten");
	struct mp_iscsi_session_view v;
	mp_iscsi_session_view(f.s, &v);
	cr_assert_str_eq(v.state, "logged-in");
	cr_assert(v.logged_in);
	cr_assert_eq(v.logins, 2);
	cr_assert_eq(v.n_luns, 2);
	cr_assert_eq(f.r.accepts, 2);
	cr_assert_eq(f.r.logins, 2);

	/* A rescan on the same login, answered honestly, lists {1, 2} again. */
	mp_iscsi_session_rescan(f.s);
	cr_assert(run_until(&f, three_scans), "the rescan did not report: scans %u, REPORT LUNS %u", f.scans,
		  f.r.report_luns);
	assert_scan(&f, 2);
	cr_assert_str_eq(f.scan_why[2], "");
	cr_assert_eq(f.r.report_luns, 3);
	/* 3 scan + 2 attach INQUIRYs at the first login, 0 + 2 at the second (its scan failed), 3 now. */
	cr_assert_eq(f.r.inquiries, 5 + 2 + 3, "%u INQUIRYs", f.r.inquiries);
	for (int i = 0; i < 2; i++) {
		assert_path(&f, i, "attach", MP_PATH_ATTACHING);
		cr_assert_eq(f.seen[i].ups, 2);
		cr_assert_eq(f.seen[i].downs, 1);
	}
	mp_iscsi_session_view(f.s, &v);
	cr_assert_str_eq(v.state, "logged-in");
	cr_assert_eq(v.logins, 2);
	cr_assert_eq(v.n_luns, 2);
	cr_assert_eq(f.r.accepts, 2, "the session reconnected");
	cr_assert_eq(f.r.ends, ends, "the session closed its connection");
	cr_assert_str_eq(f.r.err, "");
	fx_free(&f);
}

static bool two_scans(const struct fx *f)
{
	return f->scans == 2;
}

/*
 * A rescan whose INQUIRY of a known LUN is answered BUSY keeps that LUN (a loaded target
 * must not take a working path away); a LUN the target says is not supported (25/00) goes.
 */
Test(session, busy_inquiry_keeps_a_known_lun_but_lu_not_supported_drops_it, .timeout = 30)
{
	struct fx f;
	fx_init(&f, 200, 400, false);
	first_login(&f);
	f.r.busy_inq1 = 1;
	mp_iscsi_session_rescan(f.s);
	cr_assert(run_until(&f, two_scans), "the rescan did not report: scans %u", f.scans);
	cr_assert_eq(f.r.busy_inq1, 0, "the responder never answered BUSY");
	assert_scan(&f, 1);
	bool known = false;
	cr_assert(mp_iscsi_session_lists_lun(f.s, 1, &known) && known, "LUN 1 dropped after one BUSY INQUIRY");

	f.r.gone_inq2 = 1;
	mp_iscsi_session_rescan(f.s);
	cr_assert(run_until(&f, three_scans), "the second rescan did not report: scans %u", f.scans);
	cr_assert_eq(f.r.gone_inq2, 0, "the responder never answered 25/00");
	cr_assert(f.scan_ok[2], "scan 3 failed: %s", f.scan_why[2]);
	cr_assert_eq(f.scan_n[2], 1, "scan 3 reported %zu LUNs, want {1}", f.scan_n[2]);
	cr_assert_eq(f.scan_luns[2][0], 1);
	cr_assert(!mp_iscsi_session_lists_lun(f.s, 2, &known) && known, "LUN 2 kept after 25/00");
	cr_assert_str_eq(f.r.err, "");
	fx_free(&f);
}
