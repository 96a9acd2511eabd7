/* mpk: bounded msgpack validation, typed accessors and a sticky writer. */
#include "common/mpk.h"

#include <string.h>

typedef struct mpk_walk {
    const uint8_t *p;      /* next byte */
    const uint8_t *end;    /* one past the last byte */
    const mpk_limits *lim; /* limits in force */
    size_t objects;        /* objects seen so far */
    rz_error *err;         /* detail sink */
} mpk_walk;

static int
walk_need(mpk_walk *w, size_t n)
{
    if ((size_t)(w->end - w->p) < n)
        return rz_fail(w->err, RZ_E_DECODE, "truncated msgpack (need %zu more bytes)",
                       n - (size_t)(w->end - w->p));
    return 0;
}

uint64_t
mpk_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    size_t i;
    for (i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads an n-byte big-endian length that follows the type byte. */
static int
walk_len(mpk_walk *w, size_t n, uint64_t *len)
{
    int rc = walk_need(w, n);
    if (rc)
        return rc;
    *len = mpk_be(w->p, n);
    w->p += n;
    return 0;
}

static int walk_obj(mpk_walk *w, size_t depth);

/* A str or bin body.  The limit is checked before the bytes present: a
 * declared size above a limit is `toobig` even when the frame is also too
 * short for it (PROTOCOL §4, size rule 2). */
static int
walk_raw(mpk_walk *w, uint64_t len, int is_bin)
{
    size_t max = is_bin && w->lim->max_bin ? w->lim->max_bin : w->lim->max_str;
    if (len > max)
        return rz_fail(w->err, RZ_E_TOOBIG, "%s of %llu bytes exceeds limit %zu",
                       !is_bin       ? "string"
                       : w->lim->bin ? w->lim->bin
                                     : "bin",
                       (unsigned long long)len, max);
    if (walk_need(w, (size_t)len))
        return RZ_E_DECODE;
    w->p += len;
    return 0;
}

/* Skips the n bytes of a number: they are no string, so max_str does not apply. */
static int
walk_fixed(mpk_walk *w, size_t n)
{
    int rc = walk_need(w, n);
    if (rc == 0)
        w->p += n;
    return rc;
}

static int
walk_container(mpk_walk *w, uint64_t count, int is_map, size_t depth)
{
    uint64_t i, n;
    if (depth + 1 > w->lim->max_depth)
        return rz_fail(w->err, RZ_E_TOOBIG, "nesting deeper than %zu", w->lim->max_depth);
    if (count > w->lim->max_items)
        return rz_fail(w->err, RZ_E_TOOBIG, "container of %llu items exceeds limit %zu",
                       (unsigned long long)count, w->lim->max_items);
    n = is_map ? count * 2 : count;
    /* Every element needs at least one byte: refuse counts the buffer cannot hold
     * before msgpack-c would allocate for them. */
    if (n > (uint64_t)(w->end - w->p))
        return rz_fail(w->err, RZ_E_DECODE, "container declares %llu items, %zu bytes left",
                       (unsigned long long)n, (size_t)(w->end - w->p));
    for (i = 0; i < n; i++) {
        int rc = walk_obj(w, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

static int
walk_obj(mpk_walk *w, size_t depth)
{
    uint8_t t;
    uint64_t len;
    int rc;
    if ((rc = walk_need(w, 1)) != 0)
        return rc;
    if (++w->objects > w->lim->max_objects)
        return rz_fail(w->err, RZ_E_TOOBIG, "more than %zu objects", w->lim->max_objects);
    t = *w->p++;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return 0; /* fixint, nil, bool */
    if ((t & 0xe0) == 0xa0)
        return walk_raw(w, t & 0x1f, 0);
    if ((t & 0xf0) == 0x90)
        return walk_container(w, t & 0x0f, 0, depth);
    if ((t & 0xf0) == 0x80)
        return walk_container(w, t & 0x0f, 1, depth);
    switch (t) {
    case 0xcc:
    case 0xd0: return walk_fixed(w, 1);
    case 0xcd:
    case 0xd1: return walk_fixed(w, 2);
    case 0xce:
    case 0xd2:
    case 0xca: return walk_fixed(w, 4);
    case 0xcf:
    case 0xd3:
    case 0xcb: return walk_fixed(w, 8);
    case 0xd9: return walk_len(w, 1, &len) ? RZ_E_DECODE : walk_raw(w, len, 0);
    case 0xda: return walk_len(w, 2, &len) ? RZ_E_DECODE : walk_raw(w, len, 0);
    case 0xdb: return walk_len(w, 4, &len) ? RZ_E_DECODE : walk_raw(w, len, 0);
    case 0xc4: return walk_len(w, 1, &len) ? RZ_E_DECODE : walk_raw(w, len, 1);
    case 0xc5: return walk_len(w, 2, &len) ? RZ_E_DECODE : walk_raw(w, len, 1);
    case 0xc6: return walk_len(w, 4, &len) ? RZ_E_DECODE : walk_raw(w, len, 1);
    case 0xdc: return walk_len(w, 2, &len) ? RZ_E_DECODE : walk_container(w, len, 0, depth);
    case 0xdd: return walk_len(w, 4, &len) ? RZ_E_DECODE : walk_container(w, len, 0, depth);
    case 0xde: return walk_len(w, 2, &len) ? RZ_E_DECODE : walk_container(w, len, 1, depth);
    case 0xdf: return walk_len(w, 4, &len) ? RZ_E_DECODE : walk_container(w, len, 1, depth);
    default:
        /* ext types and the reserved byte 0xc1 are not part of the protocol */
        return rz_fail(w->err, RZ_E_DECODE, "msgpack type 0x%02x not allowed", t);
    }
}

int
mpk_check(const uint8_t *buf, size_t len, const mpk_limits *lim, rz_error *err)
{
    mpk_walk w = {buf, buf + len, lim, 0, err};
    int rc;
    if (len == 0)
        return rz_fail(err, RZ_E_DECODE, "empty message");
    if ((rc = walk_obj(&w, 0)) != 0)
        return rc;
    if (w.p != w.end)
        return rz_fail(err, RZ_E_DECODE, "%zu trailing bytes after message", (size_t)(w.end - w.p));
    return 0;
}

int
mpk_unpack(const uint8_t *buf, size_t len, const mpk_limits *lim, msgpack_zone *z,
           msgpack_object *out, rz_error *err)
{
    size_t off = 0;
    int rc = mpk_check(buf, len, lim, err);
    if (rc)
        return rc;
    if (msgpack_unpack((const char *)buf, len, &off, z, out) != MSGPACK_UNPACK_SUCCESS ||
        off != len)
        return rz_fail(err, RZ_E_DECODE, "msgpack decoder refused the message");
    return 0;
}

int
mpk_uint(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return RZ_E_DECODE;
    *v = o->via.u64;
    return 0;
}

int
mpk_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return 0;
    }
    return RZ_E_DECODE;
}

int
mpk_bool(const msgpack_object *o, int *v)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return RZ_E_DECODE;
    *v = o->via.boolean ? 1 : 0;
    return 0;
}

int
mpk_bin(const msgpack_object *o, size_t n, const uint8_t **p, size_t *len)
{
    if (o->type != MSGPACK_OBJECT_BIN || (n && o->via.bin.size != n))
        return RZ_E_DECODE;
    *p = (const uint8_t *)o->via.bin.ptr;
    if (len)
        *len = o->via.bin.size;
    return 0;
}

int
mpk_str(const msgpack_object *o, const char **p, size_t *len)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return RZ_E_DECODE;
    *p = o->via.str.ptr;
    *len = o->via.str.size;
    return 0;
}

