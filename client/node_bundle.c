/*
 * node_bundle: export and receipts; see node_bundle.h.
 */
#include "client/node_bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/node_sync.h"
#include "common/hlc.h"
#include "common/util.h"
#include "proto/bundle.h"

#define BUNDLE_PATH_MAX 4096

/* Builds the batches of first..last in order, calling fn on each. */
typedef int (*bundle_batch_fn)(void *ctx, const node_batch *b, rz_error *err);

static int
bundle_each_batch(node_store *ns, uint64_t first, uint64_t last, bundle_batch_fn fn, void *ctx,
                  rz_error *err)
{
    node_batch b;
    uint64_t next = first;
    int rc = 0;
    node_batch_init(&b);
    while (next <= last) {
        if ((rc = node_sync_build_batch(ns, next, last, RZ_BATCH_ENTRIES, &b, err)) ||
            (rc = fn(ctx, &b, err)))
            break;
        next = b.last_seq + 1;
    }
    node_batch_free(&b);
    return rc;
}

static int
bundle_count(void *ctx, const node_batch *b, rz_error *err)
{
    uint64_t *n = ctx;
    (void)b;
    if (++*n > RZ_BUNDLE_MAX_BATCHES)
        return rz_fail(err, RZ_E_TOOBIG,
                       "more than %d batches pending: export, import and bring back the receipts "
                       "in several rounds",
                       RZ_BUNDLE_MAX_BATCHES);
    return 0;
}

static int
bundle_write(void *ctx, const node_batch *b, rz_error *err)
{
    return bundle_write_chunk(ctx, (const uint8_t *)b->msg.sb.data, b->msg.sb.size, err);
}

