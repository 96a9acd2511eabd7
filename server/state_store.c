/*
 * state_store: SQLite implementation of the state store (see
 * state_store.h).  state.db holds merge.h's tables, the merger's positions
 * (merge_pos) and a small key/value table for the pause flag and the time of
 * the last merge window (state_meta).
 *
 * A server directory of the single-file layout (state inside server.db)
 * needs no conversion: state.db starts empty with every position at zero
 * and the merger counts the logs again under the current rules (the log is
 * the truth).  The old tables left in server.db are no longer read.
 */
#include "server/state_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "common/log.h"
#include "common/util.h"
#include "server/log_store.h"
#include "server/merge.h"

static const char state_schema[] =
    "CREATE TABLE IF NOT EXISTS merge_pos("
    " node_id BLOB PRIMARY KEY, merged_seq INTEGER NOT NULL, last_clock_ms INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS state_meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);";

enum { SS_POS_GET, SS_POS_PUT, SS_META_GET, SS_META_PUT, SS_COUNT };

static const char *const state_sql[SS_COUNT] = {
    [SS_POS_GET] = "SELECT merged_seq, last_clock_ms FROM merge_pos WHERE node_id=?1",
    [SS_POS_PUT] = "INSERT OR REPLACE INTO merge_pos(node_id, merged_seq, last_clock_ms)"
                   " VALUES(?1, ?2, ?3)",
    [SS_META_GET] = "SELECT v FROM state_meta WHERE k=?1",
    [SS_META_PUT] = "INSERT OR REPLACE INTO state_meta(k, v) VALUES(?1, ?2)",
};

/*
 * Layout version of state.db (PRAGMA user_version).  0: before versions
 * (totals as a table of seven key columns); 1: counters with one integer
 * key (merge.h, "Totals layout"); 3: counted attendances per person record
 * (st_person_att, one row per record; no index st_attendance_person; a
 * cluster's buckets are the view st_cluster_att); 4: an event's attendance
 * records in one row (st_event_att; st_attendance only for events of more
 * than 256 records).  State is derived from the logs, so an
 * older file is not converted: its state tables are dropped and every
 * position reset to zero in one transaction, and the merger counts the logs
 * again under the current layout.  A file from a newer program is refused.
 */
#define STATE_SCHEMA_VERSION 4
#define STATE_SCHEMA_TEXT "4"

static int
state_version(sqlite3 *db, int *v, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(db, &st, "PRAGMA user_version", err);
    if (rc)
        return rc;
    *v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return 0;
}

/* Drops every derived table and view (all but the positions and the meta
 * table) and resets the positions: what remains is a state store at zero. */
static int
state_reset(sqlite3 *db, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    int rc, step;
    for (;;) {
        if ((rc = rz_db_prepare(db, &st,
                                "SELECT type = 'view', name FROM sqlite_master"
                                " WHERE type IN ('table', 'view')"
                                " AND name NOT IN ('merge_pos', 'state_meta')"
                                " AND name NOT LIKE 'sqlite_%' LIMIT 1",
                                err)))
            return rc;
        step = sqlite3_step(st);
        if (step == SQLITE_ROW) /* %w: the name quoted as an identifier */
            sql = sqlite3_mprintf("DROP %s \"%w\";", sqlite3_column_int(st, 0) ? "VIEW" : "TABLE",
                                  (const char *)sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW)
            return rz_db_fail(db, err, "state schema");
        if (!sql)
            return rz_fail(err, RZ_E_NOMEM, "out of memory");
        rc = rz_db_exec(db, sql, err);
        sqlite3_free(sql);
        sql = NULL;
        if (rc)
            return rc;
    }
    return rz_db_exec(db, "DELETE FROM merge_pos;", err);
}

/* Brings an older state.db to STATE_SCHEMA_VERSION (see above). */
static int
state_upgrade(sqlite3 *db, rz_error *err)
{
    int v, rc;
    if ((rc = state_version(db, &v, err)))
        return rc;
    if (v == STATE_SCHEMA_VERSION)
        return 0;
    if (v > STATE_SCHEMA_VERSION)
        return rz_fail(err, RZ_E_VERSION,
                       "state.db has layout %d, newer than this program's %d: remove state.db"
                       " (and its -wal, -shm) to count the logs again",
                       v, STATE_SCHEMA_VERSION);
    if ((rc = rz_db_begin(db, err)))
        return rc;
    /* Another process may have upgraded it meanwhile. */
    if ((rc = state_version(db, &v, err)) == 0 && v < STATE_SCHEMA_VERSION) {
        rc = state_reset(db, err);
        if (rc == 0)
            rc = rz_db_exec(db, "PRAGMA user_version = " STATE_SCHEMA_TEXT ";", err);
    }
    if (rc) {
        rz_db_rollback(db);
        return rc;
    }
    return rz_db_commit(db, err);
}

