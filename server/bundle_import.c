/*
 * bundle_import: verify the whole bundle, then ingest it as one group; see
 * bundle_import.h.
 */
#include "server/bundle_import.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/msg.h"

/* Reads and decodes the next BATCH chunk into m (borrowing r and z). */
static int
import_next_batch(bundle_reader *r, msgpack_zone *z, rz_msg *m, unsigned long i, rz_error *err)
{
    int rc = bundle_read_chunk(r, err);
    if (rc == 0)
        return rz_fail(err, RZ_E_DECODE, "truncated: batch %lu of the bundle is missing", i);
    if (rc < 0)
        return rc;
    msgpack_zone_clear(z);
    if ((rc = msg_decode(r->plain, r->plain_len, z, m, err)))
        return rc;
    if (m->type != RZ_MSG_BATCH)
        return rz_fail(err, RZ_E_MSGTYPE, "chunk %lu is message type %d, not a BATCH", i + 1,
                       m->type);
    return 0;
}

/* Opens the file and reads the header chunk. */
static int
import_open(FILE **f, bundle_reader *r, const char *path, const rz_identity *id, bundle_header *h,
            rz_error *err)
{
    int rc;
    if (!(*f = fopen(path, "rb")))
        return rz_fail(err, RZ_E_NOTFOUND, "%s: %s", path, strerror(errno));
    if ((rc = bundle_reader_init(r, *f, id, err)))
        return rc;
    if ((rc = bundle_read_chunk(r, err)) <= 0)
        return rc ? rc : rz_fail(err, RZ_E_DECODE, "truncated: the bundle has no header");
    return bundle_header_decode(r->plain, r->plain_len, h, err);
}

/* Pass 1: everything decodes and agrees with the header. */
static int
import_check(const char *path, const rz_identity *id, bundle_header *h, rz_error *err)
{
    FILE *f = NULL;
    bundle_reader r;
    msgpack_zone z;
    rz_msg m;
    uint64_t next;
    unsigned long i;
    int rc;
    msgpack_zone_init(&z, 65536);
    memset(&r, 0, sizeof r);
    if ((rc = import_open(&f, &r, path, id, h, err)))
        goto out;
    next = h->first_seq;
    for (i = 1; i <= h->nbatches; i++) {
        if ((rc = import_next_batch(&r, &z, &m, i, err)))
            goto out;
        if (sodium_memcmp(m.node_id, h->node_id, RZ_NODE_ID_BYTES) != 0 || m.epoch != h->epoch ||
            m.first_seq != next) {
            rc = rz_fail(err, RZ_E_CHAIN,
                         "batch %lu does not follow the bundle's header (node, epoch or seq %llu)",
                         i, (unsigned long long)next);
            goto out;
        }
        next = m.first_seq + m.nentries;
    }
    if (next - 1 != h->last_seq) {
        rc = rz_fail(err, RZ_E_DECODE, "the batches end at seq %llu, the header says %llu",
                     (unsigned long long)(next - 1), (unsigned long long)h->last_seq);
        goto out;
    }
    if (bundle_read_chunk(&r, NULL) != 0) {
        rc = rz_fail(err, RZ_E_DECODE, "data after the last batch of the bundle");
        goto out;
    }
out:
    bundle_reader_free(&r);
    if (f)
        fclose(f);
    msgpack_zone_destroy(&z);
    return rc;
}

static int
import_write_receipts(const char *path, const uint8_t node_id[RZ_NODE_ID_BYTES],
                      const bundle_receipt *rc_list, size_t n, rz_error *err)
{
    mpk_writer w;
    int rc;
    mpk_w_init(&w);
    bundle_receipts_encode(&w, node_id, rc_list, n);
    rc = w.rc ? rz_fail(err, w.rc, "cannot encode the receipts")
              : file_write_atomic(path, w.sb.data, w.sb.size, 0600, err);
    mpk_w_free(&w);
    return rc;
}

int
bundle_import(log_store *s, const rz_identity *id, const char *path, const char *receipt_path,
              bundle_import_result *res, rz_error *err)
{
    FILE *f = NULL;
    bundle_reader r;
    msgpack_zone z;
    ingest *ig = NULL;
    bundle_receipt *rcpt = NULL;
    ingest_ack ack;
    rz_msg m;
    unsigned long i;
    int rc, grouped = 0;

    memset(res, 0, sizeof *res);
    memset(&r, 0, sizeof r);
    msgpack_zone_init(&z, 65536);
    if ((rc = import_check(path, id, &res->h, err)))
        goto out;
    rcpt = xcalloc(res->h.nbatches, sizeof *rcpt);
    if ((rc = ingest_new(&ig, s, id, err)) || (rc = import_open(&f, &r, path, id, &res->h, err)) ||
        (rc = ingest_group_begin(ig, err)))
        goto out;
    grouped = 1;
    for (i = 1; i <= res->h.nbatches; i++) {
        if ((rc = import_next_batch(&r, &z, &m, i, err)))
            goto out;
        /* The same door as a live BATCH: the bundle's node is the
         * authenticated identity only as far as its signatures prove. */
        if ((rc = ingest_batch(ig, m.node_id, &m, r.plain, r.plain_len, &ack, err)))
            goto out;
        rcpt[i - 1].epoch = ack.epoch;
        rcpt[i - 1].first_seq = ack.first_seq;
        rcpt[i - 1].last_seq = ack.last_seq;
        memcpy(rcpt[i - 1].head, ack.head, RZ_HASH_BYTES);
        rcpt[i - 1].server_ms = ack.server_ms;
        memcpy(rcpt[i - 1].sig, ack.receipt, RZ_SIG_BYTES);
        res->applied += ack.applied;
        res->batches++;
        res->server_ms = ack.server_ms;
    }
    if ((rc = ingest_close_import(ig, res->h.node_id, res->h.last_seq, res->server_ms, &res->closed,
                                  err)) ||
        (rc = ingest_group_commit(ig, err)))
        goto out;
    grouped = 0;
    {
        rz_error werr = {0, ""};
        if (import_write_receipts(receipt_path, res->h.node_id, rcpt, res->h.nbatches, &werr))
            rc = rz_fail(err, RZ_E_IO,
                         "the bundle is stored but its receipt file could not be written (%s); "
                         "import it again to get the receipts",
                         werr.text);
    }
out:
    if (grouped)
        ingest_group_abort(ig);
    ingest_destroy(&ig);
    bundle_reader_free(&r);
    if (f)
        fclose(f);
    msgpack_zone_destroy(&z);
    free(rcpt);
    return rc;
}
