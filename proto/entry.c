/* entry: canonical encoding and strict decoding of change-log entries. */
#include "proto/entry.h"

#include <string.h>

static const mpk_limits entry_limits = {
    .max_depth = 2,
    .max_items = RZ_MAX_FIELDS,
    .max_objects = 6 + 2 * RZ_MAX_FIELDS + 1,
    .max_str = RZ_MAX_STR,
};

rz_value
rz_uint(uint64_t u)
{
    rz_value v = {RZ_V_UINT, u, 0, NULL, 0};
    return v;
}
rz_value
rz_bool(int b)
{
    rz_value v = {RZ_V_BOOL, b ? 1 : 0, 0, NULL, 0};
    return v;
}
rz_value
rz_nil(void)
{
    rz_value v = {RZ_V_NIL, 0, 0, NULL, 0};
    return v;
}

rz_value
rz_str(const char *s)
{
    rz_value v = {RZ_V_STR, 0, 0, (const uint8_t *)s, strlen(s)};
    return v;
}

rz_value
rz_bin(const void *p, size_t len)
{
    rz_value v = {RZ_V_BIN, 0, 0, p, len};
    return v;
}

int
entry_field_max(uint8_t table)
{
    switch (table) {
    case RZ_T_PERSON: return RZ_PF_MAX;
    case RZ_T_EVENT: return RZ_EF_MAX;
    case RZ_T_ATTENDANCE: return RZ_AF_MAX;
    case RZ_T_CLOCK: return RZ_CF_MAX;
    default: return 0;
    }
}

void
entry_init(rz_entry *e, uint64_t hlc, uint8_t table, uint8_t op, const uint8_t *key, size_t key_len)
{
    memset(e, 0, sizeof *e);
    e->schema = RZ_SCHEMA_CURRENT;
    e->hlc = hlc;
    e->table = table;
    e->op = op;
    e->key = key;
    e->key_len = key_len;
}

void
entry_put(rz_entry *e, uint8_t id, rz_value v)
{
    if (e->nfields >= RZ_MAX_FIELDS)
        return;
    e->fields[e->nfields].id = id;
    e->fields[e->nfields].v = v;
    e->nfields++;
}

const rz_value *
entry_field(const rz_entry *e, uint8_t id)
{
    size_t i;
    for (i = 0; i < e->nfields; i++)
        if (e->fields[i].id == id)
            return &e->fields[i].v;
    return NULL;
}

int
entry_field_is_pii(uint8_t table, uint8_t field)
{
    return table == RZ_T_PERSON &&
           (field == RZ_PF_CNIC || field == RZ_PF_NAME || field == RZ_PF_PHONE);
}

static void
value_encode(mpk_writer *w, const rz_value *v)
{
    switch (v->type) {
    case RZ_V_NIL: mpk_w_nil(w); break;
    case RZ_V_UINT: mpk_w_uint(w, v->u); break;
    case RZ_V_INT: mpk_w_int(w, v->i); break;
    case RZ_V_BOOL: mpk_w_bool(w, (int)v->u); break;
    case RZ_V_STR: mpk_w_str(w, (const char *)v->p, v->len); break;
    case RZ_V_BIN: mpk_w_bin(w, v->p, v->len); break;
    }
}

void
entry_encode(mpk_writer *w, const rz_entry *e)
{
    size_t i;
    mpk_w_array(w, 6);
    mpk_w_uint(w, e->schema);
    mpk_w_uint(w, e->hlc);
    mpk_w_uint(w, e->table);
    mpk_w_uint(w, e->op);
    mpk_w_bin(w, e->key, e->key_len);
    mpk_w_map(w, e->nfields);
    for (i = 0; i < e->nfields; i++) {
        mpk_w_uint(w, e->fields[i].id);
        value_encode(w, &e->fields[i].v);
    }
}

/* What entry_decode needs of one msgpack object, read in place (no object
 * tree, no allocation).  Types are classified exactly as msgpack-c's
 * unpacker would (a signed format holding a value >= 0 is a positive
 * integer), so decoding in place accepts and refuses exactly what the
 * object tree did, at less than half its cost (it runs once per entry at
 * ingest and again in the merger). */
typedef struct ent_obj {
    int type;         /* msgpack_object_type; -1 for bytes mpk_check refuses */
    uint64_t u;       /* POSITIVE_INTEGER, BOOLEAN */
    int64_t i;        /* NEGATIVE_INTEGER */
    const uint8_t *p; /* STR, BIN: the body */
    size_t n;         /* STR, BIN: its length; ARRAY, MAP: element count */
} ent_obj;

