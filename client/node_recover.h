/*
 * node_recover: a replaced centre PC takes over the records of the PC it
 * replaces (PROTOCOL.md §12; README "A replaced PC").
 *
 * Under headquarters' recovery grant the node fetches the old node's log
 * from the server (client/node_sync.c node_sync_fetch) and trusts nothing of
 * it until it has checked it itself: the old node's hash chain from entry 1
 * to the head the server reports, every batch signature against a key of
 * the old node's key history, the head signed, and every personal value
 * against the commitment its entry holds (a value erased at the server on a
 * lawful request comes back as erased and is kept as no value).  The
 * entries are applied to the record tables as they arrive, inside ONE
 * transaction that commits only when every check passed, so a refusal, a
 * dropped connection or a kill leaves nothing applied; the grant is used up
 * only when the server hears the node committed (FETCH_DONE), so a run that
 * failed can simply run again.  Entries are applied with
 * node_store_apply_foreign, never appended to this node's log: the server
 * holds them in the old node's log, which stays closed and verifiable.
 *
 * The table `recovered` (beside the log, never replicated) records each
 * recovery: old node, head, counts, when, and when the server confirmed.
 * A second run after a committed recovery applies nothing again; it only
 * sends the confirmation if that was lost.
 *
 * Test seam: RZ_TEST_RECOVER_KILL_AFTER=N makes the process kill itself
 * (SIGKILL) after N chunks were applied in the open transaction, a PC
 * switched off mid-fetch (it_test_recover); unset in real use.
 */
#ifndef RZ_NODE_RECOVER_H
#define RZ_NODE_RECOVER_H

#include <stdint.h>
#include <stdio.h>

#include "client/node_store.h"
#include "client/node_sync.h"

/* What a recovery did. */
typedef struct node_recover_result {
    uint64_t entries;    /* entries of the old log verified */
    uint64_t head_seq;   /* the old log's head */
    uint64_t persons;    /* person entries applied */
    uint64_t events;     /* event entries applied */
    uint64_t attendance; /* attendance entries applied */
    uint64_t values;     /* personal values verified against their commitments */
    uint64_t erased;     /* personal values erased at the server (kept as none) */
    uint64_t signatures; /* batch signatures verified */
    uint64_t chunks;     /* CHUNKs received */
    int already;         /* 1: recovered before; nothing applied this time */
    int confirmed;       /* 1: the server confirmed (the grant is used) */
} node_recover_result;

/* Recovers the log of old_id into ns.  0 when the records are applied and
 * the server confirmed.  RZ_E_SIGNATURE, RZ_E_CHAIN, RZ_E_PII, RZ_E_DECODE:
 * what the server sent does not verify, nothing applied; other codes as
 * node_sync_run (RZ_E_AUTH: no grant).  RZ_E_ARG when old_id is this node. */
int node_recover_run(node_store *ns, const node_sync_opts *o,
                     const uint8_t old_id[RZ_NODE_ID_BYTES], node_recover_result *res,
                     node_sync_result *sr, rz_error *err) RZ_WUR;

/* Prints one line per recovery noted here (for `status`): the old node, its
 * entries and head, and whether the server confirmed.  Nothing when none. */
int node_recover_report(node_store *ns, FILE *out, rz_error *err) RZ_WUR;

#endif
