/* PDU guard: frames both directions of an iSCSI connection, tracks task tags and lengths, refuses a lying target. */
#include "initiator/pdu_guard.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define BHS_LEN 48
#define DIGEST_LEN 4
#define NO_TAG 0xffffffffu
/* RFC 7143 13.12: the default (and login-phase) MaxRecvDataSegmentLength. */
#define LOGIN_DSL 8192u
/* RFC 7143 ranges of the negotiated lengths. */
#define DSL_MIN 512u
#define DSL_MAX 16777215u
/* Login texts we keep for parsing keys; a login PDU's data is at most LOGIN_DSL. */
#define TEXT_MAX LOGIN_DSL
/*
 * A target ping (NOP-In with a target tag) makes libiscsi queue a NOP-Out
 * answer; a target that pings without reading our answers grows that queue.
 * More unanswered pings than this is a flood.
 */
#define MAX_PINGS 256u

/* Target opcodes (RFC 7143 11.1). */
enum {
	OP_NOP_IN = 0x20, OP_SCSI_RSP = 0x21, OP_TMF_RSP = 0x22, OP_LOGIN_RSP = 0x23,
	OP_TEXT_RSP = 0x24, OP_DATA_IN = 0x25, OP_LOGOUT_RSP = 0x26, OP_R2T = 0x31,
	OP_ASYNC = 0x32, OP_REJECT = 0x3f,
};
/* Initiator opcodes. */
enum {
	OP_NOP_OUT = 0x00, OP_SCSI_CMD = 0x01, OP_TMF_REQ = 0x02, OP_LOGIN_REQ = 0x03,
	OP_TEXT_REQ = 0x04, OP_DATA_OUT = 0x05, OP_LOGOUT_REQ = 0x06,
};

/* What an outstanding task tag belongs to. */
enum kind {
	K_FREE = 0, /* empty table slot */
	K_SCSI,     /* SCSI Command: answered by Data-In/R2T, ended by SCSI Response or Data-In with S */
	K_NOP,      /* NOP-Out ping: ended by NOP-In */
	K_LOGIN,    /* Login Request: ended by Login Response */
	K_TEXT,     /* Text Request: ended by a Text Response with F */
	K_LOGOUT,   /* Logout Request: ended by Logout Response */
	K_TMF,      /* Task Management Function Request: ended by its response */
};

/* One outstanding task tag (40 bytes). */
struct task {
	uint32_t itt;
	uint8_t kind;
	bool rd, wr;        /* SCSI: R and W flags of the command */
	bool cmd_sent;      /* the command PDU (with any immediate data) has left completely */
	bool unsol_open;    /* unsolicited Data-Out announced (command F=0), its last PDU not yet sent */
	uint8_t tmf_fn;     /* TMF: function */
	uint16_t r2t_out;   /* R2Ts received whose last Data-Out has not left yet */
	uint32_t edtl;      /* Expected Data Transfer Length */
	uint32_t in_next;   /* Data-In bytes announced so far = next offset expected */
	uint32_t data_sn;   /* next DataSN expected (Data-In) */
	uint32_t r2t_sn;    /* next R2TSN expected */
	uint32_t out_sent;  /* data bytes of this command that left (immediate and Data-Out) */
	uint32_t req_end;   /* end of the data asked for so far (immediate/unsolicited, then R2Ts) */
	uint32_t ref_itt;   /* TMF: the referenced task */
};

/* Framing of one direction. */
struct dir {
	uint8_t hdr[BHS_LEN + DIGEST_LEN];
	uint32_t hpos;     /* header bytes gathered */
	uint32_t hlen;     /* header bytes to gather: BHS, plus the digest on the receive side */
	bool in_body;      /* header done, body (AHS, digest, data, padding, data digest) under way */
	uint64_t bpos, blen;
	uint64_t dbeg, dend; /* the data segment inside the body */
	uint32_t itt;      /* of the PDU under way */
	uint8_t op;
	uint8_t capture;   /* 0, or what the data segment is kept for (see in_header/out_header) */
};

enum { CAP_NONE = 0, CAP_LOGIN, CAP_REJECT };

struct mp_pdu_guard {
	struct task *tab;  /* open addressing, linear probing, power-of-two size */
	uint32_t cap, count;
	struct dir in, out;
	bool failed;
	bool ffp;          /* login finished: full feature phase */
	bool hd, dd;       /* digests in use (from the next PDU after the final Login Response) */
	/* Our offers (0 = not offered) and the target's answers (0 = not answered). */
	uint32_t my_dsl, mb_offer, fb_offer, r2t_offer;
	uint32_t tgt_dsl, mb_ans, fb_ans, r2t_ans;
	uint8_t hd_offer, dd_offer; /* bit 1 None, bit 2 CRC32C */
	uint8_t hd_ans, dd_ans;     /* 0 none, 1 None, 2 CRC32C */
	bool req_t;        /* our last Login Request asked to transit */
	uint8_t req_nsg;
	bool rsp_t;        /* the Login Response under way */
	uint8_t rsp_nsg;
	uint16_t rsp_status;
	uint32_t pings;    /* target pings not yet answered by a NOP-Out */
	unsigned budget, delivered;
	uint64_t pdus_in, pdus_out, rejects;
	size_t in_text_len, out_text_len, rej_len;
	char err[256];
	char redirect[280];
	uint8_t rej[BHS_LEN];
	char in_text[TEXT_MAX + 1];
	char out_text[TEXT_MAX + 1];
};

