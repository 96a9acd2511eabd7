/*
 * drain: K centres emptying their backlogs into one server at the same
 * time, each through the node's own sync loop (client/node_sync.h) on its
 * own thread, as K centre PCs would.  Also the wire accounting: the BATCH
 * messages a node sends, rebuilt with node_sync_build_batch over its log,
 * split into entries, revealed personal values and message envelope.
 */
#ifndef RZ_BENCH_DRAIN_H
#define RZ_BENCH_DRAIN_H

#include <stdint.h>

#include "common/rz_err.h"

typedef struct drain_result {
    uint64_t nodes;                  /* nodes drained */
    uint64_t sent;                   /* entries acknowledged (clock entries included) */
    uint64_t applied;                /* entries new to the server */
    uint64_t batches;                /* ACKs received */
    uint64_t sessions;               /* HELLOs (more than nodes: retries happened) */
    uint64_t failures;               /* nodes whose sync did not complete */
    double seconds;                  /* wall time, first HELLO to last ACK */
    double slowest_node_s;           /* longest single node's sync */
    char first_error[RZ_ERROR_TEXT]; /* text of the first failure, "" if none */
} drain_result;

/* Syncs every node directory in dirs[0..n) with at most k at once, each with
 * reply timeout timeout_ms.  Returns 0 (failures are counted, not fatal). */
int drain_run(char *const *dirs, uint32_t n, uint32_t k, int timeout_ms, drain_result *res,
              rz_error *err) RZ_WUR;

/* What one node's log costs on the wire, as BATCHes of RZ_BATCH_ENTRIES. */
typedef struct drain_wire {
    uint64_t entries;           /* entries in the log */
    uint64_t batches;           /* BATCH messages */
    uint64_t msg_bytes;         /* sum of BATCH message sizes */
    uint64_t entry_bytes;       /* sum of entry sizes as msgpack bin (header included) */
    uint64_t reveal_bytes;      /* sum of the reveals arrays' bodies */
    uint64_t by_table_n[5];     /* entries by table (index = enum rz_table) */
    uint64_t by_table_bytes[5]; /* their bin-encoded bytes */
} drain_wire;

/* Accumulates the wire cost of the node at dir into w. */
int drain_wire_stats(const char *dir, drain_wire *w, rz_error *err) RZ_WUR;

#endif