int
node_bundle_export(node_store *ns, const char *path, node_bundle_result *res, rz_error *err)
{
    node_store_status st;
    bundle_header h;
    bundle_writer w;
    mpk_writer hw;
    char tmp[BUNDLE_PATH_MAX];
    uint64_t nb = 0;
    FILE *f = NULL;
    int fd, rc;

    memset(res, 0, sizeof *res);
    memset(&w, 0, sizeof w);
    mpk_w_init(&hw);
    if ((rc = node_store_get_status(ns, &st, err)))
        goto out;
    if (!st.has_server_pk) {
        rc = rz_fail(err, RZ_E_CONFIG,
                     "no server key configured: a bundle is sealed to it (rozgar-node config "
                     "server-key=HEX)");
        goto out;
    }
    if (st.acked_seq >= st.head_seq) {
        rc = rz_fail(err, RZ_E_NOTFOUND,
                     "nothing to export: the server has acknowledged all %llu entries",
                     (unsigned long long)st.head_seq);
        goto out;
    }
    if ((rc = bundle_each_batch(ns, st.acked_seq + 1, st.head_seq, bundle_count, &nb, err)))
        goto out;
    memcpy(h.node_id, st.node_id, RZ_NODE_ID_BYTES);
    h.made_ms = hlc_wall_ms();
    h.epoch = st.epoch;
    h.first_seq = st.acked_seq + 1;
    h.last_seq = st.head_seq;
    h.nbatches = (uint32_t)nb;
    bundle_header_encode(&hw, &h);
    if (hw.rc) {
        rc = rz_fail(err, hw.rc, "cannot encode the bundle header");
        goto out;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        rc = rz_fail(err, RZ_E_ARG, "path too long");
        goto out;
    }
    /* Personal values inside: owner-only from the first byte. */
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        fchmod(fd, 0600) != 0 || !(f = fdopen(fd, "wb"))) {
        rc = rz_fail(err, RZ_E_IO, "%s: %s", tmp, strerror(errno));
        if (fd >= 0 && !f)
            close(fd);
        goto out;
    }
    if ((rc = bundle_writer_init(&w, f, st.server_pk, err)) ||
        (rc = bundle_write_chunk(&w, (const uint8_t *)hw.sb.data, hw.sb.size, err)) ||
        (rc = bundle_each_batch(ns, h.first_seq, h.last_seq, bundle_write, &w, err)))
        goto out;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = rz_fail(err, RZ_E_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fclose(f);
    f = NULL;
    if (rename(tmp, path) != 0) {
        rc = rz_fail(err, RZ_E_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    res->first_seq = h.first_seq;
    res->last_seq = h.last_seq;
    res->batches = nb;
    res->pending = st.pending;
out:
    if (f) {
        fclose(f);
        unlink(tmp);
    }
    bundle_writer_free(&w);
    mpk_w_free(&hw);
    return rc;
}

int
node_bundle_receipts(node_store *ns, const char *path, node_bundle_result *res, rz_error *err)
{
    node_store_status st, after;
    uint8_t *buf = xmalloc(RZ_RECEIPTS_MAX_BYTES + 1), node_id[RZ_NODE_ID_BYTES];
    uint8_t ours[RZ_HASH_BYTES];
    bundle_receipt *r = xcalloc(RZ_RECEIPTS_MAX, sizeof *r);
    node_receipt nr;
    size_t len = 0, n = 0, i;
    int rc;

    memset(res, 0, sizeof *res);
    if ((rc = file_read_small(path, buf, RZ_RECEIPTS_MAX_BYTES + 1, &len, err)))
        goto out;
    if (len > RZ_RECEIPTS_MAX_BYTES) {
        rc = rz_fail(err, RZ_E_TOOBIG, "%s is larger than a receipt file can be", path);
        goto out;
    }
    if ((rc = bundle_receipts_decode(buf, len, node_id, r, RZ_RECEIPTS_MAX, &n, err)) ||
        (rc = node_store_get_status(ns, &st, err)))
        goto out;
    if (sodium_memcmp(node_id, st.node_id, RZ_NODE_ID_BYTES) != 0) {
        rc = rz_fail(err, RZ_E_AUTH, "these receipts are for another node");
        goto out;
    }
    if (!st.has_server_pk) {
        rc = rz_fail(err, RZ_E_CONFIG, "no server key configured to check the receipts with");
        goto out;
    }
    /* Everything is checked before anything is stored. */
    for (i = 0; i < n; i++) {
        if (receipt_verify(r[i].sig, st.server_pk, st.node_id, r[i].epoch, r[i].first_seq,
                           r[i].last_seq, r[i].head, r[i].server_ms) != 0) {
            rc = rz_fail(err, RZ_E_SIGNATURE,
                         "receipt %zu does not verify with the configured server key; nothing "
                         "stored",
                         i + 1);
            goto out;
        }
        rc = node_store_hash_at(ns, r[i].last_seq, ours, err);
        if (rc == RZ_E_NOTFOUND ||
            (rc == 0 && (r[i].epoch != st.epoch || sodium_memcmp(ours, r[i].head, RZ_HASH_BYTES))))
            rc = rz_fail(err, RZ_E_SIGNATURE,
                         "receipt %zu (seq %llu..%llu, epoch %u) is for entries this log does "
                         "not hold; nothing stored",
                         i + 1, (unsigned long long)r[i].first_seq,
                         (unsigned long long)r[i].last_seq, r[i].epoch);
        if (rc)
            goto out;
    }
    if ((rc = node_store_begin(ns, err)))
        goto out;
    for (i = 0; i < n && rc == 0; i++) {
        nr.epoch = r[i].epoch;
        nr.first_seq = r[i].first_seq;
        nr.last_seq = r[i].last_seq;
        memcpy(nr.head, r[i].head, RZ_HASH_BYTES);
        nr.server_ms = r[i].server_ms;
        memcpy(nr.sig, r[i].sig, RZ_SIG_BYTES);
        rc = node_store_record_receipt(ns, &nr, hlc_wall_ms(), err);
        if (res->first_seq == 0 || nr.first_seq < res->first_seq)
            res->first_seq = nr.first_seq;
        if (nr.last_seq > res->last_seq)
            res->last_seq = nr.last_seq;
    }
    if (rc) {
        node_store_rollback(ns);
        goto out;
    }
    if ((rc = node_store_commit(ns, err)) || (rc = node_store_get_status(ns, &after, err)))
        goto out;
    res->batches = n;
    res->newly_acked = after.acked_seq - st.acked_seq;
    res->pending = after.pending;
out:
    free(buf);
    free(r);
    return rc;
}
