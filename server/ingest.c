/*
 * ingest: verification and application of BATCH messages; see ingest.h.
 *
 * A batch is verified whole before anything is written (STYLE: verify
 * first, then one transaction).  Memory per batch is bounded by the
 * protocol limits (1000 entries), never by a node's backlog: pending
 * entries are merged by streaming them back from the log table.
 */
#include "server/ingest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/domain.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/util.h"
#include "server/metrics.h"

struct ingest {
    store *s;                       /* borrowed */
    const rz_identity *server;      /* borrowed: signs receipts */
    merge_ctx *mg;                  /* merge statements */
    msgpack_zone zone;              /* scratch for entry decoding */
    uint8_t (*hash)[RZ_HASH_BYTES]; /* chain hashes of the batch */
    int64_t *clock_ms;              /* per entry: server_ms of a clock entry or -1 */
    sqlite3_stmt *st_pending;       /* clock entries not yet merged */
    sqlite3_stmt *st_clocks;        /* clock entries in a range */
    sqlite3_stmt *st_cnic;          /* CNIC facts of an entry */
    int in_group;                   /* a group transaction is open */
    int group_failed;               /* a write failed: the group rolls back */
    uint64_t group_entries;         /* new entries in the open group */
    uint64_t group_bytes;           /* BATCH bytes in the open group */
    uint64_t group_batches;         /* batches accepted in the open group */
};

int
ingest_new(ingest **out, store *s, const rz_identity *server, rz_error *err)
{
    ingest *ig = xcalloc(1, sizeof *ig);
    sqlite3 *db = store_db(s);
    int rc;
    ig->s = s;
    ig->server = server;
    msgpack_zone_init(&ig->zone, 4096);
    ig->hash = xcalloc(RZ_MAX_BATCH_ENTRIES, sizeof *ig->hash);
    ig->clock_ms = xcalloc(RZ_MAX_BATCH_ENTRIES, sizeof *ig->clock_ms);
    if ((rc = merge_new(&ig->mg, db, err)) ||
        (rc = rz_db_prepare(db, &ig->st_pending,
                            "SELECT seq, clock_ms FROM log WHERE node_id=?1 AND seq>?2"
                            " AND seq<=?3 AND clock_ms IS NOT NULL ORDER BY seq",
                            err)) ||
        (rc = rz_db_prepare(db, &ig->st_clocks,
                            "SELECT seq, clock_ms FROM log WHERE node_id=?1 AND seq>?2"
                            " AND seq<=?3 AND clock_ms IS NOT NULL ORDER BY seq DESC LIMIT 1",
                            err)) ||
        (rc = rz_db_prepare(db, &ig->st_cnic,
                            "SELECT cnic_state, token FROM pii WHERE node_id=?1 AND seq=?2"
                            " AND field=1",
                            err))) {
        ingest_destroy(&ig);
        return rc;
    }
    *out = ig;
    return 0;
}

void
ingest_destroy(ingest **igp)
{
    ingest *ig = igp ? *igp : NULL;
    if (!ig)
        return;
    merge_destroy(&ig->mg);
    sqlite3_finalize(ig->st_pending);
    sqlite3_finalize(ig->st_clocks);
    sqlite3_finalize(ig->st_cnic);
    msgpack_zone_destroy(&ig->zone);
    free(ig->hash);
    free(ig->clock_ms);
    free(ig);
    *igp = NULL;
}

/* The transport (ZAP User-Id) must name the node the message claims, and
 * that node must still be enrolled: revocation bites on live connections. */
static int
ingest_identify(ingest *ig, const uint8_t auth_node[RZ_NODE_ID_BYTES], const uint8_t *claimed,
                store_node *n, rz_error *err)
{
    int rc;
    if (sodium_memcmp(auth_node, claimed, RZ_NODE_ID_BYTES) != 0)
        return rz_fail(err, RZ_E_AUTH, "message names another node than the connection's key");
    rc = store_node_get(ig->s, auth_node, n, err);
    if (rc == RZ_E_NOTFOUND)
        return rz_fail(err, RZ_E_AUTH, "node is not enrolled");
    if (rc)
        return rc;
    if (n->revoked)
        return rz_fail(err, RZ_E_AUTH, "node key has been revoked by headquarters");
    return 0;
}

