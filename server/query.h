/*
 * query: read-only questions about the national totals, shared by the
 * `rozgar-server totals` command and the HTTP API/dashboard.
 *
 * A query names a metric, a time window and up to two group-by dimensions,
 * with filters (dimension = value).  It is answered from the maintained
 * counters (table `counters`, see server/merge.h) whenever the dimensions
 * involved (group-by plus filters) are at most two and the window is a
 * period or all time: one index range per period, cost independent of the
 * number of people.  Otherwise (an exact date range, or three or more
 * dimensions) it is answered at query time from the merged state tables:
 *
 *   registered   one pass over all st_cluster rows (no index by date:
 *                the merger would write a random page of it per person);
 *   attendances  one pass over every st_cluster_att row, those whose day
 *   trainees     is in the range joined to st_cluster; trainees count
 *                DISTINCT clusters (a temporary b-tree).  The merger keeps
 *                no index by day (one b-tree insertion per attendance
 *                less): an exact range is answered by the day index
 *                (server/dayindex.h) unless `scan` asks for this path
 *                (registrations, attendances and events with dimensions
 *                the month counters hold: their whole months from the
 *                counters, the days around them from the index);
 *   events       one pass over st_event rows in the range (st_event_date).
 *
 * so the cost of registrations and events grows with the rows inside the
 * range (about a second per few million rows), that of attendances and
 * trainees with all buckets.  Everything here only reads;
 * it works on a read-only handle and never changes the database.
 */
#ifndef RZ_QUERY_H
#define RZ_QUERY_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "common/rz_err.h"
#include "server/merge.h"

enum { QUERY_MAX_BY = 2, QUERY_MAX_WHERE = 8, QUERY_VALUE_MAX = 128 };

enum query_format { QUERY_FMT_TEXT = 0, QUERY_FMT_JSON = 1, QUERY_FMT_CSV = 2 };

/* One filter: dimension = value (the value as a user writes it:
 * "Punjab", "female", "20-24", "training", a centre name, "unknown"). */
typedef struct query_filter {
    int dim;                     /* enum merge_dim */
    char value[QUERY_VALUE_MAX]; /* NUL-terminated */
} query_filter;

/*
 * The time side of a query is a window and a row grain:
 *
 *   window ALL     every date, unknown dates included
 *   window PERIOD  one period (period_grain, period), e.g. 2026-Q1
 *   window RANGE   the exact dates [from, to]
 *
 * and rows come per period of `grain` inside the window (grain must not be
 * coarser than a PERIOD window's), or one row set for the whole window when
 * grain is MERGE_GRAIN_ALL.  CLI: --period P sets a PERIOD window and, unless
 * --grain says otherwise, grain = P's grain; --grain G alone means every
 * period of G; --from/--to set a RANGE window.
 */
enum query_window { QUERY_WIN_ALL = 0, QUERY_WIN_PERIOD = 1, QUERY_WIN_RANGE = 2 };

typedef struct query_spec {
    int metric;                          /* enum merge_metric */
    int grain;                           /* rows per period of: RZ_GRAIN_* or MERGE_GRAIN_ALL */
    int window;                          /* enum query_window */
    int period_grain;                    /* WINDOW_PERIOD: grain of `period` */
    uint32_t period;                     /* WINDOW_PERIOD: period key (period_key form) */
    uint32_t from, to;                   /* WINDOW_RANGE: YYYYMMDD inclusive */
    int nby;                             /* used entries of by */
    int by[QUERY_MAX_BY];                /* group-by dimensions (enum merge_dim) */
    int nwhere;                          /* used entries of where */
    query_filter where[QUERY_MAX_WHERE]; /* filters, all must hold */
    int scan;                            /* 1: answer from the state tables even when the
                                            counters could (verification, tests) */
    int no_counters;                     /* 1: a date window the day index answers takes
                                            its whole months from the index too, not from
                                            the month counters (tests) */
    int grain_set;                       /* internal: grain given explicitly */
} query_spec;