/* ---- errors ---- */

static int MP_PRINTF(2, 3) refuse(struct mp_pdu_guard *g, const char *fmt, ...)
{
	if (!g->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(g->err, sizeof(g->err), fmt, ap);
		va_end(ap);
		g->failed = true;
	}
	errno = EPROTO;
	return -1;
}

/* ---- task table ---- */

static uint32_t slot_of(const struct mp_pdu_guard *g, uint32_t itt)
{
	return (itt * 0x9e3779b1u) & (g->cap - 1);
}

static struct task *find(const struct mp_pdu_guard *g, uint32_t itt)
{
	for (uint32_t i = slot_of(g, itt);; i = (i + 1) & (g->cap - 1)) {
		struct task *t = &g->tab[i];
		if (t->kind == K_FREE)
			return NULL;
		if (t->itt == itt)
			return t;
	}
}

static int grow(struct mp_pdu_guard *g)
{
	uint32_t ocap = g->cap;
	struct task *old = g->tab;
	struct task *tab = calloc((size_t)ocap * 2, sizeof(*tab));
	if (!tab)
		return -1;
	g->tab = tab;
	g->cap = ocap * 2;
	for (uint32_t i = 0; i < ocap; i++) {
		if (old[i].kind == K_FREE)
			continue;
		uint32_t j = slot_of(g, old[i].itt);
		while (g->tab[j].kind != K_FREE)
			j = (j + 1) & (g->cap - 1);
		g->tab[j] = old[i];
	}
	free(old);
	return 0;
}

/* The entry for itt, emptied, with the given kind; NULL on ENOMEM. A tag reused by us replaces the old entry. */
static struct task *add(struct mp_pdu_guard *g, uint32_t itt, enum kind k)
{
	struct task *t = find(g, itt);
	if (!t) {
		if ((g->count + 1) * 2 > g->cap && grow(g) < 0)
			return NULL;
		uint32_t i = slot_of(g, itt);
		while (g->tab[i].kind != K_FREE)
			i = (i + 1) & (g->cap - 1);
		t = &g->tab[i];
		g->count++;
	}
	memset(t, 0, sizeof(*t));
	t->itt = itt;
	t->kind = (uint8_t)k;
	return t;
}

/* Removal with backward shift, so lookups need no tombstones. */
static void del(struct mp_pdu_guard *g, struct task *t)
{
	uint32_t mask = g->cap - 1;
	uint32_t i = (uint32_t)(t - g->tab);
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (g->tab[j].kind == K_FREE)
			break;
		uint32_t home = slot_of(g, g->tab[j].itt);
		/* Move j back into the hole at i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			g->tab[i] = g->tab[j];
			i = j;
		}
	}
	g->tab[i].kind = K_FREE;
	g->count--;
}

void mp_pdu_guard_forget(struct mp_pdu_guard *g, uint32_t itt)
{
	struct task *t = find(g, itt);
	if (t)
		del(g, t);
}

/* ---- life cycle ---- */

#define TAB_MIN 64u

struct mp_pdu_guard *mp_pdu_guard_new(void)
{
	struct mp_pdu_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->tab = calloc(TAB_MIN, sizeof(*g->tab));
	if (!g->tab) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	g->cap = TAB_MIN;
	mp_pdu_guard_reset(g);
	return g;
}

void mp_pdu_guard_free(struct mp_pdu_guard *g)
{
	if (!g)
		return;
	free(g->tab);
	free(g);
}

void mp_pdu_guard_reset(struct mp_pdu_guard *g)
{
	struct task *tab = g->tab;
	uint32_t cap = g->cap;
	unsigned budget = g->budget;
	memset(tab, 0, (size_t)cap * sizeof(*tab));
	/* Only the fixed part is cleared; the text buffers are length-tracked. */
	memset(g, 0, offsetof(struct mp_pdu_guard, rej));
	g->tab = tab;
	g->cap = cap;
	g->budget = budget;
	g->in.hlen = BHS_LEN;
	g->out.hlen = BHS_LEN;
	g->tgt_dsl = LOGIN_DSL;
}

void mp_pdu_guard_budget(struct mp_pdu_guard *g, unsigned max_pdus)
{
	g->budget = max_pdus;
	g->delivered = 0;
}

bool mp_pdu_guard_in_paused(const struct mp_pdu_guard *g)
{
	return g->budget && g->delivered >= g->budget && g->in.hpos == 0 && !g->in.in_body;
}

bool mp_pdu_guard_failed(const struct mp_pdu_guard *g) { return g->failed; }
const char *mp_pdu_guard_error(const struct mp_pdu_guard *g) { return g->failed ? g->err : NULL; }
const char *mp_pdu_guard_redirect(const struct mp_pdu_guard *g) { return g->redirect[0] ? g->redirect : NULL; }

static uint32_t first_burst(const struct mp_pdu_guard *g)
{
	return g->fb_ans ? g->fb_ans : g->fb_offer ? g->fb_offer : 65536;
}
static uint32_t max_burst(const struct mp_pdu_guard *g)
{
	return g->mb_ans ? g->mb_ans : g->mb_offer ? g->mb_offer : 262144;
}
static uint32_t max_r2t(const struct mp_pdu_guard *g)
{
	return g->r2t_ans ? g->r2t_ans : g->r2t_offer ? g->r2t_offer : 1;
}
/* The data segment we accept: 8192 during login, then what we declared (8192 if we declared nothing). */
static uint32_t recv_dsl(const struct mp_pdu_guard *g)
{
	return g->ffp && g->my_dsl ? g->my_dsl : LOGIN_DSL;
}

void mp_pdu_guard_get_stats(const struct mp_pdu_guard *g, struct mp_pdu_guard_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->pdus_in = g->pdus_in;
	s->pdus_out = g->pdus_out;
	s->rejects = g->rejects;
	s->outstanding = g->count;
	s->full_feature = g->ffp;
	s->header_digest = g->hd;
	s->data_digest = g->dd;
	s->max_recv_dsl = recv_dsl(g);
	s->target_max_recv_dsl = g->tgt_dsl;
	s->max_burst = max_burst(g);
	s->first_burst = first_burst(g);
}

/* ---- helpers ---- */

static uint32_t be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }

