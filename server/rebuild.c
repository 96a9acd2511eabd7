/*
 * rebuild: log audit, replay into a fresh database, comparison, erasure.
 * See rebuild.h.  Everything streams through cursors; nothing loads a
 * whole log.
 */
#include "server/rebuild.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/db.h"
#include "common/util.h"
#include "proto/entry.h"
#include "server/ingest.h"
#include "server/merge.h"

/* Recomputes one node's chain from its entries and checks every stored hash
 * and every batch signature against the key that was current for it. */
static int
audit_node(sqlite3 *db, const uint8_t *node_id, FILE *out, uint64_t *entries, rz_error *err)
{
    sqlite3_stmt *st = NULL, *sig = NULL;
    uint8_t prev[RZ_HASH_BYTES] = {0}, h[RZ_HASH_BYTES];
    uint64_t expect = 1;
    int signed_head = 0;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    int rc, step;

    hex_encode(hex, node_id, RZ_NODE_ID_BYTES);
    if ((rc = rz_db_prepare(db, &st,
                            "SELECT seq, epoch, hash, entry FROM log WHERE node_id=?1 ORDER BY seq",
                            err)) ||
        (rc = rz_db_prepare(db, &sig,
                            /* The key that signed a batch must be one headquarters
                             * enrolled for the node, in force by the batch's end
                             * (a batch straddling a rekey was sent after it). */
                            "SELECT b.sig, b.epoch, b.sign_pk, EXISTS (SELECT 1"
                            " FROM node_key k WHERE k.node_id=b.node_id AND k.sign_pk=b.sign_pk"
                            " AND k.from_seq<=b.last_seq) FROM batch_sig b"
                            " WHERE b.node_id=?1 AND b.last_seq=?2",
                            err)))
        goto out;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        uint32_t epoch = (uint32_t)sqlite3_column_int64(st, 1);
        if (seq != expect) {
            rc = rz_fail(err, RZ_E_CHAIN, "node %s: log jumps from %llu to %llu", hex,
                         (unsigned long long)(expect - 1), (unsigned long long)seq);
            goto out;
        }
        chain_hash(h, node_id, epoch, seq, prev, sqlite3_column_blob(st, 3),
                   (size_t)sqlite3_column_bytes(st, 3));
        if (sqlite3_column_bytes(st, 2) != RZ_HASH_BYTES ||
            memcmp(h, sqlite3_column_blob(st, 2), RZ_HASH_BYTES) != 0) {
            rc = rz_fail(err, RZ_E_CHAIN, "node %s: entry %llu does not hash to its stored hash",
                         hex, (unsigned long long)seq);
            goto out;
        }
        sqlite3_bind_blob(sig, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(sig, 2, (int64_t)seq);
        signed_head = 0;
        if (sqlite3_step(sig) == SQLITE_ROW) {
            signed_head = 1;
            if (!sqlite3_column_int(sig, 3) || sqlite3_column_bytes(sig, 0) != RZ_SIG_BYTES ||
                sqlite3_column_bytes(sig, 2) != RZ_PK_BYTES ||
                batch_verify(sqlite3_column_blob(sig, 0), sqlite3_column_blob(sig, 2), node_id,
                             (uint32_t)sqlite3_column_int64(sig, 1), seq, h) != 0) {
                sqlite3_reset(sig);
                rc = rz_fail(err, RZ_E_SIGNATURE, "node %s: batch signature at %llu fails", hex,
                             (unsigned long long)seq);
                goto out;
            }
        }
        sqlite3_reset(sig);
        memcpy(prev, h, RZ_HASH_BYTES);
        expect++;
        (*entries)++;
    }
    if (step != SQLITE_DONE)
        rc = rz_db_fail(db, err, "log scan");
    else if (expect > 1 && !signed_head)
        /* The head's signature covers, through the chain, every entry. */
        rc = rz_fail(err, RZ_E_SIGNATURE, "node %s: log head %llu carries no batch signature", hex,
                     (unsigned long long)(expect - 1));
    else if (out)
        fprintf(out, "node %s: %llu entries, chain and signatures verify\n", hex,
                (unsigned long long)(expect - 1));
out:
    sqlite3_finalize(st);
    sqlite3_finalize(sig);
    return rc;
}

static int
audit_all(sqlite3 *db, FILE *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    uint64_t entries = 0;
    int rc;
    if ((rc = rz_db_prepare(db, &st, "SELECT node_id FROM node ORDER BY node_id", err)))
        return rc;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        uint8_t id[RZ_NODE_ID_BYTES];
        if (sqlite3_column_bytes(st, 0) != RZ_NODE_ID_BYTES)
            continue;
        memcpy(id, sqlite3_column_blob(st, 0), RZ_NODE_ID_BYTES);
        rc = audit_node(db, id, out, &entries, err);
    }
    sqlite3_finalize(st);
    if (rc == 0 && out)
        fprintf(out, "audit: %llu log entries verified\n", (unsigned long long)entries);
    return rc;
}

