/* Unit tests for transport/nbd/nbd_tls.c and the STARTTLS option state machine: credentials loading, FORCEDTLS, PSK handshakes over a socketpair. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "transport/nbd/nbd_int.h"

/* ---- files ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mpiscsi-tls-unit.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	signal(SIGPIPE, SIG_IGN);  /* the contract: sessions write with write(2) */
}

static void remove_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

static const char *path_of(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
	return buf;
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* A P-256 key and a self-signed certificate for it, as PEM files. */
static void make_cert(const char *cert_path, const char *key_path, mode_t key_mode)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	cr_assert(key && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	cr_assert(X509_sign(x, key, EVP_sha256()));

	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	PEM_write_bio_X509(b, x);
	long n = BIO_get_mem_data(b, &data);
	write_file(cert_path, data, (size_t)n, 0644);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &data);
	write_file(key_path, data, (size_t)n, key_mode);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* ---- loading credentials ---- */

TestSuite(nbd_tls_creds, .init = make_tmpdir, .fini = remove_tmpdir);

Test(nbd_tls_creds, x509_and_psk)
{
	char cert[128], key[128], psk[128], err[512] = "";
	make_cert(path_of("cert.pem", cert, sizeof(cert)), path_of("key.pem", key, sizeof(key)), 0600);
	write_file(path_of("keys.psk", psk, sizeof(psk)), "a:00ff\nb:1234\n", 14, 0400);

	struct nbd_tls_config cfg = { .cert_file = cert, .key_file = key, .ca_file = cert, .psk_file = psk };
	struct nbd_tls_creds *cr = nbd_tls_creds_load(&cfg, err, sizeof(err));
	cr_assert_not_null(cr, "%s", err);
	cr_expect_str_eq(nbd_tls_creds_describe(cr), "X.509 (client certificates required), PSK (2 identities)");
	nbd_tls_creds_unref(cr);

	struct nbd_tls_config only_psk = { .psk_file = psk };
	cr = nbd_tls_creds_load(&only_psk, err, sizeof(err));
	cr_assert_not_null(cr, "%s", err);
	cr_expect_str_eq(nbd_tls_creds_describe(cr), "PSK (2 identities)");
	nbd_tls_creds_unref(cr);
}

Test(nbd_tls_creds, secret_files_readable_by_others_are_refused)
{
	char cert[128], key[128], psk[128], err[512] = "", want[512];
	make_cert(path_of("cert.pem", cert, sizeof(cert)), path_of("key.pem", key, sizeof(key)), 0644);
	struct nbd_tls_config cfg = { .cert_file = cert, .key_file = key };
	cr_expect_null(nbd_tls_creds_load(&cfg, err, sizeof(err)));
	snprintf(want, sizeof(want), "TLS key file %s: group or others may access it (mode 0644): chmod 600 %s",
		 key, key);
	cr_expect_str_eq(err, want);

	write_file(path_of("keys.psk", psk, sizeof(psk)), "a:00\n", 5, 0640);
	struct nbd_tls_config pcfg = { .psk_file = psk };
	cr_expect_null(nbd_tls_creds_load(&pcfg, err, sizeof(err)));
	snprintf(want, sizeof(want), "TLS PSK file %s: group or others may access it (mode 0640): chmod 600 %s",
		 psk, psk);
	cr_expect_str_eq(err, want);
	/* Group write is as bad as group read. */
	cr_assert_eq(chmod(psk, 0620), 0);
	cr_expect_null(nbd_tls_creds_load(&pcfg, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "(mode 0620)"), "%s", err);
}

Test(nbd_tls_creds, bad_files)
{
	char cert[128], key[128], cert2[128], key2[128], psk[128], junk[128], err[512] = "", want[600];
	make_cert(path_of("cert.pem", cert, sizeof(cert)), path_of("key.pem", key, sizeof(key)), 0600);
	make_cert(path_of("cert2.pem", cert2, sizeof(cert2)), path_of("key2.pem", key2, sizeof(key2)), 0600);
	write_file(path_of("junk", junk, sizeof(junk)), "not pem\n", 8, 0600);

	/* A key that belongs to another certificate. */
	struct nbd_tls_config c1 = { .cert_file = cert, .key_file = key2 };
	cr_expect_null(nbd_tls_creds_load(&c1, err, sizeof(err)));
	snprintf(want, sizeof(want), "TLS key file %s does not belong to the certificate in %s (", key2, cert);
	cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
	/* Missing files, junk. */
	struct nbd_tls_config c2 = { .cert_file = "/nonexistent/c.pem", .key_file = key };
	cr_expect_null(nbd_tls_creds_load(&c2, err, sizeof(err)));
	cr_expect_str_eq(err, "TLS certificate file /nonexistent/c.pem: No such file or directory");
	struct nbd_tls_config c3 = { .cert_file = junk, .key_file = key };
	cr_expect_null(nbd_tls_creds_load(&c3, err, sizeof(err)));
	snprintf(want, sizeof(want), "TLS certificate file %s: no usable PEM certificate: ", junk);
	cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
	struct nbd_tls_config c4 = { .cert_file = cert, .key_file = junk };
	cr_expect_null(nbd_tls_creds_load(&c4, err, sizeof(err)));
	snprintf(want, sizeof(want), "TLS key file %s: no usable PEM private key", junk);
	cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
	struct nbd_tls_config c5 = { .cert_file = cert, .key_file = key, .ca_file = tmpdir };
	cr_expect_null(nbd_tls_creds_load(&c5, err, sizeof(err)));
	snprintf(want, sizeof(want), "TLS CA file %s: not a regular file", tmpdir);
	cr_expect_str_eq(err, want);
	/* A PSK file with a bad line: the message names the file and the line, never the key. */
	write_file(path_of("keys.psk", psk, sizeof(psk)), "a:00\nb:5ec2e7z1\n", 16, 0600);
	struct nbd_tls_config c6 = { .psk_file = psk };
	cr_expect_null(nbd_tls_creds_load(&c6, err, sizeof(err)));
	snprintf(want, sizeof(want), "TLS PSK file %s:2: character 7 of the key is not a hex digit", psk);
	cr_expect_str_eq(err, want);
	/* Combinations. */
	struct nbd_tls_config c7 = { .ca_file = cert, .psk_file = psk };
	cr_expect_null(nbd_tls_creds_load(&c7, err, sizeof(err)));
	cr_expect_str_eq(err, "TLS client certificates (a CA file) need a server certificate and key");
	struct nbd_tls_config c8 = { .cert_file = cert };
	cr_expect_null(nbd_tls_creds_load(&c8, err, sizeof(err)));
	cr_expect_str_eq(err, "TLS needs both a certificate file and its key file");
	struct nbd_tls_config c9 = { 0 };
	cr_expect_null(nbd_tls_creds_load(&c9, err, sizeof(err)));
	cr_expect_str_eq(err, "TLS needs a certificate and key, or a PSK file");
}

/* ---- the option state machine over a socketpair, with a PSK client in a thread ---- */

#define PSK_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

enum client_tls { CLIENT_TLS13, CLIENT_TLS12 };

struct client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;                 /* once TLS is on */
	uint8_t key[32];          /* the PSK the client uses */
	const char *identity;
	ev_async *done;
	struct ev_loop *loop;
	/* results, checked in the main thread */
	char log[4096];
	bool ok;
};

