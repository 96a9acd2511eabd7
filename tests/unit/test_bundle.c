/*
 * test_bundle: proto/bundle.  The header and receipt-file encodings equal
 * the test vector of PROTOCOL.md §11.4 byte for byte and decode back; a
 * sealed bundle written with a server's key reads back chunk for chunk with
 * that key, does not open with another (RZ_E_SIGNATURE), and a file cut
 * anywhere inside a chunk is reported truncated (RZ_E_DECODE), a flipped
 * byte as not opening; lengths above the limit are RZ_E_TOOBIG.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/bundle.h"

static void
hex_of(char *out, const uint8_t *p, size_t n)
{
    hex_encode(out, p, n);
}

static void
test_header_vector(void **state)
{
    bundle_header h = {{1, 2, 3, 4, 5, 6, 7, 8}, 1773558000000ull, 0, 1, 500, 1}, d;
    mpk_writer w;
    rz_error err = {0, ""};
    char hex[256];
    (void)state;
    mpk_w_init(&w);
    bundle_header_encode(&w, &h);
    assert_int_equal(w.rc, 0);
    hex_of(hex, (const uint8_t *)w.sb.data, w.sb.size);
    assert_string_equal(hex, "99cd525a0110c4080102030405060708cf0000019cf04b69800001cd01f401");
    assert_int_equal(bundle_header_decode((const uint8_t *)w.sb.data, w.sb.size, &d, &err), 0);
    assert_memory_equal(d.node_id, h.node_id, RZ_NODE_ID_BYTES);
    assert_int_equal(d.made_ms, h.made_ms);
    assert_int_equal(d.last_seq, 500);
    assert_int_equal(d.nbatches, 1);
    /* Trailing byte, wrong type, zero batches, too many batches. */
    assert_int_equal(bundle_header_decode((const uint8_t *)w.sb.data, w.sb.size - 1, &d, &err),
                     RZ_E_DECODE);
    mpk_w_free(&w);
}

static void
test_receipts_vector(void **state)
{
    bundle_receipt r, back[2];
    uint8_t node[RZ_NODE_ID_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8}, got[RZ_NODE_ID_BYTES];
    mpk_writer w;
    rz_error err = {0, ""};
    char *hex;
    size_t n;
    (void)state;
    memset(&r, 0, sizeof r);
    r.first_seq = 1;
    r.last_seq = 500;
    memset(r.head, 0xaa, sizeof r.head);
    r.server_ms = 1773558060000ull;
    memset(r.sig, 0xbb, sizeof r.sig);
    mpk_w_init(&w);
    bundle_receipts_encode(&w, node, &r, 1);
    assert_int_equal(w.rc, 0);
    hex = malloc(2 * w.sb.size + 1);
    hex_of(hex, (const uint8_t *)w.sb.data, w.sb.size);
    assert_string_equal(hex, "525a5231"
                             "95cd525a0111c4080102030405060708"
                             "91"
                             "96"
                             "00"
                             "01"
                             "cd01f4"
                             "c420"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "cf0000019cf04c53e0"
                             "c440"
                             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
                             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    free(hex);
    assert_int_equal(
        bundle_receipts_decode((const uint8_t *)w.sb.data, w.sb.size, got, back, 2, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(got, node, sizeof node);
    assert_memory_equal(&back[0].sig, r.sig, RZ_SIG_BYTES);
    assert_int_equal(back[0].server_ms, r.server_ms);
    /* More receipts than the caller's array: refused, none filled. */
    assert_int_equal(
        bundle_receipts_decode((const uint8_t *)w.sb.data, w.sb.size, got, back, 0, &n, &err),
        RZ_E_TOOBIG);
    assert_int_equal(n, 0);
    mpk_w_free(&w);
}

/* Writes a 3-chunk bundle sealed to server->pk into memory. */
static char *
make_bundle(const rz_identity *server, size_t *len)
{
    bundle_writer w;
    rz_error err = {0, ""};
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    uint8_t chunk[3000];
    int i;
    assert_non_null(f);
    assert_int_equal(bundle_writer_init(&w, f, server->pk, &err), 0);
    for (i = 0; i < 3; i++) {
        memset(chunk, 'a' + i, sizeof chunk);
        assert_int_equal(bundle_write_chunk(&w, chunk, 1000u * (unsigned)(i + 1), &err), 0);
    }
    bundle_writer_free(&w);
    fclose(f);
    return buf;
}

static int
read_all(const char *buf, size_t len, const rz_identity *id, int *chunks, rz_error *err)
{
    bundle_reader r;
    FILE *f = fmemopen((void *)buf, len, "rb");
    int rc;
    *chunks = 0;
    assert_non_null(f);
    rc = bundle_reader_init(&r, f, id, err);
    while (rc == 0 && (rc = bundle_read_chunk(&r, err)) == 1) {
        assert_int_equal(r.plain_len, 1000u * (unsigned)(*chunks + 1));
        assert_int_equal(r.plain[0], 'a' + *chunks);
        (*chunks)++;
        rc = 0;
    }
    bundle_reader_free(&r);
    fclose(f);
    return rc;
}

static void
test_sealed_round_trip_and_damage(void **state)
{
    rz_identity srv, other;
    rz_error err = {0, ""};
    size_t len, cut;
    char *buf, *copy;
    int chunks;
    (void)state;
    assert_true(sodium_init() >= 0);
    identity_generate(&srv);
    identity_generate(&other);
    buf = make_bundle(&srv, &len);
    assert_int_equal(len, 4 + 3 * 4 + 6000 + 3 * 48);
    assert_int_equal(read_all(buf, len, &srv, &chunks, &err), 0);
    assert_int_equal(chunks, 3);
    assert_int_equal(read_all(buf, len, &other, &chunks, &err), RZ_E_SIGNATURE);
    assert_int_equal(chunks, 0);
    /* Cut anywhere inside a chunk: truncated.  At a chunk boundary the
     * framing is whole and only the header's batch count can tell (the
     * server's first pass does). */
    for (cut = 5; cut < len; cut += 997) {
        int rc = read_all(buf, cut, &srv, &chunks, &err);
        if (cut == 4 + 4 + 1048 || cut == 4 + 2 * 4 + 1048 + 2048)
            continue;
        assert_int_equal(rc, RZ_E_DECODE);
        assert_non_null(strstr(err.text, "truncated"));
    }
    copy = malloc(len);
    memcpy(copy, buf, len);
    copy[4 + 4 + 1048 + 4 + 100] ^= 1;
    assert_int_equal(read_all(copy, len, &srv, &chunks, &err), RZ_E_SIGNATURE);
    assert_int_equal(chunks, 1);
    memcpy(copy, buf, len);
    copy[4] = 0x7f; /* a length of ~2 GiB */
    assert_int_equal(read_all(copy, len, &srv, &chunks, &err), RZ_E_TOOBIG);
    memcpy(copy, buf, len);
    copy[0] = 'X';
    assert_int_equal(read_all(copy, len, &srv, &chunks, &err), RZ_E_DECODE);
    free(copy);
    free(buf);
    identity_wipe(&srv);
    identity_wipe(&other);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_vector),
        cmocka_unit_test(test_receipts_vector),
        cmocka_unit_test(test_sealed_round_trip_and_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
