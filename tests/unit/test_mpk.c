/*
 * test_mpk: common/mpk.  mpk_check must refuse everything that is not exactly
 * one complete msgpack object within the limits, before msgpack-c allocates:
 * every truncation of a valid message (each copied into a heap buffer of
 * exactly that size, so ASan sees any read past the end), trailing bytes,
 * headers declaring more than is present, nesting, item, object and string
 * limits, ext types and 0xc1.  Also the typed accessors and the sticky writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/mpk.h"

/* Limits that only the bytes present can violate. */
static const mpk_limits open_lim = {
    .max_depth = 64, .max_items = SIZE_MAX, .max_objects = SIZE_MAX, .max_str = SIZE_MAX};
/* Limits of the size the protocol uses. */
static const mpk_limits proto_lim = {
    .max_depth = 4, .max_items = 3000, .max_objects = 20000, .max_str = 2048};

static int
check_bytes(const void *p, size_t n, const mpk_limits *lim)
{
    /* copy into a buffer of exactly n bytes: a read past it is an ASan error */
    uint8_t *b = malloc(n ? n : 1);
    rz_error err;
    int rc;
    assert_non_null(b);
    memcpy(b, p, n);
    memset(&err, 0, sizeof err);
    rc = mpk_check(b, n, lim, &err);
    if (rc != 0) {
        assert_int_equal(err.code, rc);
        assert_true(err.text[0] != '\0');
    }
    free(b);
    return rc;
}

/* CHECK(lim, bytes...): mpk_check of the listed bytes. */
#define CHECK(lim, ...)                                                                            \
    check_bytes((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), lim)

/* A message that uses every header form the protocol may meet. */
static void
build_sample(mpk_writer *w)
{
    static const uint8_t f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00};
    static const uint8_t f64[] = {0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
    static const uint8_t arr32[] = {0xdd, 0, 0, 0, 2, 0x01, 0x02};
    static const uint8_t map32[] = {0xdf, 0, 0, 0, 1, 0x01, 0xc3};
    static const uint8_t str32[] = {0xdb, 0, 0, 0, 2, 'o', 'k'};
    static const uint8_t bin32[] = {0xc6, 0, 0, 0, 1, 0xee};
    char text[300];
    size_t i;
    memset(text, 'z', sizeof text);
    mpk_w_array(w, 24);
    mpk_w_uint(w, 1);
    mpk_w_uint(w, 200);
    mpk_w_uint(w, 300);
    mpk_w_uint(w, 70000);
    mpk_w_uint(w, 5000000000ull);
    mpk_w_int(w, -5);
    mpk_w_int(w, -100);
    mpk_w_int(w, -1000);
    mpk_w_int(w, -100000);
    mpk_w_int(w, -5000000000ll);
    mpk_w_str(w, "abc", 3);
    mpk_w_str(w, text, 40);
    mpk_w_str(w, text, 300);
    mpk_w_bin(w, text, 3);
    mpk_w_bin(w, text, 300);
    mpk_w_map(w, 3);
    mpk_w_uint(w, 1), mpk_w_bool(w, 1);
    mpk_w_uint(w, 2), mpk_w_nil(w);
    mpk_w_uint(w, 3), mpk_w_bool(w, 0);
    mpk_w_array(w, 20);
    for (i = 0; i < 20; i++)
        mpk_w_uint(w, i);
    mpk_w_map(w, 17);
    for (i = 0; i < 17; i++)
        mpk_w_uint(w, i), mpk_w_array(w, 0);
    mpk_w_raw(w, f32, sizeof f32);
    mpk_w_raw(w, f64, sizeof f64);
    mpk_w_raw(w, arr32, sizeof arr32);
    mpk_w_raw(w, map32, sizeof map32);
    mpk_w_raw(w, str32, sizeof str32);
    mpk_w_raw(w, bin32, sizeof bin32);
    assert_int_equal(w->rc, 0);
}

static void
test_accepts_valid(void **state)
{
    mpk_writer w;
    (void)state;
    mpk_w_init(&w);
    build_sample(&w);
    assert_int_equal(check_bytes(w.sb.data, w.sb.size, &open_lim), 0);
    assert_int_equal(check_bytes(w.sb.data, w.sb.size, &proto_lim), 0);
    mpk_w_free(&w);
}

