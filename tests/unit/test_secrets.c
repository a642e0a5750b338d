/* Unit tests for tools/mpiscsid/secrets.c (format, errors that never quote the file, owner and mode rule) and the CHAP keys of the configuration. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/mpiscsid/config.h"
#include "tools/mpiscsid/secrets.h"

#define IQN "iqn.2026-11.test.mpiscsi:tgt"

static struct mp_secrets *parse(const char *text, char *err, size_t n)
{
	return mp_secrets_parse("s.txt", text, strlen(text), err, n);
}

/* ---- the format ---- */

Test(secrets, valid_file)
{
	static const char text[] =
		"# CHAP secrets\n"
		"\n"
		"   # indented comment\n"
		"alice  alice-secret-1\n"
		"\tbob\tb#b-secret;12  \r\n"          /* tabs, CR LF, '#' and ';' inside the secret */
		"target.example:out   0123456789abcdef0123456789abcdef\n"
		"twelve-bytes 123456789012";          /* minimum length, no final newline */
	char err[256] = "";
	struct mp_secrets *s = parse(text, err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	cr_expect_eq(mp_secrets_count(s), 4);
	cr_expect_str_eq(mp_secrets_get(s, "alice"), "alice-secret-1");
	cr_expect_str_eq(mp_secrets_get(s, "bob"), "b#b-secret;12");
	cr_expect_str_eq(mp_secrets_get(s, "target.example:out"), "0123456789abcdef0123456789abcdef");
	cr_expect_str_eq(mp_secrets_get(s, "twelve-bytes"), "123456789012");
	cr_expect_null(mp_secrets_get(s, "carol"));
	cr_expect_null(mp_secrets_get(s, "alic"));
	cr_expect_null(mp_secrets_get(s, NULL));
	cr_expect_str_eq(mp_secrets_file(s), "s.txt");
	mp_secrets_free(s);
	mp_secrets_free(NULL);
}

Test(secrets, empty_file)
{
	char err[256] = "";
	struct mp_secrets *s = mp_secrets_parse("s.txt", "", 0, err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	cr_expect_eq(mp_secrets_count(s), 0);
	cr_expect_null(mp_secrets_get(s, "alice"));
	mp_secrets_free(s);
}

Test(secrets, longest_names_and_secrets)
{
	char user[MP_CHAP_NAME_MAX_LEN + 1], secret[MP_SECRET_MAX_LEN + 1], text[600], err[256] = "";
	struct mp_secrets *s;

	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	memset(secret, 'k', sizeof(secret) - 1);
	secret[sizeof(secret) - 1] = '\0';
	snprintf(text, sizeof(text), "%s %s\n", user, secret);
	s = parse(text, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_expect_str_eq(mp_secrets_get(s, user), secret);
	mp_secrets_free(s);
}

/* ---- errors: file and line, what is wrong, nothing of the line itself ---- */

struct bad {
	const char *text;
	const char *err;
	const char *secret;   /* must not appear in the message */
};

static const struct bad bad_cases[] = {
	{ "alice\n", "s.txt:1: expected 'USER SECRET', found one field", "alice" },
	{ "# c\nmy-long-secret-only\n", "s.txt:2: expected 'USER SECRET', found one field", "my-long-secret-only" },
	{ "alice Pa55 w0rd-w0rd-w0rd\n",
	  "s.txt:1: expected 'USER SECRET', found more than two fields (a secret can not contain spaces)", "w0rd-w0rd" },
	{ "alice s3cret-s3cret # comment\n",
	  "s.txt:1: expected 'USER SECRET', found more than two fields (a secret can not contain spaces)", "s3cret-s3cret" },
	{ "alice 12345678901\n", "s.txt:1: the secret is shorter than 12 bytes (RFC 7143 asks for at least 96 bits)",
	  "12345678901" },
	{ "alice abc\x01" "defghijklmn\n",
	  "s.txt:1: control character or non-ASCII byte (only visible ASCII, spaces and tabs are allowed)", "abc" },
	{ "alice s\xc3\xa9" "cret-secret-1\n",
	  "s.txt:1: control character or non-ASCII byte (only visible ASCII, spaces and tabs are allowed)", "cret-secret" },
	{ "alice first-secret-1\nbob bob-secret-12\nalice second-secret\n",
	  "s.txt:3: this user name is already used at line 1", "second-secret" },
	{ "alice abcdefghijkl\rmnop\n",
	  "s.txt:1: control character or non-ASCII byte (only visible ASCII, spaces and tabs are allowed)", "abcdefghijkl" },
};

Test(secrets, errors)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		char err[512] = "";
		struct mp_secrets *s = parse(b->text, err, sizeof(err));

		cr_expect_null(s, "case %zu accepted", i);
		mp_secrets_free(s);
		cr_expect_str_eq(err, b->err, "case %zu: got \"%s\"", i, err);
		cr_expect_null(strstr(err, b->secret), "case %zu: the message quotes the file: %s", i, err);
	}
}

Test(secrets, nul_byte_and_lengths)
{
	static const char nul[] = "alice secret\0secret-x\n";
	char err[512] = "", text[700], longer[MP_SECRET_MAX_LEN + 2], user[MP_CHAP_NAME_MAX_LEN + 2];
	struct mp_secrets *s = mp_secrets_parse("s.txt", nul, sizeof(nul) - 1, err, sizeof(err));

	cr_expect_null(s);
	cr_expect_str_eq(err, "s.txt:1: control character or non-ASCII byte (only visible ASCII, spaces and tabs are allowed)");

	memset(longer, 'k', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	snprintf(text, sizeof(text), "alice %s\n", longer);
	cr_expect_null(parse(text, err, sizeof(err)));
	cr_expect_str_eq(err, "s.txt:1: the secret is longer than 255 bytes");

	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	snprintf(text, sizeof(text), "%s alice-secret-1\n", user);
	cr_expect_null(parse(text, err, sizeof(err)));
	cr_expect_str_eq(err, "s.txt:1: the user name is longer than 255 bytes");
}

Test(secrets, size_limits)
{
	char *text = malloc(MP_SECRETS_FILE_MAX + 2), err[256] = "";
	size_t len = 0;
	struct mp_secrets *s;

	cr_assert_not_null(text);
	for (int i = 0; i <= MP_SECRETS_MAX; i++)   /* 1025 entries of 19 bytes */
		len += (size_t)sprintf(text + len, "u%04d secret-%06d\n", i, i);
	s = mp_secrets_parse("s.txt", text, len, err, sizeof(err));
	cr_expect_null(s);
	cr_expect_str_eq(err, "s.txt: more than 1024 entries");

	memset(text, '#', MP_SECRETS_FILE_MAX + 1);
	s = mp_secrets_parse("s.txt", text, MP_SECRETS_FILE_MAX + 1, err, sizeof(err));
	cr_expect_null(s);
	cr_expect_str_eq(err, "s.txt: larger than 65536 bytes");
	free(text);
}

Test(secrets, chap_names)
{
	char name[MP_CHAP_NAME_MAX_LEN + 2];

	cr_expect(mp_chap_name_valid("alice"));
	cr_expect(mp_chap_name_valid("iqn.2026-11.example:x"));
	cr_expect_not(mp_chap_name_valid(""));
	cr_expect_not(mp_chap_name_valid("al ice"));
	cr_expect_not(mp_chap_name_valid("al\tice"));
	cr_expect_not(mp_chap_name_valid("al\xc3\xa9"));
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_expect_not(mp_chap_name_valid(name));
	name[MP_CHAP_NAME_MAX_LEN] = '\0';
	cr_expect(mp_chap_name_valid(name));
}

/* ---- owner and mode ---- */

Test(secrets, owner_and_mode_rule)
{
	struct stat st;
	char err[512];

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0600;
	st.st_uid = 0;
	cr_expect_eq(mp_secrets_check_stat("/etc/s", &st, 0, err, sizeof(err)), 0);
	cr_expect_eq(mp_secrets_check_stat("/etc/s", &st, 1000, err, sizeof(err)), 0, "root's file, other daemon user");
	st.st_mode = S_IFREG | 0400;
	cr_expect_eq(mp_secrets_check_stat("/etc/s", &st, 0, err, sizeof(err)), 0);

	st.st_uid = 1000;
	st.st_mode = S_IFREG | 0600;
	cr_expect_eq(mp_secrets_check_stat("/etc/s", &st, 1000, err, sizeof(err)), 0, "the daemon user's own file");
	cr_expect_eq(mp_secrets_check_stat("/etc/s", &st, 0, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "/etc/s: owned by uid 1000, but a secrets file must belong to root or to the daemon's "
			 "user (uid 0): chown root /etc/s");

	st.st_uid = 0;
	static const mode_t open_modes[] = { 0640, 0604, 0660, 0644, 0610, 0601, 0620, 0602, 0700 | 0007 };
	for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		char want[256];
		st.st_mode = S_IFREG | open_modes[i];
		cr_expect_eq(mp_secrets_check_stat("/etc/s", &st, 0, err, sizeof(err)), -1, "mode %o", open_modes[i]);
		snprintf(want, sizeof(want), "/etc/s: mode %04o lets group or others access it; a secrets file must be "
			 "for its owner only: chmod 600 /etc/s", (unsigned)open_modes[i]);
		cr_expect_str_eq(err, want);
	}
	st.st_mode = S_IFDIR | 0700;
	cr_expect_eq(mp_secrets_check_stat("/etc/s", &st, 0, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "/etc/s: not a regular file");
}

/* ---- files on disk ---- */

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mpiscsi-secrets.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

/* Write FILE under the temp dir with mode; returns its path in a static buffer. */
static const char *write_file(const char *name, mode_t mode, const char *text)
{
	static char path[2][128];
	static int which;
	char *p = path[which++ % 2];
	int fd;

	snprintf(p, 128, "%s/%s", dir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(chmod(p, mode), 0);
	return p;
}

Test(secrets, load_from_files, .init = mkdir_tmp, .fini = rm_tmp)
{
	char err[512] = "", want[512], path[160];
	const char *f = write_file("good", 0600, "alice alice-secret-1\n");
	struct mp_secrets *s = mp_secrets_load(f, err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	cr_expect_str_eq(mp_secrets_get(s, "alice"), "alice-secret-1");
	cr_expect_str_eq(mp_secrets_file(s), f);
	mp_secrets_free(s);

	f = write_file("open", 0644, "alice alice-secret-1\n");
	cr_expect_null(mp_secrets_load(f, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: mode 0644 lets group or others access it; a secrets file must be for its "
		 "owner only: chmod 600 %s", f, f);
	cr_expect_str_eq(err, want);

	snprintf(path, sizeof(path), "%s/missing", dir);
	cr_expect_null(mp_secrets_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	cr_expect_str_eq(err, want);

	f = write_file("bad", 0600, "alice alice-secret-1\nbob\n");
	cr_expect_null(mp_secrets_load(f, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: expected 'USER SECRET', found one field", f);
	cr_expect_str_eq(err, want);

	/* A FIFO in its place is refused without blocking on open or read. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_expect_null(mp_secrets_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	cr_expect_str_eq(err, want);

	/* A directory. */
	cr_expect_null(mp_secrets_load(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	cr_expect_str_eq(err, want);
}

/* ---- the configuration's CHAP keys ---- */

static int conf(struct mp_conf *c, const char *text, char *err, size_t n)
{
	mp_conf_init(c);
	if (mp_conf_parse(c, "t.conf", text, strlen(text), err, n) != 0)
		return -1;
	return mp_conf_validate(c, err, n);
}

Test(chap_conf, keys)
{
	static const char text[] =
		"[global]\n"
		"secrets = /etc/mpiscsi/secrets\n"
		"[disk d0]\n"
		"target = " IQN "\n"
		"portal = 198.18.1.2\n"
		"discovery = 198.18.1.2\n"
		"auth = mutual\n"
		"chap_user = alice\n"
		"chap_mutual_user = tgt-out\n"
		"discovery_auth = chap\n"
		"discovery_chap_user = disc\n"
		"lun = 0\n"
		"[disk d1]\n"
		"target = " IQN "\n"
		"lun = 1\n"
		"portal = 198.18.1.2\n";
	struct mp_conf c;
	char err[512] = "";

	cr_assert_eq(conf(&c, text, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.secrets_file, "/etc/mpiscsi/secrets");
	cr_expect_null(c.secrets);
	cr_expect_eq(c.disks[0].auth, MP_CONF_AUTH_MUTUAL);
	cr_expect_str_eq(c.disks[0].chap_user, "alice");
	cr_expect_str_eq(c.disks[0].chap_mutual_user, "tgt-out");
	cr_expect_eq(c.disks[0].discovery_auth, MP_CONF_AUTH_CHAP);
	cr_expect_str_eq(c.disks[0].discovery_chap_user, "disc");
	cr_expect_str_eq(c.disks[0].discovery_chap_mutual_user, "");
	cr_expect_eq(c.disks[1].auth, MP_CONF_AUTH_NONE, "default");
	cr_expect_eq(c.disks[1].discovery_auth, MP_CONF_AUTH_NONE, "default");
	cr_expect_str_eq(mp_conf_auth_name(MP_CONF_AUTH_NONE), "none");
	cr_expect_str_eq(mp_conf_auth_name(MP_CONF_AUTH_CHAP), "chap");
	cr_expect_str_eq(mp_conf_auth_name(MP_CONF_AUTH_MUTUAL), "mutual");
	mp_conf_free(&c);
}

#define DISK "[disk d0]\ntarget = " IQN "\nportal = 198.18.1.2\n"

static const struct { const char *text, *err; } conf_errors[] = {
	{ DISK "auth = mutual\nchap_user = alice\n",
	  "t.conf:1: [disk d0] has auth = mutual but no chap_mutual_user (the target's CHAP name)" },
	{ DISK "auth = chap\n", "t.conf:1: [disk d0] has auth = chap but no chap_user" },
	{ DISK "auth = mutual\nchap_mutual_user = tgt\n", "t.conf:1: [disk d0] has auth = mutual but no chap_user" },
	{ DISK "chap_user = alice\n", "t.conf:1: [disk d0] sets chap_user but auth is none (set auth = chap)" },
	{ DISK "chap_mutual_user = tgt\n",
	  "t.conf:1: [disk d0] sets chap_mutual_user but auth is none (set auth = mutual)" },
	{ DISK "auth = chap\nchap_user = alice\nchap_mutual_user = tgt\n",
	  "t.conf:1: [disk d0] sets chap_mutual_user, which needs auth = mutual" },
	{ DISK "auth = mutual\nchap_user = alice\nchap_mutual_user = alice\n",
	  "t.conf:1: [disk d0]: chap_user and chap_mutual_user are both 'alice'; mutual CHAP needs another name "
	  "and secret for each direction (RFC 7143)" },
	{ DISK "discovery_auth = chap\ndiscovery_chap_user = d\n",
	  "t.conf:1: [disk d0] has discovery_auth = chap but no discovery portal" },
	{ DISK "discovery = 198.18.1.2\ndiscovery_auth = mutual\ndiscovery_chap_user = d\n",
	  "t.conf:1: [disk d0] has discovery_auth = mutual but no discovery_chap_mutual_user (the target's CHAP name)" },
	{ DISK "discovery = 198.18.1.2\ndiscovery_chap_user = d\n",
	  "t.conf:1: [disk d0] sets discovery_chap_user but discovery_auth is none (set discovery_auth = chap)" },
	{ DISK "auth = yes\n", "t.conf:4: auth: 'yes' is not 'none', 'chap' or 'mutual'" },
	{ DISK "discovery_auth = CHAP\n", "t.conf:4: discovery_auth: 'CHAP' is not 'none', 'chap' or 'mutual'" },
	{ DISK "auth = chap\nchap_user = alice\nauth = none\n", "t.conf:6: duplicate key 'auth' (first set at line 4)" },
	{ "[global]\nsecrets = etc/secrets\n", "t.conf:2: secrets: 'etc/secrets' must be an absolute path" },
	{ "[disk d0]\nsecrets = /etc/s\n", "t.conf:2: key 'secrets' belongs in [global], not in [disk NAME]" },
	{ "[global]\nauth = chap\n", "t.conf:2: key 'auth' belongs in [disk NAME], not in [global]" },
};

Test(chap_conf, errors)
{
	for (size_t i = 0; i < sizeof(conf_errors) / sizeof(conf_errors[0]); i++) {
		struct mp_conf c;
		char err[512] = "";

		cr_expect_eq(conf(&c, conf_errors[i].text, err, sizeof(err)), -1, "case %zu accepted", i);
		cr_expect_str_eq(err, conf_errors[i].err, "case %zu", i);
		mp_conf_free(&c);
	}
}

/* A secret typed where a user name belongs is not echoed back. */
Test(chap_conf, bad_name_not_quoted)
{
	static const char *const keys[] = { "chap_user", "chap_mutual_user", "discovery_chap_user",
					    "discovery_chap_mutual_user" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char text[256], want[256], err[512] = "";
		struct mp_conf c;

		snprintf(text, sizeof(text), DISK "%s = alice Pa55word-Pa55word\n", keys[i]);
		cr_expect_eq(conf(&c, text, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "t.conf:4: %s: not a CHAP name (1-255 visible ASCII characters, no spaces; "
			 "the value is not shown in case it holds a secret)", keys[i]);
		cr_expect_str_eq(err, want);
		cr_expect_null(strstr(err, "Pa55word"));
		mp_conf_free(&c);
	}
}

/* Parse, validate and load the secrets of a config whose [global] secrets is the temp file. */
static int load(struct mp_conf *c, const char *secrets, const char *disk, char *err, size_t n)
{
	char text[1024];

	snprintf(text, sizeof(text), "[global]\nsecrets = %s\n%s", secrets, disk);
	if (conf(c, text, err, n) != 0)
		return -2;
	return mp_conf_load_secrets(c, err, n);
}

Test(chap_conf, load_secrets, .init = mkdir_tmp, .fini = rm_tmp)
{
	const char *f = write_file("secrets", 0600, "alice alice-secret-1\ntgt tgt-secret-12\nsame alice-secret-1\n");
	struct mp_conf c;
	char err[512] = "", want[512];
	const char *k, *mk;

	cr_assert_eq(load(&c, f, DISK "auth = mutual\nchap_user = alice\nchap_mutual_user = tgt\n", err, sizeof(err)),
		     0, "%s", err);
	cr_assert_not_null(c.secrets);
	cr_expect_eq(mp_conf_chap_secrets(&c, "alice", "tgt", &k, &mk, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(k, "alice-secret-1");
	cr_expect_str_eq(mk, "tgt-secret-12");
	cr_expect_eq(mp_conf_chap_secrets(&c, "alice", NULL, &k, &mk, err, sizeof(err)), 0);
	cr_expect_null(mk);
	cr_expect_eq(mp_conf_chap_secrets(&c, "nobody", NULL, &k, &mk, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "CHAP user 'nobody' has no secret in %s", f);
	cr_expect_str_eq(err, want);
	mp_conf_free(&c);
	cr_expect_null(c.secrets);

	/* unknown users, session and discovery */
	cr_expect_eq(load(&c, f, DISK "auth = chap\nchap_user = bob\n", err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "t.conf:3: [disk d0]: chap_user 'bob' has no secret in %s", f);
	cr_expect_str_eq(err, want);
	cr_expect_null(c.secrets);
	mp_conf_free(&c);
	cr_expect_eq(load(&c, f, DISK "auth = mutual\nchap_user = alice\nchap_mutual_user = carol\n", err,
			  sizeof(err)), -1);
	snprintf(want, sizeof(want), "t.conf:3: [disk d0]: chap_mutual_user 'carol' has no secret in %s", f);
	cr_expect_str_eq(err, want);
	mp_conf_free(&c);
	cr_expect_eq(load(&c, f, DISK "discovery = 198.18.1.2\ndiscovery_auth = chap\ndiscovery_chap_user = dave\n",
			  err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "t.conf:3: [disk d0]: discovery_chap_user 'dave' has no secret in %s", f);
	cr_expect_str_eq(err, want);
	mp_conf_free(&c);

	/* one secret for both directions */
	cr_expect_eq(load(&c, f, DISK "auth = mutual\nchap_user = alice\nchap_mutual_user = same\n", err, sizeof(err)),
		     -1);
	snprintf(want, sizeof(want), "t.conf:3: [disk d0]: chap_user 'alice' and chap_mutual_user 'same' have the "
		 "same secret in %s; RFC 7143 forbids one secret for both directions", f);
	cr_expect_str_eq(err, want);
	cr_expect_null(strstr(err, "alice-secret-1"));
	mp_conf_free(&c);

	/* the file's own errors come through, permissions first */
	cr_assert_eq(chmod(f, 0640), 0);
	cr_expect_eq(load(&c, f, DISK "auth = chap\nchap_user = alice\n", err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: mode 0640 lets group or others access it; a secrets file must be for its "
		 "owner only: chmod 600 %s", f, f);
	cr_expect_str_eq(err, want);
	mp_conf_free(&c);
	/* ... also when no disk uses CHAP yet */
	cr_expect_eq(load(&c, f, DISK, err, sizeof(err)), -1);
	cr_expect_str_eq(err, want);
	mp_conf_free(&c);

	cr_expect_eq(load(&c, "/nonexistent/mpiscsi-secrets", DISK "auth = chap\nchap_user = alice\n", err,
			  sizeof(err)), -1);
	cr_expect_str_eq(err, "/nonexistent/mpiscsi-secrets: No such file or directory");
	mp_conf_free(&c);
}

Test(chap_conf, needs_a_secrets_file)
{
	struct mp_conf c;
	char err[512] = "";

	cr_assert_eq(conf(&c, "[global]\n" DISK "auth = chap\nchap_user = alice\n", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(mp_conf_load_secrets(&c, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "t.conf:2: [disk d0] uses CHAP, but no secrets file is set (add secrets = "
			 "/etc/mpiscsi/secrets to [global])");
	mp_conf_free(&c);

	/* no CHAP, no file: nothing to load */
	cr_assert_eq(conf(&c, DISK, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(mp_conf_load_secrets(&c, err, sizeof(err)), 0);
	cr_expect_null(c.secrets);
	mp_conf_free(&c);
}
