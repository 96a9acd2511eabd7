/*
 * test_node_store: the node's records and change-log (client/node_store.c).
 *
 * Every check reads node.db back through a separate SQLite connection and
 * recomputes what the store claims: gap-free sequence numbers, chain hashes,
 * decodable entries, commitments that open with the stored personal values
 * (which never appear in entry bytes), atomicity of a change and its entry,
 * a strictly increasing clock under a stuck or backwards wall clock, unique
 * ids, rebase onto a new epoch, and the clock-warning rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "client/node_store.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/util.h"
#include "proto/entry.h"
#include "node_fixture.h"

static int
setup(void **state)
{
    return node_fixture_setup(state, "node-store");
}

static sqlite3 *
raw_db(fixture *f)
{
    char path[400];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/node.db", f->node);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static int64_t
count_rows(fixture *f, const char *sql)
{
    sqlite3 *db = raw_db(f);
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void
raw_exec(fixture *f, const char *sql)
{
    sqlite3 *db = raw_db(f);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int
contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;
    for (i = 0; k && i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

/* What a log check found. */
typedef struct log_facts {
    uint64_t n;         /* rows */
    uint64_t commits;   /* personal-value commitments in entries */
    uint64_t nil_pii;   /* cleared personal values */
    uint64_t tables[5]; /* entries per table */
} log_facts;

/* Walks the whole log as a verifier would: seq 1..n without gaps, every
 * hash recomputed from the previous one, every entry decoded, every
 * commitment opened with its pii row, no personal value in entry bytes,
 * clocks strictly increasing. */
static void
check_log(fixture *f, const char *const *secrets, log_facts *out)
{
    sqlite3 *db = raw_db(f);
    sqlite3_stmt *st = NULL, *pt = NULL;
    uint8_t prev[RZ_HASH_BYTES] = {0}, h[RZ_HASH_BYTES];
    const uint8_t *node_id = node_store_node_id(f->ns);
    uint64_t expect = 1, last_hlc = 0;
    msgpack_zone z;
    log_facts facts;

    memset(&facts, 0, sizeof facts);
    msgpack_zone_init(&z, 4096);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq, epoch, hash, entry FROM log ORDER BY seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT salt, value FROM pii WHERE seq=?1 AND field=?2",
                                        -1, &pt, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        const uint8_t *entry = sqlite3_column_blob(st, 3);
        size_t len = (size_t)sqlite3_column_bytes(st, 3), i, pii_here = 0;
        rz_entry e;
        rz_error err = {0, ""};
        const char *const *s;

        assert_int_equal(seq, expect++);
        assert_int_equal(sqlite3_column_int64(st, 1), 0);
        chain_hash(h, node_id, 0, seq, prev, entry, len);
        assert_int_equal(sqlite3_column_bytes(st, 2), RZ_HASH_BYTES);
        assert_memory_equal(h, sqlite3_column_blob(st, 2), RZ_HASH_BYTES);
        memcpy(prev, h, RZ_HASH_BYTES);

        msgpack_zone_clear(&z);
        assert_int_equal(entry_decode(entry, len, &z, &e, &err), 0);
        assert_int_equal(e.schema, RZ_SCHEMA_CURRENT);
        assert_true(e.hlc > last_hlc);
        last_hlc = e.hlc;
        assert_true(e.table >= 1 && e.table <= 4);
        facts.tables[e.table]++;
        for (s = secrets; s && *s; s++)
            assert_false(contains(entry, len, *s));
        for (i = 0; i < e.nfields; i++) {
            const rz_value *v = &e.fields[i].v;
            uint8_t c[RZ_COMMIT_BYTES];
            if (!entry_field_is_pii(e.table, e.fields[i].id))
                continue;
            if (v->type == RZ_V_NIL) {
                facts.nil_pii++;
                continue;
            }
            assert_int_equal(v->type, RZ_V_BIN);
            assert_int_equal(v->len, RZ_COMMIT_BYTES);
            sqlite3_bind_int64(pt, 1, (sqlite3_int64)seq);
            sqlite3_bind_int(pt, 2, e.fields[i].id);
            assert_int_equal(sqlite3_step(pt), SQLITE_ROW);
            assert_int_equal(sqlite3_column_bytes(pt, 0), RZ_SALT_BYTES);
            pii_commit(c, sqlite3_column_blob(pt, 0), sqlite3_column_blob(pt, 1),
                       (size_t)sqlite3_column_bytes(pt, 1));
            assert_memory_equal(c, v->p, RZ_COMMIT_BYTES);
            sqlite3_reset(pt);
            facts.commits++;
            pii_here++;
        }
        /* No personal value is stored without a commitment to it. */
        {
            sqlite3_stmt *ct = NULL;
            assert_int_equal(
                sqlite3_prepare_v2(db, "SELECT count(*) FROM pii WHERE seq=?1", -1, &ct, NULL),
                SQLITE_OK);
            sqlite3_bind_int64(ct, 1, (sqlite3_int64)seq);
            assert_int_equal(sqlite3_step(ct), SQLITE_ROW);
            assert_int_equal(sqlite3_column_int64(ct, 0), (int64_t)pii_here);
            sqlite3_finalize(ct);
        }
        facts.n++;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(pt);
    sqlite3_close(db);
    msgpack_zone_destroy(&z);
    if (out)
        *out = facts;
}