/* CRC32C (Castagnoli, reflected), bit by bit: only 48 header bytes per PDU, and only with header digests on. */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

static const char *kind_name(const struct task *t)
{
	switch (t->kind) {
	case K_SCSI:
		return t->rd && t->wr ? "a bidirectional SCSI command" : t->rd ? "a READ" : t->wr ? "a WRITE"
			: "a SCSI command without data";
	case K_NOP: return "a NOP-Out";
	case K_LOGIN: return "the Login Request";
	case K_TEXT: return "a Text Request";
	case K_LOGOUT: return "the Logout Request";
	case K_TMF: return "a task management request";
	default: return "nothing";
	}
}

static const char *op_name(uint8_t op)
{
	switch (op) {
	case OP_NOP_IN: return "NOP-In";
	case OP_SCSI_RSP: return "SCSI Response";
	case OP_TMF_RSP: return "Task Management Response";
	case OP_LOGIN_RSP: return "Login Response";
	case OP_TEXT_RSP: return "Text Response";
	case OP_DATA_IN: return "Data-In";
	case OP_LOGOUT_RSP: return "Logout Response";
	case OP_R2T: return "R2T";
	case OP_ASYNC: return "Async Message";
	case OP_REJECT: return "Reject";
	default: return "PDU";
	}
}

/*
 * The task an answer names, if it has the expected kind; else a refusal
 * saying what the tag belongs to ("Data-In for ITT 0x12 (a NOP-Out), not a READ").
 */
static struct task *answer_of(struct mp_pdu_guard *g, uint8_t op, uint32_t itt, enum kind want, const char *what)
{
	struct task *t = find(g, itt);
	if (!t) {
		refuse(g, "%s for ITT 0x%x, which names no outstanding request (expected %s)", op_name(op), itt, what);
		return NULL;
	}
	if (t->kind != want) {
		refuse(g, "%s for ITT 0x%x (%s), not %s", op_name(op), itt, kind_name(t), what);
		return NULL;
	}
	return t;
}

/* True if libiscsi may still read this WRITE's buffer: part of the command or of a Data-Out has not left. */
static bool write_pending(const struct task *t)
{
	return t->wr && (!t->cmd_sent || t->unsol_open || t->r2t_out);
}

/*
 * Final status of a SCSI command (SCSI Response, or Data-In with S).
 * flags: the U (0x02) and O (0x04) bits; residual from the PDU.
 */
static int check_status(struct mp_pdu_guard *g, struct task *t, uint8_t status, uint8_t flags, uint32_t residual)
{
	bool over = flags & 0x04, under = flags & 0x02;
	bool good = status == 0x00 || status == 0x04; /* GOOD, CONDITION MET: libiscsi hands out the data */
	if (over && under)
		return refuse(g, "status for ITT 0x%x claims both residual overflow and underflow", t->itt);
	if (write_pending(t))
		return refuse(g, "WRITE ITT 0x%x: status 0x%02x after %u of %u bytes were sent, while libiscsi still "
			      "holds Data-Out for it", t->itt, status, t->out_sent, t->edtl);
	if (under && residual > t->edtl)
		return refuse(g, "ITT 0x%x: residual underflow of %u bytes for a %u-byte transfer", t->itt, residual,
			      t->edtl);
	if (!good)
		return 0;
	if (t->rd && !t->wr) {
		if (over)
			return refuse(g, "READ ITT 0x%x: GOOD with a residual overflow of %u bytes", t->itt, residual);
		uint32_t want = t->edtl - (under ? residual : 0);
		if (t->in_next != want) {
			if (under)
				return refuse(g, "READ ITT 0x%x: GOOD after %u of %u bytes of Data-In (residual underflow "
					      "%u: %u bytes due)", t->itt, t->in_next, t->edtl, residual, want);
			return refuse(g, "READ ITT 0x%x: GOOD after %u of %u bytes of Data-In", t->itt, t->in_next,
				      t->edtl);
		}
	} else if (t->wr && !t->rd) {
		if (over || under)
			return refuse(g, "WRITE ITT 0x%x: GOOD with a residual %s of %u bytes", t->itt,
				      over ? "overflow" : "underflow", residual);
		if (t->out_sent != t->edtl)
			return refuse(g, "WRITE ITT 0x%x: GOOD after %u of %u bytes were sent", t->itt, t->out_sent,
				      t->edtl);
	}
	return 0;
}