/* One answer row; strings are borrowed for the callback's duration. */
typedef struct query_row {
    const char *period;              /* "2026-03", "2026-Q1", "2026", "unknown", "all", or
                                        "2026-01-05..2026-02-01" for a range window */
    uint32_t period_key;             /* period_key() form, 0 for unknown/all/range */
    const char *label[QUERY_MAX_BY]; /* labels of by[0], by[1]; NULL when unused */
    int64_t count;                   /* the count */
} query_row;

/* Return non-zero to stop; that value is returned by query_run. */
typedef int (*query_row_fn)(void *arg, const query_row *row);

/* Default: registered, all time, national. */
void query_spec_init(query_spec *q);

/* Names <-> codes.  *_parse return -1 for an unknown name. */
int query_metric_parse(const char *name); /* registered trainees attendances events */
const char *query_metric_name(int metric);
int query_dim_parse(const char *name); /* province district centre programme gender
                                          age area skill home kind */
const char *query_dim_name(int dim);

/* Applies one option by name, as both the CLI (--name value) and the HTTP
 * API (?name=value) spell them: metric, by, period, grain
 * (month|quarter|year|all), from, to (YYYY-MM-DD), period also as a
 * fiscal year "FY2025-26" (1 July 2025 - 30 June 2026, a RANGE window), where ("dim=value"), or a
 * dimension name directly as a filter ("province" = "Punjab").  RZ_E_ARG
 * with a reason for bad input. */
int query_spec_set(query_spec *q, const char *name, const char *value, rz_error *err) RZ_WUR;
/* Checks the whole spec (dimensions allowed for the metric, range order). */
int query_spec_check(const query_spec *q, rz_error *err) RZ_WUR;

/* Runs the query; rows come ordered by period (unknown last), then by
 * value (unknown last).  Rows with count 0 are not produced, except that a
 * query without group-by over one window (grain = window) always yields its
 * one row.  Age in a period is the period's year minus the birth year; for
 * all time the registration year's; for a RANGE window with grain ALL (a
 * date range or a fiscal year) the year in which it ends (this year when it
 * has no end).  Returns 0,
 * RZ_E_ARG for an invalid spec, RZ_E_IO/RZ_E_BUSY on database errors, or
 * the callback's non-zero value. */
int query_run(sqlite3 *db, const query_spec *q, query_row_fn fn, void *arg, rz_error *err) RZ_WUR;
/* Where query_run answers the spec from: "totals" (the maintained
 * counters), "index" (the day index of exact ranges, server/dayindex.h) or
 * "state" (a scan of the state tables).  Static string. */
const char *query_source(sqlite3 *db, const query_spec *q);
/* The spec's count for its whole window under its filters, group-by and
 * grain ignored: for trainees the number of distinct persons in the window,
 * never a sum of per-month or per-place unique counts. */
int query_total(sqlite3 *db, const query_spec *q, int64_t *count, rz_error *err) RZ_WUR;
/* 1 when the spec's rows add up to query_total (every metric but trainees,
 * and trainees with one row for the window); 0 when a person can be in
 * several rows.  query_rows_note: a sentence saying so (static), or NULL. */
int query_rows_add_up(const query_spec *q);
const char *query_rows_note(const query_spec *q);

/* Women's and youth (15-29, age bands 2..4) shares of a person metric
 * (registered, trainees, attendances) under the spec's window and filters.
 * Shares are of the whole count, unknowns included; 0 when total is 0. */
typedef struct query_shares {
    int64_t total;      /* the count */
    int64_t women;      /* of which gender = female */
    int64_t youth;      /* of which in age bands 15-19, 20-24, 25-29 */
    double women_share; /* women / total */
    double youth_share; /* youth / total */
} query_shares;
int query_shares_get(sqlite3 *db, const query_spec *q, query_shares *out, rz_error *err) RZ_WUR;

/* "As of": how complete the totals are.  Operational facts, outside the
 * rebuild promise. */
