/* TLS pre-shared keys: the "identity:hexkey" file format of GnuTLS psktool, qemu (keys.psk) and nbdkit. */
#ifndef MP_TRANSPORT_NBD_PSK_H
#define MP_TRANSPORT_NBD_PSK_H

#include <stddef.h>
#include <stdint.h>

/*
 * File format: one "identity:hexkey" per line, as GnuTLS psktool writes it and
 * as qemu's tls-creds-psk (dir/keys.psk) and nbdkit --tls-psk read it.
 * - Lines end in LF or CRLF; trailing blanks are ignored; blank lines are skipped.
 * - The identity is everything before the first ':': 1..NBD_PSK_MAX_IDENTITY
 *   bytes, no control characters; each identity at most once.
 * - The key is hex digits (either case), an even number of them, 1..NBD_PSK_MAX_KEY
 *   bytes once decoded.
 * - At least one identity, at most NBD_PSK_MAX_ENTRIES.
 * Errors never quote key material: they name the file, the line and the problem.
 */

#define NBD_PSK_MAX_IDENTITY 255u              /* what TLS 1.2 stacks accept (OpenSSL: 256 with NUL) */
#define NBD_PSK_MAX_KEY      256u              /* bytes after decoding */
#define NBD_PSK_MAX_ENTRIES  4096u
#define NBD_PSK_MAX_FILE     (1024u * 1024u)   /* bytes of file text */

struct nbd_psk {
	char identity[NBD_PSK_MAX_IDENTITY + 1]; /* NUL-terminated */
	size_t identity_len;
	uint8_t key[NBD_PSK_MAX_KEY];
	size_t key_len;
};

struct nbd_psk_table {
	struct nbd_psk *v;
	size_t n;
};

/*
 * Parse len bytes of text (name is used in messages: "NAME:LINE: problem").
 * On success returns 0 and fills *t (free with nbd_psk_table_free); on error
 * returns -1, *t is empty and err holds the message. NUL bytes are an error.
 */
int nbd_psk_parse(const char *text, size_t len, const char *name, struct nbd_psk_table *t,
		  char *err, size_t errlen);

/* The entry for this identity (len bytes, no NUL needed), or NULL. */
const struct nbd_psk *nbd_psk_find(const struct nbd_psk_table *t, const char *identity, size_t len);

/* Wipe every key and free the table; *t becomes empty. Safe on an empty table. */
void nbd_psk_table_free(struct nbd_psk_table *t);

#endif