/* The WAL frames (pages) after which the writer waits for the checkpointer
 * to copy everything back, so that its next transaction starts the WAL
 * again from its beginning: 1 GiB of 4 KiB pages, a few windows at
 * national size.  Below it, checkpoints run beside the next windows. */
#define STATE_WAL_CAP_FRAMES 262144
/* At most this long the writer waits for that (a reader holding an old
 * snapshot, or a checkpoint failing on a full disk, must not wedge it). */
#define STATE_WAL_WAIT_MS 30000
/* How long `merge pause | resume` waits for a merge window to commit. */
#define STATE_PAUSE_WAIT_MS 120000

/* Background checkpointing (state_store_checkpoint_behind). */
typedef struct state_ckpt {
    pthread_t thread;    /* runs ckpt_main */
    pthread_mutex_t mu;  /* guards the fields below */
    pthread_cond_t cond; /* commits, passes and stop */
    sqlite3 *db;         /* the checkpointer's own connection */
    uint64_t committed;  /* commits seen (wal hook) */
    uint64_t passed;     /* commits covered by the last finished pass */
    int wal_frames;      /* frames in the WAL after the last commit */
    int cap_frames;      /* above this, the next transaction waits (ckpt_wait_small) */
    int stop;            /* 1: the thread ends */
    int warned;          /* a failure was logged (once until a pass works) */
} state_ckpt;

struct state_store {
    sqlite3 *db;                /* state.db */
    sqlite3_stmt *st[SS_COUNT]; /* prepared once */
    char *path;                 /* of state.db */
    state_ckpt *ckpt;           /* NULL: SQLite checkpoints inside commits */
};

/* ---- checkpoints behind the writer ------------------------------------------
 *
 * A merge window dirties tens of thousands of pages (at national size
 * about 50,000 per 100,000 entries).  With SQLite's automatic checkpoint
 * the window's commit also copies them from the WAL into state.db and
 * syncs both files, in the merger's thread: about half of a window's
 * commit time and a quarter of its whole time at national size
 * (docs/PERFORMANCE.md).  Here a thread of its own, on a connection of
 * its own, does that copy after each commit while the merger goes on with
 * its next window; the merger's commits write the WAL without a sync
 * (synchronous=NORMAL), since the checkpoint syncs the WAL before copying
 * and state.db after.  What that risks is only the state: a power cut may
 * lose the last windows, and their positions with them (they commit
 * together, DESIGN guarantee 2), so the merger counts those entries again
 * from the log, which ingest keeps with synchronous=FULL.
 */

static int
ckpt_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    state_ckpt *c = arg;
    (void)db, (void)name;
    pthread_mutex_lock(&c->mu);
    c->committed++;
    c->wal_frames = frames;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    return SQLITE_OK;
}

static void *
ckpt_main(void *arg)
{
    state_ckpt *c = arg;
    /* Created by the merger: shares its lower priority (Linux threads
     * inherit the nice value), so ingest still goes first. */
    pthread_setname_np(pthread_self(), "rz-checkpoint");
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        uint64_t upto;
        int nlog = -1, ncopied = -1, rc, failed;
        if (c->passed == c->committed) {
            pthread_cond_wait(&c->cond, &c->mu);
            continue;
        }
        upto = c->committed;
        pthread_mutex_unlock(&c->mu);
        /* PASSIVE: never blocks the writer or readers; copies what no
         * reader still needs. */
        rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &ncopied);
        pthread_mutex_lock(&c->mu);
        c->passed = upto;
        failed = rc != SQLITE_OK && rc != SQLITE_BUSY;
        if (failed && !c->warned++)
            log_warnx("state store: checkpoint: %s (retried after the next window)",
                      sqlite3_errmsg(c->db));
        else if (!failed)
            c->warned = 0;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Before a write transaction: when the WAL has grown past its cap, waits
 * (bounded) for a pass that covers the last commit.  A full pass lets the
 * transaction start the WAL from its beginning; a partial one (a reader
 * still on an old snapshot, a busy or failing checkpoint) would not be
 * followed by another until the next commit, so waiting longer gains
 * nothing. */