/* ---- login keys ---- */

/* At most n-1 bytes of a target's value for a message, non-printable bytes as '?', so logs stay plain text. */
static const char *shown(char *dst, size_t n, const char *v)
{
	size_t i = 0;
	for (; v[i] && i + 1 < n; i++)
		dst[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	dst[i] = '\0';
	return dst;
}

/* A decimal number in [lo, hi], as libiscsi reads it (base 10 only); -1 otherwise. */
static long dec(const char *v, long lo, long hi)
{
	if (!*v || strlen(v) > 9)
		return -1;
	long x = 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		x = x * 10 + (*p - '0');
	}
	return x >= lo && x <= hi ? x : -1;
}

static uint8_t digest_mask(const char *v)
{
	uint8_t m = 0;
	while (*v) {
		const char *e = strchr(v, ',');
		size_t n = e ? (size_t)(e - v) : strlen(v);
		if (n == 4 && !strncmp(v, "None", 4))
			m |= 1;
		else if (n == 6 && !strncmp(v, "CRC32C", 6))
			m |= 2;
		v += n;
		if (*v == ',')
			v++;
	}
	return m;
}

/* Calls fn for every complete "key=value" string in text[0..len). Stops at the first non-zero return. */
static int each_key(struct mp_pdu_guard *g, char *text, size_t len,
		    int (*fn)(struct mp_pdu_guard *g, const char *k, const char *v))
{
	size_t i = 0;
	while (i < len) {
		char *s = text + i;
		char *z = memchr(s, '\0', len - i);
		if (!z)
			break; /* an unterminated key: libiscsi refuses the PDU itself */
		i = (size_t)(z - text) + 1;
		char *eq = strchr(s, '=');
		if (!eq)
			continue;
		*eq = '\0';
		int rc = fn(g, s, eq + 1);
		*eq = '=';
		if (rc)
			return rc;
	}
	return 0;
}

static int our_key(struct mp_pdu_guard *g, const char *k, const char *v)
{
	long x;
	if (!strcmp(k, "HeaderDigest"))
		g->hd_offer = digest_mask(v);
	else if (!strcmp(k, "DataDigest"))
		g->dd_offer = digest_mask(v);
	else if (!strcmp(k, "MaxRecvDataSegmentLength") && (x = dec(v, DSL_MIN, DSL_MAX)) > 0)
		g->my_dsl = (uint32_t)x;
	else if (!strcmp(k, "MaxBurstLength") && (x = dec(v, DSL_MIN, DSL_MAX)) > 0)
		g->mb_offer = (uint32_t)x;
	else if (!strcmp(k, "FirstBurstLength") && (x = dec(v, DSL_MIN, DSL_MAX)) > 0)
		g->fb_offer = (uint32_t)x;
	else if (!strcmp(k, "MaxOutstandingR2T") && (x = dec(v, 1, 65535)) > 0)
		g->r2t_offer = (uint32_t)x;
	return 0;
}

static int len_key(struct mp_pdu_guard *g, const char *k, const char *v, long lo, long hi, uint32_t offer,
		   uint32_t *ans)
{
	long x = dec(v, lo, hi);
	char b[41];
	if (x < 0)
		return refuse(g, "login answer %s=%s: outside %ld..%ld", k, shown(b, sizeof(b), v), lo, hi);
	if (offer && (uint32_t)x > offer)
		return refuse(g, "login answer %s=%ld: more than the %u we offered", k, x, offer);
	*ans = (uint32_t)x;
	return 0;
}

static int digest_key(struct mp_pdu_guard *g, const char *k, const char *v, uint8_t offer, uint8_t *ans)
{
	uint8_t m = !strcmp(v, "None") ? 1 : !strcmp(v, "CRC32C") ? 2 : 0;
	/* A target's own offer (we offered nothing) can only be None: libiscsi would not answer it. */
	char b[41];
	if (!m || !((offer ? offer : 1) & m))
		return refuse(g, "login answer %s=%s: not one of the values we offered", k, shown(b, sizeof(b), v));
	*ans = m;
	return 0;
}

