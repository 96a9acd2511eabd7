/*
 * node_watch: the unattended sync loop; see node_watch.h.
 *
 * One thread, one loop: sleep in short slices (so a stop or a trigger is
 * seen within SLICE_MS even if its signal landed in another thread), look at
 * the flags and the log head, and start a sync when one is due.
 */
#include "client/node_watch.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "client/node_lock.h"
#include "common/hlc.h"

#define WATCH_SLICE_MS 200 /* longest uninterrupted sleep */

void
node_watch_opts_default(node_watch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->interval_ms = 300000;
    o->poll_ms = NODE_WATCH_POLL_MS;
    o->settle_ms = NODE_WATCH_SETTLE_MS;
    o->backoff_min_ms = NODE_WATCH_BACKOFF_MIN_MS;
    o->backoff_base_ms = NODE_WATCH_BACKOFF_BASE_MS;
    o->backoff_max_ms = NODE_WATCH_BACKOFF_MAX_MS;
    node_sync_opts_default(&o->sync);
    o->sync.stop = node_lock_stop_flag();
}

/* Milliseconds on CLOCK_BOOTTIME (counts suspend) or, for the sleep check,
 * CLOCK_MONOTONIC (does not). */
static uint64_t
watch_clock_ms(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *
node_watch_why_name(int why)
{
    static const char *const whys[] = {"",      "start",           "new records", "interval",
                                       "asked", "woke from sleep", "retry"};
    return why >= NODE_WATCH_FIRST && why <= NODE_WATCH_RETRY ? whys[why] : "?";
}

uint64_t
node_watch_backoff_ms(const node_watch_opts *o, unsigned failures)
{
    uint64_t ceil = o->backoff_base_ms ? o->backoff_base_ms : 1;
    unsigned i;
    for (i = 1; i < failures && ceil < o->backoff_max_ms; i++)
        ceil *= 2;
    if (ceil > o->backoff_max_ms)
        ceil = o->backoff_max_ms;
    if (ceil <= o->backoff_min_ms)
        return o->backoff_min_ms;
    /* Full jitter: uniform over the whole window, not around its end. */
    return o->backoff_min_ms +
           (uint64_t)randombytes_uniform((uint32_t)(ceil - o->backoff_min_ms + 1 > UINT32_MAX
                                                        ? UINT32_MAX
                                                        : ceil - o->backoff_min_ms + 1));
}

/* Both clocks now, through the seam when one is set. */
static void
watch_now(const node_watch_opts *o, uint64_t *boot, uint64_t *mono)
{
    if (o->clock) {
        o->clock(o->clock_ctx, boot, mono);
        return;
    }
    *boot = watch_clock_ms(CLOCK_BOOTTIME);
    *mono = watch_clock_ms(CLOCK_MONOTONIC);
}

static int
watch_stopping(const node_watch_opts *o)
{
    return o->sync.stop && *o->sync.stop;
}

static void
watch_sleep(const node_watch_opts *o, uint64_t ms)
{
    struct timespec ts;
    if (o->nap) {
        o->nap(o->clock_ctx, ms);
        return;
    }
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    /* EINTR (a signal) ends the nap early: the loop looks at the flags. */
    (void)nanosleep(&ts, NULL);
}

/* Failures that will not pass by themselves: retried slowly. */
static int
watch_needs_staff(int rc)
{
    switch (rc) {
    case RZ_E_FORK:
    case RZ_E_EPOCH:
    case RZ_E_QUARANTINE:
    case RZ_E_AUTH:
    case RZ_E_CONFIG:
    case RZ_E_SIGNATURE:
    case RZ_E_VERSION: return 1;
    default: return 0;
    }
}

int
node_watch_run(node_store *ns, const node_watch_opts *o, rz_error *err)
{
    node_store_status st;
    node_sync_result r;
    node_watch_event ev;
    rz_error serr;
    uint64_t now, mono, due, head_check = 0, last_head;
    uint64_t prev_boot, prev_mono;
    unsigned failures = 0;
    int rc, why = NODE_WATCH_FIRST;

    if ((rc = node_store_get_status(ns, &st, err)) != 0)
        return rc;
    last_head = st.head_seq;
    watch_now(o, &prev_boot, &prev_mono);
    due = prev_boot;
    while (!watch_stopping(o)) {
        watch_now(o, &now, &mono);
        /* Boot time ran ahead of monotonic time: the PC was suspended. */
        if ((now - prev_boot) > (mono - prev_mono) + NODE_WATCH_WAKE_GAP_MS) {
            why = NODE_WATCH_WOKE;
            due = now + o->settle_ms;
            failures = 0;
        }
        prev_boot = now;
        prev_mono = mono;
        if (node_lock_take_trigger()) {
            why = NODE_WATCH_ASKED;
            due = now;
        }
        if (now >= head_check) {
            head_check = now + o->poll_ms;
            if ((rc = node_store_get_status(ns, &st, err)) != 0)
                return rc;
            /* New records pull the next sync forward, never push it back
             * (a retry after a failure stays as drawn). */
            if (st.head_seq != last_head) {
                last_head = st.head_seq;
                if (failures == 0 && due > now + o->settle_ms) {
                    why = NODE_WATCH_RECORDS;
                    due = now + o->settle_ms;
                }
            }
        }
        if (now < due) {
            uint64_t nap = due - now;
            watch_sleep(o, nap < WATCH_SLICE_MS ? nap : WATCH_SLICE_MS);
            continue;
        }
        memset(&ev, 0, sizeof ev);
        ev.why = why;
        ev.failures = failures;
        if (o->report)
            o->report(o->report_ctx, &ev);
        serr.code = 0;
        serr.text[0] = '\0';
        rc = node_sync_run(ns, &o->sync, &r, &serr);
        if (rc != RZ_E_STOPPED) /* only advice for staff: a failure to note it is not fatal */
            (void)!node_store_note_attempt(ns, hlc_wall_ms(), rc, rc ? serr.text : "", NULL);
        if (rc == RZ_E_STOPPED || (rc != 0 && watch_stopping(o)))
            break;
        watch_now(o, &now, &mono);
        if (rc == 0) {
            failures = 0;
            why = NODE_WATCH_INTERVAL;
            due = now + o->interval_ms;
            /* Recorded while this sync ran: go again soon.  (The head also
             * moves by the clock entry the sync itself appends, which the
             * server then holds, so only entries beyond its head count.) */
            if (node_store_get_status(ns, &st, NULL) == 0) {
                last_head = st.head_seq;
                if (st.head_seq > r.server_head) {
                    why = NODE_WATCH_RECORDS;
                    due = now + o->settle_ms;
                }
            }
        } else {
            failures++;
            why = NODE_WATCH_RETRY;
            due = now +
                  (watch_needs_staff(rc) ? o->backoff_max_ms : node_watch_backoff_ms(o, failures));
        }
        ev.done = 1;
        ev.rc = rc;
        ev.r = &r;
        ev.err = &serr;
        ev.next_ms = due - now;
        ev.failures = failures;
        if (o->report)
            o->report(o->report_ctx, &ev);
        head_check = now + o->poll_ms;
    }
    return 0;
}
