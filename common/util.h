/*
 * util: small byte helpers used everywhere: hex, big-endian integers,
 * checked allocation, whole-file reads for small files (keys, config).
 */
#ifndef RZ_UTIL_H
#define RZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/rz_err.h"

/* Writes 2*len hex digits plus NUL into out (size >= 2*len+1). */
void hex_encode(char *out, const uint8_t *in, size_t len);
/* The value of one hex digit (either case), or -1 for any other byte. */
int hex_nibble(char c);
/* Decodes exactly outlen bytes from a hex string of length 2*outlen. */
int hex_decode(uint8_t *out, size_t outlen, const char *hex) RZ_WUR;

void be64_put(uint8_t *p, uint64_t v);
uint64_t be64_get(const uint8_t *p);
void be32_put(uint8_t *p, uint32_t v);

/* a - b as a signed number, saturated at the int64 limits.  Clock offsets are
 * differences of times that may come from a hostile peer or a broken clock. */
int64_t u64_diff_sat(uint64_t a, uint64_t b);

/* malloc/calloc/realloc that abort on true OOM (tmux xmalloc). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Writes data to path atomically (temp file, fsync, rename) with mode. */
int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode, rz_error *err)
    RZ_WUR;
/* Reads a file of at most maxlen bytes into buf; *outlen gets its size. */
int file_read_small(const char *path, void *buf, size_t maxlen, size_t *outlen, rz_error *err)
    RZ_WUR;

/* Formats a wall-clock time in ms as "YYYY-MM-DD HH:MM:SS UTC" into out. */
void format_utc(char *out, size_t len, uint64_t ms);

#endif