static node_person
person(const char *name, int gender)
{
    node_person p;
    memset(&p, 0, sizeof p);
    p.set = NODE_SET(RZ_PF_NAME) | NODE_SET(RZ_PF_GENDER);
    p.name = name;
    p.gender = (uint64_t)gender;
    return p;
}

static node_event
event(const char *title)
{
    node_event e;
    memset(&e, 0, sizeof e);
    e.set = NODE_SET(RZ_EF_KIND) | NODE_SET(RZ_EF_TITLE) | NODE_SET(RZ_EF_DATE);
    e.kind = RZ_EK_BOOTCAMP;
    e.title = title;
    e.date = 20261005;
    return e;
}

/* Collects the person rows for assertions. */
typedef struct seen_person {
    int n;             /* rows */
    uint32_t set;      /* fields of the last row */
    char cnic[32];     /* its CNIC, if any */
    char name[64];     /* its name */
    int deleted;       /* its deleted flag */
    uint64_t reg_date; /* its registration date */
} seen_person;

static int
see_person(void *ctx, const node_person_row *r)
{
    seen_person *s = ctx;
    s->n++;
    s->set = r->f.set;
    snprintf(s->cnic, sizeof s->cnic, "%s", r->f.cnic ? r->f.cnic : "");
    snprintf(s->name, sizeof s->name, "%s", r->f.name ? r->f.name : "");
    s->deleted = r->deleted;
    s->reg_date = r->f.reg_date;
    return 0;
}

static void
test_record_chain_and_commitments(void **state)
{
    fixture *f = *state;
    const char *const secrets[] = {"Ayesha Khan",  "3520212345672", "35202-1234567-2",
                                   "0300-7654321", "Bilal Ahmed",   NULL};
    uint8_t p1[16], p2[16], p3[16], e1[16], key[32];
    rz_error err = {0, ""};
    node_person p = person("Ayesha Khan", RZ_G_FEMALE), edit;
    node_event ev = event("Upwork bootcamp");
    seen_person seen;
    log_facts facts;

    p.set |= NODE_SET(RZ_PF_CNIC) | NODE_SET(RZ_PF_PHONE) | NODE_SET(RZ_PF_BIRTH_YEAR) |
             NODE_SET(RZ_PF_DISTRICT) | NODE_SET(RZ_PF_REG_DATE);
    p.cnic = "35202-1234567-2";
    p.phone = "0300-7654321";
    p.birth_year = 2001;
    p.district = "Lahore";
    p.reg_date = 20261001;
    assert_int_equal(node_store_person_add(f->ns, &p, p1, &err), 0);
    p = person("Bilal Ahmed", RZ_G_MALE);
    assert_int_equal(node_store_person_add(f->ns, &p, p2, &err), 0);
    /* Invalid values are recorded, not refused: the server flags them. */
    p = person("Z", 9);
    p.set |= NODE_SET(RZ_PF_CNIC) | NODE_SET(RZ_PF_BIRTH_YEAR);
    p.cnic = "12-34";
    p.birth_year = 1800;
    assert_int_equal(node_store_person_add(f->ns, &p, p3, &err), 0);
    assert_int_equal(node_store_event_add(f->ns, &ev, e1, &err), 0);
    assert_int_equal(node_store_attend(f->ns, e1, p1, 1, &err), 0);
    assert_int_equal(node_store_attend(f->ns, e1, p2, 0, &err), 0);
    memcpy(key, e1, 16);
    memcpy(key + 16, p2, 16);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_ATTENDANCE, key, 32, 1, &err), 0);
    /* Clearing the CNIC puts nil in the entry: nothing to reveal. */
    memset(&edit, 0, sizeof edit);
    edit.set = NODE_SET(RZ_PF_CNIC);
    assert_int_equal(node_store_person_edit(f->ns, p1, &edit, &err), 0);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_EVENT, e1, 16, 1, &err), 0);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_EVENT, e1, 16, 0, &err), 0);

    check_log(f, secrets, &facts);
    assert_int_equal(facts.n, 10);
    assert_int_equal(facts.tables[RZ_T_PERSON], 4);
    assert_int_equal(facts.tables[RZ_T_EVENT], 3);
    assert_int_equal(facts.tables[RZ_T_ATTENDANCE], 3);
    assert_int_equal(facts.commits, 3 + 1 + 2); /* p1: cnic name phone; p2: name; p3: cnic name */
    assert_int_equal(facts.nil_pii, 1);

    /* The local state follows every change. */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(node_store_person_get(f->ns, p1, see_person, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_false(seen.set & NODE_SET(RZ_PF_CNIC));
    assert_string_equal(seen.name, "Ayesha Khan");
    assert_int_equal(seen.reg_date, 20261001);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(node_store_person_get(f->ns, p3, see_person, &seen, &err), 0);
    assert_string_equal(seen.cnic, "12-34"); /* an invalid CNIC is kept as typed */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM attendance WHERE deleted=1"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM event WHERE deleted=0"), 1);
}

