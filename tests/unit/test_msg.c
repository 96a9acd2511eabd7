/*
 * test_msg: proto/msg.  Every message encodes and decodes back to the same
 * fields; the decoder refuses a wrong signature number (decode), another
 * protocol version (version), an unknown type (msgtype), wrong field counts
 * and field types, every truncation, trailing bytes, and each size limit of
 * PROTOCOL.md §4 (toobig): frame, entries per BATCH, bytes per entry, reveals
 * per BATCH, bytes per string, nesting depth.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"

static const uint8_t node_id[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static uint8_t head[32], prev[32], sig[64], salt[16];

static int
setup(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < 32; i++)
        head[i] = (uint8_t)(0xa0 + i), prev[i] = (uint8_t)(0x10 + i);
    for (i = 0; i < 64; i++)
        sig[i] = (uint8_t)(0xc0 ^ i);
    for (i = 0; i < 16; i++)
        salt[i] = (uint8_t)(0x40 + i);
    return 0;
}

/* Decodes a heap copy of exactly n bytes; the copy is freed at the end of the
 * test by the caller through *keep. */
static int
decode_copy(const void *p, size_t n, msgpack_zone *z, rz_msg *m, uint8_t **keep)
{
    rz_error err;
    int rc;
    *keep = malloc(n ? n : 1);
    assert_non_null(*keep);
    memcpy(*keep, p, n);
    memset(&err, 0, sizeof err);
    rc = msg_decode(*keep, n, z, m, &err);
    if (rc != 0) {
        assert_int_equal(err.code, rc);
        assert_true(err.text[0] != '\0');
    }
    return rc;
}

/* Return code of decoding w's bytes. */
static int
decode_rc(const mpk_writer *w)
{
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy;
    int rc;
    assert_int_equal(w->rc, 0);
    msgpack_zone_init(&z, 4096);
    rc = decode_copy(w->sb.data, w->sb.size, &z, &m, &copy);
    free(copy);
    msgpack_zone_destroy(&z);
    return rc;
}

/* Three entry-like byte strings: the message codec does not look inside. */
static const uint8_t ent0[] = {0x96, 0x01, 0x02};
static const uint8_t ent1[] = {0xaa};
static uint8_t ent2[300];

static void
build_batch(mpk_writer *w)
{
    memset(ent2, 0x5a, sizeof ent2);
    msg_encode_batch_begin(w, node_id, 7, 41, prev, 3);
    mpk_w_bin(w, ent0, sizeof ent0);
    mpk_w_bin(w, ent1, sizeof ent1);
    mpk_w_bin(w, ent2, sizeof ent2);
    msg_encode_batch_reveals(w, 2);
    msg_encode_reveal(w, 0, 1, salt, "3520212345671", 13);
    msg_encode_reveal(w, 2, 3, salt, "", 0);
    msg_encode_batch_end(w, sig);
    assert_int_equal(w->rc, 0);
}

/* One valid message of each type, in w. */
static void
build_valid(mpk_writer *w, int type)
{
    mpk_w_reset(w);
    switch (type) {
    case RZ_MSG_HELLO: msg_encode_hello(w, node_id); break;
    case RZ_MSG_WELCOME: msg_encode_welcome(w, 1773568802500ull, 3, 41, head, 1); break;
    case RZ_MSG_BATCH: build_batch(w); break;
    case RZ_MSG_ACK: msg_encode_ack(w, 1773568803000ull, 7, 41, 43, head, sig, 2); break;
    case RZ_MSG_ERROR: msg_encode_error(w, 1773568803000ull, RZ_E_FORK, "fork at 12"); break;
    default: fail();
    }
    assert_int_equal(w->rc, 0);
}

typedef void (*elem_fn)(mpk_writer *w);

/* Re-packs the top-level array of src with `delta` elements more or fewer
 * (extra ones are nil) and element `idx` (if idx >= 0) written by repl. */
