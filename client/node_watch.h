/*
 * node_watch: unattended sync (`rozgar-node sync --watch`, and the web app's
 * background sync).  Keeps the node in step with the server:
 *
 *   - soon after new records: the log head is checked every poll_ms and a
 *     sync starts settle_ms after it moved (records typed in a burst go in
 *     one sync);
 *   - at least every interval_ms even when nothing is recorded (receipts,
 *     clock, proof of life);
 *   - at once when asked (node_lock_poke / SIGUSR1: `sync --now`, the web
 *     app's button) or after the PC woke from sleep;
 *   - while the server is unreachable or busy, after an exponential backoff
 *     with full jitter: the n-th consecutive failure waits a uniformly random
 *     time in [backoff_min_ms, min(backoff_max_ms, backoff_base_ms * 2^(n-1))],
 *     so centres coming back after an outage spread their reconnections;
 *   - a failure staff must fix (fork, revoked key, no server configured)
 *     keeps the loop alive and retries every backoff_max_ms, so the node
 *     carries on by itself once headquarters has acted.
 *
 * Timing runs on CLOCK_BOOTTIME, which keeps counting while the PC sleeps,
 * so a sync overdue after a suspend starts at once; a jump of the wall
 * clock changes nothing here.  A network that drops mid-batch costs nothing:
 * each run resumes where the server's log ends (node_sync.h).
 *
 * Stops when *o->sync.stop becomes non-zero (SIGTERM via node_lock_listen):
 * the batches in flight are finished, no new one is sent, and
 * node_watch_run returns 0.  The caller holds the data directory's sync
 * lock (node_lock.h) for the whole loop.  Prints nothing itself: every
 * start and outcome goes to the report callback.
 */
#ifndef RZ_NODE_WATCH_H
#define RZ_NODE_WATCH_H

#include <stdint.h>

#include "client/node_sync.h"

#define NODE_WATCH_POLL_MS 1000          /* default: how often the log head is checked */
#define NODE_WATCH_SETTLE_MS 1000        /* default: quiet time after new records */
#define NODE_WATCH_BACKOFF_MIN_MS 500    /* default: least wait after a failure */
#define NODE_WATCH_BACKOFF_BASE_MS 2000  /* default: ceiling after the first failure */
#define NODE_WATCH_BACKOFF_MAX_MS 300000 /* default: highest ceiling (5 min) */
#define NODE_WATCH_WAKE_GAP_MS 5000      /* suspend longer than this counts as sleep */

/* Why a sync started. */
enum node_watch_why {
    NODE_WATCH_FIRST = 1, /* the loop started */
    NODE_WATCH_RECORDS,   /* new records */
    NODE_WATCH_INTERVAL,  /* sync-interval passed */
    NODE_WATCH_ASKED,     /* node_lock_poke / SIGUSR1 */
    NODE_WATCH_WOKE,      /* the PC woke from sleep */
    NODE_WATCH_RETRY,     /* the last attempt failed */
};

/* What the report callback is told. */
typedef struct node_watch_event {
    int done;                  /* 0: a sync starts; 1: it ended */
    int why;                   /* enum node_watch_why */
    int rc;                    /* when done: 0, or the failure's code */
    const node_sync_result *r; /* when done: what the run did */
    const rz_error *err;       /* when done and rc != 0: the reason */
    uint64_t next_ms;          /* when done: time until the next sync is due */
    unsigned failures;         /* consecutive failed attempts (0 after success) */
} node_watch_event;

typedef struct node_watch_opts {
    uint64_t interval_ms;     /* longest time between two syncs */
    uint64_t poll_ms;         /* log head check period */
    uint64_t settle_ms;       /* wait after new records */
    uint64_t backoff_min_ms;  /* least retry wait */
    uint64_t backoff_base_ms; /* retry ceiling after the first failure */
    uint64_t backoff_max_ms;  /* highest retry ceiling */
    node_sync_opts sync;      /* each run's options; sync.stop ends the loop */
    void (*report)(void *ctx, const node_watch_event *ev); /* may be NULL */
    void *report_ctx;                                      /* passed to report */
    /* Seam for the tests (a suspend cannot be staged in CI): reads both
     * clocks in milliseconds (boot_ms counts suspended time, mono_ms does
     * not), and naps for ms.  NULL: CLOCK_BOOTTIME, CLOCK_MONOTONIC and
     * nanosleep. */
    void (*clock)(void *ctx, uint64_t *boot_ms, uint64_t *mono_ms);
    void (*nap)(void *ctx, uint64_t ms);
    void *clock_ctx; /* passed to clock and nap */
} node_watch_opts;

/* Why, in words for a log line: "new records", "woke from sleep", ...
 * Static text; "?" for an unknown value. */
const char *node_watch_why_name(int why);

/* Defaults above, sync-interval 300 s, node_sync_opts_default, the
 * process's stop flag (node_lock_stop_flag). */
void node_watch_opts_default(node_watch_opts *o);

/* The retry wait after `failures` consecutive failures (>= 1), drawn with
 * full jitter as described above.  Exposed for the tests. */
uint64_t node_watch_backoff_ms(const node_watch_opts *o, unsigned failures);

/* Runs the loop until *o->sync.stop is set; 0 then.  Returns an error only
 * when the node's own database fails (RZ_E_IO, ...); sync failures are
 * reported and retried, never returned. */
int node_watch_run(node_store *ns, const node_watch_opts *o, rz_error *err) RZ_WUR;

#endif
