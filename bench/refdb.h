/*
 * refdb: the machine's reference for the benchmark's ratios.
 *
 * Inserts the same rows the centres record (person, event, attendance rows
 * with 16-byte time-ordered ids and the same columns) into a fresh SQLite
 * file with plain prepared INSERT statements, in transactions of the
 * protocol's batch size (RZ_BATCH_ENTRIES), with the project's durability
 * settings (common/db.c: WAL, synchronous=FULL, same cache).  No hashing,
 * signing, log or totals: what the hardware and SQLite give for the same
 * bytes.  Only the insert and commit are timed, not the data generation.
 */
#ifndef RZ_BENCH_REFDB_H
#define RZ_BENCH_REFDB_H

#include <stdint.h>

#include "bench/gen.h"
#include "common/rz_err.h"

typedef struct refdb_result {
    uint64_t rows;         /* rows inserted */
    uint64_t transactions; /* commits */
    double seconds;        /* time inside BEGIN..COMMIT */
    double rows_per_s;     /* rows / seconds */
    uint64_t db_bytes;     /* size of the database file + WAL at the end */
} refdb_result;

/* Inserts every record of plan p into a new database at path (which must
 * not exist).  Returns 0 or RZ_E_IO/RZ_E_BUSY with err filled. */
int refdb_run(const gen_plan *p, const char *path, refdb_result *res, rz_error *err) RZ_WUR;

/* Median time in ms of a plain `SELECT gender, count(*) FROM person GROUP
 * BY gender` over the reference rows: what answering a breakdown without
 * maintained totals costs.  Returns 0 or an error. */
int refdb_query_ms(const char *path, int rounds, double *ms, rz_error *err) RZ_WUR;

#endif
