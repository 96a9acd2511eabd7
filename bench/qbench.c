/*
 * qbench: dashboard query latencies; see qbench.h.
 */
#include "bench/qbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/srvproc.h"
#include "common/db.h"
#include "common/hlc.h"
#include "common/util.h"
#include "server/query.h"
#include "server/state_store.h"

enum qb_kind { QB_ROWS, QB_SHARES, QB_ASOF, QB_CENTRES };

/* One dashboard question: name=value options as query_spec_set takes them;
 * "@year" is replaced by the data's current year. */
typedef struct qb_def {
    const char *name;   /* label in the report */
    int kind;           /* enum qb_kind */
    const char *opt[8]; /* name, value pairs, NULL-terminated */
} qb_def;

static const qb_def qb_defs[] = {
    {"registered, national", QB_ROWS, {"metric", "registered", NULL}},
    {"registered by province", QB_ROWS, {"metric", "registered", "by", "province", NULL}},
    {"registered by gender", QB_ROWS, {"metric", "registered", "by", "gender", NULL}},
    {"registered by age band", QB_ROWS, {"metric", "registered", "by", "age", NULL}},
    {"registered province x gender",
     QB_ROWS,
     {"metric", "registered", "by", "province", "by", "gender", NULL}},
    {"registered by district in Punjab",
     QB_ROWS,
     {"metric", "registered", "by", "district", "province", "Punjab", NULL}},
    {"registered by centre in Lahore",
     QB_ROWS,
     {"metric", "registered", "by", "centre", "district", "Lahore", NULL}},
    {"registered by month", QB_ROWS, {"metric", "registered", "grain", "month", NULL}},
    {"registered area x skill",
     QB_ROWS,
     {"metric", "registered", "by", "area", "by", "skill", NULL}},
    {"trainees this year", QB_ROWS, {"metric", "trainees", "period", "@year", NULL}},
    {"trainees by province this year",
     QB_ROWS,
     {"metric", "trainees", "by", "province", "period", "@year", NULL}},
    {"trainees by month", QB_ROWS, {"metric", "trainees", "grain", "month", NULL}},
    {"attendances by event kind", QB_ROWS, {"metric", "attendances", "by", "kind", NULL}},
    {"events by kind", QB_ROWS, {"metric", "events", "by", "kind", NULL}},
    {"registered by year", QB_ROWS, {"metric", "registered", "grain", "year", NULL}},
    {"events by kind by quarter",
     QB_ROWS,
     {"metric", "events", "by", "kind", "grain", "quarter", NULL}},
    {"women and youth shares, registered", QB_SHARES, {"metric", "registered", NULL}},
    {"women and youth shares, trainees",
     QB_SHARES,
     {"metric", "trainees", "period", "@year", NULL}},
    {"as of (nodes fresh)", QB_ASOF, {NULL}},
    {"centres not synced recently", QB_CENTRES, {NULL}},
};
#define QB_N (int)(sizeof qb_defs / sizeof qb_defs[0])

typedef struct qb_sum {
    int64_t total; /* sum of row counts */
    int64_t rows;  /* rows returned */
} qb_sum;

static int
qb_row_sum(void *arg, const query_row *row)
{
    qb_sum *s = arg;
    s->total += row->count;
    s->rows++;
    return 0;
}

static int
qb_centre_count(void *arg, const query_centre_sync *c)
{
    qb_sum *s = arg;
    s->total += c->stale;
    s->rows++;
    return 0;
}

static int
qb_spec(const qb_def *d, int year, query_spec *q, rz_error *err)
{
    char ybuf[16];
    int i, rc;
    query_spec_init(q);
    snprintf(ybuf, sizeof ybuf, "%d", year);
    for (i = 0; d->opt[i]; i += 2) {
        const char *v = strcmp(d->opt[i + 1], "@year") == 0 ? ybuf : d->opt[i + 1];
        if ((rc = query_spec_set(q, d->opt[i], v, err)))
            return rz_fail(err, rc, "query '%s': %s", d->name, err ? err->text : "");
    }
    return query_spec_check(q, err);
}

/* Runs one query once; *value gets its figure. */
static int
qb_once(sqlite3 *db, const qb_def *d, const query_spec *q, int64_t *value, rz_error *err)
{
    qb_sum s = {0, 0};
    int rc = 0;
    switch (d->kind) {
    case QB_ROWS:
        rc = query_run(db, q, qb_row_sum, &s, err);
        *value = s.total;
        break;
    case QB_SHARES: {
        query_shares sh;
        rc = query_shares_get(db, q, &sh, err);
        *value = sh.women;
        break;
    }
    case QB_ASOF: {
        query_asof a;
        rc = query_asof_get(db, hlc_wall_ms(), 7, &a, err);
        *value = a.nodes_fresh;
        break;
    }
    default:
        rc = query_centres_sync(db, hlc_wall_ms(), 7, qb_centre_count, &s, err);
        *value = s.rows;
        break;
    }
    return rc;
}

static int
qb_total(sqlite3 *db, const char *metric, int64_t *out, rz_error *err)
{
    query_spec q;
    int rc;
    query_spec_init(&q);
    if ((rc = query_spec_set(&q, "metric", metric, err)))
        return rc;
    return query_total(db, &q, out, err);
}

/* A date-range question the counters cannot answer: trainees in the last
 * 90 days of the data, by province. */