static void
repack(mpk_writer *dst, const mpk_writer *src, int delta, int idx, elem_fn repl)
{
    msgpack_zone z;
    msgpack_object root;
    size_t off = 0, n, i, keep;
    msgpack_zone_init(&z, 4096);
    assert_int_equal(msgpack_unpack(src->sb.data, src->sb.size, &off, &z, &root),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(root.type, MSGPACK_OBJECT_ARRAY);
    n = root.via.array.size;
    keep = delta < 0 ? n - (size_t)-delta : n;
    mpk_w_reset(dst);
    mpk_w_array(dst, keep + (delta > 0 ? (size_t)delta : 0));
    for (i = 0; i < keep; i++) {
        if ((int)i == idx)
            repl(dst);
        else
            assert_int_equal(msgpack_pack_object(&dst->pk, root.via.array.ptr[i]), 0);
    }
    for (i = 0; delta > 0 && i < (size_t)delta; i++)
        mpk_w_nil(dst);
    msgpack_zone_destroy(&z);
}

static void
test_hello_round_trip(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    build_valid(&w, RZ_MSG_HELLO);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    assert_int_equal(m.type, RZ_MSG_HELLO);
    assert_int_equal(m.version, RZ_PROTO_VERSION);
    assert_memory_equal(m.node_id, node_id, 8);
    assert_int_equal(m.schema_max, RZ_SCHEMA_MAX);
    free(copy);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
test_welcome_round_trip(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy;
    int q;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    for (q = 0; q <= 1; q++) {
        mpk_w_reset(&w);
        msg_encode_welcome(&w, UINT64_MAX - q, UINT32_MAX - (uint32_t)q, 41 + (uint64_t)q, head, q);
        assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
        assert_int_equal(m.type, RZ_MSG_WELCOME);
        assert_int_equal(m.server_ms, UINT64_MAX - q);
        assert_int_equal(m.epoch, UINT32_MAX - (uint32_t)q);
        assert_int_equal(m.head_seq, 41 + q);
        assert_memory_equal(m.head, head, 32);
        assert_int_equal(m.quarantined, q);
        free(copy);
    }
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
test_batch_round_trip(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    build_valid(&w, RZ_MSG_BATCH);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    assert_int_equal(m.type, RZ_MSG_BATCH);
    assert_memory_equal(m.node_id, node_id, 8);
    assert_int_equal(m.epoch, 7);
    assert_int_equal(m.first_seq, 41);
    assert_memory_equal(m.prev, prev, 32);
    assert_int_equal(m.nentries, 3);
    assert_int_equal(m.entry_len[0], sizeof ent0);
    assert_memory_equal(m.entry[0], ent0, sizeof ent0);
    assert_int_equal(m.entry_len[1], sizeof ent1);
    assert_memory_equal(m.entry[1], ent1, sizeof ent1);
    assert_int_equal(m.entry_len[2], sizeof ent2);
    assert_memory_equal(m.entry[2], ent2, sizeof ent2);
    assert_int_equal(m.nreveals, 2);
    assert_int_equal(m.reveals[0].index, 0);
    assert_int_equal(m.reveals[0].field, 1);
    assert_memory_equal(m.reveals[0].salt, salt, 16);
    assert_int_equal(m.reveals[0].len, 13);
    assert_memory_equal(m.reveals[0].value, "3520212345671", 13);
    assert_int_equal(m.reveals[1].index, 2);
    assert_int_equal(m.reveals[1].field, 3);
    assert_int_equal(m.reveals[1].len, 0);
    assert_memory_equal(m.sig, sig, 64);
    free(copy);

    /* without reveals */
    mpk_w_reset(&w);
    msg_encode_batch_begin(&w, node_id, 0, 1, prev, 1);
    mpk_w_bin(&w, ent0, sizeof ent0);
    msg_encode_batch_reveals(&w, 0);
    msg_encode_batch_end(&w, sig);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    assert_int_equal(m.nentries, 1);
    assert_int_equal(m.nreveals, 0);
    free(copy);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
test_ack_round_trip(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    build_valid(&w, RZ_MSG_ACK);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    assert_int_equal(m.type, RZ_MSG_ACK);
    assert_int_equal(m.server_ms, 1773568803000ull);
    assert_int_equal(m.epoch, 7);
    assert_int_equal(m.first_seq, 41);
    assert_int_equal(m.last_seq, 43);
    assert_memory_equal(m.head, head, 32);
    assert_memory_equal(m.sig, sig, 64);
    assert_int_equal(m.applied, 2);
    free(copy);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
test_error_round_trip(void **state)
{
    static const int codes[] = {RZ_E_DECODE, RZ_E_TOOBIG,     RZ_E_VERSION, RZ_E_MSGTYPE,
                                RZ_E_AUTH,   RZ_E_SIGNATURE,  RZ_E_CHAIN,   RZ_E_FORK,
                                RZ_E_EPOCH,  RZ_E_QUARANTINE, RZ_E_BUSY,    RZ_E_PII};
    char longtext[400];
    mpk_writer w;
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy;
    size_t i;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 1024);
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        mpk_w_reset(&w);
        msg_encode_error(&w, 5, codes[i], rz_err_name(codes[i]));
        assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
        assert_int_equal(m.type, RZ_MSG_ERROR);
        assert_int_equal(m.server_ms, 5);
        assert_int_equal(m.code, codes[i]);
        assert_string_equal(m.text, rz_err_name(codes[i]));
        free(copy);
    }
    /* a long reason is cut to what rz_msg can hold, still NUL-terminated */
    memset(longtext, 'r', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    mpk_w_reset(&w);
    msg_encode_error(&w, 5, RZ_E_BUSY, longtext);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    assert_int_equal(strlen(m.text), RZ_ERROR_TEXT - 1);
    free(copy);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
w_sig_other(mpk_writer *w)
{
    mpk_w_uint(w, 0x525b);
}
static void
w_str_rz(mpk_writer *w)
{
    mpk_w_str(w, "RZ", 2);
}
static void
w_version2(mpk_writer *w)
{
    mpk_w_uint(w, 2);
}
static void
w_version0(mpk_writer *w)
{
    mpk_w_uint(w, 0);
}
static void
w_type0(mpk_writer *w)
{
    mpk_w_uint(w, 0);
}
static void
w_type6(mpk_writer *w)
{
    mpk_w_uint(w, 7); /* 6 is FORK_REPORT; 7 is the first unused id */
}
static void
w_type255(mpk_writer *w)
{
    mpk_w_uint(w, 255);
}
static void
w_type256(mpk_writer *w)
{
    mpk_w_uint(w, 256 + RZ_MSG_HELLO);
}
static void
w_neg(mpk_writer *w)
{
    mpk_w_int(w, -1);
}

static void
test_refuses_wrong_signature_number(void **state)
{
    mpk_writer v, w;
    int t;
    (void)state;
    mpk_w_init(&v);
    mpk_w_init(&w);
    for (t = RZ_MSG_HELLO; t <= RZ_MSG_ERROR; t++) {
        build_valid(&v, t);
        assert_int_equal(decode_rc(&v), 0);
        repack(&w, &v, 0, 0, w_sig_other);
        assert_int_equal(decode_rc(&w), RZ_E_DECODE);
        repack(&w, &v, 0, 0, w_str_rz);
        assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    }
    mpk_w_free(&v);
    mpk_w_free(&w);
}

static void
test_refuses_other_version(void **state)
{
    mpk_writer v, w;
    int t;
    (void)state;
    mpk_w_init(&v);
    mpk_w_init(&w);
    for (t = RZ_MSG_HELLO; t <= RZ_MSG_ERROR; t++) {
        build_valid(&v, t);
        repack(&w, &v, 0, 1, w_version2);
        assert_int_equal(decode_rc(&w), RZ_E_VERSION);
        repack(&w, &v, 0, 1, w_version0);
        assert_int_equal(decode_rc(&w), RZ_E_VERSION);
        repack(&w, &v, 0, 1, w_neg);
        assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    }
    /* a future version with a shape we do not know still gets "version" */
    mpk_w_reset(&w);
    mpk_w_array(&w, 3);
    mpk_w_uint(&w, RZ_WIRE_SIGNATURE), mpk_w_uint(&w, 2), mpk_w_uint(&w, 99);
    assert_int_equal(decode_rc(&w), RZ_E_VERSION);
    mpk_w_free(&v);
    mpk_w_free(&w);
}

static void
test_refuses_unknown_type(void **state)
{
    mpk_writer v, w;
    (void)state;
    mpk_w_init(&v);
    mpk_w_init(&w);
    build_valid(&v, RZ_MSG_HELLO);
    repack(&w, &v, 0, 2, w_type0);
    assert_int_equal(decode_rc(&w), RZ_E_MSGTYPE);
    repack(&w, &v, 0, 2, w_type6);
    assert_int_equal(decode_rc(&w), RZ_E_MSGTYPE);
    repack(&w, &v, 0, 2, w_type255);
    assert_int_equal(decode_rc(&w), RZ_E_MSGTYPE);
    /* 257 must not alias HELLO (1) */
    repack(&w, &v, 0, 2, w_type256);
    assert_int_equal(decode_rc(&w), RZ_E_MSGTYPE);
    repack(&w, &v, 0, 2, w_neg);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    mpk_w_free(&v);
    mpk_w_free(&w);
}

static void
test_refuses_wrong_field_counts(void **state)
{
    mpk_writer v, w;
    int t, delta;
    (void)state;
    mpk_w_init(&v);
    mpk_w_init(&w);
    for (t = RZ_MSG_HELLO; t <= RZ_MSG_ERROR; t++) {
        build_valid(&v, t);
        repack(&w, &v, 0, -1, NULL);
        assert_int_equal(decode_rc(&w), 0); /* the re-packing itself is faithful */
        assert_int_equal(w.sb.size, v.sb.size);
        for (delta = -2; delta <= 2; delta++) {
            if (delta == 0)
                continue;
            repack(&w, &v, delta, -1, NULL);
            if (decode_rc(&w) != RZ_E_DECODE)
                fail_msg("type %d with %+d fields not refused", t, delta);
        }
    }
    /* fewer than the three header elements */
    mpk_w_reset(&w);
    mpk_w_array(&w, 2);
    mpk_w_uint(&w, RZ_WIRE_SIGNATURE), mpk_w_uint(&w, RZ_PROTO_VERSION);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    mpk_w_reset(&w);
    mpk_w_array(&w, 0);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    /* not an array at all */
    mpk_w_reset(&w);
    mpk_w_map(&w, 1);
    mpk_w_uint(&w, RZ_WIRE_SIGNATURE), mpk_w_uint(&w, RZ_PROTO_VERSION);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    mpk_w_reset(&w);
    mpk_w_uint(&w, RZ_WIRE_SIGNATURE);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    mpk_w_free(&v);
    mpk_w_free(&w);
}

static void
w_bin7(mpk_writer *w)
{
    static const uint8_t b[7];
    mpk_w_bin(w, b, 7);
}
static void
w_bin9(mpk_writer *w)
{
    static const uint8_t b[9];
    mpk_w_bin(w, b, 9);
}
static void
w_bin31(mpk_writer *w)
{
    static const uint8_t b[31];
    mpk_w_bin(w, b, 31);
}
static void
w_bin63(mpk_writer *w)
{
    static const uint8_t b[63];
    mpk_w_bin(w, b, 63);
}
static void
w_str8(mpk_writer *w)
{
    mpk_w_str(w, "12345678", 8);
}
static void
w_big_epoch(mpk_writer *w)
{
    mpk_w_uint(w, (uint64_t)UINT32_MAX + 1);
}
static void
w_zero(mpk_writer *w)
{
    mpk_w_uint(w, 0);
}
static void
w_max(mpk_writer *w)
{
    mpk_w_uint(w, UINT64_MAX);
}
static void
w_one(mpk_writer *w)
{
    mpk_w_uint(w, 1);
}
static void
w_nil(mpk_writer *w)
{
    mpk_w_nil(w);
}
static void
w_code1001(mpk_writer *w)
{
    mpk_w_uint(w, 1001);
}

/* Element idx of message type t replaced by repl decodes with rc. */
static void
expect_replaced(int t, int idx, elem_fn repl, int rc)
{
    mpk_writer v, w;
    int got;
    mpk_w_init(&v);
    mpk_w_init(&w);
    build_valid(&v, t);
    repack(&w, &v, 0, idx, repl);
    got = decode_rc(&w);
    if (got != rc)
        fail_msg("type %d element %d replaced: rc %d, want %d", t, idx, got, rc);
    mpk_w_free(&v);
    mpk_w_free(&w);
}

static void
test_refuses_wrong_field_types(void **state)
{
    (void)state;
    expect_replaced(RZ_MSG_HELLO, 3, w_bin7, RZ_E_DECODE);
    expect_replaced(RZ_MSG_HELLO, 3, w_bin9, RZ_E_DECODE);
    expect_replaced(RZ_MSG_HELLO, 3, w_str8, RZ_E_DECODE);
    expect_replaced(RZ_MSG_HELLO, 4, w_neg, RZ_E_DECODE);
    expect_replaced(RZ_MSG_WELCOME, 4, w_big_epoch, RZ_E_DECODE);
    expect_replaced(RZ_MSG_WELCOME, 6, w_bin31, RZ_E_DECODE);
    expect_replaced(RZ_MSG_WELCOME, 7, w_one, RZ_E_DECODE); /* bool, not 1 */
    expect_replaced(RZ_MSG_BATCH, 3, w_bin7, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 4, w_big_epoch, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 5, w_zero, RZ_E_DECODE); /* sequences start at 1 */
    expect_replaced(RZ_MSG_BATCH, 5, w_max, RZ_E_DECODE);  /* first_seq + n overflows */
    expect_replaced(RZ_MSG_BATCH, 6, w_bin31, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 7, w_nil, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 8, w_nil, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 9, w_bin63, RZ_E_DECODE);
    expect_replaced(RZ_MSG_ACK, 4, w_big_epoch, RZ_E_DECODE);
    expect_replaced(RZ_MSG_ACK, 7, w_bin31, RZ_E_DECODE);
    expect_replaced(RZ_MSG_ACK, 8, w_bin63, RZ_E_DECODE);
    expect_replaced(RZ_MSG_ACK, 9, w_neg, RZ_E_DECODE);
    expect_replaced(RZ_MSG_ERROR, 4, w_code1001, RZ_E_DECODE);
    expect_replaced(RZ_MSG_ERROR, 5, w_bin7, RZ_E_DECODE);
    /* and the untouched slot values are accepted */
    expect_replaced(RZ_MSG_BATCH, 5, w_one, 0);
    expect_replaced(RZ_MSG_WELCOME, 4, w_zero, 0);
}

static void
test_refuses_truncation_and_trailing(void **state)
{
    mpk_writer v;
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy, *longer;
    size_t i;
    int t;
    (void)state;
    mpk_w_init(&v);
    msgpack_zone_init(&z, 4096);
    for (t = RZ_MSG_HELLO; t <= RZ_MSG_ERROR; t++) {
        build_valid(&v, t);
        for (i = 0; i < v.sb.size; i++) {
            assert_int_equal(decode_copy(v.sb.data, i, &z, &m, &copy), RZ_E_DECODE);
            free(copy);
        }
        longer = malloc(v.sb.size + 1);
        assert_non_null(longer);
        memcpy(longer, v.sb.data, v.sb.size);
        longer[v.sb.size] = 0x00;
        assert_int_equal(decode_copy(longer, v.sb.size + 1, &z, &m, &copy), RZ_E_DECODE);
        free(copy);
        free(longer);
    }
    msgpack_zone_destroy(&z);
    mpk_w_free(&v);
}

/* A BATCH of n one-byte entries and nrev reveals of value length vlen
 * pointing at reveal_index. */
static void
build_sized_batch(mpk_writer *w, size_t n, size_t entry_len, size_t nrev, uint32_t reveal_index,
                  uint32_t field, size_t vlen)
{
    static uint8_t body[RZ_MAX_ENTRY_BYTES + 2];
    static char value[RZ_MAX_STR + 2];
    size_t i;
    memset(body, 0x01, sizeof body);
    memset(value, '7', sizeof value);
    mpk_w_reset(w);
    msg_encode_batch_begin(w, node_id, 0, 1, prev, n);
    for (i = 0; i < n; i++)
        mpk_w_bin(w, body, i == 0 ? entry_len : 1);
    msg_encode_batch_reveals(w, nrev);
    for (i = 0; i < nrev; i++)
        msg_encode_reveal(w, reveal_index, (uint8_t)field, salt, value, vlen);
    msg_encode_batch_end(w, sig);
    assert_int_equal(w->rc, 0);
}

static void
test_batch_entry_count_limits(void **state)
{
    mpk_writer w;
    (void)state;
    mpk_w_init(&w);
    build_sized_batch(&w, 0, 1, 0, 0, 1, 1);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    build_sized_batch(&w, 1, 1, 0, 0, 1, 1);
    assert_int_equal(decode_rc(&w), 0);
    build_sized_batch(&w, RZ_MAX_BATCH_ENTRIES, 1, 0, 0, 1, 1);
    assert_int_equal(decode_rc(&w), 0);
    build_sized_batch(&w, RZ_MAX_BATCH_ENTRIES + 1, 1, 0, 0, 1, 1);
    assert_int_equal(decode_rc(&w), RZ_E_TOOBIG);
    build_sized_batch(&w, RZ_MAX_REVEALS + 1, 1, 0, 0, 1, 1);
    assert_int_equal(decode_rc(&w), RZ_E_TOOBIG);
    mpk_w_free(&w);
}

static void
test_batch_entry_size_limit(void **state)
{
    mpk_writer w;
    (void)state;
    mpk_w_init(&w);
    build_sized_batch(&w, 2, RZ_MAX_ENTRY_BYTES, 0, 0, 1, 1);
    assert_int_equal(decode_rc(&w), 0);
    build_sized_batch(&w, 2, RZ_MAX_ENTRY_BYTES + 1, 0, 0, 1, 1);
    assert_int_equal(decode_rc(&w), RZ_E_TOOBIG);
    mpk_w_free(&w);
}

static void
test_batch_reveal_limits(void **state)
{
    mpk_writer w;
    (void)state;
    mpk_w_init(&w);
    /* index must name an entry of this batch */
    build_sized_batch(&w, 3, 1, 1, 2, 1, 13);
    assert_int_equal(decode_rc(&w), 0);
    build_sized_batch(&w, 3, 1, 1, 3, 1, 13);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    build_sized_batch(&w, 3, 1, 1, UINT32_MAX, 1, 13);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    /* value length */
    build_sized_batch(&w, 1, 1, 1, 0, 1, RZ_MAX_STR);
    assert_int_equal(decode_rc(&w), 0);
    build_sized_batch(&w, 1, 1, 1, 0, 1, RZ_MAX_STR + 1);
    assert_int_equal(decode_rc(&w), RZ_E_TOOBIG);
    /* number of reveals */
    build_sized_batch(&w, 1, 1, RZ_MAX_REVEALS, 0, 2, 12);
    assert_int_equal(decode_rc(&w), 0);
    build_sized_batch(&w, 1, 1, RZ_MAX_REVEALS + 1, 0, 2, 12);
    assert_int_equal(decode_rc(&w), RZ_E_TOOBIG);
    mpk_w_free(&w);
}

static void
w_reveal3(mpk_writer *w)
{
    mpk_w_array(w, 1);
    mpk_w_array(w, 3);
    mpk_w_uint(w, 0), mpk_w_uint(w, 1), mpk_w_bin(w, salt, 16);
}
static void
w_reveal5(mpk_writer *w)
{
    mpk_w_array(w, 1);
    mpk_w_array(w, 5);
    mpk_w_uint(w, 0), mpk_w_uint(w, 1), mpk_w_bin(w, salt, 16), mpk_w_str(w, "a", 1);
    mpk_w_nil(w);
}
static void
w_reveal_salt15(mpk_writer *w)
{
    mpk_w_array(w, 1);
    mpk_w_array(w, 4);
    mpk_w_uint(w, 0), mpk_w_uint(w, 1), mpk_w_bin(w, salt, 15), mpk_w_str(w, "a", 1);
}
static void
w_reveal_bin_value(mpk_writer *w)
{
    mpk_w_array(w, 1);
    mpk_w_array(w, 4);
    mpk_w_uint(w, 0), mpk_w_uint(w, 1), mpk_w_bin(w, salt, 16), mpk_w_bin(w, "a", 1);
}
static void
w_reveal_field256(mpk_writer *w)
{
    mpk_w_array(w, 1);
    mpk_w_array(w, 4);
    mpk_w_uint(w, 0), mpk_w_uint(w, 256 + 1), mpk_w_bin(w, salt, 16), mpk_w_str(w, "a", 1);
}
static void
w_reveal_not_array(mpk_writer *w)
{
    mpk_w_array(w, 1);
    mpk_w_uint(w, 0);
}
static void
w_reveal_ok(mpk_writer *w)
{
    mpk_w_array(w, 1);
    msg_encode_reveal(w, 1, 2, salt, "Ayesha", 6);
}
static void
w_entry_not_bin(mpk_writer *w)
{
    mpk_w_array(w, 3);
    mpk_w_bin(w, ent0, sizeof ent0), mpk_w_str(w, "x", 1), mpk_w_bin(w, ent1, 1);
}

static void
test_batch_reveal_shapes(void **state)
{
    (void)state;
    expect_replaced(RZ_MSG_BATCH, 8, w_reveal_ok, 0);
    expect_replaced(RZ_MSG_BATCH, 8, w_reveal3, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 8, w_reveal5, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 8, w_reveal_bin_value, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 8, w_reveal_field256, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 8, w_reveal_not_array, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 8, w_reveal_salt15, RZ_E_DECODE);
    expect_replaced(RZ_MSG_BATCH, 7, w_entry_not_bin, RZ_E_DECODE);
}

static void
w_error_text(mpk_writer *w, size_t n)
{
    static char text[RZ_MAX_STR + 1];
    memset(text, 'e', sizeof text);
    mpk_w_str(w, text, n);
}
static void
w_error_512(mpk_writer *w)
{
    w_error_text(w, RZ_MAX_STR);
}
static void
w_error_513(mpk_writer *w)
{
    w_error_text(w, RZ_MAX_STR + 1);
}

static void
test_string_limit_in_error(void **state)
{
    (void)state;
    expect_replaced(RZ_MSG_ERROR, 5, w_error_512, 0);
    expect_replaced(RZ_MSG_ERROR, 5, w_error_513, RZ_E_TOOBIG);
}

/* Nesting: the protocol allows depth 4 (PROTOCOL.md §4, the top-level array
 * is depth 1).  A deeper message is too big; a depth-4 one of the wrong shape
 * is malformed. */
static void
w_nest3(mpk_writer *w)
{
    mpk_w_array(w, 1), mpk_w_array(w, 1), mpk_w_array(w, 1), mpk_w_nil(w);
}
static void
w_nest4(mpk_writer *w)
{
    mpk_w_array(w, 1), mpk_w_array(w, 1), mpk_w_array(w, 1), mpk_w_array(w, 1), mpk_w_nil(w);
}

static void
test_nesting_limit(void **state)
{
    (void)state;
    expect_replaced(RZ_MSG_HELLO, 3, w_nest3, RZ_E_DECODE); /* depth 4 */
    expect_replaced(RZ_MSG_HELLO, 3, w_nest4, RZ_E_TOOBIG); /* depth 5 */
}

static void
test_frame_limit(void **state)
{
    uint8_t *big;
    msgpack_zone z;
    rz_msg m;
    rz_error err;
    (void)state;
    big = calloc(1, (size_t)RZ_MAX_FRAME + 1);
    assert_non_null(big);
    msgpack_zone_init(&z, 1024);
    assert_int_equal(msg_decode(big, (size_t)RZ_MAX_FRAME + 1, &z, &m, &err), RZ_E_TOOBIG);
    assert_int_equal(err.code, RZ_E_TOOBIG);
    /* a frame of exactly the limit is parsed (and here refused as malformed) */
    assert_int_equal(msg_decode(big, RZ_MAX_FRAME, &z, &m, &err), RZ_E_DECODE);
    msgpack_zone_destroy(&z);
    free(big);
}

/* FORK_REPORT: round trip, signature over every field, strict decoding. */
static void
test_fork_report(void **state)
{
    rz_identity id, other;
    rz_fork_report r, bad;
    uint8_t fsig[RZ_SIG_BYTES], *keep = NULL;
    mpk_writer w;
    msgpack_zone z;
    rz_msg m;
    (void)state;
    assert_int_equal(crypto_init(), 0);
    identity_generate(&id);
    identity_generate(&other);
    memset(&r, 0, sizeof r);
    r.epoch = 3;
    r.reason = RZ_FORK_DIFFERS;
    r.seen_seq = 6;
    memcpy(r.seen_hash, head, 32);
    r.have_own = 1;
    memcpy(r.own_hash, prev, 32);
    r.head_seq = 9;
    memcpy(r.head_hash, head, 32);
    r.detected_ms = 1773558004000ull;
    msg_fork_report_sign(fsig, &id, node_id, &r);
    assert_int_equal(msg_fork_report_verify(fsig, id.pk, node_id, &r), 0);
    assert_int_equal(msg_fork_report_verify(fsig, other.pk, node_id, &r), RZ_E_SIGNATURE);
    /* Every field is covered by the signature. */
    bad = r, bad.epoch++;
    assert_int_equal(msg_fork_report_verify(fsig, id.pk, node_id, &bad), RZ_E_SIGNATURE);
    bad = r, bad.reason = RZ_FORK_SERVER_AHEAD;
    assert_int_equal(msg_fork_report_verify(fsig, id.pk, node_id, &bad), RZ_E_SIGNATURE);
    bad = r, bad.seen_seq++;
    assert_int_equal(msg_fork_report_verify(fsig, id.pk, node_id, &bad), RZ_E_SIGNATURE);
    bad = r, bad.own_hash[31] ^= 1;
    assert_int_equal(msg_fork_report_verify(fsig, id.pk, node_id, &bad), RZ_E_SIGNATURE);
    bad = r, bad.have_own = 0;
    assert_int_equal(msg_fork_report_verify(fsig, id.pk, node_id, &bad), RZ_E_SIGNATURE);
    bad = r, bad.head_hash[0] ^= 1;
    assert_int_equal(msg_fork_report_verify(fsig, id.pk, node_id, &bad), RZ_E_SIGNATURE);
    bad = r, bad.detected_ms++;
    assert_int_equal(msg_fork_report_verify(fsig, id.pk, node_id, &bad), RZ_E_SIGNATURE);

    mpk_w_init(&w);
    msgpack_zone_init(&z, 4096);
    msg_encode_fork_report(&w, node_id, &r, fsig);
    assert_int_equal(w.rc, 0);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &keep), 0);
    free(keep);
    assert_int_equal(m.type, RZ_MSG_FORK_REPORT);
    assert_memory_equal(m.node_id, node_id, 8);
    assert_int_equal(m.fork.epoch, 3);
    assert_int_equal(m.fork.reason, RZ_FORK_DIFFERS);
    assert_int_equal(m.fork.seen_seq, 6);
    assert_true(m.fork.have_own);
    assert_memory_equal(m.fork.own_hash, prev, 32);
    assert_int_equal(m.fork.head_seq, 9);
    assert_int_equal(m.fork.detected_ms, 1773558004000ull);
    assert_int_equal(msg_fork_report_verify(m.sig, id.pk, m.node_id, &m.fork), 0);
    /* No own entry: nil on the wire. */
    r.have_own = 0, r.reason = RZ_FORK_SERVER_AHEAD;
    mpk_w_reset(&w);
    msg_encode_fork_report(&w, node_id, &r, fsig);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &keep), 0);
    free(keep);
    assert_false(m.fork.have_own);
    /* An unknown reason, a wrong field count: decode. */
    r.reason = 3;
    mpk_w_reset(&w);
    msg_encode_fork_report(&w, node_id, &r, fsig);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    mpk_w_reset(&w);
    mpk_w_array(&w, 4);
    mpk_w_uint(&w, RZ_WIRE_SIGNATURE);
    mpk_w_uint(&w, RZ_PROTO_VERSION);
    mpk_w_uint(&w, RZ_MSG_FORK_REPORT);
    mpk_w_bin(&w, node_id, 8);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
    identity_wipe(&id);
    identity_wipe(&other);
}

/* ---- recovery (PROTOCOL §12): FETCH, CHUNK, FETCH_DONE, FETCH_CLOSED ---- */

static const uint8_t old_id[8] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};

