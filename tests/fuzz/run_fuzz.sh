#!/usr/bin/env bash
# run_fuzz.sh SECONDS: builds the libFuzzer harnesses (clang, RZ_FUZZ=ON,
# ASan + UBSan) into build-fuzz/ and runs each harness for SECONDS/(number of harnesses) from
# the committed seeds in tests/fuzz/corpus/<harness>/ with the msgpack
# dictionary (csv.dict for fuzz_import).  Prints execs and new corpus
# inputs per harness; exits non-zero when any harness crashes, leaks, times
# out or breaks an invariant (its reproducer is left in
# build-fuzz/fuzz-run/artifacts/).
# The committed corpus is only read: new inputs go to build-fuzz/fuzz-run/.
#
# Environment: RZ_FUZZ_BUILD_DIR (default build-fuzz), RZ_FUZZ_JOBS.
set -euo pipefail

secs=${1:-}
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 4 ]; then
  echo "usage: $0 SECONDS (>= 5; each of the 5 harnesses gets SECONDS/5)" >&2
  exit 2
fi
cd "$(dirname "$0")/../.."
root=$PWD
B=${RZ_FUZZ_BUILD_DIR:-$root/build-fuzz}
harnesses=(fuzz_msg fuzz_entry fuzz_ingest fuzz_import fuzz_bundle)
command -v clang >/dev/null || { echo "run_fuzz: clang is required (scripts/deps.sh)" >&2; exit 2; }

# Warnings are not errors here: this build exists to run the fuzzers, and
# clang may warn where gcc does not; the gcc build keeps -Werror.
mkdir -p "$B"
cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRZ_FUZZ=ON -DRZ_SANITIZE=address,undefined -DRZ_WERROR=OFF > "$B/cmake.log" 2>&1 ||
  { cat "$B/cmake.log" >&2; exit 2; }
cmake --build "$B" -j"${RZ_FUZZ_JOBS:-$(nproc)}" --target "${harnesses[@]}" > "$B/build.log" 2>&1 ||
  { tail -n 40 "$B/build.log" >&2; exit 2; }

run="$B/fuzz-run"
rm -rf "$run"
mkdir -p "$run/artifacts"
per=$((secs / ${#harnesses[@]}))
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for h in "${harnesses[@]}"; do
  mkdir -p "$run/$h"
  seeds=$(find "$root/tests/fuzz/corpus/$h" -type f | wc -l)
  dict=msgpack.dict
  [ "$h" = fuzz_import ] && dict=csv.dict
  rc=0
  # First corpus dir receives new inputs; the committed one is read only.
  "$B/tests/fuzz/$h" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="$root/tests/fuzz/$dict" -print_final_stats=1 \
    -artifact_prefix="$run/artifacts/$h-" \
    "$run/$h" "$root/tests/fuzz/corpus/$h" > "$run/$h.log" 2>&1 || rc=$?
  execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$run/$h.log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$run/$h.log" | tail -n 1 | awk '{print $2}')
  new=$(find "$run/$h" -type f | wc -l)
  echo "$h: ${execs:-0} execs in ${per}s, ${new} new corpus inputs (from ${seeds} seeds), coverage ${cov:-?}"
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "$h: FAILED (exit $rc); reproducer(s):" >&2
    ls "$run/artifacts/" | grep "^$h-" | sed "s|^|  $run/artifacts/|" >&2 || true
    grep -E "ERROR:|invariant broken|runtime error|SUMMARY" "$run/$h.log" | head -n 10 >&2 || true
    echo "  log: $run/$h.log" >&2
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "run_fuzz: a harness failed" >&2
  exit 1
fi
echo "run_fuzz: no crash in ${secs}s"
