/*
 * mpk: safe use of msgpack-c.
 *
 * Encoding uses msgpack-c's packer behind a writer with a sticky error code,
 * so a run of appends is checked once.
 *
 * Decoding untrusted bytes is two steps.  mpk_check() walks the raw bytes
 * without allocating and refuses anything but exactly one complete object
 * whose every declared length fits in the bytes actually present and within
 * the limits (msgpack-c 4.0 would otherwise allocate whatever a header
 * declares).  Only then mpk_unpack() lets msgpack-c build the object tree in
 * a zone.  The accessors check types and ranges and never abort.
 */
#ifndef RZ_MPK_H
#define RZ_MPK_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/rz_err.h"

typedef struct mpk_limits {
    size_t max_depth;   /* nesting of arrays/maps (top level = 1) */
    size_t max_items;   /* elements of one array or pairs of one map */
    size_t max_objects; /* objects in the whole message */
    size_t max_str;     /* bytes of one str (and of one bin when max_bin is 0) */
    size_t max_bin;     /* bytes of one bin; 0: max_str */
    const char *bin;    /* what a bin is, for messages ("entry"); NULL: "bin" */
} mpk_limits;

/* Returns 0 when buf[0..len) is exactly one well-formed object inside lim,
 * RZ_E_DECODE when malformed, truncated or followed by trailing bytes, and
 * RZ_E_TOOBIG when a declared size exceeds a limit. */
int mpk_check(const uint8_t *buf, size_t len, const mpk_limits *lim, rz_error *err) RZ_WUR;

/* mpk_check, then unpack into zone z (owned by the caller). */
int mpk_unpack(const uint8_t *buf, size_t len, const mpk_limits *lim, msgpack_zone *z,
               msgpack_object *out, rz_error *err) RZ_WUR;

/* Typed accessors: 0 or RZ_E_DECODE. */
/* The big-endian unsigned number in the n (at most 8) bytes at p: msgpack's
 * lengths and integers, for readers of bytes mpk_check has validated. */
uint64_t mpk_be(const uint8_t *p, size_t n);
int mpk_uint(const msgpack_object *o, uint64_t *v) RZ_WUR;
int mpk_int(const msgpack_object *o, int64_t *v) RZ_WUR;
int mpk_bool(const msgpack_object *o, int *v) RZ_WUR;
/* bin of exactly n bytes (n == 0: any length); *p borrowed from the zone. */
int mpk_bin(const msgpack_object *o, size_t n, const uint8_t **p, size_t *len) RZ_WUR;
int mpk_str(const msgpack_object *o, const char **p, size_t *len) RZ_WUR;
/* array of exactly n elements (n == 0: any) */
int mpk_array(const msgpack_object *o, size_t n, const msgpack_object **items, size_t *count)
    RZ_WUR;

/* Writer with sticky rc: after the first failure every call is a no-op. */
typedef struct mpk_writer {
    msgpack_sbuffer sb; /* output bytes: sb.data, sb.size (owned) */
    msgpack_packer pk;  /* packer writing into sb */
    int rc;             /* first error, 0 while all went well */
} mpk_writer;

void mpk_w_init(mpk_writer *w);
void mpk_w_free(mpk_writer *w);
void mpk_w_reset(mpk_writer *w); /* empty the buffer, keep its memory */
void mpk_w_array(mpk_writer *w, size_t n);
void mpk_w_map(mpk_writer *w, size_t n);
void mpk_w_uint(mpk_writer *w, uint64_t v);
void mpk_w_int(mpk_writer *w, int64_t v);
void mpk_w_bool(mpk_writer *w, int v);
void mpk_w_nil(mpk_writer *w);
void mpk_w_bin(mpk_writer *w, const void *p, size_t n);
void mpk_w_str(mpk_writer *w, const char *s, size_t n);
/* Appends bytes that are already msgpack (e.g. a stored entry) verbatim. */
void mpk_w_raw(mpk_writer *w, const void *p, size_t n);

#endif
