/*
 * test_entry: proto/entry.  Encode/decode round trip for every table and
 * operation (and byte-identical re-encoding), every structural refusal of the
 * decoder with its code (decode / toobig / version), and the rule that a value
 * of the wrong type is NOT refused here: merge flags it, so one bad value
 * cannot wedge a centre's log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/entry.h"

#define HLC0 0x000019cf1a2b0000ull /* some 2026 timestamp, counter 0 */

static const uint8_t person_id[16] = {0x00, 0x00, 0x19, 0xcf, 0x1a, 0x2b, 0x00, 0x00,
                                      1,    2,    3,    4,    5,    6,    7,    8};
static const uint8_t event_id[16] = {0x00, 0x00, 0x19, 0xcf, 0x1a, 0x2c, 0x00, 0x00,
                                     1,    2,    3,    4,    5,    6,    7,    8};
static const uint8_t commit_a[16] = {0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t commit_b[16] = {0xc1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static uint8_t att_key[32];

static void
add(rz_entry *e, uint8_t id, rz_value v)
{
    assert_true(e->nfields < RZ_MAX_FIELDS);
    entry_put(e, id, v);
}

static void
full_person(rz_entry *e)
{
    entry_init(e, HLC0, RZ_T_PERSON, RZ_OP_SET, person_id, 16);
    add(e, RZ_PF_CNIC, rz_bin(commit_a, 16));
    add(e, RZ_PF_NAME, rz_bin(commit_b, 16));
    add(e, RZ_PF_PHONE, rz_nil());
    add(e, RZ_PF_GENDER, rz_uint(RZ_G_FEMALE));
    add(e, RZ_PF_BIRTH_YEAR, rz_uint(1998));
    add(e, RZ_PF_DISTRICT, rz_str("Lahore"));
    add(e, RZ_PF_AREA, rz_uint(RZ_AREA_RURAL));
    add(e, RZ_PF_SKILL, rz_uint(RZ_SK_WHITE));
    add(e, RZ_PF_SKILLS, rz_str("graphic design, Urdu \xd8\xa7\xd8\xb1\xd8\xaf\xd9\x88"));
    add(e, RZ_PF_PLATFORMS, rz_str("fiverr"));
    add(e, RZ_PF_REG_DATE, rz_uint(20260315));
}

static void
full_event(rz_entry *e)
{
    entry_init(e, HLC0, RZ_T_EVENT, RZ_OP_SET, event_id, 16);
    add(e, RZ_EF_KIND, rz_uint(RZ_EK_BOOTCAMP));
    add(e, RZ_EF_TITLE, rz_str("Freelancing basics"));
    add(e, RZ_EF_DATE, rz_uint(20260316));
    add(e, RZ_EF_DURATION, rz_uint(180));
    add(e, RZ_EF_PARTNER, rz_str(""));
    add(e, RZ_EF_MODE, rz_uint(RZ_MODE_ONLINE));
}

/* Encodes e into w (reset first). */
static void
encode(mpk_writer *w, const rz_entry *e)
{
    mpk_w_reset(w);
    entry_encode(w, e);
    assert_int_equal(w->rc, 0);
}

/* Decodes a heap copy of exactly n bytes (so ASan sees over-reads). */
static int
decode_copy(const void *p, size_t n, rz_entry *out, msgpack_zone *z, uint8_t **keep)
{
    rz_error err;
    int rc;
    *keep = malloc(n ? n : 1);
    assert_non_null(*keep);
    memcpy(*keep, p, n);
    memset(&err, 0, sizeof err);
    rc = entry_decode(*keep, n, z, out, &err);
    if (rc != 0) {
        assert_int_equal(err.code, rc);
        assert_true(err.text[0] != '\0');
    }
    return rc;
}

/* Return code of decoding the encoding of e. */
static int
decode_rc(const rz_entry *e)
{
    mpk_writer w;
    msgpack_zone z;
    rz_entry out;
    uint8_t *copy;
    int rc;
    mpk_w_init(&w);
    encode(&w, e);
    msgpack_zone_init(&z, 1024);
    rc = decode_copy(w.sb.data, w.sb.size, &out, &z, &copy);
    free(copy);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
    return rc;
}

static void
assert_same_value(const rz_value *a, const rz_value *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case RZ_V_NIL: break;
    case RZ_V_UINT:
    case RZ_V_BOOL: assert_int_equal(a->u, b->u); break;
    case RZ_V_INT: assert_int_equal(a->i, b->i); break;
    case RZ_V_STR:
    case RZ_V_BIN:
        assert_int_equal(a->len, b->len);
        if (a->len)
            assert_memory_equal(a->p, b->p, a->len);
        break;
    }
}

/* Encodes e, decodes it, compares every part and re-encodes byte for byte. */
static void
round_trip(const rz_entry *e)
{
    mpk_writer w, again;
    msgpack_zone z;
    rz_entry d;
    uint8_t *copy;
    size_t i;
    mpk_w_init(&w);
    mpk_w_init(&again);
    msgpack_zone_init(&z, 1024);
    encode(&w, e);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &d, &z, &copy), 0);
    assert_int_equal(d.schema, e->schema);
    assert_int_equal(d.hlc, e->hlc);
    assert_int_equal(d.table, e->table);
    assert_int_equal(d.op, e->op);
    assert_int_equal(d.key_len, e->key_len);
    if (e->key_len)
        assert_memory_equal(d.key, e->key, e->key_len);
    assert_int_equal(d.nfields, e->nfields);
    for (i = 0; i < e->nfields; i++) {
        assert_int_equal(d.fields[i].id, e->fields[i].id);
        assert_same_value(&d.fields[i].v, &e->fields[i].v);
    }
    encode(&again, &d);
    assert_int_equal(again.sb.size, w.sb.size);
    assert_memory_equal(again.sb.data, w.sb.data, w.sb.size);
    free(copy);
    msgpack_zone_destroy(&z);
    mpk_w_free(&again);
    mpk_w_free(&w);
}