static void
test_valid_cnic_is_normalised(void **state)
{
    fixture *f = *state;
    uint8_t a[16], b[16];
    rz_error err = {0, ""};
    node_person p = person("A", RZ_G_FEMALE);
    seen_person s1, s2;
    p.set |= NODE_SET(RZ_PF_CNIC);
    p.cnic = "35202-1234567-2";
    assert_int_equal(node_store_person_add(f->ns, &p, a, &err), 0);
    p.cnic = "3520212345672";
    assert_int_equal(node_store_person_add(f->ns, &p, b, &err), 0);
    memset(&s1, 0, sizeof s1), memset(&s2, 0, sizeof s2);
    assert_int_equal(node_store_person_get(f->ns, a, see_person, &s1, &err), 0);
    assert_int_equal(node_store_person_get(f->ns, b, see_person, &s2, &err), 0);
    assert_string_equal(s1.cnic, "3520212345672");
    assert_string_equal(s2.cnic, "3520212345672");
    assert_int_equal(count_rows(f, "SELECT count(DISTINCT value) FROM pii WHERE field=1"), 1);
    /* Same value, fresh salt each time: the commitments do not link. */
    assert_int_equal(count_rows(f, "SELECT count(DISTINCT salt) FROM pii WHERE field=1"), 2);
}

static void
test_ids_are_clock_and_node(void **state)
{
    fixture *f = *state;
    uint8_t ids[200][16];
    rz_error err = {0, ""};
    node_person p = person("Same Name", RZ_G_MALE);
    int i, j;
    for (i = 0; i < 200; i++) {
        assert_int_equal(node_store_person_add(f->ns, &p, ids[i], &err), 0);
        assert_memory_equal(ids[i] + 8, node_store_node_id(f->ns), 8);
        if (i > 0)
            assert_true(be64_get(ids[i]) > be64_get(ids[i - 1]));
    }
    for (i = 0; i < 200; i++)
        for (j = i + 1; j < 200; j++)
            assert_memory_not_equal(ids[i], ids[j], 16);
    /* The id's clock part is the clock of the entry that created it. */
    {
        sqlite3 *db = raw_db(f);
        sqlite3_stmt *st = NULL;
        msgpack_zone z;
        rz_entry e;
        msgpack_zone_init(&z, 1024);
        assert_int_equal(
            sqlite3_prepare_v2(db, "SELECT entry FROM log ORDER BY seq", -1, &st, NULL), SQLITE_OK);
        for (i = 0; i < 200; i++) {
            assert_int_equal(sqlite3_step(st), SQLITE_ROW);
            msgpack_zone_clear(&z);
            assert_int_equal(entry_decode(sqlite3_column_blob(st, 0),
                                          (size_t)sqlite3_column_bytes(st, 0), &z, &e, &err),
                             0);
            assert_int_equal(e.key_len, 16);
            assert_memory_equal(e.key, ids[i], 16);
            assert_int_equal(be64_get(e.key), e.hlc);
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        msgpack_zone_destroy(&z);
    }
}

static void
test_clock_stuck_or_backwards(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("Clock", RZ_G_OTHER);
    uint8_t id[16];
    int i;
    setenv("RZ_FAKE_NOW_MS", "1800000000000", 1);
    for (i = 0; i < 50; i++)
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    setenv("RZ_FAKE_NOW_MS", "1500000000000", 1); /* the PC's clock jumps back years */
    for (i = 0; i < 50; i++)
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    /* The clock persists across processes. */
    node_store_destroy(&f->ns);
    setenv("RZ_FAKE_NOW_MS", "0", 1);
    assert_int_equal(node_store_open(f->node, &f->ns, &err), 0);
    for (i = 0; i < 20; i++)
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_true(be64_get(id) > hlc_make(1800000000000ull, 0));
    check_log(f, NULL, NULL); /* asserts strictly increasing clocks */
    assert_int_equal(count_rows(f, "SELECT count(DISTINCT id) FROM person"), 120);
}

static void
test_failed_write_leaves_nothing(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("Atomic", RZ_G_FEMALE);
    uint8_t id[16];
    int64_t persons, logs;

    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    persons = count_rows(f, "SELECT count(*) FROM person");
    logs = count_rows(f, "SELECT count(*) FROM log");
    /* The personal value is written last: the person row and the log row
     * already went in when it fails, and both must vanish. */
    raw_exec(f, "CREATE TRIGGER boom BEFORE INSERT ON pii BEGIN"
                " SELECT RAISE(ABORT, 'injected failure'); END");
    assert_int_not_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM person"), persons);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM log"), logs);
    raw_exec(f, "DROP TRIGGER boom");
    raw_exec(f, "CREATE TRIGGER boom BEFORE INSERT ON log BEGIN"
                " SELECT RAISE(ABORT, 'injected failure'); END");
    assert_int_not_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM person"), persons);
    raw_exec(f, "DROP TRIGGER boom");
    /* And the log goes on without a gap. */
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    check_log(f, NULL, NULL);
    assert_int_equal(count_rows(f, "SELECT max(seq) FROM log"), logs + 1);
}