static int target_key(struct mp_pdu_guard *g, const char *k, const char *v)
{
	if (!strcmp(k, "MaxRecvDataSegmentLength"))
		return len_key(g, k, v, DSL_MIN, DSL_MAX, 0, &g->tgt_dsl);
	if (!strcmp(k, "MaxBurstLength"))
		return len_key(g, k, v, DSL_MIN, DSL_MAX, g->mb_offer, &g->mb_ans);
	if (!strcmp(k, "FirstBurstLength"))
		return len_key(g, k, v, DSL_MIN, DSL_MAX, g->fb_offer, &g->fb_ans);
	if (!strcmp(k, "MaxOutstandingR2T"))
		return len_key(g, k, v, 1, 65535, g->r2t_offer, &g->r2t_ans);
	if (!strcmp(k, "HeaderDigest"))
		return digest_key(g, k, v, g->hd_offer, &g->hd_ans);
	if (!strcmp(k, "DataDigest"))
		return digest_key(g, k, v, g->dd_offer, &g->dd_ans);
	/* iSER keys (RFC 7145): libiscsi applies them even on TCP, and 0 would hang its R2T loop. */
	char b[41];
	if (!strcmp(k, "TargetRecvDataSegmentLength") || !strcmp(k, "InitiatorRecvDataSegmentLength"))
		return refuse(g, "login answer %s=%s: an iSER key on a TCP connection", k, shown(b, sizeof(b), v));
	return 0;
}

static int redirect_key(struct mp_pdu_guard *g, const char *k, const char *v)
{
	if (strcmp(k, "TargetAddress"))
		return 0;
	size_t n = strlen(v);
	if (n == 0 || n > 255)
		return refuse(g, "login redirect with a TargetAddress of %zu bytes", n);
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return refuse(g, "login redirect with an unprintable TargetAddress");
	/* host[:port][,tpgt]; an IPv6 host is bracketed. */
	const char *host_end = v;
	if (v[0] == '[') {
		host_end = strchr(v, ']');
		if (!host_end)
			return refuse(g, "login redirect to %.60s: unterminated IPv6 address", v);
		host_end++;
	} else {
		host_end = v + strcspn(v, ":,");
	}
	if (host_end == v || (v[0] == '[' && host_end == v + 2))
		return refuse(g, "login redirect to %.60s: no host", v);
	const char *port = "3260";
	size_t port_len = 4;
	const char *rest = host_end;
	if (*rest == ':') {
		port = rest + 1;
		port_len = strcspn(port, ",");
		char tmp[8];
		if (port_len == 0 || port_len > 5)
			return refuse(g, "login redirect to %.60s: bad port", v);
		memcpy(tmp, port, port_len);
		tmp[port_len] = '\0';
		if (dec(tmp, 1, 65535) < 0)
			return refuse(g, "login redirect to %.60s: bad port", v);
		rest = port + port_len;
	}
	if (*rest && *rest != ',')
		return refuse(g, "login redirect to %.60s: not host[:port][,tpgt]", v);
	snprintf(g->redirect, sizeof(g->redirect), "%.*s:%.*s", (int)(host_end - v), v, (int)port_len, port);
	return 0;
}

/* A Login Response is complete: its keys, then the login's outcome. */
static int login_done(struct mp_pdu_guard *g)
{
	char *text = g->in_text;
	size_t len = g->in_text_len;
	uint8_t cls = (uint8_t)(g->rsp_status >> 8);
	if (cls == 1) {
		if (each_key(g, text, len, redirect_key))
			return -1;
		if (!g->redirect[0])
			return refuse(g, "login redirect (status 0x%04x) without a TargetAddress", g->rsp_status);
		return refuse(g, "redirected to %s (login status 0x%04x)", g->redirect, g->rsp_status);
	}
	if (cls != 0)
		return 0; /* a login failure: libiscsi reports it */
	if (each_key(g, text, len, target_key))
		return -1;
	if (first_burst(g) > max_burst(g))
		return refuse(g, "login answers FirstBurstLength %u above MaxBurstLength %u", first_burst(g),
			      max_burst(g));
	if (g->rsp_t && g->rsp_nsg == 3) {
		if ((g->hd_offer & 2) && !g->hd_ans)
			return refuse(g, "login finished without answering our HeaderDigest offer");
		if ((g->dd_offer & 2) && !g->dd_ans)
			return refuse(g, "login finished without answering our DataDigest offer");
		g->ffp = true;
		g->hd = g->hd_ans == 2;
		g->dd = g->dd_ans == 2;
		g->in.hlen = BHS_LEN + (g->hd ? DIGEST_LEN : 0);
	}
	return 0;
}

/* ---- receive side ---- */

static int in_pdu_done(struct mp_pdu_guard *g)
{
	struct dir *d = &g->in;
	d->in_body = false;
	d->hpos = 0;
	g->pdus_in++;
	g->delivered++;
	if (d->capture == CAP_LOGIN)
		return login_done(g);
	if (d->capture == CAP_REJECT) {
		uint8_t reason = d->hdr[2];
		uint32_t itt = mp_be32(g->rej + 16);
		struct task *t = find(g, itt);
		/* libiscsi fails and frees the rejected request (not for "waiting for logout"). */
		if (t && reason != 0x0e) {
			if (write_pending(t))
				return refuse(g, "Reject (reason 0x%02x) of WRITE ITT 0x%x while its data is still being "
					      "sent", reason, itt);
			del(g, t);
		}
	}
	return 0;
}

