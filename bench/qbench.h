/*
 * qbench: times the national breakdowns the headquarters dashboard asks
 * for, through the same query layer the dashboard uses (server/query.h),
 * on a read-only handle of the server's database, as server/http.c opens
 * it.  Each query runs `rounds` times, interleaved with the others so no
 * one query gets a warm cache to itself; p50 and p99 are per query and over
 * all of them.  Arbitrary date ranges (computed from the state, not the
 * counters) are timed apart: they have their own documented cost.
 */
#ifndef RZ_BENCH_QBENCH_H
#define RZ_BENCH_QBENCH_H

#include <stdint.h>

#include "common/rz_err.h"

#define QBENCH_MAX 24

typedef struct qbench_row {
    const char *name; /* what the dashboard shows, e.g. "registered by province" */
    double p50_ms;    /* median latency */
    double p99_ms;    /* 99th percentile */
    double max_ms;    /* slowest run */
    int64_t value;    /* the query's total (a sanity figure) */
} qbench_row;

typedef struct qbench_result {
    int n;                      /* used rows */
    qbench_row row[QBENCH_MAX]; /* per query */
    double p50_ms, p99_ms;      /* over every run of every breakdown */
    double cpu_p99_ms;          /* the same runs' CPU time (scheduling excluded) */
    double range_p50_ms;        /* date-range query (day index) */
    double range_p99_ms;
    int64_t registered;  /* national unique persons */
    int64_t attendances; /* counted attendance rows */
    int64_t trainees;    /* unique persons trained */
    int64_t events;      /* live events */
} qbench_result;

/* Times the dashboard's breakdowns on the stores of server directory dir
 * (read-only, as the HTTP server reads them).  year is the current year
 * of the data (for "trained this year" style figures). */
int qbench_run(const char *dir, int rounds, int year, qbench_result *res, rz_error *err) RZ_WUR;

/* Exact date ranges (issue 11): a set of questions over the last 7, 30,
 * 90, 365 and 730 days of the data (ending at last_day, YYYYMMDD, the last
 * day of a month), and over 90, 365 and 730 days ending mid-month (15 days
 * earlier: both ends inside a month, as "the last N days" of a dashboard
 * usually are), with and without filters, each asked `rounds` times
 * through query_run (the day index; with no_counters its whole months from
 * the index too, not from the month counters: the path before those) and
 * `scan_rounds` times with scan = 1 (the state tables: the baseline).
 * Every index answer must equal the scan's (rows and counts): RZ_E_INTERNAL
 * otherwise. */
#define QBENCH_RANGES_MAX 64
#define QBENCH_MID_BACK 15 /* days from last_day back to the mid-month end */

typedef struct qbench_range_row {
    char name[96];      /* e.g. "trainees by province, 90 days" */
    int days;           /* length of the range */
    int mid;            /* 1: ends mid-month (QBENCH_MID_BACK days before last_day) */
    double p50_ms;      /* index */
    double p99_ms;      /* index */
    double cpu_p50_ms;  /* index, CPU time of the querying thread (load-independent) */
    double cpu_p99_ms;  /* index, CPU time */
    double scan_p50_ms; /* baseline: state tables */
    double scan_max_ms; /* baseline, slowest run */
    int64_t total;      /* sum of the rows (same from both) */
    int64_t rows;       /* rows */
} qbench_range_row;

typedef struct qbench_ranges_result {
    int n;                                   /* used rows */
    qbench_range_row row[QBENCH_RANGES_MAX]; /* per question */
    double p50_ms, p99_ms;                   /* index, every run of every question */
    double scan_p50_ms, scan_p99_ms;         /* baseline, every run */
    double days_p99_ms[5];                   /* index p99 by range: 7, 30, 90, 365, 730 days */
    double mid_p99_ms[5];                    /* the same, ending mid-month (90, 365, 730 days) */
} qbench_ranges_result;

int qbench_ranges(const char *dir, uint32_t last_day, int rounds, int scan_rounds, int no_counters,
                  qbench_ranges_result *res, rz_error *err) RZ_WUR;

/* HTTP variant: the same kind of figures through the running server's JSON
 * API (GET /api/summary and /api/totals), including HTTP and JSON cost. */
struct srvproc;
int qbench_http(const struct srvproc *s, int rounds, double *p50_ms, double *p99_ms, rz_error *err)
    RZ_WUR;

#endif
