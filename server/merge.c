/*
 * merge: the merged state and the incremental national totals (merge.h,
 * proto/PROTOCOL.md §5): the entry points, the schema, the statements and
 * the read caches.  The rules live in files named for them:
 *
 *   merge_records.c   records, per-field last-writer-wins, delete/undelete,
 *                     validity of values
 *   merge_cluster.c   CNIC clusters: one person, one count, at the place of
 *                     the earliest registration
 *   merge_person_att.c a person record's counted attendances (its buckets)
 *   merge_event_att.c an event's attendance records, one row per event
 *   merge_counters.c  the counters of `totals` and their flush
 *   merge_int.h       what these files share
 *
 * State tables (every one is a pure function of the set of entries merged,
 * so a rebuild in any order reproduces them byte for byte):
 *
 *   st_person(id, created, centre_id, st, bad, deleted, cnic, token, link,
 *             name, phone, gender, birth_year, home, area, skill, skills,
 *             platforms, reg_date)
 *   st_event(id, created, centre_id, st, bad, deleted, kind, title, date,
 *            duration, partner, mode)
 *   st_event_att(event_id, n, b), an event's attendance records
 *             (event_id, person_id, st, bad, deleted, present) packed in one
 *             row, or for an event of more than 256 records the marker b =
 *             NULL and its records as rows of
 *   st_attendance(event_id, person_id, st, bad, deleted, present)
 *             (merge_event_att.c)
 *   st_cluster(ckey, centre_id, reg_date, gender, birth_year, area, skill, home)
 *   st_person_att(person_id, b), a person record's buckets (merge_person_att.c),
 *             shown per cluster as the view st_cluster_att(ckey, day, kind,
 *             centre, n)
 *   counters(k, t1, t2, n), shown as the view
 *   totals(metric, grain, period, d1, d2, v1, v2, n)        (see merge.h)
 *
 * Read caches of event facts, person clusters and cluster profiles spare
 * most statements on the common path; they live until the next flush or
 * discard, and merge updates them with every write, so they always agree
 * with the database.
 *
 * Cost per entry (no full scans): a new attendance at an event already
 * touched in the window is no statement on cache hits (its record, its
 * person's bucket and its cluster's buckets are in memory) plus ~70
 * in-memory counter touches; a registration 4-6 statements; a correction
 * that changes a person's counts re-reads that person's clusters (their
 * members and buckets) once.  Per flush: one upsert per distinct counter
 * touched, one row per person record and per event touched.
 *
 * Not here: the clamp window (server/ingest.c derives it from clock entries)
 * and CNIC validation and tokens (ingest, from the revealed values).
 */
#include "server/merge.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/util.h"
#include "server/merge_int.h"

const char *const merge_state_tables[] = {"st_person",    "st_event",   "st_attendance",
                                          "st_event_att", "st_cluster", "st_person_att",
                                          "counters",     NULL};