/* A CHUNK of n entries (ent1) from first_seq 5 of a log ending at head_seq,
 * nkeys keys, values on entry 0 (fields 1..nv, the last one erased) and a
 * signature at the chunk's last entry. */
static void
build_chunk(mpk_writer *w, size_t nkeys, size_t n, uint64_t head_seq, int final, size_t nv,
            size_t vlen)
{
    static char val[1024];
    size_t i;
    memset(val, 'v', sizeof val);
    mpk_w_reset(w);
    msg_encode_chunk_begin(w, 1773568803000ull, old_id, head_seq, head, nkeys);
    for (i = 0; i < nkeys; i++)
        msg_encode_chunk_key(w, 1 + 100 * i, head);
    msg_encode_chunk_entries(w, 2, 5, final, n);
    for (i = 0; i < n; i++)
        mpk_w_bin(w, ent1, sizeof ent1);
    msg_encode_batch_reveals(w, nv);
    for (i = 0; i < nv; i++)
        msg_encode_chunk_value(w, 0, (uint8_t)(i + 1), i + 1 == nv ? NULL : salt,
                               i + 1 == nv ? NULL : val, vlen);
    msg_encode_chunk_sigs(w, n ? 1 : 0);
    if (n)
        msg_encode_chunk_sig(w, 5 + n - 1, sig);
    assert_int_equal(w->rc, 0);
}

