/*
 * report: table and JSON line of a benchmark run; see report.h.
 *
 * Ratios are always "this figure against what plain SQLite does with the
 * same rows on the same machine in the same run": rates divide by the
 * reference insert rate; times compare with the time the reference needs
 * for the same rows (or, for queries, a plain GROUP BY over its table);
 * sizes compare with the reference's bytes per row; memory with the size of
 * the reference database (it must not grow with it).
 */
#include "bench/report.h"

#include <string.h>

#include "proto/wire.h"

/* 1234567 -> "1,234,567" into buf. */
static const char *
report_num(char *buf, size_t n, double v)
{
    char raw[64], *o = buf;
    int len, i, lead;
    snprintf(raw, sizeof raw, "%.0f", v < 0 ? -v : v);
    len = (int)strlen(raw);
    lead = len % 3 ? len % 3 : 3;
    if (v < 0 && o < buf + n - 1)
        *o++ = '-';
    for (i = 0; i < len && o < buf + n - 2; i++) {
        if (i > 0 && (i - lead) % 3 == 0)
            *o++ = ',';
        *o++ = raw[i];
    }
    *o = '\0';
    return buf;
}

static double
report_ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void
report_row(FILE *out, const char *name, const char *value, const char *unit, double ratio,
           const char *target, int met)
{
    char r[32] = "-";
    if (ratio > 0)
        snprintf(r, sizeof r, ratio < 0.01 ? "%.4f" : ratio < 10 ? "%.3f" : "%.1f", ratio);
    fprintf(out, "  %-46s %14s %-10s %9s   %-9s %s\n", name, value, unit, r, target ? target : "",
            target ? (met ? "met" : "MISSED") : "");
}

static void
report_head(FILE *out, const bench_figures *f)
{
    char a[32], b[32], c[32], d[32];
    fprintf(out,
            "\nRozgar Sync benchmark, size %s: %u centres, %s people, %s events, %s "
            "attendance rows (%s records); %u centres drain at once\n",
            f->size, f->centres, report_num(a, sizeof a, (double)f->people),
            report_num(b, sizeof b, (double)f->events),
            report_num(c, sizeof c, (double)f->attendance),
            report_num(d, sizeof d, (double)f->records), f->concurrency);
    fprintf(out, "machine: %s; load average %.2f at start, %.2f at end\n", f->machine,
            f->load_start, f->load_end);
    fprintf(out, "loopback, CurveZMQ on, every batch verified (Ed25519 + hash chain), "
                 "synchronous=FULL on both sides\n");
    fprintf(out, "%s\n\n",
            f->never_synced ? "nodes never synced before the drain: no checkpoints in their logs"
                            : "nodes synced once before recording: a checkpoint every 1,000 "
                              "entries (PROTOCOL 4.6)");
    fprintf(out, "  %-46s %14s %-10s %9s   %-9s\n", "figure", "value", "unit", "x ref", "target");
}

/* Counting behind the ack: merge rate, time to complete totals, merge lag
 * under the steady load.  A server that counts inside its ack is complete
 * at its last ACK (merge rate = ack rate, lag 0). */
