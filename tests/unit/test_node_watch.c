/*
 * test_node_watch: the watch loop's backoff.  Each wait lies in
 * [backoff_min, min(backoff_max, base * 2^(n-1))], the ceiling doubles per
 * failure and stops at the maximum, and the draws cover the whole window
 * (full jitter: about as many in the lower half as in the upper), which is
 * what spreads centres that come back together.
 *
 * And the PC that slept, without suspending anything: the loop runs on a
 * fake pair of clocks (node_watch_opts.clock/nap) against a real store with
 * no server configured, so every sync fails at once with RZ_E_CONFIG and the
 * next one is due only after backoff_max.  When boot time jumps ahead of
 * monotonic time by more than NODE_WATCH_WAKE_GAP_MS during that wait, the
 * next sync starts within settle_ms of the wake, says why (woke), and the
 * failure count starts again from zero; without the jump, or with a drift
 * below the gap, the next sync waits out the whole backoff.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sodium.h>
#include <string.h>

#include "client/node_watch.h"
#include "node_fixture.h"

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

/* ---- the sleeping PC, on fake clocks ---- */

#define WAKE_BACKOFF_MS 600000u /* the wait after a failure staff must fix */
#define WAKE_SETTLE_MS 1000u
#define WAKE_EVENTS 8

typedef struct fake_pc {
    uint64_t boot, mono;              /* the two clocks (ms) */
    uint64_t suspend_at;              /* boot time at which the PC sleeps; 0 = never */
    uint64_t suspend_ms;              /* for how long */
    uint64_t woke_at;                 /* boot time when it woke, 0 before */
    volatile sig_atomic_t stop;       /* the loop's stop flag */
    unsigned ends;                    /* syncs ended */
    unsigned n;                       /* events seen */
    node_watch_event ev[WAKE_EVENTS]; /* what the loop reported */
    uint64_t at[WAKE_EVENTS];         /* boot time of each */
} fake_pc;

static void
fake_clock(void *ctx, uint64_t *boot_ms, uint64_t *mono_ms)
{
    fake_pc *pc = ctx;
    *boot_ms = pc->boot;
    *mono_ms = pc->mono;
}

/* A nap moves both clocks; the suspend moves only the boot clock. */
static void
fake_nap(void *ctx, uint64_t ms)
{
    fake_pc *pc = ctx;
    pc->boot += ms;
    pc->mono += ms;
    if (pc->suspend_at && !pc->woke_at && pc->boot >= pc->suspend_at) {
        pc->boot += pc->suspend_ms;
        pc->woke_at = pc->boot;
    }
}

static void
fake_report(void *ctx, const node_watch_event *ev)
{
    fake_pc *pc = ctx;
    assert_true(pc->n < WAKE_EVENTS);
    pc->ev[pc->n] = *ev;
    pc->ev[pc->n].r = NULL;
    pc->ev[pc->n].err = NULL;
    pc->at[pc->n++] = pc->boot;
    if (ev->done && ++pc->ends == 2)
        pc->stop = 1;
}

/* Runs the loop until two syncs ended (start, end, start, end). */
static void
run_fake_pc(fixture *f, fake_pc *pc)
{
    node_watch_opts o;
    rz_error err = {0, ""};
    node_watch_opts_default(&o);
    o.interval_ms = 3600000;
    o.poll_ms = 10000;
    o.settle_ms = WAKE_SETTLE_MS;
    o.backoff_max_ms = WAKE_BACKOFF_MS;
    o.sync.stop = &pc->stop;
    o.report = fake_report;
    o.report_ctx = pc;
    o.clock = fake_clock;
    o.nap = fake_nap;
    o.clock_ctx = pc;
    pc->boot = 50000000; /* unrelated origins: only differences count */
    pc->mono = 7000;
    if (pc->suspend_at)
        pc->suspend_at += pc->boot;
    assert_int_equal(node_watch_run(f->ns, &o, &err), 0);
    assert_int_equal(pc->n, 4);
    /* The first sync starts at once and fails: no server here. */
    assert_int_equal(pc->ev[0].done, 0);
    assert_int_equal(pc->ev[0].why, NODE_WATCH_FIRST);
    assert_int_equal(pc->at[0], 50000000);
    assert_int_equal(pc->ev[1].done, 1);
    assert_int_equal(pc->ev[1].rc, RZ_E_CONFIG);
    assert_int_equal(pc->ev[1].failures, 1);
    assert_int_equal(pc->ev[1].next_ms, WAKE_BACKOFF_MS);
    assert_int_equal(pc->ev[2].done, 0);
    assert_int_equal(pc->ev[3].done, 1);
}

static int
wake_setup(void **state)
{
    return node_fixture_setup(state, "watch");
}

static void
test_sleep_detected(void **state)
{
    fake_pc pc;
    memset(&pc, 0, sizeof pc);
    pc.suspend_at = 100000; /* 100 s into the 600 s wait, */
    pc.suspend_ms = 60000;  /* asleep for a minute */
    run_fake_pc(*state, &pc);
    assert_true(pc.woke_at > 0);
    /* The next sync starts soon after the wake, not at the backoff's end... */
    assert_int_equal(pc.ev[2].why, NODE_WATCH_WOKE);
    assert_string_equal(node_watch_why_name(pc.ev[2].why), "woke from sleep");
    assert_true(pc.at[2] >= pc.woke_at);
    assert_true(pc.at[2] <= pc.woke_at + WAKE_SETTLE_MS + 200);
    assert_true(pc.at[2] < pc.at[1] + WAKE_BACKOFF_MS);
    /* ...with the backoff reset: this is failure 1 again, not 2. */
    assert_int_equal(pc.ev[2].failures, 0);
    assert_int_equal(pc.ev[3].failures, 1);
}

static void
test_no_sleep_no_early_sync(void **state)
{
    fake_pc pc;
    memset(&pc, 0, sizeof pc);
    run_fake_pc(*state, &pc);
    assert_int_equal(pc.ev[2].why, NODE_WATCH_RETRY);
    assert_true(pc.at[2] >= pc.at[1] + WAKE_BACKOFF_MS);
    assert_true(pc.at[2] <= pc.at[1] + WAKE_BACKOFF_MS + 200);
    assert_int_equal(pc.ev[2].failures, 1);
    assert_int_equal(pc.ev[3].failures, 2);
}

static void
test_small_drift_is_no_sleep(void **state)
{
    fake_pc pc;
    memset(&pc, 0, sizeof pc);
    pc.suspend_at = 100000;
    pc.suspend_ms = NODE_WATCH_WAKE_GAP_MS - 1000; /* below the gap: a hiccup */
    run_fake_pc(*state, &pc);
    assert_true(pc.woke_at > 0);
    assert_int_equal(pc.ev[2].why, NODE_WATCH_RETRY);
    /* Due on boot time: the drift counts towards the wait, nothing more. */
    assert_true(pc.at[2] >= pc.at[1] + WAKE_BACKOFF_MS);
    assert_int_equal(pc.ev[3].failures, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_bounds_and_growth),
        cmocka_unit_test(test_backoff_full_jitter),
        cmocka_unit_test(test_backoff_degenerate),
        cmocka_unit_test_setup_teardown(test_sleep_detected, wake_setup, node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_sleep_no_early_sync, wake_setup,
                                        node_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_small_drift_is_no_sleep, wake_setup,
                                        node_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
