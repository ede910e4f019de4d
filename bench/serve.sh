#!/usr/bin/env bash
# Benchmark of `citybooks serve` under concurrent load (SPEC "Quality bar":
# dashboard API answers from aggregates in milliseconds): generates San
# Francisco rows, ingests and loads them into SQLite, starts `serve` on a
# loopback port it picks, and runs `wrk -t2 -c16 --latency` against
# aggregate endpoints:
#   - the overview query as every dashboard visitor sends it (answered from
#     the response cache while the data is unchanged),
#   - the same with "Cache-Control: no-cache" (planned and run against the
#     aggregate table on every request),
#   - an explorer drill-down with a cut, also uncached.
# It prints a Markdown table (requests/s, p50, p99) with the commands on
# stdout and writes it to $OUT/serve.md; progress goes to stderr. It installs
# nothing: build first (`make build`, or BUILD_DIR=build/<yours>).
#
#   bash bench/serve.sh                       # 1M rows, 15 s per run
#   ROWS=200000 DURATION=5s bash bench/serve.sh
#
# Exit status 0 when every run completed, 1 on a failure, 2 on bad usage.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bash bench/serve.sh [--rows N] [--duration D] [--out DIR] [--keep]
Options may also be given as environment variables (flags win):
  ROWS       San Francisco rows to generate and load (default 1000000)
  DURATION   length of each wrk run (default 15s)
  OUT        work folder (default bench/out/serve, git-ignored)
  BUILD_DIR  build tree holding citybooks (default build/release)
  KEEP=1     keep the generated CSV, raw zone and warehouse
EOF
}

die() {
  echo "bench/serve.sh: error: $*" >&2
  exit 1
}
say() { echo "bench: $*" >&2; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${ROWS:-1000000}
DURATION=${DURATION:-15s}
OUT=${OUT:-bench/out/serve}
BUILD_DIR=${BUILD_DIR:-build/release}
KEEP=${KEEP:-0}
while (($#)); do
  case $1 in
    --rows) ROWS=${2:?--rows needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --out) OUT=${2:?--out needs a value}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/serve.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $ROWS =~ ^[0-9]+$ ]] && ((ROWS > 0)) || { echo "bench/serve.sh: ROWS must be a positive integer" >&2; exit 2; }

CITYBOOKS=$PWD/$BUILD_DIR/citybooks
[[ -x $CITYBOOKS ]] || die "$CITYBOOKS is not built; run make build (or set BUILD_DIR)"
command -v wrk >/dev/null || die "wrk is not installed (Debian package wrk)"
command -v curl >/dev/null || die "curl is not installed"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$OUT/work
rm -rf "$WORK"
mkdir -p "$WORK"
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [[ $KEEP == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

cb() { "$CITYBOOKS" --quiet --raw "file://$WORK/raw" --warehouse "sqlite://$WORK/warehouse/warehouse.db" "$@"; }

say "generating $ROWS San Francisco rows"
cb gen sf --rows "$ROWS" --out "$WORK/sf.csv" >/dev/null
say "ingest + load"
cb ingest sf-spending-revenue "$WORK/sf.csv" >/dev/null
cb load sf-spending-revenue >/dev/null
facts=$(cb query "SELECT COUNT(*) FROM sf_spending_revenue.fact_transaction" --format csv | tail -1 | tr -d '\r')
[[ $facts -gt 0 ]] || die "the load left no facts"

say "starting citybooks serve"
# The binary itself in the background (not a function's subshell), so
# $! is the server and the trap stops it.
"$CITYBOOKS" --quiet --raw "file://$WORK/raw" --warehouse "sqlite://$WORK/warehouse/warehouse.db" \
  serve --port 0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
PORT=
for _ in $(seq 1 600); do
  PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.out" 2>/dev/null | head -1 | sed 's/.*://') || true
  [[ -n $PORT ]] && curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "serve exited: $(cat "$WORK/serve.err")"
  sleep 0.1
done
[[ -n $PORT ]] || die "serve did not start: $(cat "$WORK/serve.err")"
BASE="http://127.0.0.1:$PORT"

OVERVIEW="/api/cubes/sf-spending-revenue/aggregate?drilldown=program.organization_group|fiscal_year"
EXPLORER="/api/cubes/sf-spending-revenue/aggregate?drilldown=program.department|fiscal_year&cut=program.organization_group:%22Public%20Protection%22&order=amount.sum:desc"

table="| endpoint | cache | requests/s | p50 | p99 | source |
|---|---|---:|---:|---:|---|"
commands=""
run() {  # name, target, cache header ("" or no-cache)
  local name=$1 target=$2 header=$3
  local url="$BASE$target"
  local source
  source=$(curl -fs "$url" | grep -o '"source":"[a-z_]*"' | cut -d'"' -f4) || die "$url failed"
  local args=(-t2 -c16 -d"$DURATION" --latency)
  [[ -n $header ]] && args+=(-H "Cache-Control: $header")
  say "wrk $name"
  local report
  report=$(wrk "${args[@]}" "$url")
  echo "$report" >"$WORK/wrk-$name.txt"
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$report")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$report")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$report" || true)
  [[ -z $errors ]] || die "$name: $errors"
  [[ -n $rps && -n $p99 ]] || die "cannot read the wrk report of $name"
  table+=$'\n'"| $name | ${header:-used} | $rps | $p50 | $p99 | $source |"
  local shown="wrk -t2 -c16 -d$DURATION --latency"
  [[ -n $header ]] && shown+=" -H 'Cache-Control: $header'"
  commands+=$'\n'"    $shown '$url'"
}

# Warm up (first connections, page cache), then measure.
wrk -t2 -c16 -d2s "$BASE$OVERVIEW" >/dev/null
run overview "$OVERVIEW" ""
run overview-uncached "$OVERVIEW" "no-cache"
run explorer-uncached "$EXPLORER" "no-cache"

cores=$(nproc)
load=$(cut -d' ' -f1-3 /proc/loadavg)
section="## citybooks serve under load

$ROWS San Francisco rows ($facts facts) in SQLite; \`wrk -t2 -c16 -d$DURATION --latency\` on the
same machine as the server ($cores cores, load average $load when done).

$table

Commands:

    citybooks gen sf --rows $ROWS --out sf.csv
    citybooks ingest sf-spending-revenue sf.csv && citybooks load sf-spending-revenue
    citybooks serve --port 0$commands
"
echo "$section" | tee "$OUT/serve.md"
