/*
 * mwatch: merge lag sampled from /metrics; see mwatch.h.
 *
 * One thread GETs /metrics every period and appends a sample; readers
 * take the mutex.  Samples grow by doubling (a 25-minute national run at
 * 100 ms is 15,000 samples of 24 bytes).
 */
#include "bench/mwatch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "common/util.h"

typedef struct mw_sample {
    double t;       /* seconds since t0 */
    uint64_t acked; /* rozgar_entries_total */
    uint64_t lag;   /* rozgar_merge_lag_entries (0 without the metric) */
} mw_sample;

struct mwatch {
    const srvproc *srv; /* borrowed */
    double t0;          /* time origin */
    int period_ms;      /* sampling period */
    pthread_t th;       /* sampler */
    int running;        /* thread started and not joined */
    pthread_mutex_t mu; /* guards everything below */
    int stop;           /* ask the thread to end */
    int has_lag;        /* the metric was seen */
    mw_sample *v;       /* samples */
    size_t n, cap;      /* used, allocated */
    char error[200];    /* first scrape failure, "" if none */
};

/* Value of "name value" in a Prometheus text page; 0 when absent. */
static int
mw_value(const char *body, const char *name, uint64_t *v)
{
    size_t nlen = strlen(name);
    const char *p;
    for (p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, nlen) == 0 && p[nlen] == ' ') {
            *v = strtoull(p + nlen + 1, NULL, 10);
            return 1;
        }
    return 0;
}

/* One scrape into a new sample; 0 or an error. */
static int
mw_sample_now(mwatch *w, rz_error *err)
{
    char *body = NULL;
    size_t len = 0;
    int status = 0, rc, lag_seen;
    mw_sample s = {0, 0, 0};
    if ((rc = srvproc_http_get(w->srv, "/metrics", &status, &body, &len, err)))
        return rc;
    if (status != 200) {
        free(body);
        return rz_fail(err, RZ_E_IO, "/metrics answered %d", status);
    }
    s.t = bench_now() - w->t0;
    mw_value(body, "rozgar_entries_total", &s.acked);
    lag_seen = mw_value(body, "rozgar_merge_lag_entries", &s.lag);
    free(body);
    pthread_mutex_lock(&w->mu);
    w->has_lag |= lag_seen;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 1024;
        w->v = xrealloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = s;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void
mw_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *
mw_thread(void *arg)
{
    mwatch *w = arg;
    for (;;) {
        rz_error e = {0, ""};
        int stop;
        pthread_mutex_lock(&w->mu);
        stop = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (stop)
            break;
        if (mw_sample_now(w, &e) != 0) {
            pthread_mutex_lock(&w->mu);
            if (!w->error[0])
                snprintf(w->error, sizeof w->error, "%.190s", e.text);
            pthread_mutex_unlock(&w->mu);
        }
        mw_sleep_ms(w->period_ms);
    }
    return NULL;
}

int
mwatch_start(mwatch **out, const srvproc *s, double t0, int period_ms, rz_error *err)
{
    mwatch *w = xcalloc(1, sizeof *w);
    int rc;
    w->srv = s;
    w->t0 = t0;
    w->period_ms = period_ms > 0 ? period_ms : 100;
    pthread_mutex_init(&w->mu, NULL);
    /* One scrape now: the server must answer before the run starts. */
    if ((rc = mw_sample_now(w, err))) {
        mwatch_free(&w);
        return rc;
    }
    if (pthread_create(&w->th, NULL, mw_thread, w) != 0) {
        mwatch_free(&w);
        return rz_fail(err, RZ_E_INTERNAL, "cannot start the metrics sampler");
    }
    w->running = 1;
    *out = w;
    return 0;
}

void
mwatch_stop(mwatch *w)
{
    if (!w || !w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    w->running = 0;
}

void
mwatch_free(mwatch **wp)
{
    mwatch *w = wp ? *wp : NULL;
    if (!w)
        return;
    mwatch_stop(w);
    pthread_mutex_destroy(&w->mu);
    free(w->v);
    free(w);
    *wp = NULL;
}

int
mwatch_has_lag(const mwatch *w)
{
    return w->has_lag;
}

int
mwatch_wait_complete(mwatch *w, double timeout_s, double *done_t, rz_error *err)
{
    double start = bench_now();
    size_t seen = 0;
    for (;;) {
        size_t i;
        pthread_mutex_lock(&w->mu);
        for (i = seen; i < w->n; i++)
            if (w->v[i].lag == 0 && w->v[i].t >= start - w->t0) {
                *done_t = w->v[i].t;
                pthread_mutex_unlock(&w->mu);
                return 0;
            }
        seen = w->n;
        pthread_mutex_unlock(&w->mu);
        if (bench_now() - start > timeout_s)
            return rz_fail(err, RZ_E_TIMEOUT, "totals not complete after %.0f s", timeout_s);
        mw_sleep_ms(w->period_ms / 2 > 0 ? w->period_ms / 2 : 1);
    }
}

void
mwatch_lag(mwatch *w, double from_t, double to_t, double pct, double *p, double *max, uint64_t *n)
{
    double *lags;
    size_t i, k = 0, first = 0;
    pthread_mutex_lock(&w->mu);
    lags = xcalloc(w->n + 1, sizeof *lags);
    *max = 0;
    for (i = 0; i < w->n; i++) {
        const mw_sample *s = &w->v[i];
        double lag = 0;
        if (s->t < from_t || s->t > to_t)
            continue;
        if (s->lag > 0) {
            uint64_t counted = s->acked > s->lag ? s->acked - s->lag : 0;
            /* the earliest sample that had acknowledged more than is
             * counted now: the oldest uncounted entry arrived after it */
            while (first < i && w->v[first].acked <= counted)
                first++;
            lag = s->t - (first > 0 ? w->v[first - 1].t : w->v[0].t);
        }
        lags[k++] = lag;
        if (lag > *max)
            *max = lag;
    }
    pthread_mutex_unlock(&w->mu);
    *n = k;
    *p = k ? bench_quantile(lags, k, pct / 100.0) : 0;
    free(lags);
}