static int
setup_keys(void **state)
{
    (void)state;
    memcpy(att_key, event_id, 16);
    memcpy(att_key + 16, person_id, 16);
    return 0;
}

static void
test_round_trip_person(void **state)
{
    rz_entry e;
    (void)state;
    full_person(&e);
    round_trip(&e);
    e.hlc = UINT64_MAX;
    round_trip(&e);
    entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_DELETE, person_id, 16);
    round_trip(&e);
    entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_UNDELETE, person_id, 16);
    round_trip(&e);
    /* an edit of one field, clearing the phone */
    entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_SET, person_id, 16);
    add(&e, RZ_PF_PHONE, rz_nil());
    round_trip(&e);
}

static void
test_round_trip_event(void **state)
{
    rz_entry e;
    (void)state;
    full_event(&e);
    round_trip(&e);
    entry_init(&e, HLC0, RZ_T_EVENT, RZ_OP_DELETE, event_id, 16);
    round_trip(&e);
}

static void
test_round_trip_attendance(void **state)
{
    rz_entry e;
    (void)state;
    entry_init(&e, HLC0, RZ_T_ATTENDANCE, RZ_OP_SET, att_key, 32);
    add(&e, RZ_AF_PRESENT, rz_bool(1));
    round_trip(&e);
    e.fields[0].v = rz_bool(0);
    round_trip(&e);
    entry_init(&e, HLC0, RZ_T_ATTENDANCE, RZ_OP_DELETE, att_key, 32);
    round_trip(&e);
}

static void
test_round_trip_clock(void **state)
{
    rz_entry e;
    (void)state;
    entry_init(&e, HLC0, RZ_T_CLOCK, RZ_OP_SET, NULL, 0);
    add(&e, RZ_CF_SERVER_MS, rz_uint(1773568802500ull));
    add(&e, RZ_CF_LOCAL_MS, rz_uint(1773568800000ull));
    round_trip(&e);
    /* an empty set is a valid (if useless) entry */
    entry_init(&e, HLC0, RZ_T_EVENT, RZ_OP_SET, event_id, 16);
    round_trip(&e);
}

