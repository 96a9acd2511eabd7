/*
 * test_log_store: server/log_store.c, the log kept as batch rows (schema 3).
 * Appends batches of entries of every size class (bin8, bin16 headers),
 * then reads every entry back through each per-entry access the protocol
 * uses: the chain hash at every sequence number (row heads and inside
 * rows), scans across row boundaries, clock look-ups, an import's closing,
 * the audit walk, erasure's search.  Refuses appends that would not
 * continue the log, finds damaged rows, and upgrades a schema-2 file (one
 * row per entry) in place with every entry, hash and clock kept; a newer
 * file is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/db.h"
#include "server/log_store.h"

#define N_ENTRIES 40 /* entries of the test log */

typedef struct fx {
    char dir[64];                               /* temporary directory */
    char path[128];                             /* its server.db */
    log_store *s;                               /* the store */
    uint8_t node[RZ_NODE_ID_BYTES];             /* the enrolled node */
    rz_identity id;                             /* its key */
    uint8_t *entry[N_ENTRIES + 1];              /* entry seq (1-based) */
    size_t len[N_ENTRIES + 1];                  /* its length */
    uint8_t hash[N_ENTRIES + 1][RZ_HASH_BYTES]; /* chain hash at seq (0: zeros) */
    int64_t clock[N_ENTRIES + 1];               /* server time of a clock entry, -1 */
} fx;