static void clog_add(struct client *cl, const char *fmt, ...) MP_PRINTF(2, 3);
static void clog_add(struct client *cl, const char *fmt, ...)
{
	size_t l = strlen(cl->log);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cl->log + l, sizeof(cl->log) - l, fmt, ap);
	va_end(ap);
}

static bool c_write(struct client *cl, const void *p, size_t n)
{
	if (cl->ssl) {
		size_t w = 0;
		return SSL_write_ex(cl->ssl, p, n, &w) == 1 && w == n;
	}
	return send(cl->fd, p, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Exactly n bytes; false on EOF or error. */
static bool c_read(struct client *cl, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		if (cl->ssl) {
			size_t r = 0;
			if (SSL_read_ex(cl->ssl, (uint8_t *)p + got, n - got, &r) != 1)
				return false;
			got += r;
		} else {
			ssize_t r = recv(cl->fd, (uint8_t *)p + got, n - got, 0);
			if (r <= 0)
				return false;
			got += (size_t)r;
		}
	}
	return true;
}

static bool send_opt(struct client *cl, uint32_t opt, const void *data, uint32_t len)
{
	uint8_t h[NBD_OPT_HDR_LEN];
	mp_put_be64(h, NBD_IHAVEOPT);
	mp_put_be32(h + 8, opt);
	mp_put_be32(h + 12, len);
	return c_write(cl, h, sizeof(h)) && (!len || c_write(cl, data, len));
}

/* Read replies to opt until a final one; returns its type, or 0 if the connection ended. */
static uint32_t final_reply(struct client *cl, uint32_t opt)
{
	for (int i = 0; i < 16; i++) {
		uint8_t h[NBD_OPT_REPLY_HDR_LEN], data[512];
		if (!c_read(cl, h, sizeof(h)))
			return 0;
		uint32_t len = mp_be32(h + 16), type = mp_be32(h + 12);
		if (mp_be64(h) != NBD_REP_MAGIC || mp_be32(h + 8) != opt || len > sizeof(data))
			return 1;  /* not a reply to this option: an error value no test expects */
		if (len && !c_read(cl, data, len))
			return 0;
		if (type != NBD_REP_SERVER && type != NBD_REP_INFO)
			return type;
	}
	return 1;
}

#define EXPECT(cond)                                                  \
	do {                                                          \
		if (!(cond)) {                                        \
			clog_add(cl, "line %d: %s failed\n", __LINE__, #cond); \
			return false;                                 \
		}                                                     \
	} while (0)

static bool c_greeting(struct client *cl)
{
	uint8_t g[NBD_GREETING_LEN], flags[4];
	EXPECT(c_read(cl, g, sizeof(g)));
	EXPECT(mp_be64(g) == NBD_MAGIC && mp_be64(g + 8) == NBD_IHAVEOPT);
	/* The protocol has no TLS handshake flag: only fixed newstyle and no-zeroes. */
	EXPECT(mp_be16(g + 16) == (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES));
	mp_put_be32(flags, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	EXPECT(c_write(cl, flags, sizeof(flags)));
	return true;
}

static SSL_SESSION *psk_session(struct client *cl, SSL *ssl)
{
	static const unsigned char aes128gcm_sha256[2] = { 0x13, 0x01 };
	SSL_SESSION *s = SSL_SESSION_new();
	SSL_SESSION_set1_master_key(s, cl->key, sizeof(cl->key));
	SSL_SESSION_set_cipher(s, SSL_CIPHER_find(ssl, aes128gcm_sha256));
	SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION);
	return s;
}

static int use_session_cb(SSL *ssl, const EVP_MD *md MP_UNUSED, const unsigned char **id, size_t *idlen,
			  SSL_SESSION **sess)
{
	struct client *cl = SSL_get_app_data(ssl);
	*sess = psk_session(cl, ssl);
	*id = (const unsigned char *)cl->identity;
	*idlen = strlen(cl->identity);
	return 1;
}

static unsigned int psk_client_cb(SSL *ssl, const char *hint MP_UNUSED, char *identity, unsigned int max_id,
				  unsigned char *psk, unsigned int max_psk)
{
	struct client *cl = SSL_get_app_data(ssl);
	if (strlen(cl->identity) >= max_id || sizeof(cl->key) > max_psk)
		return 0;
	strcpy(identity, cl->identity);
	memcpy(psk, cl->key, sizeof(cl->key));
	return sizeof(cl->key);
}

static bool c_starttls(struct client *cl, enum client_tls v)
{
	cl->ctx = SSL_CTX_new(TLS_client_method());
	EXPECT(cl->ctx);
	if (v == CLIENT_TLS13) {
		SSL_CTX_set_min_proto_version(cl->ctx, TLS1_3_VERSION);
		SSL_CTX_set_psk_use_session_callback(cl->ctx, use_session_cb);
	} else {
		SSL_CTX_set_max_proto_version(cl->ctx, TLS1_2_VERSION);
		SSL_CTX_set_cipher_list(cl->ctx, "PSK");
		SSL_CTX_set_psk_client_callback(cl->ctx, psk_client_cb);
	}
	cl->ssl = SSL_new(cl->ctx);
	SSL_set_app_data(cl->ssl, cl);
	SSL_set_fd(cl->ssl, cl->fd);
	if (SSL_connect(cl->ssl) != 1) {
		char buf[256];
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		clog_add(cl, "handshake failed: %s\n", buf);
		return false;
	}
	clog_add(cl, "tls %s\n", SSL_get_version(cl->ssl));
	return true;
}

/* The scripted conversations. Each returns true when every step went as expected. */
typedef bool script_fn(struct client *cl);

static bool script_forced_tls13(struct client *cl)
{
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_LIST, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_LIST) == NBD_REP_ERR_TLS_REQD);
	EXPECT(send_opt(cl, NBD_OPT_STRUCTURED_REPLY, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STRUCTURED_REPLY) == NBD_REP_ERR_TLS_REQD);
	EXPECT(send_opt(cl, 99, "xyz", 3));
	EXPECT(final_reply(cl, 99) == NBD_REP_ERR_TLS_REQD);
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, "x", 1));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ERR_INVALID);
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ACK);
	EXPECT(c_starttls(cl, CLIENT_TLS13));
	EXPECT(strcmp(SSL_get_version(cl->ssl), "TLSv1.3") == 0);
	EXPECT(send_opt(cl, NBD_OPT_LIST, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_LIST) == NBD_REP_ACK);  /* no exports: just the ACK */
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ERR_INVALID);
	EXPECT(send_opt(cl, NBD_OPT_GO, "\0\0\0\0\0\0", 6));
	EXPECT(final_reply(cl, NBD_OPT_GO) == NBD_REP_ERR_UNKNOWN);  /* TLS on: no TLS_REQD any more */
	EXPECT(send_opt(cl, NBD_OPT_ABORT, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_ABORT) == NBD_REP_ACK);
	uint8_t b;
	size_t r = 0;
	EXPECT(SSL_read_ex(cl->ssl, &b, 1, &r) != 1);  /* the server closed (close_notify) */
	EXPECT(SSL_get_error(cl->ssl, 0) == SSL_ERROR_ZERO_RETURN);
	return true;
}

