/* NBD wire protocol: constants and pure parse/validate/build functions (no I/O, no state). */
#ifndef MP_TRANSPORT_NBD_PROTO_H
#define MP_TRANSPORT_NBD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Everything here follows doc/proto.md of the NBD project. All integers on the
 * wire are big-endian. Builders write into caller buffers of the sizes named by
 * the *_LEN constants and return the number of bytes written.
 */

/* Handshake magics. */
#define NBD_MAGIC              UINT64_C(0x4e42444d41474943) /* "NBDMAGIC" */
#define NBD_IHAVEOPT           UINT64_C(0x49484156454f5054) /* "IHAVEOPT" */
#define NBD_REP_MAGIC          UINT64_C(0x0003e889045565a9)

/* Handshake flags (server, 16 bit) and client flags (32 bit). */
#define NBD_FLAG_FIXED_NEWSTYLE   (1u << 0)
#define NBD_FLAG_NO_ZEROES        (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES      (1u << 1)
#define NBD_CLIENT_FLAGS_KNOWN    (NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)

/* Options. */
#define NBD_OPT_EXPORT_NAME       1u
#define NBD_OPT_ABORT             2u
#define NBD_OPT_LIST              3u
#define NBD_OPT_PEEK_EXPORT       4u
#define NBD_OPT_STARTTLS          5u
#define NBD_OPT_INFO              6u
#define NBD_OPT_GO                7u
#define NBD_OPT_STRUCTURED_REPLY  8u
#define NBD_OPT_LIST_META_CONTEXT 9u
#define NBD_OPT_SET_META_CONTEXT  10u
#define NBD_OPT_EXTENDED_HEADERS  11u

/* Option reply types; errors have bit 31 set. */
#define NBD_REP_ACK               1u
#define NBD_REP_SERVER            2u
#define NBD_REP_INFO              3u
#define NBD_REP_META_CONTEXT      4u
#define NBD_REP_FLAG_ERROR        (1u << 31)
#define NBD_REP_ERR_UNSUP         (NBD_REP_FLAG_ERROR | 1u)
#define NBD_REP_ERR_POLICY        (NBD_REP_FLAG_ERROR | 2u)
#define NBD_REP_ERR_INVALID       (NBD_REP_FLAG_ERROR | 3u)
#define NBD_REP_ERR_PLATFORM      (NBD_REP_FLAG_ERROR | 4u)
#define NBD_REP_ERR_TLS_REQD      (NBD_REP_FLAG_ERROR | 5u)
#define NBD_REP_ERR_UNKNOWN       (NBD_REP_FLAG_ERROR | 6u)
#define NBD_REP_ERR_SHUTDOWN      (NBD_REP_FLAG_ERROR | 7u)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_FLAG_ERROR | 8u)
#define NBD_REP_ERR_TOO_BIG       (NBD_REP_FLAG_ERROR | 9u)

/* NBD_REP_INFO information types. */
#define NBD_INFO_EXPORT           0u
#define NBD_INFO_NAME             1u
#define NBD_INFO_DESCRIPTION      2u
#define NBD_INFO_BLOCK_SIZE       3u

/* Transmission flags (16 bit). */
#define NBD_FLAG_HAS_FLAGS         (1u << 0)
#define NBD_FLAG_READ_ONLY         (1u << 1)
#define NBD_FLAG_SEND_FLUSH        (1u << 2)
#define NBD_FLAG_SEND_FUA          (1u << 3)
#define NBD_FLAG_ROTATIONAL        (1u << 4)
#define NBD_FLAG_SEND_TRIM         (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF           (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN    (1u << 8)
#define NBD_FLAG_SEND_RESIZE       (1u << 9)
#define NBD_FLAG_SEND_CACHE        (1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO    (1u << 11)

/* Transmission: request and reply magics. */
#define NBD_REQUEST_MAGIC          UINT32_C(0x25609513)
#define NBD_SIMPLE_REPLY_MAGIC     UINT32_C(0x67446698)
#define NBD_STRUCTURED_REPLY_MAGIC UINT32_C(0x668e33ef)

/* Command flags (16 bit). */
#define NBD_CMD_FLAG_FUA       (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE   (1u << 1)
#define NBD_CMD_FLAG_DF        (1u << 2)
#define NBD_CMD_FLAG_REQ_ONE   (1u << 3)
#define NBD_CMD_FLAG_FAST_ZERO (1u << 4)

/* Commands. */
#define NBD_CMD_READ           0u
#define NBD_CMD_WRITE          1u
#define NBD_CMD_DISC           2u
#define NBD_CMD_FLUSH          3u
#define NBD_CMD_TRIM           4u
#define NBD_CMD_CACHE          5u
#define NBD_CMD_WRITE_ZEROES   6u
#define NBD_CMD_BLOCK_STATUS   7u

