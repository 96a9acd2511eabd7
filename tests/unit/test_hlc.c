/*
 * test_hlc: common/hlc.  Issued timestamps strictly increase whatever the
 * wall clock does (stands still, jumps back, jumps to 1970), a remote time
 * ahead of ours is never undercut, a full logical counter carries into the
 * next millisecond, and the clock never gets stuck.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "common/hlc.h"

#define T0_MS 1773550800000ull /* 2026-03-15 10:00 PKT */

static void
test_make_and_split(void **state)
{
    uint64_t t = hlc_make(T0_MS, 7);
    (void)state;
    assert_int_equal(hlc_physical_ms(t), T0_MS);
    assert_int_equal(t & HLC_LOGICAL_MASK, 7);
    /* the logical part is masked, not allowed to spill into the milliseconds */
    assert_int_equal(hlc_make(T0_MS, 0x1ffff), hlc_make(T0_MS, 0xffff));
}

static void
test_follows_wall_clock(void **state)
{
    uint64_t t;
    (void)state;
    t = hlc_next(0, T0_MS);
    assert_int_equal(t, hlc_make(T0_MS, 0));
    t = hlc_next(t, T0_MS + 5);
    assert_int_equal(t, hlc_make(T0_MS + 5, 0));
}

static void
test_monotonic_fixed_clock(void **state)
{
    uint64_t last = hlc_next(0, T0_MS), t;
    int i;
    (void)state;
    for (i = 1; i <= 1000; i++) {
        t = hlc_next(last, T0_MS);
        assert_true(t > last);
        assert_int_equal(hlc_physical_ms(t), T0_MS);
        assert_int_equal(t & HLC_LOGICAL_MASK, (uint64_t)i);
        last = t;
    }
}

static void
test_monotonic_backwards_clock(void **state)
{
    uint64_t last = hlc_next(0, T0_MS), t;
    uint64_t now = T0_MS;
    int i;
    (void)state;
    for (i = 0; i < 1000; i++) {
        now -= 1000; /* the wall clock loses a second every step */
        t = hlc_next(last, now);
        assert_true(t > last);
        assert_true(hlc_physical_ms(t) >= T0_MS);
        last = t;
    }
    /* a PC reset to 1970 still moves forward */
    t = hlc_next(last, 0);
    assert_true(t > last);
    /* and once the wall clock passes the clock again, the clock follows it */
    t = hlc_next(last, T0_MS + 60000);
    assert_int_equal(t, hlc_make(T0_MS + 60000, 0));
}

static void
test_observe_remote_ahead(void **state)
{
    uint64_t last = hlc_make(T0_MS, 3);
    uint64_t remote = hlc_make(T0_MS + 3600000, 0); /* server an hour ahead */
    uint64_t t;
    (void)state;
    t = hlc_observe(last, remote, T0_MS);
    assert_true(t > remote);
    assert_true(t > last);
    assert_int_equal(hlc_physical_ms(t), T0_MS + 3600000);
    /* everything issued afterwards stays above the remote time */
    t = hlc_next(t, T0_MS + 1);
    assert_true(t > remote);
}

static void
test_observe_remote_behind(void **state)
{
    uint64_t last = hlc_make(T0_MS, 3);
    uint64_t remote = hlc_make(T0_MS - 3600000, 0);
    uint64_t t;
    (void)state;
    t = hlc_observe(last, remote, T0_MS - 7200000);
    assert_true(t > last);
    assert_int_equal(t, last + 1);
    /* the local wall clock ahead of both wins */
    t = hlc_observe(last, remote, T0_MS + 10);
    assert_int_equal(t, hlc_make(T0_MS + 10, 0));
}

static void
test_counter_overflow_moves_to_next_ms(void **state)
{
    uint64_t last = hlc_make(T0_MS, 0xffff), t;
    (void)state;
    t = hlc_next(last, T0_MS);
    assert_true(t > last);
    assert_int_equal(hlc_physical_ms(t), T0_MS + 1);
    assert_int_equal(t & HLC_LOGICAL_MASK, 0);
    /* the same through observe */
    t = hlc_observe(hlc_make(T0_MS - 5, 1), last, 0);
    assert_int_equal(t, hlc_make(T0_MS + 1, 0));
}

static void
test_never_stuck(void **state)
{
    uint64_t last = hlc_make(T0_MS, 0xfff0), t;
    uint64_t i;
    (void)state;
    /* 200000 events with the wall clock frozen in 1970: three counter wraps */
    for (i = 0; i < 200000; i++) {
        t = hlc_next(last, 0);
        assert_int_equal(t, last + 1);
        last = t;
    }
    assert_int_equal(hlc_physical_ms(last), T0_MS + (0xfff0 + 200000) / 65536);
}

static void
test_wall_ms_override(void **state)
{
    uint64_t real, shifted;
    (void)state;
    assert_int_equal(setenv("RZ_FAKE_NOW_MS", "86400000", 1), 0);
    assert_int_equal(hlc_wall_ms(), 86400000);
    assert_int_equal(setenv("RZ_FAKE_NOW_MS", "", 1), 0);
    real = hlc_wall_ms();
    assert_true(real > 1577836800000ull); /* after 2020-01-01: the real clock */
    /* the offset form shifts the real clock: a year ahead */
    assert_int_equal(setenv("RZ_FAKE_NOW_MS", "+31536000000", 1), 0);
    shifted = hlc_wall_ms();
    /* a minute of slack: CLOCK_REALTIME may be stepped between the reads */
    assert_true(shifted > real + 31536000000ull - 60000);
    assert_int_equal(unsetenv("RZ_FAKE_NOW_MS"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_and_split),
        cmocka_unit_test(test_follows_wall_clock),
        cmocka_unit_test(test_monotonic_fixed_clock),
        cmocka_unit_test(test_monotonic_backwards_clock),
        cmocka_unit_test(test_observe_remote_ahead),
        cmocka_unit_test(test_observe_remote_behind),
        cmocka_unit_test(test_counter_overflow_moves_to_next_ms),
        cmocka_unit_test(test_never_stuck),
        cmocka_unit_test(test_wall_ms_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