static bool script_forced_tls12(struct client *cl)
{
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ACK);
	EXPECT(c_starttls(cl, CLIENT_TLS12));
	EXPECT(strcmp(SSL_get_version(cl->ssl), "TLSv1.2") == 0);
	EXPECT(send_opt(cl, NBD_OPT_LIST, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_LIST) == NBD_REP_ACK);
	return true;
}

static bool script_wrong_key(struct client *cl)
{
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ACK);
	cl->key[0] ^= 1;
	EXPECT(!c_starttls(cl, CLIENT_TLS13));
	return true;
}

static bool script_wrong_key_tls12(struct client *cl)
{
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ACK);
	cl->key[31] ^= 0x80;
	EXPECT(!c_starttls(cl, CLIENT_TLS12));
	return true;
}

static bool script_unknown_identity(struct client *cl)
{
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ACK);
	cl->identity = "mallory";
	EXPECT(!c_starttls(cl, CLIENT_TLS12));
	return true;
}

static bool script_export_name_before_tls(struct client *cl)
{
	uint8_t b;
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_EXPORT_NAME, "disk0", 5));
	EXPECT(!c_read(cl, &b, 1));  /* no reply can say no: the server hangs up */
	return true;
}

static bool script_data_before_reply(struct client *cl)
{
	uint8_t pkt[NBD_OPT_HDR_LEN + 5], b;
	EXPECT(c_greeting(cl));
	mp_put_be64(pkt, NBD_IHAVEOPT);
	mp_put_be32(pkt + 8, NBD_OPT_STARTTLS);
	mp_put_be32(pkt + 12, 0);
	memcpy(pkt + NBD_OPT_HDR_LEN, "\x16\x03\x01\x00\x00", 5);  /* a TLS record right behind */
	EXPECT(c_write(cl, pkt, sizeof(pkt)));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ACK);
	EXPECT(!c_read(cl, &b, 1));
	return true;
}

