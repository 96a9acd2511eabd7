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

/* What entry_decode needs of one msgpack object, read in place.  The bytes
 * have passed mpk_check (one complete object within the limits), so no
 * length can run past the buffer; types are classified exactly as
 * msgpack-c's unpacker would (a signed format holding a value >= 0 is a
 * positive integer), so decoding in place accepts and refuses exactly what
 * the object tree did, at a third of its cost (it runs once per entry at
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

/* Reads the object at q into o; returns the first byte after its header
 * (a container's first element) or, for anything else, after the object. */
static const uint8_t *
ent_read(const uint8_t *q, ent_obj *o)
{
    uint8_t t = *q++;
    size_t w;
    memset(o, 0, sizeof *o);
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
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER, o->u = (uint64_t)o->i, o->i = 0;
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

/* The first byte after the whole object at q (containers included). */
static const uint8_t *
ent_skip(const uint8_t *q)
{
    ent_obj o;
    size_t i, n;
    q = ent_read(q, &o);
    if (o.type != MSGPACK_OBJECT_ARRAY && o.type != MSGPACK_OBJECT_MAP)
        return q;
    n = o.type == MSGPACK_OBJECT_MAP ? 2 * o.n : o.n;
    for (i = 0; i < n; i++)
        q = ent_skip(q);
    return q;
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
    const uint8_t *q, *at[6];
    ent_obj root, o[6];
    size_t i;
    int rc, maxf;

    (void)z; /* the entry is read in place; nothing is allocated */
    if (len > RZ_MAX_ENTRY_BYTES)
        return rz_fail(err, RZ_E_TOOBIG, "entry of %zu bytes exceeds %d", len, RZ_MAX_ENTRY_BYTES);
    if ((rc = mpk_check(buf, len, &entry_limits, err)) != 0)
        return rc;
    q = ent_read(buf, &root);
    if (root.type != MSGPACK_OBJECT_ARRAY || root.n != 6)
        return rz_fail(err, RZ_E_DECODE, "entry is not [schema, hlc, table, op, key, fields]");
    for (i = 0; i < 6; i++) {
        at[i] = q;
        ent_read(q, &o[i]);
        if (i < 5)
            q = ent_skip(q);
    }
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
    q = ent_read(at[5], &root); /* the map's first key */
    for (i = 0; i < o[5].n; i++) {
        const uint8_t *vq = ent_skip(q);
        ent_obj k, v;
        ent_read(q, &k);
        ent_read(vq, &v);
        q = ent_skip(vq);
        if (k.type != MSGPACK_OBJECT_POSITIVE_INTEGER || k.u == 0 || k.u > (uint64_t)maxf)
            return rz_fail(err, RZ_E_DECODE, "unknown field in table %u", e->table);
        if (i > 0 && k.u <= e->fields[i - 1].id)
            return rz_fail(err, RZ_E_DECODE, "field ids not strictly ascending");
        e->fields[i].id = (uint8_t)k.u;
        if (value_decode(&v, &e->fields[i].v) != 0)
            return rz_fail(err, RZ_E_DECODE, "field %llu is not nil, bool, integer, str or bin",
                           (unsigned long long)k.u);
        if (entry_field_is_pii(e->table, e->fields[i].id) &&
            !(e->fields[i].v.type == RZ_V_NIL ||
              (e->fields[i].v.type == RZ_V_BIN && e->fields[i].v.len == 16)))
            return rz_fail(err, RZ_E_DECODE, "personal field %llu is not a commitment",
                           (unsigned long long)k.u);
    }
    e->nfields = o[5].n;
    return 0;
}
