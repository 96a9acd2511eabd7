/*
 * db: SQLite helpers shared by node and server: open with the project's
 * pragmas, run fixed SQL, prepare statements with error detail, and a
 * transaction guard.  All SQL with values uses prepared statements; rz_db_exec
 * is for fixed schema/pragma text only.
 */
#ifndef RZ_DB_H
#define RZ_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/rz_err.h"

enum { DB_READWRITE = 0, DB_READONLY = 1 };

/* How long a connection waits for another writer's lock (busy timeout). */
#define RZ_DB_BUSY_MS 10000

/* Opens path (creating it unless readonly) in WAL mode with
 * synchronous=FULL: an acknowledgement is a promise, and WAL with NORMAL may
 * lose the last commit on power loss.  Sets a busy timeout. */
int rz_db_open(sqlite3 **db, const char *path, int mode, rz_error *err) RZ_WUR;
void rz_db_close(sqlite3 **db);

int rz_db_exec(sqlite3 *db, const char *sql, rz_error *err) RZ_WUR;
int rz_db_prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, rz_error *err) RZ_WUR;

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback never fails visibly. */
int rz_db_begin(sqlite3 *db, rz_error *err) RZ_WUR;
int rz_db_commit(sqlite3 *db, rz_error *err) RZ_WUR;
void rz_db_rollback(sqlite3 *db);

/* Maps a SQLite result code to RZ_E_BUSY (full disk, I/O, locked: retry) or
 * RZ_E_IO, recording sqlite3_errmsg. */
int rz_db_fail(sqlite3 *db, rz_error *err, const char *what);

/* Single-value helpers over a prepared statement already bound. */
int rz_db_step_done(sqlite3 *db, sqlite3_stmt *st, rz_error *err) RZ_WUR;
/* After a `while ((step = sqlite3_step(st)) == SQLITE_ROW)` loop: 0 when the
 * rows ended (SQLITE_DONE), else the error, so a list cut short by a busy or
 * damaged database fails instead of looking complete. */
int rz_db_rows_end(sqlite3 *db, int step, rz_error *err, const char *what) RZ_WUR;

#endif
