/*
 * fuzz_bundle: the USB bundle decoders of proto/bundle.c (PROTOCOL.md §11).
 * The first input byte picks the target:
 *   0  bundle_header_decode over the rest;
 *   1  bundle_receipts_decode over the rest;
 *   2  the rest is records [len:be16][plaintext]: each is sealed to a fixed
 *      test server key as one chunk of an in-memory bundle, which is then
 *      read back as the server's import does (header, then BATCH messages
 *      through msg_decode): this reaches the decoders behind the seal;
 *   3  the rest is a whole bundle file (framing, lengths, unopenable chunks).
 * Invariants: refusals carry a code and a NUL-terminated reason; accepted
 * headers and receipts respect the limits; a sealed chunk reads back
 * byte-identical; the reader never returns more chunks than were written.
 */
#include <string.h>

#include "proto/bundle.h"
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_SERVER_SEED ((const unsigned char *)"rozgar-sync-fuzz-server-seed!!!!") /* 32 */
#define FUZZ_MAX_CHUNKS 8

static void
check_refusal(int rc, const rz_error *err)
{
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(err->code == rc);
    FUZZ_CHECK(memchr(err->text, '\0', sizeof err->text) != NULL);
}

static void
fuzz_server(rz_identity *id)
{
    static int ready;
    static rz_identity cached;
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        crypto_sign_seed_keypair(cached.pk, cached.sk, FUZZ_SERVER_SEED);
        ready = 1;
    }
    *id = cached;
}

static void
fuzz_header(const uint8_t *d, size_t n)
{
    bundle_header h;
    rz_error err = {0, ""};
    int rc = bundle_header_decode(d, n, &h, &err);
    if (rc) {
        check_refusal(rc, &err);
        return;
    }
    FUZZ_CHECK(h.nbatches >= 1 && h.nbatches <= RZ_BUNDLE_MAX_BATCHES);
    FUZZ_CHECK(h.first_seq >= 1 && h.last_seq >= h.first_seq);
}

static void
fuzz_receipts(const uint8_t *d, size_t n)
{
    static bundle_receipt r[64];
    uint8_t node[RZ_NODE_ID_BYTES];
    rz_error err = {0, ""};
    size_t count = 0, i;
    int rc = bundle_receipts_decode(d, n, node, r, 64, &count, &err);
    if (rc) {
        check_refusal(rc, &err);
        FUZZ_CHECK(count == 0);
        return;
    }
    FUZZ_CHECK(count <= 64);
    for (i = 0; i < count; i++)
        FUZZ_CHECK(r[i].first_seq >= 1 && r[i].last_seq >= r[i].first_seq);
}

/* Reads a bundle file like the server's first pass. */
static unsigned
fuzz_read(FILE *f, const rz_identity *id, const uint8_t **plains, const size_t *lens,
          unsigned written)
{
    bundle_reader r;
    rz_error err = {0, ""};
    msgpack_zone z;
    unsigned got = 0;
    int rc;
    msgpack_zone_init(&z, 4096);
    rc = bundle_reader_init(&r, f, id, &err);
    if (rc)
        check_refusal(rc, &err);
    while (rc == 0 && (rc = bundle_read_chunk(&r, &err)) == 1) {
        bundle_header h;
        rz_msg m;
        rz_error e2 = {0, ""};
        FUZZ_CHECK(r.plain_len <= RZ_MAX_FRAME);
        if (plains) {
            FUZZ_CHECK(got < written);
            FUZZ_CHECK(r.plain_len == lens[got] && memcmp(r.plain, plains[got], lens[got]) == 0);
        }
        if (got == 0) {
            int hr = bundle_header_decode(r.plain, r.plain_len, &h, &e2);
            if (hr)
                check_refusal(hr, &e2);
        } else {
            int mr;
            msgpack_zone_clear(&z);
            mr = msg_decode(r.plain, r.plain_len, &z, &m, &e2);
            if (mr)
                check_refusal(mr, &e2);
        }
        got++;
        rc = 0;
    }
    if (rc < 0)
        check_refusal(rc, &err);
    bundle_reader_free(&r);
    msgpack_zone_destroy(&z);
    return got;
}

static void
fuzz_sealed(const uint8_t *d, size_t n, const rz_identity *id)
{
    const uint8_t *plains[FUZZ_MAX_CHUNKS];
    size_t lens[FUZZ_MAX_CHUNKS];
    unsigned k = 0;
    bundle_writer w;
    rz_error err = {0, ""};
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    if (!f)
        abort();
    if (bundle_writer_init(&w, f, id->pk, &err) != 0)
        abort();
    while (n >= 2 && k < FUZZ_MAX_CHUNKS) {
        size_t len = (size_t)d[0] << 8 | d[1];
        d += 2, n -= 2;
        if (len == 0 || len > n)
            break;
        if (bundle_write_chunk(&w, d, len, &err) != 0)
            abort();
        plains[k] = d, lens[k] = len, k++;
        d += len, n -= len;
    }
    bundle_writer_free(&w);
    fclose(f);
    f = fmemopen(buf, blen, "rb");
    if (!f)
        abort();
    FUZZ_CHECK(fuzz_read(f, id, plains, lens, k) == k);
    fclose(f);
    free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rz_identity id;
    FILE *f;
    if (size < 1)
        return 0;
    fuzz_server(&id);
    switch (data[0] % 4) {
    case 0: fuzz_header(data + 1, size - 1); break;
    case 1: fuzz_receipts(data + 1, size - 1); break;
    case 2: fuzz_sealed(data + 1, size - 1, &id); break;
    default:
        if (size - 1 == 0)
            break;
        f = fmemopen((void *)(data + 1), size - 1, "rb");
        if (!f)
            abort();
        (void)fuzz_read(f, &id, NULL, NULL, 0);
        fclose(f);
        break;
    }
    return 0;
}
