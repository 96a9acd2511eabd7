/*
 * bundle: sealed chunks, the header and the receipt file; see bundle.h and
 * PROTOCOL.md §11.
 *
 *   bundle  = "RZB1" *( len:be32 sealed:len )
 *   sealed  = crypto_box_seal(plain, server X25519 key); len <= 1 MiB + 48
 *   chunk 0 = [0x525A, 1, 16, node_id:bin8, made_ms, epoch, first_seq,
 *              last_seq, nbatches]
 *   chunk i = BATCH message (i = 1..nbatches)
 *   receipts = "RZR1" [0x525A, 1, 17, node_id:bin8,
 *                      [[epoch, first_seq, last_seq, head:bin32, server_ms,
 *                        receipt:bin64] ...]]
 */
#include "proto/bundle.h"

#include <string.h>

#include "common/util.h"

static const mpk_limits bundle_header_limits = {2, 16, 32, 64, 0, NULL};
static const mpk_limits bundle_receipts_limits = {
    3, RZ_RECEIPTS_MAX, 8 * RZ_RECEIPTS_MAX + 32, 64, 0, NULL};

int
bundle_writer_init(bundle_writer *w, FILE *f, const uint8_t server_pk[RZ_PK_BYTES], rz_error *err)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    if (crypto_sign_ed25519_pk_to_curve25519(w->x_pk, server_pk) != 0)
        return w->rc = rz_fail(err, RZ_E_CONFIG, "the server key is not usable for sealing");
    w->sealed = xmalloc(RZ_BUNDLE_MAX_CHUNK);
    if (fwrite(RZ_BUNDLE_MAGIC, 1, RZ_BUNDLE_MAGIC_LEN, f) != RZ_BUNDLE_MAGIC_LEN)
        return w->rc = rz_fail(err, RZ_E_IO, "cannot write the bundle");
    return 0;
}

int
bundle_write_chunk(bundle_writer *w, const uint8_t *plain, size_t len, rz_error *err)
{
    uint8_t be[4];
    size_t n = len + crypto_box_SEALBYTES;
    if (w->rc)
        return w->rc;
    if (len == 0 || len > RZ_MAX_FRAME)
        return w->rc = rz_fail(err, RZ_E_TOOBIG, "chunk of %zu bytes", len);
    if (crypto_box_seal(w->sealed, plain, len, w->x_pk) != 0)
        return w->rc = rz_fail(err, RZ_E_INTERNAL, "sealing failed");
    be[0] = (uint8_t)(n >> 24), be[1] = (uint8_t)(n >> 16), be[2] = (uint8_t)(n >> 8),
    be[3] = (uint8_t)n;
    if (fwrite(be, 1, 4, w->f) != 4 || fwrite(w->sealed, 1, n, w->f) != n)
        return w->rc = rz_fail(err, RZ_E_IO, "cannot write the bundle");
    return 0;
}

void
bundle_writer_free(bundle_writer *w)
{
    free(w->sealed);
    w->sealed = NULL;
}

