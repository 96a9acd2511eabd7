#!/usr/bin/env bash
# format.sh [--check]: formats every C source and header tracked by git with
# the checked-in .clang-format, or with --check only reports the files that
# differ from it and exits 1 (CI runs the check; STYLE §9).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format: clang-format is required (scripts/deps.sh)" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "format: $f differs from .clang-format (run scripts/format.sh)" >&2
      bad=$((bad + 1))
    fi
  done
  echo "format: ${#files[@]} files checked, $bad differ"
  [ "$bad" -eq 0 ]
else
  clang-format -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
fi