static const char merge_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS st_person("
    " id BLOB PRIMARY KEY, created BLOB NOT NULL, centre_id INTEGER NOT NULL,"
    " st BLOB NOT NULL, bad INTEGER NOT NULL, deleted INTEGER NOT NULL,"
    " cnic INTEGER, token BLOB, link BLOB, name, phone, gender, birth_year, home, area,"
    " skill, skills, platforms, reg_date) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS st_person_link ON st_person(link) WHERE link IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS st_event("
    " id BLOB PRIMARY KEY, created BLOB NOT NULL, centre_id INTEGER NOT NULL,"
    " st BLOB NOT NULL, bad INTEGER NOT NULL, deleted INTEGER NOT NULL,"
    " kind, title, date, duration, partner, mode) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS st_event_date ON st_event(date);"
    /* An event's attendance records, one row per event written once per
     * window (merge_event_att.c): b packs them; b NULL marks an event of
     * more than MG_EVATT_PACK_MAX records, kept in st_attendance. */
    "CREATE TABLE IF NOT EXISTS st_event_att("
    " event_id BLOB PRIMARY KEY, n INTEGER NOT NULL, b BLOB) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS st_attendance("
    " event_id BLOB NOT NULL, person_id BLOB NOT NULL, st BLOB NOT NULL,"
    " bad INTEGER NOT NULL, deleted INTEGER NOT NULL, present,"
    " PRIMARY KEY(event_id, person_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS st_cluster("
    " ckey BLOB PRIMARY KEY, centre_id INTEGER NOT NULL, reg_date INTEGER NOT NULL,"
    " gender INTEGER NOT NULL, birth_year INTEGER NOT NULL, area INTEGER NOT NULL,"
    " skill INTEGER NOT NULL, home TEXT NOT NULL) WITHOUT ROWID;"
    /* No index by registration date: only the state scans read by it
     * (verification, and while the day index is being built), and an index
     * keyed by a person's date takes a random page per person and window
     * (8% of the pages a medium merge writes, docs/PERFORMANCE.md). */
    "DROP INDEX IF EXISTS st_cluster_reg;"
    /* Counted attendances per person record (not per cluster), one row
     * per record (merge_person_att.c): what a person brings along when
     * its cluster changes, found by its key, so st_attendance needs no
     * index by person; written once per window in person-id order, keys
     * that arrive in time order, not at random CNIC tokens
     * (docs/PERFORMANCE.md). */
    "CREATE TABLE IF NOT EXISTS st_person_att("
    " person_id BLOB PRIMARY KEY, b TEXT NOT NULL) WITHOUT ROWID;"
    /* A cluster's buckets: the sum over its live members, for the readers
     * of whole tables (query.c's scan fallback, the day index's build and
     * check); the merger keeps them in memory. */
    "CREATE VIEW IF NOT EXISTS st_cluster_att(ckey, day, kind, centre, n) AS SELECT"
    " CAST(CASE WHEN p.link IS NOT NULL THEN x'01' || p.link ELSE x'02' || p.id END AS BLOB),"
    " j.value ->> 0, j.value ->> 1, j.value ->> 2, sum(j.value ->> 3)"
    " FROM st_person_att a JOIN st_person p ON p.id = a.person_id, json_each(a.b) j"
    " WHERE p.deleted = 0 GROUP BY 1, 2, 3, 4;"
    /* Counters with one integer key; `totals` shows them with the
     * dimensions decoded (merge.h, "Totals layout"). */
    "CREATE TABLE IF NOT EXISTS counters("
    " k INTEGER NOT NULL, t1 TEXT NOT NULL, t2 TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(k, t1, t2)) WITHOUT ROWID;"
    "CREATE VIEW IF NOT EXISTS totals(metric, grain, period, d1, d2, v1, v2, n) AS SELECT"
    " k >> 60, (k >> 58) & 3, (k >> 30) & 1048575, (k >> 54) & 15, (k >> 50) & 15,"
    " CASE WHEN ((k >> 54) & 15) IN (1, 2, 9) THEN t1"
    " WHEN ((k >> 15) & 32767) = 32767 THEN CAST(t1 AS INTEGER) ELSE (k >> 15) & 32767 END,"
    " CASE WHEN ((k >> 50) & 15) IN (1, 2, 9) THEN t2"
    " WHEN (k & 32767) = 32767 THEN CAST(t2 AS INTEGER) ELSE k & 32767 END,"
    " n FROM counters;";

/* ---- prepared statements ---------------------------------------------- */

#define MG_PERSON_COLS                                                                             \
    "created, centre_id, st, bad, deleted, cnic, token, name, phone, gender, birth_year,"          \
    " home, area, skill, skills, platforms, reg_date"
#define MG_EVENT_COLS                                                                              \
    "created, centre_id, st, bad, deleted, kind, title, date, duration, partner, mode"

static const char *const merge_sql[MS_COUNT] = {
    [MS_P_GET] = "SELECT " MG_PERSON_COLS " FROM st_person WHERE id = ?1",
    [MS_P_INS] = "INSERT INTO st_person(" MG_PERSON_COLS ", link, id) VALUES(?1, ?2, ?3, ?4,"
                 " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
                 " ON CONFLICT(id) DO NOTHING",
    [MS_P_UPD] = "UPDATE st_person SET created=?1, centre_id=?2, st=?3, bad=?4, deleted=?5,"
                 " cnic=?6, token=?7, name=?8, phone=?9, gender=?10, birth_year=?11, home=?12,"
                 " area=?13, skill=?14, skills=?15, platforms=?16, reg_date=?17, link=?18"
                 " WHERE id = ?19",
    [MS_P_MEMBERS] = "SELECT " MG_PERSON_COLS ", id FROM st_person WHERE link = ?1",
    [MS_P_CLUSTER] = "SELECT deleted, link FROM st_person WHERE id = ?1",
    [MS_E_GET] = "SELECT " MG_EVENT_COLS " FROM st_event WHERE id = ?1",
    [MS_E_INS] = "INSERT INTO st_event(" MG_EVENT_COLS ", id) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
                 " ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT(id) DO NOTHING",
    [MS_E_UPD] = "UPDATE st_event SET created=?1, centre_id=?2, st=?3, bad=?4, deleted=?5,"
                 " kind=?6, title=?7, date=?8, duration=?9, partner=?10, mode=?11 WHERE id=?12",
    [MS_E_FACTS] = "SELECT deleted, bad, kind, date, centre_id FROM st_event WHERE id = ?1",
    [MS_A_GET] = "SELECT st, bad, deleted, present FROM st_attendance"
                 " WHERE event_id = ?1 AND person_id = ?2",
    [MS_A_INS] = "INSERT INTO st_attendance(st, bad, deleted, present, event_id, person_id)"
                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(event_id, person_id) DO NOTHING",
    [MS_A_UPD] = "UPDATE st_attendance SET st=?1, bad=?2, deleted=?3, present=?4"
                 " WHERE event_id = ?5 AND person_id = ?6",
    [MS_A_OF_EVENT] = "SELECT person_id FROM st_attendance WHERE event_id = ?1"
                      " AND present = 1 AND bad = 0 AND deleted = 0",
    [MS_C_GET] = "SELECT centre_id, reg_date, gender, birth_year, area, skill, home"
                 " FROM st_cluster WHERE ckey = ?1",
    [MS_C_PUT] = "INSERT OR REPLACE INTO st_cluster(ckey, centre_id, reg_date, gender,"
                 " birth_year, area, skill, home) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [MS_C_DEL] = "DELETE FROM st_cluster WHERE ckey = ?1",
    [MS_P_LINKED] = "SELECT id FROM st_person WHERE link = ?1",
    [MS_PA_GET] = "SELECT b FROM st_person_att WHERE person_id = ?1",
    [MS_PA_INS] = "INSERT INTO st_person_att(person_id, b) VALUES(?1, ?2)",
    [MS_PA_UPD] = "UPDATE st_person_att SET b = ?2 WHERE person_id = ?1",
    [MS_PA_DEL] = "DELETE FROM st_person_att WHERE person_id = ?1",
    [MS_EA_GET] = "SELECT n, b FROM st_event_att WHERE event_id = ?1",
    [MS_EA_PUT] = "INSERT OR REPLACE INTO st_event_att(event_id, n, b) VALUES(?1, ?2, ?3)",
    [MS_T_UPSERT] = "INSERT INTO counters(k, t1, t2, n) VALUES(?1, ?2, ?3, ?4)"
                    " ON CONFLICT(k, t1, t2) DO UPDATE SET n = n + excluded.n",
    [MS_T_DELZERO] = "DELETE FROM counters WHERE k = ?1 AND t1 = ?2 AND t2 = ?3 AND n = 0",
};

/* ---- small helpers ---------------------------------------------------- */

int
mg_fail(merge_ctx *m, rz_error *err, const char *what)
{
    return rz_db_fail(m->db, err, what);
}

/* Runs a bound write statement to completion and resets it. */
int
mg_exec(merge_ctx *m, sqlite3_stmt *st, rz_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : mg_fail(m, err, what);
}

/* ---- read caches ------------------------------------------------------------ */

size_t
mg_cache_slot(const uint8_t *p, size_t len, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 31;
    return (size_t)(h & (n - 1));
}

static void
caches_clear(merge_ctx *m)
{
    size_t i;
    for (i = 0; i < MG_PC_CACHE; i++)
        m->pc[i].valid = 0;
    for (i = 0; i < MG_EV_CACHE; i++)
        m->ev[i].valid = 0;
    for (i = 0; i < MG_CL_CACHE; i++)
        m->clc[i].valid = 0;
    mg_places_clear(m);
}

void
mg_pc_store(merge_ctx *m, const uint8_t id[16], int found, const uint8_t key[MG_CKEY])
{
    mg_pc *c = &m->pc[mg_cache_slot(id, 16, MG_PC_CACHE)];
    c->valid = 1;
    c->found = found;
    memcpy(c->id, id, 16);
    if (found)
        memcpy(c->key, key, MG_CKEY);
}

static void
ev_store(merge_ctx *m, const uint8_t id[16], const mg_evfacts *f)
{
    mg_ev *c = &m->ev[mg_cache_slot(id, 16, MG_EV_CACHE)];
    c->valid = 1;
    memcpy(c->id, id, 16);
    c->f = *f;
}

/* ---- entries --------------------------------------------------------------- */

static int
merge_person(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], rz_error *err)
{
    const uint8_t *id = in->e->key;
    uint8_t key[MG_CKEY];
    uint32_t changed;
    int rc;
    /* Most entries create their record: try that first (one statement). */
    mg_rec_fresh(&m->old);
    mg_rec_fresh(&m->cur);
    changed = mg_rec_apply(&m->cur, in, stamp);
    if ((rc = mg_person_store(m, id, &m->cur, 0, err)))
        return rc;
    if (sqlite3_changes(m->db) == 0) {
        if ((rc = mg_person_load(m, id, &m->cur, err)))
            return rc;
        memcpy(&m->old, &m->cur, sizeof m->cur);
        changed = mg_rec_apply(&m->cur, in, stamp);
        if (!changed)
            return 0; /* already merged, or overruled by newer stamps */
        if ((rc = mg_person_store(m, id, &m->cur, 1, err)))
            return rc;
    }
    mg_pc_store(m, id, mg_person_ckey(&m->cur, id, key), key);
    if (!(changed & MG_PERSON_COUNTED))
        return 0;
    return mg_person_recluster(m, id, &m->old, &m->cur, err);
}