/* After the handshake: part of a TLS record, then silence. The server must wait, not spin. */
static bool script_partial_record(struct client *cl)
{
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ACK);
	EXPECT(c_starttls(cl, CLIENT_TLS13));
	EXPECT(send_opt(cl, NBD_OPT_LIST, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_LIST) == NBD_REP_ACK);
	EXPECT(send(cl->fd, "\x17\x03\x03\x00", 4, MSG_NOSIGNAL) == 4);  /* header of a record, cut short */
	usleep(800 * 1000);
	return true;
}

static bool script_not_offered(struct client *cl)
{
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ERR_POLICY);
	EXPECT(send_opt(cl, NBD_OPT_LIST, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_LIST) == NBD_REP_ACK);
	return true;
}

static bool script_optional(struct client *cl)
{
	EXPECT(c_greeting(cl));
	EXPECT(send_opt(cl, NBD_OPT_LIST, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_LIST) == NBD_REP_ACK);
	EXPECT(send_opt(cl, NBD_OPT_STARTTLS, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_STARTTLS) == NBD_REP_ACK);
	EXPECT(c_starttls(cl, CLIENT_TLS13));
	EXPECT(send_opt(cl, NBD_OPT_LIST, NULL, 0));
	EXPECT(final_reply(cl, NBD_OPT_LIST) == NBD_REP_ACK);
	return true;
}

