/*
 * log_store: SQLite implementation of the log store (see log_store.h).
 *
 * server.db holds the enrollment register, centres, nodes and their key
 * history, the logs, batch signatures and the erasable personal values.
 * Fork evidence lives in server.db.evidence, attached.  No merged state:
 * that is state.db (state_store.c).  Statements are prepared once at open.
 *
 * The storage unit of a log is the verified batch (schema 3): one
 * log_batch row holds the new entries of one BATCH, as the node signed
 * them, with the chain hash before them (prev) and at their end (head).
 * An acknowledgement then costs one b-tree insertion per batch instead of
 * one per entry.  Per-entry access exists only where the protocol needs it:
 * log_store_hash_at (the row's head, or its prev re-hashed forward through
 * the row's entries, at most one batch), the clock entries (log_clock, one
 * row per clock entry, so the merger finds segment boundaries without
 * decoding) and the personal values (pii, one row per value, erasable).
 *
 * Byte layout of log_batch.entries: the entries first_seq..last_seq in
 * order, each as a msgpack bin (bin8: c4 len; bin16: c5 len-be16; bin32:
 * c6 len-be32) followed by the entry's bytes exactly as signed.  So the
 * column is a msgpack stream of last_seq - first_seq + 1 bins.
 */
#include "server/log_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/mpk.h"
#include "common/util.h"
#include "server/merge.h"

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS server_meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS centre("
    " centre_id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, programme INTEGER NOT NULL,"
    " province TEXT NOT NULL, district TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS node("
    " node_id BLOB PRIMARY KEY, centre_id INTEGER NOT NULL, sign_pk BLOB NOT NULL,"
    " curve_pk TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
    " quarantined INTEGER NOT NULL DEFAULT 0, epoch INTEGER NOT NULL DEFAULT 0,"
    " head_seq INTEGER NOT NULL DEFAULT 0, head_hash BLOB NOT NULL,"
    " last_sync_ms INTEGER NOT NULL DEFAULT 0, clock_offset_ms INTEGER NOT NULL DEFAULT 0,"
    " enrolled_ms INTEGER NOT NULL, last_contact_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS node_by_curve ON node(curve_pk);"
    /* The enrollment register: append-only versions, so every past total
     * can be reproduced from the logs and the register as it stood. */
    "CREATE TABLE IF NOT EXISTS register("
    " version INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, action TEXT NOT NULL,"
    " node_id BLOB NOT NULL, sign_pk BLOB, centre TEXT, programme INTEGER, province TEXT,"
    " district TEXT, from_seq INTEGER, epoch INTEGER, centre_id INTEGER);"
    /* Key history: which key signed which range of a node's log. */
    "CREATE TABLE IF NOT EXISTS node_key("
    " node_id BLOB NOT NULL, from_seq INTEGER NOT NULL, sign_pk BLOB NOT NULL,"
    " PRIMARY KEY(node_id, from_seq)) WITHOUT ROWID;"
    /* The logs, one row per stored batch (see the file comment).  A rowid
     * table: the rows are large (their entries spill to overflow pages) and
     * are appended, which a rowid b-tree does cheaply; the index finds the
     * row holding a sequence number (the first with last_seq >= it). */
    "CREATE TABLE IF NOT EXISTS log_batch("
    " node_id BLOB NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL, prev BLOB NOT NULL, head BLOB NOT NULL, entries BLOB NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS log_batch_at ON log_batch(node_id, last_seq, first_seq);"
    /* Clock entries with their server time, and entries an import closed
     * (log_store_close_import): the merger's segment boundaries. */
    "CREATE TABLE IF NOT EXISTS log_clock("
    " node_id BLOB NOT NULL, seq INTEGER NOT NULL, clock_ms INTEGER NOT NULL,"
    " PRIMARY KEY(node_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS batch_sig("
    " node_id BLOB NOT NULL, last_seq INTEGER NOT NULL, first_seq INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL, sig BLOB NOT NULL, sign_pk BLOB NOT NULL,"
    " PRIMARY KEY(node_id, last_seq)) WITHOUT ROWID;"
    /* Personal values, erasable: salt and value may become NULL; the CNIC
     * link token and state stay so totals rebuild identically. */
    "CREATE TABLE IF NOT EXISTS pii("
    " node_id BLOB NOT NULL, seq INTEGER NOT NULL, field INTEGER NOT NULL, salt BLOB,"
    " value TEXT, cnic_state INTEGER NOT NULL, token BLOB,"
    " PRIMARY KEY(node_id, seq, field)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS evidence.fork_evidence("
    " id INTEGER PRIMARY KEY, node_id BLOB NOT NULL, at_ms INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL, seq INTEGER NOT NULL, reason TEXT NOT NULL, batch BLOB NOT NULL);";

enum {
    ST_NODE_GET,
    ST_NODE_BY_CURVE,
    ST_NODE_UPDATE,
    ST_NODES,
    ST_BATCH_FIND,
    ST_BATCH_ENTRIES,
    ST_BATCH_LAST,
    ST_LOG_APPEND,
    ST_CLOCK_PUT,
    ST_NEXT_CLOCK,
    ST_LAST_CLOCK,
    ST_SCAN,
    ST_CNIC,
    ST_BATCH_SIG,
    ST_PII_PUT,
    ST_FORK,
    ST_REGISTER,
    ST_COUNT
};

#define LOG_NODE_COLS                                                                              \
    "node_id, centre_id, sign_pk, curve_pk, revoked, quarantined, epoch, head_seq, head_hash,"     \
    " last_sync_ms, clock_offset_ms"

static const char *const log_store_sql[ST_COUNT] = {
    [ST_NODE_GET] = "SELECT " LOG_NODE_COLS " FROM node WHERE node_id = ?1",
    [ST_NODE_BY_CURVE] = "SELECT " LOG_NODE_COLS " FROM node WHERE curve_pk = ?1",
    [ST_NODE_UPDATE] = "UPDATE node SET quarantined=?2, head_seq=?3, head_hash=?4,"
                       " last_sync_ms=?5, clock_offset_ms=?6 WHERE node_id=?1",
    [ST_NODES] = "SELECT " LOG_NODE_COLS " FROM node ORDER BY node_id",
    /* The row holding seq ?2, without its entries (not read unless needed). */
    [ST_BATCH_FIND] = "SELECT first_seq, last_seq, epoch, prev, head FROM log_batch"
                      " WHERE node_id=?1 AND last_seq>=?2 ORDER BY last_seq LIMIT 1",
    [ST_BATCH_ENTRIES] = "SELECT entries FROM log_batch WHERE node_id=?1 AND last_seq=?2",
    [ST_BATCH_LAST] = "SELECT last_seq FROM log_batch WHERE node_id=?1"
                      " ORDER BY last_seq DESC LIMIT 1",
    [ST_LOG_APPEND] = "INSERT INTO log_batch(node_id, first_seq, last_seq, epoch, prev, head,"
                      " entries) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_CLOCK_PUT] = "INSERT INTO log_clock(node_id, seq, clock_ms) VALUES(?1, ?2, ?3)",
    [ST_NEXT_CLOCK] = "SELECT seq, clock_ms FROM log_clock WHERE node_id=?1 AND seq>?2 AND seq<=?3"
                      " ORDER BY seq LIMIT 1",
    [ST_LAST_CLOCK] = "SELECT seq FROM log_clock WHERE node_id=?1 AND seq<=?2"
                      " ORDER BY seq DESC LIMIT 1",
    [ST_SCAN] = "SELECT first_seq, last_seq, entries FROM log_batch WHERE node_id=?1"
                " AND last_seq>=?2 ORDER BY last_seq",
    [ST_CNIC] = "SELECT cnic_state, token FROM pii WHERE node_id=?1 AND seq=?2 AND field=1",
    [ST_BATCH_SIG] = "INSERT OR REPLACE INTO batch_sig(node_id, last_seq, first_seq, epoch, sig,"
                     " sign_pk) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_PII_PUT] = "INSERT OR REPLACE INTO pii(node_id, seq, field, salt, value, cnic_state, token)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_FORK] = "INSERT INTO evidence.fork_evidence(node_id, at_ms, epoch, seq, reason, batch)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_REGISTER] = "INSERT INTO register(at_ms, action, node_id, sign_pk, centre, programme,"
                    " province, district, from_seq, epoch, centre_id)"
                    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
};

struct log_store {
    sqlite3 *db;                /* the central database */
    sqlite3_stmt *st[ST_COUNT]; /* prepared once */
    uint8_t pepper[32];         /* key of CNIC link tokens; secret */
    mpk_writer row;             /* scratch: the entries of the row being appended */
};

sqlite3 *
log_store_db(log_store *s)
{
    return s->db;
}

const uint8_t *
log_store_pepper(log_store *s)
{
    return s->pepper;
}

static int
log_store_load_pepper(log_store *s, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if ((rc = rz_db_prepare(s->db, &st, "SELECT v FROM server_meta WHERE k='pepper'", err)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
        memcpy(s->pepper, sqlite3_column_blob(st, 0), 32);
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_finalize(st);
    randombytes_buf(s->pepper, sizeof s->pepper);
    if ((rc = rz_db_prepare(s->db, &st, "INSERT INTO server_meta(k, v) VALUES('pepper', ?1)", err)))
        return rc;
    sqlite3_bind_blob(st, 1, s->pepper, 32, SQLITE_STATIC);
    rc = rz_db_step_done(s->db, st, err);
    sqlite3_finalize(st);
    return rc;
}

/* Adds table.column (decl) to a database made before it existed. */
static int
log_store_add_column(log_store *s, const char *table, const char *column, const char *decl,
                     rz_error *err)
{
    sqlite3_stmt *st = NULL;
    char sql[256];
    int rc, have = 0;
    if ((rc = rz_db_prepare(s->db, &st,
                            "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", err)))
        return rc;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (have)
        return 0;
    /* Names and declarations are constants of this file, never input. */
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s;", table, column, decl);
    return rz_db_exec(s->db, sql, err);
}

#define LOG_STORE_CACHE_KIB "8192" /* page cache per connection, KiB */
/* Schema of server.db (PRAGMA user_version): 2 added node.last_contact_ms
 * and register.centre_id to the release of 2026-11-23 (0); 3 stores the
 * logs as batch rows (log_batch, log_clock) instead of one row per entry
 * (log).  Opening upgrades an older file in place, in one transaction; a
 * newer one is refused. */
#define LOG_STORE_SCHEMA 3
#define LOG_STORE_SCHEMA_TEXT "3"

static int
log_store_version(log_store *s, int *version, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    *version = 0;
    if ((rc = rz_db_prepare(s->db, &st, "PRAGMA user_version", err)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Writes the row collected in s->row: entries first..last of node, all of
 * one epoch, chain hash prev before them and head at their end. */
static int
upgrade_put_row(log_store *s, sqlite3_stmt *put, const uint8_t *node, uint64_t first, uint64_t last,
                uint32_t epoch, const uint8_t *prev, const uint8_t *head, rz_error *err)
{
    int rc;
    if (s->row.rc)
        return rz_fail(err, RZ_E_NOMEM, "out of memory upgrading the log");
    sqlite3_bind_blob(put, 1, node, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(put, 2, (int64_t)first);
    sqlite3_bind_int64(put, 3, (int64_t)last);
    sqlite3_bind_int64(put, 4, epoch);
    sqlite3_bind_blob(put, 5, prev, RZ_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(put, 6, head, RZ_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(put, 7, s->row.sb.data, (int)s->row.sb.size, SQLITE_STATIC);
    rc = rz_db_step_done(s->db, put, err);
    mpk_w_reset(&s->row);
    return rc;
}

/* Schema 2 -> 3: the per-entry table log becomes batch rows, streamed in
 * (node, seq) order.  A row ends where a signed batch ended (batch_sig), at
 * an epoch change, at a gap and after RZ_MAX_BATCH_ENTRIES entries, so rows
 * look like those ingest writes.  Hashes are carried over as stored (verify
 * recomputes them).  Then log goes. */
static int
log_store_upgrade_log(log_store *s, rz_error *err)
{
    sqlite3_stmt *rd = NULL, *put = NULL, *clk = NULL, *sig = NULL;
    uint8_t node[RZ_NODE_ID_BYTES] = {0}, prev[RZ_HASH_BYTES] = {0}, hash[RZ_HASH_BYTES] = {0};
    uint64_t first = 0, last = 0, entries = 0, rows = 0;
    uint32_t epoch = 0;
    size_t n = 0;
    int rc, step, have = 0;

    if ((rc = rz_db_prepare(s->db, &rd,
                            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='log'",
                            err)))
        return rc;
    if (sqlite3_step(rd) == SQLITE_ROW)
        have = sqlite3_column_int(rd, 0);
    sqlite3_finalize(rd);
    rd = NULL;
    if (!have)
        return 0;
    /* Minutes for a national log: say why the server is not serving yet. */
    log_info("server.db: storing the log as batch rows (schema %d), once", LOG_STORE_SCHEMA);
    if ((rc = rz_db_prepare(s->db, &rd,
                            "SELECT node_id, seq, epoch, hash, clock_ms, entry FROM log"
                            " ORDER BY node_id, seq",
                            err)) ||
        (rc = rz_db_prepare(s->db, &put, log_store_sql[ST_LOG_APPEND], err)) ||
        (rc = rz_db_prepare(s->db, &clk, log_store_sql[ST_CLOCK_PUT], err)) ||
        (rc = rz_db_prepare(s->db, &sig, "SELECT 1 FROM batch_sig WHERE node_id=?1 AND last_seq=?2",
                            err)))
        goto out;
    mpk_w_reset(&s->row);
    while ((step = sqlite3_step(rd)) == SQLITE_ROW) {
        const void *id = sqlite3_column_blob(rd, 0);
        uint64_t seq = (uint64_t)sqlite3_column_int64(rd, 1);
        uint32_t ep = (uint32_t)sqlite3_column_int64(rd, 2);
        int same = sqlite3_column_bytes(rd, 0) == RZ_NODE_ID_BYTES &&
                   memcmp(id, node, RZ_NODE_ID_BYTES) == 0;
        if (sqlite3_column_bytes(rd, 0) != RZ_NODE_ID_BYTES ||
            sqlite3_column_bytes(rd, 3) != RZ_HASH_BYTES) {
            rc = rz_fail(err, RZ_E_IO, "log row %llu is damaged: upgrade stopped",
                         (unsigned long long)seq);
            goto out;
        }
        if (n > 0 && (!same || seq != last + 1 || ep != epoch)) {
            if ((rc = upgrade_put_row(s, put, node, first, last, epoch, prev, hash, err)))
                goto out;
            n = 0;
            rows++;
        }
        if (n == 0) {
            /* The hash before a row is its predecessor's last one. */
            if (!same)
                memset(hash, 0, sizeof hash);
            memcpy(prev, hash, RZ_HASH_BYTES);
            memcpy(node, id, RZ_NODE_ID_BYTES);
            first = seq;
            epoch = ep;
        }
        mpk_w_bin(&s->row, sqlite3_column_blob(rd, 5), (size_t)sqlite3_column_bytes(rd, 5));
        memcpy(hash, sqlite3_column_blob(rd, 3), RZ_HASH_BYTES);
        last = seq;
        n++;
        entries++;
        if (sqlite3_column_type(rd, 4) != SQLITE_NULL) {
            sqlite3_bind_blob(clk, 1, node, RZ_NODE_ID_BYTES, SQLITE_STATIC);
            sqlite3_bind_int64(clk, 2, (int64_t)seq);
            sqlite3_bind_int64(clk, 3, sqlite3_column_int64(rd, 4));
            if ((rc = rz_db_step_done(s->db, clk, err)))
                goto out;
        }
        sqlite3_bind_blob(sig, 1, node, RZ_NODE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(sig, 2, (int64_t)seq);
        step = sqlite3_step(sig);
        sqlite3_reset(sig);
        if (step == SQLITE_ROW || n >= RZ_MAX_BATCH_ENTRIES) {
            if ((rc = upgrade_put_row(s, put, node, first, last, epoch, prev, hash, err)))
                goto out;
            n = 0;
            rows++;
        }
    }
    if (step != SQLITE_DONE) {
        rc = rz_db_fail(s->db, err, "log upgrade");
        goto out;
    }
    if (n > 0) {
        if ((rc = upgrade_put_row(s, put, node, first, last, epoch, prev, hash, err)))
            goto out;
        rows++;
    }
    sqlite3_finalize(rd);
    rd = NULL;
    if ((rc = rz_db_exec(s->db, "DROP TABLE log;", err)) == 0)
        log_info("server.db: %llu log entries now in %llu batch rows", (unsigned long long)entries,
                 (unsigned long long)rows);
out:
    sqlite3_finalize(rd);
    sqlite3_finalize(put);
    sqlite3_finalize(clk);
    sqlite3_finalize(sig);
    mpk_w_reset(&s->row);
    return rc;
}

static int
log_store_upgrade(log_store *s, rz_error *err)
{
    int rc, version = 0;
    if ((rc = log_store_version(s, &version, err)))
        return rc;
    /* A newer program may have changed what the rows mean: never guess. */
    if (version > LOG_STORE_SCHEMA)
        return rz_fail(err, RZ_E_VERSION,
                       "server.db has schema %d, written by a newer rozgar-server (this one knows "
                       "up to %d): install that version or newer",
                       version, LOG_STORE_SCHEMA);
    if (version == LOG_STORE_SCHEMA)
        return 0;
    /* All or nothing; and another connection may have upgraded the file
     * between the look above and this lock. */
    if ((rc = rz_db_begin(s->db, err)))
        return rc;
    if ((rc = log_store_version(s, &version, err)) || version == LOG_STORE_SCHEMA)
        goto out;
    /* 0: the release of 2026-11-23 (or a new file); 1 never existed apart.
     * Columns added since (the node's last contact, an operational fact;
     * the centre a register version is about, so a centre's renames and
     * moves can be replayed, log_store_centre_change). */
    if (version < 2 &&
        ((rc = log_store_add_column(s, "node", "last_contact_ms", "INTEGER NOT NULL DEFAULT 0",
                                    err)) ||
         (rc = log_store_add_column(s, "register", "centre_id", "INTEGER", err)) ||
         (rc = rz_db_exec(s->db,
                          "UPDATE register SET centre_id = (SELECT c.centre_id FROM centre c"
                          " WHERE c.name = register.centre) WHERE centre_id IS NULL AND"
                          " action = 'enroll';",
                          err))))
        goto out;
    if ((rc = log_store_upgrade_log(s, err)) ||
        (rc = rz_db_exec(s->db, "PRAGMA user_version = " LOG_STORE_SCHEMA_TEXT ";", err)))
        goto out;
    return rz_db_commit(s->db, err);
out:
    if (rc)
        rz_db_rollback(s->db);
    else
        rc = rz_db_commit(s->db, err);
    return rc;
}

int
log_store_open_path(log_store **out, const char *path, rz_error *err)
{
    log_store *s = xcalloc(1, sizeof *s);
    sqlite3_stmt *st = NULL;
    char evpath[4096];
    int rc, i;

    *out = NULL;
    mpk_w_init(&s->row);
    if ((rc = rz_db_open(&s->db, path, DB_READWRITE, err)))
        goto fail;
    /* Evidence of forks is kept apart from the merged state (DESIGN). */
    snprintf(evpath, sizeof evpath, "%s.evidence", path);
    if ((rc = rz_db_prepare(s->db, &st, "ATTACH DATABASE ?1 AS evidence", err)))
        goto fail;
    sqlite3_bind_text(st, 1, evpath, -1, SQLITE_STATIC);
    rc = rz_db_step_done(s->db, st, err);
    sqlite3_finalize(st);
    if (rc)
        goto fail;
    /* The log is appended at its right edge and read in order: a small
     * page cache holds what is hot.  The 64 MiB of common/db.c is for the
     * state store's random look-ups; two log connections (ingest and the
     * merger) at that size put the server over its memory budget. */
    if ((rc = rz_db_exec(s->db, "PRAGMA cache_size=-" LOG_STORE_CACHE_KIB ";", err)) ||
        (rc = rz_db_exec(s->db, "PRAGMA evidence.journal_mode=WAL;", err)) ||
        (rc = rz_db_exec(s->db, store_schema, err)) || (rc = log_store_upgrade(s, err)) ||
        (rc = log_store_load_pepper(s, err)))
        goto fail;
    for (i = 0; i < ST_COUNT; i++)
        if ((rc = rz_db_prepare(s->db, &s->st[i], log_store_sql[i], err)))
            goto fail;
    *out = s;
    return 0;
fail:
    log_store_close(&s);
    return rc;
}

int
log_store_open(log_store **out, const char *dir, rz_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, LOG_STORE_FILE) >= (int)sizeof path)
        return rz_fail(err, RZ_E_ARG, "server directory path too long");
    return log_store_open_path(out, path, err);
}

void
log_store_close(log_store **sp)
{
    log_store *s = sp ? *sp : NULL;
    int i;
    if (!s)
        return;
    for (i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    rz_db_close(&s->db);
    mpk_w_free(&s->row);
    sodium_memzero(s->pepper, sizeof s->pepper);
    free(s);
    *sp = NULL;
}

int
log_store_begin(log_store *s, rz_error *err)
{
    return rz_db_begin(s->db, err);
}
int
log_store_commit(log_store *s, rz_error *err)
{
    return rz_db_commit(s->db, err);
}
void
log_store_rollback(log_store *s)
{
    rz_db_rollback(s->db);
}

static void
blob_copy(uint8_t *dst, size_t n, sqlite3_stmt *st, int col)
{
    memset(dst, 0, n);
    if (sqlite3_column_bytes(st, col) == (int)n)
        memcpy(dst, sqlite3_column_blob(st, col), n);
}

static void
node_from_row(log_node *n, sqlite3_stmt *st)
{
    const unsigned char *curve;
    blob_copy(n->node_id, RZ_NODE_ID_BYTES, st, 0);
    n->centre_id = sqlite3_column_int64(st, 1);
    blob_copy(n->sign_pk, RZ_PK_BYTES, st, 2);
    curve = sqlite3_column_text(st, 3);
    snprintf(n->curve_pk, sizeof n->curve_pk, "%s", curve ? (const char *)curve : "");
    n->revoked = sqlite3_column_int(st, 4);
    n->quarantined = sqlite3_column_int(st, 5);
    n->epoch = (uint32_t)sqlite3_column_int64(st, 6);
    n->head_seq = (uint64_t)sqlite3_column_int64(st, 7);
    blob_copy(n->head_hash, RZ_HASH_BYTES, st, 8);
    n->last_sync_ms = (uint64_t)sqlite3_column_int64(st, 9);
    n->clock_offset_ms = sqlite3_column_int64(st, 10);
}

static int
log_store_node_fetch(log_store *s, sqlite3_stmt *st, log_node *n, rz_error *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        node_from_row(n, st);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return rz_fail(err, RZ_E_NOTFOUND, "node not enrolled");
    return rz_db_fail(s->db, err, "node lookup");
}

int
log_store_node_get(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], log_node *n,
                   rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_NODE_GET];
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    return log_store_node_fetch(s, st, n, err);
}

int
log_store_node_by_curve(log_store *s, const char *curve_pk, log_node *n, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_NODE_BY_CURVE];
    sqlite3_bind_text(st, 1, curve_pk, -1, SQLITE_STATIC);
    return log_store_node_fetch(s, st, n, err);
}

int
log_store_node_update(log_store *s, const log_node *n, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_NODE_UPDATE];
    sqlite3_bind_blob(st, 1, n->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, n->quarantined);
    sqlite3_bind_int64(st, 3, (int64_t)n->head_seq);
    sqlite3_bind_blob(st, 4, n->head_hash, RZ_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)n->last_sync_ms);
    sqlite3_bind_int64(st, 6, n->clock_offset_ms);
    return rz_db_step_done(s->db, st, err);
}

static int
log_store_register(log_store *s, const char *action, const uint8_t *node_id, const uint8_t *sign_pk,
                   const char *centre, int programme, const char *province, const char *district,
                   int64_t from_seq, int64_t epoch, int64_t centre_id, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_REGISTER];
    sqlite3_bind_int64(st, 11, centre_id);
    sqlite3_bind_int64(st, 1, (int64_t)hlc_wall_ms());
    sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    if (sign_pk)
        sqlite3_bind_blob(st, 4, sign_pk, RZ_PK_BYTES, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_text(st, 5, centre, -1, SQLITE_STATIC);
    if (programme)
        sqlite3_bind_int(st, 6, programme);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_text(st, 7, province, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, district, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, from_seq);
    sqlite3_bind_int64(st, 10, epoch);
    return rz_db_step_done(s->db, st, err);
}

static int
log_store_key_history(log_store *s, const uint8_t *node_id, uint64_t from_seq,
                      const uint8_t *sign_pk, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(s->db, &st,
                           "INSERT OR REPLACE INTO node_key(node_id, from_seq, sign_pk)"
                           " VALUES(?1, ?2, ?3)",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)from_seq);
    sqlite3_bind_blob(st, 3, sign_pk, RZ_PK_BYTES, SQLITE_STATIC);
    rc = rz_db_step_done(s->db, st, err);
    sqlite3_finalize(st);
    return rc;
}

/* The centre row for (name, programme, province, district); created on
 * first use.  A centre's place is fixed by headquarters here, never by a
 * node. */
static int
log_store_centre_id(log_store *s, const char *centre, int programme, const char *province,
                    const char *district, int64_t *id, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(s->db, &st,
                           "INSERT INTO centre(name, programme, province, district)"
                           " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(name) DO NOTHING",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, centre, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, programme);
    sqlite3_bind_text(st, 3, province, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, district, -1, SQLITE_STATIC);
    rc = rz_db_step_done(s->db, st, err);
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if ((rc = rz_db_prepare(s->db, &st,
                            "SELECT centre_id, programme, province, district FROM centre"
                            " WHERE name = ?1",
                            err)))
        return rc;
    sqlite3_bind_text(st, 1, centre, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rz_db_fail(s->db, err, "centre lookup");
    }
    *id = sqlite3_column_int64(st, 0);
    if (sqlite3_column_int(st, 1) != programme ||
        strcmp((const char *)sqlite3_column_text(st, 2), province) != 0 ||
        strcmp((const char *)sqlite3_column_text(st, 3), district) != 0)
        rc = rz_fail(err, RZ_E_EXISTS,
                     "centre '%s' is already enrolled with another programme or place", centre);
    sqlite3_finalize(st);
    return rc;
}

int
log_store_enroll(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES],
                 const uint8_t sign_pk[RZ_PK_BYTES], const char *centre, int programme,
                 const char *province, const char *district, rz_error *err)
{
    log_node n;
    sqlite3_stmt *st = NULL;
    char curve[RZ_Z85_KEY];
    uint8_t zeros[RZ_HASH_BYTES] = {0};
    int64_t centre_id = 0;
    int rc;

    if (curve_pk_from_sign_pk(curve, sign_pk) != 0)
        return rz_fail(err, RZ_E_ARG, "not a valid Ed25519 public key");
    rc = log_store_node_get(s, node_id, &n, NULL);
    if (rc == 0)
        return rz_fail(err, RZ_E_EXISTS, "node already enrolled (use rekey or revoke)");
    if (log_store_node_by_curve(s, curve, &n, NULL) == 0)
        return rz_fail(err, RZ_E_EXISTS, "this key is already enrolled for another node");
    if ((rc = log_store_begin(s, err)))
        return rc;
    if ((rc = log_store_centre_id(s, centre, programme, province, district, &centre_id, err)))
        goto out;
    if ((rc = rz_db_prepare(s->db, &st,
                            "INSERT INTO node(node_id, centre_id, sign_pk, curve_pk, head_hash,"
                            " enrolled_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                            err)))
        goto out;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, centre_id);
    sqlite3_bind_blob(st, 3, sign_pk, RZ_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, curve, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, zeros, RZ_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)hlc_wall_ms());
    rc = rz_db_step_done(s->db, st, err);
    sqlite3_finalize(st);
    if (rc || (rc = log_store_key_history(s, node_id, 1, sign_pk, err)) ||
        (rc = log_store_register(s, "enroll", node_id, sign_pk, centre, programme, province,
                                 district, 1, 0, centre_id, err)))
        goto out;
    rc = log_store_commit(s, err);
out:
    if (rc)
        log_store_rollback(s);
    return rc;
}

/* Writes a node's identity fields (key, revocation, epoch), which only the
 * register functions change. */
static int
log_store_node_identity(log_store *s, const log_node *n, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(s->db, &st,
                           "UPDATE node SET sign_pk=?2, curve_pk=?3, revoked=?4, quarantined=?5,"
                           " epoch=?6 WHERE node_id=?1",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, n->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, n->sign_pk, RZ_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n->curve_pk, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, n->revoked);
    sqlite3_bind_int(st, 5, n->quarantined);
    sqlite3_bind_int64(st, 6, n->epoch);
    rc = rz_db_step_done(s->db, st, err);
    sqlite3_finalize(st);
    return rc;
}

/* Applies a change to one node and records it in the register, atomically. */
static int
log_store_node_change(log_store *s, const uint8_t *node_id, const char *action,
                      const uint8_t *new_pk, rz_error *err)
{
    log_node n;
    int rc;
    if ((rc = log_store_begin(s, err)))
        return rc;
    if ((rc = log_store_node_get(s, node_id, &n, err)))
        goto out;
    if (strcmp(action, "revoke") == 0) {
        n.revoked = 1;
    } else if (strcmp(action, "rekey") == 0) {
        if (n.revoked) {
            rc = rz_fail(err, RZ_E_ARG, "node is revoked; enroll it again under a new id");
            goto out;
        }
        memcpy(n.sign_pk, new_pk, RZ_PK_BYTES);
        if (curve_pk_from_sign_pk(n.curve_pk, new_pk) != 0) {
            rc = rz_fail(err, RZ_E_ARG, "not a valid Ed25519 public key");
            goto out;
        }
        if ((rc = log_store_key_history(s, node_id, n.head_seq + 1, new_pk, err)))
            goto out;
    } else if (strcmp(action, "new-epoch") == 0) {
        n.epoch++;
        n.quarantined = 0;
    }
    if ((rc = log_store_node_identity(s, &n, err)) ||
        (rc = log_store_register(s, action, node_id, new_pk, NULL, 0, NULL, NULL,
                                 (int64_t)n.head_seq + 1, n.epoch, n.centre_id, err)))
        goto out;
    rc = log_store_commit(s, err);
out:
    if (rc)
        log_store_rollback(s);
    return rc;
}

int
log_store_revoke(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], rz_error *err)
{
    return log_store_node_change(s, node_id, "revoke", NULL, err);
}

int
log_store_rekey(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES],
                const uint8_t sign_pk[RZ_PK_BYTES], rz_error *err)
{
    return log_store_node_change(s, node_id, "rekey", sign_pk, err);
}

int
log_store_new_epoch(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], rz_error *err)
{
    return log_store_node_change(s, node_id, "new-epoch", NULL, err);
}