/* The documented layout: [schema, hlc, table, op, key, fields]. */
static void
test_encoding_layout(void **state)
{
    static const uint8_t want[] = {0x96, 0x01, 0xcf, 0x00, 0x00, 0x19, 0xcf, 0x1a,
                                   0x2b, 0x00, 0x00, 0x04, 0x01, 0xc4, 0x00, 0x82,
                                   0x01, 0x05, 0x02, 0xcd, 0x01, 0x2c};
    rz_entry e;
    mpk_writer w;
    (void)state;
    entry_init(&e, HLC0, RZ_T_CLOCK, RZ_OP_SET, NULL, 0);
    add(&e, RZ_CF_SERVER_MS, rz_uint(5));
    add(&e, RZ_CF_LOCAL_MS, rz_uint(300));
    mpk_w_init(&w);
    encode(&w, &e);
    assert_int_equal(w.sb.size, sizeof want);
    assert_memory_equal(w.sb.data, want, sizeof want);
    mpk_w_free(&w);
}

static void
test_refuses_unknown_table(void **state)
{
    static const unsigned tables[] = {0, 5, 6, 255};
    rz_entry e;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        entry_init(&e, HLC0, (uint8_t)tables[i], RZ_OP_SET, person_id, 16);
        assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    }
    /* the valid tables with the same key length are accepted */
    entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_SET, person_id, 16);
    assert_int_equal(decode_rc(&e), 0);
}

static void
test_refuses_bad_op(void **state)
{
    rz_entry e;
    (void)state;
    entry_init(&e, HLC0, RZ_T_PERSON, 0, person_id, 16);
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    entry_init(&e, HLC0, RZ_T_PERSON, 4, person_id, 16);
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    entry_init(&e, HLC0, RZ_T_PERSON, 255, person_id, 16);
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    /* a clock entry is only ever set */
    entry_init(&e, HLC0, RZ_T_CLOCK, RZ_OP_DELETE, NULL, 0);
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    entry_init(&e, HLC0, RZ_T_CLOCK, RZ_OP_UNDELETE, NULL, 0);
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    /* delete and undelete carry no fields */
    entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_DELETE, person_id, 16);
    add(&e, RZ_PF_GENDER, rz_uint(1));
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    e.op = RZ_OP_UNDELETE;
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    e.op = RZ_OP_SET;
    assert_int_equal(decode_rc(&e), 0);
}

static void
test_refuses_wrong_key_length(void **state)
{
    static const struct {
        uint8_t table; /* table */
        size_t len;    /* a wrong key length for it */
    } bad[] = {{RZ_T_PERSON, 0},      {RZ_T_PERSON, 15},    {RZ_T_PERSON, 17},
               {RZ_T_PERSON, 32},     {RZ_T_EVENT, 8},      {RZ_T_EVENT, 32},
               {RZ_T_ATTENDANCE, 16}, {RZ_T_ATTENDANCE, 0}, {RZ_T_ATTENDANCE, 31},
               {RZ_T_CLOCK, 16},      {RZ_T_CLOCK, 1}};
    rz_entry e;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        entry_init(&e, HLC0, bad[i].table, RZ_OP_SET, att_key, bad[i].len);
        assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    }
}

static void
test_refuses_fields_not_ascending(void **state)
{
    rz_entry e;
    (void)state;
    entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_SET, person_id, 16);
    add(&e, RZ_PF_BIRTH_YEAR, rz_uint(1990));
    add(&e, RZ_PF_GENDER, rz_uint(1));
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    /* duplicates are not strictly ascending either */
    entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_SET, person_id, 16);
    add(&e, RZ_PF_GENDER, rz_uint(1));
    add(&e, RZ_PF_GENDER, rz_uint(2));
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
    /* out of order late in a long list */
    full_person(&e);
    e.fields[9].id = RZ_PF_REG_DATE;
    e.fields[10].id = RZ_PF_PLATFORMS;
    assert_int_equal(decode_rc(&e), RZ_E_DECODE);
}