static int in_header(struct mp_pdu_guard *g)
{
	struct dir *d = &g->in;
	const uint8_t *h = d->hdr;
	if (g->hd) {
		uint32_t want = crc32c(h, BHS_LEN);
		uint32_t got = (uint32_t)h[48] | (uint32_t)h[49] << 8 | (uint32_t)h[50] << 16 | (uint32_t)h[51] << 24;
		if (want != got)
			return refuse(g, "header digest mismatch (0x%08x, computed 0x%08x)", got, want);
	}
	uint8_t op = h[0] & 0x3f;
	uint8_t flags = h[1];
	uint32_t dsl = be24(h + 5);
	uint32_t itt = mp_be32(h + 16);
	d->op = op;
	d->itt = itt;
	d->capture = CAP_NONE;
	switch (op) {
	case OP_NOP_IN: case OP_SCSI_RSP: case OP_TMF_RSP: case OP_LOGIN_RSP: case OP_TEXT_RSP:
	case OP_DATA_IN: case OP_LOGOUT_RSP: case OP_R2T: case OP_ASYNC: case OP_REJECT:
		break;
	default:
		return refuse(g, "opcode 0x%02x is not one a target sends", op);
	}
	if (h[4])
		return refuse(g, "%s with %u bytes of AHS, which libiscsi cannot parse", op_name(op), h[4] * 4u);
	uint32_t lim = recv_dsl(g);
	if (dsl > lim)
		return refuse(g, "%s with a %u-byte data segment; we accept at most %u", op_name(op), dsl, lim);
	/* During login only Login Responses and Rejects come; answers to other requests fail their tag lookup. */
	if (!g->ffp && (op == OP_ASYNC || (op == OP_NOP_IN && itt == NO_TAG)))
		return refuse(g, "%s during login", op_name(op));

	struct task *t;
	switch (op) {
	case OP_DATA_IN: {
		if (!(t = answer_of(g, op, itt, K_SCSI, "a READ")))
			return -1;
		if (!t->rd)
			return refuse(g, "Data-In for ITT 0x%x (%s), not a READ", itt, kind_name(t));
		uint32_t sn = mp_be32(h + 36), off = mp_be32(h + 40);
		if (flags & 0x40)
			return refuse(g, "Data-In for ITT 0x%x asks for a DataACK (ErrorRecoveryLevel is 0)", itt);
		if ((flags & 0x01) && !(flags & 0x80))
			return refuse(g, "Data-In for ITT 0x%x carries status without the Final bit", itt);
		if (sn != t->data_sn)
			return refuse(g, "Data-In for READ ITT 0x%x with DataSN %u, expected %u", itt, sn, t->data_sn);
		if (off != t->in_next)
			return refuse(g, "Data-In for READ ITT 0x%x at offset %u, expected %u (in order, no gaps)", itt,
				      off, t->in_next);
		if ((uint64_t)off + dsl > t->edtl)
			return refuse(g, "Data-In for READ ITT 0x%x: %u bytes at offset %u, beyond its %u-byte length",
				      itt, dsl, off, t->edtl);
		t->in_next += dsl;
		t->data_sn++;
		if (flags & 0x01) {
			if (check_status(g, t, h[3], flags, mp_be32(h + 44)) < 0)
				return -1;
			del(g, t);
		}
		break;
	}
	case OP_R2T: {
		if (!(t = answer_of(g, op, itt, K_SCSI, "a WRITE")))
			return -1;
		if (!t->wr)
			return refuse(g, "R2T for ITT 0x%x (%s), not a WRITE", itt, kind_name(t));
		uint32_t sn = mp_be32(h + 36), off = mp_be32(h + 40), len = mp_be32(h + 44);
		if (dsl)
			return refuse(g, "R2T for ITT 0x%x with a %u-byte data segment", itt, dsl);
		if (sn != t->r2t_sn)
			return refuse(g, "R2T for WRITE ITT 0x%x with R2TSN %u, expected %u", itt, sn, t->r2t_sn);
		if (len == 0)
			return refuse(g, "R2T for 0 bytes (WRITE ITT 0x%x)", itt);
		if ((uint64_t)off + len > t->edtl)
			return refuse(g, "R2T for %u bytes at offset %u of a %u-byte WRITE (ITT 0x%x)", len, off, t->edtl,
				      itt);
		if (len > max_burst(g))
			return refuse(g, "R2T for %u bytes, above MaxBurstLength %u (WRITE ITT 0x%x)", len, max_burst(g),
				      itt);
		if (off < t->req_end)
			return refuse(g, "R2T at offset %u asks again for data already sent or asked for (up to %u) "
				      "(WRITE ITT 0x%x)", off, t->req_end, itt);
		if (t->r2t_out >= max_r2t(g))
			return refuse(g, "R2T for WRITE ITT 0x%x while %u R2T(s) are outstanding (MaxOutstandingR2T %u)",
				      itt, t->r2t_out, max_r2t(g));
		t->r2t_out++;
		t->r2t_sn++;
		t->req_end = off + len;
		break;
	}
	case OP_SCSI_RSP: {
		if (!(t = answer_of(g, op, itt, K_SCSI, "a SCSI command")))
			return -1;
		if (!(flags & 0x80))
			return refuse(g, "SCSI Response for ITT 0x%x without the Final bit", itt);
		if (flags & 0x18)
			return refuse(g, "SCSI Response for ITT 0x%x with a bidirectional residual", itt);
		if (h[2] != 0 && (h[3] == 0x00 || h[3] == 0x04))
			return refuse(g, "SCSI Response for ITT 0x%x: iSCSI response 0x%02x (failure) with status GOOD",
				      itt, h[2]);
		if (check_status(g, t, h[3], flags, mp_be32(h + 44)) < 0)
			return -1;
		del(g, t);
		break;
	}
	case OP_NOP_IN:
		if (itt == NO_TAG) {
			if (mp_be32(h + 20) != NO_TAG && ++g->pings > MAX_PINGS)
				return refuse(g, "NOP-In storm: %u pings without reading our answers", g->pings);
			break;
		}
		if (!(t = answer_of(g, op, itt, K_NOP, "a NOP-Out")))
			return -1;
		del(g, t);
		break;
	case OP_LOGIN_RSP: {
		if (g->ffp)
			return refuse(g, "Login Response for ITT 0x%x after login finished", itt);
		if (!(t = answer_of(g, op, itt, K_LOGIN, "the Login Request")))
			return -1;
		bool tr = flags & 0x80;
		uint8_t nsg = flags & 3;
		g->rsp_status = mp_be16(h + 36);
		if (tr && (g->rsp_status >> 8) == 0) {
			if (!g->req_t || nsg > g->req_nsg || nsg == 2)
				return refuse(g, "Login Response moves to stage %u, which we did not ask for", nsg);
		}
		g->rsp_t = tr;
		g->rsp_nsg = nsg;
		del(g, t);
		d->capture = CAP_LOGIN;
		g->in_text_len = 0;
		break;
	}
	case OP_TEXT_RSP:
		if (!(t = answer_of(g, op, itt, K_TEXT, "a Text Request")))
			return -1;
		if (flags & 0x80)
			del(g, t);
		break;
	case OP_LOGOUT_RSP:
		if (!(t = answer_of(g, op, itt, K_LOGOUT, "the Logout Request")))
			return -1;
		del(g, t);
		break;
	case OP_TMF_RSP: {
		if (!(t = answer_of(g, op, itt, K_TMF, "a task management request")))
			return -1;
		uint8_t fn = t->tmf_fn;
		uint32_t ref = t->ref_itt;
		del(g, t);
		/* ABORT TASK done, or the task unknown: the target will not answer it any more. */
		if (fn == 1 && h[2] <= 1 && (t = find(g, ref)) && !write_pending(t))
			del(g, t);
		break;
	}
	case OP_ASYNC: {
		uint8_t ev = h[36];
		uint16_t p2 = mp_be16(h + 40), p3 = mp_be16(h + 42);
		switch (ev) {
		case 0:
			break; /* a SCSI asynchronous event: sense data in the segment */
		case 1:
			return refuse(g, "target asks for logout within %u s (Async Message)", p3);
		case 2:
			return refuse(g, "target will drop this connection (Async Message, Time2Wait %u s)", p2);
		case 3:
			return refuse(g, "target will drop all connections of the session (Async Message, Time2Wait %u s)",
				      p2);
		case 4:
			return refuse(g, "target asks to renegotiate parameters (Async Message)");
		default:
			return refuse(g, "Async Message with event %u", ev);
		}
		break;
	}
	case OP_REJECT:
		g->rejects++;
		if (dsl < BHS_LEN)
			return refuse(g, "Reject (reason 0x%02x) with %u bytes of data; the rejected header takes 48",
				      h[2], dsl);
		d->capture = CAP_REJECT;
		g->rej_len = 0;
		break;
	}

	uint32_t pad = (4 - (dsl & 3)) & 3;
	d->dbeg = 0;
	d->dend = dsl;
	d->blen = (uint64_t)dsl + pad + (g->dd && dsl ? DIGEST_LEN : 0);
	d->bpos = 0;
	d->hpos = 0;
	if (d->blen == 0)
		return in_pdu_done(g);
	d->in_body = true;
	return 0;
}

