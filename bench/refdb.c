/*
 * refdb: plain SQLite insert of the benchmark's rows, the reference every
 * other figure is divided by; see refdb.h.
 *
 * The tables are keyed by the 16-byte ids (WITHOUT ROWID, one b-tree per
 * table), which is what a careful plain design would do; time-ordered ids
 * keep every insert at the right edge of its b-tree, as on the server.
 */
#include "bench/refdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "common/db.h"
#include "common/hlc.h"
#include "common/util.h"
#include "proto/wire.h"

static const char refdb_schema[] =
    "CREATE TABLE person(id BLOB PRIMARY KEY, cnic TEXT, name TEXT, phone TEXT,"
    " gender INTEGER, birth_year INTEGER, district TEXT, area INTEGER, skill INTEGER,"
    " skills TEXT, platforms TEXT, reg_date INTEGER) WITHOUT ROWID;"
    "CREATE TABLE event(id BLOB PRIMARY KEY, kind INTEGER, title TEXT, date INTEGER,"
    " duration INTEGER, partner TEXT, mode INTEGER) WITHOUT ROWID;"
    "CREATE TABLE attendance(event_id BLOB NOT NULL, person_id BLOB NOT NULL,"
    " present INTEGER, PRIMARY KEY(event_id, person_id)) WITHOUT ROWID;";

typedef struct refdb {
    sqlite3 *db;              /* the reference database */
    sqlite3_stmt *ins_person; /* prepared inserts */
    sqlite3_stmt *ins_event;
    sqlite3_stmt *ins_attend;
    uint64_t hlc;             /* id clock, like a node's */
    gen_record *batch;        /* RZ_BATCH_ENTRIES records generated ahead */
    uint8_t (*person_id)[16]; /* ids of the current centre's people */
    uint8_t (*event_id)[16];  /* ids of the current centre's events */
} refdb;

