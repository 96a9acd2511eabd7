/* forkreport: verify and record a node's own fork report; see forkreport.h. */
#include "server/forkreport.h"

#include <stdio.h>
#include <string.h>

#include "common/db.h"
#include "common/log.h"
#include "common/util.h"

/* The report must describe this server's log (the WELCOME it answered) and
 * an actual fork of the node's log against it. */
static int
forkreport_check(log_store *s, const log_node *n, const rz_fork_report *r, rz_error *err)
{
    uint8_t stored[RZ_HASH_BYTES] = {0};
    int rc;
    if (r->seen_seq > n->head_seq)
        return rz_fail(err, RZ_E_CHAIN, "report names server head %llu, this server holds %llu",
                       (unsigned long long)r->seen_seq, (unsigned long long)n->head_seq);
    if (r->seen_seq > 0 && (rc = log_store_hash_at(s, n->node_id, r->seen_seq, stored, err)))
        return rc == RZ_E_NOTFOUND ? rz_fail(err, RZ_E_CHAIN, "report names a missing entry") : rc;
    if (sodium_memcmp(stored, r->seen_hash, RZ_HASH_BYTES) != 0)
        return rz_fail(err, RZ_E_CHAIN,
                       "report names a server hash at %llu that this server does not hold",
                       (unsigned long long)r->seen_seq);
    if (r->reason == RZ_FORK_SERVER_AHEAD && (r->have_own || r->head_seq >= r->seen_seq))
        return rz_fail(err, RZ_E_DECODE,
                       "report says the server is ahead, but the node holds "
                       "entry %llu",
                       (unsigned long long)r->seen_seq);
    if (r->reason == RZ_FORK_DIFFERS &&
        (!r->have_own || sodium_memcmp(r->own_hash, r->seen_hash, RZ_HASH_BYTES) == 0))
        return rz_fail(err, RZ_E_DECODE, "report says entry %llu differs, but it does not",
                       (unsigned long long)r->seen_seq);
    return 0;
}

int
forkreport_record(log_store *s, const uint8_t auth_node[RZ_NODE_ID_BYTES], const rz_msg *m,
                  const uint8_t *raw, size_t rawlen, rz_error *err)
{
    const rz_fork_report *r = &m->fork;
    log_node n;
    char hex[2 * RZ_NODE_ID_BYTES + 1], why[200];
    int rc;

    if (sodium_memcmp(auth_node, m->node_id, RZ_NODE_ID_BYTES) != 0)
        return rz_fail(err, RZ_E_AUTH, "report names another node than the connection's key");
    if ((rc = log_store_node_get(s, auth_node, &n, err)))
        return rc == RZ_E_NOTFOUND ? rz_fail(err, RZ_E_AUTH, "node is not enrolled") : rc;
    if (n.revoked)
        return rz_fail(err, RZ_E_AUTH, "node key has been revoked by headquarters");
    if (n.quarantined)
        return rz_fail(err, RZ_E_QUARANTINE,
                       "node is already quarantined after a fork; headquarters must run new-epoch");
    if (r->epoch != n.epoch)
        return rz_fail(err, RZ_E_EPOCH, "report epoch %u, node's current epoch is %u", r->epoch,
                       n.epoch);
    if (msg_fork_report_verify(m->sig, n.sign_pk, n.node_id, r) != 0)
        return rz_fail(err, RZ_E_SIGNATURE, "fork report signature does not verify");
    if ((rc = forkreport_check(s, &n, r, err)))
        return rc;
    if (r->reason == RZ_FORK_SERVER_AHEAD)
        snprintf(why, sizeof why,
                 "reported by the node: server holds %llu entries, the node %llu (old backup "
                 "restored?)",
                 (unsigned long long)r->seen_seq, (unsigned long long)r->head_seq);
    else
        snprintf(why, sizeof why,
                 "reported by the node: its entry %llu differs from the server's (node head %llu; "
                 "old backup restored?)",
                 (unsigned long long)r->seen_seq, (unsigned long long)r->head_seq);
    if ((rc = log_store_begin(s, err)))
        return rz_fail(err, RZ_E_BUSY, "cannot record the fork report now");
    n.quarantined = 1;
    if ((rc = log_store_fork_evidence(s, n.node_id, n.epoch, r->seen_seq, raw, rawlen, why, err)) ||
        (rc = log_store_node_update(s, &n, err)) || (rc = log_store_commit(s, err))) {
        log_store_rollback(s);
        return rz_fail(err, RZ_E_BUSY, "cannot record the fork report now");
    }
    hex_encode(hex, n.node_id, RZ_NODE_ID_BYTES);
    log_warnx("node %s: %s; node quarantined", hex, why);
    return rz_fail(err, RZ_E_FORK,
                   "fork report recorded; node quarantined until headquarters runs new-epoch");
}

int
forkreport_count(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], uint32_t epoch,
                 int64_t *count, rz_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = rz_db_prepare(log_store_db(s), &st,
                           "SELECT count(*) FROM evidence.fork_evidence"
                           " WHERE node_id = ?1 AND epoch = ?2",
                           err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, node_id, RZ_NODE_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, epoch);
    if (sqlite3_step(st) == SQLITE_ROW)
        *count = sqlite3_column_int64(st, 0);
    else
        rc = rz_db_fail(log_store_db(s), err, "fork evidence");
    sqlite3_finalize(st);
    return rc;
}

int
forkreport_forced(log_store *s, const uint8_t node_id[RZ_NODE_ID_BYTES], const char *reason,
                  rz_error *err)
{
    log_node n;
    char why[400];
    int rc;
    if ((rc = log_store_node_get(s, node_id, &n, err)))
        return rc;
    snprintf(why, sizeof why, "new epoch forced by headquarters without fork evidence: %s", reason);
    return log_store_fork_evidence(s, node_id, n.epoch, n.head_seq, (const uint8_t *)"", 0, why,
                                   err);
}