int
ingest_hello(ingest *ig, const uint8_t auth_node[RZ_NODE_ID_BYTES], const rz_msg *m, store_node *n,
             rz_error *err)
{
    return ingest_identify(ig, auth_node, m->node_id, n, err);
}

/* Sets err to code with a formatted prefix before err's current reason.
 * rz_fail cannot take err->text as an argument: vsnprintf would read the
 * buffer it is overwriting (undefined; in practice the reason came out as
 * "entry 7: entry 7: ent"), so the reason is copied first. */
static int ingest_refine(rz_error *err, int code, const char *fmt, ...) RZ_PRINTF(3, 4);

static int
ingest_refine(rz_error *err, int code, const char *fmt, ...)
{
    char prefix[RZ_ERROR_TEXT], reason[RZ_ERROR_TEXT];
    va_list ap;
    if (!err)
        return code;
    snprintf(reason, sizeof reason, "%s", err->text);
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    return rz_fail(err, code, "%s: %s", prefix, reason[0] ? reason : "storage error");
}

static int
decode_scratch(ingest *ig, const uint8_t *p, size_t len, rz_entry *e, rz_error *err)
{
    /* The zone only holds one entry's tree at a time. */
    msgpack_zone_clear(&ig->zone);
    return entry_decode(p, len, &ig->zone, e, err);
}

/* Pass 1: every entry decodes with a supported schema; note clock entries and
 * count the personal-value commitments of new entries. */
static int
check_entries(ingest *ig, const rz_msg *m, uint64_t head_seq, size_t *commits, rz_error *err)
{
    size_t i, f;
    rz_entry e;
    int rc;
    *commits = 0;
    for (i = 0; i < m->nentries; i++) {
        if ((rc = decode_scratch(ig, m->entry[i], m->entry_len[i], &e, err)))
            return ingest_refine(err, rc, "entry %llu", (unsigned long long)(m->first_seq + i));
        ig->clock_ms[i] = -1;
        if (e.table == RZ_T_CLOCK) {
            const rz_value *v = entry_field(&e, RZ_CF_SERVER_MS);
            if (!v || v->type != RZ_V_UINT || v->u > INT64_MAX)
                return rz_fail(err, RZ_E_DECODE, "entry %llu: clock entry without server time",
                               (unsigned long long)(m->first_seq + i));
            ig->clock_ms[i] = (int64_t)v->u;
        }
        if (m->first_seq + i <= head_seq)
            continue;
        for (f = 0; f < e.nfields; f++)
            if (entry_field_is_pii(e.table, e.fields[f].id) && e.fields[f].v.type == RZ_V_BIN)
                (*commits)++;
    }
    return 0;
}

/* Chain from the claimed prev hash, then the node's signature over the head.
 * Until this passes nothing in the batch is trusted. */
static int
check_signature(ingest *ig, const rz_msg *m, const store_node *n, rz_error *err)
{
    const uint8_t *prev = m->prev;
    size_t i;
    for (i = 0; i < m->nentries; i++) {
        chain_hash(ig->hash[i], n->node_id, m->epoch, m->first_seq + i, prev, m->entry[i],
                   m->entry_len[i]);
        prev = ig->hash[i];
    }
    if (batch_verify(m->sig, n->sign_pk, n->node_id, m->epoch, m->first_seq + m->nentries - 1,
                     ig->hash[m->nentries - 1]) != 0)
        return rz_fail(err, RZ_E_SIGNATURE,
                       "batch signature does not verify with the enrolled key over seq %llu..%llu"
                       " (altered, reordered or signed by another key)",
                       (unsigned long long)m->first_seq,
                       (unsigned long long)(m->first_seq + m->nentries - 1));
    return 0;
}

/* The authentic batch must continue what is stored: returns RZ_E_CHAIN for a
 * gap and RZ_E_FORK when it rewrites stored history. */
