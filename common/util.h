/* Small helpers shared by every layer: container_of, array sizes, min/max, big-endian access. */
#ifndef MP_COMMON_UTIL_H
#define MP_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define MP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define mp_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define MP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MP_MAX(a, b) ((a) > (b) ? (a) : (b))
#define MP_UNUSED __attribute__((unused))
#define MP_PRINTF(f, a) __attribute__((format(printf, f, a)))

static inline uint16_t mp_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t mp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t mp_be64(const uint8_t *p) { return (uint64_t)mp_be32(p) << 32 | mp_be32(p + 4); }
static inline void mp_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void mp_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void mp_put_be64(uint8_t *p, uint64_t v) { mp_put_be32(p, (uint32_t)(v >> 32)); mp_put_be32(p + 4, (uint32_t)v); }

#endif
