/*
 * node_bundle: the centre's side of a USB bundle (PROTOCOL.md §11).
 *
 * Export writes every entry not yet acknowledged (acked_seq + 1 .. head) as
 * the same signed BATCH messages a live sync would send, sealed to the
 * configured server key, into one file of mode 0600 (written to FILE.tmp,
 * fsynced, renamed).  Exporting marks nothing: entries count as delivered
 * only when their receipts come back.  Receipts verifies every receipt of a
 * receipt file with the configured server key and against this node's own
 * log (same node, epoch and chain hash), then stores them as if their ACKs
 * had arrived over the network; a file with any bad receipt is refused
 * whole.
 *
 * The caller holds the data directory's sync lock (node_lock.h).
 */
#ifndef RZ_NODE_BUNDLE_H
#define RZ_NODE_BUNDLE_H

#include <stdint.h>

#include "client/node_store.h"

typedef struct node_bundle_result {
    uint64_t first_seq, last_seq; /* entries carried / acknowledged */
    uint64_t batches;             /* batches written / receipts read */
    uint64_t newly_acked;         /* receipts: entries acknowledged by this file */
    uint64_t pending;             /* entries still without a receipt */
} node_bundle_result;

/* RZ_E_CONFIG (no server key), RZ_E_NOTFOUND (nothing to export), RZ_E_IO,
 * RZ_E_FORK (the log needs a rebase). */
int node_bundle_export(node_store *ns, const char *path, node_bundle_result *res, rz_error *err)
    RZ_WUR;

/* RZ_E_DECODE / RZ_E_TOOBIG (not a receipt file), RZ_E_AUTH (another
 * node's), RZ_E_SIGNATURE (a receipt does not verify or names entries this
 * log does not hold). */
int node_bundle_receipts(node_store *ns, const char *path, node_bundle_result *res, rz_error *err)
    RZ_WUR;

#endif