static void
report_merge(FILE *out, const bench_figures *f)
{
    double ref_time = f->ref_rate > 0 ? (double)f->ing_entries / f->ref_rate : 0;
    char v[32], name[96];
    snprintf(name, sizeof name, "merge rate (counted per s of merging)%s",
             f->merge_behind ? "" : " = ack");
    report_row(out, name, report_num(v, sizeof v, f->merge_rate), "entries/s",
               report_ratio(f->merge_rate, f->ref_rate), ">= 0.2",
               report_ratio(f->merge_rate, f->ref_rate) >= 0.2);
    snprintf(v, sizeof v, "%.2f", f->complete_s);
    report_row(out, "time to complete totals (HELLO to counted)", v, "s",
               report_ratio(ref_time, f->complete_s), ">= 0.2",
               report_ratio(ref_time, f->complete_s) >= 0.2);
    if (f->steady_s <= 0)
        return;
    snprintf(name, sizeof name, "merge lag p99, %u centres x %u every %.0f s (%.0fx)", f->centres,
             f->steady_per_sync, f->steady_interval_s,
             f->steady_interval_s > 0 ? 60.0 / f->steady_interval_s : 0);
    snprintf(v, sizeof v, "%.2f", f->lag_p99_s);
    report_row(out, name, v, "s", 0, "<= 1", f->lag_p99_s <= 1.0);
    snprintf(name, sizeof name, "  max over %llu samples in %.0f s; %llu syncs, %llu failed",
             (unsigned long long)f->lag_samples, f->steady_s, (unsigned long long)f->steady_syncs,
             (unsigned long long)f->steady_failures);
    snprintf(v, sizeof v, "%.2f", f->lag_max_s);
    report_row(out, name, v, "s", 0, NULL, 0);
}

static void
report_rates(FILE *out, const bench_figures *f)
{
    char v[32], name[96];
    snprintf(name, sizeof name, "reference: SQLite insert, %d rows/txn", RZ_BATCH_ENTRIES);
    report_row(out, name, report_num(v, sizeof v, f->ref_rate), "rows/s", 1.0, NULL, 0);
    snprintf(name, sizeof name, "recording at a centre, %d per txn", RZ_BATCH_ENTRIES);
    report_row(out, name, report_num(v, sizeof v, f->rec_rate), "entries/s",
               report_ratio(f->rec_rate, f->ref_rate), ">= 0.5",
               report_ratio(f->rec_rate, f->ref_rate) >= 0.5);
    report_row(out, "recording, one txn per command (CLI)", report_num(v, sizeof v, f->rec1_rate),
               "entries/s", report_ratio(f->rec1_rate, f->ref_rate), NULL, 0);
    snprintf(name, sizeof name, "ack rate (ingest), %u centres at once", f->concurrency);
    report_row(out, name, report_num(v, sizeof v, f->ing_rate), "entries/s",
               report_ratio(f->ing_rate, f->ref_rate), ">= 0.5",
               report_ratio(f->ing_rate, f->ref_rate) >= 0.5);
    snprintf(name, sizeof name, "ingest wall time (%s entries)",
             report_num(v, sizeof v, (double)f->ing_entries));
    snprintf(v, sizeof v, "%.2f", f->ing_s);
    report_row(out, name, v, "s", report_ratio((double)f->ing_entries / f->ref_rate, f->ing_s),
               NULL, 0);
    snprintf(v, sizeof v, "%.1f",
             f->ing_entries ? f->ing_server_cpu_s * 1e6 / (double)f->ing_entries : 0);
    snprintf(name, sizeof name, "server CPU per entry (busy %.0f%% of the drain)",
             f->ing_s > 0 ? 100.0 * f->ing_server_cpu_s / f->ing_s : 0);
    report_row(
        out, name, v, "us",
        report_ratio(f->ref_s * 1e6 / (double)f->ref_rows,
                     f->ing_server_cpu_s * 1e6 / (double)(f->ing_entries ? f->ing_entries : 1)),
        NULL, 0);
    snprintf(v, sizeof v, "%.1f",
             f->ing_entries ? f->ing_client_cpu_s * 1e6 / (double)f->ing_entries : 0);
    snprintf(name, sizeof name, "the %u nodes' CPU per entry (%.0f%% of one CPU)", f->concurrency,
             f->ing_s > 0 ? 100.0 * f->ing_client_cpu_s / f->ing_s : 0);
    report_row(out, name, v, "us", 0, NULL, 0);
    report_merge(out, f);
    snprintf(name, sizeof name, "30-day backlog of one centre (%s entries)",
             report_num(v, sizeof v, (double)f->b30_entries));
    snprintf(v, sizeof v, "%.3f", f->b30_s);
    report_row(out, name, v, "s", report_ratio((double)f->b30_entries / f->ref_rate, f->b30_s),
               NULL, 0);
}

