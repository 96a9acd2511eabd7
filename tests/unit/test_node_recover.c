/*
 * test_node_recover: the node's side of recovering a replaced PC's records
 * (client/node_recover.h, node_store_apply_foreign).  Another node's log,
 * applied here, gives the same records (personal values, deletions,
 * attendance, short codes) without a single entry in this node's log; twice
 * changes nothing; an erased value is kept as none; a commitment without a
 * value, or an apply outside a transaction, is refused; a later correction
 * here is stamped after the entry it corrects and keys the same record.
 * The network part (chain, signatures, values checked against commitments)
 * is covered end to end by it_test_recover.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client/node_recover.h"
#include "proto/entry.h"
#include "tests/unit/node_fixture.h"

#define MAXE 64

typedef struct old_log {
    size_t n;                      /* entries */
    uint8_t entry[MAXE][512];      /* their bytes */
    size_t len[MAXE];              /* their lengths */
    uint64_t seq[MAXE];            /* their sequence numbers */
    node_foreign_value v[MAXE][3]; /* their personal values */
    char text[MAXE][3][64];        /* value bytes */
    size_t nv[MAXE];               /* values per entry */
} old_log;

static int
take_entry(void *ctx, uint64_t seq, uint32_t epoch, const uint8_t hash[RZ_HASH_BYTES],
           const uint8_t *entry, size_t len, size_t reveal_bytes)
{
    old_log *l = ctx;
    (void)epoch, (void)hash, (void)reveal_bytes;
    assert_true(l->n < MAXE && len <= sizeof l->entry[0]);
    memcpy(l->entry[l->n], entry, len);
    l->len[l->n] = len;
    l->seq[l->n++] = seq;
    return 0;
}

static int
take_value(void *ctx, uint64_t seq, uint8_t field, const uint8_t salt[RZ_SALT_BYTES],
           const char *value, size_t len)
{
    old_log *l = ctx;
    size_t i;
    (void)salt;
    for (i = 0; i < l->n; i++)
        if (l->seq[i] == seq) {
            size_t k = l->nv[i]++;
            assert_true(k < 3 && len < 64);
            memcpy(l->text[i][k], value, len);
            l->v[i][k].field = field;
            l->v[i][k].value = l->text[i][k];
            l->v[i][k].len = len;
        }
    return 0;
}

typedef struct two {
    fixture *f;        /* the old node (f->ns) */
    char new_dir[320]; /* the new node's directory */
    node_store *nn;    /* the new node */
} two;

static int
setup(void **state)
{
    two *t = calloc(1, sizeof *t);
    rz_error err = {0, ""};
    node_fixture_setup((void **)&t->f, "recover");
    snprintf(t->new_dir, sizeof t->new_dir, "%s/new", t->f->dir);
    assert_int_equal(node_store_create(t->new_dir, &t->nn, &err), 0);
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    two *t = *state;
    static const char *const files[] = {"node.db", "node.db-wal", "node.db-shm", "node.key"};
    char path[400];
    size_t i;
    void *f = t->f;
    node_store_destroy(&t->nn);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", t->new_dir, files[i]);
        unlink(path);
    }
    rmdir(t->new_dir);
    node_fixture_teardown(&f);
    free(t);
    return 0;
}