int mp_pdu_guard_in(struct mp_pdu_guard *g, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	struct dir *d = &g->in;
	if (g->failed) {
		errno = EPROTO;
		return -1;
	}
	while (n) {
		if (!d->in_body) {
			size_t take = MP_MIN(n, (size_t)(d->hlen - d->hpos));
			memcpy(d->hdr + d->hpos, p, take);
			d->hpos += (uint32_t)take;
			p += take;
			n -= take;
			if (d->hpos == d->hlen && in_header(g) < 0)
				return -1;
			continue;
		}
		size_t take = (size_t)MP_MIN((uint64_t)n, d->blen - d->bpos);
		if (d->capture && d->bpos < d->dend) {
			size_t k = (size_t)MP_MIN((uint64_t)take, d->dend - d->bpos);
			if (d->capture == CAP_LOGIN) {
				size_t room = TEXT_MAX - g->in_text_len;
				size_t c = MP_MIN(k, room);
				memcpy(g->in_text + g->in_text_len, p, c);
				g->in_text_len += c;
			} else if (g->rej_len < BHS_LEN) {
				size_t c = MP_MIN(k, BHS_LEN - g->rej_len);
				memcpy(g->rej + g->rej_len, p, c);
				g->rej_len += c;
			}
		}
		d->bpos += take;
		p += take;
		n -= take;
		if (d->bpos == d->blen && in_pdu_done(g) < 0)
			return -1;
	}
	return 0;
}

/* ---- send side ---- */

