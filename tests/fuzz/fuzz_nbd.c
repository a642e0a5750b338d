/* libFuzzer target: NBD client bytes (client flags, options, GO/INFO data, request headers) through the pure nbd_proto.h functions, in handshake order. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/util.h"
#include "transport/nbd/nbd_proto.h"
#include "tests/fuzz/fuzz_common.h"

/*
 * Input layout. The server's real input state machine (nbd_conn.c) reads
 * from a socket and needs a live LU behind each export, so it is not driven
 * here; instead this walks a byte stream in the same order as its conn_step():
 *
 *   18 bytes  export: block size (be32), optimal transfer (be32), size (be64),
 *             transmission flags (be16) - what the LU would report
 *    4 bytes  client flags
 *   options   16-byte header + data each, until GO/EXPORT_NAME succeeds
 *   requests  28-byte headers, a WRITE's payload following its header
 *
 * Every fixed-size item and every option payload is copied into a buffer of
 * exactly its size so that AddressSanitizer sees any read beyond it.
 */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	if (c->left < n)
		return NULL;
	const uint8_t *r = c->p;
	c->p += n;
	c->left -= n;
	return r;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static void check_block_sizes(uint32_t block_size, uint64_t opt_xfer, struct nbd_block_sizes *bs)
{
	nbd_block_sizes_for(block_size, opt_xfer, bs);
	FUZZ_CHECK(bs->min >= 1);
	FUZZ_CHECK(bs->min == (block_size ? block_size : 1));
	FUZZ_CHECK(bs->min <= bs->pref && bs->pref <= bs->max);
	FUZZ_CHECK(bs->max % bs->min == 0);
	FUZZ_CHECK(bs->max <= NBD_MAX_PAYLOAD || bs->max == bs->min);
	FUZZ_CHECK(is_pow2(bs->pref) || bs->pref == bs->min);
}

static void check_go(const uint8_t *d, uint32_t len, uint32_t e, const struct nbd_opt_go *go)
{
	if (e) {
		FUZZ_CHECK(e == NBD_REP_ERR_INVALID || e == NBD_REP_ERR_TOO_BIG);
		return;
	}
	FUZZ_CHECK(len >= 6);
	FUZZ_CHECK(go->name == (const char *)d + 4);
	FUZZ_CHECK(go->name_len <= NBD_MAX_STRING && go->name_len <= len - 6);
	FUZZ_CHECK(!memchr(go->name, '\0', go->name_len));
	uint32_t n = mp_be16(d + 4 + go->name_len);
	FUZZ_CHECK((uint64_t)len == 6u + go->name_len + 2u * (uint64_t)n);
	FUZZ_CHECK(go->n_info == MP_MIN(n, NBD_MAX_INFO_REQS));
	for (uint16_t i = 0; i < go->n_info; i++)
		FUZZ_CHECK(nbd_opt_go_wants(go, go->info[i]));
}

/* A request that passed must be one the core can execute as is. */
static void check_request(const struct nbd_request *q, const struct nbd_export_limits *lim,
			  enum nbd_verdict v, uint32_t err)
{
	bool ranged = q->type == NBD_CMD_READ || q->type == NBD_CMD_WRITE || q->type == NBD_CMD_TRIM ||
		      q->type == NBD_CMD_WRITE_ZEROES;
	bool modifies = q->type == NBD_CMD_WRITE || q->type == NBD_CMD_TRIM || q->type == NBD_CMD_WRITE_ZEROES;

	switch (v) {
	case NBD_VERDICT_OK:
		FUZZ_CHECK(err == NBD_SUCCESS);
		if (q->type == NBD_CMD_DISC)
			break;
		FUZZ_CHECK(q->type <= NBD_CMD_BLOCK_STATUS);
		if (ranged) {
			FUZZ_CHECK(q->offset <= lim->size && q->length <= lim->size - q->offset);
			FUZZ_CHECK(q->offset % lim->min_block == 0 && q->length % lim->min_block == 0);
		}
		if (q->type == NBD_CMD_READ || q->type == NBD_CMD_WRITE)
			FUZZ_CHECK(q->length <= lim->max_payload);
		if (modifies)
			FUZZ_CHECK(!(lim->tflags & NBD_FLAG_READ_ONLY));
		if (q->flags & NBD_CMD_FLAG_FUA)
			FUZZ_CHECK(lim->tflags & NBD_FLAG_SEND_FUA);
		if (q->flags & NBD_CMD_FLAG_DF)
			FUZZ_CHECK(lim->structured && (lim->tflags & NBD_FLAG_SEND_DF));
		if (q->type == NBD_CMD_TRIM)
			FUZZ_CHECK(lim->tflags & NBD_FLAG_SEND_TRIM);
		break;
	case NBD_VERDICT_ERROR:
		FUZZ_CHECK(err == NBD_EINVAL || err == NBD_EPERM || err == NBD_EOVERFLOW);
		FUZZ_CHECK(err != NBD_EOVERFLOW || lim->structured);
		break;
	case NBD_VERDICT_DISCONNECT:
		FUZZ_CHECK(q->type == NBD_CMD_WRITE && q->length > lim->max_payload);
		break;
	default:
		FUZZ_CHECK(!"verdict out of range");
	}
	FUZZ_CHECK(nbd_request_payload_len(q) == (q->type == NBD_CMD_WRITE ? q->length : 0));
	FUZZ_CHECK(nbd_cmd_name(q->type) != NULL);
}

