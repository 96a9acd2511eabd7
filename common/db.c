/* db: SQLite open/exec/prepare/transaction helpers; see db.h. */
#include "common/db.h"

#include <pthread.h>

/* SQLite's allocation statistics take a global mutex and bookkeeping on
 * every malloc (this build has no lookaside, so every cursor and key a
 * statement makes is a malloc): about 100 of the 220 instructions of each,
 * and some 16 mallocs per merged entry.  Nothing here reads
 * the statistics (sqlite3_memory_used, heap limits), so they are off, once,
 * before SQLite initialises. */
static pthread_once_t db_once = PTHREAD_ONCE_INIT;

static void
db_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); /* SQLITE_MISUSE if already initialised */
}

int
rz_db_fail(sqlite3 *db, rz_error *err, const char *what)
{
    int ec = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
    int primary = ec & 0xff;
    int code = (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_BUSY ||
                primary == SQLITE_LOCKED || primary == SQLITE_NOMEM)
                   ? RZ_E_BUSY
                   : RZ_E_IO;
    return rz_fail(err, code, "%s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

int
rz_db_open(sqlite3 **db, const char *path, int mode, rz_error *err)
{
    int flags =
        mode == DB_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    *db = NULL;
    pthread_once(&db_once, db_configure);
    if (sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        int rc = rz_fail(err, RZ_E_IO, "%s: %s", path, *db ? sqlite3_errmsg(*db) : "open");
        rz_db_close(db);
        return rc;
    }
    sqlite3_busy_timeout(*db, RZ_DB_BUSY_MS);
    sqlite3_extended_result_codes(*db, 1);
    if (mode == DB_READONLY)
        return rz_db_exec(*db, "PRAGMA query_only=1;", err);
    return rz_db_exec(*db,
                      "PRAGMA journal_mode=WAL;"
                      "PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=OFF;"
                      "PRAGMA cache_size=-65536;"
                      "PRAGMA temp_store=MEMORY;"
                      /* A long merge can grow the WAL far past its checkpoint
                       * size; once a checkpoint resets it, give the disk back. */
                      "PRAGMA journal_size_limit=67108864;",
                      err);
}

void
rz_db_close(sqlite3 **db)
{
    if (db && *db) {
        sqlite3_close_v2(*db);
        *db = NULL;
    }
}

int
rz_db_exec(sqlite3 *db, const char *sql, rz_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = rz_db_fail(db, err, "sql");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int
rz_db_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, rz_error *err)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return rz_db_fail(db, err, "prepare");
    return 0;
}

int
rz_db_begin(sqlite3 *db, rz_error *err)
{
    return rz_db_exec(db, "BEGIN IMMEDIATE", err);
}

int
rz_db_commit(sqlite3 *db, rz_error *err)
{
    return rz_db_exec(db, "COMMIT", err);
}

void
rz_db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int
rz_db_rows_end(sqlite3 *db, int step, rz_error *err, const char *what)
{
    return step == SQLITE_DONE ? 0 : rz_db_fail(db, err, what);
}

int
rz_db_step_done(sqlite3 *db, sqlite3_stmt *st, rz_error *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return rz_db_fail(db, err, "step");
    return 0;
}
