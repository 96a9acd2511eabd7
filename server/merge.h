/*
 * merge: applies verified log entries to the merged state and keeps the
 * national totals up to date, incrementally, inside the caller's
 * transaction.  Pure function of the set of entries: order and repetition do
 * not change the result (proto/PROTOCOL.md, "Merge rules").
 *
 * The caller (server/ingest.c, server/replay.c) owns the transaction: it
 * calls merge_entry() for each entry in log order of one node, then
 * merge_flush() before COMMIT.  On rollback it calls merge_discard().
 * merge never sees clock entries (RZ_T_CLOCK): the caller turns them into
 * the clamp window of the entries before them.
 */
#ifndef RZ_MERGE_H
#define RZ_MERGE_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/rz_err.h"
#include "proto/entry.h"

/* What the server learned about a CNIC revealed with an entry. */
enum merge_cnic_state {
    MERGE_CNIC_ABSENT = 0,  /* the entry does not touch the CNIC field */
    MERGE_CNIC_CLEARED = 1, /* the entry clears the CNIC (nil) */
    MERGE_CNIC_VALID = 2,   /* valid CNIC; token links equal CNICs */
    MERGE_CNIC_INVALID = 3, /* a value that is not a valid CNIC: flagged */
    MERGE_CNIC_ERASED = 4,  /* value erased on a lawful request; token kept */
};

typedef struct merge_input {
    const uint8_t *node_id;   /* RZ_NODE_ID_BYTES: the writing node */
    int64_t centre_id;        /* the node's centre (enrollment register) */
    uint64_t seq;             /* the entry's sequence number */
    const rz_entry *e;        /* decoded entry (not a clock entry) */
    uint64_t win_lo_ms;       /* server time the node saw before this entry (0: none) */
    uint64_t win_hi_ms;       /* server time the node saw after it (> 0) */
    int cnic_state;           /* enum merge_cnic_state */
    uint8_t cnic_token[16];   /* valid when cnic_state is VALID or ERASED */
} merge_input;

typedef struct merge_ctx merge_ctx;

/* Creates the state and totals tables if missing. */
int merge_schema(sqlite3 *db, rz_error *err) RZ_WUR;
/* Prepares statements on db; *out owned by the caller (merge_destroy). */
int merge_new(merge_ctx **out, sqlite3 *db, rz_error *err) RZ_WUR;
void merge_destroy(merge_ctx **m);

/* Applies one entry.  Never refuses an entry for an invalid value: such
 * values are stored, flagged and counted as unknown.  Errors are storage
 * failures only (RZ_E_BUSY / RZ_E_IO): the caller rolls back. */
int merge_entry(merge_ctx *m, const merge_input *in, rz_error *err) RZ_WUR;
/* Writes accumulated total deltas; call before COMMIT. */
int merge_flush(merge_ctx *m, rz_error *err) RZ_WUR;
/* Forgets accumulated deltas after a ROLLBACK. */
void merge_discard(merge_ctx *m);

/* NULL-terminated names of every table whose content a rebuild from the
 * logs must reproduce byte for byte (state and totals). */
extern const char *const merge_state_tables[];

#endif
