/*
 * record: a centre recording its data through the node's own store
 * (client/node_store.h), the way `rozgar-node person add / event add /
 * attend` do: each recording changes the record and appends its hashed log
 * entry in one transaction.  The benchmark groups RZ_BATCH_ENTRIES
 * recordings per transaction (node_store_begin/commit, as an import does),
 * the same grouping the reference uses; record_single() measures one
 * transaction per recording, as the command line does.
 */
#ifndef RZ_BENCH_RECORD_H
#define RZ_BENCH_RECORD_H

#include <stdint.h>

#include "bench/gen.h"
#include "common/crypto.h"
#include "common/rz_err.h"

typedef struct record_result {
    uint64_t entries;      /* recordings made (= log entries) */
    double seconds;        /* time inside the recording transactions */
    uint64_t transactions; /* commits */
    uint64_t people;       /* persons recorded */
    uint64_t events;       /* events recorded */
    uint64_t present;      /* attendance rows marked present */
} record_result;

/* Creates node directory `dir` for centre `centre` of the plan, configures
 * it for the server (endpoint, server_pk; endpoint may be NULL) and returns
 * its enrollment identity (node id and public key). */
int record_node_create(const char *dir, const char *endpoint, const uint8_t *server_pk,
                       uint8_t node_id[RZ_NODE_ID_BYTES], uint8_t sign_pk[RZ_PK_BYTES],
                       rz_error *err) RZ_WUR;

/* Records the first `limit` records (UINT64_MAX: all) of the centre's stream
 * into the node at dir, per_txn recordings per transaction (1: each its own,
 * as the command line does).  Adds to res. */
int record_centre(const gen_plan *p, uint32_t centre, const char *dir, uint64_t limit,
                  unsigned per_txn, record_result *res, rz_error *err) RZ_WUR;

/* A centre that keeps recording: its node open, the ids it gave, and its
 * place in the stream, so records can be added a few at a time (the
 * benchmark's steady load).  One thread per handle. */
typedef struct record_live record_live;

/* Opens the node at dir for centre `centre` of plan p (borrowed; must
 * outlive the handle). */
int record_live_open(record_live **out, const gen_plan *p, uint32_t centre, const char *dir,
                     rz_error *err) RZ_WUR;
/* Records the next n records of the stream in one transaction (fewer at
 * its end; *done = how many).  Adds to res. */
int record_live_next(record_live *l, size_t n, size_t *done, record_result *res, rz_error *err)
    RZ_WUR;
/* The node the handle records into (for node_sync_run on the same
 * thread). */
struct node_store *record_live_store(record_live *l);
void record_live_close(record_live **l);

#endif