static void
ckpt_wait_small(state_ckpt *c)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STATE_WAL_WAIT_MS / 1000;
    pthread_mutex_lock(&c->mu);
    while (c->wal_frames > c->cap_frames && !c->stop && c->passed != c->committed)
        if (pthread_cond_timedwait(&c->cond, &c->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&c->mu);
}

static void
ckpt_free(state_ckpt *c)
{
    rz_db_close(&c->db);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void
ckpt_stop(state_store *s)
{
    state_ckpt *c = s->ckpt;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    sqlite3_wal_hook(s->db, NULL, NULL);
    ckpt_free(c);
    s->ckpt = NULL;
}

int
state_store_checkpoint_behind(state_store *s, int cap_frames, rz_error *err)
{
    state_ckpt *c;
    int rc;
    if (s->ckpt)
        return 0;
    c = xcalloc(1, sizeof *c);
    c->cap_frames = cap_frames > 0 ? cap_frames : STATE_WAL_CAP_FRAMES;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    if ((rc = rz_db_open(&c->db, s->path, DB_READWRITE, err)) == 0 &&
        pthread_create(&c->thread, NULL, ckpt_main, c) != 0)
        rc = rz_fail(err, RZ_E_INTERNAL, "state store: cannot start the checkpoint thread");
    if (rc) {
        ckpt_free(c);
        return rc;
    }
    /* Only now that a checkpointer runs: it is what syncs the WAL. */
    if ((rc = rz_db_exec(s->db, "PRAGMA synchronous=NORMAL;", err))) {
        s->ckpt = c;
        ckpt_stop(s);
        return rc;
    }
    /* Replaces SQLite's automatic checkpoint (itself a WAL hook). */
    sqlite3_wal_hook(s->db, ckpt_hook, c);
    s->ckpt = c;
    return 0;
}

sqlite3 *
state_store_db(state_store *s)
{
    return s->db;
}

int
state_store_open_path(state_store **out, const char *path, rz_error *err)
{
    state_store *s = xcalloc(1, sizeof *s);
    int rc, i;

    *out = NULL;
    s->path = xstrdup(path);
    if ((rc = rz_db_open(&s->db, path, DB_READWRITE, err)) ||
        (rc = rz_db_exec(s->db, state_schema, err)) || (rc = state_upgrade(s->db, err)) ||
        (rc = merge_schema(s->db, err)))
        goto fail;
    for (i = 0; i < SS_COUNT; i++)
        if ((rc = rz_db_prepare(s->db, &s->st[i], state_sql[i], err)))
            goto fail;
    *out = s;
    return 0;
fail:
    state_store_close(&s);
    return rc;
}

int
state_store_open(state_store **out, const char *dir, rz_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, STATE_STORE_FILE) >= (int)sizeof path)
        return rz_fail(err, RZ_E_ARG, "server directory path too long");
    return state_store_open_path(out, path, err);
}

void
state_store_close(state_store **sp)
{
    state_store *s = sp ? *sp : NULL;
    int i;
    if (!s)
        return;
    ckpt_stop(s);
    for (i = 0; i < SS_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    rz_db_close(&s->db); /* the last connection: checkpoints what is left */
    free(s->path);
    free(s);
    *sp = NULL;
}

int
state_store_begin(state_store *s, rz_error *err)
{
    if (s->ckpt)
        ckpt_wait_small(s->ckpt);
    return rz_db_begin(s->db, err);
}

int
state_store_commit(state_store *s, rz_error *err)
{
    return rz_db_commit(s->db, err);
}

void
state_store_rollback(state_store *s)
{
    rz_db_rollback(s->db);
}

int
state_store_pos_get(state_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], state_pos *p,
                    rz_error *err)
{
    sqlite3_stmt *st = s->st[SS_POS_GET];
    int rc;
    memset(p, 0, sizeof *p);
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        p->merged_seq = (uint64_t)sqlite3_column_int64(st, 0);
        p->last_clock_ms = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rz_db_fail(s->db, err, "position lookup");
}

