#!/usr/bin/env bash
# The test command (README): installs packages, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every test suite with ctest (unit, integration,
# hostile input, fuzz replay, fault injection, browser, benchmark smoke run), then
# fuzzes for RZ_FUZZ_SECONDS (default 180).  Without arguments it first checks
# the formatting (scripts/format.sh --check).  Arguments go to ctest (e.g. -R e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
[ $# -eq 0 ] && bash scripts/format.sh --check
export RZ_SANITIZE=address,undefined
bash scripts/build.sh >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
(cd build-asan && ctest --output-on-failure -j2 --timeout 1500 "$@") || rc=$?
# The long suites' counts (cycles, entries checked, lost, duplicated), from ctest's log.
echo "== counts reported by the suites"
grep -hE '^(centre-app:|browser-app:|browser-roles:|kill-server|kill-merge|kill-node|lossy-link|disk-full|convergence|test_dayindex:|ranges( ending mid-month)?:|hostile|suppress:|public:|attack|spec (tables|vectors)|pynode|starvation|exhaustion|SKIP|PASS (merge pause|e2e|fork|trust|order|upgrade|package|backup|contact|places|centre|recover|pyrecover|month axis|date range|cli|unique total|day range|metrics|pynode|signin)|[0-9]+ passed, [0-9]+ failed|  check: )' \
  build-asan/Testing/Temporary/LastTest.log 2>/dev/null | sort -u || true
# The 100,000-row import's time (tests/unit/test_node_import.c).
grep -h '^import: ' build-asan/Testing/Temporary/LastTest.log 2>/dev/null | sort -u || true
# On a failure, its reason last, where a reader of a long log's tail finds it:
# each failing suite's FAIL lines, sanitizer reports and its last lines.
if [ $rc -ne 0 ]; then
  echo "== why the failing suites failed"
  python3 scripts/failures.py build-asan/Testing/Temporary/LastTest.log || true
fi
[ $rc -eq 0 ] || exit $rc
# Coverage-guided fuzzing of the decoders and batch verification, bounded in
# time (clang + libFuzzer + ASan/UBSan); prints runs and new inputs.
if [ $# -eq 0 ]; then
  bash tests/fuzz/run_fuzz.sh "${RZ_FUZZ_SECONDS:-180}"
fi