static void
test_batch_transaction_all_or_nothing(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("Bulk", RZ_G_MALE);
    uint8_t id[16], nobody[16] = {0};
    int i;

    /* A refusal before writing (unknown id) does not spoil the batch. */
    assert_int_equal(node_store_begin(f->ns, &err), 0);
    for (i = 0; i < 100; i++)
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_equal(node_store_person_edit(f->ns, nobody, &p, &err), RZ_E_NOTFOUND);
    assert_int_equal(node_store_commit(f->ns, &err), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM person"), 100);

    /* A failure while writing rolls the whole batch back. */
    raw_exec(f, "CREATE TRIGGER boom BEFORE INSERT ON log WHEN NEW.seq = 150 BEGIN"
                " SELECT RAISE(ABORT, 'injected failure'); END");
    assert_int_equal(node_store_begin(f->ns, &err), 0);
    for (i = 0; i < 49; i++)
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_not_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_not_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_not_equal(node_store_commit(f->ns, &err), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM person"), 100);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM log"), 100);
    raw_exec(f, "DROP TRIGGER boom");

    /* Explicit rollback discards, and the store is usable afterwards. */
    assert_int_equal(node_store_begin(f->ns, &err), 0);
    assert_int_equal(node_store_begin(f->ns, &err), RZ_E_ARG);
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    node_store_rollback(f->ns);
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM person"), 101);
    check_log(f, NULL, NULL);
}

static void
test_refusals(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("", RZ_G_FEMALE);
    node_event ev = event("T");
    uint8_t id[16], pid[16], eid[16], nobody[16] = {1};
    char big[RZ_MAX_STR + 2];

    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), RZ_E_ARG);
    p = person("Has no gender", 0);
    p.set &= ~NODE_SET(RZ_PF_GENDER);
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), RZ_E_ARG);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    p = person(big, RZ_G_MALE); /* one byte over the wire's string limit */
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), RZ_E_ARG);
    p = person("bad \xc3\x28 utf8", RZ_G_MALE);
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), RZ_E_ARG);
    p = person("tab\there", RZ_G_MALE);
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), RZ_E_ARG);
    p = person("عائشہ بی بی", RZ_G_FEMALE); /* Urdu is fine */
    assert_int_equal(node_store_person_add(f->ns, &p, pid, &err), 0);
    ev.set &= ~NODE_SET(RZ_EF_DATE);
    assert_int_equal(node_store_event_add(f->ns, &ev, eid, &err), RZ_E_ARG);
    ev = event("T");
    assert_int_equal(node_store_event_add(f->ns, &ev, eid, &err), 0);
    assert_int_equal(node_store_person_edit(f->ns, nobody, &p, &err), RZ_E_NOTFOUND);
    assert_int_equal(node_store_attend(f->ns, eid, nobody, 1, &err), RZ_E_NOTFOUND);
    assert_int_equal(node_store_attend(f->ns, nobody, pid, 1, &err), RZ_E_NOTFOUND);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 0, &err), RZ_E_EXISTS);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 1, &err), 0);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 1, &err), RZ_E_EXISTS);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), RZ_E_ARG); /* deleted person */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM log"), 3);
    check_log(f, NULL, NULL);
}

/* Sets a record's deleted flag from another connection, as a second
 * process on the same node.db would. */
static void
raw_set_deleted(fixture *f, const char *table, const uint8_t id[16], int deleted)
{
    char hex[33], sql[160];
    node_id_format(hex, id);
    snprintf(sql, sizeof sql, "UPDATE %s SET deleted=%d WHERE id=X'%s'", table, deleted, hex);
    raw_exec(f, sql);
}

/* The store remembers ids it knows live so an attendance can skip their
 * look-ups; whatever it remembers, a deleted, rolled-back or never
 * committed person or event is refused exactly as without it. */