int
state_store_pos_put(state_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], const state_pos *p,
                    rz_error *err)
{
    sqlite3_stmt *st = s->st[SS_POS_PUT];
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)p->merged_seq);
    sqlite3_bind_int64(st, 3, (int64_t)p->last_clock_ms);
    return rz_db_step_done(s->db, st, err);
}

static int
state_meta_get(state_store *s, const char *k, int64_t *v, rz_error *err)
{
    sqlite3_stmt *st = s->st[SS_META_GET];
    int rc;
    *v = 0;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rz_db_fail(s->db, err, "state meta");
}

static int
state_meta_put(state_store *s, const char *k, int64_t v, rz_error *err)
{
    sqlite3_stmt *st = s->st[SS_META_PUT];
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    return rz_db_step_done(s->db, st, err);
}

int
state_store_note_merge(state_store *s, uint64_t now_ms, rz_error *err)
{
    return state_meta_put(s, "last_merge_ms", (int64_t)now_ms, err);
}

int
state_store_paused(state_store *s, int *paused, rz_error *err)
{
    int64_t v = 0;
    int rc = state_meta_get(s, "paused", &v, err);
    *paused = v != 0;
    return rc;
}

int
state_store_set_paused(state_store *s, int paused, rz_error *err)
{
    int rc;
    /* Autocommit: durable on return (synchronous=FULL).  The merger holds
     * the write lock for a whole window, longer than the usual 10 s wait
     * when a national backlog is counted under a drain. */
    sqlite3_busy_timeout(s->db, STATE_PAUSE_WAIT_MS);
    rc = state_meta_put(s, "paused", paused ? 1 : 0, err);
    sqlite3_busy_timeout(s->db, RZ_DB_BUSY_MS);
    return rc;
}

int
state_store_reader_open(sqlite3 **db, const char *dir, rz_error *err)
{
    char path[4096], log_path[4096];
    sqlite3_stmt *st = NULL;
    int rc;
    *db = NULL;
    if (snprintf(path, sizeof path, "%s/%s", dir, STATE_STORE_FILE) >= (int)sizeof path ||
        snprintf(log_path, sizeof log_path, "%s/%s", dir, LOG_STORE_FILE) >= (int)sizeof log_path)
        return rz_fail(err, RZ_E_ARG, "server directory path too long");
    if ((rc = rz_db_open(db, path, DB_READONLY, err)))
        return rc;
    /* Attached with the main handle's read-only flags. */
    if ((rc = rz_db_prepare(*db, &st, "ATTACH DATABASE ?1 AS log", err)) == 0) {
        sqlite3_bind_text(st, 1, log_path, -1, SQLITE_STATIC);
        rc = rz_db_step_done(*db, st, err);
        sqlite3_finalize(st);
    }
    if (rc)
        rz_db_close(db);
    return rc;
}

int
state_store_progress(sqlite3 *reader, int64_t centre_id, state_progress *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    memset(out, 0, sizeof *out);
    /* mergeable: the last clock entry at or below each head (log_clock's
     * key answers it). */
    if ((rc = rz_db_prepare(
             reader, &st,
             "SELECT coalesce(sum(n.head_seq), 0), coalesce(sum(coalesce(p.merged_seq, 0)), 0),"
             " coalesce(sum((SELECT max(l.seq) FROM log.log_clock l WHERE l.node_id = n.node_id"
             " AND l.seq <= n.head_seq)), 0),"
             " (SELECT v FROM state_meta WHERE k = 'last_merge_ms'),"
             " (SELECT v FROM state_meta WHERE k = 'paused')"
             " FROM log.node n LEFT JOIN merge_pos p ON p.node_id = n.node_id"
             " WHERE ?1 = 0 OR n.centre_id = ?1",
             err)))
        return rc;
    sqlite3_bind_int64(st, 1, centre_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->received = (uint64_t)sqlite3_column_int64(st, 0);
        out->counted = (uint64_t)sqlite3_column_int64(st, 1);
        out->mergeable = (uint64_t)sqlite3_column_int64(st, 2);
        out->last_merge_ms = (uint64_t)sqlite3_column_int64(st, 3);
        out->paused = sqlite3_column_int(st, 4) != 0;
        if (out->mergeable < out->counted)
            out->mergeable = out->counted;
    } else {
        rc = rz_db_fail(reader, err, "progress");
    }
    sqlite3_finalize(st);
    return rc;
}