static int
qb_range(sqlite3 *db, int year, int rounds, qbench_result *res, rz_error *err)
{
    query_spec q;
    char from[16], to[16];
    double *t = xcalloc((size_t)rounds, sizeof *t);
    int i, rc = 0;
    snprintf(from, sizeof from, "%d-08-03", year);
    snprintf(to, sizeof to, "%d-10-31", year);
    query_spec_init(&q);
    if ((rc = query_spec_set(&q, "metric", "trainees", err)) ||
        (rc = query_spec_set(&q, "by", "province", err)) ||
        (rc = query_spec_set(&q, "from", from, err)) || (rc = query_spec_set(&q, "to", to, err)) ||
        (rc = query_spec_check(&q, err)))
        goto out;
    for (i = 0; i < rounds; i++) {
        qb_sum s = {0, 0};
        double t0 = bench_now();
        if ((rc = query_run(db, &q, qb_row_sum, &s, err)))
            goto out;
        t[i] = (bench_now() - t0) * 1e3;
    }
    res->range_p50_ms = bench_quantile(t, (size_t)rounds, 0.50);
    res->range_p99_ms = bench_quantile(t, (size_t)rounds, 0.99);
out:
    free(t);
    return rc;
}

int
qbench_run(const char *dir, int rounds, int year, qbench_result *res, rz_error *err)
{
    query_spec q[QB_N];
    double *t = xcalloc((size_t)rounds * QB_N, sizeof *t);
    double *all = xcalloc((size_t)rounds * QB_N, sizeof *all);
    double *cpu = xcalloc((size_t)rounds * QB_N, sizeof *cpu);
    sqlite3 *db = NULL;
    int i, r, rc;

    memset(res, 0, sizeof *res);
    if ((rc = state_store_reader_open(&db, dir, err)))
        goto out;
    for (i = 0; i < QB_N; i++)
        if ((rc = qb_spec(&qb_defs[i], year, &q[i], err)))
            goto out;
    /* Round-robin: every query sees the cache the others leave. */
    for (r = 0; r < rounds; r++)
        for (i = 0; i < QB_N; i++) {
            double t0 = bench_now(), c0 = bench_cpu_now();
            if ((rc = qb_once(db, &qb_defs[i], &q[i], &res->row[i].value, err)))
                goto out;
            t[(size_t)i * rounds + r] = (bench_now() - t0) * 1e3;
            cpu[(size_t)i * rounds + r] = (bench_cpu_now() - c0) * 1e3;
        }
    for (i = 0; i < QB_N && i < QBENCH_MAX; i++) {
        double *ti = &t[(size_t)i * rounds];
        memcpy(&all[(size_t)i * rounds], ti, (size_t)rounds * sizeof *ti);
        res->row[i].name = qb_defs[i].name;
        res->row[i].p50_ms = bench_quantile(ti, (size_t)rounds, 0.50);
        res->row[i].p99_ms = bench_quantile(ti, (size_t)rounds, 0.99);
        res->row[i].max_ms = ti[rounds - 1];
        res->n++;
    }
    res->p50_ms = bench_quantile(all, (size_t)rounds * QB_N, 0.50);
    res->p99_ms = bench_quantile(all, (size_t)rounds * QB_N, 0.99);
    res->cpu_p99_ms = bench_quantile(cpu, (size_t)rounds * QB_N, 0.99);
    if ((rc = qb_total(db, "registered", &res->registered, err)) ||
        (rc = qb_total(db, "attendances", &res->attendances, err)) ||
        (rc = qb_total(db, "trainees", &res->trainees, err)) ||
        (rc = qb_total(db, "events", &res->events, err)))
        goto out;
    rc = qb_range(db, year, rounds < 5 ? rounds : 5, res, err);
out:
    rz_db_close(&db);
    free(t);
    free(all);
    free(cpu);
    return rc;
}

/* The requests the dashboard page (web/dashboard.js) makes for the
 * national view, plus one drill-down into a province. */
static const char *const qb_http_paths[] = {
    "/api/summary?stale_days=7",
    "/api/totals?metric=registered&by=province",
    "/api/totals?metric=trainees&by=province",
    "/api/totals?metric=registered&grain=month",
    "/api/totals?metric=trainees&grain=month",
    "/api/totals?metric=registered&by=gender",
    "/api/totals?metric=events&by=kind",
    "/api/centres?stale_days=7",
    "/api/totals?metric=registered&grain=year",
    "/api/totals?metric=registered&by=district&province=Punjab",
};
#define QB_HTTP_N (int)(sizeof qb_http_paths / sizeof qb_http_paths[0])

int
qbench_http(const struct srvproc *s, int rounds, double *p50_ms, double *p99_ms, rz_error *err)
{
    double *t = xcalloc((size_t)rounds * QB_HTTP_N, sizeof *t);
    int r, i, rc = 0;
    for (r = 0; r < rounds; r++)
        for (i = 0; i < QB_HTTP_N; i++) {
            char *body = NULL;
            size_t len = 0;
            int status = 0;
            double t0 = bench_now();
            rc = srvproc_http_get(s, qb_http_paths[i], &status, &body, &len, err);
            t[(size_t)r * QB_HTTP_N + i] = (bench_now() - t0) * 1e3;
            free(body);
            if (rc == 0 && status != 200)
                rc = rz_fail(err, RZ_E_IO, "GET %s answered %d", qb_http_paths[i], status);
            if (rc)
                goto out;
        }
    *p50_ms = bench_quantile(t, (size_t)rounds * QB_HTTP_N, 0.50);
    *p99_ms = bench_quantile(t, (size_t)rounds * QB_HTTP_N, 0.99);
out:
    free(t);
    return rc;
}
