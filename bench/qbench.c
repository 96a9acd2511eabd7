/*
 * qbench: dashboard query latencies; see qbench.h.
 */
#include "bench/qbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/gen.h"
#include "bench/srvproc.h"
#include "common/db.h"
#include "common/domain.h"
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
 * 90 days of the data, by province (the day index answers it; --queries-only
 * also times the state-table scan, qbench_ranges). */
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

/* ---- exact date ranges ------------------------------------------------------- */

/* Questions asked of every range: name, then name=value options. */
static const struct {
    const char *name;
    const char *opt[10];
} qb_range_defs[] = {
    {"trainees, national", {"metric", "trainees", NULL}},
    {"trainees by province", {"metric", "trainees", "by", "province", NULL}},
    {"women trainees in Punjab by district",
     {"metric", "trainees", "by", "district", "province", "Punjab", "gender", "female", NULL}},
    {"registered by gender x age", {"metric", "registered", "by", "gender", "by", "age", NULL}},
    {"rural attendances by event kind",
     {"metric", "attendances", "by", "kind", "area", "rural", NULL}},
    {"events by province", {"metric", "events", "by", "province", NULL}},
    /* Three stored dimensions (centre, area, kind): more than the month
     * counters hold, so whole months come from the day index's month rows. */
    {"rural attendances in Punjab by event kind",
     {"metric", "attendances", "by", "kind", "area", "rural", "province", "Punjab", NULL}},
};
#define QB_RANGE_DEFS (int)(sizeof qb_range_defs / sizeof qb_range_defs[0])
#define QB_LENS 5
static const int qb_range_days[QB_LENS] = {7, 30, 90, 365, 730};

/* Rows as text, to compare the two paths. */
typedef struct qb_text {
    char *s;       /* "label|label=count;" per row */
    size_t n, cap; /* used, allocated */
    int64_t total; /* sum of counts */
    int64_t rows;  /* rows */
} qb_text;

static int
qb_text_row(void *arg, const query_row *row)
{
    qb_text *t = arg;
    char line[512];
    int n = snprintf(line, sizeof line, "%s|%s|%s=%lld;", row->period,
                     row->label[0] ? row->label[0] : "", row->label[1] ? row->label[1] : "",
                     (long long)row->count);
    if (n < 0)
        n = 0;
    if (t->n + (size_t)n + 1 > t->cap) {
        t->cap = (t->n + (size_t)n + 1) * 2;
        t->s = xrealloc(t->s, t->cap);
    }
    memcpy(t->s + t->n, line, (size_t)n + 1);
    t->n += (size_t)n;
    t->total += row->count;
    t->rows++;
    return 0;
}

static int
qb_range_time(sqlite3 *db, const query_spec *q, int rounds, double *t, double *cpu, qb_text *out,
              rz_error *err)
{
    int i, rc;
    for (i = 0; i < rounds; i++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        out->n = 0, out->total = 0, out->rows = 0;
        if (out->s)
            out->s[0] = '\0';
        if ((rc = query_run(db, q, qb_text_row, out, err)))
            return rc;
        t[i] = (bench_now() - t0) * 1e3;
        if (cpu)
            cpu[i] = (bench_cpu_now() - c0) * 1e3;
    }
    return 0;
}

