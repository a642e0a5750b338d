/* Unit tests for transport/nbd/nbd_psk.c: the identity:hexkey PSK file parser, table-driven. */
#include <criterion/criterion.h>
#include <string.h>
#include "transport/nbd/nbd_psk.h"

static int parse(const char *text, struct nbd_psk_table *t, char *err, size_t n)
{
	return nbd_psk_parse(text, strlen(text), "keys.psk", t, err, n);
}

Test(nbd_psk, one_identity)
{
	struct nbd_psk_table t;
	char err[256] = "";

	cr_assert_eq(parse("alice:00ff10Ab\n", &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n, 1);
	cr_expect_str_eq(t.v[0].identity, "alice");
	cr_expect_eq(t.v[0].identity_len, 5);
	cr_assert_eq(t.v[0].key_len, 4);
	static const uint8_t want[] = { 0x00, 0xff, 0x10, 0xab };
	cr_expect_arr_eq(t.v[0].key, want, sizeof(want));
	const struct nbd_psk *e = nbd_psk_find(&t, "alice", 5);
	cr_expect_eq(e, &t.v[0]);
	cr_expect_null(nbd_psk_find(&t, "alic", 4));
	cr_expect_null(nbd_psk_find(&t, "alice2", 6));
	nbd_psk_table_free(&t);
	cr_expect_eq(t.n, 0);
	cr_expect_null(t.v);
}

Test(nbd_psk, several_identities_crlf_blank_lines_no_final_newline)
{
	struct nbd_psk_table t;
	char err[256] = "";
	/* psktool writes LF; a file edited elsewhere has CRLF and stray blanks. */
	static const char text[] = "qemu:0123456789abcdef\r\n\r\n  \nbob:ABCDEF \t\r\nuser with space:11";

	cr_assert_eq(parse(text, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n, 3);
	cr_expect_str_eq(t.v[0].identity, "qemu");
	cr_expect_eq(t.v[0].key_len, 8);
	cr_expect_eq(t.v[0].key[7], 0xef);
	cr_expect_str_eq(t.v[1].identity, "bob");
	cr_expect_eq(t.v[1].key_len, 3);
	cr_expect_eq(t.v[1].key[2], 0xef);
	cr_expect_str_eq(t.v[2].identity, "user with space");
	cr_expect_eq(t.v[2].key_len, 1);
	cr_expect_eq(t.v[2].key[0], 0x11);
	cr_expect_not_null(nbd_psk_find(&t, "bob", 3));
	nbd_psk_table_free(&t);
}

Test(nbd_psk, first_colon_ends_the_identity)
{
	struct nbd_psk_table t;
	char err[256] = "";

	/* "a:b:cc" is identity a with the key "b:cc", whose second character is not hex. */
	cr_assert_eq(parse("a:b:cc\n", &t, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "keys.psk:1: character 2 of the key is not a hex digit");
}

Test(nbd_psk, longest_identity_and_key)
{
	char text[NBD_PSK_MAX_IDENTITY + 1 + 2 * NBD_PSK_MAX_KEY + 2];
	struct nbd_psk_table t;
	char err[256] = "";

	memset(text, 'i', NBD_PSK_MAX_IDENTITY);
	text[NBD_PSK_MAX_IDENTITY] = ':';
	memset(text + NBD_PSK_MAX_IDENTITY + 1, '7', 2 * NBD_PSK_MAX_KEY);
	strcpy(text + NBD_PSK_MAX_IDENTITY + 1 + 2 * NBD_PSK_MAX_KEY, "\n");
	cr_assert_eq(parse(text, &t, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(t.v[0].identity_len, NBD_PSK_MAX_IDENTITY);
	cr_expect_eq(t.v[0].key_len, NBD_PSK_MAX_KEY);
	cr_expect_eq(t.v[0].key[NBD_PSK_MAX_KEY - 1], 0x77);
	nbd_psk_table_free(&t);
}

struct bad_case {
	const char *text;
	const char *err;
};

static const struct bad_case bad[] = {
	{ "", "keys.psk: no identity:hexkey line in the file" },
	{ "\n\r\n \n", "keys.psk: no identity:hexkey line in the file" },
	{ "alice\n", "keys.psk:1: expected identity:hexkey (no ':' found)" },
	{ "alice 00ff\n", "keys.psk:1: expected identity:hexkey (no ':' found)" },
	{ "ok:00\nbob=00ff\n", "keys.psk:2: expected identity:hexkey (no ':' found)" },
	{ ":00ff\n", "keys.psk:1: empty identity before ':'" },
	{ "alice:\n", "keys.psk:1: empty key after ':'" },
	{ "alice:  \r\n", "keys.psk:1: empty key after ':'" },
	{ "alice:0g\n", "keys.psk:1: character 2 of the key is not a hex digit" },
	{ "alice:00 ff\n", "keys.psk:1: character 3 of the key is not a hex digit" },
	{ "alice:0x00\n", "keys.psk:1: character 2 of the key is not a hex digit" },
	{ "alice:abc\n", "keys.psk:1: key has an odd number of hex digits (3)" },
	{ "al\tice:00\n", "keys.psk:1: control character in the identity" },
	{ "a:00\nb:11\na:22\n", "keys.psk:3: identity 'a' is listed twice" },
};

Test(nbd_psk, bad_files)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nbd_psk_table t = { (struct nbd_psk *)1, 7 };  /* must be emptied on error */
		char err[256] = "";
		cr_expect_eq(parse(bad[i].text, &t, err, sizeof(err)), -1, "case %zu accepted", i);
		cr_expect_str_eq(err, bad[i].err, "case %zu", i);
		cr_expect_null(t.v, "case %zu", i);
		cr_expect_eq(t.n, 0, "case %zu", i);
	}
}

Test(nbd_psk, errors_never_quote_the_key)
{
	struct nbd_psk_table t;
	char err[256] = "";

	cr_assert_eq(parse("alice:5ec2e7z5ec2e7\n", &t, err, sizeof(err)), -1);
	cr_expect_null(strstr(err, "5ec2e7"), "key material in the message: %s", err);
}

Test(nbd_psk, limits)
{
	char text[2 * NBD_PSK_MAX_KEY + 16];
	struct nbd_psk_table t;
	char err[256] = "";

	/* Identity one byte too long. */
	char id[NBD_PSK_MAX_IDENTITY + 8];
	memset(id, 'x', NBD_PSK_MAX_IDENTITY + 1);
	strcpy(id + NBD_PSK_MAX_IDENTITY + 1, ":00");
	cr_expect_eq(parse(id, &t, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "keys.psk:1: identity is longer than 255 bytes");
	/* Key one byte too long. */
	strcpy(text, "k:");
	memset(text + 2, 'a', 2 * NBD_PSK_MAX_KEY + 2);
	text[2 + 2 * NBD_PSK_MAX_KEY + 2] = '\0';
	cr_expect_eq(parse(text, &t, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "keys.psk:1: key is longer than 256 bytes");
	/* A NUL byte: not a text file. */
	cr_expect_eq(nbd_psk_parse("a:00\0b:11\n", 10, "keys.psk", &t, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "keys.psk: NUL byte in the file (not a text file)");
}
