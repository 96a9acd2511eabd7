/*
 * test_state_store: server/state_store.c's checkpoints behind the writer
 * (state_store_checkpoint_behind).  A writer commits transactions of about
 * 40 pages each while the store's own thread copies the WAL back: the WAL
 * file never grows past its cap plus two transactions (the writer waits
 * for a full copy once it is over the cap, so the WAL starts again), every
 * committed row is there for a reader during the run and after the store
 * is closed and opened again, and the file passes SQLite's integrity check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/db.h"
#include "server/state_store.h"

#define CAP_FRAMES 200 /* WAL cap of the test */
#define TXNS 400       /* transactions written */
#define ROWS_PER_TXN 10
#define BLOB_BYTES 12000 /* three overflow pages and more per row */

static long
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static int64_t
count_rows(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    rz_error err;
    assert_int_equal(rz_db_prepare(db, &st, "SELECT count(*) FROM t", &err), 0);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void
test_wal_bounded_and_state_complete(void **state)
{
    char dir[] = "/tmp/rz-test-state-XXXXXX", path[128], wal[160];
    state_store *s = NULL;
    sqlite3 *reader = NULL, *db;
    sqlite3_stmt *ins = NULL, *chk = NULL;
    unsigned char *blob = malloc(BLOB_BYTES);
    long wal_max = 0, bound;
    rz_error err;
    int i, j;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_int_equal(state_store_open_path(&s, path, &err), 0);
    assert_int_equal(state_store_checkpoint_behind(s, CAP_FRAMES, &err), 0);
    db = state_store_db(s);
    assert_int_equal(rz_db_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, b BLOB)", &err), 0);
    assert_int_equal(rz_db_prepare(db, &ins, "INSERT INTO t(k, b) VALUES(?1, ?2)", &err), 0);
    assert_int_equal(rz_db_open(&reader, path, DB_READONLY, &err), 0);

    for (i = 0; i < TXNS; i++) {
        assert_int_equal(state_store_begin(s, &err), 0);
        for (j = 0; j < ROWS_PER_TXN; j++) {
            memset(blob, (i * 31 + j) & 0xff, BLOB_BYTES);
            sqlite3_bind_int64(ins, 1, (int64_t)i * ROWS_PER_TXN + j);
            sqlite3_bind_blob(ins, 2, blob, BLOB_BYTES, SQLITE_STATIC);
            assert_int_equal(rz_db_step_done(db, ins, &err), 0);
        }
        assert_int_equal(state_store_commit(s, &err), 0);
        if (file_size(wal) > wal_max)
            wal_max = file_size(wal);
        /* A reader sees every commit at once, checkpointed or not. */
        if (i % 50 == 49)
            assert_int_equal(count_rows(reader), (int64_t)(i + 1) * ROWS_PER_TXN);
    }
    /* Cap, plus the transaction that crossed it, plus one in flight; a
     * transaction is about ROWS_PER_TXN * 4 pages.  Frames are a page plus
     * a 24-byte header. */
    bound = (long)(CAP_FRAMES + 2 * ROWS_PER_TXN * 5) * (4096 + 24) + 32;
    printf("WAL high-water mark %ld bytes over %d transactions of %d pages (bound %ld, all "
           "written: %ld)\n",
           wal_max, TXNS, ROWS_PER_TXN * 3, bound, (long)TXNS * ROWS_PER_TXN * 3 * 4120);
    assert_true(wal_max > 0);
    assert_true(wal_max <= bound);

    sqlite3_finalize(ins);
    rz_db_close(&reader);
    state_store_close(&s);
    assert_null(s);

    /* Closed and opened again: everything committed is in the file. */
    assert_int_equal(rz_db_open(&reader, path, DB_READONLY, &err), 0);
    assert_int_equal(count_rows(reader), (int64_t)TXNS * ROWS_PER_TXN);
    assert_int_equal(rz_db_prepare(reader, &chk, "PRAGMA integrity_check", &err), 0);
    assert_int_equal(sqlite3_step(chk), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(chk, 0), "ok");
    sqlite3_finalize(chk);
    rz_db_close(&reader);

    free(blob);
    unlink(path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
}

/* Closing without a commit, and asking twice, are harmless. */
static void
test_close_idle(void **state)
{
    char dir[] = "/tmp/rz-test-state-XXXXXX", path[128];
    state_store *s = NULL;
    rz_error err;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    assert_int_equal(state_store_open_path(&s, path, &err), 0);
    assert_int_equal(state_store_checkpoint_behind(s, 0, &err), 0);
    assert_int_equal(state_store_checkpoint_behind(s, 0, &err), 0);
    state_store_close(&s);
    assert_null(s);
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_bounded_and_state_complete),
        cmocka_unit_test(test_close_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
