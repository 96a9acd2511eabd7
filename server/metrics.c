/* metrics: lock-free counters for the Prometheus endpoint. */
#include "server/metrics.h"

#include <stdatomic.h>

#include "common/hlc.h"
#include "common/rz_err.h"

static atomic_uint_fast64_t m_batches;                  /* batches acknowledged */
static atomic_uint_fast64_t m_entries;                  /* entries newly stored */
static atomic_uint_fast64_t m_bytes;                    /* BATCH bytes received and acked */
static atomic_uint_fast64_t m_hellos;                   /* HELLOs answered */
static atomic_uint_fast64_t m_rejects[METRICS_REASONS]; /* by -code */
static atomic_uint_fast64_t m_started_ms;               /* process start, for rates */
static atomic_uint_fast64_t m_merged;                   /* entries counted by the merger */
static atomic_uint_fast64_t m_merge_windows;            /* merge windows committed */
static atomic_uint_fast64_t m_merge_ms;                 /* time spent in them */
static atomic_uint_fast64_t m_merge_failed;             /* windows rolled back */
static atomic_uint_fast64_t m_merge_last_window;        /* entries of the last window */
static atomic_uint_fast64_t m_merge_max_window;         /* largest window */
static atomic_uint_fast64_t m_merge_idle_ms;            /* last time nothing was left */

void
metrics_merge_window(uint64_t entries, uint64_t ms)
{
    uint_fast64_t max = atomic_load(&m_merge_max_window);
    atomic_fetch_add(&m_merged, entries);
    atomic_fetch_add(&m_merge_windows, 1);
    atomic_fetch_add(&m_merge_ms, ms);
    atomic_store(&m_merge_last_window, entries);
    while (entries > max && !atomic_compare_exchange_weak(&m_merge_max_window, &max, entries))
        ;
}

void
metrics_merge_failed(void)
{
    atomic_fetch_add(&m_merge_failed, 1);
}

void
metrics_merge_idle(uint64_t now_ms)
{
    atomic_store(&m_merge_idle_ms, now_ms);
}

void
metrics_write_merge_lag(FILE *out, uint64_t lag_entries, uint64_t now_ms)
{
    uint64_t idle = atomic_load(&m_merge_idle_ms);
    uint64_t secs = lag_entries > 0 && idle > 0 && now_ms > idle ? (now_ms - idle) / 1000 : 0;
    fprintf(
        out,
        "# HELP rozgar_merge_lag_entries Entries acknowledged (in the logs) and not yet"
        " counted.\n# TYPE rozgar_merge_lag_entries gauge\nrozgar_merge_lag_entries %llu\n"
        "# HELP rozgar_merge_lag_seconds Time since the merger was last caught up, while"
        " entries wait.\n# TYPE rozgar_merge_lag_seconds gauge\nrozgar_merge_lag_seconds %llu\n",
        (unsigned long long)lag_entries, (unsigned long long)secs);
}

void
metrics_batches_ok(uint64_t batches, uint64_t entries_new, uint64_t bytes)
{
    uint_fast64_t zero = 0;
    atomic_compare_exchange_strong(&m_started_ms, &zero, hlc_wall_ms());
    atomic_fetch_add(&m_batches, batches);
    atomic_fetch_add(&m_entries, entries_new);
    atomic_fetch_add(&m_bytes, bytes);
}

void
metrics_batch_ok(uint64_t entries_new, uint64_t bytes)
{
    metrics_batches_ok(1, entries_new, bytes);
}

void
metrics_reject(int code)
{
    int i = code < 0 ? -code : code;
    atomic_fetch_add(&m_rejects[i < METRICS_REASONS ? i : 0], 1);
}

void
metrics_hello(void)
{
    atomic_fetch_add(&m_hellos, 1);
}

uint64_t
metrics_entries_total(void)
{
    return atomic_load(&m_entries);
}

void
metrics_write_prometheus(FILE *out)
{
    int i;
    fprintf(out,
            "# HELP rozgar_batches_total Batches verified, stored and acknowledged.\n"
            "# TYPE rozgar_batches_total counter\nrozgar_batches_total %llu\n",
            (unsigned long long)atomic_load(&m_batches));
    fprintf(out,
            "# HELP rozgar_entries_total Log entries newly stored (acknowledged).\n"
            "# TYPE rozgar_entries_total counter\nrozgar_entries_total %llu\n",
            (unsigned long long)atomic_load(&m_entries));
    fprintf(out,
            "# HELP rozgar_batch_bytes_total Bytes of acknowledged batches.\n"
            "# TYPE rozgar_batch_bytes_total counter\nrozgar_batch_bytes_total %llu\n",
            (unsigned long long)atomic_load(&m_bytes));
    fprintf(out,
            "# HELP rozgar_hellos_total Sync sessions started.\n"
            "# TYPE rozgar_hellos_total counter\nrozgar_hellos_total %llu\n",
            (unsigned long long)atomic_load(&m_hellos));
    fprintf(out,
            "# HELP rozgar_merged_entries_total Entries counted by the merger (merge rate:"
            " its rate()).\n# TYPE rozgar_merged_entries_total counter\n"
            "rozgar_merged_entries_total %llu\n"
            "# HELP rozgar_merge_windows_total Merge windows committed.\n"
            "# TYPE rozgar_merge_windows_total counter\nrozgar_merge_windows_total %llu\n"
            "# HELP rozgar_merge_seconds_total Time spent merging.\n"
            "# TYPE rozgar_merge_seconds_total counter\nrozgar_merge_seconds_total %.3f\n"
            "# HELP rozgar_merge_failures_total Merge windows rolled back (storage).\n"
            "# TYPE rozgar_merge_failures_total counter\nrozgar_merge_failures_total %llu\n"
            "# HELP rozgar_merge_window_entries Entries in the last merge window.\n"
            "# TYPE rozgar_merge_window_entries gauge\nrozgar_merge_window_entries %llu\n"
            "# HELP rozgar_merge_window_entries_max Largest merge window so far.\n"
            "# TYPE rozgar_merge_window_entries_max gauge\nrozgar_merge_window_entries_max %llu\n",
            (unsigned long long)atomic_load(&m_merged),
            (unsigned long long)atomic_load(&m_merge_windows),
            (double)atomic_load(&m_merge_ms) / 1000.0,
            (unsigned long long)atomic_load(&m_merge_failed),
            (unsigned long long)atomic_load(&m_merge_last_window),
            (unsigned long long)atomic_load(&m_merge_max_window));
    fprintf(out, "# HELP rozgar_rejects_total Messages refused, by reason.\n"
                 "# TYPE rozgar_rejects_total counter\n");
    for (i = 1; i < METRICS_REASONS; i++) {
        const char *name = rz_err_name(-i);
        if (i != 1 && name[0] == 'u') /* "unknown": not a code we use */
            continue;
        fprintf(out, "rozgar_rejects_total{reason=\"%s\"} %llu\n", name,
                (unsigned long long)atomic_load(&m_rejects[i]));
    }
}
