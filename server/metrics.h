/*
 * metrics: operational counters of the running server (ingest rate,
 * rejects by reason), shared between the sync loop and the HTTP thread
 * through atomics.  Not part of the totals' byte-for-byte promise.
 */
#ifndef RZ_METRICS_H
#define RZ_METRICS_H

#include <stdint.h>
#include <stdio.h>

enum { METRICS_REASONS = 40 }; /* indexed by -rz_err code */

void metrics_batch_ok(uint64_t entries_new, uint64_t bytes);
/* A committed group of batches. */
void metrics_batches_ok(uint64_t batches, uint64_t entries_new, uint64_t bytes);
void metrics_reject(int code);
void metrics_hello(void);
/* The merger (server/merger.c): a committed window of `entries` that took
 * `ms`; a window rolled back by a storage failure; a moment at which
 * nothing was left to merge (the start of any lag). */
void metrics_merge_window(uint64_t entries, uint64_t ms);
void metrics_merge_failed(void);
void metrics_merge_idle(uint64_t now_ms);
/* Writes the merge lag gauges: `lag_entries` received but not counted
 * (from the stores), and the seconds since the merger was last caught up
 * when there is a lag. */
void metrics_write_merge_lag(FILE *out, uint64_t lag_entries, uint64_t now_ms);
/* Writes all counters in Prometheus text format. */
void metrics_write_prometheus(FILE *out);
uint64_t metrics_entries_total(void);

#endif