static int64_t
ent_signed(const uint8_t *p, size_t n)
{
    uint64_t v = mpk_be(p, n);
    if (n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n);
    return (int64_t)v;
}

/* Reads the object at q into o (the members its type uses); returns the
 * first byte after its header (a container's first element) or, for
 * anything else, after the object. */
static inline const uint8_t *
ent_read(const uint8_t *q, ent_obj *o)
{
    uint8_t t = *q++;
    size_t w;
    if (t <= 0x7f) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER, o->u = t;
        return q;
    }
    if (t >= 0xe0) {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER, o->i = (int8_t)t;
        return q;
    }
    if ((t & 0xe0) == 0xa0) {
        o->type = MSGPACK_OBJECT_STR, o->p = q, o->n = t & 0x1f;
        return q + o->n;
    }
    if ((t & 0xf0) == 0x90 || (t & 0xf0) == 0x80) {
        o->type = (t & 0xf0) == 0x90 ? MSGPACK_OBJECT_ARRAY : MSGPACK_OBJECT_MAP;
        o->n = t & 0x0f;
        return q;
    }
    switch (t) {
    case 0xc0: o->type = MSGPACK_OBJECT_NIL; return q;
    case 0xc2:
    case 0xc3: o->type = MSGPACK_OBJECT_BOOLEAN, o->u = t == 0xc3; return q;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        w = (size_t)1 << (t - 0xcc);
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER, o->u = mpk_be(q, w);
        return q + w;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        w = (size_t)1 << (t - 0xd0);
        o->i = ent_signed(q, w);
        if (o->i >= 0)
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER, o->u = (uint64_t)o->i;
        else
            o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        return q + w;
    case 0xca: o->type = MSGPACK_OBJECT_FLOAT32; return q + 4;
    case 0xcb: o->type = MSGPACK_OBJECT_FLOAT64; return q + 8;
    case 0xd9:
    case 0xda:
    case 0xdb:
    case 0xc4:
    case 0xc5:
    case 0xc6:
        w = t >= 0xd9 ? (size_t)1 << (t - 0xd9) : (size_t)1 << (t - 0xc4);
        o->type = t >= 0xd9 ? MSGPACK_OBJECT_STR : MSGPACK_OBJECT_BIN;
        o->n = (size_t)mpk_be(q, w);
        o->p = q + w;
        return o->p + o->n;
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf:
        w = t == 0xdc || t == 0xde ? 2 : 4;
        o->type = t <= 0xdd ? MSGPACK_OBJECT_ARRAY : MSGPACK_OBJECT_MAP;
        o->n = (size_t)mpk_be(q, w);
        return q + w;
    default: o->type = -1; return q;
    }
}

/* The first byte after the n objects from q (containers included). */
static const uint8_t *
ent_skip(const uint8_t *q, size_t n)
{
    ent_obj o;
    while (n-- > 0) {
        q = ent_read(q, &o);
        if (o.type == MSGPACK_OBJECT_ARRAY || o.type == MSGPACK_OBJECT_MAP)
            q = ent_skip(q, o.type == MSGPACK_OBJECT_MAP ? 2 * o.n : o.n);
    }
    return q;
}

/* Bytes after the type byte t that its header (or fixed-size value) takes. */
static size_t
ent_extra(uint8_t t)
{
    switch (t) {
    case 0xcc:
    case 0xd0:
    case 0xd9:
    case 0xc4: return 1;
    case 0xcd:
    case 0xd1:
    case 0xda:
    case 0xc5:
    case 0xdc:
    case 0xde: return 2;
    case 0xce:
    case 0xd2:
    case 0xca:
    case 0xdb:
    case 0xc6:
    case 0xdd:
    case 0xdf: return 4;
    case 0xcf:
    case 0xd3:
    case 0xcb: return 8;
    default: return 0;
    }
}

/* ent_read on bytes nobody has checked: NULL when the object's header or
 * body would run past end, a str or bin is longer than RZ_MAX_STR, or the
 * type is not one the protocol allows.  The one-byte types and the 8-bit
 * str, bin and uint forms (nearly every object of an entry) are read here
 * directly; the rest through ent_read once their bytes are known present. */