int
log_store_nodes(log_store *s, log_store_node_fn fn, void *arg, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_NODES];
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        log_node n;
        node_from_row(&n, st);
        if ((rc = fn(&n, arg)) != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(s->db, err, "node list");
    sqlite3_reset(st);
    return rc;
}

/* Next entry of a row's entries column (byte layout in the file comment):
 * 1 with *e and *len set, 0 at the end, -1 when the bytes are damaged. */
static int
row_next(const uint8_t **p, const uint8_t *end, const uint8_t **e, size_t *len)
{
    const uint8_t *q = *p;
    size_t left = (size_t)(end - q), hl, n;
    if (left == 0)
        return 0;
    switch (q[0]) {
    case 0xc4: hl = 2; break;
    case 0xc5: hl = 3; break;
    case 0xc6: hl = 5; break;
    default: return -1;
    }
    if (left < hl)
        return -1;
    n = hl == 2   ? q[1]
        : hl == 3 ? ((size_t)q[1] << 8 | q[2])
                  : ((size_t)q[1] << 24 | (size_t)q[2] << 16 | (size_t)q[3] << 8 | q[4]);
    if (left - hl < n)
        return -1;
    *e = q + hl;
    *len = n;
    *p = q + hl + n;
    return 1;
}

typedef int (*row_entry_fn)(uint64_t seq, const uint8_t *entry, size_t len, void *arg);

