/*
 * node_sync: the node's side of RZSYNC/1 (proto/PROTOCOL.md sections 3, 4
 * and 7): one ZeroMQ DEALER over CurveZMQ to the configured server, HELLO ->
 * WELCOME, fork and epoch checks, a clock entry, then the log above the
 * server's head streamed in signed batches, each entry counted as delivered
 * only once the server's receipt verifies.  Also `rebase` after headquarters
 * started a new epoch.
 *
 * Resumable by construction: the server's WELCOME says where to start, and
 * receipts are stored one transaction per ACK, so an interruption at any
 * point (kill -9, lost link, server crash) loses nothing and the next run
 * sends only what the server lacks.  Batches are read from the store with a
 * cursor, never the whole log; memory is bounded by the window of batches
 * in flight, each at most one frame (RZ_MAX_FRAME).
 *
 * Prints nothing except the clock warning (stderr); outcomes go to the
 * caller as codes, a node_sync_result and rz_error text.
 */
#ifndef RZ_NODE_SYNC_H
#define RZ_NODE_SYNC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "client/node_store.h"
#include "common/mpk.h"
#include "common/progress.h"

#define NODE_SYNC_TIMEOUT_MS 10000 /* default wait for one reply */
#define NODE_SYNC_WINDOW 2         /* default batches in flight */
#define NODE_SYNC_WINDOW_MAX 8     /* most batches in flight */
#define NODE_SYNC_RETRIES 3        /* default sessions retried without progress */

typedef struct node_sync_opts {
    int timeout_ms;       /* longest wait for one reply (and to send one) */
    int window;           /* batches sent before the first ACK is awaited, 1..8 */
    int retries;          /* new sessions after busy / chain / a dropped connection
                             without progress; 0 = give up at once */
    size_t batch_entries; /* entries per BATCH, 1..RZ_MAX_BATCH_ENTRIES */
    /* Called after the server said where to start and after every ACK:
     * entries acknowledged in this run (done) of those to send (total), the
     * rate over the run's monotonic time.  NULL: no calls.  Runs in the
     * syncing thread; must not call back into node_sync. */
    void (*progress)(void *ctx, const rz_progress_info *info);
    void *progress_ctx; /* passed to progress */
    /* When *stop becomes non-zero (a signal handler, another thread): no new
     * batch is sent, the ACKs of those in flight are awaited (at most the
     * reply timeout), and the run ends with RZ_E_STOPPED; nothing is lost.
     * NULL: never stops early.  node_lock_stop_flag() is the usual one. */
    volatile sig_atomic_t *stop;
    /* 0: ZeroMQ keeps reconnecting until timeout_ms.  > 0 (watch mode): one
     * TCP connection attempt per session, given up as unreachable when not
     * connected within connect_ms, so a node waiting out its backoff is not
     * pulled in the moment the server returns. */
    int connect_ms;
} node_sync_opts;

/* What a run did; filled as far as it got, also on failure. */
typedef struct node_sync_result {
    int server_code;      /* rz_err code of the server ERROR that ended it, or 0 */
    uint64_t sent;        /* entries acknowledged in this run */
    uint64_t applied;     /* of which the server had not seen before */
    uint64_t batches;     /* ACKs received */
    uint64_t first_seq;   /* first seq acknowledged in this run (0: none) */
    uint64_t last_seq;    /* last seq acknowledged */
    uint64_t server_head; /* server's head as last known */
    uint64_t pending;     /* entries still waiting for a receipt */
    uint64_t total;       /* entries this run set out to send (progress total) */
    uint64_t server_ms;   /* server time last seen */
    int sessions;         /* HELLOs sent */
} node_sync_result;

