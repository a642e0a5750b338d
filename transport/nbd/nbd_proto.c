/* NBD wire protocol: pure parsing, validation and reply building (see nbd_proto.h). */
#include "transport/nbd/nbd_proto.h"

#include <errno.h>
#include <string.h>
#include "common/util.h"

size_t nbd_build_greeting(uint8_t out[NBD_GREETING_LEN])
{
	mp_put_be64(out, NBD_MAGIC);
	mp_put_be64(out + 8, NBD_IHAVEOPT);
	mp_put_be16(out + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	return NBD_GREETING_LEN;
}

int nbd_client_flags_check(uint32_t flags, bool *no_zeroes)
{
	/* Unknown bits: the spec says the server MUST close. Non-fixed newstyle
	 * clients can not receive option errors, and this server speaks only fixed. */
	if (flags & ~NBD_CLIENT_FLAGS_KNOWN)
		return -1;
	if (!(flags & NBD_FLAG_C_FIXED_NEWSTYLE))
		return -1;
	*no_zeroes = (flags & NBD_FLAG_C_NO_ZEROES) != 0;
	return 0;
}

int nbd_opt_hdr_parse(const uint8_t in[NBD_OPT_HDR_LEN], struct nbd_opt_hdr *h)
{
	h->magic = mp_be64(in);
	h->option = mp_be32(in + 8);
	h->length = mp_be32(in + 12);
	return h->magic == NBD_IHAVEOPT ? 0 : -1;
}

uint32_t nbd_opt_go_parse(const uint8_t *data, uint32_t len, struct nbd_opt_go *go)
{
	memset(go, 0, sizeof(*go));
	if (len < 6)
		return NBD_REP_ERR_INVALID;
	uint32_t name_len = mp_be32(data);
	/* Check against what is there first: name_len is untrusted, so no addition on it. */
	if (name_len > len - 6)
		return NBD_REP_ERR_INVALID;
	uint32_t n = mp_be16(data + 4 + name_len);
	if ((uint64_t)len != 6u + (uint64_t)name_len + 2u * (uint64_t)n)
		return NBD_REP_ERR_INVALID;
	if (name_len > NBD_MAX_STRING)
		return NBD_REP_ERR_TOO_BIG;
	if (memchr(data + 4, '\0', name_len))
		return NBD_REP_ERR_INVALID;
	go->name = (const char *)(data + 4);
	go->name_len = name_len;
	for (uint32_t i = 0; i < n && go->n_info < NBD_MAX_INFO_REQS; i++)
		go->info[go->n_info++] = mp_be16(data + 6 + name_len + 2 * i);
	return 0;
}

bool nbd_opt_go_wants(const struct nbd_opt_go *go, uint16_t info_type)
{
	for (uint16_t i = 0; i < go->n_info; i++)
		if (go->info[i] == info_type)
			return true;
	return false;
}

size_t nbd_build_opt_reply_hdr(uint8_t out[NBD_OPT_REPLY_HDR_LEN], uint32_t option,
			       uint32_t reply_type, uint32_t len)
{
	mp_put_be64(out, NBD_REP_MAGIC);
	mp_put_be32(out + 8, option);
	mp_put_be32(out + 12, reply_type);
	mp_put_be32(out + 16, len);
	return NBD_OPT_REPLY_HDR_LEN;
}

size_t nbd_build_info_export(uint8_t out[NBD_INFO_EXPORT_LEN], uint64_t size, uint16_t tflags)
{
	mp_put_be16(out, NBD_INFO_EXPORT);
	mp_put_be64(out + 2, size);
	mp_put_be16(out + 10, tflags);
	return NBD_INFO_EXPORT_LEN;
}

size_t nbd_build_info_block_size(uint8_t out[NBD_INFO_BLOCK_SIZE_LEN], const struct nbd_block_sizes *bs)
{
	mp_put_be16(out, NBD_INFO_BLOCK_SIZE);
	mp_put_be32(out + 2, bs->min);
	mp_put_be32(out + 6, bs->pref);
	mp_put_be32(out + 10, bs->max);
	return NBD_INFO_BLOCK_SIZE_LEN;
}

size_t nbd_build_info_string(uint8_t *out, uint16_t info_type, const char *s, size_t len)
{
	mp_put_be16(out, info_type);
	if (len)
		memcpy(out + 2, s, len);
	return 2 + len;
}

size_t nbd_build_rep_server(uint8_t *out, const char *name, size_t len)
{
	mp_put_be32(out, (uint32_t)len);
	if (len)
		memcpy(out + 4, name, len);
	return 4 + len;
}

size_t nbd_build_export_name_reply(uint8_t out[NBD_EXPORT_NAME_REPLY_LEN], uint64_t size,
				   uint16_t tflags, bool no_zeroes)
{
	mp_put_be64(out, size);
	mp_put_be16(out + 8, tflags);
	if (no_zeroes)
		return 10;
	memset(out + 10, 0, NBD_EXPORT_NAME_REPLY_LEN - 10);
	return NBD_EXPORT_NAME_REPLY_LEN;
}

static uint32_t pow2_floor(uint64_t v)
{
	uint32_t p = 1;
	while ((uint64_t)p * 2 <= v && p < (1u << 31))
		p *= 2;
	return p;
}

void nbd_block_sizes_for(uint32_t block_size, uint64_t opt_xfer_bytes, struct nbd_block_sizes *bs)
{
	uint32_t min = block_size ? block_size : 1;
	uint32_t max = NBD_MAX_PAYLOAD - NBD_MAX_PAYLOAD % min;
	if (max < min)
		max = min;
	uint32_t pref = pow2_floor(MP_MAX(opt_xfer_bytes, 4096u));
	if (pref > max)
		pref = pow2_floor(max);
	if (pref < min)
		pref = min;
	bs->min = min;
	bs->pref = pref;
	bs->max = max;
}

int nbd_request_parse(const uint8_t in[NBD_REQUEST_LEN], struct nbd_request *r)
{
	r->magic = mp_be32(in);
	r->flags = mp_be16(in + 4);
	r->type = mp_be16(in + 6);
	r->cookie = mp_be64(in + 8);
	r->offset = mp_be64(in + 16);
	r->length = mp_be32(in + 24);
	return r->magic == NBD_REQUEST_MAGIC ? 0 : -1;
}

uint32_t nbd_request_payload_len(const struct nbd_request *r)
{
	return r->type == NBD_CMD_WRITE ? r->length : 0;
}

/* Per command: the flags a client may set and the transmission flag that must have been advertised. */
struct cmd_rule {
	bool known;
	bool modifies;       /* refused on a read-only export */
	bool ranged;         /* offset/length checked against size and alignment */
	uint16_t allowed;    /* command flags allowed (before advertisement check) */
	uint16_t needs;      /* transmission flag that must have been advertised, 0 none */
};

static struct cmd_rule cmd_rule_for(uint16_t type)
{
	struct cmd_rule r = { 0 };
	switch (type) {
	case NBD_CMD_READ:
		r = (struct cmd_rule){ true, false, true, NBD_CMD_FLAG_DF, 0 };
		break;
	case NBD_CMD_WRITE:
		r = (struct cmd_rule){ true, true, true, NBD_CMD_FLAG_FUA, 0 };
		break;
	case NBD_CMD_DISC:
		r = (struct cmd_rule){ true, false, false, 0xffff, 0 };
		break;
	case NBD_CMD_FLUSH:
		r = (struct cmd_rule){ true, false, false, 0, NBD_FLAG_SEND_FLUSH };
		break;
	case NBD_CMD_TRIM:
		r = (struct cmd_rule){ true, true, true, NBD_CMD_FLAG_FUA, NBD_FLAG_SEND_TRIM };
		break;
	case NBD_CMD_WRITE_ZEROES:
		r = (struct cmd_rule){ true, true, true, NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE,
				       NBD_FLAG_SEND_WRITE_ZEROES };
		break;
	default:
		break;  /* CACHE, BLOCK_STATUS, RESIZE and anything else: not offered here */
	}
	return r;
}

enum nbd_verdict nbd_request_check(const struct nbd_request *r, const struct nbd_export_limits *lim,
				   uint32_t *nbd_err)
{
	struct cmd_rule rule = cmd_rule_for(r->type);
	uint16_t allowed = rule.allowed;

	*nbd_err = NBD_SUCCESS;
	if (r->type == NBD_CMD_WRITE && r->length > lim->max_payload)
		return NBD_VERDICT_DISCONNECT;
	if (!rule.known) {
		*nbd_err = NBD_EINVAL;
		return NBD_VERDICT_ERROR;
	}
	if (r->type == NBD_CMD_DISC)
		return NBD_VERDICT_OK;
	/* A flag is allowed only if its feature was advertised. */
	if (!(lim->tflags & NBD_FLAG_SEND_FUA))
		allowed &= (uint16_t)~NBD_CMD_FLAG_FUA;
	if (!(lim->tflags & NBD_FLAG_SEND_DF) || !lim->structured)
		allowed &= (uint16_t)~NBD_CMD_FLAG_DF;
	if ((r->flags & ~allowed) || (rule.needs && !(lim->tflags & rule.needs))) {
		*nbd_err = NBD_EINVAL;
		return NBD_VERDICT_ERROR;
	}
	if (rule.modifies && (lim->tflags & NBD_FLAG_READ_ONLY)) {
		*nbd_err = NBD_EPERM;
		return NBD_VERDICT_ERROR;
	}
	if (r->type == NBD_CMD_READ && r->length > lim->max_payload) {
		*nbd_err = lim->structured ? NBD_EOVERFLOW : NBD_EINVAL;
		return NBD_VERDICT_ERROR;
	}
	if (!rule.ranged)
		return NBD_VERDICT_OK;
	/* Written so that no sum can wrap: offset + length <= size. */
	if (r->offset > lim->size || r->length > lim->size - r->offset) {
		*nbd_err = NBD_EINVAL;
		return NBD_VERDICT_ERROR;
	}
	uint32_t align = lim->min_block ? lim->min_block : 1;
	if (r->offset % align || r->length % align) {
		*nbd_err = NBD_EINVAL;
		return NBD_VERDICT_ERROR;
	}
	return NBD_VERDICT_OK;
}

size_t nbd_build_simple_reply(uint8_t out[NBD_SIMPLE_REPLY_LEN], uint32_t nbd_err, uint64_t cookie)
{
	mp_put_be32(out, NBD_SIMPLE_REPLY_MAGIC);
	mp_put_be32(out + 4, nbd_err);
	mp_put_be64(out + 8, cookie);
	return NBD_SIMPLE_REPLY_LEN;
}

size_t nbd_build_chunk_hdr(uint8_t out[NBD_CHUNK_HDR_LEN], uint16_t flags, uint16_t type,
			   uint64_t cookie, uint32_t len)
{
	mp_put_be32(out, NBD_STRUCTURED_REPLY_MAGIC);
	mp_put_be16(out + 4, flags);
	mp_put_be16(out + 6, type);
	mp_put_be64(out + 8, cookie);
	mp_put_be32(out + 16, len);
	return NBD_CHUNK_HDR_LEN;
}

size_t nbd_build_offset_data_hdr(uint8_t out[NBD_OFFSET_DATA_HDR_LEN], uint16_t flags, uint64_t cookie,
				 uint64_t offset, uint32_t data_len)
{
	nbd_build_chunk_hdr(out, flags, NBD_REPLY_TYPE_OFFSET_DATA, cookie, 8u + data_len);
	mp_put_be64(out + NBD_CHUNK_HDR_LEN, offset);
	return NBD_OFFSET_DATA_HDR_LEN;
}

size_t nbd_build_error_chunk(uint8_t *out, uint16_t flags, uint64_t cookie, uint32_t nbd_err,
			     const char *msg, size_t msg_len, bool with_offset, uint64_t offset)
{
	if (msg_len > NBD_MAX_STRING)
		msg_len = NBD_MAX_STRING;
	uint32_t len = (uint32_t)(6 + msg_len + (with_offset ? 8 : 0));
	nbd_build_chunk_hdr(out, flags, with_offset ? NBD_REPLY_TYPE_ERROR_OFFSET : NBD_REPLY_TYPE_ERROR,
			    cookie, len);
	uint8_t *p = out + NBD_CHUNK_HDR_LEN;
	mp_put_be32(p, nbd_err ? nbd_err : NBD_EIO);
	mp_put_be16(p + 4, (uint16_t)msg_len);
	if (msg_len)
		memcpy(p + 6, msg, msg_len);
	if (with_offset)
		mp_put_be64(p + 6 + msg_len, offset);
	return NBD_CHUNK_HDR_LEN + len;
}

uint32_t nbd_errno_to_nbd(int err)
{
	switch (err) {
	case 0:         return NBD_SUCCESS;
	case EPERM:     return NBD_EPERM;
	case EROFS:     return NBD_EPERM;
	case EIO:       return NBD_EIO;
	case ENOMEM:    return NBD_ENOMEM;
	case EINVAL:    return NBD_EINVAL;
	case ENOSPC:    return NBD_ENOSPC;
	case EDQUOT:    return NBD_ENOSPC;
	case EOVERFLOW: return NBD_EOVERFLOW;
	case ENOTSUP:   return NBD_ENOTSUP;
	case ESHUTDOWN: return NBD_ESHUTDOWN;
	default:        return NBD_EIO;
	}
}

const char *nbd_cmd_name(uint16_t type)
{
	static const char *const names[] = {
		"READ", "WRITE", "DISC", "FLUSH", "TRIM", "CACHE", "WRITE_ZEROES", "BLOCK_STATUS",
	};
	return type < MP_ARRAY_SIZE(names) ? names[type] : "UNKNOWN";
}

const char *nbd_opt_name(uint32_t option)
{
	static const char *const names[] = {
		"?", "EXPORT_NAME", "ABORT", "LIST", "PEEK_EXPORT", "STARTTLS", "INFO", "GO",
		"STRUCTURED_REPLY", "LIST_META_CONTEXT", "SET_META_CONTEXT", "EXTENDED_HEADERS",
	};
	return option < MP_ARRAY_SIZE(names) && option ? names[option] : "UNKNOWN";
}