/* Records at the old node; its log as the server would send it back. */
static void
old_records(node_store *ns, old_log *l, uint8_t p1[16], uint8_t p2[16], uint8_t ev[16])
{
    rz_error err = {0, ""};
    node_person p = {0};
    node_event e = {0};
    node_store_status st;
    p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER) | NODE_SET(RZ_PF_CNIC) |
            NODE_SET(RZ_PF_PHONE) | NODE_SET(RZ_PF_BIRTH_YEAR);
    p.name = "Ayesha Khan", p.gender = RZ_G_FEMALE, p.cnic = "35202-1234567-2";
    p.phone = "0300-1234567", p.birth_year = 2001;
    assert_int_equal(node_store_person_add(ns, &p, p1, &err), 0);
    p.name = "Bilal", p.gender = RZ_G_MALE, p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER);
    assert_int_equal(node_store_person_add(ns, &p, p2, &err), 0);
    e.set = NODE_SET(RZ_EF_KIND) | NODE_SET(RZ_EF_TITLE) | NODE_SET(RZ_EF_DATE);
    e.kind = RZ_EK_BOOTCAMP, e.title = "Upwork bootcamp", e.date = 20260120;
    assert_int_equal(node_store_event_add(ns, &e, ev, &err), 0);
    assert_int_equal(node_store_attend(ns, ev, p1, 1, &err), 0);
    assert_int_equal(node_store_attend(ns, ev, p2, 0, &err), 0);
    memset(&p, 0, sizeof p);
    p.set = NODE_SET(RZ_PF_DISTRICT), p.district = "Lahore";
    assert_int_equal(node_store_person_edit(ns, p1, &p, &err), 0);
    assert_int_equal(node_store_set_deleted(ns, RZ_T_PERSON, p2, 16, 1, &err), 0);
    assert_int_equal(node_store_get_status(ns, &st, &err), 0);
    memset(l, 0, sizeof *l);
    assert_int_equal(node_store_read_entries(ns, 1, MAXE, take_entry, l, &err), 0);
    assert_int_equal(node_store_read_reveals(ns, 1, st.head_seq, take_value, l, &err), 0);
    assert_int_equal(l->n, st.head_seq);
}

static void
apply_all(node_store *nn, const old_log *l)
{
    rz_error err = {0, ""};
    size_t i;
    assert_int_equal(node_store_begin(nn, &err), 0);
    for (i = 0; i < l->n; i++)
        assert_int_equal(
            node_store_apply_foreign(nn, l->entry[i], l->len[i], l->v[i], l->nv[i], &err), 0);
    assert_int_equal(node_store_commit(nn, &err), 0);
}

typedef struct seen {
    char name[64], cnic[16], phone[20], district[32];
    int deleted, has_name;
    uint64_t gender;
} seen;

static int
see_person(void *ctx, const node_person_row *row)
{
    seen *s = ctx;
    memset(s, 0, sizeof *s);
    s->has_name = (row->f.set & NODE_SET(RZ_PF_NAME)) && row->f.name;
    if (s->has_name)
        snprintf(s->name, sizeof s->name, "%s", row->f.name);
    if ((row->f.set & NODE_SET(RZ_PF_CNIC)) && row->f.cnic)
        snprintf(s->cnic, sizeof s->cnic, "%s", row->f.cnic);
    if ((row->f.set & NODE_SET(RZ_PF_PHONE)) && row->f.phone)
        snprintf(s->phone, sizeof s->phone, "%s", row->f.phone);
    if ((row->f.set & NODE_SET(RZ_PF_DISTRICT)) && row->f.district)
        snprintf(s->district, sizeof s->district, "%s", row->f.district);
    s->deleted = row->deleted;
    s->gender = row->f.gender;
    return 0;
}

static int
count_att(void *ctx, const node_attendance_row *row)
{
    int *n = ctx;
    *n += row->present ? 10 : 1;
    return 0;
}

