/*
 * ingest: verification and application of BATCH messages; see ingest.h.
 *
 * A batch is verified whole before anything is written (STYLE: verify
 * first, then one transaction).  Memory per batch is bounded by the
 * protocol limits (1000 entries).  Nothing here merges: the merger
 * (server/merger.c) follows the log behind the acknowledgement.
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
#include "server/merge.h"
#include "server/metrics.h"

/* A personal-value commitment of a new entry, noted while the entries are
 * decoded once (pass 1) so the reveals are checked without decoding again. */
typedef struct ingest_commit {
    uint32_t index;             /* entry index in the batch */
    uint8_t field;              /* personal field id */
    uint8_t c[RZ_COMMIT_BYTES]; /* the commitment */
} ingest_commit;

struct ingest {
    log_store *s;                   /* borrowed */
    const rz_identity *server;      /* borrowed: signs receipts */
    msgpack_zone zone;              /* scratch for entry decoding */
    uint8_t (*hash)[RZ_HASH_BYTES]; /* chain hashes of the batch */
    int64_t *clock_ms;              /* per entry: server_ms of a clock entry or -1 */
    log_pii *pii;                   /* reveals of the new entries, to store */
    uint8_t (*token)[16];           /* CNIC link tokens, one per reveal */
    ingest_commit *commit;          /* commitments of the new entries, in order */
    int in_group;                   /* a group transaction is open */
    int group_failed;               /* a write failed: the group rolls back */
    uint64_t group_entries;         /* new entries in the open group */
    uint64_t group_bytes;           /* BATCH bytes in the open group */
    uint64_t group_batches;         /* batches accepted in the open group */
};

int
ingest_new(ingest **out, log_store *s, const rz_identity *server, rz_error *err)
{
    ingest *ig = xcalloc(1, sizeof *ig);
    (void)err;
    ig->s = s;
    ig->server = server;
    msgpack_zone_init(&ig->zone, 4096);
    ig->hash = xcalloc(RZ_MAX_BATCH_ENTRIES, sizeof *ig->hash);
    ig->clock_ms = xcalloc(RZ_MAX_BATCH_ENTRIES, sizeof *ig->clock_ms);
    ig->pii = xcalloc(RZ_MAX_REVEALS, sizeof *ig->pii);
    ig->token = xcalloc(RZ_MAX_REVEALS, sizeof *ig->token);
    ig->commit = xcalloc(RZ_MAX_REVEALS, sizeof *ig->commit);
    *out = ig;
    return 0;
}

void
ingest_destroy(ingest **igp)
{
    ingest *ig = igp ? *igp : NULL;
    if (!ig)
        return;
    msgpack_zone_destroy(&ig->zone);
    free(ig->hash);
    free(ig->clock_ms);
    if (ig->token)
        sodium_memzero(ig->token, RZ_MAX_REVEALS * sizeof *ig->token);
    free(ig->pii);
    free(ig->token);
    free(ig->commit);
    free(ig);
    *igp = NULL;
}

/* The transport (ZAP User-Id) must name the node the message claims, and
 * that node must still be enrolled: revocation bites on live connections. */
static int
ingest_identify(ingest *ig, const uint8_t auth_node[RZ_NODE_ID_BYTES], const uint8_t *claimed,
                log_node *n, rz_error *err)
{
    int rc;
    if (sodium_memcmp(auth_node, claimed, RZ_NODE_ID_BYTES) != 0)
        return rz_fail(err, RZ_E_AUTH, "message names another node than the connection's key");
    rc = log_store_node_get(ig->s, auth_node, n, err);
    if (rc == RZ_E_NOTFOUND)
        return rz_fail(err, RZ_E_AUTH, "node is not enrolled");
    if (rc)
        return rc;
    if (n->revoked)
        return rz_fail(err, RZ_E_AUTH, "node key has been revoked by headquarters");
    return 0;
}

int
ingest_hello(ingest *ig, const uint8_t auth_node[RZ_NODE_ID_BYTES], const rz_msg *m, log_node *n,
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
 * the personal-value commitments of new entries (the first RZ_MAX_REVEALS of
 * them; *commits counts them all: more than a batch can reveal is refused by
 * check_reveals). */
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
            if (entry_field_is_pii(e.table, e.fields[f].id) && e.fields[f].v.type == RZ_V_BIN) {
                /* entry_decode admits a personal field only as nil or a
                 * 16-byte commitment. */
                if (*commits < RZ_MAX_REVEALS) {
                    ingest_commit *c = &ig->commit[*commits];
                    c->index = (uint32_t)i;
                    c->field = e.fields[f].id;
                    memcpy(c->c, e.fields[f].v.p, RZ_COMMIT_BYTES);
                }
                (*commits)++;
            }
    }
    return 0;
}