/* Copies the sources of truth (register, centres, nodes' identities, logs,
 * signatures, personal-value facts) from the live database (attached as
 * src) into the fresh one, with every node's merge position reset. */
static const char rebuild_copy_sql[] =
    "INSERT INTO register SELECT * FROM src.register;"
    "INSERT INTO centre SELECT * FROM src.centre;"
    "INSERT INTO node_key SELECT * FROM src.node_key;"
    "INSERT INTO node(node_id, centre_id, sign_pk, curve_pk, revoked, quarantined, epoch,"
    " head_seq, head_hash, merged_seq, last_clock_ms, last_sync_ms, clock_offset_ms, enrolled_ms)"
    " SELECT node_id, centre_id, sign_pk, curve_pk, revoked, quarantined, epoch, head_seq,"
    " head_hash, 0, 0, last_sync_ms, clock_offset_ms, enrolled_ms FROM src.node;"
    "INSERT INTO log SELECT * FROM src.log;"
    "INSERT INTO batch_sig SELECT * FROM src.batch_sig;"
    "INSERT INTO pii SELECT * FROM src.pii;"
    "DELETE FROM server_meta; INSERT INTO server_meta SELECT * FROM src.server_meta;";

/* Replays every node's log into the fresh store t. */
static int
replay_all(store *t, FILE *out, rz_error *err)
{
    sqlite3 *db = store_db(t);
    sqlite3_stmt *st = NULL;
    ingest *ig = NULL;
    int rc;
    uint64_t nodes = 0;

    if ((rc = ingest_new(&ig, t, NULL, err)) ||
        (rc = rz_db_prepare(db, &st, "SELECT node_id FROM node ORDER BY node_id", err)))
        goto out;
    if ((rc = store_begin(t, err)))
        goto out;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        uint8_t id[RZ_NODE_ID_BYTES];
        store_node n;
        memcpy(id, sqlite3_column_blob(st, 0), RZ_NODE_ID_BYTES);
        if ((rc = store_node_get(t, id, &n, err)) ||
            (rc = ingest_merge_pending(ig, &n, n.head_seq, err)) || (rc = ingest_flush(ig, err)) ||
            (rc = store_node_update(t, &n, err)))
            break;
        nodes++;
    }
    if (rc == 0)
        rc = store_commit(t, err);
    else
        store_rollback(t);
    if (rc == 0 && out)
        fprintf(out, "replay: %llu node logs merged into a fresh state\n",
                (unsigned long long)nodes);
out:
    sqlite3_finalize(st);
    ingest_destroy(&ig);
    return rc;
}

/* Builds a fresh database next to db_path from the live one; *path_out
 * (caller frees, and unlinks) names it. */
static int
rebuild_fresh(store *s, const char *db_path, store **fresh, char **path_out, FILE *out,
              rz_error *err)
{
    size_t n = strlen(db_path) + 32;
    char *path = xmalloc(n);
    sqlite3_stmt *st = NULL;
    int rc;
    (void)s;
    snprintf(path, n, "%s.rebuild-%ld", db_path, (long)getpid());
    unlink(path);
    if ((rc = store_open(fresh, path, err)))
        goto fail;
    if ((rc = rz_db_prepare(store_db(*fresh), &st, "ATTACH DATABASE ?1 AS src", err)))
        goto fail;
    sqlite3_bind_text(st, 1, db_path, -1, SQLITE_STATIC);
    rc = rz_db_step_done(store_db(*fresh), st, err);
    sqlite3_finalize(st);
    if (rc || (rc = rz_db_exec(store_db(*fresh), "BEGIN", err)) ||
        (rc = rz_db_exec(store_db(*fresh), rebuild_copy_sql, err)) ||
        (rc = rz_db_exec(store_db(*fresh), "COMMIT", err)) ||
        (rc = rz_db_exec(store_db(*fresh), "DETACH DATABASE src", err)))
        goto fail;
    if ((rc = replay_all(*fresh, out, err)))
        goto fail;
    *path_out = path;
    return 0;
fail:
    store_close(fresh);
    unlink(path);
    free(path);
    return rc;
}

