/*
 * fuzz_entry: entry_decode over arbitrary bytes.
 *
 * Invariants: the decoder returns 0 or a refusal (decode, toobig,
 * version) with a NUL-terminated reason; an accepted entry obeys every
 * shape rule of proto/entry.h; and its canonical re-encoding decodes to the
 * same entry (what the server merges is what the node meant).  And
 * entry_decode, which reads the entry in place, answers exactly as the
 * object-tree decoder it replaced (kept below as the oracle): same code,
 * same reason, same entry.
 */
#include <string.h>

#include "proto/entry.h"
#include "tests/fuzz/fuzz.h"

static void
entry_check_shape(const rz_entry *e)
{
    size_t i;
    int maxf = entry_field_max(e->table);
    FUZZ_CHECK(e->schema >= RZ_SCHEMA_MIN && e->schema <= RZ_SCHEMA_MAX);
    FUZZ_CHECK(maxf > 0);
    FUZZ_CHECK(e->op >= RZ_OP_SET && e->op <= RZ_OP_UNDELETE);
    FUZZ_CHECK(e->table != RZ_T_CLOCK || e->op == RZ_OP_SET);
    FUZZ_CHECK(e->key_len == (e->table == RZ_T_ATTENDANCE ? 32u
                              : e->table == RZ_T_CLOCK    ? 0u
                                                          : 16u));
    FUZZ_CHECK(e->nfields <= RZ_MAX_FIELDS);
    FUZZ_CHECK(e->op == RZ_OP_SET || e->nfields == 0);
    for (i = 0; i < e->nfields; i++) {
        const rz_value *v = &e->fields[i].v;
        FUZZ_CHECK(e->fields[i].id >= 1 && e->fields[i].id <= maxf);
        FUZZ_CHECK(i == 0 || e->fields[i].id > e->fields[i - 1].id);
        if (entry_field_is_pii(e->table, e->fields[i].id))
            FUZZ_CHECK(v->type == RZ_V_NIL || (v->type == RZ_V_BIN && v->len == 16));
        if (v->type == RZ_V_STR || v->type == RZ_V_BIN)
            FUZZ_CHECK(v->len <= RZ_MAX_STR);
        if (v->type == RZ_V_INT)
            FUZZ_CHECK(v->i < 0);
    }
}

static int
value_eq(const rz_value *a, const rz_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case RZ_V_NIL: return 1;
    case RZ_V_UINT:
    case RZ_V_BOOL: return a->u == b->u;
    case RZ_V_INT: return a->i == b->i;
    case RZ_V_STR:
    case RZ_V_BIN: return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
    }
    return 0;
}

static void
entry_check_roundtrip(const rz_entry *e)
{
    mpk_writer w;
    msgpack_zone z;
    rz_entry e2;
    size_t i;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    entry_encode(&w, e);
    FUZZ_CHECK(w.rc == 0);
    FUZZ_CHECK(entry_decode((const uint8_t *)w.sb.data, w.sb.size, &z, &e2, NULL) == 0);
    FUZZ_CHECK(e2.schema == e->schema && e2.hlc == e->hlc && e2.table == e->table &&
               e2.op == e->op && e2.key_len == e->key_len && e2.nfields == e->nfields);
    FUZZ_CHECK(e->key_len == 0 || memcmp(e2.key, e->key, e->key_len) == 0);
    for (i = 0; i < e->nfields; i++) {
        FUZZ_CHECK(e2.fields[i].id == e->fields[i].id);
        FUZZ_CHECK(value_eq(&e2.fields[i].v, &e->fields[i].v));
    }
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

/* The decoder before in-place reading: msgpack-c's object tree. */
static const mpk_limits oracle_limits = {
    .max_depth = 2,
    .max_items = RZ_MAX_FIELDS,
    .max_objects = 6 + 2 * RZ_MAX_FIELDS + 1,
    .max_str = RZ_MAX_STR,
};

static int
oracle_value(const msgpack_object *o, rz_value *v)
{
    memset(v, 0, sizeof *v);
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: v->type = RZ_V_NIL; return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v->type = RZ_V_UINT, v->u = o->via.u64; return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v->type = RZ_V_INT, v->i = o->via.i64; return 0;
    case MSGPACK_OBJECT_BOOLEAN: v->type = RZ_V_BOOL, v->u = o->via.boolean; return 0;
    case MSGPACK_OBJECT_STR:
        v->type = RZ_V_STR, v->p = (const uint8_t *)o->via.str.ptr, v->len = o->via.str.size;
        return 0;
    case MSGPACK_OBJECT_BIN:
        v->type = RZ_V_BIN, v->p = (const uint8_t *)o->via.bin.ptr, v->len = o->via.bin.size;
        return 0;
    default: return RZ_E_DECODE;
    }
}

static int
oracle_decode(const uint8_t *buf, size_t len, msgpack_zone *z, rz_entry *e, rz_error *err)
{
    msgpack_object root;
    const msgpack_object *a;
    uint64_t schema, table, op;
    size_t i;
    int rc, maxf;
    if (len > RZ_MAX_ENTRY_BYTES)
        return rz_fail(err, RZ_E_TOOBIG, "entry of %zu bytes exceeds %d", len, RZ_MAX_ENTRY_BYTES);
    if ((rc = mpk_unpack(buf, len, &oracle_limits, z, &root, err)) != 0)
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
    if (e->key_len != (e->table == RZ_T_ATTENDANCE ? 32u : e->table == RZ_T_CLOCK ? 0u : 16u))
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
        if (oracle_value(&kv->val, &e->fields[i].v) != 0)
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

static void
entry_check_oracle(const uint8_t *data, size_t size, int rc, const rz_entry *e, const rz_error *err)
{
    msgpack_zone z;
    rz_entry o;
    rz_error oerr = {0, ""};
    size_t i;
    msgpack_zone_init(&z, 1024);
    FUZZ_CHECK(oracle_decode(data, size, &z, &o, &oerr) == rc);
    if (rc != 0) {
        FUZZ_CHECK(strcmp(oerr.text, err->text) == 0);
    } else {
        FUZZ_CHECK(o.schema == e->schema && o.hlc == e->hlc && o.table == e->table &&
                   o.op == e->op && o.key_len == e->key_len && o.nfields == e->nfields);
        FUZZ_CHECK(o.key_len == 0 || memcmp(o.key, e->key, o.key_len) == 0);
        for (i = 0; i < o.nfields; i++)
            FUZZ_CHECK(o.fields[i].id == e->fields[i].id &&
                       value_eq(&o.fields[i].v, &e->fields[i].v));
    }
    msgpack_zone_destroy(&z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_zone z;
    rz_entry e;
    rz_error err = {0, ""};
    int rc;

    msgpack_zone_init(&z, 1024);
    rc = entry_decode(data, size, &z, &e, &err);
    entry_check_oracle(data, size, rc, &e, &err);
    if (rc == 0) {
        entry_check_shape(&e);
        entry_check_roundtrip(&e);
    } else {
        FUZZ_CHECK(rc == RZ_E_DECODE || rc == RZ_E_TOOBIG || rc == RZ_E_VERSION);
        FUZZ_CHECK(err.code == rc);
        FUZZ_CHECK(memchr(err.text, '\0', sizeof err.text) != NULL);
    }
    msgpack_zone_destroy(&z);
    return 0;
}
