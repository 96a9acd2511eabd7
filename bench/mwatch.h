/*
 * mwatch: how far the running server's totals trail its acknowledged logs,
 * sampled from its own /metrics page on a thread of the benchmark.
 *
 * Every sample holds the entries acknowledged so far
 * (rozgar_entries_total) and those acknowledged but not yet counted
 * (rozgar_merge_lag_entries), with the time it was taken.  From them: when
 * everything acknowledged was counted (time to complete totals), and how
 * long, at any moment, the oldest uncounted entry had been waiting (the
 * merge lag in seconds): at sample time t with L entries not counted, the
 * counted figures are those of the earliest sample s whose acknowledged
 * count exceeds A(t) - L, so the lag is t - s (0 when L is 0).
 *
 * A server that counts inside its acknowledgement (no merge lag metric)
 * has every figure complete at the ack: lag 0, complete at the last ACK.
 */
#ifndef RZ_BENCH_MWATCH_H
#define RZ_BENCH_MWATCH_H

#include <stdint.h>

#include "bench/srvproc.h"
#include "common/rz_err.h"

typedef struct mwatch mwatch;

/* Starts sampling the server every period_ms; times are bench_now() - t0. */
int mwatch_start(mwatch **out, const srvproc *s, double t0, int period_ms, rz_error *err) RZ_WUR;
/* Stops the thread (samples stay readable) and frees with mwatch_free. */
void mwatch_stop(mwatch *w);
void mwatch_free(mwatch **w);

/* 1 when the server reports a merge lag (it counts behind the ack). */
int mwatch_has_lag(const mwatch *w);
/* Waits (sampling) until nothing acknowledged is uncounted, at most
 * timeout_s; *done_t = time of the first sample that showed it (relative
 * to t0).  RZ_E_TIMEOUT when it never happened. */
int mwatch_wait_complete(mwatch *w, double timeout_s, double *done_t, rz_error *err) RZ_WUR;
/* The pct-th percentile (0..100) and the maximum of the merge lag in
 * seconds over the samples taken in [from_t, to_t]; *n = samples used. */
void mwatch_lag(mwatch *w, double from_t, double to_t, double pct, double *p, double *max,
                uint64_t *n);

#endif
