/* Shared helpers for the libFuzzer targets: invariant checks that abort with a message, input slicing. */
#ifndef MP_TESTS_FUZZ_COMMON_H
#define MP_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant the parser's contract promises. A violation aborts, which
 * libFuzzer reports as a crash and saves the input, like a sanitizer report.
 */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* True if buf[0..size) holds a NUL, i.e. a string kept in it is terminated inside the buffer. */
static inline bool fuzz_terminated(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

/* True if every byte of p[0..n) is zero. */
static inline bool fuzz_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * A heap copy of exactly n bytes, so that AddressSanitizer catches a parser
 * reading even one byte past what it was given. The caller frees it.
 */
static inline uint8_t *fuzz_dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (!d)
		abort();
	if (n)
		memcpy(d, p, n);
	return d;
}

/* A NUL-terminated heap copy (for APIs that take C strings). The caller frees it. */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

#endif
