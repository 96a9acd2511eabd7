/*
 * merge_fixture: shared scaffolding of test_merge, test_query and
 * test_convergence.  A real SQLite file in a fresh temporary directory with
 * the lead's centre/node tables (the columns merge and query read), merge's
 * schema, and a builder that turns a test's description of a change into
 * canonical entry bytes (entry_encode), decodes them back (entry_decode) and
 * merges them, exactly as ingest does with stored log entries.
 *
 * Include after <cmocka.h>.  Everything is static inline so each test file
 * uses what it needs.
 */
#ifndef RZ_MERGE_FIXTURE_H
#define RZ_MERGE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/util.h"
#include "proto/entry.h"
#include "server/merge.h"

#define FX_DAY_MS 86400000ull
/* 2026-03-10 00:00 UTC: "now" of most scenarios. */
#define FX_T0 1773100800000ull

typedef struct fx {
    char dir[64];      /* temporary directory */
    char path[128];    /* database file */
    sqlite3 *db;       /* the server database */
    merge_ctx *m;      /* merge under test */
    msgpack_zone zone; /* entry decoding */
    int in_tx;         /* a transaction is open */
} fx;

/* One change as a node would log it. */
typedef struct fx_change {
    uint8_t node[8];                /* writing node */
    int64_t centre;                 /* its centre */
    uint64_t lo, hi;                /* clamp window (server times around it) */
    uint64_t hlc;                   /* the node's clock */
    uint8_t table, op;              /* RZ_T_*, RZ_OP_* */
    uint8_t key[32];                /* record key */
    size_t key_len;                 /* 16 or 32 */
    size_t nfields;                 /* used */
    rz_field fields[RZ_MAX_FIELDS]; /* ascending ids */
    int cnic_state;                 /* enum merge_cnic_state */
    uint8_t token[16];              /* when VALID */
} fx_change;

static inline void
fx_exec(fx *f, const char *sql)
{
    rz_error err;
    int rc = rz_db_exec(f->db, sql, &err);
    if (rc)
        fprintf(stderr, "sql failed: %s\n", err.text);
    assert_int_equal(rc, 0);
}

static inline void
fx_open(fx *f)
{
    rz_error err;
    memset(f, 0, sizeof *f);
    (void)err;
    snprintf(f->dir, sizeof f->dir, "/tmp/rz-merge-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/server.db", f->dir);
    /* Opened like rz_db_open does (WAL, extended codes) but without fsync:
     * tests commit often and durability is not under test here. */
    assert_int_equal(
        sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
        SQLITE_OK);
    sqlite3_extended_result_codes(f->db, 1);
    fx_exec(f, "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL;"
               "CREATE TABLE centre(centre_id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
               " programme INTEGER NOT NULL, province TEXT NOT NULL, district TEXT NOT NULL);"
               "CREATE TABLE node(node_id BLOB PRIMARY KEY, centre_id INTEGER,"
               " revoked INTEGER NOT NULL DEFAULT 0, last_sync_ms INTEGER NOT NULL DEFAULT 0,"
               " clock_offset_ms INTEGER NOT NULL DEFAULT 0,"
               " last_contact_ms INTEGER NOT NULL DEFAULT 0,"
               " quarantined INTEGER NOT NULL DEFAULT 0);"
               "INSERT INTO centre VALUES(1, 'Lahore e-Rozgar', 1, 'Punjab', 'Lahore');"
               "INSERT INTO centre VALUES(2, 'Peshawar Innovista', 2, 'Khyber Pakhtunkhwa',"
               " 'Peshawar');"
               "INSERT INTO centre VALUES(3, 'Multan e-Rozgar', 1, 'Punjab', 'Multan');"
               "INSERT INTO centre VALUES(4, 'Quetta Hub', 3, 'Balochistan', 'Quetta');");
    assert_int_equal(merge_schema(f->db, &err), 0);
    assert_int_equal(merge_new(&f->m, f->db, &err), 0);
    msgpack_zone_init(&f->zone, 4096);
}

static inline void
fx_close(fx *f)
{
    char side[200];
    merge_destroy(&f->m);
    rz_db_close(&f->db);
    msgpack_zone_destroy(&f->zone);
    unlink(f->path);
    snprintf(side, sizeof side, "%s-wal", f->path), unlink(side);
    snprintf(side, sizeof side, "%s-shm", f->path), unlink(side);
    rmdir(f->dir);
}

