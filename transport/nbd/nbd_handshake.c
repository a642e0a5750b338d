/* NBD fixed newstyle option haggling: LIST, INFO, GO, EXPORT_NAME, STRUCTURED_REPLY, ABORT, STARTTLS and the TLS policy. */
#include "transport/nbd/nbd_int.h"

#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "common/util.h"

bool nbd_hs_reply(struct nbd_conn *c, uint32_t option, uint32_t type, const void *data, size_t len)
{
	uint8_t stackbuf[NBD_OPT_REPLY_HDR_LEN + 64];
	uint8_t *buf = stackbuf;

	if (len > sizeof(stackbuf) - NBD_OPT_REPLY_HDR_LEN) {
		buf = malloc(NBD_OPT_REPLY_HDR_LEN + len);
		if (!buf) {
			nbd_conn_close(c, "out of memory");
			return false;
		}
	}
	nbd_build_opt_reply_hdr(buf, option, type, (uint32_t)len);
	if (len)
		memcpy(buf + NBD_OPT_REPLY_HDR_LEN, data, len);
	bool ok = nbd_conn_queue_copy(c, buf, NBD_OPT_REPLY_HDR_LEN + len);
	if (buf != stackbuf)
		free(buf);
	return ok;
}

bool nbd_hs_error(struct nbd_conn *c, uint32_t option, uint32_t type, const char *msg)
{
	mp_debug("nbd: client %llu: option %s refused: %s", (unsigned long long)c->id,
		 nbd_opt_name(option), msg);
	return nbd_hs_reply(c, option, type, msg, strlen(msg));
}

/* Everything a client learns about an export when it selects it. */
struct export_view {
	const struct nbd_export *exp;
	struct nbd_export_limits lim;
	struct nbd_block_sizes bs;
};

/*
 * Look up an export and read its LU's current size and limits. Returns 0, or
 * the option error to send (with *why set, possibly pointing into whybuf).
 */
static uint32_t export_view_get(struct nbd_conn *c, const char *name, size_t len, struct export_view *v,
				const char **why, char *whybuf, size_t whylen)
{
	if (!c->srv) {
		*why = "server shutting down";
		return NBD_REP_ERR_SHUTDOWN;
	}
	v->exp = nbd_server_find_export(c->srv, name, len);
	if (!v->exp) {
		/* A name the owner will export once its disk is ready: say so, the client may retry. */
		struct nbd_server *srv = c->srv;
		whybuf[0] = '\0';
		if (srv->pending && srv->pending(srv->pending_arg, name, len, whybuf, whylen) && whybuf[0]) {
			*why = whybuf;
			return NBD_REP_ERR_UNKNOWN;
		}
		*why = "no such export";
		return NBD_REP_ERR_UNKNOWN;
	}
	const struct mp_lu_info *info = mp_lu_get_info(v->exp->lu);
	if (!info || info->block_size == 0) {
		*why = "export not ready: no path to its logical unit has attached yet";
		return NBD_REP_ERR_UNKNOWN;
	}
	if (info->num_blocks > UINT64_MAX / info->block_size) {
		*why = "logical unit size does not fit in 64 bits";
		return NBD_REP_ERR_PLATFORM;
	}
	nbd_block_sizes_for(info->block_size, (uint64_t)info->opt_xfer_blocks * info->block_size, &v->bs);
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
		     NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN;
	if (info->lbpu)
		f |= NBD_FLAG_SEND_TRIM;
	if (info->write_protect)
		f |= NBD_FLAG_READ_ONLY;
	if (c->structured)
		f |= NBD_FLAG_SEND_DF;
	v->lim.size = info->num_blocks * info->block_size;
	v->lim.min_block = v->bs.min;
	if (c->srv && c->srv->lim.max_request < v->bs.max) {
		/* The configured ceiling, kept a multiple of the minimum block size, is also the
		 * maximum block size the client is told (NBD_INFO_BLOCK_SIZE). */
		uint32_t m = c->srv->lim.max_request - c->srv->lim.max_request % v->bs.min;
		v->bs.max = m >= v->bs.min ? m : v->bs.min;
		if (v->bs.pref > v->bs.max)
			v->bs.pref = v->bs.max;
	}
	v->lim.max_payload = v->bs.max;
	v->lim.tflags = f;
	v->lim.structured = c->structured;
	return 0;
}

