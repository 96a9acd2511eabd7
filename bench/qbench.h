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
    double range_p50_ms;        /* date-range query (state scan) */
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

/* HTTP variant: the same kind of figures through the running server's JSON
 * API (GET /api/summary and /api/totals), including HTTP and JSON cost. */
struct srvproc;
int qbench_http(const struct srvproc *s, int rounds, double *p50_ms, double *p99_ms, rz_error *err)
    RZ_WUR;

#endif