static int
check_continuity(ingest *ig, const rz_msg *m, const store_node *n, rz_error *err)
{
    uint8_t stored[RZ_HASH_BYTES] = {0};
    uint64_t last = m->first_seq + m->nentries - 1, overlap_end;
    int rc;
    if (m->first_seq > n->head_seq + 1)
        return rz_fail(err, RZ_E_CHAIN, "gap: batch starts at seq %llu but the server holds %llu",
                       (unsigned long long)m->first_seq, (unsigned long long)n->head_seq);
    if (m->first_seq > 1 && (rc = store_log_get(ig->s, n->node_id, m->first_seq - 1, stored, err)))
        return rc == RZ_E_NOTFOUND ? rz_fail(err, RZ_E_CHAIN, "missing seq %llu",
                                             (unsigned long long)(m->first_seq - 1))
                                   : rc;
    if (sodium_memcmp(stored, m->prev, RZ_HASH_BYTES) != 0)
        return rz_fail(err, RZ_E_FORK,
                       "batch at seq %llu continues a different history than the server holds",
                       (unsigned long long)m->first_seq);
    /* Chain hashes commit to all earlier entries, so comparing the last
     * overlapping one compares the whole overlap. */
    overlap_end = last < n->head_seq ? last : n->head_seq;
    if (overlap_end >= m->first_seq) {
        if ((rc = store_log_get(ig->s, n->node_id, overlap_end, stored, err)))
            return rc;
        if (sodium_memcmp(stored, ig->hash[overlap_end - m->first_seq], RZ_HASH_BYTES) != 0)
            return rz_fail(err, RZ_E_FORK,
                           "seq %llu..%llu differ from the entries the server holds",
                           (unsigned long long)m->first_seq, (unsigned long long)overlap_end);
    }
    return 0;
}

/* Every commitment of a new entry has exactly one matching reveal.  Reveals
 * are strictly ascending by (index, field), which makes them unique. */
static int
check_reveals(ingest *ig, const rz_msg *m, uint64_t head_seq, size_t commits, rz_error *err)
{
    size_t i, matched = 0;
    rz_entry e;
    int rc;
    for (i = 0; i < m->nreveals; i++) {
        const rz_reveal *r = &m->reveals[i];
        const rz_value *v;
        uint8_t c[RZ_COMMIT_BYTES];
        if (i > 0 && (r->index < m->reveals[i - 1].index ||
                      (r->index == m->reveals[i - 1].index && r->field <= m->reveals[i - 1].field)))
            return rz_fail(err, RZ_E_DECODE, "reveals not strictly ascending");
        if (m->first_seq + r->index <= head_seq)
            continue; /* belongs to an entry already stored */
        if ((rc = decode_scratch(ig, m->entry[r->index], m->entry_len[r->index], &e, err)))
            return rc;
        v = entry_field(&e, r->field);
        if (!entry_field_is_pii(e.table, r->field) || !v || v->type != RZ_V_BIN)
            return rz_fail(err, RZ_E_PII, "reveal %zu has no commitment to open", i);
        pii_commit(c, r->salt, r->value, r->len);
        if (sodium_memcmp(c, v->p, RZ_COMMIT_BYTES) != 0)
            return rz_fail(err, RZ_E_PII, "reveal %zu does not match its commitment", i);
        matched++;
    }
    if (matched != commits)
        return rz_fail(err, RZ_E_PII, "%zu personal values committed, %zu revealed", commits,
                       matched);
    return 0;
}

/* Stores the personal values of a new entry; a CNIC also gets its state and
 * link token, which survive erasure of the value. */
static int
store_reveals_of(ingest *ig, const rz_msg *m, size_t idx, const store_node *n, rz_error *err)
{
    size_t i;
    int rc;
    for (i = 0; i < m->nreveals; i++) {
        const rz_reveal *r = &m->reveals[i];
        uint8_t token[16];
        int state = 0;
        if (r->index != idx)
            continue;
        if (r->field == RZ_PF_CNIC) {
            char cnic[14];
            state = cnic_normalize(cnic, r->value, r->len) ? MERGE_CNIC_VALID : MERGE_CNIC_INVALID;
            if (state == MERGE_CNIC_VALID)
                cnic_token(token, store_pepper(ig->s), cnic);
            sodium_memzero(cnic, sizeof cnic);
        }
        if ((rc = store_pii_put(ig->s, n->node_id, m->first_seq + idx, r->field, r->salt, r->value,
                                r->len, state, state == MERGE_CNIC_VALID ? token : NULL, err)))
            return rc;
    }
    return 0;
}

/* CNIC facts for merge: from the entry (absent / cleared) and the stored
 * reveal (valid with token / invalid / erased). */
