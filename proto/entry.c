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

static int
value_decode(const msgpack_object *o, rz_value *v)
{
    memset(v, 0, sizeof *v);
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: v->type = RZ_V_NIL; return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        v->type = RZ_V_UINT;
        v->u = o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v->type = RZ_V_INT;
        v->i = o->via.i64;
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        v->type = RZ_V_BOOL;
        v->u = o->via.boolean;
        return 0;
    case MSGPACK_OBJECT_STR:
        v->type = RZ_V_STR;
        v->p = (const uint8_t *)o->via.str.ptr;
        v->len = o->via.str.size;
        return 0;
    case MSGPACK_OBJECT_BIN:
        v->type = RZ_V_BIN;
        v->p = (const uint8_t *)o->via.bin.ptr;
        v->len = o->via.bin.size;
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
    msgpack_object root;
    const msgpack_object *a;
    uint64_t schema, table, op;
    size_t i;
    int rc, maxf;

    if (len > RZ_MAX_ENTRY_BYTES)
        return rz_fail(err, RZ_E_TOOBIG, "entry of %zu bytes exceeds %d", len, RZ_MAX_ENTRY_BYTES);
    if ((rc = mpk_unpack(buf, len, &entry_limits, z, &root, err)) != 0)
        return rc;
    if (mpk_array(&root, 6, &a, NULL) || mpk_uint(&a[0], &schema))
        return rz_fail(err, RZ_E_DECODE, "entry is not [schema, hlc, table, op, key, fields]");
    if (schema < RZ_SCHEMA_MIN || schema > RZ_SCHEMA_MAX)
        return rz_fail(err, RZ_E_VERSION, "entry schema %llu not supported (%d..%d): upgrade",
                       (unsigned long long)schema, RZ_SCHEMA_MIN, RZ_SCHEMA_MAX);
    memset(e, 0, sizeof *e);
    e->schema = (uint32_t)schema;
    if (mpk_uint(&a[1], &e->hlc) || mpk_uint(&a[2], &table) || mpk_uint(&a[3], &op) ||
        mpk_bin(&a[4], 0, &e->key, &e->key_len) || a[5].type != MSGPACK_OBJECT_MAP)
        return rz_fail(err, RZ_E_DECODE, "entry header has wrong types");
    if (table > 255 || (maxf = entry_field_max((uint8_t)table)) == 0)
        return rz_fail(err, RZ_E_DECODE, "unknown table %llu", (unsigned long long)table);
    e->table = (uint8_t)table;
    if (op < RZ_OP_SET || op > RZ_OP_UNDELETE || (table == RZ_T_CLOCK && op != RZ_OP_SET))
        return rz_fail(err, RZ_E_DECODE, "bad op %llu for table %llu", (unsigned long long)op,
                       (unsigned long long)table);
    e->op = (uint8_t)op;
    if (!key_len_ok(e->table, e->key_len))
        return rz_fail(err, RZ_E_DECODE, "key of %zu bytes wrong for table %u", e->key_len,
                       e->table);
    if (a[5].via.map.size > RZ_MAX_FIELDS)
        return rz_fail(err, RZ_E_TOOBIG, "too many fields");
    if (op != RZ_OP_SET && a[5].via.map.size != 0)
        return rz_fail(err, RZ_E_DECODE, "delete/undelete carries no fields");
    for (i = 0; i < a[5].via.map.size; i++) {
        const msgpack_object_kv *kv = &a[5].via.map.ptr[i];
        uint64_t id;
        if (mpk_uint(&kv->key, &id) || id == 0 || id > (uint64_t)maxf)
            return rz_fail(err, RZ_E_DECODE, "unknown field in table %u", e->table);
        if (i > 0 && id <= e->fields[i - 1].id)
            return rz_fail(err, RZ_E_DECODE, "field ids not strictly ascending");
        e->fields[i].id = (uint8_t)id;
        if (value_decode(&kv->val, &e->fields[i].v) != 0)
            return rz_fail(err, RZ_E_DECODE, "field %llu is not nil, bool, integer, str or bin",
                           (unsigned long long)id);
        if (entry_field_is_pii(e->table, e->fields[i].id) &&
            !(e->fields[i].v.type == RZ_V_NIL ||
              (e->fields[i].v.type == RZ_V_BIN && e->fields[i].v.len == 16)))
            return rz_fail(err, RZ_E_DECODE, "personal field %llu is not a commitment",
                           (unsigned long long)id);
    }
    e->nfields = a[5].via.map.size;
    return 0;
}