static int out_fail(struct mp_pdu_guard *g)
{
	refuse(g, "out of memory tracking task tags");
	errno = ENOMEM;
	return -1;
}

static int out_pdu_done(struct mp_pdu_guard *g)
{
	struct dir *d = &g->out;
	d->in_body = false;
	d->hpos = 0;
	const uint8_t *h = d->hdr;
	struct task *t;
	switch (d->op) {
	case OP_SCSI_CMD:
		if ((t = find(g, d->itt)) && t->kind == K_SCSI)
			t->cmd_sent = true;
		break;
	case OP_DATA_OUT:
		if ((h[1] & 0x80) && (t = find(g, d->itt)) && t->kind == K_SCSI) {
			if (mp_be32(h + 20) == NO_TAG)
				t->unsol_open = false;
			else if (t->r2t_out)
				t->r2t_out--;
		}
		break;
	case OP_LOGIN_REQ:
		if (d->capture && !g->ffp)
			each_key(g, g->out_text, g->out_text_len, our_key);
		break;
	}
	return 0;
}

static int out_header(struct mp_pdu_guard *g)
{
	struct dir *d = &g->out;
	const uint8_t *h = d->hdr;
	uint8_t op = h[0] & 0x3f;
	uint32_t dsl = be24(h + 5);
	uint32_t itt = mp_be32(h + 16);
	uint32_t ahs = h[4] * 4u;
	struct task *t;
	d->op = op;
	d->itt = itt;
	d->capture = CAP_NONE;
	g->pdus_out++;
	switch (op) {
	case OP_SCSI_CMD: {
		if (!(t = add(g, itt, K_SCSI)))
			return out_fail(g);
		uint8_t f = h[1];
		t->rd = f & 0x40;
		t->wr = f & 0x20;
		t->edtl = mp_be32(h + 20);
		if (t->wr) {
			t->unsol_open = !(f & 0x80);
			t->req_end = t->unsol_open ? MP_MIN(t->edtl, first_burst(g)) : MP_MIN(dsl, t->edtl);
		}
		break;
	}
	case OP_NOP_OUT:
		if (itt == NO_TAG) {
			if (g->pings)
				g->pings--;
		} else if (!add(g, itt, K_NOP)) {
			return out_fail(g);
		}
		break;
	case OP_LOGIN_REQ:
		if (!add(g, itt, K_LOGIN))
			return out_fail(g);
		g->req_t = h[1] & 0x80;
		g->req_nsg = h[1] & 3;
		/* Offers count during login only: negotiated values never change in full feature phase. */
		d->capture = g->ffp ? CAP_NONE : CAP_LOGIN;
		g->out_text_len = 0;
		break;
	case OP_TEXT_REQ:
		if (!(t = find(g, itt)) && !add(g, itt, K_TEXT))
			return out_fail(g);
		break;
	case OP_LOGOUT_REQ:
		if (!add(g, itt, K_LOGOUT))
			return out_fail(g);
		break;
	case OP_TMF_REQ:
		if (!(t = add(g, itt, K_TMF)))
			return out_fail(g);
		t->tmf_fn = h[1] & 0x7f;
		t->ref_itt = mp_be32(h + 20);
		break;
	default:
		break; /* Data-Out counts its bytes below; SNACK and others carry nothing we track */
	}
	uint32_t hd = g->hd ? DIGEST_LEN : 0;
	uint32_t pad = (4 - (dsl & 3)) & 3;
	d->dbeg = (uint64_t)ahs + hd;
	d->dend = d->dbeg + dsl;
	d->blen = d->dend + pad + (g->dd && dsl ? DIGEST_LEN : 0);
	d->bpos = 0;
	d->hpos = 0;
	if (d->blen == 0)
		return out_pdu_done(g);
	d->in_body = true;
	return 0;
}

int mp_pdu_guard_out(struct mp_pdu_guard *g, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	struct dir *d = &g->out;
	while (n) {
		if (!d->in_body) {
			size_t take = MP_MIN(n, (size_t)(d->hlen - d->hpos));
			memcpy(d->hdr + d->hpos, p, take);
			d->hpos += (uint32_t)take;
			p += take;
			n -= take;
			if (d->hpos == d->hlen && out_header(g) < 0)
				return -1;
			continue;
		}
		size_t take = (size_t)MP_MIN((uint64_t)n, d->blen - d->bpos);
		uint64_t a = MP_MAX(d->bpos, d->dbeg), b = MP_MIN(d->bpos + take, d->dend);
		if (a < b) {
			/* Data bytes that left: immediate data of a command, or a Data-Out's. */
			if (d->op == OP_SCSI_CMD || d->op == OP_DATA_OUT) {
				struct task *t = find(g, d->itt);
				if (t && t->kind == K_SCSI)
					t->out_sent += (uint32_t)(b - a);
			} else if (d->capture == CAP_LOGIN) {
				size_t c = MP_MIN((size_t)(b - a), TEXT_MAX - g->out_text_len);
				memcpy(g->out_text + g->out_text_len, p + (a - d->bpos), c);
				g->out_text_len += c;
			}
		}
		d->bpos += take;
		p += take;
		n -= take;
		if (d->bpos == d->blen)
			out_pdu_done(g);
	}
	return 0;
}