/* Calls fn for the entries from..to of a row holding first..last; a
 * non-zero return from fn stops the walk and is returned.  RZ_E_IO when
 * the row does not hold exactly its entries. */
static int
row_walk(const uint8_t *node_id, const void *blob, size_t size, uint64_t first, uint64_t last,
         uint64_t from, uint64_t to, row_entry_fn fn, void *arg, rz_error *err)
{
    const uint8_t *p = blob, *end = p + size, *e;
    uint64_t seq = first;
    size_t len;
    int r, rc;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    if (to > last)
        to = last;
    while (seq <= to && (r = row_next(&p, end, &e, &len)) == 1) {
        if (seq >= from && (rc = fn(seq, e, len, arg)) != 0)
            return rc;
        seq++;
    }
    if (seq > to && (to < last || p == end))
        return 0;
    hex_encode(hex, node_id, RZ_NODE_ID_BYTES);
    return rz_fail(err, RZ_E_IO, "node %s: the stored batch %llu..%llu is damaged", hex,
                   (unsigned long long)first, (unsigned long long)last);
}

/* Walk state of log_store_hash_at: the chain from a row's prev hash. */
typedef struct hash_walk {
    const uint8_t *node_id;   /* the node */
    uint32_t epoch;           /* the row's epoch */
    uint8_t h[RZ_HASH_BYTES]; /* hash of the entry before the next one */
} hash_walk;

