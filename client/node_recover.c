/* node_recover: fetch, verify and adopt a replaced PC's log; see node_recover.h. */
#include "client/node_recover.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/hlc.h"
#include "common/util.h"
#include "proto/entry.h"
#include "proto/msg.h"

static const char recover_schema[] =
    "CREATE TABLE IF NOT EXISTS recovered("
    " old_id BLOB PRIMARY KEY, head_seq INTEGER NOT NULL, head_hash BLOB NOT NULL,"
    " entries INTEGER NOT NULL, erased INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
    " confirmed_ms INTEGER) WITHOUT ROWID;";

typedef struct recover_ctx {
    node_store *ns;                       /* this node */
    uint8_t old_id[RZ_NODE_ID_BYTES];     /* the node recovered */
    int started;                          /* first chunk seen: transaction open */
    uint64_t next;                        /* next sequence number expected */
    uint8_t prev[RZ_HASH_BYTES];          /* chain hash of next - 1 */
    uint32_t epoch;                       /* epoch of the last chunk */
    uint64_t head_seq;                    /* the old log's head, as the server says */
    uint8_t head[RZ_HASH_BYTES];          /* its hash */
    size_t nkeys;                         /* the old node's key history */
    uint64_t key_from[RZ_FETCH_MAX_KEYS]; /* first sequence each key signs for */
    uint8_t key[RZ_FETCH_MAX_KEYS][RZ_PK_BYTES];
    uint64_t signed_to;             /* highest signature verified */
    uint8_t (*hash)[RZ_HASH_BYTES]; /* chain hashes of the chunk's entries */
    msgpack_zone zone;              /* entry decoding */
    node_recover_result *res;       /* counts */
    unsigned chunks;                /* CHUNKs applied */
    unsigned cut_after;             /* RZ_TEST_RECOVER_KILL_AFTER: test seam, 0 off */
    /* For the confirmation only (a committed recovery). */
    uint64_t done_seq;
    uint8_t done_head[RZ_HASH_BYTES];
} recover_ctx;

/* The personal values of entry i of the chunk, checked against the entry's
 * commitments into vals (at most 3).  *at walks the chunk's value list. */
static int
recover_values(recover_ctx *x, const rz_msg *m, size_t i, uint64_t seq, const rz_entry *e,
               size_t *at, node_foreign_value *vals, size_t *nvals, rz_error *err)
{
    size_t f, j, start = *at;
    *nvals = 0;
    while (*at < m->nreveals && m->reveals[*at].index == i)
        (*at)++;
    for (j = start; j < *at; j++) {
        const rz_reveal *rv = &m->reveals[j];
        const rz_value *c = entry_field(e, rv->field);
        if (!c || c->type != RZ_V_BIN || c->len != RZ_COMMIT_BYTES ||
            !entry_field_is_pii(e->table, rv->field))
            return rz_fail(err, RZ_E_PII,
                           "the server sent a value for field %u of entry %llu, which commits "
                           "to none",
                           rv->field, (unsigned long long)seq);
        if (rv->value) {
            uint8_t got[RZ_COMMIT_BYTES];
            pii_commit(got, rv->salt, rv->value, rv->len);
            if (sodium_memcmp(got, c->p, RZ_COMMIT_BYTES) != 0)
                return rz_fail(err, RZ_E_PII,
                               "a personal value of entry %llu does not open its commitment: "
                               "altered",
                               (unsigned long long)seq);
            x->res->values++;
        } else {
            x->res->erased++;
        }
        vals[*nvals].field = rv->field;
        vals[*nvals].value = rv->value;
        vals[*nvals].len = rv->len;
        (*nvals)++;
    }
    /* Every commitment must be answered: a value, or "erased". */
    for (f = 0; f < e->nfields; f++) {
        const rz_field *fd = &e->fields[f];
        int found = 0;
        if (!entry_field_is_pii(e->table, fd->id) || fd->v.type != RZ_V_BIN)
            continue;
        for (j = 0; j < *nvals; j++)
            found |= vals[j].field == fd->id;
        if (!found)
            return rz_fail(err, RZ_E_PII,
                           "the server sent no value for field %u of entry %llu (neither the "
                           "value nor that it was erased)",
                           fd->id, (unsigned long long)seq);
    }
    return 0;
}

/* One CHUNK: continues the chain, every value opens its commitment, every
 * signature verifies; its entries are applied in the open transaction. */