int
mpk_array(const msgpack_object *o, size_t n, const msgpack_object **items, size_t *count)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || (n && o->via.array.size != n))
        return RZ_E_DECODE;
    *items = o->via.array.ptr;
    if (count)
        *count = o->via.array.size;
    return 0;
}

void
mpk_w_init(mpk_writer *w)
{
    msgpack_sbuffer_init(&w->sb);
    msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
    w->rc = 0;
}

void
mpk_w_free(mpk_writer *w)
{
    msgpack_sbuffer_destroy(&w->sb);
    w->sb.data = NULL;
    w->sb.size = 0;
}

void
mpk_w_reset(mpk_writer *w)
{
    w->sb.size = 0;
    w->rc = 0;
}

#define W(call)                                                                                    \
    do {                                                                                           \
        if (w->rc == 0 && (call) != 0)                                                             \
            w->rc = RZ_E_NOMEM;                                                                    \
    } while (0)

void
mpk_w_array(mpk_writer *w, size_t n)
{
    W(msgpack_pack_array(&w->pk, n));
}
void
mpk_w_map(mpk_writer *w, size_t n)
{
    W(msgpack_pack_map(&w->pk, n));
}
void
mpk_w_uint(mpk_writer *w, uint64_t v)
{
    W(msgpack_pack_uint64(&w->pk, v));
}
void
mpk_w_int(mpk_writer *w, int64_t v)
{
    W(msgpack_pack_int64(&w->pk, v));
}
void
mpk_w_nil(mpk_writer *w)
{
    W(msgpack_pack_nil(&w->pk));
}

void
mpk_w_bool(mpk_writer *w, int v)
{
    W(v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}

void
mpk_w_bin(mpk_writer *w, const void *p, size_t n)
{
    W(msgpack_pack_bin(&w->pk, n));
    W(msgpack_pack_bin_body(&w->pk, p, n));
}

void
mpk_w_str(mpk_writer *w, const char *s, size_t n)
{
    W(msgpack_pack_str(&w->pk, n));
    W(msgpack_pack_str_body(&w->pk, s, n));
}

void
mpk_w_raw(mpk_writer *w, const void *p, size_t n)
{
    W(msgpack_sbuffer_write(&w->sb, p, n));
}
