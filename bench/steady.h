/*
 * steady: the national load after the backlogs, as the merge lag target
 * describes it: every centre records a few entries and syncs them, again
 * and again, each on its own thread, the centres' syncs spread evenly over
 * the interval (a centre's first sync at a random offset).  The real load
 * is about 300 centres each sending a small batch every minute; the
 * benchmark compresses time by running the same pattern with a shorter
 * interval (and says so in its report).
 *
 * The records come from a plan of their own (new people, their events and
 * attendance), so the counts the benchmark checks stay exact.
 */
#ifndef RZ_BENCH_STEADY_H
#define RZ_BENCH_STEADY_H

#include <stdint.h>

#include "bench/gen.h"
#include "bench/record.h"
#include "common/rz_err.h"

typedef struct steady_opts {
    double duration_s; /* how long the load runs */
    double interval_s; /* each centre syncs once per interval */
    uint32_t per_sync; /* records each centre adds before a sync */
    int timeout_ms;    /* node reply timeout */
    uint64_t seed;     /* start offsets */
} steady_opts;

typedef struct steady_result {
    uint64_t syncs;                  /* sync sessions completed */
    uint64_t failures;               /* sync sessions that failed */
    uint64_t entries;                /* entries acknowledged (clock entries included) */
    record_result rec;               /* what was recorded */
    double seconds;                  /* wall time of the load */
    char first_error[RZ_ERROR_TEXT]; /* "" if none */
} steady_result;

/* Runs the load over the nodes dirs[0..n), centre i recording centre i of
 * plan p.  Returns 0 (failed syncs are counted, not fatal). */
int steady_run(char *const *dirs, uint32_t n, const gen_plan *p, const steady_opts *o,
               steady_result *res, rz_error *err) RZ_WUR;

#endif