static int
hash_walk_entry(uint64_t seq, const uint8_t *entry, size_t len, void *arg)
{
    hash_walk *w = arg;
    uint8_t h[RZ_HASH_BYTES];
    chain_hash(h, w->node_id, w->epoch, seq, w->h, entry, len);
    memcpy(w->h, h, RZ_HASH_BYTES);
    return 0;
}

int
log_store_hash_at(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq,
                  uint8_t hash[RZ_HASH_BYTES], rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_BATCH_FIND];
    hash_walk w = {node_id, 0, {0}};
    uint64_t first = 0, last = 0;
    int rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        first = (uint64_t)sqlite3_column_int64(st, 0);
        last = (uint64_t)sqlite3_column_int64(st, 1);
        w.epoch = (uint32_t)sqlite3_column_int64(st, 2);
        /* The head of the row, or the chain re-hashed forward from the
         * hash before it: at most one batch of entries. */
        blob_copy(w.h, RZ_HASH_BYTES, st, seq == last ? 4 : 3);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rz_db_fail(s->db, err, "log lookup");
    if (rc == SQLITE_DONE || seq == 0 || seq < first)
        return rz_fail(err, RZ_E_NOTFOUND, "no entry %llu", (unsigned long long)seq);
    if (seq < last) {
        st = s->st[ST_BATCH_ENTRIES];
        sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)last);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW)
            rc = row_walk(node_id, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                          first, last, first, seq, hash_walk_entry, &w, err);
        else
            rc = rz_db_fail(s->db, err, "log lookup");
        sqlite3_reset(st);
        if (rc)
            return rc;
    }
    memcpy(hash, w.h, RZ_HASH_BYTES);
    return 0;
}

