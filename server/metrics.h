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
/* Writes all counters in Prometheus text format. */
void metrics_write_prometheus(FILE *out);
uint64_t metrics_entries_total(void);

#endif
