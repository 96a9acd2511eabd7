/*
 * rebuild: log audit, the merger from position zero into a fresh state
 * store, comparison, erasure.  See rebuild.h.  Everything streams through
 * cursors; nothing loads a whole log.
 */
#include "server/rebuild.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/db.h"
#include "common/util.h"
#include "proto/entry.h"
#include "server/dayindex.h"
#include "server/merge.h"
#include "server/merger.h"

/* Audit of one node: each signed head of the recomputed chain. */
typedef struct audit_walk {
    const uint8_t *node_id; /* the node */
    const char *hex;        /* its id, for messages */
    sqlite3_stmt *sig;      /* the batch signature at a sequence number */
    int signed_head;        /* the last entry walked carries a signature */
    uint64_t last;          /* the last entry walked */
    rz_error *err;          /* detail of a failure */
} audit_walk;

static int
audit_entry(uint64_t seq, uint32_t epoch, const uint8_t h[RZ_HASH_BYTES], void *arg)
{
    audit_walk *a = arg;
    sqlite3_stmt *sig = a->sig;
    int rc = 0;
    (void)epoch;
    sqlite3_bind_blob(sig, 1, a->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(sig, 2, (int64_t)seq);
    a->signed_head = 0;
    if (sqlite3_step(sig) == SQLITE_ROW) {
        a->signed_head = 1;
        if (!sqlite3_column_int(sig, 3) || sqlite3_column_bytes(sig, 0) != RZ_SIG_BYTES ||
            sqlite3_column_bytes(sig, 2) != RZ_PK_BYTES ||
            batch_verify(sqlite3_column_blob(sig, 0), sqlite3_column_blob(sig, 2), a->node_id,
                         (uint32_t)sqlite3_column_int64(sig, 1), seq, h) != 0)
            rc = rz_fail(a->err, RZ_E_SIGNATURE, "node %s: batch signature at %llu fails", a->hex,
                         (unsigned long long)seq);
    }
    sqlite3_reset(sig);
    a->last = seq;
    return rc;
}

/* Recomputes one node's chain from its entries (log_store_chain, which
 * also checks the hashes the store keeps) and checks every batch signature
 * against the key that was current for it. */
static int
audit_node(log_store *ls, const uint8_t *node_id, FILE *out, uint64_t *entries, rz_error *err)
{
    sqlite3_stmt *sig = NULL;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    audit_walk a = {node_id, hex, NULL, 0, 0, err};
    int rc;

    hex_encode(hex, node_id, RZ_NODE_ID_BYTES);
    if ((rc = rz_db_prepare(log_store_db(ls), &sig,
                            /* The key that signed a batch must be one headquarters
                             * enrolled for the node, in force by the batch's end
                             * (a batch straddling a rekey was sent after it). */
                            "SELECT b.sig, b.epoch, b.sign_pk, EXISTS (SELECT 1"
                            " FROM node_key k WHERE k.node_id=b.node_id AND k.sign_pk=b.sign_pk"
                            " AND k.from_seq<=b.last_seq) FROM batch_sig b"
                            " WHERE b.node_id=?1 AND b.last_seq=?2",
                            err)))
        return rc;
    a.sig = sig;
    if ((rc = log_store_chain(ls, node_id, audit_entry, &a, err)))
        goto out;
    *entries += a.last;
    if (a.last > 0 && !a.signed_head)
        /* The head's signature covers, through the chain, every entry. */
        rc = rz_fail(err, RZ_E_SIGNATURE, "node %s: log head %llu carries no batch signature", hex,
                     (unsigned long long)a.last);
    else if (out)
        fprintf(out, "node %s: %llu entries, chain and signatures verify\n", hex,
                (unsigned long long)a.last);
out:
    sqlite3_finalize(sig);
    return rc;
}

static int
audit_all(log_store *ls, FILE *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint64_t entries = 0;
    int rc;
    if ((rc = rz_db_prepare(log_store_db(ls), &st, "SELECT node_id FROM node ORDER BY node_id",
                            err)))
        return rc;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        uint8_t id[RZ_NODE_ID_BYTES];
        if (sqlite3_column_bytes(st, 0) != RZ_NODE_ID_BYTES)
            continue;
        memcpy(id, sqlite3_column_blob(st, 0), RZ_NODE_ID_BYTES);
        rc = audit_node(ls, id, out, &entries, err);
    }
    sqlite3_finalize(st);
    if (rc == 0 && out)
        fprintf(out, "audit: %llu log entries verified\n", (unsigned long long)entries);
    return rc;
}