struct run {
	struct client cl;
	script_fn *script;
};

static void *client_main(void *arg)
{
	struct run *r = arg;
	r->cl.ok = r->script(&r->cl);
	if (r->cl.ssl)
		SSL_shutdown(r->cl.ssl);
	shutdown(r->cl.fd, SHUT_WR);
	ev_async_send(r->cl.loop, r->cl.done);
	return NULL;
}

static void done_cb(struct ev_loop *loop, ev_async *w MP_UNUSED, int revents MP_UNUSED)
{
	ev_break(loop, EVBREAK_ALL);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w MP_UNUSED, int revents MP_UNUSED)
{
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Serve one connection with the given policy to the scripted client and check the
 * client's verdict. Returns how many times the server's loop went round: a handful per
 * message when it waits as it should, thousands when it spins (whatever share of a busy
 * machine's CPU it gets, so this is steadier than measuring CPU time).
 */
static unsigned converse(enum nbd_tls_policy policy, script_fn *script, bool expect_ok)
{
	char psk[128], err[512] = "", text[128];
	snprintf(text, sizeof(text), "qemu:%s\n", PSK_HEX);
	write_file(path_of("keys.psk", psk, sizeof(psk)), text, strlen(text), 0600);
	struct nbd_tls_config cfg = { .psk_file = psk };
	struct nbd_tls_creds *cr = nbd_tls_creds_load(&cfg, err, sizeof(err));
	cr_assert_not_null(cr, "%s", err);

	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct nbd_server *srv = nbd_server_new(loop);
	cr_assert_not_null(srv);
	nbd_server_set_tls(srv, cr);
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	cr_assert_not_null(nbd_conn_new(srv, sv[0], policy));

	ev_async done;
	ev_timer deadline;
	ev_async_init(&done, done_cb);
	ev_async_start(loop, &done);
	ev_timer_init(&deadline, timeout_cb, 10., 0.);
	ev_timer_start(loop, &deadline);
	struct run r = { .cl = { .fd = sv[1], .identity = "qemu", .done = &done, .loop = loop }, .script = script };
	for (size_t i = 0; i < sizeof(r.cl.key); i++)
		r.cl.key[i] = (uint8_t)((i % 16) * 0x11);  /* = PSK_HEX */
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, client_main, &r), 0);
	unsigned it0 = ev_iteration(loop);
	ev_run(loop, 0);
	unsigned rounds = ev_iteration(loop) - it0;
	bool timed_out = !ev_is_active(&deadline) && !ev_is_pending(&deadline);
	if (timed_out)
		shutdown(sv[1], SHUT_RDWR);  /* unblock the client so it can be joined */
	pthread_join(th, NULL);
	/* Let the server see the client's end and close its side. */
	for (int i = 0; i < 100 && nbd_server_client_count(srv); i++)
		ev_run(loop, EVRUN_NOWAIT | EVRUN_ONCE);
	cr_expect_not(timed_out, "conversation timed out; client log:\n%s", r.cl.log);
	cr_expect_eq(r.cl.ok, expect_ok, "client log:\n%s", r.cl.log);
	nbd_server_free(srv);
	ev_async_stop(loop, &done);
	ev_timer_stop(loop, &deadline);
	ev_loop_destroy(loop);
	SSL_free(r.cl.ssl);
	SSL_CTX_free(r.cl.ctx);
	close(sv[1]);
	return rounds;
}