static int
merge_event(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], rz_error *err)
{
    const uint8_t *id = in->e->key;
    mg_evfacts was, is;
    uint32_t changed;
    int rc;
    mg_rec_fresh(&m->old);
    mg_rec_fresh(&m->cur);
    changed = mg_rec_apply(&m->cur, in, stamp);
    if ((rc = mg_event_store(m, id, &m->cur, 0, err)))
        return rc;
    if (sqlite3_changes(m->db) == 0) {
        if ((rc = mg_event_load(m, id, &m->cur, err)))
            return rc;
        memcpy(&m->old, &m->cur, sizeof m->cur);
        changed = mg_rec_apply(&m->cur, in, stamp);
        if (!changed)
            return 0;
        if ((rc = mg_event_store(m, id, &m->cur, 1, err)))
            return rc;
    }
    mg_event_facts_of(&m->old, &was);
    mg_event_facts_of(&m->cur, &is);
    ev_store(m, id, &is);
    if (!(changed & MG_EVENT_COUNTED))
        return 0;
    if (was.live == is.live && was.day == is.day && was.kind == is.kind &&
        was.centre_id == is.centre_id)
        return 0;
    mg_emit_event(m, &was, -1);
    mg_emit_event(m, &is, +1);
    if (was.live)
        dayindex_event(m->dx, was.day, was.kind, was.centre_id, -1);
    if (is.live)
        dayindex_event(m->dx, is.day, is.kind, is.centre_id, +1);
    if (!was.live && !is.live)
        return 0;
    /* Its attendances count at its date, kind and centre: they move too. */
    return mg_event_attendees(m, id, &was, &is, err);
}