/* Chain from the claimed prev hash, then the node's signature over the head.
 * Until this passes nothing in the batch is trusted. */
static int
check_signature(ingest *ig, const rz_msg *m, const log_node *n, rz_error *err)
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
check_continuity(ingest *ig, const rz_msg *m, const log_node *n, rz_error *err)
{
    uint8_t stored[RZ_HASH_BYTES] = {0};
    uint64_t last = m->first_seq + m->nentries - 1, overlap_end;
    int rc;
    if (m->first_seq > n->head_seq + 1)
        return rz_fail(err, RZ_E_CHAIN, "gap: batch starts at seq %llu but the server holds %llu",
                       (unsigned long long)m->first_seq, (unsigned long long)n->head_seq);
    /* The usual batch continues the head, whose hash the node row holds. */
    if (m->first_seq - 1 == n->head_seq)
        memcpy(stored, n->head_hash, RZ_HASH_BYTES);
    else if (m->first_seq > 1 &&
             (rc = log_store_hash_at(ig->s, n->node_id, m->first_seq - 1, stored, err)))
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
        if ((rc = log_store_hash_at(ig->s, n->node_id, overlap_end, stored, err)))
            return rc;
        if (sodium_memcmp(stored, ig->hash[overlap_end - m->first_seq], RZ_HASH_BYTES) != 0)
            return rz_fail(err, RZ_E_FORK,
                           "seq %llu..%llu differ from the entries the server holds",
                           (unsigned long long)m->first_seq, (unsigned long long)overlap_end);
    }
    return 0;
}

/* Every commitment of a new entry has exactly one matching reveal.  Reveals
 * are strictly ascending by (index, field), which makes them unique; the
 * commitments noted by check_entries are in the same order, so one walk
 * pairs them. */
static int
check_reveals(ingest *ig, const rz_msg *m, uint64_t head_seq, size_t commits, rz_error *err)
{
    size_t i, j = 0, matched = 0, noted = commits < RZ_MAX_REVEALS ? commits : RZ_MAX_REVEALS;
    for (i = 0; i < m->nreveals; i++) {
        const rz_reveal *r = &m->reveals[i];
        uint8_t c[RZ_COMMIT_BYTES];
        if (i > 0 && (r->index < m->reveals[i - 1].index ||
                      (r->index == m->reveals[i - 1].index && r->field <= m->reveals[i - 1].field)))
            return rz_fail(err, RZ_E_DECODE, "reveals not strictly ascending");
        if (m->first_seq + r->index <= head_seq)
            continue; /* belongs to an entry already stored */
        while (j < noted && (ig->commit[j].index < r->index ||
                             (ig->commit[j].index == r->index && ig->commit[j].field < r->field)))
            j++;
        if (j == noted || ig->commit[j].index != r->index || ig->commit[j].field != r->field)
            return rz_fail(err, RZ_E_PII, "reveal %zu has no commitment to open", i);
        pii_commit(c, r->salt, r->value, r->len);
        if (sodium_memcmp(c, ig->commit[j].c, RZ_COMMIT_BYTES) != 0)
            return rz_fail(err, RZ_E_PII, "reveal %zu does not match its commitment", i);
        j++;
        matched++;
    }
    if (matched != commits)
        return rz_fail(err, RZ_E_PII, "%zu personal values committed, %zu revealed", commits,
                       matched);
    return 0;
}

/* Collects the personal values of the new entries (from index start on)
 * into ig->pii; a CNIC also gets its state and link token, which survive
 * erasure of the value.  Returns their number. */
static size_t
collect_reveals(ingest *ig, const rz_msg *m, size_t start)
{
    size_t i, n = 0;
    for (i = 0; i < m->nreveals && n < RZ_MAX_REVEALS; i++) {
        const rz_reveal *r = &m->reveals[i];
        log_pii *p = &ig->pii[n];
        if (r->index < start)
            continue;
        memset(p, 0, sizeof *p);
        p->seq = m->first_seq + r->index;
        p->field = r->field;
        p->salt = r->salt;
        p->value = r->value;
        p->len = r->len;
        if (r->field == RZ_PF_CNIC) {
            char cnic[14];
            p->cnic_state =
                cnic_normalize(cnic, r->value, r->len) ? MERGE_CNIC_VALID : MERGE_CNIC_INVALID;
            if (p->cnic_state == MERGE_CNIC_VALID) {
                cnic_token(ig->token[n], log_store_pepper(ig->s), cnic);
                p->token = ig->token[n];
            }
            sodium_memzero(cnic, sizeof cnic);
        }
        n++;
    }
    return n;
}

/* Clock offset a node reported in its newest clock entry of the batch. */
static void
note_clock_offset(ingest *ig, const rz_msg *m, size_t i, log_node *n)
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