static void
test_foreign_log_gives_the_same_records(void **state)
{
    two *t = *state;
    rz_error err = {0, ""};
    uint8_t p1[16], p2[16], ev[16];
    old_log *l = calloc(1, sizeof *l);
    node_store_status st;
    seen a, b;
    char code[NODE_CODE_MAX];
    int round, att;
    old_records(t->f->ns, l, p1, p2, ev);
    for (round = 0; round < 2; round++) { /* twice: nothing changes */
        apply_all(t->nn, l);
        assert_int_equal(node_store_person_get(t->f->ns, p1, see_person, &a, &err), 0);
        assert_int_equal(node_store_person_get(t->nn, p1, see_person, &b, &err), 0);
        assert_string_equal(b.name, "Ayesha Khan");
        assert_string_equal(b.cnic, a.cnic);
        assert_string_equal(b.phone, a.phone);
        assert_string_equal(b.district, "Lahore");
        assert_int_equal(b.gender, RZ_G_FEMALE);
        assert_int_equal(node_store_person_get(t->nn, p2, see_person, &b, &err), 0);
        assert_int_equal(b.deleted, 1);
        att = 0;
        assert_int_equal(node_store_attendance_each(t->nn, 1, count_att, &att, &err), 0);
        assert_int_equal(att, 11); /* one present, one absent */
        /* Nothing entered the new node's log; its clock is past the old one's. */
        assert_int_equal(node_store_get_status(t->nn, &st, &err), 0);
        assert_int_equal(st.head_seq, 0);
        assert_int_equal(st.pending, 0);
    }
    /* Staff find the records by a short code of their own. */
    assert_int_equal(node_store_code(t->nn, p1, code, &err), 0);
    /* A correction here keys the recovered record and is stamped after it. */
    {
        node_person p = {0};
        msgpack_zone z;
        rz_entry e, last_old;
        old_log *mine = calloc(1, sizeof *mine);
        p.set = NODE_SET(RZ_PF_GENDER), p.gender = RZ_G_MALE;
        assert_int_equal(node_store_person_edit(t->nn, p1, &p, &err), 0);
        assert_int_equal(node_store_read_entries(t->nn, 1, MAXE, take_entry, mine, &err), 0);
        assert_int_equal(mine->n, 1);
        msgpack_zone_init(&z, 1024);
        assert_int_equal(entry_decode(mine->entry[0], mine->len[0], &z, &e, &err), 0);
        assert_int_equal(entry_decode(l->entry[l->n - 1], l->len[l->n - 1], &z, &last_old, &err),
                         0);
        assert_int_equal(e.key_len, 16);
        assert_memory_equal(e.key, p1, 16);
        assert_true(e.hlc > last_old.hlc);
        msgpack_zone_destroy(&z);
        free(mine);
    }
    free(l);
}

static void
test_erased_missing_and_outside(void **state)
{
    two *t = *state;
    rz_error err = {0, ""};
    uint8_t p1[16], p2[16], ev[16];
    old_log *l = calloc(1, sizeof *l);
    seen b;
    size_t k;
    old_records(t->f->ns, l, p1, p2, ev);
    /* Outside a transaction: refused. */
    assert_int_equal(
        node_store_apply_foreign(t->nn, l->entry[0], l->len[0], l->v[0], l->nv[0], &err), RZ_E_ARG);
    /* A commitment with no value: refused (the caller rolls back). */
    assert_int_equal(node_store_begin(t->nn, &err), 0);
    assert_int_equal(node_store_apply_foreign(t->nn, l->entry[0], l->len[0], NULL, 0, &err),
                     RZ_E_ARG);
    node_store_rollback(t->nn);
    /* Not an entry: refused. */
    assert_int_equal(node_store_begin(t->nn, &err), 0);
    assert_int_equal(node_store_apply_foreign(t->nn, (const uint8_t *)"\x93\x01", 2, NULL, 0, &err),
                     RZ_E_DECODE);
    node_store_rollback(t->nn);
    /* Erased at the server: kept as no value, the other fields as they were. */
    for (k = 0; k < l->nv[0]; k++)
        if (l->v[0][k].field == RZ_PF_NAME)
            l->v[0][k].value = NULL, l->v[0][k].len = 0;
    apply_all(t->nn, l);
    assert_int_equal(node_store_person_get(t->nn, p1, see_person, &b, &err), 0);
    assert_false(b.has_name);
    assert_string_equal(b.district, "Lahore");
    assert_true(b.cnic[0] != '\0');
    free(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_foreign_log_gives_the_same_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erased_missing_and_outside, setup, teardown),
    };
    assert_int_equal(crypto_init(), 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
