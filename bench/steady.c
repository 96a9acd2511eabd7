/*
 * steady: a steady national load of small syncs; see steady.h.
 */
#include "bench/steady.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "client/node_sync.h"
#include "common/util.h"

typedef struct steady_shared {
    char *const *dirs;    /* node directories */
    const gen_plan *p;    /* plan of the new records */
    const steady_opts *o; /* options */
    double t0;            /* start */
    pthread_mutex_t mu;   /* guards res */
    steady_result *res;   /* totals */
} steady_shared;

typedef struct steady_arg {
    steady_shared *sh; /* shared */
    uint32_t centre;   /* which node */
    double offset_s;   /* first sync after this long */
} steady_arg;

static void
steady_sleep_until(double t)
{
    double d = t - bench_now();
    struct timespec ts;
    if (d <= 0)
        return;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static void
steady_note(steady_shared *sh, const record_result *rec, const node_sync_result *r, int rc,
            const rz_error *e)
{
    pthread_mutex_lock(&sh->mu);
    sh->res->rec.entries += rec->entries;
    sh->res->rec.seconds += rec->seconds;
    sh->res->rec.transactions += rec->transactions;
    sh->res->rec.people += rec->people;
    sh->res->rec.events += rec->events;
    sh->res->rec.present += rec->present;
    sh->res->entries += r->sent;
    if (rc == 0) {
        sh->res->syncs++;
    } else {
        sh->res->failures++;
        if (!sh->res->first_error[0])
            snprintf(sh->res->first_error, sizeof sh->res->first_error, "%.180s (%s)", e->text,
                     rz_err_name(rc));
    }
    pthread_mutex_unlock(&sh->mu);
}

static void *
steady_worker(void *arg)
{
    steady_arg *a = arg;
    steady_shared *sh = a->sh;
    const steady_opts *o = sh->o;
    record_live *l = NULL;
    rz_error e = {0, ""};
    double next = sh->t0 + a->offset_s, end = sh->t0 + o->duration_s;
    int rc;
    if ((rc = record_live_open(&l, sh->p, a->centre, sh->dirs[a->centre], &e))) {
        record_result none;
        node_sync_result r;
        memset(&none, 0, sizeof none);
        memset(&r, 0, sizeof r);
        steady_note(sh, &none, &r, rc, &e);
        return NULL;
    }
    while (next < end) {
        record_result rec;
        node_sync_result r;
        node_sync_opts so;
        size_t done = 0;
        steady_sleep_until(next);
        next += o->interval_s;
        memset(&rec, 0, sizeof rec);
        memset(&r, 0, sizeof r);
        if ((rc = record_live_next(l, o->per_sync, &done, &rec, &e)) == 0) {
            node_sync_opts_default(&so);
            so.timeout_ms = o->timeout_ms;
            rc = node_sync_run(record_live_store(l), &so, &r, &e);
        }
        steady_note(sh, &rec, &r, rc, &e);
        if (done == 0)
            break; /* the centre's stream is used up */
    }
    record_live_close(&l);
    return NULL;
}

int
steady_run(char *const *dirs, uint32_t n, const gen_plan *p, const steady_opts *o,
           steady_result *res, rz_error *err)
{
    steady_shared sh;
    steady_arg *args;
    pthread_t *th;
    pthread_attr_t attr;
    uint32_t i, started = 0;
    uint64_t rng = o->seed | 1;
    int rc = 0;

    memset(res, 0, sizeof *res);
    sh.dirs = dirs;
    sh.p = p;
    sh.o = o;
    sh.res = res;
    pthread_mutex_init(&sh.mu, NULL);
    th = xcalloc(n, sizeof *th);
    args = xcalloc(n, sizeof *args);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    sh.t0 = bench_now();
    for (i = 0; i < n; i++) {
        /* xorshift: the centres' first syncs spread over one interval */
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        args[i].sh = &sh;
        args[i].centre = i;
        args[i].offset_s = o->interval_s * (double)(rng % 1000000) / 1e6;
        if (pthread_create(&th[i], &attr, steady_worker, &args[i]) != 0) {
            rc = rz_fail(err, RZ_E_INTERNAL, "cannot start steady thread %u", i);
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    res->seconds = bench_now() - sh.t0;
    pthread_attr_destroy(&attr);
    pthread_mutex_destroy(&sh.mu);
    free(th);
    free(args);
    return rc;
}