static void
test_refuses_unknown_field(void **state)
{
    static const struct {
        uint8_t table; /* table */
        uint8_t id;    /* a field id it does not have */
    } bad[] = {{RZ_T_PERSON, 0},     {RZ_T_PERSON, RZ_PF_MAX + 1},
               {RZ_T_EVENT, 0},      {RZ_T_EVENT, RZ_EF_MAX + 1},
               {RZ_T_ATTENDANCE, 0}, {RZ_T_ATTENDANCE, RZ_AF_MAX + 1},
               {RZ_T_CLOCK, 0},      {RZ_T_CLOCK, RZ_CF_MAX + 1},
               {RZ_T_PERSON, 255}};
    rz_entry e;
    size_t i;
    const uint8_t *key;
    size_t klen;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        key = bad[i].table == RZ_T_ATTENDANCE ? att_key : person_id;
        klen = bad[i].table == RZ_T_ATTENDANCE ? 32 : bad[i].table == RZ_T_CLOCK ? 0 : 16;
        entry_init(&e, HLC0, bad[i].table, RZ_OP_SET, key, klen);
        add(&e, bad[i].id, rz_uint(1));
        assert_int_equal(decode_rc(&e), RZ_E_DECODE);
        /* the nearest valid id of the same table is accepted */
        e.fields[0].id = (uint8_t)(bad[i].id == 0 ? 1 : entry_field_max(bad[i].table));
        if (entry_field_is_pii(e.table, e.fields[0].id))
            e.fields[0].v = rz_nil();
        assert_int_equal(decode_rc(&e), 0);
    }
}

static void
test_refuses_personal_field_not_commitment(void **state)
{
    static const uint8_t b17[17] = {0};
    rz_value bad[6];
    uint8_t f;
    size_t i;
    rz_entry e;
    (void)state;
    bad[0] = rz_str("3520212345671");
    bad[1] = rz_bin(commit_a, 15);
    bad[2] = rz_bin(b17, 17);
    bad[3] = rz_uint(3520212345671ull);
    bad[4] = rz_bool(1);
    bad[5] = rz_bin(commit_a, 0);
    for (f = RZ_PF_CNIC; f <= RZ_PF_PHONE; f++) {
        for (i = 0; i < 6; i++) {
            entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_SET, person_id, 16);
            add(&e, f, bad[i]);
            assert_int_equal(decode_rc(&e), RZ_E_DECODE);
        }
        e.fields[0].v = rz_bin(commit_a, 16);
        assert_int_equal(decode_rc(&e), 0);
        e.fields[0].v = rz_nil();
        assert_int_equal(decode_rc(&e), 0);
    }
}

static void
test_refuses_unsupported_schema(void **state)
{
    rz_entry e;
    (void)state;
    full_person(&e);
    e.schema = 0;
    assert_int_equal(decode_rc(&e), RZ_E_VERSION);
    e.schema = 99;
    assert_int_equal(decode_rc(&e), RZ_E_VERSION);
    e.schema = RZ_SCHEMA_MAX + 1;
    assert_int_equal(decode_rc(&e), RZ_E_VERSION);
    e.schema = RZ_SCHEMA_MIN;
    assert_int_equal(decode_rc(&e), 0);
}

/* A person whose fields 4..11 are all strings (wrong types are accepted), the
 * last one sized so that the entry is total bytes long. */
static void
sized_person(mpk_writer *w, rz_entry *e, char *text, size_t total)
{
    uint8_t f;
    size_t last = 200;
    entry_init(e, HLC0, RZ_T_PERSON, RZ_OP_SET, person_id, 16);
    for (f = RZ_PF_GENDER; f < RZ_PF_REG_DATE; f++)
        add(e, f, rz_bin(NULL, 0)); /* replaced below */
    for (f = 0; f < e->nfields; f++) {
        e->fields[f].v.type = RZ_V_STR;
        e->fields[f].v.p = (const uint8_t *)text;
        e->fields[f].v.len = 256;
    }
    add(e, RZ_PF_REG_DATE, rz_str(""));
    e->fields[e->nfields - 1].v.p = (const uint8_t *)text;
    e->fields[e->nfields - 1].v.len = last;
    encode(w, e);
    last += total - w->sb.size;
    e->fields[e->nfields - 1].v.len = last;
    encode(w, e);
    assert_int_equal(w->sb.size, total);
}

static void
test_refuses_oversize(void **state)
{
    char text[RZ_MAX_STR + 1];
    mpk_writer w;
    msgpack_zone z;
    rz_entry e, d;
    uint8_t *copy;
    (void)state;
    memset(text, 'a', sizeof text);
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);

    sized_person(&w, &e, text, RZ_MAX_ENTRY_BYTES);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &d, &z, &copy), 0);
    free(copy);
    sized_person(&w, &e, text, RZ_MAX_ENTRY_BYTES + 1);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &d, &z, &copy), RZ_E_TOOBIG);
    free(copy);

    /* one string above the string limit */
    entry_init(&e, HLC0, RZ_T_EVENT, RZ_OP_SET, event_id, 16);
    add(&e, RZ_EF_TITLE, rz_str(""));
    e.fields[0].v.p = (const uint8_t *)text;
    e.fields[0].v.len = RZ_MAX_STR;
    assert_int_equal(decode_rc(&e), 0);
    e.fields[0].v.len = RZ_MAX_STR + 1;
    assert_int_equal(decode_rc(&e), RZ_E_TOOBIG);

    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