TestSuite(nbd_starttls, .init = make_tmpdir, .fini = remove_tmpdir);

Test(nbd_starttls, forced_tls13_psk)
{
	converse(NBD_TLS_REQUIRED, script_forced_tls13, true);
}

Test(nbd_starttls, forced_tls12_psk)
{
	converse(NBD_TLS_REQUIRED, script_forced_tls12, true);
}

Test(nbd_starttls, wrong_key_fails_the_handshake)
{
	converse(NBD_TLS_REQUIRED, script_wrong_key, true);
}

Test(nbd_starttls, wrong_key_fails_the_tls12_handshake)
{
	converse(NBD_TLS_REQUIRED, script_wrong_key_tls12, true);
}

Test(nbd_starttls, unknown_identity_fails_the_handshake)
{
	converse(NBD_TLS_REQUIRED, script_unknown_identity, true);
}

Test(nbd_starttls, export_name_before_tls_disconnects)
{
	converse(NBD_TLS_REQUIRED, script_export_name_before_tls, true);
}

Test(nbd_starttls, data_before_the_starttls_reply_disconnects)
{
	converse(NBD_TLS_REQUIRED, script_data_before_reply, true);
}

Test(nbd_starttls, a_partial_record_is_waited_for_not_spun_on)
{
	/* The client is silent for 0.8 s after part of a record header: a loop that came back
	 * for the bytes OpenSSL holds would go round thousands of times meanwhile. */
	unsigned rounds = converse(NBD_TLS_REQUIRED, script_partial_record, true);
	cr_expect_lt(rounds, 200, "the server's loop went round %u times for one short conversation", rounds);
}

Test(nbd_starttls, not_offered_is_policy)
{
	converse(NBD_TLS_NONE, script_not_offered, true);
}

Test(nbd_starttls, optional)
{
	converse(NBD_TLS_OPTIONAL, script_optional, true);
}

/* The harness itself can fail: a script that expects the wrong thing is reported. */
Test(nbd_starttls, harness_detects_a_wrong_expectation)
{
	converse(NBD_TLS_NONE, script_forced_tls12, false);
}