/* Structured reply chunk flags and types. */
#define NBD_REPLY_FLAG_DONE          (1u << 0)
#define NBD_REPLY_TYPE_NONE          0u
#define NBD_REPLY_TYPE_OFFSET_DATA   1u
#define NBD_REPLY_TYPE_OFFSET_HOLE   2u
#define NBD_REPLY_TYPE_BLOCK_STATUS  5u
#define NBD_REPLY_TYPE_ERROR         ((1u << 15) | 1u)
#define NBD_REPLY_TYPE_ERROR_OFFSET  ((1u << 15) | 2u)

/* Error values carried in replies (not host errno values, although equal on Linux). */
#define NBD_SUCCESS    0u
#define NBD_EPERM      1u
#define NBD_EIO        5u
#define NBD_ENOMEM     12u
#define NBD_EINVAL     22u
#define NBD_ENOSPC     28u
#define NBD_EOVERFLOW  75u
#define NBD_ENOTSUP    95u
#define NBD_ESHUTDOWN  108u

/* Sizes of fixed wire structures. */
#define NBD_GREETING_LEN       18u  /* NBDMAGIC, IHAVEOPT, handshake flags */
#define NBD_CLIENT_FLAGS_LEN   4u
#define NBD_OPT_HDR_LEN        16u  /* IHAVEOPT, option, length */
#define NBD_OPT_REPLY_HDR_LEN  20u  /* magic, option, reply type, length */
#define NBD_EXPORT_NAME_REPLY_LEN 134u /* size, flags, 124 zero bytes (10 with NO_ZEROES) */
#define NBD_REQUEST_LEN        28u
#define NBD_SIMPLE_REPLY_LEN   16u
#define NBD_CHUNK_HDR_LEN      20u
#define NBD_OFFSET_DATA_HDR_LEN (NBD_CHUNK_HDR_LEN + 8u)
#define NBD_ERROR_CHUNK_LEN    (NBD_CHUNK_HDR_LEN + 6u)  /* without message */
#define NBD_ERROR_OFFSET_CHUNK_LEN (NBD_CHUNK_HDR_LEN + 14u) /* without message */
#define NBD_INFO_EXPORT_LEN    12u  /* type, size, transmission flags */
#define NBD_INFO_BLOCK_SIZE_LEN 14u /* type, minimum, preferred, maximum */

/* Limits this server applies. */
#define NBD_MAX_STRING         4096u               /* export names, descriptions, messages */
#define NBD_MAX_OPT_LEN        (NBD_MAX_STRING + 1024u) /* longest option payload we read */
#define NBD_MAX_PAYLOAD        (32u * 1024u * 1024u) /* largest READ/WRITE data */
#define NBD_MAX_INFO_REQS      64u                 /* info types kept from one INFO/GO */

/* One 28-byte transmission request as read from the wire. */
struct nbd_request {
	uint32_t magic;
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint64_t offset;
	uint32_t length;
};

/* One 16-byte option header. */
struct nbd_opt_hdr {
	uint64_t magic;
	uint32_t option;
	uint32_t length;
};

/* The parsed payload of NBD_OPT_INFO / NBD_OPT_GO. name points into the option data. */
struct nbd_opt_go {
	const char *name;
	uint32_t name_len;
	uint16_t n_info;                     /* info requests kept (at most NBD_MAX_INFO_REQS) */
	uint16_t info[NBD_MAX_INFO_REQS];
};

/* What the transmission phase knows about the negotiated export. */
struct nbd_export_limits {
	uint64_t size;           /* bytes */
	uint32_t min_block;      /* offsets and lengths must be multiples of this (>= 1) */
	uint32_t max_payload;    /* largest READ/WRITE length accepted */
	uint16_t tflags;         /* transmission flags advertised to this client */
	bool structured;         /* structured replies negotiated */
};

/* The three advertised block sizes. */
struct nbd_block_sizes {
	uint32_t min, pref, max;
};

/* What to do with a request after nbd_request_check(). */
enum nbd_verdict {
	NBD_VERDICT_OK = 0,      /* pass to the core */
	NBD_VERDICT_ERROR,       /* reply with the error; a WRITE's payload must still be consumed */
	NBD_VERDICT_DISCONNECT,  /* the stream can not be trusted (payload too big to consume) */
};

/* Build the initial greeting (fixed newstyle, NO_ZEROES offered). */
size_t nbd_build_greeting(uint8_t out[NBD_GREETING_LEN]);

/*
 * Check the client flags. Returns 0 if acceptable (fixed newstyle set, no
 * unknown bit) and sets *no_zeroes; -1 if the server must disconnect.
 */
int nbd_client_flags_check(uint32_t flags, bool *no_zeroes);

/* Parse an option header; -1 if the magic is not IHAVEOPT (disconnect). */
int nbd_opt_hdr_parse(const uint8_t in[NBD_OPT_HDR_LEN], struct nbd_opt_hdr *h);