static void
rebuild_discard(store **fresh, char *path)
{
    char side[4200];
    store_close(fresh);
    if (!path)
        return;
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path), unlink(side);
    snprintf(side, sizeof side, "%s-shm", path), unlink(side);
    snprintf(side, sizeof side, "%s.evidence", path), unlink(side);
    snprintf(side, sizeof side, "%s.evidence-wal", path), unlink(side);
    snprintf(side, sizeof side, "%s.evidence-shm", path), unlink(side);
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
rebuild_verify(store *s, const char *db_path, FILE *out, rz_error *err)
{
    store *fresh = NULL;
    char *path = NULL;
    sqlite3 *db = store_db(s);
    int64_t total = 0;
    int rc, i;

    if ((rc = audit_all(db, out, err)) || (rc = rebuild_fresh(s, db_path, &fresh, &path, out, err)))
        return rc;
    if ((rc = attach_fresh(db, path, err)))
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
    detach_fresh(db);
    if (rc == 0 && total != 0)
        rc = rz_fail(err, RZ_E_INTERNAL, "%lld rows differ between maintained and recomputed state",
                     (long long)total);
    if (rc == 0 && out)
        fprintf(out, "verify: maintained totals equal a full recomputation from the logs\n");
out:
    rebuild_discard(&fresh, path);
    return rc;
}

int
rebuild_apply(store *s, const char *db_path, FILE *out, rz_error *err)
{
    store *fresh = NULL;
    char *path = NULL;
    sqlite3 *db = store_db(s);
    char sql[256];
    int rc, i;

    if ((rc = audit_all(db, out, err)) || (rc = rebuild_fresh(s, db_path, &fresh, &path, out, err)))
        return rc;
    if ((rc = attach_fresh(db, path, err)) || (rc = store_begin(s, err)))
        goto out;
    for (i = 0; rc == 0 && merge_state_tables[i]; i++) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM main.%s; INSERT INTO main.%s SELECT * FROM fresh.%s;",
                 merge_state_tables[i], merge_state_tables[i], merge_state_tables[i]);
        rc = rz_db_exec(db, sql, err);
    }
    if (rc == 0)
        rc = rz_db_exec(db,
                        "UPDATE main.node SET merged_seq = (SELECT f.merged_seq FROM fresh.node f"
                        " WHERE f.node_id = node.node_id), last_clock_ms = (SELECT f.last_clock_ms"
                        " FROM fresh.node f WHERE f.node_id = node.node_id);",
                        err);
    if (rc == 0)
        rc = store_commit(s, err);
    else
        store_rollback(s);
    detach_fresh(db);
    if (rc == 0 && out)
        fprintf(out, "rebuild: state and totals replaced by a replay of all logs\n");
out:
    rebuild_discard(&fresh, path);
    return rc;
}

int
rebuild_erase_person(store *s, const uint8_t person_id[16], int *erased, rz_error *err)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *find = NULL, *wipe = NULL;
    uint8_t pattern[18] = {0xc4, 16};
    msgpack_zone z;
    int rc;

    *erased = 0;
    memcpy(pattern + 2, person_id, 16);
    /* Erased values must not linger in free pages. */
    if ((rc = rz_db_exec(db, "PRAGMA secure_delete=ON", err)))
        return rc;
    msgpack_zone_init(&z, 2048);
    /* The key travels as bin8 of 16 bytes: a byte search narrows the scan,
     * decoding confirms. */
    if ((rc = rz_db_prepare(db, &find,
                            "SELECT l.node_id, l.seq, l.entry FROM log l JOIN pii p"
                            " ON p.node_id=l.node_id AND p.seq=l.seq"
                            " WHERE p.value IS NOT NULL AND instr(l.entry, ?1) > 0"
                            " GROUP BY l.node_id, l.seq",
                            err)) ||
        (rc = rz_db_prepare(db, &wipe,
                            "UPDATE pii SET salt=NULL, value=NULL,"
                            " cnic_state = CASE cnic_state WHEN 2 THEN 4 ELSE cnic_state END"
                            " WHERE node_id=?1 AND seq=?2 AND value IS NOT NULL",
                            err)) ||
        (rc = store_begin(s, err)))
        goto out;
    sqlite3_bind_blob(find, 1, pattern, sizeof pattern, SQLITE_STATIC);
    while (rc == 0 && sqlite3_step(find) == SQLITE_ROW) {
        rz_entry e;
        msgpack_zone_clear(&z);
        if (entry_decode(sqlite3_column_blob(find, 2), (size_t)sqlite3_column_bytes(find, 2), &z,
                         &e, NULL) != 0 ||
            e.table != RZ_T_PERSON || memcmp(e.key, person_id, 16) != 0)
            continue;
        sqlite3_bind_value(wipe, 1, sqlite3_column_value(find, 0));
        sqlite3_bind_int64(wipe, 2, sqlite3_column_int64(find, 1));
        rc = rz_db_step_done(db, wipe, err);
        *erased += sqlite3_changes(db);
    }
    if (rc == 0)
        rc = store_commit(s, err);
    else
        store_rollback(s);
    /* ...nor in the write-ahead log. */
    if (rc == 0)
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
out:
    sqlite3_finalize(find);
    sqlite3_finalize(wipe);
    msgpack_zone_destroy(&z);
    return rc;
}
