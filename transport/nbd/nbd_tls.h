/* TLS for the NBD server (OpenSSL): server credentials from X.509 and PSK files; sessions live in nbd_tls.c. */
#ifndef MP_TRANSPORT_NBD_TLS_H
#define MP_TRANSPORT_NBD_TLS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Contract
 * - TLS 1.3 preferred, TLS 1.2 the minimum; no renegotiation, no compression, no
 *   session tickets or resumption (every connection does a full handshake).
 * - X.509: cert_file is a PEM chain (server certificate first), key_file its PEM
 *   private key, unencrypted. With ca_file, every client must present a
 *   certificate that chains to one of its CAs (PSK clients authenticate by their
 *   key instead and need none).
 * - PSK: psk_file in the "identity:hexkey" format (nbd_psk.h), as qemu's
 *   tls-creds-psk (dir/keys.psk) and nbdkit --tls-psk read it. TLS 1.3 external
 *   PSKs (SHA-256, with (EC)DHE when the client offers it) and TLS 1.2 PSK cipher
 *   suites are both served, so GnuTLS (qemu, libnbd) and OpenSSL clients work.
 *   Both X.509 and PSK may be configured together.
 * - Files that hold secrets (key_file, psk_file) are refused if group or others
 *   have any permission on them; every file must be a regular file (symbolic links
 *   are followed). Messages name the file.
 * - Sessions write with write(2) on the socket: the process must ignore SIGPIPE.
 * - Credentials are reference counted: the server and every TLS session hold
 *   one, so replacing them never pulls keys from under a running handshake.
 */

struct nbd_tls_creds;

/* What to load; NULL or "" members are not used. */
struct nbd_tls_config {
	const char *cert_file;   /* PEM certificate chain; needs key_file */
	const char *key_file;    /* PEM private key of cert_file; mode 0600 or stricter */
	const char *ca_file;     /* PEM CA certificates: client certificates required; needs cert_file */
	const char *psk_file;    /* identity:hexkey lines; mode 0600 or stricter */
};

/* Policies of a listener (see nbd_server_listen_opts). */
enum nbd_tls_policy {
	NBD_TLS_NONE = 0,        /* NOTLS: STARTTLS is refused with NBD_REP_ERR_POLICY */
	NBD_TLS_OPTIONAL,        /* STARTTLS accepted; clients may also go on without TLS */
	NBD_TLS_REQUIRED,        /* FORCEDTLS: every option but STARTTLS and ABORT gets
				    NBD_REP_ERR_TLS_REQD, EXPORT_NAME before TLS disconnects */
};

/*
 * Load credentials: at least cert_file+key_file or psk_file. Returns them with
 * one reference (the caller's), or NULL with a message in err naming the file
 * and the problem ("TLS key file /etc/x.pem: group or others may access it (mode
 * 0644): chmod 600 /etc/x.pem").
 */
struct nbd_tls_creds *nbd_tls_creds_load(const struct nbd_tls_config *cfg, char *err, size_t errlen);

/* One line for logs: "X.509 (client certificates required), PSK (2 identities)". */
const char *nbd_tls_creds_describe(const struct nbd_tls_creds *cr);

/* Drop a reference; the last one frees (and wipes the PSK keys). NULL is fine. */
void nbd_tls_creds_unref(struct nbd_tls_creds *cr);

/* Take another reference. */
struct nbd_tls_creds *nbd_tls_creds_ref(struct nbd_tls_creds *cr);

#endif