/* A BATCH message built from the log.  Init once, reuse for every batch. */
typedef struct node_batch {
    mpk_writer msg;               /* the whole message, ready to send */
    mpk_writer ents;              /* scratch: the entries array body */
    mpk_writer revs;              /* scratch: the reveals array body */
    uint32_t epoch;               /* epoch it was signed under */
    uint64_t first_seq, last_seq; /* entries it carries */
    uint8_t head[RZ_HASH_BYTES];  /* hash of last_seq (signed) */
    size_t nentries;              /* entries in it */
    size_t nreveals;              /* personal values revealed in it */
    size_t bytes;                 /* running size estimate while building */
} node_batch;

void node_sync_opts_default(node_sync_opts *o);

void node_batch_init(node_batch *b);
void node_batch_free(node_batch *b);

/* Builds into b->msg the BATCH of log entries first_seq.. (at most
 * max_entries, none above last_seq, and small enough for one frame), signed
 * with the node key.  Entries must be contiguous and of the current epoch,
 * else RZ_E_FORK (the log needs a rebase).  RZ_E_NOTFOUND when there is no
 * entry first_seq. */
int node_sync_build_batch(node_store *ns, uint64_t first_seq, uint64_t last_seq, size_t max_entries,
                          node_batch *b, rz_error *err) RZ_WUR;

/* One sync run.  0 when the server holds and has receipted every entry
 * this node had when the run started.  Otherwise, with err->text a message
 * for staff:
 *   RZ_E_CONFIG        no server configured
 *   RZ_E_TIMEOUT       no reply in time (server down, link dead, handshake
 *                      failing); nothing lost
 *   RZ_E_FORK, RZ_E_EPOCH, RZ_E_QUARANTINE
 *                      the logs diverged; the text tells the recovery path
 *   RZ_E_AUTH          the server refused this node's key
 *   any code with r->server_code set: the server refused (ERROR reply)
 *   RZ_E_SIGNATURE, RZ_E_DECODE, RZ_E_MSGTYPE
 *                      the server's reply cannot be trusted or read
 *   RZ_E_IO/RZ_E_BUSY  local storage failed
 *   RZ_E_STOPPED       o->stop was set; what was acknowledged is kept */
int node_sync_run(node_store *ns, const node_sync_opts *o, node_sync_result *r, rz_error *err)
    RZ_WUR;

/* What staff should do after a failure with this code (server refusals
 * carry only the server's text), or NULL.  Static text. */
const char *node_sync_hint(int code);

/* PROTOCOL 7: asks the server for this node's epoch and head and, when
 * headquarters has started a new epoch and lifted the quarantine, rebases
 * the unreceipted entries onto it (node_store_rebase).  Codes as for
 * node_sync_run; RZ_E_EPOCH when there is no new epoch. */
int node_sync_rebase(node_store *ns, const node_sync_opts *o, node_rebase_result *r,
                     node_sync_result *sr, rz_error *err) RZ_WUR;

/* PROTOCOL §12: this node (a replaced PC) fetches the log of old_id, the
 * PC it replaces, under headquarters' recovery grant.  HELLO (the server
 * time is folded in), then FETCH from 1 and every CHUNK handed to
 * ops->chunk in order until the final one; then ops->finish (verify the
 * whole, commit) gives the head to confirm, and FETCH_DONE uses the grant
 * up (FETCH_CLOSED).  With ops->chunk NULL only the confirmation is sent
 * (head from ops->finish): a recovery committed here whose confirmation was
 * lost.  r->sent counts entries received, r->total the old log's length.
 * Codes as for node_sync_run; a callback's failure ends the run with its
 * code (nothing is confirmed). */
struct rz_msg;
typedef struct node_fetch_ops {
    int (*chunk)(void *ctx, const struct rz_msg *m, rz_error *err);
    int (*finish)(void *ctx, uint64_t *head_seq, uint8_t head[RZ_HASH_BYTES], rz_error *err);
    void *ctx; /* passed to both */
} node_fetch_ops;
int node_sync_fetch(node_store *ns, const node_sync_opts *o, const uint8_t old_id[RZ_NODE_ID_BYTES],
                    const node_fetch_ops *ops, node_sync_result *r, rz_error *err) RZ_WUR;

#endif
