/* CHAP secrets: the secrets file (owner and mode checked, then parsed) and the one place secrets live in memory. */
#ifndef MP_TOOLS_SECRETS_H
#define MP_TOOLS_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* RFC 7143 section 12.1.3 asks for CHAP secrets of at least 96 bits when nothing else
 * protects the connection; libiscsi 1.19 keeps names and secrets in 255-byte fields and
 * would cut longer ones short (and so log in with another secret). */
#define MP_SECRET_MIN_LEN     12
#define MP_SECRET_MAX_LEN     255
#define MP_CHAP_NAME_MAX_LEN  255
#define MP_SECRETS_FILE_MAX   (64 * 1024)  /* a secrets file is small; a large one is a mistake */
#define MP_SECRETS_MAX        1024         /* entries */

/*
 * Format, one entry per line:
 *
 *     # comment
 *     USER SECRET
 *
 * USER and SECRET are separated by spaces or tabs and are made of visible ASCII
 * (0x21-0x7e): no spaces, no control characters. Blank lines and lines whose first
 * non-blank character is '#' are ignored; there are no comments after an entry (a
 * '#' may be part of a secret). Lines may end in CR LF. USER is 1 to 255 bytes and
 * appears once; SECRET is 12 to 255 bytes.
 */
struct mp_secrets;

/*
 * Parse the text of a secrets file (len bytes, need not be NUL-terminated). name is
 * used in messages. Returns the store, or NULL with err "NAME:LINE: what is wrong"
 * (or "NAME: out of memory"). Messages never quote the file: a misplaced secret can
 * not leak through them. Nothing of the text is kept outside the store.
 */
struct mp_secrets *mp_secrets_parse(const char *name, const char *text, size_t len, char *err,
				    size_t errlen);

/*
 * The rule for a secrets file, given its fstat(): a regular file, owned by root or by
 * euid (the daemon's user), with no permission bits for group or others. Returns 0,
 * or -1 with err "NAME: what is wrong and how to fix it".
 */
int mp_secrets_check_stat(const char *name, const struct stat *st, uid_t euid, char *err, size_t errlen);

/*
 * Open file, check it with mp_secrets_check_stat (on the opened descriptor, so the file
 * checked is the file read), read it (at most MP_SECRETS_FILE_MAX bytes) and parse it.
 * The read buffer is zeroed before it is freed. Returns the store, or NULL with err
 * naming the file.
 */
struct mp_secrets *mp_secrets_load(const char *file, char *err, size_t errlen);

/* The secret of user, or NULL if the file has none. Valid until mp_secrets_free(s). */
const char *mp_secrets_get(const struct mp_secrets *s, const char *user);
size_t mp_secrets_count(const struct mp_secrets *s);
/* The file the store was read from ("" for parsed text without a name). */
const char *mp_secrets_file(const struct mp_secrets *s);

/* Zero every name and secret, then free. NULL is ignored. */
void mp_secrets_free(struct mp_secrets *s);

/* A CHAP name as the secrets file and the configuration accept it: 1-255 visible ASCII bytes. */
bool mp_chap_name_valid(const char *s);

#endif
