/* Unit tests for transport/nbd/nbd_proto.c: table-driven parsing, validation and reply building. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "common/util.h"
#include "transport/nbd/nbd_proto.h"

#define MiB (1024u * 1024u)
#define BASE_FLAGS (NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | \
		    NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN)

static void put_req(uint8_t *b, uint32_t magic, uint16_t flags, uint16_t type, uint64_t cookie,
		    uint64_t off, uint32_t len)
{
	mp_put_be32(b, magic);
	mp_put_be16(b + 4, flags);
	mp_put_be16(b + 6, type);
	mp_put_be64(b + 8, cookie);
	mp_put_be64(b + 16, off);
	mp_put_be32(b + 24, len);
}

Test(nbd_request, parse_good_header)
{
	uint8_t b[NBD_REQUEST_LEN];
	struct nbd_request r;
	put_req(b, NBD_REQUEST_MAGIC, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 0x0102030405060708ull,
		0x1122334455667788ull, 0xcafebabe);
	cr_assert_eq(nbd_request_parse(b, &r), 0);
	cr_assert_eq(r.flags, NBD_CMD_FLAG_FUA);
	cr_assert_eq(r.type, NBD_CMD_WRITE);
	cr_assert_eq(r.cookie, 0x0102030405060708ull);
	cr_assert_eq(r.offset, 0x1122334455667788ull);
	cr_assert_eq(r.length, 0xcafebabe);
	cr_assert_eq(nbd_request_payload_len(&r), 0xcafebabe);
	r.type = NBD_CMD_READ;
	cr_assert_eq(nbd_request_payload_len(&r), 0);
}

Test(nbd_request, bad_magic)
{
	static const uint32_t magics[] = { 0, 0x25609514, 0x13956025, NBD_SIMPLE_REPLY_MAGIC,
					   NBD_STRUCTURED_REPLY_MAGIC, 0x21e41c71 /* extended */, 0xffffffff };
	uint8_t b[NBD_REQUEST_LEN];
	struct nbd_request r;
	for (size_t i = 0; i < MP_ARRAY_SIZE(magics); i++) {
		put_req(b, magics[i], 0, NBD_CMD_READ, 1, 0, 512);
		cr_assert_eq(nbd_request_parse(b, &r), -1, "magic 0x%08x accepted", magics[i]);
	}
}

enum lim_kind { L_RW, L_RW_TRIM, L_RO, L_STRUCT, L_NO_FUA, L_4K };

static struct nbd_export_limits lim_of(enum lim_kind k)
{
	struct nbd_export_limits l = { .size = 64 * MiB, .min_block = 512, .max_payload = 32 * MiB,
				       .tflags = BASE_FLAGS, .structured = false };
	switch (k) {
	case L_RW: break;
	case L_RW_TRIM: l.tflags |= NBD_FLAG_SEND_TRIM; break;
	case L_RO: l.tflags |= NBD_FLAG_READ_ONLY | NBD_FLAG_SEND_TRIM; break;
	case L_STRUCT: l.tflags |= NBD_FLAG_SEND_DF; l.structured = true; break;
	case L_NO_FUA: l.tflags &= (uint16_t)~NBD_FLAG_SEND_FUA; break;
	case L_4K: l.min_block = 4096; break;
	}
	return l;
}

struct check_case {
	const char *what;
	enum lim_kind lim;
	uint16_t type, flags;
	uint64_t offset;
	uint32_t length;
	enum nbd_verdict verdict;
	uint32_t err;
};