static int
log_store_pii_put(log_store *s, const uint8_t *node_id, const log_pii *p, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_PII_PUT];
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)p->seq);
    sqlite3_bind_int(st, 3, p->field);
    sqlite3_bind_blob(st, 4, p->salt, RZ_SALT_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, p->value, (int)p->len, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, p->cnic_state);
    if (p->token)
        sqlite3_bind_blob(st, 7, p->token, 16, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 7);
    return rz_db_step_done(s->db, st, err);
}

int
log_store_append_batch(log_store *s, const log_batch *b, rz_error *err)
{
    sqlite3_stmt *st;
    uint8_t prev[RZ_HASH_BYTES] = {0};
    uint64_t stored = 0, last = b->first_seq + b->n - 1;
    size_t i;
    int rc;
    if (b->n > 0) {
        /* Rows continue each other: one look-up per batch keeps the
         * promise of the old per-entry key, no entry stored twice. */
        st = s->st[ST_BATCH_LAST];
        sqlite3_bind_blob(st, 1, b->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            stored = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return rz_db_fail(s->db, err, "log head");
        if (b->first_seq != stored + 1)
            return rz_fail(err, RZ_E_CHAIN,
                           "entries from %llu do not continue the stored log (last %llu)",
                           (unsigned long long)b->first_seq, (unsigned long long)stored);
        if (b->prev)
            memcpy(prev, b->prev, RZ_HASH_BYTES);
        else if (b->first_seq > 1 &&
                 (rc = log_store_hash_at(s, b->node_id, b->first_seq - 1, prev, err)))
            return rc;
        mpk_w_reset(&s->row);
        for (i = 0; i < b->n; i++)
            mpk_w_bin(&s->row, b->entry[i], b->entry_len[i]);
        if (s->row.rc || s->row.sb.size > INT32_MAX)
            return rz_fail(err, RZ_E_NOMEM, "cannot hold the batch's entries");
        st = s->st[ST_LOG_APPEND];
        sqlite3_bind_blob(st, 1, b->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)b->first_seq);
        sqlite3_bind_int64(st, 3, (int64_t)last);
        sqlite3_bind_int64(st, 4, b->epoch);
        sqlite3_bind_blob(st, 5, prev, RZ_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, b->hash[b->n - 1], RZ_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(st, 7, s->row.sb.data, (int)s->row.sb.size, SQLITE_STATIC);
        if ((rc = rz_db_step_done(s->db, st, err)))
            return rc;
        st = s->st[ST_CLOCK_PUT];
        for (i = 0; i < b->n; i++) {
            if (b->clock_ms[i] < 0)
                continue;
            sqlite3_bind_blob(st, 1, b->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, (int64_t)(b->first_seq + i));
            sqlite3_bind_int64(st, 3, b->clock_ms[i]);
            if ((rc = rz_db_step_done(s->db, st, err)))
                return rc;
        }
    }
    for (i = 0; i < b->npii; i++)
        if ((rc = log_store_pii_put(s, b->node_id, &b->pii[i], err)))
            return rc;
    st = s->st[ST_BATCH_SIG];
    sqlite3_bind_blob(st, 1, b->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)b->sig_last_seq);
    sqlite3_bind_int64(st, 3, (int64_t)b->sig_first_seq);
    sqlite3_bind_int64(st, 4, b->epoch);
    sqlite3_bind_blob(st, 5, b->sig, RZ_SIG_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, b->sign_pk, RZ_PK_BYTES, SQLITE_STATIC);
    return rz_db_step_done(s->db, st, err);
}