static int
cnic_facts(ingest *ig, const store_node *n, uint64_t seq, const rz_entry *e, merge_input *in,
           rz_error *err)
{
    const rz_value *v = e->table == RZ_T_PERSON ? entry_field(e, RZ_PF_CNIC) : NULL;
    sqlite3_stmt *st = ig->st_cnic;
    int rc;
    in->cnic_state = MERGE_CNIC_ABSENT;
    if (!v)
        return 0;
    if (v->type == RZ_V_NIL) {
        in->cnic_state = MERGE_CNIC_CLEARED;
        return 0;
    }
    sqlite3_bind_blob(st, 1, n->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        in->cnic_state = sqlite3_column_int(st, 0);
        if (sqlite3_column_bytes(st, 1) == 16)
            memcpy(in->cnic_token, sqlite3_column_blob(st, 1), 16);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        in->cnic_state = MERGE_CNIC_INVALID; /* committed but never revealed */
        rc = 0;
    } else {
        rc = rz_db_fail(store_db(ig->s), err, "cnic lookup");
    }
    sqlite3_reset(st);
    return rc;
}

/* Seq and server time of the last clock entry in (after, upto], or 0. */
static int
last_clock(ingest *ig, const store_node *n, uint64_t after, uint64_t upto, uint64_t *seq,
           rz_error *err)
{
    sqlite3_stmt *st = ig->st_clocks;
    int rc;
    *seq = 0;
    sqlite3_bind_blob(st, 1, n->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)after);
    sqlite3_bind_int64(st, 3, (int64_t)upto);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rz_db_fail(store_db(ig->s), err, "clocks");
}

/* Merges one segment [from, to] of the log closed at `to`, in window
 * [lo, hi].  `to` is a clock entry (skipped like every clock entry) or, for
 * an imported bundle, the bundle's last entry, whose log row carries the
 * import time (PROTOCOL §11) and which is merged itself.  Streams the rows. */
static int
merge_segment(ingest *ig, store_node *n, uint64_t from, uint64_t to, uint64_t lo, uint64_t hi,
              rz_error *err)
{
    sqlite3 *db = store_db(ig->s);
    sqlite3_stmt *st = NULL;
    int rc = 0, step;

    /* The caller's clock cursor is mid-iteration: a segment has its own. */
    if ((rc = rz_db_prepare(db, &st,
                            "SELECT seq, entry FROM log WHERE node_id=?1 AND seq>=?2"
                            " AND seq<=?3 ORDER BY seq",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, n->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)from);
    sqlite3_bind_int64(st, 3, (int64_t)to);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        const uint8_t *p = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        rz_entry e;
        merge_input in;
        if ((rc = decode_scratch(ig, p, len, &e, err)))
            break; /* stored entries were verified; this is corruption */
        if (e.table == RZ_T_CLOCK)
            continue;
        memset(&in, 0, sizeof in);
        in.node_id = n->node_id;
        in.centre_id = n->centre_id;
        in.seq = seq;
        in.e = &e;
        in.win_lo_ms = lo;
        in.win_hi_ms = hi;
        if ((rc = cnic_facts(ig, n, seq, &e, &in, err)) || (rc = merge_entry(ig->mg, &in, err)))
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(db, err, "log scan");
    sqlite3_finalize(st);
    return rc;
}

int
ingest_merge_pending(ingest *ig, store_node *n, uint64_t upto_seq, rz_error *err)
{
    sqlite3_stmt *st = ig->st_pending;
    uint64_t end = 0, seg_start = n->merged_seq + 1;
    int rc = 0, step;

    if ((rc = last_clock(ig, n, n->merged_seq, upto_seq, &end, err)) || end == 0)
        return rc; /* nothing is bounded by a clock entry yet */
    /* Each clock entry in (merged_seq, end] closes a segment. */
    sqlite3_bind_blob(st, 1, n->node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)n->merged_seq);
    sqlite3_bind_int64(st, 3, (int64_t)end);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        uint64_t hi = (uint64_t)sqlite3_column_int64(st, 1);
        /* Server times the node reports only move forward for merging. */
        if (hi < n->last_clock_ms)
            hi = n->last_clock_ms;
        if (seq >= seg_start &&
            (rc = merge_segment(ig, n, seg_start, seq, n->last_clock_ms, hi, err)))
            break;
        n->last_clock_ms = hi;
        n->merged_seq = seq;
        seg_start = seq + 1;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rz_db_fail(store_db(ig->s), err, "log scan");
    sqlite3_reset(st);
    return rc;
}