static void
test_known_live_ids_never_outlive_the_truth(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("Live", RZ_G_FEMALE);
    node_event ev = event("Session");
    uint8_t pid[16], eid[16], qid[16], rid[16], e2[16];
    int64_t logs;

    assert_int_equal(node_store_person_add(f->ns, &p, pid, &err), 0);
    assert_int_equal(node_store_event_add(f->ns, &ev, eid, &err), 0);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), 0);

    /* Deleted here: refused; undeleted: accepted again. */
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 1, &err), 0);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), RZ_E_ARG);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 0, &err), 0);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 0, &err), 0);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_EVENT, eid, 16, 1, &err), 0);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), RZ_E_ARG);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_EVENT, eid, 16, 0, &err), 0);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), 0);

    /* A person and an event added in a transaction that rolls back never
     * existed, though they were used inside it. */
    assert_int_equal(node_store_begin(f->ns, &err), 0);
    assert_int_equal(node_store_person_add(f->ns, &p, qid, &err), 0);
    assert_int_equal(node_store_event_add(f->ns, &ev, e2, &err), 0);
    assert_int_equal(node_store_attend(f->ns, eid, qid, 1, &err), 0);
    assert_int_equal(node_store_attend(f->ns, e2, pid, 1, &err), 0);
    node_store_rollback(f->ns);
    assert_int_equal(node_store_attend(f->ns, eid, qid, 1, &err), RZ_E_NOTFOUND);
    assert_int_equal(node_store_attend(f->ns, e2, pid, 1, &err), RZ_E_NOTFOUND);

    /* An undelete that rolls back leaves the person deleted. */
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 1, &err), 0);
    assert_int_equal(node_store_begin(f->ns, &err), 0);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 0, &err), 0);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), 0);
    node_store_rollback(f->ns);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), RZ_E_ARG);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 0, &err), 0);

    /* A batch that a failed write rolls back: its new person is gone. */
    raw_exec(f, "CREATE TRIGGER boom BEFORE INSERT ON attendance BEGIN"
                " SELECT RAISE(ABORT, 'injected failure'); END");
    assert_int_equal(node_store_begin(f->ns, &err), 0);
    assert_int_equal(node_store_person_add(f->ns, &p, rid, &err), 0);
    assert_int_not_equal(node_store_attend(f->ns, eid, rid, 1, &err), 0);
    assert_int_not_equal(node_store_commit(f->ns, &err), 0);
    raw_exec(f, "DROP TRIGGER boom");
    assert_int_equal(node_store_attend(f->ns, eid, rid, 1, &err), RZ_E_NOTFOUND);

    /* Another connection deletes a person this store knows live. */
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), 0);
    raw_set_deleted(f, "person", pid, 1);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), RZ_E_ARG);
    raw_set_deleted(f, "person", pid, 0);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), 0);
    raw_set_deleted(f, "event", eid, 1);
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), RZ_E_ARG);
    raw_set_deleted(f, "event", eid, 0);

    /* Many ids (the set grows) stay correct. */
    logs = count_rows(f, "SELECT count(*) FROM log");
    assert_int_equal(node_store_begin(f->ns, &err), 0);
    {
        uint8_t ids[1500][16];
        int i;
        for (i = 0; i < 1500; i++)
            assert_int_equal(node_store_person_add(f->ns, &p, ids[i], &err), 0);
        for (i = 0; i < 1500; i++)
            assert_int_equal(node_store_attend(f->ns, eid, ids[i], 1, &err), 0);
        assert_int_equal(node_store_commit(f->ns, &err), 0);
        assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, ids[700], 16, 1, &err), 0);
        assert_int_equal(node_store_attend(f->ns, eid, ids[700], 1, &err), RZ_E_ARG);
        assert_int_equal(node_store_attend(f->ns, eid, ids[701], 1, &err), 0);
    }
    assert_int_equal(count_rows(f, "SELECT count(*) FROM log"), logs + 3002);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM attendance WHERE deleted=0"), 1501);
    check_log(f, NULL, NULL);
}

static void
test_create_refuses_existing_and_key_mode(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_store *other = NULL;
    char path[400];
    assert_int_equal(node_store_create(f->node, &other, &err), RZ_E_EXISTS);
    assert_null(other);
    snprintf(path, sizeof path, "%s/node.key", f->node);
    assert_int_equal(access(path, R_OK), 0);
    /* A key readable by others is refused at open. */
    node_store_destroy(&f->ns);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(node_store_open(f->node, &f->ns, &err), RZ_E_CONFIG);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(node_store_open(f->node, &f->ns, &err), 0);
}

static void
test_clock_warning_rule(void **state)
{
    fixture *f = *state;
    node_store_status st;
    rz_error err = {0, ""};
    char msg[256];
    const uint64_t srv = 1800000000000ull, min = 60000;

    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_int_equal(node_store_clock_warning(&st, srv, msg, sizeof msg), 0); /* never synced */
    assert_int_equal(node_store_observe_server(f->ns, srv, srv + 2 * min, &err), 0);
    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_int_equal(st.last_server_ms, srv);
    assert_true(st.hlc_last > hlc_make(srv, 0));
    assert_int_equal(node_store_clock_warning(&st, srv + 5 * min, msg, sizeof msg), 0);
    /* Now 11 minutes before the server time last seen. */
    assert_int_equal(node_store_clock_warning(&st, srv - 11 * min, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "behind"));
    assert_non_null(strstr(msg, "fix the date/time"));
    /* An offset above 10 minutes measured at the sync, either way. */
    assert_int_equal(node_store_observe_server(f->ns, srv, srv + 3 * 60 * min, &err), 0);
    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_int_equal(node_store_clock_warning(&st, srv, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "3 h 0 min"));
    assert_non_null(strstr(msg, "ahead"));
    assert_int_equal(node_store_observe_server(f->ns, srv, srv - 11 * min, &err), 0);
    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_int_equal(node_store_clock_warning(&st, srv + min, msg, sizeof msg), 1);
}