static int
recover_chunk(void *ctxp, const struct rz_msg *m, rz_error *err)
{
    recover_ctx *x = ctxp;
    size_t i, at = 0;
    int rc;
    if (memcmp(m->old_id, x->old_id, RZ_NODE_ID_BYTES) != 0)
        return rz_fail(err, RZ_E_DECODE, "the server sent the log of another node");
    if (!x->started) {
        x->head_seq = m->head_seq;
        memcpy(x->head, m->head, RZ_HASH_BYTES);
        x->nkeys = m->nkeys;
        for (i = 0; i < m->nkeys; i++) {
            x->key_from[i] = m->keys[i].from_seq;
            memcpy(x->key[i], m->keys[i].pk, RZ_PK_BYTES);
        }
        x->epoch = m->epoch;
        if ((rc = node_store_begin(x->ns, err)) != 0)
            return rc;
        x->started = 1;
    } else {
        /* The old log is closed: it cannot change while it is fetched. */
        int same = m->head_seq == x->head_seq && memcmp(m->head, x->head, RZ_HASH_BYTES) == 0 &&
                   m->nkeys == x->nkeys;
        for (i = 0; same && i < m->nkeys; i++)
            same = m->keys[i].from_seq == x->key_from[i] &&
                   memcmp(m->keys[i].pk, x->key[i], RZ_PK_BYTES) == 0;
        if (!same)
            return rz_fail(err, RZ_E_CHAIN, "the old node's head or keys changed during the fetch");
        if (m->epoch < x->epoch)
            return rz_fail(err, RZ_E_CHAIN, "epochs go backwards in the old node's log");
        x->epoch = m->epoch;
    }
    if (m->first_seq != x->next)
        return rz_fail(err, RZ_E_CHAIN, "chunk starts at %llu, expected %llu",
                       (unsigned long long)m->first_seq, (unsigned long long)x->next);
    for (i = 0; i < m->nentries; i++) {
        uint64_t seq = m->first_seq + i;
        node_foreign_value vals[RZ_PF_PHONE];
        size_t nvals = 0;
        rz_entry e;
        chain_hash(x->hash[i], x->old_id, m->epoch, seq, x->prev, m->entry[i], m->entry_len[i]);
        memcpy(x->prev, x->hash[i], RZ_HASH_BYTES);
        msgpack_zone_clear(&x->zone);
        if ((rc = entry_decode(m->entry[i], m->entry_len[i], &x->zone, &e, err)) != 0)
            return rz_fail(err, rc, "entry %llu of the old log does not decode: %s",
                           (unsigned long long)seq, err ? err->text : "");
        if ((rc = recover_values(x, m, i, seq, &e, &at, vals, &nvals, err)) != 0 ||
            (rc = node_store_apply_foreign(x->ns, m->entry[i], m->entry_len[i], vals, nvals,
                                           err)) != 0)
            return rc;
        x->res->persons += e.table == RZ_T_PERSON;
        x->res->events += e.table == RZ_T_EVENT;
        x->res->attendance += e.table == RZ_T_ATTENDANCE;
    }
    if (at != m->nreveals)
        return rz_fail(err, RZ_E_PII, "values out of order in the chunk");
    for (i = 0; i < m->nsigs; i++) {
        const rz_fetch_sig *g = &m->sigs[i];
        size_t k;
        int ok = 0;
        /* Any key headquarters enrolled for the old node and in force by
         * the batch's end (a batch straddling a rekey was sent after it). */
        for (k = 0; k < x->nkeys && !ok; k++)
            ok = x->key_from[k] <= g->last_seq &&
                 batch_verify(g->sig, x->key[k], x->old_id, m->epoch, g->last_seq,
                              x->hash[g->last_seq - m->first_seq]) == 0;
        if (!ok)
            return rz_fail(err, RZ_E_SIGNATURE,
                           "the batch signature over entry %llu of the old log does not verify "
                           "with the old node's key",
                           (unsigned long long)g->last_seq);
        x->signed_to = g->last_seq;
        x->res->signatures++;
    }
    x->next += m->nentries;
    x->res->entries += m->nentries;
    x->res->chunks++;
    /* Test seam: the PC switched off in the middle of a fetch, after this
     * many chunks were applied in the open transaction (tests only). */
    if (++x->chunks == x->cut_after)
        raise(SIGKILL);
    return 0;
}

/* All chunks in: the chain ends at the head the server reported, which the
 * old node signed; then the recovery is noted and everything commits. */
static int
recover_finish(void *ctxp, uint64_t *head_seq, uint8_t head[RZ_HASH_BYTES], rz_error *err)
{
    recover_ctx *x = ctxp;
    sqlite3 *db = node_store_db(x->ns);
    sqlite3_stmt *st = NULL;
    int rc;
    if (!x->started) { /* confirmation only */
        *head_seq = x->done_seq;
        memcpy(head, x->done_head, RZ_HASH_BYTES);
        return 0;
    }
    if (x->next - 1 != x->head_seq || memcmp(x->prev, x->head, RZ_HASH_BYTES) != 0)
        return rz_fail(err, RZ_E_CHAIN,
                       "the old log's chain does not end at the head the server reported");
    if (x->head_seq > 0 && x->signed_to != x->head_seq)
        return rz_fail(err, RZ_E_SIGNATURE, "the old log's head %llu carries no signature",
                       (unsigned long long)x->head_seq);
    if ((rc = rz_db_prepare(db, &st,
                            "INSERT OR REPLACE INTO recovered(old_id, head_seq, head_hash, entries,"
                            " erased, at_ms, confirmed_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, NULL)",
                            err)) != 0)
        return rc;
    sqlite3_bind_blob(st, 1, x->old_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)x->head_seq);
    sqlite3_bind_blob(st, 3, x->head, RZ_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)x->res->entries);
    sqlite3_bind_int64(st, 5, (int64_t)x->res->erased);
    sqlite3_bind_int64(st, 6, (int64_t)hlc_wall_ms());
    rc = rz_db_step_done(db, st, err);
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    if ((rc = node_store_commit(x->ns, err)) != 0)
        return rc;
    x->started = 0; /* committed: nothing to roll back */
    x->res->head_seq = x->head_seq;
    *head_seq = x->head_seq;
    memcpy(head, x->head, RZ_HASH_BYTES);
    return 0;
}

