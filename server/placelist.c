/* placelist: versions of the master list of places; see placelist.h. */
#include "server/placelist.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"

/* The version this process counts with (0: none activated yet), and one
 * activation at a time (the merger thread and HTTP threads refresh). */
static atomic_llong placelist_in_force;
static pthread_mutex_t placelist_mu = PTHREAD_MUTEX_INITIALIZER;

/* Parses the body of the version st's columns (version, body) hold and
 * makes it the active list. */
static int
placelist_use(sqlite3_stmt *st, int64_t *version, rz_error *err)
{
    places *p = NULL;
    char origin[48];
    int64_t v = sqlite3_column_int64(st, 0);
    int rc;
    snprintf(origin, sizeof origin, "places version %lld", (long long)v);
    if ((rc = places_parse(&p, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                           origin, err)))
        return rc;
    places_set_active(p);
    atomic_store(&placelist_in_force, (long long)v);
    if (version)
        *version = v;
    return 0;
}

int
placelist_schema(sqlite3 *db, rz_error *err)
{
    return rz_db_exec(db,
                      "CREATE TABLE IF NOT EXISTS place_version("
                      " version INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL,"
                      " label TEXT NOT NULL, source TEXT NOT NULL, provinces INTEGER NOT NULL,"
                      " districts INTEGER NOT NULL, body BLOB NOT NULL);",
                      err);
}

int
placelist_import(sqlite3 *db, const places *p, const char *text, size_t len, const char *source,
                 int64_t *version, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    size_t i, districts = 0;
    int rc;
    if ((rc = rz_db_prepare(
             db, &st, "SELECT body = ?1 FROM place_version ORDER BY version DESC LIMIT 1", err)))
        return rc;
    sqlite3_bind_blob(st, 1, text, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc)
        return rz_fail(err, RZ_E_EXISTS, "this list (version label %s) is already in force",
                       places_version(p));
    for (i = 0; i < places_province_count(p); i++)
        districts += places_district_count(p, i);
    if ((rc = rz_db_prepare(db, &st,
                            "INSERT INTO place_version(at_ms, label, source, provinces, districts,"
                            " body) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                            err)))
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)hlc_wall_ms());
    sqlite3_bind_text(st, 2, places_version(p), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)places_province_count(p));
    sqlite3_bind_int64(st, 5, (int64_t)districts);
    sqlite3_bind_blob(st, 6, text, (int)len, SQLITE_STATIC);
    rc = rz_db_step_done(db, st, err);
    sqlite3_finalize(st);
    if (rc == 0 && version)
        *version = sqlite3_last_insert_rowid(db);
    return rc;
}

/* Imports the shipped list as the first version. */
static int
placelist_import_shipped(sqlite3 *db, rz_error *err)
{
    char path[4096], *text = NULL;
    places *p = NULL;
    size_t len = 0;
    int rc;
    if (places_default_path(path, sizeof path) != 0)
        return rz_fail(err, RZ_E_NOTFOUND, "no places list: path too long");
    if ((rc = places_load_text(&p, &text, &len, path, err)))
        return rc == RZ_E_NOTFOUND ? rz_fail(err, RZ_E_NOTFOUND,
                                             "no places list in force and none shipped at %s", path)
                                   : rc;
    rc = placelist_import(db, p, text, len, "shipped with the program", NULL, err);
    free(text);
    places_destroy(&p);
    return rc;
}

int
placelist_activate(sqlite3 *db, int64_t *version, int *imported, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, step;
    if (imported)
        *imported = 0;
    if ((rc = placelist_schema(db, err)))
        return rc;
    for (;;) {
        if ((rc = rz_db_prepare(db, &st,
                                "SELECT version, body FROM place_version"
                                " ORDER BY version DESC LIMIT 1",
                                err)))
            return rc;
        if ((step = sqlite3_step(st)) == SQLITE_ROW)
            break;
        sqlite3_finalize(st);
        if (step != SQLITE_DONE)
            return rz_db_fail(db, err, "places list");
        if ((rc = placelist_import_shipped(db, err)))
            return rc;
        if (imported)
            *imported = 1;
    }
    pthread_mutex_lock(&placelist_mu);
    rc = placelist_use(st, version, err);
    pthread_mutex_unlock(&placelist_mu);
    sqlite3_finalize(st);
    return rc;
}

int
placelist_refresh(sqlite3 *db, int attached, int64_t *version, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int64_t newest;
    int rc = 0;
    if (version)
        *version = 0;
    /* A missing table (a database from before places) is no change. */
    if (sqlite3_prepare_v2(db,
                           attached ? "SELECT max(version) FROM log.place_version"
                                    : "SELECT max(version) FROM main.place_version",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = rz_db_fail(db, err, "places version");
        sqlite3_finalize(st);
        return rc;
    }
    newest = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (newest <= 0 || newest == (int64_t)atomic_load(&placelist_in_force)) {
        if (version)
            *version = newest;
        return 0;
    }
    pthread_mutex_lock(&placelist_mu);
    if (newest != (int64_t)atomic_load(&placelist_in_force)) {
        long long was = atomic_load(&placelist_in_force);
        if ((rc = rz_db_prepare(db, &st,
                                attached ? "SELECT version, body FROM log.place_version"
                                           " WHERE version = ?1"
                                         : "SELECT version, body FROM main.place_version"
                                           " WHERE version = ?1",
                                err)) == 0) {
            sqlite3_bind_int64(st, 1, newest);
            if (sqlite3_step(st) == SQLITE_ROW)
                rc = placelist_use(st, NULL, err);
            else
                rc = rz_fail(err, RZ_E_INTERNAL, "places version %lld vanished", (long long)newest);
            sqlite3_finalize(st);
        }
        if (rc == 0)
            log_info("places version %lld in force (was %lld): imported while running",
                     (long long)newest, was);
    }
    pthread_mutex_unlock(&placelist_mu);
    if (rc == 0 && version)
        *version = newest;
    return rc;
}

int
placelist_write(sqlite3 *db, FILE *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, n = 0, step;
    if ((rc = placelist_schema(db, err)) ||
        (rc = rz_db_prepare(db, &st,
                            "SELECT version, at_ms, label, provinces, districts, source"
                            " FROM place_version ORDER BY version",
                            err)))
        return rc;
    fprintf(out, "%-7s %-19s %-20s %9s %9s  %s\n", "version", "imported (UTC)", "label",
            "provinces", "districts", "source");
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        char when[32];
        time_t t = (time_t)(sqlite3_column_int64(st, 1) / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(out, "%-7lld %-19s %-20.60s %9lld %9lld  %.200s\n", sqlite3_column_int64(st, 0),
                when, sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3),
                sqlite3_column_int64(st, 4), sqlite3_column_text(st, 5));
        n++;
    }
    rc = rz_db_rows_end(db, step, err, "place list versions");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    fprintf(out, "%d version%s; the newest is in force\n", n, n == 1 ? "" : "s");
    return 0;
}

int
placelist_show(sqlite3 *db, int64_t version, FILE *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if ((rc = placelist_schema(db, err)) ||
        (rc = rz_db_prepare(db, &st, "SELECT body FROM place_version WHERE version = ?1", err)))
        return rc;
    sqlite3_bind_int64(st, 1, version);
    if (sqlite3_step(st) == SQLITE_ROW)
        fwrite(sqlite3_column_blob(st, 0), 1, (size_t)sqlite3_column_bytes(st, 0), out);
    else
        rc = rz_fail(err, RZ_E_NOTFOUND, "no places version %lld (rozgar-server places)",
                     (long long)version);
    sqlite3_finalize(st);
    return rc;
}