static void
test_fetch_round_trip(void **state)
{
    /* PROTOCOL §12.6 vectors. */
    static const uint8_t fetch_vec[] = {0x96, 0xcd, 0x52, 0x5a, 0x01, 0x20, 0xc4, 0x08, 1,
                                        2,    3,    4,    5,    6,    7,    8,    0xc4, 0x08,
                                        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x01};
    mpk_writer w;
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 4096);
    msg_encode_fetch(&w, node_id, old_id, 1);
    assert_int_equal(w.sb.size, sizeof fetch_vec);
    assert_memory_equal(w.sb.data, fetch_vec, sizeof fetch_vec);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    free(copy);
    assert_int_equal(m.type, RZ_MSG_FETCH);
    assert_memory_equal(m.node_id, node_id, 8);
    assert_memory_equal(m.old_id, old_id, 8);
    assert_int_equal(m.first_seq, 1);
    /* from_seq 0 and a wrong field count: decode */
    mpk_w_reset(&w);
    msg_encode_fetch(&w, node_id, old_id, 0);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    mpk_w_reset(&w);
    msg_encode_fetch(&w, node_id, old_id, 9);
    w.sb.data[0] = (char)0x95; /* 5 elements declared, 6 present: trailing bytes */
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);

    mpk_w_reset(&w);
    msg_encode_fetch_done(&w, node_id, old_id, 42, head);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    free(copy);
    assert_int_equal(m.type, RZ_MSG_FETCH_DONE);
    assert_memory_equal(m.old_id, old_id, 8);
    assert_int_equal(m.head_seq, 42);
    assert_memory_equal(m.head, head, 32);

    mpk_w_reset(&w);
    msg_encode_fetch_closed(&w, 1773568803000ull, old_id, 42);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    free(copy);
    assert_int_equal(m.type, RZ_MSG_FETCH_CLOSED);
    assert_int_equal(m.server_ms, 1773568803000ull);
    assert_memory_equal(m.old_id, old_id, 8);
    assert_int_equal(m.head_seq, 42);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