/* Per-node targets of a rebuild: the maintained positions (verify), read
 * in the same snapshot as the state they are compared with. */
typedef struct rebuild_target {
    uint8_t id[RZ_NODE_ID_BYTES]; /* node */
    uint64_t seq;                 /* merge up to here */
} rebuild_target;

typedef struct rebuild_targets {
    rebuild_target *t; /* sorted as read (node id order) */
    size_t n, cap;     /* length, capacity */
} rebuild_targets;

static int
rebuild_limit(const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t *upto, void *arg)
{
    const rebuild_targets *ts = arg;
    size_t i;
    for (i = 0; i < ts->n; i++)
        if (memcmp(ts->t[i].id, node_id, RZ_NODE_ID_BYTES) == 0) {
            *upto = ts->t[i].seq;
            return 0;
        }
    *upto = 0; /* never merged in the maintained state */
    return 0;
}

static int
rebuild_read_targets(sqlite3 *db, rebuild_targets *ts, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(db, &st, "SELECT node_id, merged_seq FROM main.merge_pos", err), step;
    if (rc)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != RZ_NODE_ID_BYTES)
            continue;
        if (ts->n == ts->cap) {
            ts->cap = ts->cap ? 2 * ts->cap : 64;
            ts->t = xrealloc(ts->t, ts->cap * sizeof *ts->t);
        }
        memcpy(ts->t[ts->n].id, sqlite3_column_blob(st, 0), RZ_NODE_ID_BYTES);
        ts->t[ts->n++].seq = (uint64_t)sqlite3_column_int64(st, 1);
    }
    if (step != SQLITE_DONE)
        rc = rz_db_fail(db, err, "positions");
    sqlite3_finalize(st);
    return rc;
}

/* Runs the merger from position zero into the fresh state store, up to
 * the targets (or everything mergeable when ts is NULL). */
static int
rebuild_replay(log_store *ls, state_store *fresh, rebuild_targets *ts, FILE *out, rz_error *err)
{
    merger *m = NULL;
    uint64_t merged = 0;
    int rc;
    if ((rc = merger_new(&m, ls, fresh, err)))
        return rc;
    if (ts)
        merger_set_limit(m, rebuild_limit, ts);
    rc = merger_catch_up(m, &merged, err);
    merger_destroy(&m);
    if (rc == 0 && out)
        fprintf(out, "replay: %llu log entries merged from position zero into a fresh state\n",
                (unsigned long long)merged);
    return rc;
}

/* A fresh, empty state store next to the live one; *path_out (caller
 * frees, rebuild_discard removes) names it. */
static int
rebuild_fresh(const char *dir, state_store **fresh, char **path_out, rz_error *err)
{
    size_t n = strlen(dir) + sizeof STATE_STORE_FILE + 32;
    char *path = xmalloc(n);
    int rc;
    snprintf(path, n, "%s/%s.rebuild-%ld", dir, STATE_STORE_FILE, (long)getpid());
    unlink(path);
    if ((rc = state_store_open_path(fresh, path, err)) ||
        (rc = state_store_checkpoint_behind(*fresh, 0, err))) {
        state_store_close(fresh);
        unlink(path);
        free(path);
        return rc;
    }
    *path_out = path;
    return 0;
}

static void
rebuild_discard(state_store **fresh, char *path)
{
    char side[4200];
    state_store_close(fresh);
    if (!path)
        return;
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path), unlink(side);
    snprintf(side, sizeof side, "%s-shm", path), unlink(side);
    free(path);
}