static int
event_facts_load(merge_ctx *m, const uint8_t *id, mg_evfacts *f, rz_error *err)
{
    sqlite3_stmt *st = m->st[MS_E_FACTS];
    mg_ev *c = &m->ev[mg_cache_slot(id, 16, MG_EV_CACHE)];
    int step;
    if (c->valid && memcmp(c->id, id, 16) == 0) {
        *f = c->f;
        return 0;
    }
    memset(f, 0, sizeof *f);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        uint32_t bad = (uint32_t)sqlite3_column_int64(st, 1);
        f->live = sqlite3_column_int(st, 0) == 0;
        if (sqlite3_column_type(st, 2) == SQLITE_INTEGER && !(bad >> RZ_EF_KIND & 1))
            f->kind = sqlite3_column_int64(st, 2);
        if (sqlite3_column_type(st, 3) == SQLITE_INTEGER && !(bad >> RZ_EF_DATE & 1))
            f->day = sqlite3_column_int64(st, 3);
        f->centre_id = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mg_fail(m, err, "event read");
    ev_store(m, id, f);
    return 0;
}

static int
merge_attendance(merge_ctx *m, const merge_input *in, const uint8_t stamp[MG_STAMP], rz_error *err)
{
    const uint8_t *key = in->e->key;
    mg_evfacts ev;
    int was, is, changed, rc;
    if ((rc = mg_evatt_apply(m, in, stamp, &changed, err)) || !changed)
        return rc;
    was = mg_attendance_on(&m->old);
    is = mg_attendance_on(&m->cur);
    if (was == is)
        return 0;
    if ((rc = event_facts_load(m, key, &ev, err)) || !ev.live)
        return rc; /* counts once its event arrives (merge_event) */
    return mg_att_count(m, key + 16, &ev, is ? 1 : -1, err);
}

/* Writes everything the window holds in memory (counters, person and event
 * records, the day index) inside the open transaction: at a window's end
 * and, past the memory bound, in mid-window. */