typedef struct query_asof {
    uint64_t now_ms;            /* the time the answer was made */
    int stale_days;             /* threshold used for nodes_fresh */
    int64_t nodes;              /* enrolled, unrevoked nodes */
    int64_t nodes_fresh;        /* of which in contact within stale_days */
    uint64_t newest_sync_ms;    /* newest data (batch with new entries) of any node, 0: never */
    uint64_t newest_contact_ms; /* newest contact (HELLO or batch) of any node, 0: never */
    int64_t centres;            /* centres with an unrevoked node */
    int64_t centres_stale;      /* of which no node was in contact within stale_days */
} query_asof;
int query_asof_get(sqlite3 *db, uint64_t now_ms, int stale_days, query_asof *out, rz_error *err)
    RZ_WUR;

/* Per centre, over its unrevoked nodes: last contact (a sync, even one with
 * nothing new) and last data (a batch with new entries).  Staleness goes by
 * contact: a centre that synced and had nothing to send is not behind. */
typedef struct query_centre_sync {
    int64_t centre_id;        /* centre */
    const char *name;         /* borrowed */
    const char *province;     /* borrowed */
    const char *district;     /* borrowed */
    const char *programme;    /* programme name */
    int64_t nodes;            /* unrevoked nodes of the centre */
    uint64_t last_sync_ms;    /* last data; 0: never */
    uint64_t last_contact_ms; /* last contact; 0: never */
    int64_t lag_ms;           /* now - last_sync_ms, -1 when never */
    int64_t contact_lag_ms;   /* now - last_contact_ms, -1 when never */
    int stale;                /* 1: no contact within stale_days */
    int64_t revoked_nodes;    /* revoked nodes of the centre */
    int64_t forked_nodes;     /* unrevoked nodes quarantined after a fork */
} query_centre_sync;
typedef int (*query_centre_fn)(void *arg, const query_centre_sync *c);
/* Calls fn for every enrolled centre: those with every node revoked
 * (nodes = 0) first, then stalest first. */
int query_centres_sync(sqlite3 *db, uint64_t now_ms, int stale_days, query_centre_fn fn, void *arg,
                       rz_error *err) RZ_WUR;

/* Writes the query's answer to out as a readable table (with the "as of"
 * line first), JSON ({"as_of":{...},"query":{...},"rows":[...]}) or CSV
 * (header + rows). */
int query_write(sqlite3 *db, const query_spec *q, int format, int stale_days, FILE *out,
                rz_error *err) RZ_WUR;

/* `rozgar-server totals ...`: argv[0] is the command name; options
 * --metric M --by D [--by D2] --period P --grain G --from YYYY-MM-DD
 * --to YYYY-MM-DD --where dim=value (repeatable) --format text|json|csv
 * --stale-days N.  RZ_E_ARG with a reason for bad options. */
int query_cli(sqlite3 *db, int argc, char **argv, FILE *out, rz_error *err) RZ_WUR;

/* The national headline (what `rozgar-server totals` prints with no
 * options): registered, by province, by gender, by centre, events by kind,
 * attendances, unique trainees, women's and youth shares, "as of". */
int query_summary(sqlite3 *db, FILE *out, int json, rz_error *err) RZ_WUR;

/* Writes s as a JSON string literal (quotes and escapes included; bytes
 * that are not UTF-8 become U+FFFD). */
void query_json_string(FILE *out, const char *s);
/* ISO 8601 in Pakistan time (UTC+5, no DST), e.g. "2026-03-04T10:20:00+05:00". */
void query_iso_time(char out[32], uint64_t ms);
/* Writes ,"counting":{"received","counted","waiting_merge","waiting_clock",
 * "complete","paused","last_merge"}: how far the totals have counted,
 * nationally (centre_id 0) or for one centre.  db is a reader connection
 * (state_store_reader_open). */
int query_write_counting(FILE *out, sqlite3 *db, int64_t centre_id, rz_error *err) RZ_WUR;
/* Writes s as one CSV field (RFC 4180 quoting); text a spreadsheet would run
 * as a formula gets a leading apostrophe. */
void query_csv_field(FILE *out, const char *s);

#endif