static inline const uint8_t *
ent_read_in(const uint8_t *q, const uint8_t *end, ent_obj *o)
{
    size_t left = (size_t)(end - q), need, n;
    uint8_t t;
    if (left == 0)
        return NULL;
    t = q[0];
    if (t <= 0x7f) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER, o->u = t;
        return q + 1;
    }
    if ((t & 0xe0) == 0xa0) { /* fixstr: at most 31 bytes, under RZ_MAX_STR */
        n = t & 0x1f;
        if (n > left - 1)
            return NULL;
        o->type = MSGPACK_OBJECT_STR, o->p = q + 1, o->n = n;
        return q + 1 + n;
    }
    if (t == 0xc4 || t == 0xd9) { /* bin8, str8 */
        if (left < 2 || (n = q[1]) > RZ_MAX_STR || n > left - 2)
            return NULL;
        o->type = t == 0xc4 ? MSGPACK_OBJECT_BIN : MSGPACK_OBJECT_STR, o->p = q + 2, o->n = n;
        return q + 2 + n;
    }
    if (t == 0xcc) {
        if (left < 2)
            return NULL;
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER, o->u = q[1];
        return q + 2;
    }
    need = 1 + ent_extra(t);
    if (left < need)
        return NULL;
    if ((t >= 0xd9 && t <= 0xdb) || (t >= 0xc4 && t <= 0xc6)) {
        n = (size_t)mpk_be(q + 1, need - 1);
        if (n > RZ_MAX_STR || n > left - need)
            return NULL;
    }
    q = ent_read(q, o);
    return o->type < 0 ? NULL : q;
}

static int
ent_container(const ent_obj *o)
{
    return o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP;
}

/* The usual entry in one bounded pass: an array of six whose last element
 * is a map of at most RZ_MAX_FIELDS scalar pairs, every other element a
 * scalar, nothing after it.  0 when the bytes are exactly that (mpk_check
 * would then accept them: the shape is within every limit of
 * entry_limits); -1 for anything else, which the careful path decides. */
static int
ent_parse_fast(const uint8_t *buf, size_t len, ent_obj *root, ent_obj o[6], ent_obj *k, ent_obj *v)
{
    const uint8_t *q = buf, *end = buf + len;
    size_t i;
    if (!(q = ent_read_in(q, end, root)) || root->type != MSGPACK_OBJECT_ARRAY || root->n != 6)
        return -1;
    for (i = 0; i < 6; i++)
        if (!(q = ent_read_in(q, end, &o[i])) || (i < 5 && ent_container(&o[i])))
            return -1;
    if (o[5].type != MSGPACK_OBJECT_MAP || o[5].n > RZ_MAX_FIELDS)
        return -1;
    for (i = 0; i < o[5].n; i++)
        if (!(q = ent_read_in(q, end, &k[i])) || ent_container(&k[i]) ||
            !(q = ent_read_in(q, end, &v[i])) || ent_container(&v[i]))
            return -1;
    return q == end ? 0 : -1;
}

/* The same objects from bytes mpk_check has accepted, whatever their shape:
 * elements are read only as far as the root is an array of six, fields
 * only when the last is a map (mpk_check bounds it to RZ_MAX_FIELDS pairs,
 * and at that depth no key or value can be a container). */
static void
ent_parse_checked(const uint8_t *buf, ent_obj *root, ent_obj o[6], ent_obj *k, ent_obj *v)
{
    const uint8_t *q = ent_read(buf, root);
    size_t i;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->n != 6)
        return;
    for (i = 0; i < 6; i++) {
        q = ent_read(q, &o[i]);
        if (i < 5 && ent_container(&o[i]))
            q = ent_skip(q, o[i].type == MSGPACK_OBJECT_MAP ? 2 * o[i].n : o[i].n);
    }
    if (o[5].type != MSGPACK_OBJECT_MAP)
        return;
    for (i = 0; i < o[5].n && i < RZ_MAX_FIELDS; i++) {
        q = ent_read(q, &k[i]);
        q = ent_read(q, &v[i]);
    }
}

static int
value_decode(const ent_obj *o, rz_value *v)
{
    memset(v, 0, sizeof *v);
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: v->type = RZ_V_NIL; return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        v->type = RZ_V_UINT;
        v->u = o->u;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v->type = RZ_V_INT;
        v->i = o->i;
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        v->type = RZ_V_BOOL;
        v->u = o->u;
        return 0;
    case MSGPACK_OBJECT_STR:
        v->type = RZ_V_STR;
        v->p = o->p;
        v->len = o->n;
        return 0;
    case MSGPACK_OBJECT_BIN:
        v->type = RZ_V_BIN;
        v->p = o->p;
        v->len = o->n;
        return 0;
    default: return RZ_E_DECODE; /* floats, arrays, maps: not field values */
    }
}