static void
test_clock_entry_and_receipt(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("R", RZ_G_MALE);
    node_store_status st;
    node_receipt r;
    uint8_t id[16], h[RZ_HASH_BYTES];
    uint64_t seq = 0;

    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_false(st.head_is_clock);
    assert_int_equal(node_store_append_clock(f->ns, 1800000000000ull, 1800000000100ull, &seq, &err),
                     0);
    assert_int_equal(seq, 2);
    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_true(st.head_is_clock);
    assert_int_equal(st.pending, 2);
    assert_int_equal(node_store_hash_at(f->ns, 2, h, &err), 0);
    assert_memory_equal(h, st.head_hash, RZ_HASH_BYTES);
    assert_int_equal(node_store_hash_at(f->ns, 3, h, &err), RZ_E_NOTFOUND);

    memset(&r, 0, sizeof r);
    r.first_seq = 1, r.last_seq = 2, r.server_ms = 1800000000500ull;
    memcpy(r.head, st.head_hash, RZ_HASH_BYTES);
    assert_int_equal(node_store_record_receipt(f->ns, &r, 1800000000600ull, &err), 0);
    /* A re-acknowledgement of an older range never moves acked_seq back. */
    r.last_seq = 1;
    assert_int_equal(node_store_record_receipt(f->ns, &r, 1800000000600ull, &err), 0);
    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_int_equal(st.acked_seq, 2);
    assert_int_equal(st.pending, 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM receipts"), 2);
    check_log(f, NULL, NULL);
}

/* Collects rows read by node_store_read_entries. */
typedef struct read_ctx {
    uint64_t seqs[16]; /* sequence numbers seen */
    size_t bytes[16];  /* their reveal_bytes */
    int n;             /* how many */
    int stop_after;    /* NODE_STOP when this many were taken */
} read_ctx;

static int
take_row(void *ctx, uint64_t seq, uint32_t epoch, const uint8_t hash[RZ_HASH_BYTES],
         const uint8_t *entry, size_t len, size_t reveal_bytes)
{
    read_ctx *c = ctx;
    (void)epoch, (void)hash, (void)entry, (void)len;
    if (c->n == c->stop_after)
        return NODE_STOP;
    c->bytes[c->n] = reveal_bytes;
    c->seqs[c->n++] = seq;
    return 0;
}

static void
test_read_entries_streams(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("S", RZ_G_MALE);
    node_event ev = event("no personal values");
    read_ctx c;
    uint8_t id[16];
    char sql[160];
    int i;
    for (i = 0; i < 10; i++) {
        /* Entries 5 and 6 are events; names of growing length elsewhere. */
        if (i == 4 || i == 5) {
            assert_int_equal(node_store_event_add(f->ns, &ev, id, &err), 0);
            continue;
        }
        p.name = i % 2 ? "Sana" : "Sana Bibi Khan";
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    }
    memset(&c, 0, sizeof c);
    c.stop_after = 100;
    assert_int_equal(node_store_read_entries(f->ns, 4, 5, take_row, &c, &err), 0);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.seqs[0], 4);
    assert_int_equal(c.seqs[4], 8);
    /* Each entry's personal values with their overhead, none for events. */
    for (i = 0; i < c.n; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) * 40 + coalesce(sum(length(value)), 0) FROM pii WHERE seq = %llu",
                 (unsigned long long)c.seqs[i]);
        assert_int_equal(c.bytes[i], count_rows(f, sql));
    }
    assert_int_equal(c.bytes[1], 0);
    assert_int_equal(c.bytes[2], 0);
    assert_true(c.bytes[0] > 40 && c.bytes[3] > 40 && c.bytes[0] != c.bytes[3]);
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    assert_int_equal(node_store_read_entries(f->ns, 9, 100, take_row, &c, &err), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.seqs[1], 10);
}

