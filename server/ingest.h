/*
 * ingest: turns one authenticated BATCH into entries durably stored in the
 * node's log, or refuses it whole.  Implements proto/PROTOCOL.md §4.3 in its
 * order: identity, quarantine/epoch, entry decoding, chain + signature,
 * gap, fork, personal-value commitments, then the log store's transaction.
 * The acknowledgement promises the log and nothing else (DESIGN guarantee
 * 2): merging is the merger's (server/merger.h), behind it.  Knows nothing
 * about sockets (server/serve.c does).
 */
#ifndef RZ_INGEST_H
#define RZ_INGEST_H

#include <stdint.h>

#include "common/crypto.h"
#include "proto/msg.h"
#include "server/log_store.h"

typedef struct ingest ingest;

/* What the server answers to an accepted BATCH. */
typedef struct ingest_ack {
    uint64_t server_ms;            /* server clock at commit */
    uint32_t epoch;                /* node's epoch */
    uint64_t first_seq, last_seq;  /* range acknowledged */
    uint8_t head[RZ_HASH_BYTES];   /* hash of last_seq */
    uint8_t receipt[RZ_SIG_BYTES]; /* server signature, see crypto.h */
    uint64_t applied;              /* entries new to the server */
} ingest_ack;

/* Borrows s and server identity for the ingest's life. */
int ingest_new(ingest **out, log_store *s, const rz_identity *server, rz_error *err) RZ_WUR;
void ingest_destroy(ingest **ig);

/* HELLO from the node the transport authenticated as auth_node: fills the
 * WELCOME fields.  RZ_E_AUTH when not enrolled/revoked or not the claimed id. */
int ingest_hello(ingest *ig, const uint8_t auth_node[RZ_NODE_ID_BYTES], const rz_msg *m,
                 log_node *node, rz_error *err) RZ_WUR;

/* BATCH (decoded m, raw bytes for fork evidence).  0 with *ack filled, or
 * a refusal code with err->text; nothing of a refused batch is applied. */
int ingest_batch(ingest *ig, const uint8_t auth_node[RZ_NODE_ID_BYTES], const rz_msg *m,
                 const uint8_t *raw, size_t rawlen, ingest_ack *ack, rz_error *err) RZ_WUR;

/* Group commit: batches handled between ingest_group_begin and
 * ingest_group_commit share one transaction (and one fsync), so many
 * centres syncing at once cost far less per entry.  Each
 * batch is still verified on its own against everything before it,
 * committed or not.  ACKs for a group may be sent only after
 * ingest_group_commit returns 0; on failure (RZ_E_BUSY) nothing of the group
 * is applied and every batch in it must be answered with that error. */
int ingest_group_begin(ingest *ig, rz_error *err) RZ_WUR;
int ingest_group_commit(ingest *ig, rz_error *err) RZ_WUR;

/* Abandons a group: nothing of it is kept (a USB bundle is refused whole
 * when any batch of it is refused).  No-op outside a group. */
void ingest_group_abort(ingest *ig);

/* PROTOCOL §5 and §11: after the batches of an imported USB bundle, inside
 * the same group: its import time closes its entries up to last_seq for the
 * merger (log_store_close_import).  *closed says whether it did (0 when a
 * clock entry already follows them). */
int ingest_close_import(ingest *ig, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t last_seq,
                        uint64_t server_ms, int *closed, rz_error *err) RZ_WUR;

#endif
