/*
 * qstate: the server's stores at any size in minutes, for the query figures
 * alone (rozgar-bench --queries-only).  The full run records every centre
 * at its node, syncs it over CurveZMQ, verifies, logs and merges: 25-40
 * minutes at national size, most of it not about queries.  Here the same
 * generated records (bench/gen.h) become the entries a node would log (the
 * fields node_store writes, CNICs as commitments with their link tokens as
 * ingest computes them, cnic_token with this run's pepper) and go straight
 * into the server's own merge code (server/merge.h) in windows of
 * MERGER_WINDOW_ENTRIES, one state-store transaction each, as the merger
 * commits them; centres are enrolled in a real log store (server.db), so
 * places come from the register as in the server.  Merging is a function
 * of the set of entries (DESIGN guarantee 3), so the state is the one the
 * server reaches, up to the bytes of ids, stamps and tokens.
 *
 * Not here: signatures, hash chains, the network, the log store's copy of
 * the entries (nothing queries read), positions.
 */
#ifndef RZ_BENCH_QSTATE_H
#define RZ_BENCH_QSTATE_H

#include <stdint.h>

#include "bench/gen.h"
#include "common/rz_err.h"

typedef struct qstate_result {
    uint64_t entries; /* entries merged */
    double seconds;   /* wall time of the merge */
    double cpu_s;     /* CPU time of the merge (this thread) */
    uint64_t people;  /* persons of the plan */
    uint64_t present; /* attendance rows marked present */
} qstate_result;

/* Creates server directory dir (server.db with the plan's centres enrolled,
 * state.db merged from the plan's records).  dir must not hold stores. */
int qstate_build(const gen_plan *p, const char *dir, qstate_result *res, rz_error *err) RZ_WUR;

#endif