static void
test_rebase_moves_unreceipted_entries(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("Rebased", RZ_G_FEMALE);
    node_rebase_result rr;
    node_store_status st;
    node_receipt r;
    uint8_t id[16], base[RZ_HASH_BYTES], h[RZ_HASH_BYTES], prev[RZ_HASH_BYTES];
    uint8_t *old[5];
    size_t oldlen[5];
    sqlite3 *db;
    sqlite3_stmt *q = NULL;
    int i;

    for (i = 0; i < 5; i++)
        assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    memset(&r, 0, sizeof r);
    r.first_seq = 1, r.last_seq = 2;
    assert_int_equal(node_store_record_receipt(f->ns, &r, 0, &err), 0);
    /* Keep the original entry bytes. */
    db = raw_db(f);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT entry FROM log ORDER BY seq", -1, &q, NULL),
                     SQLITE_OK);
    for (i = 0; i < 5; i++) {
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        oldlen[i] = (size_t)sqlite3_column_bytes(q, 0);
        old[i] = malloc(oldlen[i]);
        memcpy(old[i], sqlite3_column_blob(q, 0), oldlen[i]);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);

    randombytes_buf(base, sizeof base);
    assert_int_equal(node_store_rebase(f->ns, 0, 4, base, &rr, &err), RZ_E_EPOCH);
    /* The server holds 4 entries (2 of them a lost timeline of ours). */
    assert_int_equal(node_store_rebase(f->ns, 1, 4, base, &rr, &err), 0);
    assert_int_equal(rr.moved, 3);
    assert_int_equal(rr.first_seq, 5);
    assert_int_equal(rr.last_seq, 7);
    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_int_equal(st.epoch, 1);
    assert_int_equal(st.head_seq, 7);
    assert_int_equal(st.acked_seq, 2);
    assert_int_equal(st.pending, 3);
    assert_int_equal(node_store_hash_at(f->ns, 4, h, &err), 0);
    assert_memory_equal(h, base, RZ_HASH_BYTES);
    assert_int_equal(node_store_hash_at(f->ns, 3, h, &err), RZ_E_NOTFOUND);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM log_archive"), 3);

    /* Same bytes, new epoch, chained from the server's head; the personal
     * values followed their entries. */
    db = raw_db(f);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT seq, epoch, hash, entry,"
                                        " (SELECT count(*) FROM pii WHERE pii.seq = log.seq)"
                                        " FROM log WHERE seq > 2 ORDER BY seq",
                                        -1, &q, NULL),
                     SQLITE_OK);
    memcpy(prev, base, sizeof prev);
    for (i = 0; i < 3; i++) {
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(q, 0), 5 + i);
        assert_int_equal(sqlite3_column_int64(q, 1), 1);
        assert_int_equal((size_t)sqlite3_column_bytes(q, 3), oldlen[2 + i]);
        assert_memory_equal(sqlite3_column_blob(q, 3), old[2 + i], oldlen[2 + i]);
        chain_hash(h, node_store_node_id(f->ns), 1, (uint64_t)(5 + i), prev, old[2 + i],
                   oldlen[2 + i]);
        assert_memory_equal(h, sqlite3_column_blob(q, 2), RZ_HASH_BYTES);
        memcpy(prev, h, sizeof prev);
        assert_int_equal(sqlite3_column_int64(q, 4), 1); /* the name's reveal */
    }
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM pii WHERE seq < 0 OR seq IN (3, 4)"), 0);
    /* Recording continues the new chain. */
    assert_int_equal(node_store_person_add(f->ns, &p, id, &err), 0);
    assert_int_equal(node_store_get_status(f->ns, &st, &err), 0);
    assert_int_equal(st.head_seq, 8);
    for (i = 0; i < 5; i++)
        free(old[i]);
}

/* What the audit reader returned, newest first. */
typedef struct audit_seen {
    int n;                        /* rows */
    uint64_t seq[16];             /* their seqs */
    char actor[16][64];           /* their actors */
    uint8_t table[16];            /* their tables */
    uint8_t op[16];               /* their ops */
    char code[16][NODE_CODE_MAX]; /* first code of the key */
} audit_seen;

static int
audit_collect(void *ctx, const node_audit_row *r)
{
    audit_seen *a = ctx;
    if (a->n < 16) {
        a->seq[a->n] = r->seq;
        snprintf(a->actor[a->n], 64, "%s", r->actor);
        a->table[a->n] = r->table;
        a->op[a->n] = r->op;
        snprintf(a->code[a->n], NODE_CODE_MAX, "%s", r->code[0]);
        a->n++;
    }
    return 0;
}

