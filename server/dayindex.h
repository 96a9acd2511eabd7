/*
 * dayindex: the day index, which answers any exact date range (registered,
 * trainees, attendances, events; every filter and group-by of query.h) in
 * time that grows with the days and centres of the range, not with the
 * rows of the state tables.  It lives in state.db beside the state it is
 * derived from, is written by the merger in the same transaction (so it is
 * always exactly the state's), and is rebuilt with it.
 *
 * What it holds (tables dx_*, created by dayindex_schema):
 *
 *   dx_id(ckey, id)        each CNIC cluster (person) gets a dense integer
 *                          id the first time it is seen; never reused
 *   dx_post(fam, centre, blk, data)
 *                          per family, centre and block of 8 days: the
 *                          cells (day, kind) of that block, each a sorted
 *                          list of cluster ids (a person attending twice
 *                          on a day at a centre is listed twice) or, for
 *                          events, a count:
 *                            fam 1  registrations: the cluster's place and
 *                                   registration date (st_cluster)
 *                            fam 2  attendances: the centre that ran the
 *                                   event, its day and kind (st_cluster_att)
 *                            fam 3  live events: centre, date, kind
 *                          and, per centre and MONTH, fam 4: the
 *                          attendances of family 2 once more, each person
 *                          once per (month, kind) with its count
 *   dx_attr(col, chunk, data)
 *                          the person attributes (gender, area, skill,
 *                          birth year, home district) by id, one column
 *                          per row, 4096 ids per chunk
 *   dx_text(id, s)         interned home districts
 *   dx_meta(k, v)          'built' = layout version once the index covers
 *                          the state (another version: rebuilt on open)
 *
 * A query reads, for each centre its filters allow, the blocks of its
 * range (one b-tree range per centre), keeps the cells of the range's days
 * and kinds, and counts; attendances and trainees take the whole months
 * of each period from the month rows and only the days before and after
 * them from the blocks, so a year reads each person once per month and
 * kind instead of once per attendance.  Events and registrations/
 * attendances add up (a month row's ids with their counts);
 * trainees are the union of the ids per group (one bitset of one bit per
 * person, reused group after group).  Person filters and breakdowns read
 * the attribute columns they need.  Registrations, attendances and events
 * add up over months: when the caller can read the merged month counters
 * by every dimension asked (dayindex_query.months, query.c), a period's
 * whole months come from those (one read for all centres) and only the
 * days around them from the index.
 *
 * Ids are assigned in merge order, so the bytes of dx_* depend on that
 * order; what they mean does not.  dayindex_check() compares the index
 * with a derivation from the state tables (which a rebuild reproduces byte
 * for byte): `rozgar-server verify` runs it.
 *
 * Not here: the merge rules (merge.h; the merger calls the hooks below with
 * what changed) and the meaning of a query (query.h; query.c resolves the
 * filters and labels the rows).
 */
#ifndef RZ_DAYINDEX_H
#define RZ_DAYINDEX_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "common/rz_err.h"

#define DAYINDEX_CKEY 17    /* bytes of a cluster key (merge_int.h MG_CKEY) */
#define DAYINDEX_MAX_F 8    /* filters of one query (query.h QUERY_MAX_WHERE) */
#define DAYINDEX_BLOCK 8    /* days per stored block */
#define DAYINDEX_CHUNK 4096 /* ids per attribute chunk */

/* NULL-terminated names of the index's tables (rebuild copies them). */
extern const char *const dayindex_tables[];

/* Creates the tables if missing; when the index was never built over this
 * state (a database from before it, or a reset), builds it from the state
 * tables.  Call after the state tables exist. */
int dayindex_schema(sqlite3 *db, rz_error *err) RZ_WUR;

/* ---- maintenance (the merger) ----------------------------------------------- */

/* A cluster's counted profile, as merge keeps it (merge_int.h mg_prof). */
typedef struct dayindex_prof {
    int64_t centre_id;  /* place */
    int64_t reg_date;   /* YYYYMMDD, 0 unknown */
    int64_t gender;     /* codes, 0 unknown */
    int64_t birth_year; /* year, 0 unknown */
    int64_t area;
    int64_t skill;
    const char *home; /* normalised district of residence, "" unknown (borrowed) */
} dayindex_prof;

typedef struct dayindex dayindex;

/* Prepares on db (the merge connection); *out owned by the caller. */
int dayindex_new(dayindex **out, sqlite3 *db, rz_error *err) RZ_WUR;
void dayindex_destroy(dayindex **dx);

/* Hooks: what changed in the state, kept in memory until the flush.  They
 * never fail.  A cluster's bucket (day, kind, centre) of st_cluster_att
 * changed by delta attendances; a cluster appeared, changed or went away
 * (before/after NULL when it did not / does not exist); a live event's
 * counting facts (day, kind, centre) start (+1) or stop (-1) counting. */