static int
pending_write(merge_ctx *m, rz_error *err)
{
    int rc = mg_counters_write(m, err);
    if (rc == 0)
        rc = mg_patt_flush(m, err);
    if (rc == 0)
        rc = mg_evatt_flush(m, err);
    if (rc == 0)
        rc = dayindex_flush(m->dx, err);
    return rc;
}

int
merge_entry(merge_ctx *m, const merge_input *in, rz_error *err)
{
    uint8_t stamp[MG_STAMP];
    const rz_entry *e = in->e;
    int rc;
    if (e->key_len != (e->table == RZ_T_ATTENDANCE ? 32u : 16u))
        return 0; /* clock entries and malformed keys carry no state */
    mg_stamp_make(stamp, in);
    switch (e->table) {
    case RZ_T_PERSON: rc = merge_person(m, in, stamp, err); break;
    case RZ_T_EVENT: rc = merge_event(m, in, stamp, err); break;
    case RZ_T_ATTENDANCE: rc = merge_attendance(m, in, stamp, err); break;
    default: return 0;
    }
    /* Bounded memory: write the counters and the day index inside the
     * same transaction (the read caches stay valid, the transaction goes
     * on).  Writing only the kind that is full was measured: no faster. */
    if (rc == 0 &&
        (m->deltas.count >= m->flush_at || m->patt.nrecs >= m->flush_at || mg_evatt_full(m)))
        rc = pending_write(m, err);
    return rc;
}

int
merge_flush(merge_ctx *m, rz_error *err)
{
    int rc = pending_write(m, err);
    caches_clear(m); /* the transaction ends: start the next one cold */
    return rc;
}

void
merge_discard(merge_ctx *m)
{
    mg_counters_discard(m);
    mg_patt_discard(m);
    mg_evatt_discard(m);
    dayindex_discard(m->dx);
    caches_clear(m);
}

/* ---- lifecycle --------------------------------------------------------------- */

int
merge_schema(sqlite3 *db, rz_error *err)
{
    int rc;
    /* Older layouts (buckets per cluster in a table st_cluster_att, the
     * index st_attendance_person, a row per attendance) never reach here: state_store.c drops
     * the derived tables of an older state.db (PRAGMA user_version). */
    if ((rc = rz_db_exec(db, merge_schema_sql, err)))
        return rc;
    return dayindex_schema(db, err);
}

int
merge_new(merge_ctx **out, sqlite3 *db, rz_error *err)
{
    merge_ctx *m = xcalloc(1, sizeof *m);
    int i, rc;
    m->db = db;
    m->flush_at = MG_FLUSH_AT;
    m->pc = xcalloc(MG_PC_CACHE, sizeof *m->pc);
    m->ev = xcalloc(MG_EV_CACHE, sizeof *m->ev);
    m->clc = xcalloc(MG_CL_CACHE, sizeof *m->clc);
    m->pl = xcalloc(MG_PL_CACHE, sizeof *m->pl);
    *out = NULL;
    for (i = 0; i < MS_COUNT; i++)
        if ((rc = rz_db_prepare(db, &m->st[i], merge_sql[i], err))) {
            merge_destroy(&m);
            return rc;
        }
    if ((rc = dayindex_new(&m->dx, db, err))) {
        merge_destroy(&m);
        return rc;
    }
    *out = m;
    return 0;
}

void
merge_destroy(merge_ctx **mp)
{
    merge_ctx *m = mp ? *mp : NULL;
    int i;
    if (!m)
        return;
    for (i = 0; i < MS_COUNT; i++)
        sqlite3_finalize(m->st[i]);
    for (i = 0; i < 2; i++) {
        free(m->cl[i].rows_before.v);
        free(m->cl[i].rows.v);
    }
    free(m->moves.v);
    for (i = 0; i < MG_CL_CACHE; i++)
        free(m->clc[i].rows.v);
    free(m->pc);
    free(m->ev);
    free(m->clc);
    free(m->pl);
    free(m->rowpl);
    sqlite3_finalize(m->place_st);
    dayindex_destroy(&m->dx);
    mg_counters_free(m);
    mg_patt_free(m);
    mg_evatt_free(m);
    free(m);
    *mp = NULL;
}

void
merge_set_flush_at(merge_ctx *m, size_t n)
{
    m->flush_at = n ? n : MG_FLUSH_AT;
}

void
merge_set_place_fn(merge_ctx *m, merge_place_fn fn, void *arg)
{
    m->place_fn = fn;
    m->place_arg = arg;
    mg_places_clear(m);
}
