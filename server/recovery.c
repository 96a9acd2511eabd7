/* recovery: recovery grants and the FETCH conversation; see recovery.h. */
#include "server/recovery.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/entry.h"

/* At most one unused grant per OLD; a used one stays as the record of it. */
static const char recovery_schema[] =
    "CREATE TABLE IF NOT EXISTS recover_grant("
    " id INTEGER PRIMARY KEY, new_id BLOB NOT NULL, old_id BLOB NOT NULL,"
    " old_pk BLOB NOT NULL, granted_ms INTEGER NOT NULL, used_ms INTEGER,"
    " cancelled INTEGER NOT NULL DEFAULT 0, UNIQUE(new_id, old_id, granted_ms));"
    "CREATE UNIQUE INDEX IF NOT EXISTS recover_grant_open ON recover_grant(old_id)"
    " WHERE used_ms IS NULL;";

static int
recovery_schema_ensure(log_store *s, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, have = 0;
    if ((rc = rz_db_exec(log_store_db(s), recovery_schema, err)) ||
        (rc = rz_db_prepare(log_store_db(s), &st,
                            "SELECT count(*) FROM pragma_table_info('recover_grant')"
                            " WHERE name = 'cancelled'",
                            err)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    /* A table made before grants could be cancelled. */
    return have ? 0
                : rz_db_exec(log_store_db(s),
                             "ALTER TABLE recover_grant ADD COLUMN cancelled INTEGER NOT NULL"
                             " DEFAULT 0;",
                             err);
}

/* Readers never create the table: a server that never granted a recovery
 * keeps its database exactly as it was.  1 when it exists. */
static int
recovery_table_exists(log_store *s)
{
    sqlite3_stmt *st = NULL;
    int have = 0;
    if (rz_db_prepare(log_store_db(s), &st,
                      "SELECT 1 FROM sqlite_master WHERE type='table' AND name='recover_grant'",
                      NULL) == 0)
        have = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return have;
}

static void
grant_from_row(recovery_grant *g, sqlite3_stmt *st)
{
    memset(g, 0, sizeof *g);
    if (sqlite3_column_bytes(st, 0) == RZ_NODE_ID_BYTES)
        memcpy(g->new_id, sqlite3_column_blob(st, 0), RZ_NODE_ID_BYTES);
    if (sqlite3_column_bytes(st, 1) == RZ_NODE_ID_BYTES)
        memcpy(g->old_id, sqlite3_column_blob(st, 1), RZ_NODE_ID_BYTES);
    if (sqlite3_column_bytes(st, 2) == RZ_PK_BYTES)
        memcpy(g->old_pk, sqlite3_column_blob(st, 2), RZ_PK_BYTES);
    g->granted_ms = (uint64_t)sqlite3_column_int64(st, 3);
    g->used_ms = (uint64_t)sqlite3_column_int64(st, 4);
    g->cancelled = sqlite3_column_int(st, 5);
}

/* The grant for (new, old): the unused one if any, else the last used one.
 * RZ_E_NOTFOUND when there never was one. */
static int
grant_find(log_store *s, const uint8_t *new_id, const uint8_t *old_id, recovery_grant *g,
           rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, step;
    if (!recovery_table_exists(s))
        return RZ_E_NOTFOUND;
    if ((rc = rz_db_prepare(log_store_db(s), &st,
                            "SELECT new_id, old_id, old_pk, granted_ms, coalesce(used_ms, 0),"
                            " cancelled FROM recover_grant WHERE new_id=?1 AND old_id=?2"
                            " ORDER BY used_ms IS NULL DESC, granted_ms DESC LIMIT 1",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, new_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, old_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        grant_from_row(g, st), rc = 0;
    else if (step == SQLITE_DONE)
        rc = RZ_E_NOTFOUND;
    else
        rc = rz_db_fail(log_store_db(s), err, "recovery grant");
    sqlite3_finalize(st);
    return rc;
}

/* Inserts a grant in its own transaction. */
static int
grant_insert(log_store *s, const recovery_grant *g, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if ((rc = log_store_begin(s, err)))
        return rc;
    if ((rc = rz_db_prepare(log_store_db(s), &st,
                            "INSERT INTO recover_grant(new_id, old_id, old_pk, granted_ms,"
                            " used_ms) VALUES(?1, ?2, ?3, ?4, NULLIF(?5, 0))",
                            err)))
        goto out;
    sqlite3_bind_blob(st, 1, g->new_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, g->old_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, g->old_pk, RZ_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)g->granted_ms);
    sqlite3_bind_int64(st, 5, (int64_t)g->used_ms);
    if (sqlite3_step(st) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(log_store_db(s)) == SQLITE_CONSTRAINT_UNIQUE)
            rc = rz_fail(err, RZ_E_EXISTS, "an unused recovery grant for that node exists already");
        else
            rc = rz_db_fail(log_store_db(s), err, "recovery grant");
        goto out;
    }
    rc = log_store_commit(s, err);
out:
    sqlite3_finalize(st);
    if (rc)
        log_store_rollback(s);
    return rc;
}

int
recovery_grant_add(log_store *s, const uint8_t new_id[RZ_NODE_ID_BYTES],
                   const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t now_ms, recovery_grant *g,
                   int *revoked, rz_error *err)
{
    log_node nn, on;
    recovery_grant cur;
    int rc;
    *revoked = 0;
    if (memcmp(new_id, old_id, RZ_NODE_ID_BYTES) == 0)
        return rz_fail(err, RZ_E_ARG, "NEW and OLD are the same node");
    if ((rc = log_store_node_get(s, new_id, &nn, err)))
        return rc == RZ_E_NOTFOUND ? rz_fail(err, rc,
                                             "NEW is not enrolled: enroll the new PC "
                                             "under the old one's centre first")
                                   : rc;
    if ((rc = log_store_node_get(s, old_id, &on, err)))
        return rc == RZ_E_NOTFOUND ? rz_fail(err, rc, "OLD is not enrolled") : rc;
    if (nn.revoked)
        return rz_fail(err, RZ_E_ARG, "NEW is revoked; enroll the new PC again");
    if (nn.centre_id != on.centre_id)
        return rz_fail(err, RZ_E_ARG,
                       "NEW and OLD are enrolled under different centres: a PC recovers only "
                       "its own centre's records");
    if ((rc = recovery_schema_ensure(s, err)))
        return rc;
    if (grant_find(s, new_id, old_id, &cur, NULL) == 0 && cur.used_ms == 0)
        return rz_fail(err, RZ_E_EXISTS, "this recovery is granted already (on %llu ms), unused",
                       (unsigned long long)cur.granted_ms);
    /* OLD's key may be in a thief's hands: it is refused from now on. */
    if (!on.revoked) {
        if ((rc = log_store_revoke(s, old_id, err)))
            return rc;
        *revoked = 1;
    }
    memset(g, 0, sizeof *g);
    memcpy(g->new_id, new_id, RZ_NODE_ID_BYTES);
    memcpy(g->old_id, old_id, RZ_NODE_ID_BYTES);
    memcpy(g->old_pk, on.sign_pk, RZ_PK_BYTES);
    g->granted_ms = now_ms;
    return grant_insert(s, g, err);
}

static void
utc_ms_text(char out[32], uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == 0) {
        snprintf(out, 32, "-");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

int
recovery_grant_list(log_store *s, FILE *out, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, n = 0, step;
    if (!recovery_table_exists(s)) {
        fprintf(out, "0 recovery grants\n");
        return 0;
    }
    if ((rc = rz_db_prepare(log_store_db(s), &st,
                            "SELECT new_id, old_id, old_pk, granted_ms, coalesce(used_ms, 0),"
                            " cancelled FROM recover_grant ORDER BY granted_ms DESC, id DESC",
                            err)))
        return rc;
    fprintf(out, "%-16s  %-16s  %-19s  %-19s  %s\n", "new node", "from old node", "granted (UTC)",
            "used (UTC)", "state");
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        recovery_grant g;
        char nh[2 * RZ_NODE_ID_BYTES + 1], oh[2 * RZ_NODE_ID_BYTES + 1], gt[32], ut[32];
        grant_from_row(&g, st);
        hex_encode(nh, g.new_id, RZ_NODE_ID_BYTES);
        hex_encode(oh, g.old_id, RZ_NODE_ID_BYTES);
        utc_ms_text(gt, g.granted_ms);
        utc_ms_text(ut, g.used_ms);
        fprintf(out, "%-16s  %-16s  %-19s  %-19s  %s\n", nh, oh, gt, ut,
                g.cancelled ? "cancelled"
                : g.used_ms ? "used"
                            : "unused");
        n++;
    }
    rc = rz_db_rows_end(log_store_db(s), step, err, "recovery grants");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    fprintf(out, "%d recovery grant%s\n", n, n == 1 ? "" : "s");
    return 0;
}

/* Marks the grant (new, old, granted_ms) used at used_ms (cancelled: by
 * headquarters, unused), own transaction. */
static int
grant_mark_used(log_store *s, const uint8_t *new_id, const uint8_t *old_id, uint64_t granted_ms,
                uint64_t used_ms, int cancelled, int *changed, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    *changed = 0;
    if ((rc = log_store_begin(s, err)))
        return rc;
    if ((rc = rz_db_prepare(log_store_db(s), &st,
                            "UPDATE recover_grant SET used_ms=?4, cancelled=?5 WHERE new_id=?1"
                            " AND old_id=?2 AND granted_ms=?3 AND used_ms IS NULL",
                            err)))
        goto out;
    sqlite3_bind_blob(st, 1, new_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, old_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)granted_ms);
    sqlite3_bind_int64(st, 4, (int64_t)used_ms);
    sqlite3_bind_int(st, 5, cancelled != 0);
    if ((rc = rz_db_step_done(log_store_db(s), st, err)))
        goto out;
    *changed = sqlite3_changes(log_store_db(s)) > 0;
    rc = log_store_commit(s, err);
out:
    sqlite3_finalize(st);
    if (rc)
        log_store_rollback(s);
    return rc;
}

int
recovery_replay_grant(log_store *s, const recovery_grant *g, int *applied, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, have = 0;
    *applied = 0;
    if ((rc = recovery_schema_ensure(s, err)) ||
        (rc = rz_db_prepare(log_store_db(s), &st,
                            "SELECT 1 FROM recover_grant WHERE new_id=?1 AND old_id=?2"
                            " AND granted_ms=?3",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, g->new_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, g->old_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)g->granted_ms);
    have = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (have)
        return 0;
    if ((rc = grant_insert(s, g, err)) == 0)
        *applied = 1;
    return rc;
}

int
recovery_replay_used(log_store *s, const uint8_t new_id[RZ_NODE_ID_BYTES],
                     const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t granted_ms, uint64_t used_ms,
                     int cancelled, int *applied, rz_error *err)
{
    int rc = recovery_schema_ensure(s, err);
    if (rc)
        return rc;
    return grant_mark_used(s, new_id, old_id, granted_ms, used_ms, cancelled, applied, err);
}

int
recovery_grant_cancel(log_store *s, const uint8_t new_id[RZ_NODE_ID_BYTES],
                      const uint8_t old_id[RZ_NODE_ID_BYTES], uint64_t now_ms, recovery_grant *g,
                      rz_error *err)
{
    int rc, changed = 0;
    if ((rc = recovery_schema_ensure(s, err)))
        return rc;
    if ((rc = grant_find(s, new_id, old_id, g, err)) == RZ_E_NOTFOUND || (rc == 0 && g->used_ms))
        return rz_fail(err, RZ_E_NOTFOUND, "no unused recovery grant for that pair");
    if (rc)
        return rc;
    if ((rc = grant_mark_used(s, new_id, old_id, g->granted_ms, now_ms, 1, &changed, err)))
        return rc;
    if (!changed)
        return rz_fail(err, RZ_E_NOTFOUND, "the grant was used meanwhile");
    g->used_ms = now_ms;
    g->cancelled = 1;
    return 0;
}

/* The grant that lets node_id fetch old_id now: RZ_E_AUTH with the reason
 * otherwise.  *g gets it (also a used one, for FETCH_DONE). */
static int
grant_check(log_store *s, const uint8_t *node_id, const uint8_t *old_id, recovery_grant *g,
            int allow_used, rz_error *err)
{
    char nh[2 * RZ_NODE_ID_BYTES + 1], oh[2 * RZ_NODE_ID_BYTES + 1];
    log_node me;
    int rc;
    hex_encode(nh, node_id, RZ_NODE_ID_BYTES);
    hex_encode(oh, old_id, RZ_NODE_ID_BYTES);
    /* Revocation bites on a live connection, as for every message. */
    if ((rc = log_store_node_get(s, node_id, &me, err)) == RZ_E_NOTFOUND || (rc == 0 && me.revoked))
        return rz_fail(err, RZ_E_AUTH, "node %s is not enrolled or was revoked", nh);
    if (rc)
        return rc;
    rc = grant_find(s, node_id, old_id, g, err);
    if (rc == RZ_E_NOTFOUND)
        return rz_fail(err, RZ_E_AUTH,
                       "no recovery grant lets node %s fetch the log of node %s: headquarters "
                       "runs `rozgar-server recover-grant %s --from %s`",
                       nh, oh, nh, oh);
    if (rc)
        return rc;
    if (g->cancelled)
        return rz_fail(err, RZ_E_AUTH,
                       "the recovery grant for node %s from node %s was cancelled by "
                       "headquarters",
                       nh, oh);
    if (g->used_ms && !allow_used)
        return rz_fail(err, RZ_E_AUTH,
                       "the recovery grant for node %s from node %s was used already; a new "
                       "one needs headquarters",
                       nh, oh);
    return 0;
}

/* ---- building one CHUNK ---- */

typedef struct chunk_build {
    uint64_t from;                      /* first entry of the chunk */
    uint32_t epoch;                     /* epoch of its entries */
    int have_epoch;                     /* epoch known (first signature seen) */
    uint64_t limit;                     /* last entry the signatures allow */
    size_t nsig;                        /* signatures kept */
    uint64_t sig_seq[RZ_FETCH_ENTRIES]; /* their heads */
    uint8_t sig[RZ_FETCH_ENTRIES][RZ_SIG_BYTES];
    size_t nkeys;                         /* keys of the old node */
    uint64_t key_from[RZ_FETCH_MAX_KEYS]; /* their first sequence numbers */
    uint8_t key[RZ_FETCH_MAX_KEYS][RZ_PK_BYTES];
    mpk_writer ents;     /* entry bins */
    mpk_writer vals;     /* value arrays */
    size_t nents, nvals; /* counts */
    size_t bytes;        /* budget used */
    uint64_t next;       /* next sequence number expected */
    msgpack_zone zone;   /* entry decoding */
    rz_error *err;       /* detail sink */
} chunk_build;

#define CHUNK_STOP 1 /* callbacks: stop the walk, no error */

static int
chunk_key(uint64_t from_seq, const uint8_t pk[RZ_PK_BYTES], void *arg)
{
    chunk_build *b = arg;
    if (b->nkeys == RZ_FETCH_MAX_KEYS)
        return rz_fail(b->err, RZ_E_INTERNAL, "the old node has more than %d keys",
                       RZ_FETCH_MAX_KEYS);
    b->key_from[b->nkeys] = from_seq;
    memcpy(b->key[b->nkeys++], pk, RZ_PK_BYTES);
    return 0;
}

/* Signatures decide the epoch of the entries up to them: every entry is
 * stored under the epoch of the first signature at or after it (a batch
 * never spans epochs, and a new epoch starts above the head).  A chunk ends
 * where the epoch changes or at RZ_FETCH_ENTRIES entries. */
static int
chunk_sig(uint64_t last_seq, uint32_t epoch, const uint8_t sig[RZ_SIG_BYTES],
          const uint8_t pk[RZ_PK_BYTES], void *arg)
{
    chunk_build *b = arg;
    (void)pk;
    if (b->have_epoch && epoch != b->epoch)
        return CHUNK_STOP;
    b->epoch = epoch, b->have_epoch = 1;
    b->limit = last_seq;
    if (last_seq - b->from >= RZ_FETCH_ENTRIES - 1) {
        b->limit = b->from + RZ_FETCH_ENTRIES - 1;
        if (last_seq == b->limit) {
            b->sig_seq[b->nsig] = last_seq;
            memcpy(b->sig[b->nsig++], sig, RZ_SIG_BYTES);
        }
        return CHUNK_STOP;
    }
    b->sig_seq[b->nsig] = last_seq;
    memcpy(b->sig[b->nsig++], sig, RZ_SIG_BYTES);
    return 0;
}

/* Room an entry's personal values may take: a person entry may open three. */
static size_t
chunk_reserve(chunk_build *b, const uint8_t *entry, size_t len)
{
    rz_entry e;
    msgpack_zone_clear(&b->zone);
    if (entry_decode(entry, len, &b->zone, &e, NULL) == 0 && e.table != RZ_T_PERSON)
        return 0;
    return 3 * (RZ_MAX_STR + RZ_SALT_BYTES + 16);
}

static int
chunk_entry(uint64_t seq, const uint8_t *entry, size_t len, void *arg)
{
    chunk_build *b = arg;
    size_t need;
    if (seq != b->next)
        return rz_fail(b->err, RZ_E_IO, "the stored log jumps from %llu to %llu",
                       (unsigned long long)(b->next - 1), (unsigned long long)seq);
    if (len > RZ_MAX_ENTRY_BYTES)
        return rz_fail(b->err, RZ_E_IO, "stored entry %llu exceeds %d bytes",
                       (unsigned long long)seq, RZ_MAX_ENTRY_BYTES);
    need = len + 8 + chunk_reserve(b, entry, len);
    if (b->nents > 0 && b->bytes + need > RECOVERY_CHUNK_BUDGET)
        return CHUNK_STOP;
    mpk_w_bin(&b->ents, entry, len);
    b->bytes += need;
    b->nents++;
    b->next++;
    return 0;
}

static int
chunk_value(uint64_t seq, uint8_t field, const uint8_t *salt, const char *value, size_t len,
            void *arg)
{
    chunk_build *b = arg;
    if (len > RZ_MAX_STR)
        return rz_fail(b->err, RZ_E_IO, "stored value of entry %llu exceeds %d bytes",
                       (unsigned long long)seq, RZ_MAX_STR);
    if (b->nvals == RZ_MAX_REVEALS)
        return rz_fail(b->err, RZ_E_INTERNAL, "more than %d values in one chunk", RZ_MAX_REVEALS);
    msg_encode_chunk_value(&b->vals, (uint32_t)(seq - b->from), field, salt, value, len);
    b->nvals++;
    return 0;
}

int
recovery_fetch(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], const rz_msg *m,
               uint64_t server_ms, mpk_writer *w, rz_error *err)
{
    recovery_grant g;
    log_node old;
    chunk_build *b;
    size_t i;
    int rc;

    if ((rc = grant_check(s, node_id, m->old_id, &g, 0, err)) ||
        (rc = log_store_node_get(s, m->old_id, &old, err)))
        return rc;
    if (memcmp(old.sign_pk, g.old_pk, RZ_PK_BYTES) != 0)
        return rz_fail(err, RZ_E_AUTH,
                       "the old node's key changed since the recovery was granted: headquarters "
                       "grants it again");
    if (m->first_seq > old.head_seq + 1)
        return rz_fail(err, RZ_E_CHAIN, "the old node's log ends at %llu; asked from %llu",
                       (unsigned long long)old.head_seq, (unsigned long long)m->first_seq);
    b = xcalloc(1, sizeof *b);
    b->err = err;
    b->from = b->next = m->first_seq;
    b->epoch = old.epoch;
    mpk_w_init(&b->ents);
    mpk_w_init(&b->vals);
    msgpack_zone_init(&b->zone, 4096);
    if ((rc = log_store_keys(s, m->old_id, chunk_key, b, err)))
        goto out;
    if (b->nkeys == 0) {
        rc = rz_fail(err, RZ_E_IO, "the old node has no key on record");
        goto out;
    }
    if (m->first_seq <= old.head_seq) {
        rc = log_store_sigs(s, m->old_id, m->first_seq, old.head_seq, chunk_sig, b, err);
        if (rc == CHUNK_STOP)
            rc = 0;
        if (rc)
            goto out;
        if (!b->have_epoch) {
            rc = rz_fail(err, RZ_E_IO, "no batch signature covers entry %llu of the old node",
                         (unsigned long long)m->first_seq);
            goto out;
        }
        rc = log_store_scan(s, m->old_id, m->first_seq, b->limit, chunk_entry, b, err);
        if (rc == CHUNK_STOP)
            rc = 0;
        if (rc)
            goto out;
        if (b->nents == 0) {
            rc = rz_fail(err, RZ_E_IO, "the old node's entry %llu is missing",
                         (unsigned long long)m->first_seq);
            goto out;
        }
        if ((rc = log_store_pii_scan(s, m->old_id, m->first_seq, b->next - 1, chunk_value, b, err)))
            goto out;
    }
    mpk_w_reset(w);
    msg_encode_chunk_begin(w, server_ms, m->old_id, old.head_seq, old.head_hash, b->nkeys);
    for (i = 0; i < b->nkeys; i++)
        msg_encode_chunk_key(w, b->key_from[i], b->key[i]);
    msg_encode_chunk_entries(w, b->epoch, m->first_seq, b->next - 1 == old.head_seq, b->nents);
    mpk_w_raw(w, b->ents.sb.data, b->ents.sb.size);
    msg_encode_batch_reveals(w, b->nvals);
    mpk_w_raw(w, b->vals.sb.data, b->vals.sb.size);
    {
        size_t nsig = 0;
        for (i = 0; i < b->nsig; i++)
            nsig += b->sig_seq[i] < b->next;
        msg_encode_chunk_sigs(w, nsig);
        for (i = 0; i < nsig; i++)
            msg_encode_chunk_sig(w, b->sig_seq[i], b->sig[i]);
    }
    rc = w->rc ? w->rc : b->ents.rc ? b->ents.rc : b->vals.rc;
    if (rc)
        rc = rz_fail(err, rc, "cannot encode the chunk");
    else if (w->sb.size > RZ_MAX_FRAME)
        rc = rz_fail(err, RZ_E_INTERNAL, "chunk of %zu bytes exceeds the frame limit", w->sb.size);
out:
    mpk_w_free(&b->ents);
    mpk_w_free(&b->vals);
    msgpack_zone_destroy(&b->zone);
    free(b);
    return rc;
}

int
recovery_done(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], const rz_msg *m,
              uint64_t now_ms, mpk_writer *w, recovery_grant *g, int *newly, rz_error *err)
{
    log_node old;
    int rc, changed = 0;
    *newly = 0;
    if ((rc = grant_check(s, node_id, m->old_id, g, 1, err)) ||
        (rc = log_store_node_get(s, m->old_id, &old, err)))
        return rc;
    if (m->head_seq != old.head_seq || memcmp(m->head, old.head_hash, RZ_HASH_BYTES) != 0)
        return rz_fail(err, RZ_E_CHAIN,
                       "the old node's log ends at %llu with another hash than the node holds "
                       "(%llu): fetch again",
                       (unsigned long long)old.head_seq, (unsigned long long)m->head_seq);
    if (g->used_ms == 0) {
        if ((rc = grant_mark_used(s, node_id, m->old_id, g->granted_ms, now_ms, 0, &changed, err)))
            return rc;
        if (changed)
            g->used_ms = now_ms, *newly = 1;
    }
    mpk_w_reset(w);
    msg_encode_fetch_closed(w, now_ms, m->old_id, old.head_seq);
    return w->rc ? rz_fail(err, w->rc, "cannot encode FETCH_CLOSED") : 0;
}
