/*
 * state_store: what the server derives from the logs, behind one narrow
 * interface: merged records, CNIC clusters and totals (their tables belong
 * to server/merge.h, which writes them through state_store_db()), and, in
 * the same database, how far that derivation has got: one position per
 * node, committed in the same transaction as the state it produced
 * (DESIGN guarantee 2).  Everything here can be thrown away and rebuilt
 * from the log store (server/log_store.h) by the merger from position zero.
 *
 * Who writes: only the merger (server/merger.h), one window per
 * transaction, and rebuild (into a fresh state store).  The pause flag is
 * written by `rozgar-server merge pause|resume` and read by the merger.
 * Who reads: the figures (HTTP, CLI) through state_store_reader_open(),
 * a read-only connection that sees the state and, attached, the log
 * store's register and nodes, so one query can say "received" (log) and
 * "counted" (state).
 *
 * Contract any backend keeps (SQLite here; PostgreSQL would put both stores
 * in one cluster, or the state on a replica of its own): a position and the
 * state it reached commit atomically; positions only move forward except
 * when rebuild replaces state and positions together.
 *
 * File of the SQLite backend: state.db in the server directory (with
 * -wal/-shm while open).  Separate from server.db so that ingest's commits
 * and the merger's never queue behind one SQLite writer.
 *
 * Not thread-safe: one state_store per thread.
 */
#ifndef RZ_STATE_STORE_H
#define RZ_STATE_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/rz_err.h"

#define STATE_STORE_FILE "state.db" /* in the server directory */

/* How far the merger has read one node's log.  Every entry with sequence
 * <= merged_seq is counted, none above it.  last_clock_ms is the largest
 * server time of the clock entries at or below merged_seq that are not
 * checkpoints (the `lo` of PROTOCOL §5 for the next entry). */
typedef struct state_pos {
    uint64_t merged_seq;    /* last sequence merged (0: none) */
    uint64_t last_clock_ms; /* floor of the clamp window for the entries after it */
} state_pos;

typedef struct state_store state_store;

/* Opens (creating) dir/state.db with the merge schema (merge_schema) and
 * the positions.  *out owned by the caller (state_store_close). */
int state_store_open(state_store **out, const char *dir, rz_error *err) RZ_WUR;
/* Same, on an explicit file path (rebuild's fresh store, tests). */
int state_store_open_path(state_store **out, const char *path, rz_error *err) RZ_WUR;
void state_store_close(state_store **s);

/* From now on the WAL is copied back into state.db by a thread of the
 * store's own, beside the next transactions, instead of inside each
 * commit; commits then write the WAL without syncing it (the state is
 * derived: a power cut may lose the last windows and their positions
 * together, and the merger counts them again from the log).  For the
 * merger and rebuild, whose windows dirty tens of thousands of pages.
 * Once the WAL holds more than cap_frames pages (0: 1 GiB worth), the
 * next transaction first waits, at most 30 s, for everything to be copied
 * back, so the WAL starts again from its beginning and its file stays
 * bounded.  state_store_close stops the thread.  SQLite backend only;
 * another backend makes this a no-op. */
int state_store_checkpoint_behind(state_store *s, int cap_frames, rz_error *err) RZ_WUR;

/* The connection merge.h writes through (SQLite backend). */
sqlite3 *state_store_db(state_store *s);

/* One write transaction (BEGIN IMMEDIATE); commit is durable, or, after
 * state_store_checkpoint_behind, atomic and durable at the next checkpoint. */
int state_store_begin(state_store *s, rz_error *err) RZ_WUR;
int state_store_commit(state_store *s, rz_error *err) RZ_WUR;
void state_store_rollback(state_store *s);

/* The node's position; zeros when the merger never reached it. */
int state_store_pos_get(state_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], state_pos *p,
                        rz_error *err) RZ_WUR;
/* Inside a transaction, with the state it reached. */
int state_store_pos_put(state_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], const state_pos *p,
                        rz_error *err) RZ_WUR;
/* Notes the time of a committed merge window (inside its transaction);
 * operational, outside the rebuild's byte-for-byte promise. */
int state_store_note_merge(state_store *s, uint64_t now_ms, rz_error *err) RZ_WUR;

/* The merger's pause flag: durable, read by the running merger before each
 * window.  While paused, batches are still acknowledged (they only reach
 * the log store); the figures say how much is received and not counted.
 * Setting it waits (up to STATE_PAUSE_WAIT_MS) for a window in progress to
 * commit: a large backlog's windows hold the write lock for seconds. */
int state_store_paused(state_store *s, int *paused, rz_error *err) RZ_WUR;
int state_store_set_paused(state_store *s, int paused, rz_error *err) RZ_WUR;

/* A read-only connection on dir/state.db with dir/server.db attached as
 * `log` (unqualified table names find either), for the figures.  *db owned
 * by the caller (rz_db_close). */
int state_store_reader_open(sqlite3 **db, const char *dir, rz_error *err) RZ_WUR;

/* How far the totals have counted, from a reader connection. */
typedef struct state_progress {
    uint64_t received;      /* entries stored in the logs (sum of heads) */
    uint64_t counted;       /* entries merged (sum of positions) */
    uint64_t mergeable;     /* entries a clock entry already bounds (PROTOCOL §5):
                             * counted == mergeable means the merger is caught up;
                             * the rest waits for the node's next clock entry */
    uint64_t last_merge_ms; /* wall time of the last merge window, 0: never */
    int paused;             /* 1: the merger is paused */
} state_progress;
/* Overall when centre_id is 0, else for the centre's nodes. */
int state_store_progress(sqlite3 *reader, int64_t centre_id, state_progress *out, rz_error *err)
    RZ_WUR;

#endif