static void
test_accepts_every_single_byte_object(void **state)
{
    unsigned b;
    (void)state;
    for (b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        int single = b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3 || b == 0xa0 ||
                     b == 0x90 || b == 0x80;
        int rc = check_bytes(&c, 1, &open_lim);
        if (single)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, RZ_E_DECODE);
    }
}

static void
test_refuses_every_truncation(void **state)
{
    mpk_writer w;
    size_t i;
    (void)state;
    mpk_w_init(&w);
    build_sample(&w);
    for (i = 0; i < w.sb.size; i++)
        assert_int_equal(check_bytes(w.sb.data, i, &open_lim), RZ_E_DECODE);
    mpk_w_free(&w);
}

static void
test_refuses_trailing_bytes(void **state)
{
    mpk_writer w;
    uint8_t *twice;
    size_t n;
    (void)state;
    mpk_w_init(&w);
    build_sample(&w);
    n = w.sb.size;
    twice = malloc(2 * n);
    assert_non_null(twice);
    memcpy(twice, w.sb.data, n);
    memcpy(twice + n, w.sb.data, n);
    assert_int_equal(check_bytes(twice, n + 1, &open_lim), RZ_E_DECODE);
    assert_int_equal(check_bytes(twice, 2 * n, &open_lim), RZ_E_DECODE);
    assert_int_equal(check_bytes(twice, n, &open_lim), 0);
    free(twice);
    mpk_w_free(&w);
    assert_int_equal(CHECK(&open_lim, 0x01, 0x00), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xc0, 0xc0), RZ_E_DECODE);
}

static void
test_refuses_empty(void **state)
{
    (void)state;
    assert_int_equal(check_bytes("", 0, &open_lim), RZ_E_DECODE);
}

/* Headers whose declared size exceeds the bytes that follow. */
static void
test_refuses_declared_beyond_input(void **state)
{
    (void)state;
    /* str32 / bin32 of 2^32-1 with nothing after */
    assert_int_equal(CHECK(&open_lim, 0xdb, 0xff, 0xff, 0xff, 0xff), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xc6, 0xff, 0xff, 0xff, 0xff), RZ_E_DECODE);
    /* str8/str16/bin8/bin16/fixstr one byte short */
    assert_int_equal(CHECK(&open_lim, 0xd9, 0x03, 'a', 'b'), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xda, 0x00, 0x03, 'a', 'b'), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xc4, 0x03, 1, 2), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xc5, 0x00, 0x03, 1, 2), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xa3, 'a', 'b'), RZ_E_DECODE);
    /* array32 / map32 of 2^32-1, with and without some elements present */
    assert_int_equal(CHECK(&open_lim, 0xdd, 0xff, 0xff, 0xff, 0xff), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8),
                     RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xdf, 0xff, 0xff, 0xff, 0xff, 1, 2), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xdc, 0xff, 0xff, 1, 2, 3), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xde, 0x00, 0x02, 1, 2, 3), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0x93, 1, 2), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0x82, 1, 2, 3), RZ_E_DECODE);
    /* numbers and length fields cut short */
    assert_int_equal(CHECK(&open_lim, 0xcf, 0, 0, 0, 0, 0, 0, 0), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xcb, 0, 0, 0), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xdb, 0xff, 0xff), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xdd, 0x00), RZ_E_DECODE);
    /* the same declared sizes against protocol limits are refused as too big */
    assert_int_equal(CHECK(&proto_lim, 0xdb, 0xff, 0xff, 0xff, 0xff), RZ_E_TOOBIG);
    assert_int_equal(CHECK(&proto_lim, 0xc6, 0xff, 0xff, 0xff, 0xff), RZ_E_TOOBIG);
    assert_int_equal(CHECK(&proto_lim, 0xdd, 0xff, 0xff, 0xff, 0xff), RZ_E_TOOBIG);
    assert_int_equal(CHECK(&proto_lim, 0xdf, 0xff, 0xff, 0xff, 0xff), RZ_E_TOOBIG);
}