static void
refdb_bind_text(sqlite3_stmt *st, int col, const char *s)
{
    if (*s)
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

static int
refdb_insert(refdb *r, const uint8_t node_id[8], const gen_record *g, rz_error *err)
{
    sqlite3_stmt *st;
    r->hlc = hlc_next(r->hlc, hlc_wall_ms());
    switch (g->kind) {
    case GEN_PERSON: {
        const gen_person *p = &g->p;
        st = r->ins_person;
        bench_make_id(r->person_id[p->index], r->hlc, node_id);
        sqlite3_bind_blob(st, 1, r->person_id[p->index], 16, SQLITE_STATIC);
        refdb_bind_text(st, 2, p->cnic);
        refdb_bind_text(st, 3, p->name);
        refdb_bind_text(st, 4, p->phone);
        sqlite3_bind_int(st, 5, p->gender);
        sqlite3_bind_int(st, 6, p->birth_year);
        refdb_bind_text(st, 7, p->district);
        sqlite3_bind_int(st, 8, p->area);
        sqlite3_bind_int(st, 9, p->skill);
        refdb_bind_text(st, 10, p->skills);
        refdb_bind_text(st, 11, p->platforms);
        sqlite3_bind_int64(st, 12, p->reg_date);
        break;
    }
    case GEN_EVENT: {
        const gen_event *e = &g->e;
        st = r->ins_event;
        bench_make_id(r->event_id[e->index], r->hlc, node_id);
        sqlite3_bind_blob(st, 1, r->event_id[e->index], 16, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, e->kind);
        refdb_bind_text(st, 3, e->title);
        sqlite3_bind_int64(st, 4, e->date);
        sqlite3_bind_int(st, 5, e->duration);
        refdb_bind_text(st, 6, e->partner);
        sqlite3_bind_int(st, 7, e->mode);
        break;
    }
    default:
        st = r->ins_attend;
        sqlite3_bind_blob(st, 1, r->event_id[g->a.event], 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, r->person_id[g->a.person], 16, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, g->a.present);
        break;
    }
    return rz_db_step_done(r->db, st, err);
}

/* Inserts n generated records in one transaction; adds its time to res. */
static int
refdb_commit_batch(refdb *r, const uint8_t node_id[8], size_t n, refdb_result *res, rz_error *err)
{
    double t0 = bench_now();
    size_t i;
    int rc;
    if ((rc = rz_db_begin(r->db, err)))
        return rc;
    for (i = 0; i < n; i++)
        if ((rc = refdb_insert(r, node_id, &r->batch[i], err))) {
            rz_db_rollback(r->db);
            return rc;
        }
    if ((rc = rz_db_commit(r->db, err)))
        return rc;
    res->seconds += bench_now() - t0;
    res->rows += n;
    res->transactions++;
    return 0;
}

/* All records of one centre, RZ_BATCH_ENTRIES per transaction. */
static int
refdb_centre(refdb *r, const gen_plan *p, uint32_t ci, refdb_result *res, rz_error *err)
{
    const gen_centre *c = &p->centre[ci];
    uint8_t node_id[8];
    gen_stream gs;
    size_t n = 0;
    int rc = 0, more = 1;

    bench_ref_node_id(node_id, ci);
    r->person_id = xcalloc(c->people, sizeof *r->person_id);
    r->event_id = xcalloc(c->events, sizeof *r->event_id);
    gen_stream_init(&gs, p, ci);
    while (more && rc == 0) {
        more = gen_next(&gs, &r->batch[n]);
        if (more)
            n++;
        if (n == RZ_BATCH_ENTRIES || (!more && n > 0)) {
            rc = refdb_commit_batch(r, node_id, n, res, err);
            n = 0;
        }
    }
    gen_stream_free(&gs);
    free(r->person_id);
    free(r->event_id);
    r->person_id = NULL;
    r->event_id = NULL;
    return rc;
}

int
refdb_run(const gen_plan *p, const char *path, refdb_result *res, rz_error *err)
{
    refdb r;
    char wal[4200];
    uint32_t ci;
    int rc;

    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    if (bench_file_size(path) > 0)
        return rz_fail(err, RZ_E_EXISTS, "%s exists; the reference needs a fresh file", path);
    if ((rc = rz_db_open(&r.db, path, DB_READWRITE, err)) ||
        (rc = rz_db_exec(r.db, refdb_schema, err)) ||
        (rc = rz_db_prepare(r.db, &r.ins_person,
                            "INSERT INTO person VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
                            err)) ||
        (rc = rz_db_prepare(r.db, &r.ins_event, "INSERT INTO event VALUES(?1,?2,?3,?4,?5,?6,?7)",
                            err)) ||
        (rc = rz_db_prepare(r.db, &r.ins_attend, "INSERT INTO attendance VALUES(?1,?2,?3)", err)))
        goto out;
    r.batch = xcalloc(RZ_BATCH_ENTRIES, sizeof *r.batch);
    for (ci = 0; ci < p->cfg.centres && rc == 0; ci++)
        rc = refdb_centre(&r, p, ci, res, err);
    res->rows_per_s = res->seconds > 0 ? (double)res->rows / res->seconds : 0;
out:
    sqlite3_finalize(r.ins_person);
    sqlite3_finalize(r.ins_event);
    sqlite3_finalize(r.ins_attend);
    rz_db_close(&r.db);
    free(r.batch);
    snprintf(wal, sizeof wal, "%s-wal", path);
    res->db_bytes = bench_file_size(path) + bench_file_size(wal);
    return rc;
}

int
refdb_query_ms(const char *path, int rounds, double *ms, rz_error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double *t = xcalloc((size_t)(rounds > 0 ? rounds : 1), sizeof *t);
    int rc, i;
    if ((rc = rz_db_open(&db, path, DB_READONLY, err)) ||
        (rc = rz_db_prepare(db, &st, "SELECT gender, count(*) FROM person GROUP BY gender", err)))
        goto out;
    for (i = 0; i < rounds; i++) {
        double t0 = bench_now();
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW)
            ;
        sqlite3_reset(st);
        if (step != SQLITE_DONE) {
            rc = rz_db_fail(db, err, "reference query");
            goto out;
        }
        t[i] = (bench_now() - t0) * 1e3;
    }
    *ms = bench_quantile(t, (size_t)rounds, 0.5);
out:
    sqlite3_finalize(st);
    rz_db_close(&db);
    free(t);
    return rc;
}