static inline void
fx_begin(fx *f)
{
    rz_error err;
    if (!f->in_tx)
        assert_int_equal(rz_db_begin(f->db, &err), 0);
    f->in_tx = 1;
}

/* merge_flush + COMMIT, like ingest at the end of a batch. */
static inline void
fx_commit(fx *f)
{
    rz_error err;
    int rc;
    if (!f->in_tx)
        return;
    rc = merge_flush(f->m, &err);
    if (rc)
        fprintf(stderr, "flush: %s\n", err.text);
    assert_int_equal(rc, 0);
    assert_int_equal(rz_db_commit(f->db, &err), 0);
    f->in_tx = 0;
}

static inline void
fx_node(uint8_t node[8], int n)
{
    memset(node, 0, 8);
    node[0] = 0xa0;
    node[7] = (uint8_t)n;
}

/* Record id number n (16 bytes, time-ordered like real ids). */
static inline void
fx_id(uint8_t id[16], uint32_t n)
{
    memset(id, 0, 16);
    be32_put(id, 0x01900000u);
    be32_put(id + 12, n);
}

static inline void
fx_token(uint8_t tok[16], uint32_t cnic)
{
    memset(tok, 0x5a, 16);
    be32_put(tok, cnic);
}

/* A change by node `node` (at centre `centre`) at wall time ms, merged in
 * the window [lo, hi]. */
static inline void
fx_change_init(fx_change *c, int node, int64_t centre, uint64_t ms, uint64_t lo, uint64_t hi,
               uint8_t table, uint8_t op)
{
    memset(c, 0, sizeof *c);
    fx_node(c->node, node);
    c->centre = centre;
    c->lo = lo;
    c->hi = hi;
    c->hlc = hlc_make(ms, 0);
    c->table = table;
    c->op = op;
    c->key_len = table == RZ_T_ATTENDANCE ? 32 : 16;
}

static inline void
fx_set(fx_change *c, uint8_t id, rz_value v)
{
    size_t i = c->nfields;
    assert_true(i < RZ_MAX_FIELDS);
    /* keep ascending */
    while (i > 0 && c->fields[i - 1].id > id) {
        c->fields[i] = c->fields[i - 1];
        i--;
    }
    c->fields[i].id = id;
    c->fields[i].v = v;
    c->nfields++;
}

static const uint8_t fx_commit_bytes[16] = {0xc0, 1, 2,  3,  4,  5,  6,  7,
                                            8,    9, 10, 11, 12, 13, 14, 15};

/* CNIC facts as ingest would give them; the entry carries a commitment. */
static inline void
fx_cnic(fx_change *c, int state, uint32_t cnic)
{
    c->cnic_state = state;
    if (state == MERGE_CNIC_VALID || state == MERGE_CNIC_ERASED)
        fx_token(c->token, cnic);
    fx_set(c, RZ_PF_CNIC, state == MERGE_CNIC_CLEARED ? rz_nil() : rz_bin(fx_commit_bytes, 16));
}

/* Encodes, decodes and merges one change (inside a transaction). */
static inline int
fx_apply_rc(fx *f, const fx_change *c, uint64_t seq)
{
    rz_entry e, d;
    mpk_writer w;
    merge_input in;
    rz_error err;
    int rc;
    memset(&e, 0, sizeof e);
    e.schema = RZ_SCHEMA_CURRENT;
    e.hlc = c->hlc;
    e.table = c->table;
    e.op = c->op;
    e.key = c->key;
    e.key_len = c->key_len;
    e.nfields = c->nfields;
    memcpy(e.fields, c->fields, c->nfields * sizeof *c->fields);
    mpk_w_init(&w);
    entry_encode(&w, &e);
    assert_int_equal(w.rc, 0);
    msgpack_zone_clear(&f->zone);
    assert_int_equal(entry_decode((const uint8_t *)w.sb.data, w.sb.size, &f->zone, &d, &err), 0);
    memset(&in, 0, sizeof in);
    in.node_id = c->node;
    in.centre_id = c->centre;
    in.seq = seq;
    in.e = &d;
    in.win_lo_ms = c->lo;
    in.win_hi_ms = c->hi;
    in.cnic_state = c->cnic_state;
    memcpy(in.cnic_token, c->token, 16);
    fx_begin(f);
    rc = merge_entry(f->m, &in, &err);
    if (rc)
        fprintf(stderr, "merge_entry: %s\n", err.text);
    mpk_w_free(&w);
    return rc;
}