static void
test_refuses_deep_nesting(void **state)
{
    static const mpk_limits lim4 = {4, 100, 100, 100, 0, NULL};
    uint8_t deep[1001];
    (void)state;
    /* [[[[1]]]] is depth 4, [[[[[1]]]]] depth 5; maps count alike */
    assert_int_equal(CHECK(&lim4, 0x91, 0x91, 0x91, 0x91, 0x01), 0);
    assert_int_equal(CHECK(&lim4, 0x91, 0x91, 0x91, 0x91, 0x91, 0x01), RZ_E_TOOBIG);
    assert_int_equal(CHECK(&lim4, 0x81, 1, 0x81, 1, 0x81, 1, 0x81, 1, 0x01), 0);
    assert_int_equal(CHECK(&lim4, 0x81, 1, 0x81, 1, 0x81, 1, 0x81, 1, 0x81, 1, 2), RZ_E_TOOBIG);
    assert_int_equal(CHECK(&lim4, 0x91, 0x81, 0x01, 0x91, 0x91, 0x90), RZ_E_TOOBIG);
    memset(deep, 0x91, sizeof deep);
    deep[1000] = 0x01;
    assert_int_equal(check_bytes(deep, sizeof deep, &lim4), RZ_E_TOOBIG);
}

static void
test_refuses_items_objects_strings_over_limit(void **state)
{
    static const mpk_limits lim = {4, 4, 6, 3, 0, NULL};
    (void)state;
    assert_int_equal(CHECK(&lim, 0x94, 1, 2, 3, 4), 0);
    assert_int_equal(CHECK(&lim, 0x95, 1, 2, 3, 4, 5), RZ_E_TOOBIG);
    assert_int_equal(CHECK(&lim, 0x82, 1, 2, 3, 4), 0);
    assert_int_equal(CHECK(&lim, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), RZ_E_TOOBIG);
    /* objects: [1,2,[3,4]] is 6, [1,[2,[3,4]]] too; [[1,2],[3,4]] is 7 */
    assert_int_equal(CHECK(&lim, 0x93, 1, 2, 0x92, 3, 4), 0);
    assert_int_equal(CHECK(&lim, 0x92, 0x92, 1, 2, 0x92, 3, 4), RZ_E_TOOBIG);
    /* strings and bins */
    assert_int_equal(CHECK(&lim, 0xa3, 'a', 'b', 'c'), 0);
    assert_int_equal(CHECK(&lim, 0xa4, 'a', 'b', 'c', 'd'), RZ_E_TOOBIG);
    assert_int_equal(CHECK(&lim, 0xc4, 3, 1, 2, 3), 0);
    assert_int_equal(CHECK(&lim, 0xc4, 4, 1, 2, 3, 4), RZ_E_TOOBIG);
    assert_int_equal(CHECK(&lim, 0xd9, 4, 'a', 'b', 'c', 'd'), RZ_E_TOOBIG);
    /* numbers are no strings: max_str does not limit an 8-byte integer */
    assert_int_equal(CHECK(&lim, 0xcf, 1, 2, 3, 4, 5, 6, 7, 8), 0);
    assert_int_equal(CHECK(&lim, 0xd3, 0xff, 2, 3, 4, 5, 6, 7, 8), 0);
    assert_int_equal(CHECK(&lim, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), 0);
    assert_int_equal(CHECK(&lim, 0xce, 1, 2, 3, 4), 0);
}

static void
test_refuses_ext_and_reserved(void **state)
{
    (void)state;
    assert_int_equal(CHECK(&open_lim, 0xc1), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0x91, 0xc1), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xd4, 0x01, 0x00), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xd5, 0x01, 0, 0), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xd6, 0x01, 0, 0, 0, 0), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                     RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xc7, 0x01, 0x01, 0x00), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xc8, 0x00, 0x01, 0x01, 0x00), RZ_E_DECODE);
    assert_int_equal(CHECK(&open_lim, 0xc9, 0, 0, 0, 0x01, 0x01, 0x00), RZ_E_DECODE);
    /* timestamp ext (-1) inside a map value */
    assert_int_equal(CHECK(&open_lim, 0x81, 0x01, 0xd6, 0xff, 0, 0, 0, 0), RZ_E_DECODE);
}