static void
report_sizes(FILE *out, const bench_figures *f)
{
    double ref_row = report_ratio((double)f->ref_db_bytes, (double)f->ref_rows);
    double mib = (double)f->peak_kib / 1024.0;
    char v[32];
    snprintf(v, sizeof v, "%.1f", mib);
    report_row(out, "server peak memory (VmHWM) during drains", v, "MiB",
               report_ratio((double)f->peak_kib * 1024.0, (double)f->ref_db_bytes), "< 256",
               mib < 256);
    snprintf(v, sizeof v, "%.1f", (double)f->peak_exit_kib / 1024.0);
    report_row(out, "server peak memory at exit (after queries)", v, "MiB",
               report_ratio((double)f->peak_exit_kib * 1024.0, (double)f->ref_db_bytes), NULL, 0);
    snprintf(v, sizeof v, "%.1f", f->bytes_per_entry);
    report_row(out, "BATCH payload per entry (all kinds)", v, "bytes",
               report_ratio(f->bytes_per_entry, ref_row), NULL, 0);
    snprintf(v, sizeof v, "%.1f", f->att_wire_bytes);
    report_row(out, "  attendance entry", v, "bytes", report_ratio(f->att_wire_bytes, ref_row),
               "<= 60", f->att_wire_bytes <= 60);
    snprintf(v, sizeof v, "%.1f", f->person_wire_bytes);
    report_row(out, "  person entry, revealed values included", v, "bytes",
               report_ratio(f->person_wire_bytes, ref_row), NULL, 0);
    snprintf(v, sizeof v, "%.1f", f->event_wire_bytes);
    report_row(out, "  event entry", v, "bytes", report_ratio(f->event_wire_bytes, ref_row), NULL,
               0);
    snprintf(v, sizeof v, "%.2f", f->transport_per_entry);
    report_row(out, "ZMTP + CURVE framing per entry (BATCH + ACK)", v, "bytes",
               report_ratio(f->transport_per_entry, ref_row), NULL, 0);
    snprintf(v, sizeof v, "%.1f", f->ip_bytes_per_entry);
    report_row(out, "loopback bytes per entry, both ways, all hdrs", v, "bytes",
               report_ratio(f->ip_bytes_per_entry, ref_row), NULL, 0);
}

static void
report_queries(FILE *out, const bench_figures *f)
{
    char v[32];
    int i;
    snprintf(v, sizeof v, "%.3f", f->q.p50_ms);
    report_row(out, "dashboard breakdowns p50", v, "ms", report_ratio(f->q.p50_ms, f->ref_query_ms),
               NULL, 0);
    snprintf(v, sizeof v, "%.3f", f->q.p99_ms);
    report_row(out, "dashboard breakdowns p99", v, "ms", report_ratio(f->q.p99_ms, f->ref_query_ms),
               "< 10", f->q.p99_ms < 10);
    snprintf(v, sizeof v, "%.3f", f->q.cpu_p99_ms);
    report_row(out, "  p99 of their CPU time (no scheduling delay)", v, "ms",
               report_ratio(f->q.cpu_p99_ms, f->ref_query_ms), NULL, 0);
    snprintf(v, sizeof v, "%.2f", f->q.range_p50_ms);
    report_row(out, "date-range breakdown (day index) p50", v, "ms",
               report_ratio(f->q.range_p50_ms, f->ref_query_ms), NULL, 0);
    snprintf(v, sizeof v, "%.2f / %.2f", f->http_p50_ms, f->http_p99_ms);
    report_row(out, "dashboard JSON API over HTTP p50 / p99", v, "ms",
               report_ratio(f->http_p99_ms, f->ref_query_ms), NULL, 0);
    snprintf(v, sizeof v, "%.1f", f->ref_query_ms);
    report_row(out, "reference: GROUP BY over the person rows", v, "ms", 1.0, NULL, 0);
    fprintf(out, "\n  %-46s %10s %10s %10s %12s\n", "dashboard query", "p50 ms", "p99 ms", "max ms",
            "value");
    for (i = 0; i < f->q.n; i++)
        fprintf(out, "  %-46s %10.3f %10.3f %10.3f %12lld\n", f->q.row[i].name, f->q.row[i].p50_ms,
                f->q.row[i].p99_ms, f->q.row[i].max_ms, (long long)f->q.row[i].value);
}

