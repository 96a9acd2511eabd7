/*
 * test_node_watch: the watch loop's backoff.  Each wait lies in
 * [backoff_min, min(backoff_max, base * 2^(n-1))], the ceiling doubles per
 * failure and stops at the maximum, and the draws cover the whole window
 * (full jitter: about as many in the lower half as in the upper), which is
 * what spreads centres that come back together.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>

#include "client/node_watch.h"

#define DRAWS 4000

static void
test_backoff_bounds_and_growth(void **state)
{
    node_watch_opts o;
    unsigned n, i;
    (void)state;
    assert_true(sodium_init() >= 0);
    node_watch_opts_default(&o);
    o.backoff_min_ms = 500;
    o.backoff_base_ms = 2000;
    o.backoff_max_ms = 30000;
    for (n = 1; n <= 12; n++) {
        uint64_t ceil = 2000ull << (n - 1), hi = 0;
        if (ceil > 30000)
            ceil = 30000;
        for (i = 0; i < DRAWS; i++) {
            uint64_t d = node_watch_backoff_ms(&o, n);
            assert_true(d >= 500);
            assert_true(d <= ceil);
            if (d > hi)
                hi = d;
        }
        /* The window is used up to its ceiling. */
        assert_true(hi > ceil - (ceil - 500) / 10);
    }
}

static void
test_backoff_full_jitter(void **state)
{
    node_watch_opts o;
    unsigned i, low = 0;
    (void)state;
    node_watch_opts_default(&o);
    o.backoff_min_ms = 0;
    o.backoff_base_ms = 1000;
    o.backoff_max_ms = 20000;
    for (i = 0; i < DRAWS; i++)
        low += node_watch_backoff_ms(&o, 10) < 10000;
    /* Uniform over [0, 20 s]: about half below 10 s (4000 draws: 5 sigma
     * is about 160). */
    assert_true(low > DRAWS / 2 - 200 && low < DRAWS / 2 + 200);
}

static void
test_backoff_degenerate(void **state)
{
    node_watch_opts o;
    (void)state;
    node_watch_opts_default(&o);
    o.backoff_min_ms = 5000;
    o.backoff_base_ms = 1000;
    o.backoff_max_ms = 3000;
    assert_int_equal(node_watch_backoff_ms(&o, 1), 5000); /* never below the minimum */
    assert_int_equal(node_watch_backoff_ms(&o, 100), 5000);
    node_watch_opts_default(&o);
    assert_true(node_watch_backoff_ms(&o, 1000) <= NODE_WATCH_BACKOFF_MAX_MS); /* no overflow */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_bounds_and_growth),
        cmocka_unit_test(test_backoff_full_jitter),
        cmocka_unit_test(test_backoff_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