test_chunk_round_trip(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    rz_msg m;
    uint8_t *copy;
    (void)state;
    mpk_w_init(&w);
    msgpack_zone_init(&z, 4096);
    build_chunk(&w, 2, 3, 7, 1, 3, 13);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    assert_int_equal(m.type, RZ_MSG_CHUNK);
    assert_memory_equal(m.old_id, old_id, 8);
    assert_int_equal(m.head_seq, 7);
    assert_memory_equal(m.head, head, 32);
    assert_int_equal(m.nkeys, 2);
    assert_int_equal(m.keys[1].from_seq, 101);
    assert_memory_equal(m.keys[0].pk, head, 32);
    assert_int_equal(m.epoch, 2);
    assert_int_equal(m.first_seq, 5);
    assert_true(m.final);
    assert_int_equal(m.nentries, 3);
    assert_memory_equal(m.entry[2], ent1, sizeof ent1);
    assert_int_equal(m.nreveals, 3);
    assert_int_equal(m.reveals[0].field, 1);
    assert_memory_equal(m.reveals[0].salt, salt, 16);
    assert_int_equal(m.reveals[0].len, 13);
    assert_null(m.reveals[2].salt); /* erased: said so */
    assert_null(m.reveals[2].value);
    assert_int_equal(m.nsigs, 1);
    assert_int_equal(m.sigs[0].last_seq, 7);
    assert_memory_equal(m.sigs[0].sig, sig, 64);
    free(copy);
    /* The empty final chunk: a log already fetched to its head (or empty). */
    build_chunk(&w, 1, 0, 4, 1, 0, 0);
    assert_int_equal(decode_copy(w.sb.data, w.sb.size, &z, &m, &copy), 0);
    assert_int_equal(m.nentries, 0);
    free(copy);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

/* Every count and length of a CHUNK is bounded (toobig) and every range
 * checked (decode), before the node looks at the content. */
static void
test_chunk_bounds(void **state)
{
    mpk_writer w;
    (void)state;
    mpk_w_init(&w);
    build_chunk(&w, RZ_FETCH_MAX_KEYS, 1, 5, 1, 1, 0);
    assert_int_equal(decode_rc(&w), 0);
    build_chunk(&w, RZ_FETCH_MAX_KEYS + 1, 1, 5, 1, 1, 0);
    assert_int_equal(decode_rc(&w), RZ_E_TOOBIG);
    build_chunk(&w, 0, 1, 5, 1, 1, 0);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    build_chunk(&w, 1, RZ_MAX_BATCH_ENTRIES, 4 + RZ_MAX_BATCH_ENTRIES, 1, 0, 0);
    assert_int_equal(decode_rc(&w), 0);
    build_chunk(&w, 1, RZ_MAX_BATCH_ENTRIES + 1, 5 + RZ_MAX_BATCH_ENTRIES, 1, 0, 0);
    assert_int_equal(decode_rc(&w), RZ_E_TOOBIG);
    build_chunk(&w, 1, 1, 5, 1, 2, RZ_MAX_STR);
    assert_int_equal(decode_rc(&w), 0);
    build_chunk(&w, 1, 1, 5, 1, 2, RZ_MAX_STR + 1);
    assert_int_equal(decode_rc(&w), RZ_E_TOOBIG);
    /* final must say whether the chunk ends at the head */
    build_chunk(&w, 1, 3, 7, 0, 0, 0);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    build_chunk(&w, 1, 3, 9, 1, 0, 0);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    build_chunk(&w, 1, 3, 9, 0, 0, 0);
    assert_int_equal(decode_rc(&w), 0);
    /* entries beyond the head, an empty chunk that is not final */
    build_chunk(&w, 1, 3, 6, 1, 0, 0);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    build_chunk(&w, 1, 0, 9, 0, 0, 0);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    build_chunk(&w, 1, 2, 1, 1, 0, 0); /* head below the chunk, n > head */
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    mpk_w_free(&w);
}

/* Values and signatures: shape, order and ranges. */
static void
test_chunk_values_sigs(void **state)
{
    mpk_writer w;
    size_t i;
    (void)state;
    mpk_w_init(&w);
    /* a value for an entry the chunk does not carry */
    mpk_w_reset(&w);
    msg_encode_chunk_begin(&w, 1, old_id, 5, head, 1);
    msg_encode_chunk_key(&w, 1, head);
    msg_encode_chunk_entries(&w, 0, 5, 1, 1);
    mpk_w_bin(&w, ent1, sizeof ent1);
    msg_encode_batch_reveals(&w, 1);
    msg_encode_chunk_value(&w, 1, 2, salt, "x", 1);
    msg_encode_chunk_sigs(&w, 0);
    assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    /* values out of order; field 0; salt without value */
    for (i = 0; i < 3; i++) {
        mpk_w_reset(&w);
        msg_encode_chunk_begin(&w, 1, old_id, 5, head, 1);
        msg_encode_chunk_key(&w, 1, head);
        msg_encode_chunk_entries(&w, 0, 5, 1, 1);
        mpk_w_bin(&w, ent1, sizeof ent1);
        msg_encode_batch_reveals(&w, i == 0 ? 2 : 1);
        if (i == 0) {
            msg_encode_chunk_value(&w, 0, 2, salt, "x", 1);
            msg_encode_chunk_value(&w, 0, 2, salt, "y", 1);
        } else if (i == 1) {
            msg_encode_chunk_value(&w, 0, 0, salt, "x", 1);
        } else {
            mpk_w_array(&w, 4), mpk_w_uint(&w, 0), mpk_w_uint(&w, 2);
            mpk_w_bin(&w, salt, 16), mpk_w_nil(&w);
        }
        msg_encode_chunk_sigs(&w, 0);
        assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    }
    /* a signature outside the chunk's entries, signatures not ascending,
     * more signatures than entries */
    for (i = 0; i < 3; i++) {
        mpk_w_reset(&w);
        msg_encode_chunk_begin(&w, 1, old_id, 6, head, 1);
        msg_encode_chunk_key(&w, 1, head);
        msg_encode_chunk_entries(&w, 0, 5, 1, 2);
        mpk_w_bin(&w, ent1, sizeof ent1);
        mpk_w_bin(&w, ent1, sizeof ent1);
        msg_encode_batch_reveals(&w, 0);
        if (i == 0) {
            msg_encode_chunk_sigs(&w, 1);
            msg_encode_chunk_sig(&w, 7, sig);
        } else if (i == 1) {
            msg_encode_chunk_sigs(&w, 2);
            msg_encode_chunk_sig(&w, 6, sig);
            msg_encode_chunk_sig(&w, 5, sig);
        } else {
            msg_encode_chunk_sigs(&w, 3);
            msg_encode_chunk_sig(&w, 5, sig);
            msg_encode_chunk_sig(&w, 6, sig);
            msg_encode_chunk_sig(&w, 6, sig);
        }
        assert_int_equal(decode_rc(&w), RZ_E_DECODE);
    }
    mpk_w_free(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_round_trip),
        cmocka_unit_test(test_fetch_round_trip),
        cmocka_unit_test(test_chunk_round_trip),
        cmocka_unit_test(test_chunk_bounds),
        cmocka_unit_test(test_chunk_values_sigs),
        cmocka_unit_test(test_welcome_round_trip),
        cmocka_unit_test(test_batch_round_trip),
        cmocka_unit_test(test_ack_round_trip),
        cmocka_unit_test(test_error_round_trip),
        cmocka_unit_test(test_refuses_wrong_signature_number),
        cmocka_unit_test(test_refuses_other_version),
        cmocka_unit_test(test_refuses_unknown_type),
        cmocka_unit_test(test_refuses_wrong_field_counts),
        cmocka_unit_test(test_refuses_wrong_field_types),
        cmocka_unit_test(test_refuses_truncation_and_trailing),
        cmocka_unit_test(test_batch_entry_count_limits),
        cmocka_unit_test(test_batch_entry_size_limit),
        cmocka_unit_test(test_batch_reveal_limits),
        cmocka_unit_test(test_batch_reveal_shapes),
        cmocka_unit_test(test_string_limit_in_error),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_frame_limit),
        cmocka_unit_test(test_fork_report),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