int
log_store_close_import(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq,
                       uint64_t head, uint64_t server_ms, int *closed, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_BATCH_FIND];
    uint64_t cseq, cms;
    int rc, found;
    *closed = 0;
    if (seq == 0 || seq > head)
        return rz_fail(err, RZ_E_ARG, "entry %llu is not stored", (unsigned long long)seq);
    if ((rc = log_store_next_clock(s, node_id, seq - 1, head, &cseq, &cms, err)) || cseq != 0)
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    rc = sqlite3_step(st);
    found = rc == SQLITE_ROW && (uint64_t)sqlite3_column_int64(st, 0) <= seq;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rz_db_fail(s->db, err, "import clock");
    if (!found)
        return rz_fail(err, RZ_E_NOTFOUND, "entry %llu is not stored", (unsigned long long)seq);
    st = s->st[ST_CLOCK_PUT];
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    sqlite3_bind_int64(st, 3, (int64_t)server_ms);
    if ((rc = rz_db_step_done(s->db, st, err)) == 0)
        *closed = 1;
    return rc;
}

int
log_store_next_clock(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t after,
                     uint64_t upto, uint64_t *seq, uint64_t *server_ms, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_NEXT_CLOCK];
    int rc;
    *seq = 0;
    *server_ms = 0;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)after);
    sqlite3_bind_int64(st, 3, (int64_t)upto);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        *server_ms = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rz_db_fail(s->db, err, "clock lookup");
}

