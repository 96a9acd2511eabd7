#!/usr/bin/env bash
# The test command (README): installs packages, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every test suite with ctest (unit, integration,
# hostile input, fuzz replay, fault injection, benchmark smoke run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
export RZ_SANITIZE=address,undefined
bash scripts/build.sh >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan
ctest --output-on-failure -j2 --timeout 1500 "$@"
