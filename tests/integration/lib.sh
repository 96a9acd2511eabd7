# Shared helpers for integration tests: real rozgar-server and rozgar-node
# processes on 127.0.0.1, each test in its own temporary directory.
# Usage: source "$(dirname "$0")/lib.sh" after setting nothing; the ctest
# wrapper passes BIN (build dir holding the executables).
set -euo pipefail

: "${BIN:?BIN must point at the build directory}"
NODE="$BIN/rozgar-node"
SERVER="$BIN/rozgar-server"
T=$(mktemp -d "${TMPDIR:-/tmp}/rz-it.XXXXXX")
SERVER_PID=""
PORT=""

cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ]; then
    echo "--- test failed (rc=$rc); server log tail:" >&2
    tail -n 30 "$T/server.log" 2>/dev/null >&2 || true
  fi
  [ -n "${RZ_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

# Sets PY to a python3 that has the modules the Python peers need (zmq, nacl,
# msgpack); without them the suite named $1 skips (exit 77), except in CI.
need_python_peer() {
  PY=""
  for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import zmq, nacl.bindings, msgpack' 2>/dev/null; then
      PY=$cand; return 0
    fi
  done
  [ -n "${CI:-}" ] && fail "python3-zmq, python3-nacl and python3-msgpack are required in CI"
  echo "SKIP $1: python3 with zmq, nacl and msgpack not found (scripts/deps.sh --test)"
  exit 77
}
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

# A free TCP port on loopback.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

server_init() {
  "$SERVER" -d "$T/srv" init > "$T/srv-init.out"
  SERVER_KEY=$(awk '/^server-key:/ {print $2}' "$T/srv-init.out")
  [ ${#SERVER_KEY} -eq 64 ] || fail "server init printed no key"
  PORT=${PORT:-$(free_port)}
  ENDPOINT="tcp://127.0.0.1:$PORT"
}

# server_start [extra run args...]: starts the server and waits until it serves.
server_start() {
  # Only this run's lines count: the log is appended over restarts.
  local from i
  from=$(stat -c %s "$T/server.log" 2>/dev/null || echo 0)
  "$SERVER" -d "$T/srv" run --bind "$ENDPOINT" "$@" >> "$T/server.log" 2>&1 &
  SERVER_PID=$!
  for i in $(seq 1 100); do
    tail -c +"$((from + 1))" "$T/server.log" 2>/dev/null | grep -q "serving $ENDPOINT" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited at start: $(tail -n 3 "$T/server.log")"
    sleep 0.1
  done
  fail "server did not start"
}

server_stop() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

server_kill9() {
  [ -n "$SERVER_PID" ] || return 0
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# node_new NAME CENTRE PROGRAMME PROVINCE DISTRICT: init, enroll, configure.
node_new() {
  local name=$1 centre=$2 prog=$3 prov=$4 dist=$5
  "$NODE" -d "$T/$name" init > "$T/$name.init"
  local token
  token=$(awk '/^enroll-token:/ {print $2}' "$T/$name.init")
  [ -n "$token" ] || fail "node $name printed no enroll token"
  "$SERVER" -d "$T/srv" enroll --token "$token" --centre "$centre" --programme "$prog" \
    --province "$prov" --district "$dist" > /dev/null
  "$NODE" -d "$T/$name" config --server "$ENDPOINT" --server-key "$SERVER_KEY" > /dev/null
}

node() { local name=$1; shift; "$NODE" -d "$T/$name" "$@"; }

# district_n PROVINCE N: the Nth district of PROVINCE in the shipped places
# list (enrollment accepts only places of the list), cycling past the end.
RZ_PLACES_TSV="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/data/places.tsv"
district_n() {
  awk -F'\t' -v p="$1" '$1 == "district" && $2 == p {print $3}' "$RZ_PLACES_TSV" |
    awk -v n="$2" '{d[NR] = $0} END {print d[(n - 1) % NR + 1]}'
}

# totals_value METRIC [--by D --where ...]: a single national figure as a number.
# merged: waits until the server has counted everything it acknowledged
# (merging follows the ack), so API answers and totals are complete.
merged() {
  "$SERVER" -d "$T/srv" totals --wait --timeout 120 > /dev/null || fail "merging did not catch up"
}

total() {
  "$SERVER" -d "$T/srv" totals --wait --timeout 120 --format csv "$@" | awk -F, 'NR==2 {print $NF}'
}
