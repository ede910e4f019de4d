#!/usr/bin/env bash
# Benchmark of `citybooks model`: generates ROWS San Francisco rows and ROWS
# Phoenix rows (with planted anomalies), ingests and loads them into a fresh
# SQLite warehouse, then times `citybooks model` of each dataset under GNU
# time (/usr/bin/time -v) for wall time and peak resident memory.
#
#   bash bench/models.sh                      # 1,000,000 rows each
#   ROWS=200000 BUILD_DIR=build/model bash bench/models.sh
#
# Prints a Markdown section on stdout (progress on stderr) with the figures
# and the commands used. Installs nothing: build citybooks first. Exit status
# 0 when every step ran, 1 on a failure, 2 on bad usage.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bash bench/models.sh [--rows N] [--out DIR] [--keep]
Options may also be given as environment variables (flags win):
  ROWS       rows generated per city (default 1000000)
  OUT        work folder (default bench/out/models, git-ignored)
  KEEP=1     keep the generated files and the warehouse (default: deleted)
  BUILD_DIR  build tree holding citybooks (default build/release)
EOF
}

die() {
  echo "bench/models.sh: error: $*" >&2
  exit 1
}
say() { echo "bench: $*" >&2; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${ROWS:-1000000}
OUT=${OUT:-bench/out/models}
KEEP=${KEEP:-0}
BUILD_DIR=${BUILD_DIR:-build/release}

while (($#)); do
  case $1 in
    --rows) ROWS=${2:?--rows needs a value}; shift 2 ;;
    --out) OUT=${2:?--out needs a value}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/models.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $ROWS =~ ^[0-9]+$ ]] && ((ROWS >= 1000)) ||
  { echo "bench/models.sh: ROWS must be an integer of at least 1000, not '$ROWS'" >&2; exit 2; }

CITYBOOKS=$PWD/$BUILD_DIR/citybooks
[[ -x $CITYBOOKS ]] || die "$CITYBOOKS is missing; build it first (make build)."
GNU_TIME=/usr/bin/time
[[ -x $GNU_TIME ]] || die "GNU time ($GNU_TIME) is needed for peak memory; apt-get install time."

mkdir -p "$OUT"
WORK=$(cd "$OUT" && pwd)
rm -rf "$WORK/raw" "$WORK/warehouse" "$WORK"/*.log
cleanup() { ((KEEP)) || rm -rf "$WORK/raw" "$WORK/warehouse" "$WORK"/*.csv; }
trap cleanup EXIT

CB=("$CITYBOOKS" --raw "file://$WORK/raw" --warehouse "sqlite://$WORK/warehouse/warehouse.db")
SF_CSV=$WORK/sf.csv
PHOENIX_CSV=$WORK/phoenix.csv
DUPLICATES=$((ROWS / 1000))
EXTREMES=$((ROWS / 10000 > 0 ? ROWS / 10000 : 1))

# step NAME COMMAND...: runs COMMAND under GNU time with its output in
# $WORK/NAME.log; sets WALL (s) and RSS_MB.
WALL=0
RSS_MB=0
step() {
  local name=$1
  shift
  say "$name: $*"
  if ! "$GNU_TIME" -v -o "$WORK/$name.time" "$@" >"$WORK/$name.log" 2>&1; then
    tail -n 20 "$WORK/$name.log" >&2
    die "step $name failed (log in $WORK/$name.log)."
  fi
  local elapsed kib
  elapsed=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/$name.time")
  kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/$name.time")
  [[ -n $elapsed && -n $kib ]] || die "could not read GNU time's figures from $WORK/$name.time."
  WALL=$(awk -v t="$elapsed" 'BEGIN { n = split(t, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')
  RSS_MB=$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')
}

step gen-sf "${CB[@]}" gen sf --rows "$ROWS" --seed 1 --out "$SF_CSV"
step gen-phoenix "${CB[@]}" gen phoenix --rows "$ROWS" --seed 1 --out "$PHOENIX_CSV" \
  --fabricate-department "Parks and Recreation" --duplicates "$DUPLICATES" \
  --extremes "$EXTREMES" --plant-log "$WORK/plants.csv"

declare -A LOAD_S LOAD_MB MODEL_S MODEL_MB FACTS
for dataset in sf-spending-revenue phoenix-checkbook; do
  csv=$SF_CSV
  [[ $dataset == phoenix-checkbook ]] && csv=$PHOENIX_CSV
  step "ingest-$dataset" "${CB[@]}" ingest "$dataset" "$csv"
  step "load-$dataset" "${CB[@]}" load "$dataset"
  LOAD_S[$dataset]=$WALL
  LOAD_MB[$dataset]=$RSS_MB
  step "model-$dataset" "${CB[@]}" model "$dataset"
  MODEL_S[$dataset]=$WALL
  MODEL_MB[$dataset]=$RSS_MB
  FACTS[$dataset]=$(sed -n "s/^modelled $dataset from \([0-9,]*\) facts.*/\1/p" \
    "$WORK/model-$dataset.log")
  [[ -n ${FACTS[$dataset]} ]] || die "model-$dataset printed no summary; see $WORK/model-$dataset.log"
done

echo "## Models"
echo
echo "\`citybooks model\` over $(echo "$ROWS" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') generated rows per city into SQLite on"
echo "$(nproc) cores ($(date -u +%Y-%m-%d)); wall seconds and peak RSS from GNU time."
echo
echo "| Dataset | Facts | Load s | Load peak RSS MB | Model s | Model peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|"
for dataset in sf-spending-revenue phoenix-checkbook; do
  echo "| $dataset | ${FACTS[$dataset]} | ${LOAD_S[$dataset]} | ${LOAD_MB[$dataset]} |" \
    "${MODEL_S[$dataset]} | ${MODEL_MB[$dataset]} |"
done
echo
echo "What the models reported:"
echo
echo '```'
for dataset in sf-spending-revenue phoenix-checkbook; do
  grep -v '^citybooks: ' "$WORK/model-$dataset.log" || true
done
echo '```'
echo
echo "Commands:"
echo
echo '```'
echo "citybooks gen sf --rows $ROWS --seed 1 --out sf.csv"
echo "citybooks gen phoenix --rows $ROWS --seed 1 --out phoenix.csv \\"
echo "  --fabricate-department \"Parks and Recreation\" --duplicates $DUPLICATES --extremes $EXTREMES \\"
echo "  --plant-log plants.csv"
echo "citybooks ingest sf-spending-revenue sf.csv && citybooks load sf-spending-revenue"
echo "citybooks ingest phoenix-checkbook phoenix.csv && citybooks load phoenix-checkbook"
echo "/usr/bin/time -v citybooks model sf-spending-revenue"
echo "/usr/bin/time -v citybooks model phoenix-checkbook"
echo '```'