/*
 * Parse NBD_OPT_INFO / NBD_OPT_GO data of len bytes. Returns 0, or the option
 * reply error to send: NBD_REP_ERR_INVALID when lengths disagree or the name
 * holds a NUL, NBD_REP_ERR_TOO_BIG when the name is longer than NBD_MAX_STRING.
 * Duplicate and unknown info types are kept; the caller ignores what it does
 * not know. More than NBD_MAX_INFO_REQS requests are ignored beyond the limit.
 */
uint32_t nbd_opt_go_parse(const uint8_t *data, uint32_t len, struct nbd_opt_go *go);

/* Does the parsed GO/INFO request ask for this info type? */
bool nbd_opt_go_wants(const struct nbd_opt_go *go, uint16_t info_type);

/* Option reply header announcing len bytes of reply data. */
size_t nbd_build_opt_reply_hdr(uint8_t out[NBD_OPT_REPLY_HDR_LEN], uint32_t option,
			       uint32_t reply_type, uint32_t len);

/* NBD_REP_INFO payloads (the 20-byte option reply header is built separately). */
size_t nbd_build_info_export(uint8_t out[NBD_INFO_EXPORT_LEN], uint64_t size, uint16_t tflags);
size_t nbd_build_info_block_size(uint8_t out[NBD_INFO_BLOCK_SIZE_LEN], const struct nbd_block_sizes *bs);
/* NBD_INFO_NAME / NBD_INFO_DESCRIPTION: out needs 2 + len bytes. */
size_t nbd_build_info_string(uint8_t *out, uint16_t info_type, const char *s, size_t len);
/* NBD_REP_SERVER payload: out needs 4 + len bytes. */
size_t nbd_build_rep_server(uint8_t *out, const char *name, size_t len);

/* The reply to NBD_OPT_EXPORT_NAME: 134 bytes, or 10 with NO_ZEROES. */
size_t nbd_build_export_name_reply(uint8_t out[NBD_EXPORT_NAME_REPLY_LEN], uint64_t size,
				   uint16_t tflags, bool no_zeroes);

/*
 * Block sizes for an LU: minimum = block size (at least 1); preferred =
 * max(4096, optimal transfer), rounded down to a power of two, within
 * [minimum, maximum]; maximum = NBD_MAX_PAYLOAD rounded down to a multiple of
 * the minimum. opt_xfer_bytes 0 means not reported.
 */
void nbd_block_sizes_for(uint32_t block_size, uint64_t opt_xfer_bytes, struct nbd_block_sizes *bs);

/* Parse a request header; -1 if the magic is wrong (disconnect). */
int nbd_request_parse(const uint8_t in[NBD_REQUEST_LEN], struct nbd_request *r);

/* Bytes of payload that follow this request header on the wire (WRITE only). */
uint32_t nbd_request_payload_len(const struct nbd_request *r);

/*
 * Validate a parsed request against the export. On NBD_VERDICT_ERROR *nbd_err
 * holds the NBD error to reply with: EINVAL for unknown or unadvertised
 * commands, flags not allowed for the command, misalignment, or a range beyond
 * the export; EOVERFLOW (structured) or EINVAL (simple) for a READ longer than
 * max_payload; EPERM for a modifying command on a read-only export.
 * NBD_VERDICT_DISCONNECT for a WRITE longer than max_payload. NBD_CMD_DISC is
 * always OK. Zero-length commands pass (the caller completes them at once).
 */
enum nbd_verdict nbd_request_check(const struct nbd_request *r, const struct nbd_export_limits *lim,
				   uint32_t *nbd_err);

/* Simple reply header (data for a successful READ follows it). */
size_t nbd_build_simple_reply(uint8_t out[NBD_SIMPLE_REPLY_LEN], uint32_t nbd_err, uint64_t cookie);
/* Structured reply chunk header. */
size_t nbd_build_chunk_hdr(uint8_t out[NBD_CHUNK_HDR_LEN], uint16_t flags, uint16_t type,
			   uint64_t cookie, uint32_t len);
/* OFFSET_DATA chunk header and offset; data_len bytes of data follow it. */
size_t nbd_build_offset_data_hdr(uint8_t out[NBD_OFFSET_DATA_HDR_LEN], uint16_t flags, uint64_t cookie,
				 uint64_t offset, uint32_t data_len);
/*
 * ERROR chunk (or ERROR_OFFSET when with_offset) including its message.
 * out needs NBD_ERROR_CHUNK_LEN (+8 with offset) + msg_len bytes; msg_len is
 * clamped to NBD_MAX_STRING. A zero error is turned into NBD_EIO: an error
 * chunk must carry an error.
 */
size_t nbd_build_error_chunk(uint8_t *out, uint16_t flags, uint64_t cookie, uint32_t nbd_err,
			     const char *msg, size_t msg_len, bool with_offset, uint64_t offset);

/* Map a positive errno to an NBD error; 0 stays 0; anything unknown becomes NBD_EIO. */
uint32_t nbd_errno_to_nbd(int err);

/* Names for logs. */
const char *nbd_cmd_name(uint16_t type);
const char *nbd_opt_name(uint32_t option);

#endif