/* Clock offset a node reported in its newest clock entry of the batch. */
static void
note_clock_offset(ingest *ig, const rz_msg *m, size_t i, store_node *n)
{
    rz_entry e;
    const rz_value *srv, *loc;
    if (decode_scratch(ig, m->entry[i], m->entry_len[i], &e, NULL) != 0)
        return;
    srv = entry_field(&e, RZ_CF_SERVER_MS);
    loc = entry_field(&e, RZ_CF_LOCAL_MS);
    if (srv && loc && srv->type == RZ_V_UINT && loc->type == RZ_V_UINT)
        n->clock_offset_ms = u64_diff_sat(loc->u, srv->u);
}

/* Writes the new part of a verified batch and merges what it bounds.  In a
 * group the caller commits (ingest_group_commit); alone, it commits here. */
static int
apply_batch(ingest *ig, const rz_msg *m, store_node *n, uint64_t now, rz_error *err)
{
    uint64_t last = m->first_seq + m->nentries - 1;
    size_t i, start = n->head_seq >= m->first_seq ? (size_t)(n->head_seq - m->first_seq + 1) : 0;
    int rc;

    if (!ig->in_group && (rc = store_begin(ig->s, err)))
        return rc;
    for (i = start; i < m->nentries; i++) {
        if ((rc = store_log_append(ig->s, n->node_id, m->epoch, m->first_seq + i, ig->hash[i],
                                   ig->clock_ms[i], m->entry[i], m->entry_len[i], err)) ||
            (rc = store_reveals_of(ig, m, i, n, err)))
            goto out;
        if (ig->clock_ms[i] >= 0)
            note_clock_offset(ig, m, i, n);
    }
    if ((rc = store_batch_sig(ig->s, n->node_id, m->epoch, m->first_seq, last, m->sig, n->sign_pk,
                              err)))
        goto out;
    n->head_seq = last;
    memcpy(n->head_hash, ig->hash[m->nentries - 1], RZ_HASH_BYTES);
    n->last_sync_ms = now;
    if ((rc = ingest_merge_pending(ig, n, last, err)) || (rc = store_node_update(ig->s, n, err)))
        goto out;
    if (!ig->in_group && ((rc = merge_flush(ig->mg, err)) || (rc = store_commit(ig->s, err))))
        goto out;
out:
    if (rc) {
        if (ig->in_group) {
            ig->group_failed = 1; /* partly written: only a rollback of all is safe */
        } else {
            store_rollback(ig->s);
            merge_discard(ig->mg);
        }
        if (rc != RZ_E_BUSY)
            rc = ingest_refine(err, RZ_E_BUSY, "server could not commit the batch");
    }
    return rc;
}

int
ingest_group_begin(ingest *ig, rz_error *err)
{
    int rc = store_begin(ig->s, err);
    if (rc == 0) {
        ig->in_group = 1;
        ig->group_failed = 0;
        ig->group_entries = ig->group_bytes = ig->group_batches = 0;
    }
    return rc;
}

int
ingest_group_commit(ingest *ig, rz_error *err)
{
    int rc = 0;
    if (!ig->in_group)
        return 0;
    ig->in_group = 0;
    if (ig->group_failed)
        rc = rz_fail(err, RZ_E_BUSY, "server could not commit the batch (storage error)");
    else if ((rc = merge_flush(ig->mg, err)) == 0)
        rc = store_commit(ig->s, err);
    if (rc) {
        store_rollback(ig->s);
        merge_discard(ig->mg);
        return rc == RZ_E_BUSY ? rc
                               : ingest_refine(err, RZ_E_BUSY, "server could not commit the batch");
    }
    /* Counted only now: an acknowledgement is a commit. */
    metrics_batches_ok(ig->group_batches, ig->group_entries, ig->group_bytes);
    return 0;
}

void
ingest_group_abort(ingest *ig)
{
    if (!ig->in_group)
        return;
    ig->in_group = 0;
    ig->group_failed = 0;
    store_rollback(ig->s);
    merge_discard(ig->mg);
}

