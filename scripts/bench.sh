#!/usr/bin/env bash
# Runs the benchmark (bench/, docs/PERFORMANCE.md) at three sizes, one after
# the other, on an optimised build without sanitizers, and appends every
# run's table and JSON line to a results file; then prints how the cost
# grows from one size to the next (per-entry costs must stay flat, i.e. the
# total cost grows linearly, and server memory must not follow the backlog).
#
#   bash scripts/bench.sh                  # small, medium, national
#   RZ_BENCH_SIZES="tiny small" bash scripts/bench.sh
#   RZ_BENCH_OUT=/tmp/results.txt RZ_BENCH_WORKDIR=/big/disk bash scripts/bench.sh
#
# Not run by CI (CI runs only `rozgar-bench --size tiny` through ctest, as a
# smoke test).  The national size takes 25 to 40 minutes on two cores and
# needs about 16 GB of free disk in the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${RZ_BENCH_SIZES:-"small medium national"}
dir=${RZ_BENCH_BUILD:-build-bench}
out=${RZ_BENCH_OUT:-$dir/bench-results.txt}
bash scripts/deps.sh >/dev/null
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRZ_SANITIZE= >/dev/null
cmake --build "$dir" -j"$(nproc)" --target rozgar-bench rozgar-server >/dev/null
args=()
if [ -n "${RZ_BENCH_WORKDIR:-}" ]; then args+=(--workdir "$RZ_BENCH_WORKDIR"); fi

{
  echo "=== rozgar-bench $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "=== $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
} >> "$out"
jsons=()
for size in $sizes; do
  echo "rozgar-bench --size $size ..." >&2
  log=$(mktemp)
  "$dir/rozgar-bench" --size "$size" "${args[@]}" > "$log"
  cat "$log" >> "$out"
  cat "$log"
  jsons+=("$(grep '^{"bench":"rozgar-bench"' "$log")")
  rm -f "$log"
done

# Growth: per-entry cost at each size against the smallest.
printf '%s\n' "${jsons[@]}" | python3 -c '
import json, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
if not runs:
    sys.exit(0)
base = runs[0]
def us(r, k_s, k_n):
    return 1e6 * r[k_s] / r[k_n] if r[k_n] else 0.0
print("\ngrowth (per-entry costs should stay flat; memory should not follow the backlog):")
print("%-9s %11s %11s %9s %9s %9s %9s %9s %9s" % ("size", "records", "x smallest",
      "ingest", "server", "record", "ref", "peak", "query"))
print("%-9s %11s %11s %9s %9s %9s %9s %9s %9s" % ("", "", "", "us/entry", "cpu us/e",
      "us/entry", "us/row", "MiB", "p99 ms"))
for r in runs:
    print("%-9s %11d %11.1f %9.2f %9.2f %9.2f %9.2f %9.1f %9.3f" % (r["size"], r["records"],
          r["records"] / base["records"], us(r, "ingest_s", "ingest_entries"),
          1e6 * r["ingest_server_cpu_s"] / max(r["ingest_entries"], 1),
          1e6 / r["recording_entries_per_s"] if r["recording_entries_per_s"] else 0,
          us(r, "reference_s", "reference_rows"), r["server_peak_mib"], r["query_p99_ms"]))
' | tee -a "$out"
echo "results appended to $out" >&2
