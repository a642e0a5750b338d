/* TLS for NBD connections with OpenSSL: credentials (X.509, PSK), non-blocking sessions behind the I/O ops table. */
#include "transport/nbd/nbd_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/util.h"
#include "transport/nbd/nbd_psk.h"

#define TLS_FILE_MAX   (1024u * 1024u)  /* certificates, keys and PSK files are small */
#define TLS_STAGE      (16u * 1024u)    /* one TLS record: small output items are gathered into it */
#define TLS_WRITE_MAX  (256u * 1024u)   /* bytes offered to one SSL_write */
#define TLS_READ_MAX   (256u * 1024u)   /* bytes taken in one read op (fairness between clients) */
#define TLS_READ_AHEAD (128u * 1024u)   /* OpenSSL's socket read buffer: several records per read(2) */

/* TLS 1.3 suites, SHA-256 ones first: external PSKs are SHA-256 (RFC 8446 4.2.11) and a
 * SHA-384 suite would make the server ignore them; the server's order wins. */
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
/* TLS 1.2: AEAD suites with forward secrecy, plus the PSK suites GnuTLS offers (PSK,
 * DHE-PSK, ECDHE-PSK); PSK suites are only chosen when PSKs are configured. */
#define TLS12_SUITES "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:" \
		     "ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES256-GCM-SHA384:" \
		     "DHE-PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:" \
		     "PSK-CHACHA20-POLY1305:!aNULL:!eNULL"

struct nbd_tls_creds {
	SSL_CTX *ctx;            /* its app data points back here for the PSK callbacks */
	struct nbd_psk_table psk;
	unsigned refs;
	char desc[160];
};

/* One connection's TLS state. */
struct nbd_tls_session {
	SSL *ssl;                /* app data: the struct nbd_conn */
	struct nbd_tls_creds *creds; /* a reference */
	bool established;        /* handshake finished (and logged) */
	bool failed;             /* fatal error: no close_notify */
	bool rd_wants_write;     /* the last SSL_read needs the socket writable */
	bool rd_blocked;         /* the last SSL_read needs more from the socket: nothing to do
				    with what OpenSSL holds until the socket is readable */
	bool wr_wants_read;      /* the last SSL_write needs the socket readable */
	const uint8_t *retry_buf; /* an SSL_write that said WANT_*: repeat exactly it */
	size_t retry_len;
	char psk_identity[NBD_PSK_MAX_IDENTITY + 1]; /* the PSK a client used, for the log */
	uint8_t stage[TLS_STAGE];
};

/* ---- errors ---- */

static int tls_fail(char *err, size_t errlen, const char *fmt, ...) MP_PRINTF(3, 4);
static int tls_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The reason of the most recent OpenSSL error (the queue is cleared). */
static const char *ossl_reason(char *buf, size_t n)
{
	unsigned long e, last = 0;
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (!last)
		return "unknown error";
	const char *r = ERR_reason_error_string(last);
	if (r)
		snprintf(buf, n, "%s", r);
	else
		ERR_error_string_n(last, buf, n);
	return buf;
}

/* ---- loading files ---- */

/*
 * Read a whole credentials file. secret: group and others must have no access.
 * The buffer is NUL-terminated; free it with free_file (which wipes it).
 */