/* Rows of table in one database and not in the other, both ways. */
static int
compare_table(sqlite3 *db, const char *table, int64_t *diff, rz_error *err)
{
    char sql[512];
    sqlite3_stmt *st = NULL;
    int rc;
    /* Table names come from merge_state_tables, a constant list, never
     * from input. */
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM (SELECT * FROM main.%s EXCEPT SELECT * FROM fresh.%s))"
             " + (SELECT count(*) FROM (SELECT * FROM fresh.%s EXCEPT SELECT * FROM main.%s))",
             table, table, table, table);
    if ((rc = rz_db_prepare(db, &st, sql, err)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *diff = sqlite3_column_int64(st, 0);
    else
        rc = rz_db_fail(db, err, "compare");
    sqlite3_finalize(st);
    return rc;
}

static int
attach_fresh(sqlite3 *db, const char *path, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(db, &st, "ATTACH DATABASE ?1 AS fresh", err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    rc = rz_db_step_done(db, st, err);
    sqlite3_finalize(st);
    return rc;
}

static void
detach_fresh(sqlite3 *db)
{
    /* Failing to detach only leaves an attachment on a handle about to be
     * used read-mostly; the file is removed anyway. */
    sqlite3_exec(db, "DETACH DATABASE fresh", NULL, NULL, NULL);
}

int
rebuild_verify(log_store *ls, state_store *ss, const char *dir, FILE *out, rz_error *err)
{
    state_store *fresh = NULL;
    rebuild_targets ts = {NULL, 0, 0};
    char *path = NULL;
    sqlite3 *db = state_store_db(ss);
    int64_t total = 0;
    int rc, i, in_txn = 0;

    if ((rc = audit_all(ls, out, err)) || (rc = rebuild_fresh(dir, &fresh, &path, err)))
        goto out;
    /* A running merger keeps moving the maintained state: positions and
     * state are read in one snapshot, and the replay goes exactly as far. */
    if ((rc = attach_fresh(db, path, err)) || (rc = rz_db_exec(db, "BEGIN", err)))
        goto out;
    in_txn = 1;
    if ((rc = rebuild_read_targets(db, &ts, err)) ||
        (rc = rebuild_replay(ls, fresh, &ts, out, err)))
        goto out;
    for (i = 0; merge_state_tables[i]; i++) {
        int64_t diff = 0;
        if ((rc = compare_table(db, merge_state_tables[i], &diff, err)))
            break;
        if (out)
            fprintf(out, "table %-24s %s (%lld differing rows)\n", merge_state_tables[i],
                    diff ? "DIFFERS" : "matches", (long long)diff);
        total += diff;
    }
    if (rc == 0) {
        /* The day index numbers persons in merge order, so it is compared
         * with what the (now verified) state tables say, not byte for byte
         * with the replay's. */
        int64_t diff = 0;
        rc = dayindex_check(db, out, &diff, err);
        if (rc == 0 && out)
            fprintf(out, "day index %-22s %s (%lld differing entries)\n", "",
                    diff ? "DIFFERS" : "matches the state", (long long)diff);
        total += diff;
    }
    if (rc == 0 && total != 0)
        rc = rz_fail(err, RZ_E_INTERNAL, "%lld rows differ between maintained and recomputed state",
                     (long long)total);
    if (rc == 0 && out)
        fprintf(out, "verify: maintained totals equal a full recomputation from the logs\n");
out:
    if (in_txn)
        rz_db_rollback(db);
    detach_fresh(db);
    rebuild_discard(&fresh, path);
    free(ts.t);
    return rc;
}

int
rebuild_apply(log_store *ls, state_store *ss, const char *dir, FILE *out, rz_error *err)
{
    state_store *fresh = NULL;
    char *path = NULL;
    sqlite3 *db = state_store_db(ss);
    char sql[256];
    int rc, i;

    /* A running merger may go on: the replacement below is one state-store
     * transaction (state and positions together), serialised with its
     * windows, and each window starts from the positions it finds. */
    if ((rc = audit_all(ls, out, err)) || (rc = rebuild_fresh(dir, &fresh, &path, err)) ||
        (rc = rebuild_replay(ls, fresh, NULL, out, err)))
        goto out;
    if ((rc = attach_fresh(db, path, err)) || (rc = state_store_begin(ss, err)))
        goto out;
    for (i = 0; rc == 0 && merge_state_tables[i]; i++) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM main.%s; INSERT INTO main.%s SELECT * FROM fresh.%s;",
                 merge_state_tables[i], merge_state_tables[i], merge_state_tables[i]);
        rc = rz_db_exec(db, sql, err);
    }
    /* The day index goes with the state it was derived from. */
    for (i = 0; rc == 0 && dayindex_tables[i]; i++) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM main.%s; INSERT INTO main.%s SELECT * FROM fresh.%s;",
                 dayindex_tables[i], dayindex_tables[i], dayindex_tables[i]);
        rc = rz_db_exec(db, sql, err);
    }
    if (rc == 0)
        rc = rz_db_exec(db,
                        "DELETE FROM main.merge_pos;"
                        " INSERT INTO main.merge_pos SELECT * FROM fresh.merge_pos;"
                        " INSERT OR REPLACE INTO main.state_meta SELECT * FROM fresh.state_meta"
                        " WHERE k = 'last_merge_ms';",
                        err);
    if (rc == 0)
        rc = state_store_commit(ss, err);
    else
        state_store_rollback(ss);
    detach_fresh(db);
    if (rc == 0 && out)
        fprintf(out, "rebuild: state, totals and positions replaced by the merger's replay of"
                     " all logs\n");