static void
test_audit_trail_actor(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("Audited", RZ_G_MALE);
    node_event ev = event("Audited event");
    node_rebase_result rr;
    node_receipt r;
    audit_seen a;
    uint8_t pid[16], eid[16], base[RZ_HASH_BYTES];
    char code[NODE_CODE_MAX];
    char long_name[NODE_ACTOR_MAX + 1];

    assert_string_equal(node_store_actor(f->ns), "");
    assert_int_equal(node_store_person_add(f->ns, &p, pid, &err), 0); /* seq 1: no actor */
    assert_int_equal(node_store_set_actor(f->ns, "staff:amina", &err), 0);
    assert_int_equal(node_store_event_add(f->ns, &ev, eid, &err), 0); /* 2 */
    assert_int_equal(node_store_attend(f->ns, eid, pid, 1, &err), 0); /* 3 */
    assert_int_equal(node_store_set_actor(f->ns, "os:root", &err), 0);
    assert_int_equal(node_store_set_deleted(f->ns, RZ_T_PERSON, pid, 16, 1, &err), 0); /* 4 */
    /* Refused actors leave the last one set. */
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(node_store_set_actor(f->ns, long_name, &err), RZ_E_ARG);
    assert_int_equal(node_store_set_actor(f->ns, "bad\nname", &err), RZ_E_ARG);
    assert_string_equal(node_store_actor(f->ns), "os:root");

    memset(&a, 0, sizeof a);
    assert_int_equal(node_store_audit_each(f->ns, 0, 10, audit_collect, &a, &err), 0);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.seq[0], 4);
    assert_string_equal(a.actor[0], "os:root");
    assert_int_equal(a.op[0], RZ_OP_DELETE);
    assert_int_equal(node_store_code(f->ns, pid, code, &err), 0);
    assert_string_equal(a.code[0], code);
    assert_string_equal(a.actor[1], "staff:amina");
    assert_int_equal(a.table[1], RZ_T_ATTENDANCE);
    assert_string_equal(a.actor[2], "staff:amina");
    assert_int_equal(a.table[2], RZ_T_EVENT);
    assert_string_equal(a.actor[3], ""); /* made before an actor was set */
    /* Paging: below seq 3, at most 1. */
    memset(&a, 0, sizeof a);
    assert_int_equal(node_store_audit_each(f->ns, 3, 1, audit_collect, &a, &err), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.seq[0], 2);
    /* Nothing of it is in the log entries. */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM log WHERE instr(entry, 'amina') > 0"), 0);

    /* A rebase renumbers the entries: their actors follow them. */
    memset(&r, 0, sizeof r);
    r.first_seq = 1, r.last_seq = 1;
    assert_int_equal(node_store_record_receipt(f->ns, &r, 0, &err), 0);
    randombytes_buf(base, sizeof base);
    assert_int_equal(node_store_rebase(f->ns, 1, 10, base, &rr, &err), 0);
    assert_int_equal(rr.first_seq, 11);
    memset(&a, 0, sizeof a);
    assert_int_equal(node_store_audit_each(f->ns, 0, 10, audit_collect, &a, &err), 0);
    assert_int_equal(a.n, 4);
    assert_int_equal(a.seq[0], 13);
    assert_string_equal(a.actor[0], "os:root");
    assert_int_equal(a.seq[2], 11);
    assert_string_equal(a.actor[2], "staff:amina");
    assert_int_equal(a.seq[3], 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM audit"), 3);
}

/* A node.db made before the side tables existed gets them at its next
 * open, its records numbered in order of creation, new ones after them. */
static void
test_side_tables_added_to_an_older_database(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    node_person p = person("Old", RZ_G_FEMALE);
    node_event ev = event("Old event");
    uint8_t a[16], b[16], e[16], c[16];
    char code[NODE_CODE_MAX], want[NODE_CODE_MAX];

    assert_int_equal(node_store_person_add(f->ns, &p, a, &err), 0);
    assert_int_equal(node_store_event_add(f->ns, &ev, e, &err), 0);
    assert_int_equal(node_store_person_add(f->ns, &p, b, &err), 0);
    node_store_destroy(&f->ns);
    raw_exec(f, "DROP TABLE short_code; DROP TABLE audit; DROP TABLE import_row;"
                " DROP INDEX person_by_cnic; DROP INDEX person_by_phone;"
                " DROP INDEX person_by_name_year; DROP INDEX event_by_date;");
    assert_int_equal(node_store_open(f->node, &f->ns, &err), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM sqlite_master WHERE name IN"
                                   " ('short_code', 'audit', 'import_row', 'person_by_cnic',"
                                   " 'person_by_phone', 'person_by_name_year', 'event_by_date')"),
                     7);
    assert_int_equal(node_store_code(f->ns, a, code, &err), 0);
    node_code_format(want, 1);
    assert_string_equal(code, want);
    assert_int_equal(node_store_code(f->ns, e, code, &err), 0);
    node_code_format(want, 2);
    assert_string_equal(code, want);
    assert_int_equal(node_store_code(f->ns, b, code, &err), 0);
    node_code_format(want, 3);
    assert_string_equal(code, want);
    assert_int_equal(node_store_person_add(f->ns, &p, c, &err), 0);
    assert_int_equal(node_store_code(f->ns, c, code, &err), 0);
    node_code_format(want, 4);
    assert_string_equal(code, want);
    /* A second open changes nothing. */
    node_store_destroy(&f->ns);
    assert_int_equal(node_store_open(f->node, &f->ns, &err), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM short_code"), 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_chain_and_commitments, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_valid_cnic_is_normalised, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ids_are_clock_and_node, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_clock_stuck_or_backwards, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_leaves_nothing, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_transaction_all_or_nothing, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_known_live_ids_never_outlive_the_truth, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_refuses_existing_and_key_mode, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_clock_warning_rule, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_clock_entry_and_receipt, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_entries_streams, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_rebase_moves_unreceipted_entries, setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_audit_trail_actor, setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_side_tables_added_to_an_older_database, setup,
                                        node_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
