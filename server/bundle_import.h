/*
 * bundle_import: `rozgar-server bundle import FILE --receipt OUT`, the
 * headquarters side of a USB bundle (PROTOCOL.md §11).
 *
 * Two passes over the file.  The first opens every chunk, decodes the header
 * and every BATCH, and checks them against the header (one node, one epoch,
 * contiguous sequence numbers, the declared number of batches, nothing
 * after the last): a truncated, tampered or inconsistent bundle is refused
 * with the reason before anything is stored.  The second hands each BATCH
 * to ingest_batch(), the very function a live sync goes through (identity,
 * revocation, quarantine, epoch, chain, signature, fork, commitments,
 * idempotent storing), all in one ingest group: one refusal abandons the
 * whole bundle.  The import time then closes the bundle for merging
 * (ingest_close_import), the group commits, and only then is the receipt
 * file written (0600): the signed receipts of every batch.  Merging follows
 * as for a live sync: the merger (server/merger.h) picks the entries up.
 *
 * Importing the same bundle again, or one whose entries a live sync already
 * delivered, stores nothing new and writes the same kind of receipts.
 */
#ifndef RZ_BUNDLE_IMPORT_H
#define RZ_BUNDLE_IMPORT_H

#include <stdint.h>

#include "common/crypto.h"
#include "proto/bundle.h"
#include "server/ingest.h"
#include "server/log_store.h"

typedef struct bundle_import_result {
    bundle_header h;    /* the bundle's table of contents */
    uint64_t applied;   /* entries new to the server */
    uint64_t batches;   /* batches accepted */
    uint64_t server_ms; /* import time (receipts, and the closing clock) */
    int closed;         /* 1: the import time closed the entries for merging */
} bundle_import_result;

/* Imports the bundle at path into s with the server identity id, and writes
 * the receipts to receipt_path.  0, or a refusal code with err->text (nothing
 * applied); RZ_E_IO when the receipt file cannot be written after the commit
 * (import again to get it: nothing is stored twice). */
int bundle_import(log_store *s, const rz_identity *id, const char *path, const char *receipt_path,
                  bundle_import_result *res, rz_error *err) RZ_WUR;

#endif