int
qbench_ranges(const char *dir, uint32_t last_day, int rounds, int scan_rounds, int no_counters,
              qbench_ranges_result *res, rz_error *err)
{
    int nq = QB_RANGE_DEFS * QB_LENS * 2, i, k, d, e, rc = 0;
    double *all = xcalloc((size_t)nq * (size_t)rounds, sizeof *all);
    double *sall = xcalloc((size_t)nq * (size_t)scan_rounds + 1, sizeof *sall);
    double *byd[2][QB_LENS];
    double *t = xcalloc((size_t)(rounds > scan_rounds ? rounds : scan_rounds) + 1, sizeof *t);
    double *cpu = xcalloc((size_t)rounds + 1, sizeof *cpu);
    size_t nall = 0, nsall = 0, nd[2][QB_LENS];
    qb_text a = {NULL, 0, 0, 0, 0}, b = {NULL, 0, 0, 0, 0};
    sqlite3 *db = NULL;

    memset(res, 0, sizeof *res);
    memset(nd, 0, sizeof nd);
    for (e = 0; e < 2; e++)
        for (d = 0; d < QB_LENS; d++)
            byd[e][d] = xcalloc((size_t)QB_RANGE_DEFS * (size_t)rounds, sizeof **byd[e]);
    if ((rc = state_store_reader_open(&db, dir, err)))
        goto out;
    /* Round-robin over the questions so no one keeps a warm cache.  Ranges
     * ending mid-month: only from 90 days (shorter ones hold no whole
     * month either way). */
    for (e = 0; e < 2 && rc == 0; e++)
        for (d = e ? 2 : 0; d < QB_LENS && rc == 0; d++)
            for (i = 0; i < QB_RANGE_DEFS && rc == 0 && res->n < QBENCH_RANGES_MAX; i++) {
                qbench_range_row *row = &res->row[res->n];
                uint32_t end = gen_date_add(last_day, e ? -QBENCH_MID_BACK : 0);
                query_spec q;
                char from[11], to[11];
                date_format(from, gen_date_add(end, 1 - qb_range_days[d]));
                date_format(to, end);
                query_spec_init(&q);
                q.no_counters = no_counters;
                for (k = 0; qb_range_defs[i].opt[k] && rc == 0; k += 2)
                    rc = query_spec_set(&q, qb_range_defs[i].opt[k], qb_range_defs[i].opt[k + 1],
                                        err);
                if (rc || (rc = query_spec_set(&q, "from", from, err)) ||
                    (rc = query_spec_set(&q, "to", to, err)) || (rc = query_spec_check(&q, err)))
                    break;
                snprintf(row->name, sizeof row->name, "%s, %d days%s", qb_range_defs[i].name,
                         qb_range_days[d], e ? " to mid-month" : "");
                row->days = qb_range_days[d];
                row->mid = e;
                if ((rc = qb_range_time(db, &q, rounds, t, cpu, &a, err)))
                    break;
                row->cpu_p50_ms = bench_quantile(cpu, (size_t)rounds, 0.50);
                row->cpu_p99_ms = bench_quantile(cpu, (size_t)rounds, 0.99);
                memcpy(all + nall, t, (size_t)rounds * sizeof *t);
                nall += (size_t)rounds;
                memcpy(byd[e][d] + nd[e][d], t, (size_t)rounds * sizeof *t);
                nd[e][d] += (size_t)rounds;
                row->p50_ms = bench_quantile(t, (size_t)rounds, 0.50);
                row->p99_ms = bench_quantile(t, (size_t)rounds, 0.99);
                row->total = a.total;
                row->rows = a.rows;
                if (scan_rounds > 0) {
                    q.scan = 1;
                    if ((rc = qb_range_time(db, &q, scan_rounds, t, NULL, &b, err)))
                        break;
                    memcpy(sall + nsall, t, (size_t)scan_rounds * sizeof *t);
                    nsall += (size_t)scan_rounds;
                    row->scan_p50_ms = bench_quantile(t, (size_t)scan_rounds, 0.50);
                    row->scan_max_ms = t[scan_rounds - 1];
                    if (a.n != b.n || (a.n && memcmp(a.s, b.s, a.n) != 0)) {
                        rc = rz_fail(err, RZ_E_INTERNAL,
                                     "'%s': the day index answered %lld in %lld"
                                     " rows, the state scan %lld in %lld rows",
                                     row->name, (long long)a.total, (long long)a.rows,
                                     (long long)b.total, (long long)b.rows);
                        break;
                    }
                }
                res->n++;
                fprintf(stderr, "[bench] %-60s index p50 %8.2f ms p99 %8.2f ms; scan %9.1f ms\n",
                        row->name, row->p50_ms, row->p99_ms, row->scan_p50_ms);
            }
    res->p50_ms = bench_quantile(all, nall, 0.50);
    res->p99_ms = bench_quantile(all, nall, 0.99);
    res->scan_p50_ms = bench_quantile(sall, nsall, 0.50);
    res->scan_p99_ms = bench_quantile(sall, nsall, 0.99);
    for (d = 0; d < QB_LENS; d++) {
        res->days_p99_ms[d] = bench_quantile(byd[0][d], nd[0][d], 0.99);
        res->mid_p99_ms[d] = bench_quantile(byd[1][d], nd[1][d], 0.99);
    }
out:
    rz_db_close(&db);
    for (e = 0; e < 2; e++)
        for (d = 0; d < QB_LENS; d++)
            free(byd[e][d]);
    free(all);
    free(sall);
    free(t);
    free(cpu);
    free(a.s);
    free(b.s);
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