int
log_store_last_clock(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t upto,
                     uint64_t *seq, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_LAST_CLOCK];
    int rc;
    *seq = 0;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)upto);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rz_db_fail(s->db, err, "clock lookup");
}

int
log_store_scan(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t from, uint64_t to,
               log_store_entry_fn fn, void *arg, rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_SCAN];
    int rc = 0, step;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)from);
    /* One batch row in memory at a time. */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t first = (uint64_t)sqlite3_column_int64(st, 0);
        uint64_t last = (uint64_t)sqlite3_column_int64(st, 1);
        if (first > to)
            break;
        if ((rc = row_walk(node_id, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
                           first, last, from, to, fn, arg, err)) != 0 ||
            last >= to)
            break;
    }
    if (rc == 0 && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = rz_db_fail(s->db, err, "log scan");
    sqlite3_reset(st);
    return rc;
}

/* Walk state of log_store_chain. */
typedef struct chain_walk {
    const uint8_t *node_id;   /* the node */
    uint32_t epoch;           /* the row's epoch */
    uint8_t h[RZ_HASH_BYTES]; /* recomputed hash of the last entry walked */
    log_store_chain_fn fn;    /* the caller's */
    void *arg;                /* its argument */
} chain_walk;

static int
chain_walk_entry(uint64_t seq, const uint8_t *entry, size_t len, void *arg)
{
    chain_walk *w = arg;
    uint8_t h[RZ_HASH_BYTES];
    chain_hash(h, w->node_id, w->epoch, seq, w->h, entry, len);
    memcpy(w->h, h, RZ_HASH_BYTES);
    return w->fn(seq, w->epoch, w->h, w->arg);
}

int
log_store_chain(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], log_store_chain_fn fn,
                void *arg, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    chain_walk w = {node_id, 0, {0}, fn, arg};
    uint64_t expect = 1;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    int rc, step;
    hex_encode(hex, node_id, RZ_NODE_ID_BYTES);
    if ((rc = rz_db_prepare(s->db, &st,
                            "SELECT first_seq, last_seq, epoch, prev, head, entries FROM log_batch"
                            " WHERE node_id=?1 ORDER BY last_seq",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t first = (uint64_t)sqlite3_column_int64(st, 0);
        uint64_t last = (uint64_t)sqlite3_column_int64(st, 1);
        if (first != expect || last < first) {
            rc = rz_fail(err, RZ_E_CHAIN, "node %s: log jumps from %llu to %llu", hex,
                         (unsigned long long)(expect - 1), (unsigned long long)first);
            break;
        }
        /* The hashes the store keeps for its look-ups must be the chain's. */
        if (sqlite3_column_bytes(st, 3) != RZ_HASH_BYTES ||
            memcmp(sqlite3_column_blob(st, 3), w.h, RZ_HASH_BYTES) != 0) {
            rc = rz_fail(err, RZ_E_CHAIN,
                         "node %s: the hash stored before entry %llu is not the"
                         " chain's",
                         hex, (unsigned long long)first);
            break;
        }
        w.epoch = (uint32_t)sqlite3_column_int64(st, 2);
        if ((rc = row_walk(node_id, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5),
                           first, last, first, last, chain_walk_entry, &w, err)))
            break;
        if (sqlite3_column_bytes(st, 4) != RZ_HASH_BYTES ||
            memcmp(sqlite3_column_blob(st, 4), w.h, RZ_HASH_BYTES) != 0) {
            rc = rz_fail(err, RZ_E_CHAIN, "node %s: entry %llu does not hash to its stored hash",
                         hex, (unsigned long long)last);
            break;
        }
        expect = last + 1;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(s->db, err, "log scan");
    sqlite3_finalize(st);
    return rc;
}

/* Walk state of log_store_grep. */
typedef struct grep_walk {
    const uint8_t *node_id; /* the row's node */
    const uint8_t *pattern; /* what to find */
    size_t plen;            /* its length */
    log_store_match_fn fn;  /* the caller's */
    void *arg;              /* its argument */
} grep_walk;

static int
grep_walk_entry(uint64_t seq, const uint8_t *entry, size_t len, void *arg)
{
    grep_walk *w = arg;
    if (!memmem(entry, len, w->pattern, w->plen))
        return 0;
    return w->fn(w->node_id, seq, entry, len, w->arg);
}

int
log_store_grep(log_store *s, const uint8_t *pattern, size_t plen, log_store_match_fn fn, void *arg,
               rz_error *err)
{
    sqlite3_stmt *st = NULL;
    grep_walk w = {NULL, pattern, plen, fn, arg};
    int rc, step;
    if (plen == 0 || plen > INT32_MAX)
        return rz_fail(err, RZ_E_ARG, "nothing to search for");
    /* instr() narrows to the rows holding the bytes; the walk to entries. */
    if ((rc = rz_db_prepare(s->db, &st,
                            "SELECT node_id, first_seq, last_seq, entries FROM log_batch"
                            " WHERE instr(entries, ?1) > 0",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, pattern, (int)plen, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t node[RZ_NODE_ID_BYTES];
        blob_copy(node, RZ_NODE_ID_BYTES, st, 0);
        w.node_id = node;
        if ((rc = row_walk(node, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
                           (uint64_t)sqlite3_column_int64(st, 1),
                           (uint64_t)sqlite3_column_int64(st, 2), 0, UINT64_MAX, grep_walk_entry,
                           &w, err)))
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(s->db, err, "log search");
    sqlite3_finalize(st);
    return rc;
}

int
log_store_cnic(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t seq, int *state,
               uint8_t token[16], rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_CNIC];
    int rc;
    memset(token, 0, 16);
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *state = sqlite3_column_int(st, 0);
        if (sqlite3_column_bytes(st, 1) == 16)
            memcpy(token, sqlite3_column_blob(st, 1), 16);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        *state = MERGE_CNIC_INVALID; /* committed but never revealed */
        rc = 0;
    } else {
        rc = rz_db_fail(s->db, err, "cnic lookup");
    }
    sqlite3_reset(st);
    return rc;
}

int
log_store_fork_evidence(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                        uint64_t seq, const uint8_t *msg, size_t len, const char *reason,
                        rz_error *err)
{
    sqlite3_stmt *st = s->st[ST_FORK];
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)hlc_wall_ms());
    sqlite3_bind_int64(st, 3, epoch);
    sqlite3_bind_int64(st, 4, (int64_t)seq);
    sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, msg, (int)len, SQLITE_STATIC);
    return rz_db_step_done(s->db, st, err);
}

