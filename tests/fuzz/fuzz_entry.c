/*
 * fuzz_entry: entry_decode over arbitrary bytes.
 *
 * Invariants: the decoder returns 0 or a refusal (decode, toobig,
 * version) with a NUL-terminated reason; an accepted entry obeys every
 * shape rule of proto/entry.h; and its canonical re-encoding decodes to the
 * same entry (what the server merges is what the node meant).
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_zone z;
    rz_entry e;
    rz_error err = {0, ""};
    int rc;

    msgpack_zone_init(&z, 1024);
    rc = entry_decode(data, size, &z, &e, &err);
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