static inline void
fx_apply(fx *f, const fx_change *c)
{
    assert_int_equal(fx_apply_rc(f, c, 1), 0);
}

/* The stored counters behind a period: itself, or for a quarter or year of
 * an additive metric its months (merge_metric_keeps_grain), as the query
 * layer reads them. */
static inline int
fx_stored(int metric, int grain, uint32_t period, uint32_t *lo, uint32_t *hi)
{
    uint32_t d0, d1;
    *lo = *hi = period;
    if (merge_metric_keeps_grain(metric, grain))
        return grain;
    if (period) {
        period_range(grain, period, &d0, &d1);
        *lo = period_key(d0, RZ_GRAIN_MONTH);
        *hi = period_key(d1, RZ_GRAIN_MONTH);
    }
    return RZ_GRAIN_MONTH;
}

/* Counter value (0 when absent).  Values are given as text; code
 * dimensions are parsed as integers. */
static inline int64_t
fx_tot(fx *f, int metric, int grain, uint32_t period, int d1, const char *v1, int d2,
       const char *v2)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    uint32_t lo, hi;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT coalesce(sum(n), 0) FROM totals WHERE metric=?1"
                                        " AND grain=?2 AND period BETWEEN ?3 AND ?8 AND d1=?4"
                                        " AND d2=?5 AND v1=?6 AND v2=?7",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(st, 1, metric);
    sqlite3_bind_int(st, 2, fx_stored(metric, grain, period, &lo, &hi));
    sqlite3_bind_int64(st, 3, lo);
    sqlite3_bind_int64(st, 8, hi);
    sqlite3_bind_int(st, 4, d1);
    sqlite3_bind_int(st, 5, d2);
    if (d1 && merge_dim_is_text(d1))
        sqlite3_bind_text(st, 6, v1, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 6, v1 ? atoll(v1) : 0);
    if (d2 && merge_dim_is_text(d2))
        sqlite3_bind_text(st, 7, v2, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 7, v2 ? atoll(v2) : 0);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* A province's counter (optionally paired with code dimension d2 = v2) as
 * the query layer derives it: the sum of its centres' counters. */