/* Writes the new part of a verified batch to the log.  In a group the
 * caller commits (ingest_group_commit); alone, it commits here.  Nothing
 * is merged: the merger follows the log. */
static int
apply_batch(ingest *ig, const rz_msg *m, log_node *n, uint64_t now, rz_error *err)
{
    uint64_t last = m->first_seq + m->nentries - 1;
    size_t i, start = n->head_seq >= m->first_seq ? (size_t)(n->head_seq - m->first_seq + 1) : 0;
    log_batch b;
    int rc;

    memset(&b, 0, sizeof b);
    b.node_id = n->node_id;
    b.epoch = m->epoch;
    b.first_seq = m->first_seq + start;
    b.n = m->nentries - start;
    b.entry = (const uint8_t *const *)&m->entry[start];
    b.entry_len = &m->entry_len[start];
    b.hash = (const uint8_t(*)[RZ_HASH_BYTES]) & ig->hash[start];
    b.prev = start > 0 ? ig->hash[start - 1] : m->prev; /* continuity checked it */
    b.clock_ms = &ig->clock_ms[start];
    b.sig_first_seq = m->first_seq;
    b.sig_last_seq = last;
    b.sig = m->sig;
    b.sign_pk = n->sign_pk;
    b.pii = ig->pii;
    b.npii = collect_reveals(ig, m, start);
    for (i = start; i < m->nentries; i++)
        if (ig->clock_ms[i] >= 0)
            note_clock_offset(ig, m, i, n);
    if (!ig->in_group && (rc = log_store_begin(ig->s, err)))
        return rc;
    n->head_seq = last;
    memcpy(n->head_hash, ig->hash[m->nentries - 1], RZ_HASH_BYTES);
    n->last_sync_ms = now;
    if ((rc = log_store_append_batch(ig->s, &b, err)) ||
        (rc = log_store_node_update(ig->s, n, err)))
        goto out;
    if (!ig->in_group && (rc = log_store_commit(ig->s, err)))
        goto out;
out:
    if (rc) {
        if (ig->in_group)
            ig->group_failed = 1; /* partly written: only a rollback of all is safe */
        else
            log_store_rollback(ig->s);
        if (rc != RZ_E_BUSY)
            rc = ingest_refine(err, RZ_E_BUSY, "server could not commit the batch");
    }
    return rc;
}

int
ingest_group_begin(ingest *ig, rz_error *err)
{
    int rc = log_store_begin(ig->s, err);
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
    else
        rc = log_store_commit(ig->s, err);
    if (rc) {
        log_store_rollback(ig->s);
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
    log_store_rollback(ig->s);
}

int
ingest_close_import(ingest *ig, const uint8_t node_id[RZ_NODE_ID_BYTES], uint64_t last_seq,
                    uint64_t server_ms, int *closed, rz_error *err)
{
    log_node n;
    int rc;
    *closed = 0;
    if (!ig->in_group)
        return rz_fail(err, RZ_E_INTERNAL, "an import closes inside its group");
    if ((rc = log_store_node_get(ig->s, node_id, &n, err)))
        return rc;
    return log_store_close_import(ig->s, node_id, last_seq, n.head_seq, server_ms, closed, err);
}

/* An authentic batch that rewrites history: keep it as evidence, quarantine
 * the node, refuse.  Headquarters resolves it (PROTOCOL §7). */
static int
record_fork(ingest *ig, const rz_msg *m, log_node *n, const uint8_t *raw, size_t rawlen,
            rz_error *err)
{
    rz_error e2;
    char hex[2 * RZ_NODE_ID_BYTES + 1];
    int rc;
    hex_encode(hex, n->node_id, RZ_NODE_ID_BYTES);
    log_warnx("node %s: fork: %s; node quarantined", hex, err ? err->text : "");
    /* In a group the evidence commits with the group; if the group fails the
     * node's next attempt is caught again. */
    if (!ig->in_group && (rc = log_store_begin(ig->s, &e2)))
        return RZ_E_FORK;
    n->quarantined = 1;
    rc = log_store_fork_evidence(ig->s, n->node_id, m->epoch, m->first_seq, raw, rawlen,
                                 err ? err->text : "fork", &e2);
    if (rc == 0)
        rc = log_store_node_update(ig->s, n, &e2);
    if (!ig->in_group) {
        if (rc == 0)
            rc = log_store_commit(ig->s, &e2);
        if (rc)
            log_store_rollback(ig->s);
    } else if (rc) {
        ig->group_failed = 1;
    }
    return RZ_E_FORK;
}

int
ingest_batch(ingest *ig, const uint8_t auth_node[RZ_NODE_ID_BYTES], const rz_msg *m,
             const uint8_t *raw, size_t rawlen, ingest_ack *ack, rz_error *err)
{
    log_node n;
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
