/*
 * report: the benchmark's output.  A table for people (every figure with
 * its ratio to the SQLite reference and its target) and one JSON line for
 * machines, the last line on stdout, starting with {"bench":"rozgar-bench".
 */
#ifndef RZ_BENCH_REPORT_H
#define RZ_BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "bench/micro.h"
#include "bench/qbench.h"

typedef struct bench_figures {
    /* the run */
    const char *size;                             /* size name or "custom" */
    uint32_t centres;                             /* centres (= nodes) */
    uint64_t people, events, attendance, records; /* data set */
    uint32_t concurrency;                         /* K */
    char machine[256];                            /* CPU, cores, memory, disk */
    double total_s;                               /* whole run */
    double load_start, load_end;                  /* 1-minute load average before and after */
    int never_synced;                             /* nodes recorded before any WELCOME */
    /* reference */
    uint64_t ref_rows;     /* rows inserted */
    double ref_s;          /* seconds in transactions */
    double ref_rate;       /* rows/s */
    uint64_t ref_db_bytes; /* database size */
    double ref_query_ms;   /* plain GROUP BY over the reference person table */
    /* recording at the node */
    uint64_t rec_entries;   /* recordings (log entries) */
    double rec_s;           /* seconds in transactions */
    double rec_rate;        /* entries/s, RZ_BATCH_ENTRIES per transaction */
    uint64_t rec1_entries;  /* sample with one transaction per recording */
    double rec1_rate;       /* its entries/s */
    uint64_t node_db_bytes; /* all node directories */
    /* ingest */
    uint64_t ing_entries;     /* entries newly stored (server count) */
    uint64_t ing_batches;     /* ACKs */
    uint64_t ing_sessions;    /* HELLOs */
    uint64_t ing_failures;    /* nodes whose sync failed */
    double ing_s;             /* wall time of the concurrent drain */
    double ing_rate;          /* entries/s */
    double ing_slowest_s;     /* slowest node */
    double ing_server_cpu_s;  /* server CPU seconds during the drain */
    double ing_client_cpu_s;  /* the K nodes' CPU seconds (this process) */
    char ing_error[200];      /* first failure text */
    uint64_t server_db_bytes; /* server directory after the run */
    /* counting behind the ack (bench/mwatch.h) */
    int merge_behind;        /* 1: the server reports a merge lag */
    double complete_s;       /* first HELLO until every acked entry counted */
    double merge_rate;       /* entries counted per second of merging */
    uint64_t merged_entries; /* counted during the drains (server's count) */
    double merge_busy_s;     /* server time spent merging during the drains */
    /* steady load (bench/steady.h) */
    double steady_s;          /* how long it ran (0: not run) */
    double steady_interval_s; /* each centre synced once per interval */
    uint32_t steady_per_sync; /* records per sync */
    uint64_t steady_syncs;    /* syncs completed */
    uint64_t steady_failures; /* syncs failed */
    uint64_t steady_entries;  /* entries acknowledged */
    double lag_p99_s;         /* merge lag p99 over the load, seconds */
    double lag_max_s;         /* its maximum */
    uint64_t lag_samples;     /* samples behind them */
    /* wire */
    uint64_t batch_bytes;       /* BATCH payload bytes the server acknowledged */
    double bytes_per_entry;     /* batch_bytes / entries */
    double att_wire_bytes;      /* attendance entry: bin-encoded entry + envelope share */
    double person_wire_bytes;   /* person entry incl. its revealed values */
    double event_wire_bytes;    /* event entry */
    double transport_per_entry; /* ZMTP + CURVE framing of BATCH and ACK, per entry */
    double ip_bytes_per_entry;  /* loopback IP octets during the drain / entries */
    /* memory */
    uint64_t peak_kib;      /* server VmHWM after the drains */
    uint64_t peak_exit_kib; /* ru_maxrss at exit (after queries too) */
    /* backlog */
    uint64_t b30_entries; /* one centre's 30-day backlog */
    double b30_s;         /* time to drain it alone */
    /* queries */
    qbench_result q;                 /* in-process query layer */
    double http_p50_ms, http_p99_ms; /* dashboard JSON API over HTTP */
    /* unit costs */
    micro_result micro; /* hash, signature, fsync */
    /* checks */
    int checks_ok;        /* 1 when the totals match the data */
    char check_text[256]; /* what was checked / what differed */
} bench_figures;

void report_table(FILE *out, const bench_figures *f);
void report_json(FILE *out, const bench_figures *f);

#endif