static int read_file(const char *what, const char *path, bool secret, char **out, size_t *len,
		     char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return tls_fail(err, errlen, "%s %s: %s", what, path, strerror(errno));
	/* fstat on the opened file: what is checked is what is read. */
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return tls_fail(err, errlen, "%s %s: %s", what, path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return tls_fail(err, errlen, "%s %s: not a regular file", what, path);
	}
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		return tls_fail(err, errlen, "%s %s: group or others may access it (mode %04o): chmod 600 %s",
				what, path, (unsigned)(st.st_mode & 07777), path);
	}
	if (st.st_size > (off_t)TLS_FILE_MAX) {
		close(fd);
		return tls_fail(err, errlen, "%s %s: larger than %u bytes", what, path, TLS_FILE_MAX);
	}
	char *buf = malloc(TLS_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return tls_fail(err, errlen, "%s %s: out of memory", what, path);
	}
	size_t got = 0;
	/* Bounded: every round reads at least one byte or ends. */
	while (got <= TLS_FILE_MAX) {
		ssize_t n = read(fd, buf + got, TLS_FILE_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			free(buf);
			return tls_fail(err, errlen, "%s %s: %s", what, path, strerror(e));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > TLS_FILE_MAX) {
		explicit_bzero(buf, TLS_FILE_MAX + 1);
		free(buf);
		return tls_fail(err, errlen, "%s %s: larger than %u bytes", what, path, TLS_FILE_MAX);
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static void free_file(char *buf, size_t len)
{
	if (!buf)
		return;
	explicit_bzero(buf, len);
	free(buf);
}

/* Never let OpenSSL ask for a passphrase on a terminal: encrypted keys are refused. */
static int no_passphrase(char *buf MP_UNUSED, int size MP_UNUSED, int rwflag MP_UNUSED, void *u MP_UNUSED)
{
	return -1;
}

static int load_x509(SSL_CTX *ctx, const struct nbd_tls_config *cfg, char *err, size_t errlen)
{
	char why[256], *text = NULL;
	size_t len = 0;

	/* The certificate is public: only that it is a readable regular file is checked. */
	if (read_file("TLS certificate file", cfg->cert_file, false, &text, &len, err, errlen) < 0)
		return -1;
	free_file(text, len);
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
		return tls_fail(err, errlen, "TLS certificate file %s: no usable PEM certificate: %s", cfg->cert_file,
				ossl_reason(why, sizeof(why)));

	if (read_file("TLS key file", cfg->key_file, true, &text, &len, err, errlen) < 0)
		return -1;
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	free_file(text, len);
	if (!key)
		return tls_fail(err, errlen, "TLS key file %s: no usable PEM private key (encrypted keys are "
				"not supported): %s", cfg->key_file, ossl_reason(why, sizeof(why)));
	/* OpenSSL compares the key with the certificate here already. */
	int ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(key);
	if (!ok)
		return tls_fail(err, errlen, "TLS key file %s does not belong to the certificate in %s (%s)",
				cfg->key_file, cfg->cert_file, ossl_reason(why, sizeof(why)));
	return 0;
}

static int load_ca(SSL_CTX *ctx, const char *ca, char *err, size_t errlen)
{
	char why[256], *text = NULL;
	size_t len = 0;

	if (read_file("TLS CA file", ca, false, &text, &len, err, errlen) < 0)
		return -1;
	free_file(text, len);
	ERR_clear_error();
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		return tls_fail(err, errlen, "TLS CA file %s: no usable PEM certificate: %s", ca,
				ossl_reason(why, sizeof(why)));
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
	if (!names)
		return tls_fail(err, errlen, "TLS CA file %s: no CA names: %s", ca, ossl_reason(why, sizeof(why)));
	SSL_CTX_set_client_CA_list(ctx, names);  /* takes names */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

/* ---- PSK callbacks (the credentials hang off the SSL_CTX, the connection off the SSL) ---- */

static const struct nbd_psk *psk_lookup(SSL *ssl, const char *identity, size_t len)
{
	const struct nbd_tls_creds *cr = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	struct nbd_conn *c = SSL_get_app_data(ssl);
	const struct nbd_psk *e = cr ? nbd_psk_find(&cr->psk, identity, len) : NULL;

	if (c && c->tls) {
		size_t n = MP_MIN(len, sizeof(c->tls->psk_identity) - 1);
		memcpy(c->tls->psk_identity, identity, n);
		c->tls->psk_identity[n] = '\0';
		if (!e)
			mp_info("nbd: client %llu: unknown TLS PSK identity '%s'", (unsigned long long)c->id,
				c->tls->psk_identity);
	}
	return e;
}

/* TLS 1.3 external PSK: a session carrying the key, with a SHA-256 suite as RFC 8446 says. */
static int psk_find_session(SSL *ssl, const unsigned char *identity, size_t identity_len, SSL_SESSION **sess)
{
	static const unsigned char aes128gcm_sha256[2] = { 0x13, 0x01 };
	*sess = NULL;
	const struct nbd_psk *e = psk_lookup(ssl, (const char *)identity, identity_len);
	if (!e)
		return 1;  /* no PSK: the handshake goes on with a certificate, or fails */
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes128gcm_sha256);
	SSL_SESSION *s = cipher ? SSL_SESSION_new() : NULL;
	if (!s)
		return 0;
	if (SSL_SESSION_set1_master_key(s, e->key, e->key_len) != 1 || SSL_SESSION_set_cipher(s, cipher) != 1 ||
	    SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
		SSL_SESSION_free(s);
		return 0;
	}
	*sess = s;
	return 1;
}

/* TLS 1.2 PSK cipher suites. */
static unsigned int psk_server(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len)
{
	if (!identity)
		return 0;
	const struct nbd_psk *e = psk_lookup(ssl, identity, strlen(identity));
	if (!e || e->key_len > max_psk_len)
		return 0;
	memcpy(psk, e->key, e->key_len);
	return (unsigned int)e->key_len;
}

/* ---- credentials ---- */

struct nbd_tls_creds *nbd_tls_creds_load(const struct nbd_tls_config *cfg, char *err, size_t errlen)
{
	bool x509 = cfg->cert_file && *cfg->cert_file, psk = cfg->psk_file && *cfg->psk_file;
	bool ca = cfg->ca_file && *cfg->ca_file, key = cfg->key_file && *cfg->key_file;

	if (!x509 && !psk) {
		tls_fail(err, errlen, "TLS needs a certificate and key, or a PSK file");
		return NULL;
	}
	if (x509 != key) {
		tls_fail(err, errlen, "TLS needs both a certificate file and its key file");
		return NULL;
	}
	if (ca && !x509) {
		tls_fail(err, errlen, "TLS client certificates (a CA file) need a server certificate and key");
		return NULL;
	}
	struct nbd_tls_creds *cr = calloc(1, sizeof(*cr));
	if (!cr) {
		tls_fail(err, errlen, "out of memory");
		return NULL;
	}
	cr->refs = 1;
	ERR_clear_error();
	cr->ctx = SSL_CTX_new(TLS_server_method());
	if (!cr->ctx) {
		char why[256];
		tls_fail(err, errlen, "TLS: cannot create a context: %s", ossl_reason(why, sizeof(why)));
		goto fail;
	}
	SSL_CTX_set_app_data(cr->ctx, cr);
	SSL_CTX_set_min_proto_version(cr->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(cr->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(cr->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(cr->ctx, SSL_SESS_CACHE_OFF);
	/* A TLS 1.3 PSK handshake counts as a resumption, which OpenSSL refuses with client
	 * certificate checks on unless the context has an id. */
	static const unsigned char sid_ctx[] = "mpiscsi-nbd";
	SSL_CTX_set_session_id_context(cr->ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_num_tickets(cr->ctx, 0);
	SSL_CTX_set_dh_auto(cr->ctx, 1);
	/* Read ahead: one read(2) takes several records instead of two reads per record. What
	 * it leaves buffered is announced by tls_pending(), since the socket will not be. */
	SSL_CTX_set_read_ahead(cr->ctx, 1);
	SSL_CTX_set_default_read_buffer_len(cr->ctx, TLS_READ_AHEAD);
	if (SSL_CTX_set_ciphersuites(cr->ctx, TLS13_SUITES) != 1 ||
	    SSL_CTX_set_cipher_list(cr->ctx, TLS12_SUITES) != 1) {
		char why[256];
		tls_fail(err, errlen, "TLS: cipher suites refused by OpenSSL: %s", ossl_reason(why, sizeof(why)));
		goto fail;
	}
	if (x509 && load_x509(cr->ctx, cfg, err, errlen) < 0)
		goto fail;
	if (ca && load_ca(cr->ctx, cfg->ca_file, err, errlen) < 0)
		goto fail;
	if (psk) {
		char *text = NULL, perr[512];
		size_t len = 0;
		if (read_file("TLS PSK file", cfg->psk_file, true, &text, &len, err, errlen) < 0)
			goto fail;
		int rc = nbd_psk_parse(text, len, cfg->psk_file, &cr->psk, perr, sizeof(perr));
		free_file(text, len);
		if (rc < 0) {
			tls_fail(err, errlen, "TLS PSK file %s", perr);
			goto fail;
		}
		SSL_CTX_set_psk_find_session_callback(cr->ctx, psk_find_session);
		SSL_CTX_set_psk_server_callback(cr->ctx, psk_server);
	}
	snprintf(cr->desc, sizeof(cr->desc), "%s%s%s%s", x509 ? "X.509" : "",
		 ca ? " (client certificates required)" : "", x509 && psk ? ", " : "", psk ? "PSK" : "");
	if (psk)
		snprintf(cr->desc + strlen(cr->desc), sizeof(cr->desc) - strlen(cr->desc), " (%zu identit%s)",
			 cr->psk.n, cr->psk.n == 1 ? "y" : "ies");
	return cr;
fail:
	nbd_tls_creds_unref(cr);
	return NULL;
}

const char *nbd_tls_creds_describe(const struct nbd_tls_creds *cr)
{
	return cr->desc;
}

struct nbd_tls_creds *nbd_tls_creds_ref(struct nbd_tls_creds *cr)
{
	cr->refs++;
	return cr;
}

void nbd_tls_creds_unref(struct nbd_tls_creds *cr)
{
	if (!cr || --cr->refs)
		return;
	SSL_CTX_free(cr->ctx);
	nbd_psk_table_free(&cr->psk);
	free(cr);
}

/* ---- a session ---- */

static void session_established(struct nbd_conn *c)
{
	struct nbd_tls_session *t = c->tls;
	if (t->established || !SSL_is_init_finished(t->ssl))
		return;
	t->established = true;
	char who[300] = "no client certificate";
	X509 *peer = SSL_get1_peer_certificate(t->ssl);
	if (peer) {
		char subj[256];
		X509_NAME_oneline(X509_get_subject_name(peer), subj, sizeof(subj));
		snprintf(who, sizeof(who), "client certificate %s", subj);
		X509_free(peer);
	} else if (t->psk_identity[0] && (SSL_session_reused(t->ssl) ||
					   (SSL_CIPHER_get_auth_nid(SSL_get_current_cipher(t->ssl)) == NID_auth_psk))) {
		snprintf(who, sizeof(who), "PSK identity '%s'", t->psk_identity);
	}
	mp_info("nbd: client %llu: TLS established: %s %s, %s", (unsigned long long)c->id,
		SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl), who);
}

/* A fatal TLS error: log why (once) and make the op fail with EPROTO. */
static ssize_t session_error(struct nbd_conn *c, int ssl_err, const char *op)
{
	struct nbd_tls_session *t = c->tls;
	char why[256];

	t->failed = true;
	if (ssl_err == SSL_ERROR_SYSCALL) {
		int e = errno ? errno : ECONNRESET;
		ERR_clear_error();
		/* A client that rejects our certificate often just hangs up: say so, it is the only trace. */
		if (!t->established)
			mp_info("nbd: client %llu: TLS handshake: the client hung up (%s)", (unsigned long long)c->id,
				strerror(e));
		errno = e;
		return -1;
	}
	ossl_reason(why, sizeof(why));
	mp_info("nbd: client %llu: TLS %s failed%s: %s", (unsigned long long)c->id, op,
		t->established ? "" : " during the handshake", why);
	errno = EPROTO;
	return -1;
}

static ssize_t tls_read(struct nbd_conn *c, void *buf, size_t len)
{
	struct nbd_tls_session *t = c->tls;
	size_t got = 0;

	t->rd_wants_write = false;
	/* Bounded: every round takes at least one byte, or ends. */
	while (got < len && got < TLS_READ_MAX) {
		size_t n = 0;
		ERR_clear_error();
		int r = SSL_read_ex(t->ssl, (uint8_t *)buf + got, MP_MIN(len - got, TLS_READ_MAX - got), &n);
		session_established(c);
		if (r == 1) {
			got += n;
			t->rd_blocked = false;
			continue;
		}
		int e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			t->rd_wants_write = e == SSL_ERROR_WANT_WRITE;
			t->rd_blocked = e == SSL_ERROR_WANT_READ;
			ERR_clear_error();
			if (got)
				break;
			errno = EAGAIN;
			return -1;
		}
		if (got)
			break;  /* hand over what was read; the error comes back on the next call */
		if (e == SSL_ERROR_ZERO_RETURN) {
			ERR_clear_error();
			return 0;  /* close_notify, or an EOF without one (SSL_OP_IGNORE_UNEXPECTED_EOF) */
		}
		return session_error(c, e, "read");
	}
	return (ssize_t)got;
}

static ssize_t tls_writev(struct nbd_conn *c, const struct iovec *iov, int iovcnt)
{
	struct nbd_tls_session *t = c->tls;
	const uint8_t *p;
	size_t len, w = 0;

	if (t->retry_len) {
		/* OpenSSL wants the very same write again after WANT_*; the queue has not moved. */
		p = t->retry_buf;
		len = t->retry_len;
	} else if (iovcnt == 1 || iov[0].iov_len >= TLS_STAGE) {
		p = iov[0].iov_base;
		len = MP_MIN(iov[0].iov_len, (size_t)TLS_WRITE_MAX);
	} else {
		/* Reply headers and small replies: one record instead of one each. */
		len = 0;
		for (int i = 0; i < iovcnt && len < TLS_STAGE; i++) {
			size_t take = MP_MIN(iov[i].iov_len, TLS_STAGE - len);
			memcpy(t->stage + len, iov[i].iov_base, take);
			len += take;
		}
		p = t->stage;
	}
	ERR_clear_error();
	int r = SSL_write_ex(t->ssl, p, len, &w);
	session_established(c);
	if (r == 1) {
		t->retry_len = 0;
		t->wr_wants_read = false;
		return (ssize_t)w;
	}
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		t->wr_wants_read = e == SSL_ERROR_WANT_READ;
		t->retry_buf = p;
		t->retry_len = len;
		errno = EAGAIN;
		return -1;
	}
	return session_error(c, e, "write");
}

static bool tls_pending(const struct nbd_conn *c)
{
	const struct nbd_tls_session *t = c->tls;
	/* Decrypted bytes, or whole records read ahead. After WANT_READ what is held is at most
	 * part of a record, after WANT_WRITE the read waits for room to write: waiting for the
	 * socket is right then, and coming back would spin. */
	if (t->rd_blocked || t->rd_wants_write)
		return false;
	return SSL_pending(t->ssl) > 0 || SSL_has_pending(t->ssl);
}

static int tls_events(const struct nbd_conn *c, int want)
{
	const struct nbd_tls_session *t = c->tls;
	int ev = 0;
	/* Wait for what OpenSSL needs, not what the connection wants: waiting for both would
	 * spin on a socket that is readable while a read waits for room to write. */
	if (want & EV_READ)
		ev |= t->rd_wants_write ? EV_WRITE : EV_READ;
	if (want & EV_WRITE)
		ev |= t->wr_wants_read ? EV_READ : EV_WRITE;
	return ev;
}

static int tls_ready(const struct nbd_conn *c, int revents)
{
	const struct nbd_tls_session *t = c->tls;
	int r = revents & (EV_READ | EV_WRITE);
	if ((revents & EV_WRITE) && t->rd_wants_write)
		r |= EV_READ;
	if ((revents & EV_READ) && t->wr_wants_read)
		r |= EV_WRITE;
	return r;
}

static void tls_shutdown(struct nbd_conn *c)
{
	struct nbd_tls_session *t = c->tls;
	if (!t)
		return;
	if (t->established && !t->failed) {
		/* One try at a close_notify; a full socket or a gone peer is no reason to wait. */
		ERR_clear_error();
		SSL_shutdown(t->ssl);
		ERR_clear_error();
	}
	SSL_free(t->ssl);
	nbd_tls_creds_unref(t->creds);
	explicit_bzero(t->stage, sizeof(t->stage));
	free(t);
	c->tls = NULL;
}

static const struct nbd_io_ops nbd_io_tls = {
	.name = "tls",
	.read = tls_read,
	.writev = tls_writev,
	.pending = tls_pending,
	.events = tls_events,
	.ready = tls_ready,
	.shutdown = tls_shutdown,
};

bool nbd_tls_session_start(struct nbd_conn *c, struct nbd_tls_creds *creds)
{
	if (c->in_off != c->in_len) {
		nbd_conn_close(c, "client sent data before the STARTTLS reply");
		return false;
	}
	if (!creds) {
		nbd_conn_close(c, "TLS credentials gone");
		return false;
	}
	struct nbd_tls_session *t = calloc(1, sizeof(*t));
	if (!t) {
		nbd_conn_close(c, "out of memory");
		return false;
	}
	ERR_clear_error();
	t->ssl = SSL_new(creds->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, c->fd) != 1) {
		char why[256];
		mp_warn("nbd: client %llu: TLS session: %s", (unsigned long long)c->id, ossl_reason(why, sizeof(why)));
		SSL_free(t->ssl);
		free(t);
		nbd_conn_close(c, "cannot start TLS");
		return false;
	}
	SSL_set_accept_state(t->ssl);
	SSL_set_app_data(t->ssl, c);
	t->creds = nbd_tls_creds_ref(creds);
	c->tls = t;
	c->iops = &nbd_io_tls;
	c->tls_starting = false;
	mp_debug("nbd: client %llu: STARTTLS: handshake begins", (unsigned long long)c->id);
	return true;
}
