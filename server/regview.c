/* regview: the register as at an earlier version; see regview.h. */
#include "server/regview.h"

#include <string.h>

#include "common/db.h"

int
regview_parse(const char *text, int64_t *version, rz_error *err)
{
    int64_t v = 0;
    size_t i, n = text ? strlen(text) : 0;
    if (n == 0 || n > 18)
        goto bad;
    for (i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            goto bad;
        v = v * 10 + (text[i] - '0');
    }
    if (v < 1)
        goto bad;
    *version = v;
    return 0;
bad:
    return rz_fail(err, RZ_E_ARG,
                   "the register version is a number from 1 (rozgar-server register lists them)");
}

int
regview_begin(sqlite3 *db, int64_t version, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int64_t newest = 0;
    int rc;
    if ((rc = rz_db_prepare(db, &st, "SELECT coalesce(max(version), 0) FROM log.register", err)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        newest = sqlite3_column_int64(st, 0);
    else
        rc = rz_db_fail(db, err, "register version");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if (version < 1 || version > newest)
        return rz_fail(err, RZ_E_ARG,
                       "no register version %lld: the register has versions 1 to %lld"
                       " (rozgar-server register)",
                       (long long)version, (long long)newest);
    /* The reader's files are opened query-only; only its temporary table
     * is written. */
    if ((rc = rz_db_exec(db, "PRAGMA query_only=0;", err)) ||
        (rc = rz_db_exec(db,
                         "CREATE TEMP TABLE centre(centre_id INTEGER PRIMARY KEY, name TEXT,"
                         " programme INTEGER, province TEXT, district TEXT);",
                         err)))
        goto fail;
    if ((rc = rz_db_prepare(db, &st,
                            "INSERT INTO temp.centre SELECT centre_id, centre, programme, province,"
                            " district FROM (SELECT centre_id, centre, programme, province,"
                            " district, row_number() OVER (PARTITION BY centre_id"
                            " ORDER BY version DESC) AS k FROM log.register WHERE version <= ?1"
                            " AND centre_id IS NOT NULL AND action IN ('enroll', 'rename', 'move'))"
                            " WHERE k = 1",
                            err)) == 0) {
        sqlite3_bind_int64(st, 1, version);
        rc = rz_db_step_done(db, st, err);
        sqlite3_finalize(st);
    }
    if (rc == 0)
        return 0;
fail:
    (void)regview_end(db);
    return rc;
}

int
regview_end(sqlite3 *db)
{
    int rc = sqlite3_exec(db, "DROP TABLE IF EXISTS temp.centre", NULL, NULL, NULL);
    if (sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK || rc != SQLITE_OK)
        return -1;
    return 0;
}