int
ingest_close_import(ingest *ig, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t last_seq,
                    uint64_t server_ms, int *closed, rz_error *err)
{
    sqlite3 *db = store_db(ig->s);
    sqlite3_stmt *st = NULL;
    store_node n;
    int rc;
    if (closed)
        *closed = 0;
    if ((rc = store_node_get(ig->s, node_id, &n, err)))
        return rc;
    if (n.merged_seq >= last_seq || n.head_seq < last_seq)
        return 0;
    if ((rc = rz_db_prepare(db, &st,
                            "UPDATE log SET clock_ms=?3 WHERE node_id=?1 AND seq=?2"
                            " AND clock_ms IS NULL",
                            err)))
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)last_seq);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)server_ms);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : rz_db_fail(db, err, "import clock");
    sqlite3_finalize(st);
    if (rc || (rc = ingest_merge_pending(ig, &n, last_seq, err)) ||
        (rc = store_node_update(ig->s, &n, err)))
        return rc;
    if (closed)
        *closed = 1;
    return 0;
}

/* An authentic batch that rewrites history: keep it as evidence, quarantine
 * the node, refuse.  Headquarters resolves it (PROTOCOL §7). */
static int
record_fork(ingest *ig, const rz_msg *m, store_node *n, const uint8_t *raw, size_t rawlen,
            rz_error *err)
{
    rz_error e2;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    int rc;
    hex_encode(hex, n->node_id, RZ_NODE_ID_BYTES);
    log_warnx("node %s: fork: %s; node quarantined", hex, err ? err->text : "");
    /* In a group the evidence commits with the group; if the group fails the
     * node's next attempt is caught again. */
    if (!ig->in_group && (rc = store_begin(ig->s, &e2)))
        return RZ_E_FORK;
    n->quarantined = 1;
    rc = store_fork_evidence(ig->s, n->node_id, m->epoch, m->first_seq, raw, rawlen,
                             err ? err->text : "fork", &e2);
    if (rc == 0)
        rc = store_node_update(ig->s, n, &e2);
    if (!ig->in_group) {
        if (rc == 0)
            rc = store_commit(ig->s, &e2);
        if (rc)
            store_rollback(ig->s);
    } else if (rc) {
        ig->group_failed = 1;
    }
    return RZ_E_FORK;
}

int
ingest_batch(ingest *ig, const uint8_t auth_node[RZ_NODE_ID_BYTES], const rz_msg *m,
             const uint8_t *raw, size_t rawlen, ingest_ack *ack, rz_error *err)
{
    store_node n;
    size_t commits = 0;
    uint64_t last, applied;
    int rc;

    if (ig->in_group && ig->group_failed)
        return rz_fail(err, RZ_E_BUSY, "server could not commit the batch (storage error)");
    if ((rc = ingest_identify(ig, auth_node, m->node_id, &n, err)))
        return rc;
    if (n.quarantined)
        return rz_fail(err, RZ_E_QUARANTINE,
                       "node is quarantined after a fork; headquarters must run new-epoch");
    if (m->epoch != n.epoch)
        return rz_fail(err, RZ_E_EPOCH, "batch epoch %u, node's current epoch is %u", m->epoch,
                       n.epoch);
    if ((rc = check_entries(ig, m, n.head_seq, &commits, err)) ||
        (rc = check_signature(ig, m, &n, err)))
        return rc;
    rc = check_continuity(ig, m, &n, err);
    if (rc == RZ_E_FORK)
        return record_fork(ig, m, &n, raw, rawlen, err);
    if (rc || (rc = check_reveals(ig, m, n.head_seq, commits, err)))
        return rc;

    last = m->first_seq + m->nentries - 1;
    applied = last > n.head_seq ? last - n.head_seq : 0;
    ack->server_ms = hlc_wall_ms();
    if (applied > 0 && (rc = apply_batch(ig, m, &n, ack->server_ms, err)))
        return rc;
    ack->epoch = m->epoch;
    ack->first_seq = m->first_seq;
    ack->last_seq = last;
    ack->applied = applied;
    memcpy(ack->head, ig->hash[m->nentries - 1], RZ_HASH_BYTES);
    receipt_sign(ack->receipt, ig->server, n.node_id, m->epoch, m->first_seq, last, ack->head,
                 ack->server_ms);
    if (ig->in_group) {
        ig->group_batches++;
        ig->group_entries += applied;
        ig->group_bytes += rawlen;
    } else {
        metrics_batch_ok(applied, rawlen);
    }
    return 0;
}

int
ingest_flush(ingest *ig, rz_error *err)
{
    return merge_flush(ig->mg, err);
}