/* mpk_unpack gives the tree mpk_check admitted. */
static void
test_unpack_tree(void **state)
{
    mpk_writer w;
    msgpack_zone z;
    msgpack_object root;
    const msgpack_object *a;
    size_t n, blen, slen;
    uint64_t u;
    int64_t i;
    int b;
    const uint8_t *bp;
    const char *sp;
    rz_error err;
    (void)state;
    mpk_w_init(&w);
    build_sample(&w);
    msgpack_zone_init(&z, 1024);
    assert_int_equal(mpk_unpack((const uint8_t *)w.sb.data, w.sb.size, &proto_lim, &z, &root, &err),
                     0);
    assert_int_equal(mpk_array(&root, 24, &a, &n), 0);
    assert_int_equal(n, 24);
    assert_int_equal(mpk_uint(&a[4], &u), 0);
    assert_int_equal(u, 5000000000ull);
    assert_int_equal(mpk_int(&a[9], &i), 0);
    assert_int_equal(i, -5000000000ll);
    assert_int_equal(mpk_str(&a[12], &sp, &slen), 0);
    assert_int_equal(slen, 300);
    assert_int_equal(mpk_bin(&a[14], 300, &bp, &blen), 0);
    assert_int_equal(blen, 300);
    assert_int_equal(a[15].type, MSGPACK_OBJECT_MAP);
    assert_int_equal(mpk_bool(&a[15].via.map.ptr[0].val, &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(mpk_array(&a[20], 2, &a, NULL), 0);
    assert_int_equal(mpk_uint(&a[1], &u), 0);
    assert_int_equal(u, 2);
    /* and refuses what mpk_check refuses, with the same code */
    assert_int_equal(
        mpk_unpack((const uint8_t *)w.sb.data, w.sb.size - 1, &proto_lim, &z, &root, &err),
        RZ_E_DECODE);
    msgpack_zone_destroy(&z);
    mpk_w_free(&w);
}

static void
unpack_one(msgpack_zone *z, msgpack_object *o, const uint8_t *p, size_t n)
{
    assert_int_equal(mpk_unpack(p, n, &open_lim, z, o, NULL), 0);
}

static void
test_accessor_type_checks(void **state)
{
    static const uint8_t neg[] = {0xff};                            /* -1 */
    static const uint8_t big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}; /* 2^63 */
    static const uint8_t maxi[] = {0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t one[] = {0x01};
    static const uint8_t tru[] = {0xc3};
    static const uint8_t str[] = {0xa2, 'h', 'i'};
    static const uint8_t bin[] = {0xc4, 0x02, 'h', 'i'};
    static const uint8_t arr[] = {0x92, 0x01, 0x02};
    static const uint8_t map[] = {0x81, 0x01, 0x02};
    static const uint8_t dbl[] = {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
    msgpack_zone z;
    msgpack_object o;
    const msgpack_object *items;
    const uint8_t *bp;
    const char *sp;
    size_t len;
    uint64_t u;
    int64_t i;
    int b;
    (void)state;
    msgpack_zone_init(&z, 256);

    unpack_one(&z, &o, neg, sizeof neg);
    assert_int_equal(mpk_uint(&o, &u), RZ_E_DECODE);
    assert_int_equal(mpk_int(&o, &i), 0);
    assert_int_equal(i, -1);
    unpack_one(&z, &o, big, sizeof big);
    assert_int_equal(mpk_uint(&o, &u), 0);
    assert_int_equal(mpk_int(&o, &i), RZ_E_DECODE);
    unpack_one(&z, &o, maxi, sizeof maxi);
    assert_int_equal(mpk_int(&o, &i), 0);
    assert_int_equal(i, INT64_MAX);
    unpack_one(&z, &o, one, sizeof one);
    assert_int_equal(mpk_bool(&o, &b), RZ_E_DECODE);
    assert_int_equal(mpk_str(&o, &sp, &len), RZ_E_DECODE);
    unpack_one(&z, &o, tru, sizeof tru);
    assert_int_equal(mpk_uint(&o, &u), RZ_E_DECODE);
    assert_int_equal(mpk_bool(&o, &b), 0);
    assert_int_equal(b, 1);
    unpack_one(&z, &o, str, sizeof str);
    assert_int_equal(mpk_bin(&o, 0, &bp, &len), RZ_E_DECODE);
    assert_int_equal(mpk_str(&o, &sp, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(sp, "hi", 2);
    unpack_one(&z, &o, bin, sizeof bin);
    assert_int_equal(mpk_str(&o, &sp, &len), RZ_E_DECODE);
    assert_int_equal(mpk_bin(&o, 3, &bp, &len), RZ_E_DECODE);
    assert_int_equal(mpk_bin(&o, 1, &bp, &len), RZ_E_DECODE);
    assert_int_equal(mpk_bin(&o, 2, &bp, NULL), 0);
    assert_int_equal(mpk_bin(&o, 0, &bp, &len), 0);
    assert_int_equal(len, 2);
    unpack_one(&z, &o, arr, sizeof arr);
    assert_int_equal(mpk_array(&o, 3, &items, &len), RZ_E_DECODE);
    assert_int_equal(mpk_array(&o, 2, &items, &len), 0);
    assert_int_equal(mpk_array(&o, 0, &items, &len), 0);
    assert_int_equal(len, 2);
    assert_int_equal(mpk_uint(&o, &u), RZ_E_DECODE);
    unpack_one(&z, &o, map, sizeof map);
    assert_int_equal(mpk_array(&o, 0, &items, &len), RZ_E_DECODE);
    unpack_one(&z, &o, dbl, sizeof dbl);
    assert_int_equal(mpk_uint(&o, &u), RZ_E_DECODE);
    assert_int_equal(mpk_int(&o, &i), RZ_E_DECODE);
    msgpack_zone_destroy(&z);
}

static void
test_writer_bytes_and_sticky_error(void **state)
{
    static const uint8_t want[] = {0x93, 0xcd, 0x01, 0x2c, 0xa1, 'x', 0xc4, 0x01, 0x07};
    mpk_writer w;
    uint8_t seven = 7;
    size_t n;
    (void)state;
    mpk_w_init(&w);
    mpk_w_array(&w, 3);
    mpk_w_uint(&w, 300);
    mpk_w_str(&w, "x", 1);
    mpk_w_bin(&w, &seven, 1);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.sb.size, sizeof want);
    assert_memory_equal(w.sb.data, want, sizeof want);

    /* after a failure every append is a no-op */
    w.rc = RZ_E_NOMEM;
    n = w.sb.size;
    mpk_w_uint(&w, 1);
    mpk_w_str(&w, "abc", 3);
    mpk_w_raw(&w, want, sizeof want);
    assert_int_equal(w.sb.size, n);
    assert_int_equal(w.rc, RZ_E_NOMEM);

    /* reset empties the buffer and clears the error */
    mpk_w_reset(&w);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.sb.size, 0);
    mpk_w_nil(&w);
    assert_int_equal(w.sb.size, 1);
    assert_int_equal((uint8_t)w.sb.data[0], 0xc0);
    mpk_w_free(&w);
    assert_null(w.sb.data);
    assert_int_equal(w.sb.size, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_valid),
        cmocka_unit_test(test_accepts_every_single_byte_object),
        cmocka_unit_test(test_refuses_every_truncation),
        cmocka_unit_test(test_refuses_trailing_bytes),
        cmocka_unit_test(test_refuses_empty),
        cmocka_unit_test(test_refuses_declared_beyond_input),
        cmocka_unit_test(test_refuses_deep_nesting),
        cmocka_unit_test(test_refuses_items_objects_strings_over_limit),
        cmocka_unit_test(test_refuses_ext_and_reserved),
        cmocka_unit_test(test_unpack_tree),
        cmocka_unit_test(test_accessor_type_checks),
        cmocka_unit_test(test_writer_bytes_and_sticky_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