/* Transmission phase: request headers until DISC, a disconnect, or the end of input. */
static void transmission(struct cursor *c, const struct nbd_export_limits *lim)
{
	const uint8_t *p;
	while ((p = take(c, NBD_REQUEST_LEN))) {
		uint8_t hdr[NBD_REQUEST_LEN];
		struct nbd_request q;
		uint32_t err = 12345;
		memcpy(hdr, p, sizeof(hdr));
		if (nbd_request_parse(hdr, &q) < 0) {
			FUZZ_CHECK(q.magic != NBD_REQUEST_MAGIC);
			return;
		}
		enum nbd_verdict v = nbd_request_check(&q, lim, &err);
		check_request(&q, lim, v, err);
		if (v == NBD_VERDICT_DISCONNECT || q.type == NBD_CMD_DISC)
			return;
		/* The payload of a WRITE follows, accepted or refused. */
		if (!take(c, nbd_request_payload_len(&q)))
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	const uint8_t *p;
	bool no_zeroes = false, structured = false;
	struct nbd_block_sizes bs;

	if (!(p = take(&c, 18)))
		return 0;
	uint32_t block_size = mp_be32(p);
	uint64_t opt_xfer = mp_be32(p + 4);
	uint64_t export_size = mp_be64(p + 8);
	uint16_t tflags = mp_be16(p + 16);
	check_block_sizes(block_size, opt_xfer, &bs);

	if (!(p = take(&c, NBD_CLIENT_FLAGS_LEN)))
		return 0;
	uint32_t cflags = mp_be32(p);
	if (nbd_client_flags_check(cflags, &no_zeroes) < 0)
		return 0;
	FUZZ_CHECK((cflags & NBD_FLAG_C_FIXED_NEWSTYLE) && !(cflags & ~NBD_CLIENT_FLAGS_KNOWN));
	FUZZ_CHECK(no_zeroes == !!(cflags & NBD_FLAG_C_NO_ZEROES));

	while ((p = take(&c, NBD_OPT_HDR_LEN))) {
		uint8_t raw[NBD_OPT_HDR_LEN];
		struct nbd_opt_hdr h;
		memcpy(raw, p, sizeof(raw));
		if (nbd_opt_hdr_parse(raw, &h) < 0) {
			FUZZ_CHECK(h.magic != NBD_IHAVEOPT);
			return 0;
		}
		FUZZ_CHECK(nbd_opt_name(h.option) != NULL);
		if (h.length > NBD_MAX_OPT_LEN) {
			/* The server discards it (or disconnects for EXPORT_NAME and huge lengths). */
			if (h.option == NBD_OPT_EXPORT_NAME || !take(&c, h.length))
				return 0;
			continue;
		}
		if (!(p = take(&c, h.length)))
			return 0;
		uint8_t *d = fuzz_dup(p, h.length);
		bool enter = false;
		struct nbd_opt_go go;
		uint32_t e;

		switch (h.option) {
		case NBD_OPT_ABORT:
			free(d);
			return 0;
		case NBD_OPT_STRUCTURED_REPLY:
			if (h.length == 0)
				structured = true;
			break;
		case NBD_OPT_EXPORT_NAME:
			enter = h.length <= NBD_MAX_STRING && !memchr(d, '\0', h.length);
			break;
		case NBD_OPT_INFO:
		case NBD_OPT_GO:
			memset(&go, 0xa5, sizeof(go));
			e = nbd_opt_go_parse(d, h.length, &go);
			check_go(d, h.length, e, &go);
			enter = e == 0 && h.option == NBD_OPT_GO;
			break;
		default:
			break;
		}
		free(d);
		if (enter) {
			struct nbd_export_limits lim = {
				.size = export_size, .min_block = bs.min, .max_payload = bs.max,
				.tflags = tflags, .structured = structured,
			};
			transmission(&c, &lim);
			return 0;
		}
	}
	return 0;
}