out:
    rebuild_discard(&fresh, path);
    return rc;
}

/* Erasure's walk: the entries that hold the person's key. */
typedef struct erase_walk {
    log_store *s;          /* the store */
    sqlite3_stmt *wipe;    /* clears one entry's values */
    const uint8_t *person; /* the person's id */
    msgpack_zone z;        /* decoding scratch */
    int erased;            /* values cleared */
    rz_error *err;         /* detail of a failure */
} erase_walk;

static int
erase_entry(const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq, const uint8_t *entry, size_t len,
            void *arg)
{
    erase_walk *w = arg;
    sqlite3 *db = log_store_db(w->s);
    rz_entry e;
    int rc;
    msgpack_zone_clear(&w->z);
    if (entry_decode(entry, len, &w->z, &e, NULL) != 0 || e.table != RZ_T_PERSON ||
        memcmp(e.key, w->person, 16) != 0)
        return 0;
    sqlite3_bind_blob(w->wipe, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_int64(w->wipe, 2, (int64_t)seq);
    if ((rc = rz_db_step_done(db, w->wipe, w->err)) == 0)
        w->erased += sqlite3_changes(db);
    return rc;
}

int
rebuild_erase_person(log_store *s, const uint8_t person_id[16], int *erased, rz_error *err)
{
    sqlite3 *db = log_store_db(s);
    uint8_t pattern[18] = {0xc4, 16};
    erase_walk w;
    int rc;

    memset(&w, 0, sizeof w);
    w.s = s;
    w.person = person_id;
    w.err = err;
    *erased = 0;
    memcpy(pattern + 2, person_id, 16);
    /* Erased values must not linger in free pages. */
    if ((rc = rz_db_exec(db, "PRAGMA secure_delete=ON", err)))
        return rc;
    msgpack_zone_init(&w.z, 2048);
    if ((rc = rz_db_prepare(db, &w.wipe,
                            "UPDATE pii SET salt=NULL, value=NULL,"
                            " cnic_state = CASE cnic_state WHEN 2 THEN 4 ELSE cnic_state END"
                            " WHERE node_id=?1 AND seq=?2 AND value IS NOT NULL",
                            err)) ||
        (rc = log_store_begin(s, err)))
        goto out;
    /* The key travels as bin8 of 16 bytes: a byte search narrows the scan,
     * decoding confirms. */
    rc = log_store_grep(s, pattern, sizeof pattern, erase_entry, &w, err);
    if (rc == 0)
        rc = log_store_commit(s, err);
    else
        log_store_rollback(s);
    if (rc == 0)
        *erased = w.erased;
    /* ...nor in the write-ahead log. */
    if (rc == 0)
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
out:
    sqlite3_finalize(w.wipe);
    msgpack_zone_destroy(&w.z);
    return rc;
}