int
bundle_reader_init(bundle_reader *r, FILE *f, const rz_identity *server, rz_error *err)
{
    char magic[RZ_BUNDLE_MAGIC_LEN];
    memset(r, 0, sizeof *r);
    r->f = f;
    if (crypto_sign_ed25519_pk_to_curve25519(r->x_pk, server->pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(r->x_sk, server->sk) != 0)
        return rz_fail(err, RZ_E_INTERNAL, "cannot derive the unsealing key");
    r->sealed = xmalloc(RZ_BUNDLE_MAX_CHUNK);
    r->plain = xmalloc(RZ_BUNDLE_MAX_CHUNK);
    if (fread(magic, 1, sizeof magic, f) != sizeof magic ||
        memcmp(magic, RZ_BUNDLE_MAGIC, sizeof magic) != 0)
        return rz_fail(err, RZ_E_DECODE, "not a bundle (no RZB1 magic)");
    return 0;
}

int
bundle_read_chunk(bundle_reader *r, rz_error *err)
{
    uint8_t be[4];
    size_t got = fread(be, 1, 4, r->f), n;
    if (got == 0 && feof(r->f))
        return 0;
    if (got != 4)
        return rz_fail(err, RZ_E_DECODE, "truncated: chunk %lu has no complete length",
                       r->chunk + 1);
    n = (size_t)be[0] << 24 | (size_t)be[1] << 16 | (size_t)be[2] << 8 | be[3];
    if (n <= crypto_box_SEALBYTES || n > RZ_BUNDLE_MAX_CHUNK)
        return rz_fail(err, RZ_E_TOOBIG, "chunk %lu declares %zu bytes (limit %d)", r->chunk + 1, n,
                       RZ_BUNDLE_MAX_CHUNK);
    if (fread(r->sealed, 1, n, r->f) != n)
        return rz_fail(err, RZ_E_DECODE, "truncated: chunk %lu is cut short", r->chunk + 1);
    if (crypto_box_seal_open(r->plain, r->sealed, n, r->x_pk, r->x_sk) != 0)
        return rz_fail(err, RZ_E_SIGNATURE,
                       "chunk %lu does not open: altered, or sealed to another server",
                       r->chunk + 1);
    r->plain_len = n - crypto_box_SEALBYTES;
    r->chunk++;
    return 1;
}

void
bundle_reader_free(bundle_reader *r)
{
    sodium_memzero(r->x_sk, sizeof r->x_sk);
    free(r->sealed);
    free(r->plain);
    r->sealed = r->plain = NULL;
}

static void
bundle_w_head(mpk_writer *w, size_t n, unsigned type)
{
    mpk_w_array(w, n);
    mpk_w_uint(w, RZ_WIRE_SIGNATURE);
    mpk_w_uint(w, RZ_PROTO_VERSION);
    mpk_w_uint(w, type);
}

void
bundle_header_encode(mpk_writer *w, const bundle_header *h)
{
    bundle_w_head(w, 9, RZ_MSG_BUNDLE);
    mpk_w_bin(w, h->node_id, RZ_NODE_ID_BYTES);
    mpk_w_uint(w, h->made_ms);
    mpk_w_uint(w, h->epoch);
    mpk_w_uint(w, h->first_seq);
    mpk_w_uint(w, h->last_seq);
    mpk_w_uint(w, h->nbatches);
}

/* Checks [0x525A, version, type, ...] of n elements; items in *a. */
static int
bundle_check_head(const msgpack_object *root, size_t n, unsigned type, const msgpack_object **a,
                  rz_error *err)
{
    uint64_t sig, ver, t;
    size_t count;
    if (mpk_array(root, 0, a, &count) || count < 3 || mpk_uint(&(*a)[0], &sig) ||
        sig != RZ_WIRE_SIGNATURE || mpk_uint(&(*a)[1], &ver) || mpk_uint(&(*a)[2], &t))
        return rz_fail(err, RZ_E_DECODE, "not an RZ message");
    if (ver != RZ_PROTO_VERSION)
        return rz_fail(err, RZ_E_VERSION, "version %llu not supported", (unsigned long long)ver);
    if (t != type)
        return rz_fail(err, RZ_E_MSGTYPE, "message type %llu, expected %u", (unsigned long long)t,
                       type);
    if (count != n)
        return rz_fail(err, RZ_E_DECODE, "%zu elements, expected %zu", count, n);
    return 0;
}

int
bundle_header_decode(const uint8_t *buf, size_t len, bundle_header *h, rz_error *err)
{
    msgpack_zone z;
    msgpack_object root;
    const msgpack_object *a;
    const uint8_t *id;
    size_t idlen;
    uint64_t epoch, nb;
    int rc;
    memset(h, 0, sizeof *h);
    msgpack_zone_init(&z, 256);
    if ((rc = mpk_unpack(buf, len, &bundle_header_limits, &z, &root, err)) ||
        (rc = bundle_check_head(&root, 9, RZ_MSG_BUNDLE, &a, err)))
        goto out;
    if (mpk_bin(&a[3], RZ_NODE_ID_BYTES, &id, &idlen) || mpk_uint(&a[4], &h->made_ms) ||
        mpk_uint(&a[5], &epoch) || mpk_uint(&a[6], &h->first_seq) ||
        mpk_uint(&a[7], &h->last_seq) || mpk_uint(&a[8], &nb)) {
        rc = rz_fail(err, RZ_E_DECODE, "bundle header fields malformed");
        goto out;
    }
    if (epoch > UINT32_MAX || h->first_seq == 0 || h->last_seq < h->first_seq) {
        rc = rz_fail(err, RZ_E_DECODE, "bundle header ranges malformed");
        goto out;
    }
    if (nb == 0 || nb > RZ_BUNDLE_MAX_BATCHES) {
        rc = rz_fail(err, RZ_E_TOOBIG, "bundle declares %llu batches (1..%d)",
                     (unsigned long long)nb, RZ_BUNDLE_MAX_BATCHES);
        goto out;
    }
    memcpy(h->node_id, id, RZ_NODE_ID_BYTES);
    h->epoch = (uint32_t)epoch;
    h->nbatches = (uint32_t)nb;
out:
    msgpack_zone_destroy(&z);
    return rc;
}

void
bundle_receipts_encode(mpk_writer *w, const uint8_t node_id[RZ_NODE_ID_BYTES],
                       const bundle_receipt *r, size_t n)
{
    size_t i;
    mpk_w_raw(w, RZ_RECEIPTS_MAGIC, RZ_BUNDLE_MAGIC_LEN);
    bundle_w_head(w, 5, RZ_MSG_RECEIPTS);
    mpk_w_bin(w, node_id, RZ_NODE_ID_BYTES);
    mpk_w_array(w, n);
    for (i = 0; i < n; i++) {
        mpk_w_array(w, 6);
        mpk_w_uint(w, r[i].epoch);
        mpk_w_uint(w, r[i].first_seq);
        mpk_w_uint(w, r[i].last_seq);
        mpk_w_bin(w, r[i].head, RZ_HASH_BYTES);
        mpk_w_uint(w, r[i].server_ms);
        mpk_w_bin(w, r[i].sig, RZ_SIG_BYTES);
    }
}

int
bundle_receipts_decode(const uint8_t *buf, size_t len, uint8_t node_id[RZ_NODE_ID_BYTES],
                       bundle_receipt *r, size_t max, size_t *n, rz_error *err)
{
    msgpack_zone z;
    msgpack_object root;
    const msgpack_object *a, *list, *f;
    const uint8_t *p;
    size_t plen, count, i, fc;
    uint64_t epoch;
    int rc;
    *n = 0;
    if (len < RZ_BUNDLE_MAGIC_LEN || memcmp(buf, RZ_RECEIPTS_MAGIC, RZ_BUNDLE_MAGIC_LEN) != 0)
        return rz_fail(err, RZ_E_DECODE, "not a receipt file (no RZR1 magic)");
    msgpack_zone_init(&z, 4096);
    if ((rc = mpk_unpack(buf + RZ_BUNDLE_MAGIC_LEN, len - RZ_BUNDLE_MAGIC_LEN,
                         &bundle_receipts_limits, &z, &root, err)) ||
        (rc = bundle_check_head(&root, 5, RZ_MSG_RECEIPTS, &a, err)))
        goto out;
    if (mpk_bin(&a[3], RZ_NODE_ID_BYTES, &p, &plen) || mpk_array(&a[4], 0, &list, &count)) {
        rc = rz_fail(err, RZ_E_DECODE, "receipt file fields malformed");
        goto out;
    }
    memcpy(node_id, p, RZ_NODE_ID_BYTES);
    if (count > max) {
        rc = rz_fail(err, RZ_E_TOOBIG, "%zu receipts (limit %zu)", count, max);
        goto out;
    }
    for (i = 0; i < count; i++) {
        bundle_receipt *x = &r[i];
        const uint8_t *head, *sig;
        size_t hl, sl;
        if (mpk_array(&list[i], 6, &f, &fc) || mpk_uint(&f[0], &epoch) || epoch > UINT32_MAX ||
            mpk_uint(&f[1], &x->first_seq) || mpk_uint(&f[2], &x->last_seq) ||
            mpk_bin(&f[3], RZ_HASH_BYTES, &head, &hl) || mpk_uint(&f[4], &x->server_ms) ||
            mpk_bin(&f[5], RZ_SIG_BYTES, &sig, &sl) || x->first_seq == 0 ||
            x->last_seq < x->first_seq) {
            rc = rz_fail(err, RZ_E_DECODE, "receipt %zu malformed", i + 1);
            goto out;
        }
        x->epoch = (uint32_t)epoch;
        memcpy(x->head, head, RZ_HASH_BYTES);
        memcpy(x->sig, sig, RZ_SIG_BYTES);
    }
    *n = count;
out:
    msgpack_zone_destroy(&z);
    return rc;
}