/* A recovery of old_id noted here before: 1 (with its head), 0 none. */
static int
recover_noted(node_store *ns, const uint8_t *old_id, recover_ctx *x, int *confirmed, rz_error *err)
{
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int rc, found = 0;
    if ((rc = rz_db_exec(db, recover_schema, err)) != 0 ||
        (rc = rz_db_prepare(db, &st,
                            "SELECT head_seq, head_hash, entries, erased, confirmed_ms IS NOT NULL"
                            " FROM recovered WHERE old_id=?1",
                            err)) != 0)
        return rc;
    sqlite3_bind_blob(st, 1, old_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 1) == RZ_HASH_BYTES) {
        found = 1;
        x->done_seq = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(x->done_head, sqlite3_column_blob(st, 1), RZ_HASH_BYTES);
        x->res->entries = (uint64_t)sqlite3_column_int64(st, 2);
        x->res->erased = (uint64_t)sqlite3_column_int64(st, 3);
        x->res->head_seq = x->done_seq;
        *confirmed = sqlite3_column_int(st, 4);
    }
    sqlite3_finalize(st);
    return found;
}

static int
recover_confirmed(node_store *ns, const uint8_t *old_id, rz_error *err)
{
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int rc;
    if ((rc = rz_db_prepare(db, &st, "UPDATE recovered SET confirmed_ms=?2 WHERE old_id=?1",
                            err)) != 0)
        return rc;
    sqlite3_bind_blob(st, 1, old_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)hlc_wall_ms());
    rc = rz_db_step_done(db, st, err);
    sqlite3_finalize(st);
    return rc;
}

int
node_recover_run(node_store *ns, const node_sync_opts *o, const uint8_t old_id[RZ_NODE_ID_BYTES],
                 node_recover_result *res, node_sync_result *sr, rz_error *err)
{
    recover_ctx x;
    node_fetch_ops ops;
    int rc, confirmed = 0, noted;
    memset(res, 0, sizeof *res);
    memset(sr, 0, sizeof *sr);
    if (memcmp(old_id, node_store_node_id(ns), RZ_NODE_ID_BYTES) == 0)
        return rz_fail(err, RZ_E_ARG, "a node cannot recover its own log");
    memset(&x, 0, sizeof x);
    x.ns = ns;
    x.res = res;
    x.next = 1;
    memcpy(x.old_id, old_id, RZ_NODE_ID_BYTES);
    if ((noted = recover_noted(ns, old_id, &x, &confirmed, err)) < 0)
        return noted;
    if (noted) {
        res->already = 1;
        res->confirmed = confirmed;
        if (confirmed)
            return 0;
    }
    if (getenv("RZ_TEST_RECOVER_KILL_AFTER"))
        x.cut_after = (unsigned)strtoul(getenv("RZ_TEST_RECOVER_KILL_AFTER"), NULL, 10);
    x.hash = xcalloc(RZ_MAX_BATCH_ENTRIES, sizeof *x.hash);
    msgpack_zone_init(&x.zone, 4096);
    ops.chunk = noted ? NULL : recover_chunk;
    ops.finish = recover_finish;
    ops.ctx = &x;
    rc = node_sync_fetch(ns, o, old_id, &ops, sr, err);
    if (x.started) /* refused or cut off before the commit: nothing stays */
        node_store_rollback(ns);
    if (rc == 0 && (rc = recover_confirmed(ns, old_id, err)) == 0)
        res->confirmed = 1;
    msgpack_zone_destroy(&x.zone);
    free(x.hash);
    return rc;
}

int
node_recover_report(node_store *ns, FILE *out, rz_error *err)
{
    sqlite3 *db = node_store_db(ns);
    sqlite3_stmt *st = NULL;
    int rc, step;
    /* A node that never recovered has no such table: nothing to say. */
    if ((rc = rz_db_prepare(db, &st,
                            "SELECT count(*) FROM sqlite_master WHERE type='table'"
                            " AND name='recovered'",
                            err)) != 0)
        return rc;
    rc = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    if (!rc)
        return 0;
    if ((rc = rz_db_prepare(db, &st,
                            "SELECT lower(hex(old_id)), entries, head_seq, erased,"
                            " confirmed_ms IS NOT NULL FROM recovered ORDER BY at_ms",
                            err)) != 0)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fprintf(out,
                "recovered: the records of node %s (%lld entries up to %lld, %lld values erased "
                "at headquarters)%s\n",
                (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                sqlite3_column_int(st, 4) ? ""
                                          : "; headquarters has not heard it yet: run `recover` "
                                            "again");
    rc = rz_db_rows_end(db, step, err, "recovery list");
    sqlite3_finalize(st);
    return rc;
}