static void enter_transmission(struct nbd_conn *c, const struct export_view *v)
{
	c->lu = v->exp->lu;
	c->lim = v->lim;
	nbd_conn_expect(c, RS_REQ_HDR, c->small, NBD_REQUEST_LEN);
	mp_info("nbd: client %llu: export '%.*s' size %llu%s%s", (unsigned long long)c->id,
		(int)v->exp->name_len, v->exp->name, (unsigned long long)v->lim.size,
		c->structured ? ", structured replies" : "",
		(v->lim.tflags & NBD_FLAG_READ_ONLY) ? ", read-only" : "");
}

static void opt_export_name(struct nbd_conn *c)
{
	struct export_view v;
	const char *why = NULL;
	char whybuf[NBD_PENDING_WHY_MAX];
	uint8_t rep[NBD_EXPORT_NAME_REPLY_LEN];

	/* This option has no error reply: an unusable export means disconnect. */
	if (memchr(c->optbuf, '\0', c->opt.length) || c->opt.length > NBD_MAX_STRING) {
		nbd_conn_close(c, "bad export name");
		return;
	}
	if (export_view_get(c, (const char *)c->optbuf, c->opt.length, &v, &why, whybuf, sizeof(whybuf))) {
		nbd_conn_close(c, why);
		return;
	}
	size_t n = nbd_build_export_name_reply(rep, v.lim.size, v.lim.tflags, c->no_zeroes);
	if (nbd_conn_queue_copy(c, rep, n))
		enter_transmission(c, &v);
}

static void opt_info_go(struct nbd_conn *c)
{
	struct nbd_opt_go go;
	struct export_view v;
	const char *why = NULL;
	char whybuf[NBD_PENDING_WHY_MAX];
	uint32_t opt = c->opt.option;
	uint8_t buf[2 + NBD_MAX_STRING];

	uint32_t e = nbd_opt_go_parse(c->optbuf, c->opt.length, &go);
	if (e) {
		nbd_hs_error(c, opt, e, e == NBD_REP_ERR_TOO_BIG ? "export name too long" : "malformed request");
		return;
	}
	e = export_view_get(c, go.name, go.name_len, &v, &why, whybuf, sizeof(whybuf));
	if (e) {
		nbd_hs_error(c, opt, e, why);
		return;
	}
	size_t n = nbd_build_info_export(buf, v.lim.size, v.lim.tflags);
	if (!nbd_hs_reply(c, opt, NBD_REP_INFO, buf, n))
		return;
	if (nbd_opt_go_wants(&go, NBD_INFO_NAME)) {
		n = nbd_build_info_string(buf, NBD_INFO_NAME, v.exp->name, v.exp->name_len);
		if (!nbd_hs_reply(c, opt, NBD_REP_INFO, buf, n))
			return;
	}
	if (nbd_opt_go_wants(&go, NBD_INFO_DESCRIPTION) && v.exp->desc_len) {
		n = nbd_build_info_string(buf, NBD_INFO_DESCRIPTION, v.exp->desc, v.exp->desc_len);
		if (!nbd_hs_reply(c, opt, NBD_REP_INFO, buf, n))
			return;
	}
	/* Sent whether asked for or not (the protocol allows it): alignment is enforced. */
	n = nbd_build_info_block_size(buf, &v.bs);
	if (!nbd_hs_reply(c, opt, NBD_REP_INFO, buf, n))
		return;
	if (!nbd_hs_reply(c, opt, NBD_REP_ACK, NULL, 0))
		return;
	if (opt == NBD_OPT_GO)
		enter_transmission(c, &v);
}