int
log_store_node_contact(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t now_ms,
                       rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc =
        rz_db_prepare(s->db, &st, "UPDATE node SET last_contact_ms = ?2 WHERE node_id = ?1", err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)now_ms);
    rc = rz_db_step_done(s->db, st, err);
    sqlite3_finalize(st);
    return rc;
}

int
log_store_centre_change(log_store *s, const char *centre, const char *new_name,
                        const char *province, const char *district, int64_t *version, rz_error *err)
{
    static const uint8_t no_node[RZ_NODE_ID_BYTES] = {0};
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    int programme = 0, rc;
    char name[256], prov[128], dist[128];
    const char *action = new_name ? "rename" : "move";

    if ((rc = log_store_begin(s, err)))
        return rc;
    if ((rc = rz_db_prepare(s->db, &st,
                            "SELECT centre_id, programme, name, province, district FROM centre"
                            " WHERE name = ?1",
                            err)))
        goto out;
    sqlite3_bind_text(st, 1, centre, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        rc = rz_fail(err, RZ_E_NOTFOUND, "no centre named '%.100s' (rozgar-server register)",
                     centre);
        goto out;
    }
    id = sqlite3_column_int64(st, 0);
    programme = sqlite3_column_int(st, 1);
    snprintf(name, sizeof name, "%s",
             new_name ? new_name : (const char *)sqlite3_column_text(st, 2));
    snprintf(prov, sizeof prov, "%s",
             province ? province : (const char *)sqlite3_column_text(st, 3));
    snprintf(dist, sizeof dist, "%s",
             district ? district : (const char *)sqlite3_column_text(st, 4));
    sqlite3_finalize(st);
    if ((rc = rz_db_prepare(s->db, &st,
                            "UPDATE centre SET name = ?2, province = ?3, district = ?4"
                            " WHERE centre_id = ?1",
                            err)))
        goto out;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, prov, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, dist, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT) {
        rc = rz_fail(err, RZ_E_EXISTS, "a centre named '%.100s' already exists", name);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        rc = rz_db_fail(s->db, err, "centre change");
        goto out;
    }
    if ((rc = log_store_register(s, action, no_node, NULL, name, programme, prov, dist, 0, 0, id,
                                 err)))
        goto out;
    *version = sqlite3_last_insert_rowid(s->db);
    rc = log_store_commit(s, err);
out:
    if (rc)
        log_store_rollback(s);
    return rc;
}

/* ---- reading a log back whole (PROTOCOL §12); rare, so prepared per call */

int
log_store_keys(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], log_store_key_fn fn,
               void *arg, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, step;
    if ((rc = rz_db_prepare(s->db, &st,
                            "SELECT from_seq, sign_pk FROM node_key WHERE node_id=?1"
                            " ORDER BY from_seq",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != RZ_PK_BYTES)
            continue;
        if ((rc = fn((uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1), arg)))
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(s->db, err, "key history");
    sqlite3_finalize(st);
    return rc;
}

int
log_store_sigs(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t from, uint64_t to,
               log_store_sig_fn fn, void *arg, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, step;
    if ((rc = rz_db_prepare(s->db, &st,
                            "SELECT last_seq, epoch, sig, sign_pk FROM batch_sig WHERE node_id=?1"
                            " AND last_seq BETWEEN ?2 AND ?3 ORDER BY last_seq",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)from);
    sqlite3_bind_int64(st, 3, (int64_t)(to > INT64_MAX ? INT64_MAX : to));
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 2) != RZ_SIG_BYTES ||
            sqlite3_column_bytes(st, 3) != RZ_PK_BYTES) {
            rc = rz_fail(err, RZ_E_IO, "batch signature row at %lld is damaged",
                         sqlite3_column_int64(st, 0));
            break;
        }
        if ((rc = fn((uint64_t)sqlite3_column_int64(st, 0), (uint32_t)sqlite3_column_int64(st, 1),
                     sqlite3_column_blob(st, 2), sqlite3_column_blob(st, 3), arg)))
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(s->db, err, "batch signatures");
    sqlite3_finalize(st);
    return rc;
}

int
log_store_pii_scan(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t from,
                   uint64_t to, log_store_pii_fn fn, void *arg, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, step;
    if ((rc = rz_db_prepare(s->db, &st,
                            "SELECT seq, field, salt, value FROM pii WHERE node_id=?1"
                            " AND seq BETWEEN ?2 AND ?3 ORDER BY seq, field",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)from);
    sqlite3_bind_int64(st, 3, (int64_t)(to > INT64_MAX ? INT64_MAX : to));
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int erased =
            sqlite3_column_type(st, 2) == SQLITE_NULL || sqlite3_column_type(st, 3) == SQLITE_NULL;
        const uint8_t *salt = erased ? NULL : sqlite3_column_blob(st, 2);
        const char *value = erased ? NULL : (const char *)sqlite3_column_text(st, 3);
        size_t len = erased ? 0 : (size_t)sqlite3_column_bytes(st, 3);
        if (!erased && sqlite3_column_bytes(st, 2) != RZ_SALT_BYTES) {
            rc = rz_fail(err, RZ_E_IO, "personal value row at %lld is damaged",
                         sqlite3_column_int64(st, 0));
            break;
        }
        if ((rc = fn((uint64_t)sqlite3_column_int64(st, 0), (uint8_t)sqlite3_column_int(st, 1),
                     salt, value, len, arg)))
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(s->db, err, "personal values");
    sqlite3_finalize(st);
    return rc;
}