static void
report_micro(FILE *out, const bench_figures *f)
{
    const micro_result *m = &f->micro;
    fprintf(out,
            "\n  unit costs on this machine: chain hash %.2f us/entry, Ed25519 verify %.1f "
            "us/batch, receipt sign %.1f us/batch, PII commitment %.2f us/value, "
            "4 KiB write + fdatasync %.0f us\n",
            m->chain_hash_us, m->verify_us, m->sign_us, m->commit_us, m->fsync_us);
}

void
report_table(FILE *out, const bench_figures *f)
{
    char a[32], b[32], c[32], d[32];
    report_head(out, f);
    report_rates(out, f);
    report_sizes(out, f);
    report_queries(out, f);
    report_micro(out, f);
    fprintf(out, "\n  totals: %s registered, %s trainees, %s attendances, %s events\n",
            report_num(a, sizeof a, (double)f->q.registered),
            report_num(b, sizeof b, (double)f->q.trainees),
            report_num(c, sizeof c, (double)f->q.attendances),
            report_num(d, sizeof d, (double)f->q.events));
    fprintf(out,
            "  sync: %llu batches, %llu sessions, %llu failed nodes%s%s; storage: server "
            "%.1f MiB, nodes %.1f MiB, reference %.1f MiB\n",
            (unsigned long long)f->ing_batches, (unsigned long long)f->ing_sessions,
            (unsigned long long)f->ing_failures, f->ing_error[0] ? ": " : "", f->ing_error,
            (double)f->server_db_bytes / 1048576.0, (double)f->node_db_bytes / 1048576.0,
            (double)f->ref_db_bytes / 1048576.0);
    fprintf(out, "  check: %s (%s); run took %.1f s\n\n", f->checks_ok ? "ok" : "FAILED",
            f->check_text, f->total_s);
}