/* Entry seq: bytes that tell it apart, some longer than 255 (bin16). */
static void
fx_make(fx *f)
{
    uint64_t seq;
    memset(f->hash[0], 0, RZ_HASH_BYTES);
    for (seq = 1; seq <= N_ENTRIES; seq++) {
        size_t n = seq % 7 == 0 ? 300 + seq : 20 + seq % 11, i;
        f->entry[seq] = malloc(n);
        for (i = 0; i < n; i++)
            f->entry[seq][i] = (uint8_t)(seq * 31 + i);
        memcpy(f->entry[seq], "ENTRY", 5);
        f->entry[seq][5] = (uint8_t)seq;
        f->len[seq] = n;
        chain_hash(f->hash[seq], f->node, 0, seq, f->hash[seq - 1], f->entry[seq], n);
        f->clock[seq] = seq % 10 == 3 ? (int64_t)(1000 * seq) : -1;
    }
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    rz_error err = {0, ""};
    assert_int_equal(crypto_init(), 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/rz-test-ls.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/server.db", f->dir);
    assert_int_equal(log_store_open_path(&f->s, f->path, &err), 0);
    identity_generate(&f->id);
    memcpy(f->node, f->id.pk, RZ_NODE_ID_BYTES);
    assert_int_equal(
        log_store_enroll(f->s, f->node, f->id.pk, "Centre A", 0, "Punjab", "Lahore", &err), 0);
    fx_make(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    char cmd[256];
    int i;
    log_store_close(&f->s);
    for (i = 1; i <= N_ENTRIES; i++)
        free(f->entry[i]);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    identity_wipe(&f->id);
    free(f);
    return 0;
}

/* Appends entries first..last as one batch, as ingest would; prev NULL
 * lets the store look the previous hash up. */
static int
fx_append(fx *f, uint64_t first, uint64_t last, int give_prev, rz_error *err)
{
    const uint8_t *ents[N_ENTRIES];
    size_t lens[N_ENTRIES], i, n = (size_t)(last - first + 1);
    uint8_t hashes[N_ENTRIES][RZ_HASH_BYTES], sig[RZ_SIG_BYTES];
    int64_t clocks[N_ENTRIES];
    log_batch b;
    int rc;
    for (i = 0; i < n; i++) {
        ents[i] = f->entry[first + i];
        lens[i] = f->len[first + i];
        memcpy(hashes[i], f->hash[first + i], RZ_HASH_BYTES);
        clocks[i] = f->clock[first + i];
    }
    batch_sign(sig, &f->id, f->node, 0, last, f->hash[last]);
    memset(&b, 0, sizeof b);
    b.node_id = f->node;
    b.first_seq = first;
    b.n = n;
    b.entry = ents;
    b.entry_len = lens;
    b.hash = (const uint8_t(*)[RZ_HASH_BYTES])hashes;
    b.prev = give_prev ? f->hash[first - 1] : NULL;
    b.clock_ms = clocks;
    b.sig_first_seq = first;
    b.sig_last_seq = last;
    b.sig = sig;
    b.sign_pk = f->id.pk;
    if ((rc = log_store_begin(f->s, err)))
        return rc;
    if ((rc = log_store_append_batch(f->s, &b, err)) == 0)
        return log_store_commit(f->s, err);
    log_store_rollback(f->s);
    return rc;
}

/* The test log: rows 1..1, 2..9, 10..10, 11..25 (prev looked up), 26..40. */
static void
fx_fill(fx *f)
{
    rz_error err = {0, ""};
    assert_int_equal(fx_append(f, 1, 1, 1, &err), 0);
    assert_int_equal(fx_append(f, 2, 9, 1, &err), 0);
    assert_int_equal(fx_append(f, 10, 10, 1, &err), 0);
    assert_int_equal(fx_append(f, 11, 25, 0, &err), 0);
    assert_int_equal(fx_append(f, 26, 40, 1, &err), 0);
}

static int64_t
fx_count(fx *f, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    assert_int_equal(sqlite3_prepare_v2(log_store_db(f->s), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Scan callback: checks each entry against the fixture, in order. */
typedef struct scan_seen {
    fx *f;         /* the fixture */
    uint64_t next; /* the sequence number expected */
    uint64_t stop; /* return 7 at this one (0: never) */
} scan_seen;

static int
scan_check(uint64_t seq, const uint8_t *entry, size_t len, void *arg)
{
    scan_seen *w = arg;
    assert_int_equal(seq, w->next);
    assert_int_equal(len, w->f->len[seq]);
    assert_memory_equal(entry, w->f->entry[seq], len);
    w->next++;
    return seq == w->stop ? 7 : 0;
}

static void
check_log(fx *f)
{
    static const uint64_t ranges[][2] = {{1, 40},  {1, 1},   {2, 9},   {5, 12},  {9, 10},
                                         {10, 26}, {24, 24}, {25, 26}, {40, 40}, {30, 99}};
    rz_error err = {0, ""};
    uint8_t h[RZ_HASH_BYTES];
    uint64_t seq, cseq, cms;
    size_t i;
    for (seq = 1; seq <= N_ENTRIES; seq++) {
        assert_int_equal(log_store_hash_at(f->s, f->node, seq, h, &err), 0);
        assert_memory_equal(h, f->hash[seq], RZ_HASH_BYTES);
    }
    assert_int_equal(log_store_hash_at(f->s, f->node, 0, h, &err), RZ_E_NOTFOUND);
    assert_int_equal(log_store_hash_at(f->s, f->node, 41, h, &err), RZ_E_NOTFOUND);
    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        scan_seen w = {f, ranges[i][0], 0};
        uint64_t to = ranges[i][1] > N_ENTRIES ? N_ENTRIES : ranges[i][1];
        assert_int_equal(
            log_store_scan(f->s, f->node, ranges[i][0], ranges[i][1], scan_check, &w, &err), 0);
        assert_int_equal(w.next, to + 1);
    }
    {
        scan_seen w = {f, 41, 0};
        assert_int_equal(log_store_scan(f->s, f->node, 41, 50, scan_check, &w, &err), 0);
        assert_int_equal(w.next, 41);
    }
    {
        /* A callback's non-zero return stops the scan and is returned. */
        scan_seen w = {f, 3, 12};
        assert_int_equal(log_store_scan(f->s, f->node, 3, 40, scan_check, &w, &err), 7);
        assert_int_equal(w.next, 13);
    }
    /* Clock entries at 3, 13, 23, 33. */
    assert_int_equal(log_store_next_clock(f->s, f->node, 0, 40, &cseq, &cms, &err), 0);
    assert_int_equal(cseq, 3);
    assert_int_equal(cms, 3000);
    assert_int_equal(log_store_next_clock(f->s, f->node, 3, 40, &cseq, &cms, &err), 0);
    assert_int_equal(cseq, 13);
    assert_int_equal(log_store_next_clock(f->s, f->node, 13, 22, &cseq, &cms, &err), 0);
    assert_int_equal(cseq, 0);
    assert_int_equal(log_store_last_clock(f->s, f->node, 32, &cseq, &err), 0);
    assert_int_equal(cseq, 23);
    assert_int_equal(log_store_last_clock(f->s, f->node, 2, &cseq, &err), 0);
    assert_int_equal(cseq, 0);
}

static void
test_append_and_read(void **state)
{
    fx *f = *state;
    fx_fill(f);
    assert_int_equal(fx_count(f, "SELECT count(*) FROM log_batch"), 5);
    assert_int_equal(fx_count(f, "SELECT count(*) FROM log_clock"), 4);
    check_log(f);
}

static void
test_append_must_continue(void **state)
{
    fx *f = *state;
    rz_error err = {0, ""};
    assert_int_equal(fx_append(f, 2, 5, 1, &err), RZ_E_CHAIN); /* nothing stored yet */
    assert_int_equal(fx_append(f, 1, 5, 1, &err), 0);
    assert_int_equal(fx_append(f, 1, 5, 1, &err), RZ_E_CHAIN); /* stored twice */
    assert_int_equal(fx_append(f, 3, 8, 1, &err), RZ_E_CHAIN); /* overlap */
    assert_int_equal(fx_append(f, 7, 8, 1, &err), RZ_E_CHAIN); /* gap */
    assert_int_equal(fx_count(f, "SELECT count(*) FROM log_batch"), 1);
    assert_int_equal(fx_count(f, "SELECT count(*) FROM log_clock"), 1);
    assert_int_equal(fx_count(f, "SELECT count(*) FROM batch_sig"), 1);
}

static void
test_close_import(void **state)
{
    fx *f = *state;
    rz_error err = {0, ""};
    uint64_t cseq, cms;
    int closed = -1;
    assert_int_equal(fx_append(f, 1, 2, 1, &err), 0);
    assert_int_equal(log_store_begin(f->s, &err), 0);
    assert_int_equal(log_store_close_import(f->s, f->node, 2, 2, 5555, &closed, &err), 0);
    assert_int_equal(closed, 1);
    assert_int_equal(log_store_commit(f->s, &err), 0);
    assert_int_equal(log_store_next_clock(f->s, f->node, 0, 2, &cseq, &cms, &err), 0);
    assert_int_equal(cseq, 2);
    assert_int_equal(cms, 5555);
    /* Already closed: nothing changes. */
    assert_int_equal(log_store_close_import(f->s, f->node, 1, 2, 6666, &closed, &err), 0);
    assert_int_equal(closed, 0);
    assert_int_equal(log_store_close_import(f->s, f->node, 3, 2, 6666, &closed, &err), RZ_E_ARG);
    /* The entries themselves are as they were signed. */
    {
        scan_seen w = {f, 1, 0};
        assert_int_equal(log_store_scan(f->s, f->node, 1, 2, scan_check, &w, &err), 0);
        assert_int_equal(w.next, 3);
    }
}

/* Audit callback: collects the recomputed chain. */
typedef struct chain_seen {
    fx *f;         /* the fixture */
    uint64_t next; /* expected sequence number */
} chain_seen;

static int
chain_check(uint64_t seq, uint32_t epoch, const uint8_t hash[RZ_HASH_BYTES], void *arg)
{
    chain_seen *w = arg;
    assert_int_equal(seq, w->next);
    assert_int_equal(epoch, 0);
    assert_memory_equal(hash, w->f->hash[seq], RZ_HASH_BYTES);
    w->next++;
    return 0;
}

static void
test_chain_and_damage(void **state)
{
    fx *f = *state;
    rz_error err = {0, ""};
    chain_seen w = {f, 1};
    uint8_t h[RZ_HASH_BYTES];
    fx_fill(f);
    assert_int_equal(log_store_chain(f->s, f->node, chain_check, &w, &err), 0);
    assert_int_equal(w.next, N_ENTRIES + 1);
    /* A stored head that is not the chain's is found by the audit. */
    assert_int_equal(rz_db_exec(log_store_db(f->s),
                                "UPDATE log_batch SET head = zeroblob(32) WHERE last_seq = 9",
                                &err),
                     0);
    w.next = 1;
    assert_int_equal(log_store_chain(f->s, f->node, chain_check, &w, &err), RZ_E_CHAIN);
    assert_non_null(strstr(err.text, "entry 9"));
    /* Entries that do not parse are reported as damage, not read past. */
    assert_int_equal(
        rz_db_exec(log_store_db(f->s),
                   "UPDATE log_batch SET entries = substr(entries, 1, 30) WHERE last_seq = 25",
                   &err),
        0);
    assert_int_equal(log_store_hash_at(f->s, f->node, 20, h, &err), RZ_E_IO);
    assert_non_null(strstr(err.text, "damaged"));
    {
        scan_seen sw = {f, 26, 0};
        assert_int_equal(log_store_scan(f->s, f->node, 26, 40, scan_check, &sw, &err), 0);
        sw.next = 10;
        assert_int_equal(log_store_scan(f->s, f->node, 10, 40, scan_check, &sw, &err), RZ_E_IO);
    }
}

/* Erasure's search callback: records the sequence numbers found. */
typedef struct grep_seen {
    fx *f;           /* the fixture */
    uint64_t seq[8]; /* found */
    size_t n;        /* how many */
} grep_seen;

static int
grep_found(const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq, const uint8_t *entry, size_t len,
           void *arg)
{
    grep_seen *g = arg;
    assert_memory_equal(node_id, g->f->node, RZ_NODE_ID_BYTES);
    assert_int_equal(len, g->f->len[seq]);
    assert_memory_equal(entry, g->f->entry[seq], len);
    assert_true(g->n < 8);
    g->seq[g->n++] = seq;
    return 0;
}

static void
test_grep(void **state)
{
    fx *f = *state;
    rz_error err = {0, ""};
    grep_seen g;
    uint8_t pat[6] = {'E', 'N', 'T', 'R', 'Y', 14};
    fx_fill(f);
    memset(&g, 0, sizeof g);
    g.f = f;
    assert_int_equal(log_store_grep(f->s, pat, sizeof pat, grep_found, &g, &err), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.seq[0], 14);
    pat[5] = 99;
    g.n = 0;
    assert_int_equal(log_store_grep(f->s, pat, sizeof pat, grep_found, &g, &err), 0);
    assert_int_equal(g.n, 0);
}

/* Rewrites the fixture's file as schema 2 had it: one row per entry in
 * log, clock times in its column, batch signatures at 9, 25 and 40. */
static void
fx_write_v2(fx *f)
{
    rz_error err = {0, ""};
    sqlite3 *db = log_store_db(f->s);
    sqlite3_stmt *st = NULL;
    uint64_t seq;
    assert_int_equal(
        rz_db_exec(db,
                   "CREATE TABLE log(node_id BLOB NOT NULL, seq INTEGER NOT NULL,"
                   " epoch INTEGER NOT NULL, hash BLOB NOT NULL, clock_ms INTEGER,"
                   " entry BLOB NOT NULL, PRIMARY KEY(node_id, seq)) WITHOUT ROWID;"
                   "CREATE INDEX log_clocks ON log(node_id, seq, clock_ms)"
                   " WHERE clock_ms IS NOT NULL;"
                   "DROP TABLE log_batch; DROP TABLE log_clock; DELETE FROM batch_sig;",
                   &err),
        0);
    assert_int_equal(
        sqlite3_prepare_v2(db, "INSERT INTO log VALUES(?1, ?2, 0, ?3, ?4, ?5)", -1, &st, NULL),
        SQLITE_OK);
    for (seq = 1; seq <= N_ENTRIES; seq++) {
        sqlite3_bind_blob(st, 1, f->node, RZ_NODE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)seq);
        sqlite3_bind_blob(st, 3, f->hash[seq], RZ_HASH_BYTES, SQLITE_STATIC);
        if (f->clock[seq] >= 0)
            sqlite3_bind_int64(st, 4, f->clock[seq]);
        else
            sqlite3_bind_null(st, 4);
        sqlite3_bind_blob(st, 5, f->entry[seq], (int)f->len[seq], SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    assert_int_equal(rz_db_exec(db,
                                "INSERT INTO batch_sig SELECT node_id, seq, 1, 0, zeroblob(64),"
                                " zeroblob(32) FROM log WHERE seq IN (9, 25, 40);"
                                "UPDATE node SET head_seq = 40; PRAGMA user_version = 2;",
                                &err),
                     0);
}

static void
test_upgrade_from_v2(void **state)
{
    fx *f = *state;
    rz_error err = {0, ""};
    chain_seen w = {f, 1};
    fx_write_v2(f);
    log_store_close(&f->s);
    assert_int_equal(log_store_open_path(&f->s, f->path, &err), 0);
    assert_int_equal(fx_count(f, "PRAGMA user_version"), 3);
    assert_int_equal(fx_count(f, "SELECT count(*) FROM sqlite_master WHERE name = 'log'"), 0);
    /* Rows end where the signed batches ended. */
    assert_int_equal(fx_count(f, "SELECT count(*) FROM log_batch"), 3);
    assert_int_equal(fx_count(f, "SELECT count(*) FROM log_batch WHERE last_seq IN (9, 25, 40)"),
                     3);
    assert_int_equal(fx_count(f, "SELECT count(*) FROM log_clock"), 4);
    check_log(f);
    assert_int_equal(log_store_chain(f->s, f->node, chain_check, &w, &err), 0);
    assert_int_equal(w.next, N_ENTRIES + 1);
    /* Upgraded once: reopening changes nothing. */
    log_store_close(&f->s);
    assert_int_equal(log_store_open_path(&f->s, f->path, &err), 0);
    assert_int_equal(fx_count(f, "SELECT count(*) FROM log_batch"), 3);
    check_log(f);
}

static void
test_newer_schema_refused(void **state)
{
    fx *f = *state;
    rz_error err = {0, ""};
    assert_int_equal(rz_db_exec(log_store_db(f->s), "PRAGMA user_version = 4", &err), 0);
    log_store_close(&f->s);
    assert_int_equal(log_store_open_path(&f->s, f->path, &err), RZ_E_VERSION);
    assert_non_null(strstr(err.text, "newer rozgar-server"));
    assert_null(f->s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_must_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_and_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
