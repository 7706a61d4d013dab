#!/usr/bin/env bash
# Every bench of issue 12's table at the issue's sizes, each three runs with its floor in the
# same run, then one summary of the lines that table quotes. Run from the repository root on a
# quiet machine (nothing else busy: the load average is printed before and after each bench).
#
#   bench/run_all.sh [OUT_DIR]          # full outputs go to OUT_DIR (default: a temporary one)
#
# PostgreSQL for the ingest bench: TIDINGS_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test).
# It took 12 to 18 minutes on a quiet machine of the 2-core class (ingest and fan-out the longest); load stretches it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${1:-$(mktemp -d -t tidings-bench-XXXXXX)}
PG=${TIDINGS_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/test}
mkdir -p "$OUT"
export COLUMNS=160

run() {  # name, command...
  local name=$1; shift
  echo "== $name: $* (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$OUT/commands.txt"
  local started=$SECONDS
  "$@" >"$OUT/$name.txt" 2>&1 || echo "!! $name failed (see $OUT/$name.txt)"
  echo "   took $((SECONDS - started)) s; load after: $(cut -d' ' -f1-3 /proc/loadavg)" \
    | tee -a "$OUT/commands.txt"
}

run fanout-10k      "$PY" bench/fanout.py --devices 10000 --runs 3
# The issue asks for 20k idle devices; the open-file hard limit of this machine class is 20,000
# and a container may not raise it, so the largest run that fits is 19,500 devices.
IDLE=${IDLE_DEVICES:-19500}
run idle-20k        "$PY" bench/fanout.py --devices "$IDLE" --runs 3 --skip-mosquitto
run ingest-acs3     "$PY" bench/ingest.py --signature acs3 --runs 3
run ingest-v1       "$PY" bench/ingest.py --signature v1 --runs 3
run ingest-postgres "$PY" bench/ingest.py --signature acs3 --runs 3 --database-url "$PG"
run apns            "$PY" bench/vendor.py --devices 10000 --runs 3
run broadcast-100k  "$PY" bench/broadcast.py --devices 100000 --runs 3

pick() {  # file, label: the table row (median [min–max]) whose first cell starts with label
  grep -F "│ $2" "$OUT/$1.txt" | head -1 | sed 's/^│ *//; s/ *│ */ | /g; s/ *│$//' || true
}
{
  echo
  echo "Summary (median [min–max] of 3 runs; full outputs and commands in $OUT)"
  echo "fan-out, 10k devices (Tidings | bare uvicorn | bare asyncio.Protocol | durable floor | Mosquitto):"
  echo "  $(pick fanout-10k 'delivered + acked')"
  echo "  $(pick fanout-10k 'latency p99 (ms)')"
  echo "  $(pick fanout-10k 'throughput, Tidings / bare asyncio.Protocol')"
  echo "  $(pick fanout-10k 'throughput, Tidings / durable floor')"
  echo "  $(pick fanout-10k 'throughput, Tidings / Mosquitto')"
  echo "  $(pick fanout-10k 'server CPU per message')"
  echo "idle connections, $IDLE devices (Tidings | bare uvicorn | bare asyncio.Protocol):"
  echo "  $(pick idle-20k 'memory per idle connection (KiB)')"
  echo "  $(pick idle-20k 'connect rate (devices/s)')"
  for name in ingest-acs3 ingest-v1 ingest-postgres; do
    echo "$name, PushMultiple x100:"
    echo "  $(pick "$name" 'messages accepted per second')"
    echo "  $(pick "$name" 'server CPU per message')"
    echo "  $(pick "$name" "ratio to the floor with dispatch's rows")"
  done
  echo "APNs adapter, one HTTP/2 connection:"
  echo "  $(pick apns 'PushMultiple -> Tidings')"
  echo "  $(pick apns 'ratio to the fake')"
  echo "  $(pick apns 'ratio to the durable floor')"
  echo "  $(pick apns 'Tidings server CPU per message')"
  echo "  $(pick apns "server's event loop running or queued (share)")"
  echo "broadcast, 100k offline devices:"
  echo "  $(pick broadcast-100k 'materialised')"
  echo "  $(pick broadcast-100k 'ratio to the insert-select floor')"
  echo "  $(pick broadcast-100k 'CPU ratio to the insert-select floor')"
  echo
  cat "$OUT/commands.txt"
} | tee "$OUT/summary.txt"