void
report_json(FILE *out, const bench_figures *f)
{
    fprintf(out,
            "{\"bench\":\"rozgar-bench\",\"version\":1,\"size\":\"%s\",\"centres\":%u,"
            "\"people\":%llu,\"events\":%llu,\"attendance\":%llu,\"records\":%llu,"
            "\"concurrency\":%u,\"batch_entries\":%d,\"never_synced\":%d,",
            f->size, f->centres, (unsigned long long)f->people, (unsigned long long)f->events,
            (unsigned long long)f->attendance, (unsigned long long)f->records, f->concurrency,
            RZ_BATCH_ENTRIES, f->never_synced);
    fprintf(out,
            "\"reference_rows_per_s\":%.0f,\"reference_rows\":%llu,\"reference_s\":%.3f,"
            "\"recording_entries_per_s\":%.0f,\"recording_ratio\":%.4f,"
            "\"recording_single_txn_entries_per_s\":%.0f,\"recording_single_txn_ratio\":%.5f,",
            f->ref_rate, (unsigned long long)f->ref_rows, f->ref_s, f->rec_rate,
            report_ratio(f->rec_rate, f->ref_rate), f->rec1_rate,
            report_ratio(f->rec1_rate, f->ref_rate));
    fprintf(out,
            "\"ingest_entries_per_s\":%.0f,\"ingest_ratio\":%.4f,\"ingest_entries\":%llu,"
            "\"ingest_s\":%.3f,\"ingest_batches\":%llu,\"ingest_sessions\":%llu,"
            "\"ingest_failed_nodes\":%llu,\"ingest_server_cpu_s\":%.3f,"
            "\"ingest_client_cpu_s\":%.3f,"
            "\"backlog30_entries\":%llu,\"backlog30_s\":%.4f,",
            f->ing_rate, report_ratio(f->ing_rate, f->ref_rate), (unsigned long long)f->ing_entries,
            f->ing_s, (unsigned long long)f->ing_batches, (unsigned long long)f->ing_sessions,
            (unsigned long long)f->ing_failures, f->ing_server_cpu_s, f->ing_client_cpu_s,
            (unsigned long long)f->b30_entries, f->b30_s);
    fprintf(out,
            "\"merge_behind\":%d,\"merge_entries_per_s\":%.0f,\"merge_ratio\":%.4f,"
            "\"merged_entries\":%llu,\"merge_busy_s\":%.3f,\"complete_s\":%.3f,"
            "\"complete_ratio\":%.4f,\"steady_s\":%.1f,\"steady_interval_s\":%.2f,"
            "\"steady_per_sync\":%u,\"steady_syncs\":%llu,\"steady_failures\":%llu,"
            "\"steady_entries\":%llu,\"merge_lag_p99_s\":%.3f,\"merge_lag_max_s\":%.3f,"
            "\"merge_lag_samples\":%llu,",
            f->merge_behind, f->merge_rate, report_ratio(f->merge_rate, f->ref_rate),
            (unsigned long long)f->merged_entries, f->merge_busy_s, f->complete_s,
            report_ratio(f->ref_rate > 0 ? (double)f->ing_entries / f->ref_rate : 0, f->complete_s),
            f->steady_s, f->steady_interval_s, f->steady_per_sync,
            (unsigned long long)f->steady_syncs, (unsigned long long)f->steady_failures,
            (unsigned long long)f->steady_entries, f->lag_p99_s, f->lag_max_s,
            (unsigned long long)f->lag_samples);
    fprintf(out,
            "\"batch_bytes_per_entry\":%.2f,\"attendance_wire_bytes\":%.2f,"
            "\"person_wire_bytes\":%.2f,\"event_wire_bytes\":%.2f,"
            "\"transport_bytes_per_entry\":%.3f,\"loopback_ip_bytes_per_entry\":%.2f,"
            "\"server_peak_mib\":%.1f,\"server_peak_exit_mib\":%.1f,",
            f->bytes_per_entry, f->att_wire_bytes, f->person_wire_bytes, f->event_wire_bytes,
            f->transport_per_entry, f->ip_bytes_per_entry, (double)f->peak_kib / 1024.0,
            (double)f->peak_exit_kib / 1024.0);
    fprintf(out,
            "\"query_p50_ms\":%.4f,\"query_p99_ms\":%.4f,\"query_cpu_p99_ms\":%.4f,"
            "\"query_ratio_p99\":%.5f,"
            "\"range_query_p50_ms\":%.3f,\"http_p50_ms\":%.3f,\"http_p99_ms\":%.3f,"
            "\"reference_query_ms\":%.3f,\"server_db_bytes\":%llu,\"node_db_bytes\":%llu,"
            "\"reference_db_bytes\":%llu,\"registered\":%lld,\"trainees\":%lld,"
            "\"attendances\":%lld,\"chain_hash_us\":%.3f,\"verify_us\":%.2f,"
            "\"fsync_us\":%.1f,\"load_start\":%.2f,\"load_end\":%.2f,\"total_s\":%.1f,"
            "\"check\":\"%s\"}\n",
            f->q.p50_ms, f->q.p99_ms, f->q.cpu_p99_ms, report_ratio(f->q.p99_ms, f->ref_query_ms),
            f->q.range_p50_ms, f->http_p50_ms, f->http_p99_ms, f->ref_query_ms,
            (unsigned long long)f->server_db_bytes, (unsigned long long)f->node_db_bytes,
            (unsigned long long)f->ref_db_bytes, (long long)f->q.registered,
            (long long)f->q.trainees, (long long)f->q.attendances, f->micro.chain_hash_us,
            f->micro.verify_us, f->micro.fsync_us, f->load_start, f->load_end, f->total_s,
            f->checks_ok ? "ok" : "failed");
}