static void opt_list(struct nbd_conn *c)
{
	uint8_t buf[4 + 2 * NBD_MAX_STRING];

	if (c->opt.length) {
		nbd_hs_error(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID, "LIST takes no data");
		return;
	}
	if (!c->srv) {
		nbd_hs_error(c, NBD_OPT_LIST, NBD_REP_ERR_SHUTDOWN, "server shutting down");
		return;
	}
	for (const struct nbd_export *e = c->srv->exports; e; e = e->next) {
		size_t n = nbd_build_rep_server(buf, e->name, e->name_len);
		memcpy(buf + n, e->desc, e->desc_len);
		if (!nbd_hs_reply(c, NBD_OPT_LIST, NBD_REP_SERVER, buf, n + e->desc_len))
			return;
	}
	nbd_hs_reply(c, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

static void opt_starttls(struct nbd_conn *c)
{
	if (c->opt.length) {
		nbd_hs_error(c, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID, "STARTTLS takes no data");
		return;
	}
	if (nbd_conn_tls_on(c)) {
		nbd_hs_error(c, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID, "TLS is already active");
		return;
	}
	if (c->tls_policy == NBD_TLS_NONE || !c->srv || !c->srv->tls) {
		nbd_hs_error(c, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY, "TLS is not offered on this address");
		return;
	}
	/* Anything negotiated in the clear could have been injected: start over under TLS. */
	c->structured = false;
	if (nbd_hs_reply(c, NBD_OPT_STARTTLS, NBD_REP_ACK, NULL, 0))
		c->tls_starting = true;  /* the handshake begins once the ACK is written (nbd_conn.c) */
}

/*
 * FORCEDTLS before TLS: STARTTLS and ABORT go through; EXPORT_NAME can not be
 * answered with an error, so it closes; every other option, known or not, gets
 * NBD_REP_ERR_TLS_REQD. Returns true if the option was dealt with here.
 */
static bool tls_gate(struct nbd_conn *c, uint32_t opt)
{
	if (c->tls_policy != NBD_TLS_REQUIRED || nbd_conn_tls_on(c))
		return false;
	if (opt == NBD_OPT_STARTTLS || opt == NBD_OPT_ABORT)
		return false;
	if (opt == NBD_OPT_EXPORT_NAME) {
		nbd_conn_close(c, "EXPORT_NAME without TLS, which this address requires");
		return true;
	}
	if (!c->tls_reqd_logged) {  /* once per client: enough to see why a plain client failed */
		c->tls_reqd_logged = true;
		mp_info("nbd: client %llu: option %s refused: TLS is required on this address",
			(unsigned long long)c->id, nbd_opt_name(opt));
	}
	nbd_hs_error(c, opt, NBD_REP_ERR_TLS_REQD, "TLS is required: send NBD_OPT_STARTTLS first");
	return true;
}

void nbd_hs_option(struct nbd_conn *c)
{
	uint32_t opt = c->opt.option;

	mp_debug("nbd: client %llu: option %s (%u), %u bytes", (unsigned long long)c->id,
		 nbd_opt_name(opt), opt, c->opt.length);
	if (tls_gate(c, opt))
		return;
	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		opt_export_name(c);
		break;
	case NBD_OPT_ABORT:
		/* Acknowledge (the client may not read it) and close once written. */
		if (nbd_hs_reply(c, opt, NBD_REP_ACK, NULL, 0))
			nbd_conn_expect(c, RS_DRAIN, NULL, 0);
		break;
	case NBD_OPT_LIST:
		opt_list(c);
		break;
	case NBD_OPT_STARTTLS:
		opt_starttls(c);
		break;
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		opt_info_go(c);
		break;
	case NBD_OPT_STRUCTURED_REPLY:
		if (c->opt.length) {
			nbd_hs_error(c, opt, NBD_REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
			break;
		}
		c->structured = true;
		nbd_hs_reply(c, opt, NBD_REP_ACK, NULL, 0);
		break;
	default:
		nbd_hs_error(c, opt, NBD_REP_ERR_UNSUP, "option not supported");
		break;
	}
}
