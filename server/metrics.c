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
            "# HELP rozgar_batches_total Batches verified, stored, merged and acknowledged.\n"
            "# TYPE rozgar_batches_total counter\nrozgar_batches_total %llu\n",
            (unsigned long long)atomic_load(&m_batches));
    fprintf(out,
            "# HELP rozgar_entries_total Log entries newly stored and merged.\n"
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