static inline int64_t
fx_province(fx *f, int metric, int grain, uint32_t period, const char *province, int d2, int64_t v2)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    uint32_t lo, hi;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT coalesce(sum(t.n), 0) FROM totals t"
                                        " JOIN centre c ON c.centre_id = t.v1"
                                        " WHERE t.metric=?1 AND t.grain=?2"
                                        " AND t.period BETWEEN ?3 AND ?7"
                                        " AND t.d1=3 AND t.d2=?4 AND t.v2=?5 AND c.province=?6",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(st, 1, metric);
    sqlite3_bind_int(st, 2, fx_stored(metric, grain, period, &lo, &hi));
    sqlite3_bind_int64(st, 3, lo);
    sqlite3_bind_int64(st, 7, hi);
    sqlite3_bind_int(st, 4, d2);
    sqlite3_bind_int64(st, 5, d2 ? v2 : 0);
    sqlite3_bind_text(st, 6, province, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* National total of a metric in a grain/period. */
static inline int64_t
fx_nat(fx *f, int metric, int grain, uint32_t period)
{
    return fx_tot(f, metric, grain, period, 0, NULL, 0, NULL);
}

static inline int64_t
fx_scalar(fx *f, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Breakdowns add up: for every counter set, each single dimension sums to
 * the national total, each pair sums to both of its single dimensions, and
 * nothing is negative or zero.  Except trainees by a place (centre,
 * district, province, programme): a person trained at two is a unique
 * trainee at each (DESIGN "Where a figure happened"), so summed over a place
 * they give at least the national figure, not it. */
static inline void
fx_check_sums(fx *f)
{
    assert_int_equal(fx_scalar(f, "SELECT count(*) FROM totals WHERE n <= 0"), 0);
    assert_int_equal(
        fx_scalar(f, "SELECT count(*) FROM (SELECT t.metric, t.grain, t.period, t.d1,"
                     " sum(t.n) AS s, (SELECT n FROM totals x WHERE x.metric = t.metric AND"
                     " x.grain = t.grain AND x.period = t.period AND x.d1 = 0) AS nat"
                     " FROM totals t WHERE t.d1 > 0 AND t.d2 = 0"
                     " AND NOT (t.metric = 2 AND t.d1 IN (1, 2, 3, 4))"
                     " GROUP BY t.metric, t.grain, t.period, t.d1) WHERE nat IS NULL OR s != nat"),
        0);
    assert_int_equal(
        fx_scalar(f, "SELECT count(*) FROM (SELECT t.metric, t.grain, t.period, t.d1, t.v1,"
                     " t.d2, sum(t.n) AS s, (SELECT n FROM totals x WHERE x.metric = t.metric"
                     " AND x.grain = t.grain AND x.period = t.period AND x.d1 = t.d1"
                     " AND x.v1 = t.v1 AND x.d2 = 0) AS one"
                     " FROM totals t WHERE t.d2 > 0 AND NOT (t.metric = 2 AND t.d2 IN (1, 2, 3, 4))"
                     " GROUP BY t.metric, t.grain, t.period, t.d1, t.v1, t.d2)"
                     " WHERE one IS NULL OR s != one"),
        0);
    assert_int_equal(
        fx_scalar(f, "SELECT count(*) FROM (SELECT t.metric, t.grain, t.period, t.d2, t.v2,"
                     " t.d1, sum(t.n) AS s, (SELECT n FROM totals x WHERE x.metric = t.metric"
                     " AND x.grain = t.grain AND x.period = t.period AND x.d1 = t.d2"
                     " AND x.v1 = t.v2 AND x.d2 = 0) AS one"
                     " FROM totals t WHERE t.d2 > 0 AND NOT (t.metric = 2 AND t.d1 IN (1, 2, 3, 4))"
                     " GROUP BY t.metric, t.grain, t.period, t.d2, t.v2, t.d1)"
                     " WHERE one IS NULL OR s != one"),
        0);
    /* Trainees by a place: together at least the national figure, each at
     * most it; a district at most its province (both from the centre the
     * event was held at). */
    assert_int_equal(
        fx_scalar(f, "SELECT count(*) FROM (SELECT t.grain, t.period, t.d1, sum(t.n) AS s,"
                     " max(t.n) AS mx, (SELECT n FROM totals x WHERE x.metric = 2"
                     " AND x.grain = t.grain AND x.period = t.period AND x.d1 = 0) AS nat"
                     " FROM totals t WHERE t.metric = 2 AND t.d1 IN (1, 2, 3, 4) AND t.d2 = 0"
                     " GROUP BY t.grain, t.period, t.d1)"
                     " WHERE nat IS NULL OR s < nat OR mx > nat"),
        0);
}

/* A digest of every state table (rows in key order), to compare states. */
static inline void
fx_digest(fx *f, uint8_t out[32])
{
    crypto_generichash_state h;
    int i, c;
    crypto_generichash_init(&h, NULL, 0, 32);
    for (i = 0; merge_state_tables[i]; i++) {
        char sql[300];
        sqlite3_stmt *st;
        int ncol, k;
        size_t n;
        snprintf(sql, sizeof sql, "SELECT * FROM %s", merge_state_tables[i]);
        assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
        ncol = sqlite3_column_count(st);
        sqlite3_finalize(st);
        n = strlen(sql);
        for (k = 1; k <= ncol && k <= 8; k++)
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s%d", k == 1 ? " ORDER BY " : ", ", k);
        assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
        crypto_generichash_update(&h, (const uint8_t *)sql, strlen(sql));
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (c = 0; c < sqlite3_column_count(st); c++) {
                uint8_t t = (uint8_t)sqlite3_column_type(st, c);
                int64_t v;
                crypto_generichash_update(&h, &t, 1);
                switch (t) {
                case SQLITE_INTEGER:
                    v = sqlite3_column_int64(st, c);
                    crypto_generichash_update(&h, (const uint8_t *)&v, sizeof v);
                    break;
                case SQLITE_TEXT:
                case SQLITE_BLOB:
                    crypto_generichash_update(&h, sqlite3_column_blob(st, c),
                                              (size_t)sqlite3_column_bytes(st, c));
                    t = 0xff;
                    crypto_generichash_update(&h, &t, 1);
                    break;
                default: break;
                }
            }
        }
        sqlite3_finalize(st);
    }
    crypto_generichash_final(&h, out, 32);
}

#endif