test_refuses_too_many_fields(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_entry d;
    uint8_t *copy;
    unsigned i;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    mpk_w_array(&w, 6);
    mpk_w_uint(&w, 1), mpk_w_uint(&w, HLC0), mpk_w_uint(&w, RZ_T_PERSON);
    mpk_w_uint(&w, RZ_OP_SET), mpk_w_bin(&w, person_id, 16);
    mpk_w_map(&w, RZ_MAX_FIELDS + 1);
    for (i = 1; i <= RZ_MAX_FIELDS + 1; i++)
        mpk_w_uint(&w, i), mpk_w_nil(&w);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &d, &z, &copy), RZ_E_TOOBIG);
    free(copy);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

/* Shapes that are not [uint, uint, uint, uint, bin, map]. */
static void
test_refuses_wrong_shape(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_entry d;
    uint8_t *copy;
    int variant;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    for (variant = 0; variant < 12; variant++) {
        mpk_w_reset(&w);
        if (variant == 0) {
            mpk_w_map(&w, 0); /* not an array */
        } else if (variant == 1 || variant == 2) {
            mpk_w_array(&w, variant == 1 ? 5 : 7); /* wrong arity */
            mpk_w_uint(&w, 1), mpk_w_uint(&w, HLC0), mpk_w_uint(&w, RZ_T_PERSON);
            mpk_w_uint(&w, RZ_OP_SET), mpk_w_bin(&w, person_id, 16);
            if (variant == 2)
                mpk_w_map(&w, 0), mpk_w_nil(&w);
        } else {
            mpk_w_array(&w, 6);
            if (variant == 3)
                mpk_w_str(&w, "1", 1);
            else
                mpk_w_uint(&w, 1);
            if (variant == 4)
                mpk_w_int(&w, -1);
            else
                mpk_w_uint(&w, HLC0);
            if (variant == 5)
                mpk_w_nil(&w);
            else
                mpk_w_uint(&w, RZ_T_PERSON);
            if (variant == 6)
                mpk_w_bool(&w, 1);
            else
                mpk_w_uint(&w, RZ_OP_SET);
            if (variant == 7)
                mpk_w_str(&w, (const char *)person_id, 16);
            else
                mpk_w_bin(&w, person_id, 16);
            if (variant == 8) {
                mpk_w_array(&w, 0); /* fields not a map */
            } else {
                mpk_w_map(&w, 1);
                if (variant == 9)
                    mpk_w_str(&w, "4", 1);
                else
                    mpk_w_uint(&w, 4);
                if (variant == 10) {
                    static const uint8_t f64[] = {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
                    mpk_w_raw(&w, f64, sizeof f64); /* float value */
                } else if (variant == 11) {
                    mpk_w_array(&w, 0); /* container value */
                } else {
                    mpk_w_uint(&w, 1);
                }
            }
        }
        assert_int_equal(w.rc, 0);
        {
            int rc = decode_copy(w.sb.data, w.sb.size, &d, &z, &copy);
            free(copy);
            if (variant == 11)
                assert_true(rc == RZ_E_DECODE || rc == RZ_E_TOOBIG);
            else if (rc != RZ_E_DECODE)
                fail_msg("shape variant %d: rc %d", variant, rc);
        }
    }
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
test_refuses_truncation_and_trailing(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_entry e, d;
    uint8_t *copy, *longer;
    size_t i;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    full_person(&e);
    encode(&w, &e);
    for (i = 0; i < w.sb.size; i++) {
        assert_int_equal(decode_copy(w.sb.data, i, &d, &z, &copy), RZ_E_DECODE);
        free(copy);
    }
    longer = malloc(w.sb.size + 1);
    assert_non_null(longer);
    memcpy(longer, w.sb.data, w.sb.size);
    longer[w.sb.size] = 0xc0;
    assert_int_equal(decode_copy(longer, w.sb.size + 1, &d, &z, &copy), RZ_E_DECODE);
    free(copy);
    free(longer);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

/* Values of the wrong type decode: merge flags them as invalid. */
static void
test_accepts_wrong_value_types(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_entry e, d;
    uint8_t *copy;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);

    entry_init(&e, HLC0, RZ_T_PERSON, RZ_OP_SET, person_id, 16);
    add(&e, RZ_PF_GENDER, rz_str("female"));
    add(&e, RZ_PF_BIRTH_YEAR, rz_uint(1800));
    add(&e, RZ_PF_DISTRICT, rz_uint(42));
    add(&e, RZ_PF_AREA, rz_uint(9));
    add(&e, RZ_PF_SKILL, rz_nil());
    add(&e, RZ_PF_REG_DATE, rz_bool(1));
    e.fields[1].v.type = RZ_V_INT;
    e.fields[1].v.i = -5;
    encode(&w, &e);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &d, &z, &copy), 0);
    assert_int_equal(d.fields[0].v.type, RZ_V_STR);
    assert_int_equal(d.fields[1].v.type, RZ_V_INT);
    assert_int_equal(d.fields[1].v.i, -5);
    assert_int_equal(d.fields[2].v.type, RZ_V_UINT);
    assert_int_equal(d.fields[3].v.u, 9);
    assert_int_equal(d.fields[4].v.type, RZ_V_NIL);
    assert_int_equal(d.fields[5].v.type, RZ_V_BOOL);
    free(copy);

    entry_init(&e, HLC0, RZ_T_EVENT, RZ_OP_SET, event_id, 16);
    add(&e, RZ_EF_DATE, rz_str("2026-03-16"));
    add(&e, RZ_EF_DURATION, rz_bin(commit_a, 3));
    assert_int_equal(decode_rc(&e), 0);

    entry_init(&e, HLC0, RZ_T_ATTENDANCE, RZ_OP_SET, att_key, 32);
    add(&e, RZ_AF_PRESENT, rz_uint(1));
    assert_int_equal(decode_rc(&e), 0);

    entry_init(&e, HLC0, RZ_T_CLOCK, RZ_OP_SET, NULL, 0);
    add(&e, RZ_CF_SERVER_MS, rz_str("soon"));
    assert_int_equal(decode_rc(&e), 0);

    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
test_field_tables(void **state)
{
    uint8_t f;
    (void)state;
    assert_int_equal(entry_field_max(RZ_T_PERSON), RZ_PF_MAX);
    assert_int_equal(entry_field_max(RZ_T_EVENT), RZ_EF_MAX);
    assert_int_equal(entry_field_max(RZ_T_ATTENDANCE), RZ_AF_MAX);
    assert_int_equal(entry_field_max(RZ_T_CLOCK), RZ_CF_MAX);
    assert_int_equal(entry_field_max(0), 0);
    assert_int_equal(entry_field_max(5), 0);
    for (f = 0; f < 20; f++) {
        assert_int_equal(entry_field_is_pii(RZ_T_PERSON, f), f >= 1 && f <= 3);
        assert_int_equal(entry_field_is_pii(RZ_T_EVENT, f), 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_person),
        cmocka_unit_test(test_round_trip_event),
        cmocka_unit_test(test_round_trip_attendance),
        cmocka_unit_test(test_round_trip_clock),
        cmocka_unit_test(test_encoding_layout),
        cmocka_unit_test(test_refuses_unknown_table),
        cmocka_unit_test(test_refuses_bad_op),
        cmocka_unit_test(test_refuses_wrong_key_length),
        cmocka_unit_test(test_refuses_fields_not_ascending),
        cmocka_unit_test(test_refuses_unknown_field),
        cmocka_unit_test(test_refuses_personal_field_not_commitment),
        cmocka_unit_test(test_refuses_unsupported_schema),
        cmocka_unit_test(test_refuses_oversize),
        cmocka_unit_test(test_refuses_too_many_fields),
        cmocka_unit_test(test_refuses_wrong_shape),
        cmocka_unit_test(test_refuses_truncation_and_trailing),
        cmocka_unit_test(test_accepts_wrong_value_types),
        cmocka_unit_test(test_field_tables),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