static int
key_len_ok(uint8_t table, size_t len)
{
    switch (table) {
    case RZ_T_PERSON:
    case RZ_T_EVENT: return len == 16;
    case RZ_T_ATTENDANCE: return len == 32;
    case RZ_T_CLOCK: return len == 0;
    default: return 0;
    }
}

int
entry_decode(const uint8_t *buf, size_t len, msgpack_zone *z, rz_entry *e, rz_error *err)
{
    ent_obj root, o[6], k[RZ_MAX_FIELDS], v[RZ_MAX_FIELDS];
    size_t i;
    int rc, maxf;

    (void)z; /* the entry is read in place; nothing is allocated */
    if (len > RZ_MAX_ENTRY_BYTES)
        return rz_fail(err, RZ_E_TOOBIG, "entry of %zu bytes exceeds %d", len, RZ_MAX_ENTRY_BYTES);
    /* Anything but the usual shape goes through the bounded walk first, so
     * a broken encoding is refused with its own reason before any rule of
     * the entry is looked at. */
    if (ent_parse_fast(buf, len, &root, o, k, v) != 0) {
        if ((rc = mpk_check(buf, len, &entry_limits, err)) != 0)
            return rc;
        ent_parse_checked(buf, &root, o, k, v);
    }
    if (root.type != MSGPACK_OBJECT_ARRAY || root.n != 6)
        return rz_fail(err, RZ_E_DECODE, "entry is not [schema, hlc, table, op, key, fields]");
    if (o[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return rz_fail(err, RZ_E_DECODE, "entry is not [schema, hlc, table, op, key, fields]");
    if (o[0].u < RZ_SCHEMA_MIN || o[0].u > RZ_SCHEMA_MAX)
        return rz_fail(err, RZ_E_VERSION, "entry schema %llu not supported (%d..%d): upgrade",
                       (unsigned long long)o[0].u, RZ_SCHEMA_MIN, RZ_SCHEMA_MAX);
    memset(e, 0, sizeof *e);
    e->schema = (uint32_t)o[0].u;
    if (o[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        o[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        o[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER || o[4].type != MSGPACK_OBJECT_BIN ||
        o[5].type != MSGPACK_OBJECT_MAP)
        return rz_fail(err, RZ_E_DECODE, "entry header has wrong types");
    e->hlc = o[1].u;
    e->key = o[4].p;
    e->key_len = o[4].n;
    if (o[2].u > 255 || (maxf = entry_field_max((uint8_t)o[2].u)) == 0)
        return rz_fail(err, RZ_E_DECODE, "unknown table %llu", (unsigned long long)o[2].u);
    e->table = (uint8_t)o[2].u;
    if (o[3].u < RZ_OP_SET || o[3].u > RZ_OP_UNDELETE ||
        (o[2].u == RZ_T_CLOCK && o[3].u != RZ_OP_SET))
        return rz_fail(err, RZ_E_DECODE, "bad op %llu for table %llu", (unsigned long long)o[3].u,
                       (unsigned long long)o[2].u);
    e->op = (uint8_t)o[3].u;
    if (!key_len_ok(e->table, e->key_len))
        return rz_fail(err, RZ_E_DECODE, "key of %zu bytes wrong for table %u", e->key_len,
                       e->table);
    if (o[5].n > RZ_MAX_FIELDS)
        return rz_fail(err, RZ_E_TOOBIG, "too many fields");
    if (o[3].u != RZ_OP_SET && o[5].n != 0)
        return rz_fail(err, RZ_E_DECODE, "delete/undelete carries no fields");
    for (i = 0; i < o[5].n; i++) {
        if (k[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER || k[i].u == 0 || k[i].u > (uint64_t)maxf)
            return rz_fail(err, RZ_E_DECODE, "unknown field in table %u", e->table);
        if (i > 0 && k[i].u <= e->fields[i - 1].id)
            return rz_fail(err, RZ_E_DECODE, "field ids not strictly ascending");
        e->fields[i].id = (uint8_t)k[i].u;
        if (value_decode(&v[i], &e->fields[i].v) != 0)
            return rz_fail(err, RZ_E_DECODE, "field %llu is not nil, bool, integer, str or bin",
                           (unsigned long long)k[i].u);
        if (entry_field_is_pii(e->table, e->fields[i].id) &&
            !(e->fields[i].v.type == RZ_V_NIL ||
              (e->fields[i].v.type == RZ_V_BIN && e->fields[i].v.len == 16)))
            return rz_fail(err, RZ_E_DECODE, "personal field %llu is not a commitment",
                           (unsigned long long)k[i].u);
    }
    e->nfields = o[5].n;
    return 0;
}