static const struct check_case check_cases[] = {
	{ "read at 0", L_RW, NBD_CMD_READ, 0, 0, 4096, NBD_VERDICT_OK, 0 },
	{ "read last block", L_RW, NBD_CMD_READ, 0, 64 * MiB - 512, 512, NBD_VERDICT_OK, 0 },
	{ "read whole max payload", L_RW, NBD_CMD_READ, 0, 0, 32 * MiB, NBD_VERDICT_OK, 0 },
	{ "zero-length read at the end", L_RW, NBD_CMD_READ, 0, 64 * MiB, 0, NBD_VERDICT_OK, 0 },
	{ "read crossing the end", L_RW, NBD_CMD_READ, 0, 64 * MiB - 512, 1024, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read at the end", L_RW, NBD_CMD_READ, 0, 64 * MiB, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read far out of range", L_RW, NBD_CMD_READ, 0, 1ull << 62, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read offset+length wraps", L_RW, NBD_CMD_READ, 0, UINT64_MAX - 511, 1024, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read misaligned offset", L_RW, NBD_CMD_READ, 0, 100, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read misaligned length", L_RW, NBD_CMD_READ, 0, 0, 100, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read 512-aligned on 4K export", L_4K, NBD_CMD_READ, 0, 512, 4096, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read oversized, simple", L_RW, NBD_CMD_READ, 0, 0, 32 * MiB + 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read oversized, structured", L_STRUCT, NBD_CMD_READ, 0, 0, 64 * MiB, NBD_VERDICT_ERROR, NBD_EOVERFLOW },
	{ "read with FUA", L_RW, NBD_CMD_READ, NBD_CMD_FLAG_FUA, 0, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read DF without structured", L_RW, NBD_CMD_READ, NBD_CMD_FLAG_DF, 0, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "read DF structured", L_STRUCT, NBD_CMD_READ, NBD_CMD_FLAG_DF, 0, 512, NBD_VERDICT_OK, 0 },
	{ "read unknown flag bit", L_RW, NBD_CMD_READ, 0x8000, 0, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "write", L_RW, NBD_CMD_WRITE, 0, 4096, 4096, NBD_VERDICT_OK, 0 },
	{ "write FUA", L_RW, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 512, NBD_VERDICT_OK, 0 },
	{ "write FUA not advertised", L_NO_FUA, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "write NO_HOLE", L_RW, NBD_CMD_WRITE, NBD_CMD_FLAG_NO_HOLE, 0, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "write max payload", L_RW, NBD_CMD_WRITE, 0, 0, 32 * MiB, NBD_VERDICT_OK, 0 },
	{ "write over max payload", L_RW, NBD_CMD_WRITE, 0, 0, 32 * MiB + 512, NBD_VERDICT_DISCONNECT, 0 },
	{ "write 4 GiB-1", L_RW, NBD_CMD_WRITE, 0, 0, UINT32_MAX, NBD_VERDICT_DISCONNECT, 0 },
	{ "write beyond end", L_RW, NBD_CMD_WRITE, 0, 64 * MiB, 4096, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "write misaligned", L_RW, NBD_CMD_WRITE, 0, 1, 4096, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "write read-only", L_RO, NBD_CMD_WRITE, 0, 0, 512, NBD_VERDICT_ERROR, NBD_EPERM },
	{ "write over max, read-only", L_RO, NBD_CMD_WRITE, 0, 0, 64 * MiB, NBD_VERDICT_DISCONNECT, 0 },
	{ "flush", L_RW, NBD_CMD_FLUSH, 0, 0, 0, NBD_VERDICT_OK, 0 },
	{ "flush read-only", L_RO, NBD_CMD_FLUSH, 0, 0, 0, NBD_VERDICT_OK, 0 },
	{ "flush with range ignored", L_RW, NBD_CMD_FLUSH, 0, 1, 3, NBD_VERDICT_OK, 0 },
	{ "flush FUA", L_RW, NBD_CMD_FLUSH, NBD_CMD_FLAG_FUA, 0, 0, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "trim not advertised", L_RW, NBD_CMD_TRIM, 0, 0, 4096, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "trim", L_RW_TRIM, NBD_CMD_TRIM, 0, 0, 4096, NBD_VERDICT_OK, 0 },
	{ "trim bigger than max payload", L_RW_TRIM, NBD_CMD_TRIM, 0, 0, 64 * MiB, NBD_VERDICT_OK, 0 },
	{ "trim FUA", L_RW_TRIM, NBD_CMD_TRIM, NBD_CMD_FLAG_FUA, 0, 4096, NBD_VERDICT_OK, 0 },
	{ "trim misaligned", L_RW_TRIM, NBD_CMD_TRIM, 0, 0, 4000, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "trim beyond end", L_RW_TRIM, NBD_CMD_TRIM, 0, 64 * MiB - 512, 4096, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "trim read-only", L_RO, NBD_CMD_TRIM, 0, 0, 4096, NBD_VERDICT_ERROR, NBD_EPERM },
	{ "write zeroes", L_RW, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE, 0, 64 * MiB,
	  NBD_VERDICT_OK, 0 },
	{ "write zeroes FAST_ZERO", L_RW, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_FAST_ZERO, 0, 512, NBD_VERDICT_ERROR,
	  NBD_EINVAL },
	{ "write zeroes read-only", L_RO, NBD_CMD_WRITE_ZEROES, 0, 0, 512, NBD_VERDICT_ERROR, NBD_EPERM },
	{ "disc", L_RW, NBD_CMD_DISC, 0, 0, 0, NBD_VERDICT_OK, 0 },
	{ "cache (not offered)", L_RW, NBD_CMD_CACHE, 0, 0, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "block status (not negotiated)", L_STRUCT, NBD_CMD_BLOCK_STATUS, 0, 0, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "unknown command 99", L_RW, 99, 0, 0, 512, NBD_VERDICT_ERROR, NBD_EINVAL },
	{ "unknown command 0xffff", L_RW, 0xffff, 0, 0, 0, NBD_VERDICT_ERROR, NBD_EINVAL },
};

Test(nbd_request, check_table)
{
	for (size_t i = 0; i < MP_ARRAY_SIZE(check_cases); i++) {
		const struct check_case *c = &check_cases[i];
		struct nbd_export_limits l = lim_of(c->lim);
		struct nbd_request r = { NBD_REQUEST_MAGIC, c->flags, c->type, 42, c->offset, c->length };
		uint32_t err = 12345;
		enum nbd_verdict v = nbd_request_check(&r, &l, &err);
		cr_expect_eq(v, c->verdict, "%s: verdict %d, want %d", c->what, v, c->verdict);
		if (c->verdict == NBD_VERDICT_ERROR)
			cr_expect_eq(err, c->err, "%s: error %u, want %u", c->what, err, c->err);
		else if (c->verdict == NBD_VERDICT_OK)
			cr_expect_eq(err, 0, "%s: error %u on success", c->what, err);
	}
}

static void put_opt(uint8_t *b, uint64_t magic, uint32_t opt, uint32_t len)
{
	mp_put_be64(b, magic);
	mp_put_be32(b + 8, opt);
	mp_put_be32(b + 12, len);
}

Test(nbd_option, header)
{
	uint8_t b[NBD_OPT_HDR_LEN];
	struct nbd_opt_hdr h;
	put_opt(b, NBD_IHAVEOPT, NBD_OPT_GO, 77);
	cr_assert_eq(nbd_opt_hdr_parse(b, &h), 0);
	cr_assert_eq(h.option, NBD_OPT_GO);
	cr_assert_eq(h.length, 77);
	put_opt(b, NBD_MAGIC, NBD_OPT_GO, 0);
	cr_assert_eq(nbd_opt_hdr_parse(b, &h), -1);
	put_opt(b, NBD_IHAVEOPT ^ 1, NBD_OPT_GO, 0);
	cr_assert_eq(nbd_opt_hdr_parse(b, &h), -1);
}

Test(nbd_option, client_flags)
{
	static const struct { uint32_t flags; int rc; bool nz; } t[] = {
		{ NBD_FLAG_C_FIXED_NEWSTYLE, 0, false },
		{ NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES, 0, true },
		{ 0, -1, false },                          /* old newstyle: no error replies possible */
		{ NBD_FLAG_C_NO_ZEROES, -1, false },
		{ NBD_FLAG_C_FIXED_NEWSTYLE | 4, -1, false },  /* unknown bit */
		{ 0xffffffffu, -1, false },
	};
	for (size_t i = 0; i < MP_ARRAY_SIZE(t); i++) {
		bool nz = !t[i].nz;
		cr_expect_eq(nbd_client_flags_check(t[i].flags, &nz), t[i].rc, "flags 0x%x", t[i].flags);
		if (t[i].rc == 0)
			cr_expect_eq(nz, t[i].nz, "flags 0x%x no_zeroes", t[i].flags);
	}
}

/* Build GO data: name_len field, name bytes, count field, info types. */
static uint32_t go_data(uint8_t *b, uint32_t name_len_field, const char *name, size_t name_bytes,
			uint16_t count_field, const uint16_t *infos, size_t n_infos)
{
	mp_put_be32(b, name_len_field);
	memcpy(b + 4, name, name_bytes);
	mp_put_be16(b + 4 + name_bytes, count_field);
	for (size_t i = 0; i < n_infos; i++)
		mp_put_be16(b + 6 + name_bytes + 2 * i, infos[i]);
	return (uint32_t)(6 + name_bytes + 2 * n_infos);
}

Test(nbd_option, go_parse_good)
{
	static uint8_t b[8192];
	struct nbd_opt_go go;
	const uint16_t infos[] = { NBD_INFO_NAME, NBD_INFO_BLOCK_SIZE, 999 };
	uint32_t len = go_data(b, 5, "disk0", 5, 3, infos, 3);
	cr_assert_eq(nbd_opt_go_parse(b, len, &go), 0);
	cr_assert_eq(go.name_len, 5);
	cr_assert_eq(memcmp(go.name, "disk0", 5), 0);
	cr_assert_eq(go.n_info, 3);
	cr_assert(nbd_opt_go_wants(&go, NBD_INFO_NAME));
	cr_assert(nbd_opt_go_wants(&go, NBD_INFO_BLOCK_SIZE));
	cr_assert(!nbd_opt_go_wants(&go, NBD_INFO_DESCRIPTION));

	len = go_data(b, 0, "", 0, 0, NULL, 0);  /* default export, no infos */
	cr_assert_eq(nbd_opt_go_parse(b, len, &go), 0);
	cr_assert_eq(go.name_len, 0);
	cr_assert_eq(go.n_info, 0);

	char name[NBD_MAX_STRING];
	memset(name, 'x', sizeof(name));
	len = go_data(b, sizeof(name), name, sizeof(name), 0, NULL, 0);
	cr_assert_eq(nbd_opt_go_parse(b, len, &go), 0, "a 4096-byte name is allowed");

	uint16_t many[NBD_MAX_INFO_REQS + 10];
	for (size_t i = 0; i < MP_ARRAY_SIZE(many); i++)
		many[i] = (uint16_t)i;
	len = go_data(b, 1, "a", 1, MP_ARRAY_SIZE(many), many, MP_ARRAY_SIZE(many));
	cr_assert_eq(nbd_opt_go_parse(b, len, &go), 0);
	cr_assert_eq(go.n_info, NBD_MAX_INFO_REQS, "info requests beyond the limit are dropped");
}

Test(nbd_option, go_parse_malformed)
{
	static uint8_t b[8192];
	struct nbd_opt_go go;
	const uint16_t infos[] = { NBD_INFO_NAME, NBD_INFO_BLOCK_SIZE };
	char longname[NBD_MAX_STRING + 1];
	memset(longname, 'y', sizeof(longname));
	uint32_t l;

	cr_expect_eq(nbd_opt_go_parse(b, 0, &go), NBD_REP_ERR_INVALID, "empty");
	cr_expect_eq(nbd_opt_go_parse(b, 5, &go), NBD_REP_ERR_INVALID, "shorter than name length + count");
	/* name_len larger than the data that follows */
	l = go_data(b, 100, "disk0", 5, 0, NULL, 0);
	cr_expect_eq(nbd_opt_go_parse(b, l, &go), NBD_REP_ERR_INVALID, "name length lies (too big)");
	/* name_len so big that name_len + 6 wraps a 32-bit sum */
	l = go_data(b, 0xfffffffcu, "disk0", 5, 0, NULL, 0);
	cr_expect_eq(nbd_opt_go_parse(b, l, &go), NBD_REP_ERR_INVALID, "name length wraps");
	/* name_len smaller than the name: the count is read from inside the name */
	l = go_data(b, 2, "disk0", 5, 0, NULL, 0);
	cr_expect_eq(nbd_opt_go_parse(b, l, &go), NBD_REP_ERR_INVALID, "name length lies (too small)");
	/* info count says 3, two present */
	l = go_data(b, 5, "disk0", 5, 3, infos, 2);
	cr_expect_eq(nbd_opt_go_parse(b, l, &go), NBD_REP_ERR_INVALID, "info count lies (too big)");
	/* info count says 1, two present: trailing bytes */
	l = go_data(b, 5, "disk0", 5, 1, infos, 2);
	cr_expect_eq(nbd_opt_go_parse(b, l, &go), NBD_REP_ERR_INVALID, "trailing data");
	/* info count 0xffff with nothing after */
	l = go_data(b, 5, "disk0", 5, 0xffff, NULL, 0);
	cr_expect_eq(nbd_opt_go_parse(b, l, &go), NBD_REP_ERR_INVALID, "huge info count");
	/* odd trailing byte */
	l = go_data(b, 5, "disk0", 5, 0, NULL, 0);
	cr_expect_eq(nbd_opt_go_parse(b, l + 1, &go), NBD_REP_ERR_INVALID, "one stray byte");
	/* option data cut short: the claimed length is shorter than what was built */
	l = go_data(b, 5, "disk0", 5, 2, infos, 2);
	cr_expect_eq(nbd_opt_go_parse(b, l - 2, &go), NBD_REP_ERR_INVALID, "truncated info list");
	cr_expect_eq(nbd_opt_go_parse(b, 7, &go), NBD_REP_ERR_INVALID, "truncated name");
	/* NUL inside the name */
	l = go_data(b, 5, "di\0k0", 5, 0, NULL, 0);
	cr_expect_eq(nbd_opt_go_parse(b, l, &go), NBD_REP_ERR_INVALID, "NUL in name");
	/* name longer than 4096 */
	l = go_data(b, sizeof(longname), longname, sizeof(longname), 0, NULL, 0);
	cr_expect_eq(nbd_opt_go_parse(b, l, &go), NBD_REP_ERR_TOO_BIG, "name too long");
}

Test(nbd_build, greeting_and_option_replies)
{
	uint8_t b[256];
	cr_assert_eq(nbd_build_greeting(b), 18);
	cr_assert_eq(memcmp(b, "NBDMAGICIHAVEOPT", 16), 0);
	cr_assert_eq(mp_be16(b + 16), NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);

	cr_assert_eq(nbd_build_opt_reply_hdr(b, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, 9), 20);
	cr_assert_eq(mp_be64(b), 0x3e889045565a9ull);
	cr_assert_eq(mp_be32(b + 8), NBD_OPT_GO);
	cr_assert_eq(mp_be32(b + 12), 0x80000006u);
	cr_assert_eq(mp_be32(b + 16), 9);

	cr_assert_eq(nbd_build_info_export(b, 0x123456789ull, 0x1ab), 12);
	cr_assert_eq(mp_be16(b), NBD_INFO_EXPORT);
	cr_assert_eq(mp_be64(b + 2), 0x123456789ull);
	cr_assert_eq(mp_be16(b + 10), 0x1ab);

	struct nbd_block_sizes bs = { 512, 65536, 32 * MiB };
	cr_assert_eq(nbd_build_info_block_size(b, &bs), 14);
	cr_assert_eq(mp_be16(b), NBD_INFO_BLOCK_SIZE);
	cr_assert_eq(mp_be32(b + 2), 512);
	cr_assert_eq(mp_be32(b + 6), 65536);
	cr_assert_eq(mp_be32(b + 10), 32 * MiB);

	cr_assert_eq(nbd_build_info_string(b, NBD_INFO_NAME, "disk0", 5), 7);
	cr_assert_eq(mp_be16(b), NBD_INFO_NAME);
	cr_assert_eq(memcmp(b + 2, "disk0", 5), 0);
	cr_assert_eq(nbd_build_info_string(b, NBD_INFO_DESCRIPTION, "", 0), 2);
	cr_assert_eq(mp_be16(b), NBD_INFO_DESCRIPTION);

	cr_assert_eq(nbd_build_rep_server(b, "abc", 3), 7);
	cr_assert_eq(mp_be32(b), 3);
	cr_assert_eq(memcmp(b + 4, "abc", 3), 0);

	memset(b, 0xee, sizeof(b));
	cr_assert_eq(nbd_build_export_name_reply(b, 1024, 0x0d, false), 134);
	cr_assert_eq(mp_be64(b), 1024);
	cr_assert_eq(mp_be16(b + 8), 0x0d);
	for (int i = 10; i < 134; i++)
		cr_assert_eq(b[i], 0, "byte %d not zero", i);
	cr_assert_eq(nbd_build_export_name_reply(b, 1024, 0x0d, true), 10);
}

Test(nbd_build, transmission_replies)
{
	uint8_t b[NBD_ERROR_OFFSET_CHUNK_LEN + 16];

	cr_assert_eq(nbd_build_simple_reply(b, NBD_EINVAL, 0xa1a2a3a4a5a6a7a8ull), 16);
	cr_assert_eq(mp_be32(b), 0x67446698u);
	cr_assert_eq(mp_be32(b + 4), 22);
	cr_assert_eq(mp_be64(b + 8), 0xa1a2a3a4a5a6a7a8ull);

	cr_assert_eq(nbd_build_chunk_hdr(b, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, 5, 0), 20);
	cr_assert_eq(mp_be32(b), 0x668e33efu);
	cr_assert_eq(mp_be16(b + 4), 1);
	cr_assert_eq(mp_be16(b + 6), 0);
	cr_assert_eq(mp_be64(b + 8), 5);
	cr_assert_eq(mp_be32(b + 16), 0);

	cr_assert_eq(nbd_build_offset_data_hdr(b, NBD_REPLY_FLAG_DONE, 6, 4096, 512), 28);
	cr_assert_eq(mp_be16(b + 6), NBD_REPLY_TYPE_OFFSET_DATA);
	cr_assert_eq(mp_be32(b + 16), 8 + 512, "chunk length covers offset and data");
	cr_assert_eq(mp_be64(b + 20), 4096);

	size_t n = nbd_build_error_chunk(b, NBD_REPLY_FLAG_DONE, 7, NBD_EIO, "bad", 3, false, 0);
	cr_assert_eq(n, 20 + 6 + 3);
	cr_assert_eq(mp_be16(b + 6), NBD_REPLY_TYPE_ERROR);
	cr_assert_eq(mp_be32(b + 16), 9);
	cr_assert_eq(mp_be32(b + 20), NBD_EIO);
	cr_assert_eq(mp_be16(b + 24), 3);
	cr_assert_eq(memcmp(b + 26, "bad", 3), 0);

	n = nbd_build_error_chunk(b, 0, 8, NBD_EIO, "x", 1, true, 0x10000);
	cr_assert_eq(n, 20 + 6 + 1 + 8);
	cr_assert_eq(mp_be16(b + 6), NBD_REPLY_TYPE_ERROR_OFFSET);
	cr_assert_eq(mp_be32(b + 16), 15);
	cr_assert_eq(mp_be64(b + 27), 0x10000);

	n = nbd_build_error_chunk(b, NBD_REPLY_FLAG_DONE, 9, 0, NULL, 0, false, 0);
	cr_assert_eq(n, NBD_ERROR_CHUNK_LEN);
	cr_assert_eq(mp_be32(b + 20), NBD_EIO, "an error chunk never carries error 0");
}

Test(nbd_errno, mapping)
{
	static const struct { int in; uint32_t out; } t[] = {
		{ 0, NBD_SUCCESS }, { EPERM, NBD_EPERM }, { EIO, NBD_EIO }, { ENOMEM, NBD_ENOMEM },
		{ EINVAL, NBD_EINVAL }, { ENOSPC, NBD_ENOSPC }, { EOVERFLOW, NBD_EOVERFLOW },
		{ ENOTSUP, NBD_ENOTSUP }, { EOPNOTSUPP, NBD_ENOTSUP }, { ESHUTDOWN, NBD_ESHUTDOWN },
		{ EROFS, NBD_EPERM }, { EDQUOT, NBD_ENOSPC },
		{ EAGAIN, NBD_EIO }, { ETIMEDOUT, NBD_EIO }, { ENODEV, NBD_EIO }, { EBUSY, NBD_EIO },
		{ -1, NBD_EIO }, { 100000, NBD_EIO },
	};
	for (size_t i = 0; i < MP_ARRAY_SIZE(t); i++)
		cr_expect_eq(nbd_errno_to_nbd(t[i].in), t[i].out, "errno %d -> %u, want %u", t[i].in,
			     nbd_errno_to_nbd(t[i].in), t[i].out);
}

Test(nbd_block_sizes, table)
{
	static const struct { uint32_t bs; uint64_t opt; uint32_t min, pref, max; } t[] = {
		{ 512, 0, 512, 4096, 32 * MiB },
		{ 4096, 0, 4096, 4096, 32 * MiB },
		{ 512, 1 * MiB, 512, 1 * MiB, 32 * MiB },
		{ 512, 3000, 512, 4096, 32 * MiB },           /* below 4096: 4096 */
		{ 512, 100000, 512, 65536, 32 * MiB },        /* not a power of two: rounded down */
		{ 512, 1ull << 40, 512, 32 * MiB, 32 * MiB }, /* above the maximum: capped */
		{ 65536, 0, 65536, 65536, 32 * MiB },         /* preferred never below minimum */
		{ 520, 0, 520, 4096, 32 * MiB - (32 * MiB) % 520 },
		{ 0, 0, 1, 4096, 32 * MiB },
	};
	for (size_t i = 0; i < MP_ARRAY_SIZE(t); i++) {
		struct nbd_block_sizes bs;
		nbd_block_sizes_for(t[i].bs, t[i].opt, &bs);
		cr_expect_eq(bs.min, t[i].min, "case %zu min %u", i, bs.min);
		cr_expect_eq(bs.pref, t[i].pref, "case %zu pref %u", i, bs.pref);
		cr_expect_eq(bs.max, t[i].max, "case %zu max %u", i, bs.max);
		cr_expect_eq(bs.max % bs.min, 0, "case %zu: max a multiple of min", i);
	}
}

Test(nbd_names, commands_and_options)
{
	cr_expect_str_eq(nbd_cmd_name(NBD_CMD_WRITE_ZEROES), "WRITE_ZEROES");
	cr_expect_str_eq(nbd_cmd_name(99), "UNKNOWN");
	cr_expect_str_eq(nbd_opt_name(NBD_OPT_GO), "GO");
	cr_expect_str_eq(nbd_opt_name(0), "UNKNOWN");
	cr_expect_str_eq(nbd_opt_name(0x7fffffff), "UNKNOWN");
}
