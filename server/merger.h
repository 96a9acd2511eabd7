/*
 * merger: the one consumer of the logs.  It follows every node's log in
 * sequence order from its own durable position (state_store_pos_get),
 * feeds the entries to the merge rules (server/merge.h) with the clamp
 * window of PROTOCOL §5, and commits records, clusters, totals and the new
 * positions in ONE transaction of the state store per window.  A window is
 * bounded by an entry budget, so memory does not grow with a backlog: the
 * log is the buffer.  A crash anywhere resumes from the committed positions
 * with nothing merged twice or skipped.
 *
 * What it does not do: verify (ingest did, before the log accepted the
 * entries), refuse anything (a value merge cannot use is stored and flagged
 * by merge.h; a storage failure rolls the window back and is retried), or
 * ever write the log store.
 *
 * Rebuild is the same code from position zero into a fresh state store
 * (merger_catch_up with a limit per node), so maintained and recomputed
 * totals cannot come from two implementations.
 *
 * Two ways to run it: merger_start() in `rozgar-server run` (its own
 * thread, its own connections to both stores), or merger_new() +
 * merger_catch_up() in the caller's thread (rebuild, `totals --wait` with no
 * server running, tests).  Only one merger works on a state store at a time:
 * merger_lock() takes dir/state.db.lock.
 */
#ifndef RZ_MERGER_H
#define RZ_MERGER_H

#include <stdint.h>

#include "common/crypto.h"
#include "common/rz_err.h"
#include "server/log_store.h"
#include "server/state_store.h"

/* Entries per window (one transaction).  Larger windows write each page of
 * the tables keyed at random (clusters, the CNIC index, the day index's
 * ids) and of the counters once for more entries: the national log was
 * counted from zero in 174.7 s with 1,000,000, 202.8 s with 300,000 and
 * 182.5 s with 3,000,000 (docs/PERFORMANCE.md).  Memory does not grow with
 * it (merge writes what is pending in mid-window; the merger peaked at about
 * 190 MiB each time).  A national window takes about 6 s. */
#define MERGER_WINDOW_ENTRIES 1000000

typedef struct merger merger;

/* Borrows both stores (one thread).  *out owned by the caller. */
int merger_new(merger **out, log_store *ls, state_store *ss, rz_error *err) RZ_WUR;
void merger_destroy(merger **m);

/* Per-node limit for rebuild and verify: merge no further than *upto_seq
 * for node_id (return 0 and set it), or return RZ_E_NOTFOUND for "up to
 * what is mergeable".  NULL: no limit. */
typedef int (*merger_limit_fn)(const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t *upto_seq,
                               void *arg);
void merger_set_limit(merger *m, merger_limit_fn fn, void *arg);

/* Merges one window (at most `budget` entries, over the nodes in turn) and
 * commits it.  *merged = entries merged (0: nothing is mergeable).  Storage
 * failures (RZ_E_BUSY, RZ_E_IO) roll the window back; nothing is half
 * applied. */
int merger_step(merger *m, uint64_t budget, uint64_t *merged, rz_error *err) RZ_WUR;
/* Steps until nothing is mergeable.  *merged may be NULL. */
int merger_catch_up(merger *m, uint64_t *merged, rz_error *err) RZ_WUR;

/* Exclusive lock on dir's state store for one merger (flock, released by
 * merger_unlock or process exit).  RZ_E_BUSY when another process merges. */
int merger_lock(const char *dir, int *fd, rz_error *err) RZ_WUR;
void merger_unlock(int *fd);

/* The follower thread of `rozgar-server run`: opens its own connections on
 * dir, takes the lock, merges whenever there is work and is not paused, in
 * windows of at most `window` entries (0: MERGER_WINDOW_ENTRIES). */
typedef struct merger_thread merger_thread;
int merger_start(merger_thread **out, const char *dir, uint64_t window, rz_error *err) RZ_WUR;
/* Ingest committed new entries: look now instead of at the next poll. */
void merger_wake(merger_thread *t);
/* Stops after the current window (committed or rolled back) and joins. */
void merger_stop(merger_thread **t);

#endif