void dayindex_att(dayindex *dx, const uint8_t ckey[DAYINDEX_CKEY], int64_t day, int64_t kind,
                  int64_t centre, int64_t delta);
void dayindex_cluster(dayindex *dx, const uint8_t ckey[DAYINDEX_CKEY], const dayindex_prof *before,
                      const dayindex_prof *after);
void dayindex_event(dayindex *dx, int64_t day, int64_t kind, int64_t centre, int64_t delta);

/* Writes what the hooks gathered, each touched row once; inside the
 * caller's transaction.  Errors: storage failures (the caller rolls back
 * and calls dayindex_discard). */
int dayindex_flush(dayindex *dx, rz_error *err) RZ_WUR;
/* Forgets what the hooks gathered and every cached id (after a ROLLBACK). */
void dayindex_discard(dayindex *dx);

/* Compares the index of db with a derivation from its state tables;
 * *diff = differing entries (0: the index is exact).  Reports to out
 * (may be NULL). */
int dayindex_check(sqlite3 *db, FILE *out, int64_t *diff, rz_error *err) RZ_WUR;

/* ---- queries ---------------------------------------------------------------- */

/* A filter resolved as query.c resolves it: dimension (enum merge_dim) and
 * the stored value, text (matched case-insensitively) or code. */
typedef struct dayindex_filter {
    int dim;       /* enum merge_dim */
    int text;      /* 1: s, 0: code */
    int64_t code;  /* INTEGER value (centre id for centre) */
    const char *s; /* TEXT value (borrowed) */
} dayindex_filter;

/* A group's value: a code, or a text (NULL / "" unknown). */
typedef struct dayindex_val {
    int text;      /* 1: s */
    int64_t code;  /* code, centre id */
    const char *s; /* borrowed for the callback */
} dayindex_val;

/* Whole months of an additive question from the merged counters.  The
 * caller (query.c, which knows the counter layout) reads the month
 * counters of months mlo..mhi (YYYYMM) by the dimensions md[] of the query
 * and calls row() once per counter with its month, the values of md[0],
 * md[1] (centre: its id; home: its text) and its count; a non-zero return
 * of row() stops the read and is returned. */
typedef int (*dayindex_month_row_fn)(void *arg, uint32_t month, const dayindex_val v[2],
                                     int64_t count);
typedef int (*dayindex_months_fn)(void *arg, uint32_t mlo, uint32_t mhi, dayindex_month_row_fn row,
                                  void *row_arg, rz_error *err);

typedef struct dayindex_query {
    int metric;                        /* enum merge_metric */
    uint32_t from, to;                 /* YYYYMMDD inclusive */
    int grain;                         /* rows per RZ_GRAIN_* period, or MERGE_GRAIN_ALL */
    int age_year;                      /* ages in this year; 0: the year of each fact */
    int nby;                           /* group-by dimensions used */
    int by[2];                         /* enum merge_dim */
    int nf;                            /* filters used */
    dayindex_filter f[DAYINDEX_MAX_F]; /* all must hold */
    /* Optional (NULL: every day from the index).  Only for registrations,
     * attendances and events (they add up over months), and only when
     * every filter and group-by is held by the month counters as md[]:
     * a place dimension or the centre as MERGE_D_CENTRE, the others as
     * themselves.  Months whose ages the counters hold in another year
     * than the question's (age asked, age_year set, another year) are
     * read from the index. */
    dayindex_months_fn months;
    void *months_arg;
    int nmd;   /* dimensions of the counter rows, 0..2 */
    int md[2]; /* enum merge_dim, ascending */
} dayindex_query;

/* One answer row: period key (0 with grain ALL), values of by[0], by[1].
 * Non-zero stops the run and is returned. */
typedef int (*dayindex_row_fn)(void *arg, uint32_t period, const dayindex_val v[2], int64_t count);

/* 1 when db (a reader) holds a built index. */
int dayindex_ready(sqlite3 *db);
/* Answers q; rows with a non-zero count in the order of the state path
 * (period, then values, unknown last).  RZ_E_IO on database errors,
 * RZ_E_INTERNAL for a corrupt index.  Thread-safe on separate connections;
 * at most two runs at a time per process (bounded memory), others wait.
 * The callback must not start another run. */
int dayindex_run(sqlite3 *db, const dayindex_query *q, dayindex_row_fn fn, void *arg, rz_error *err)
    RZ_WUR;

/* Whole months answered from the counters (q->months) since the process
 * started, all runs together (tests and the benchmark show the path is
 * taken). */
uint64_t dayindex_months_from_counters(void);

#endif
