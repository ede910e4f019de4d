#!/usr/bin/env bash
# End-to-end benchmark of citybooks against the flat-file baselines of SPEC.md
# ("Quality bar"): `citybooks ingest` + `citybooks load` of San Francisco rows
# into SQLite, against `sqlite3 .import` of the same CSV into one flat table,
# and into PostgreSQL (a throwaway cluster it starts and removes), against
# `psql \copy` of the same CSV into one flat table of TEXT columns. Also runs
# the Google Benchmark kernels of the CSV hot path.
#
# Run by `make bench` from the repository root, or directly:
#
#   ROWS=1000000 BIG_ROWS=10000000 REPEAT=3 bash bench/run.sh
#   bash bench/run.sh --rows 200000 --big-rows 0 --repeat 1
#
# It prints a Markdown section on stdout (progress goes to stderr) and
# rewrites docs/BENCHMARKS.md with it, keeping the text between the notes
# markers of the existing file. It installs nothing: run `make build` first.
# Exit status 0 when every step ran and every count checked out (the targets
# may still FAIL; that is reported, not an error), 1 on any failure, 2 on bad
# usage.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bash bench/run.sh [--rows N] [--big-rows N] [--repeat N] [--big-repeat N]
                         [--out DIR] [--doc FILE] [--keep] [--no-postgres]
Options may also be given as environment variables (flags win):
  ROWS        rows of the main run (default 1000000)
  BIG_ROWS    rows of the growth run (default 10000000; 0 skips it)
  REPEAT      repetitions of each timed step of the main run; the median is
              reported (default 3)
  BIG_REPEAT  repetitions of the growth run (default 1)
  OUT         work and log folder (default bench/out, git-ignored)
  DOC         Markdown file to rewrite (default docs/BENCHMARKS.md; "-" = none)
  KEEP=1      keep generated CSVs, raw zones and databases (default: deleted)
  BUILD_DIR   build tree holding citybooks (default build/release)
  POSTGRES    1 runs the PostgreSQL part at ROWS rows (default), 0 skips it
              (--no-postgres)
  PG_BIN      folder of initdb, pg_ctl and psql (default $CITYBOOKS_PG_BIN or
              /usr/lib/postgresql/15/bin)
EOF
}

die() {
  echo "bench/run.sh: error: $*" >&2
  exit 1
}
say() { echo "bench: $*" >&2; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
START_SECONDS=$SECONDS

ROWS=${ROWS:-1000000}
BIG_ROWS=${BIG_ROWS:-10000000}
REPEAT=${REPEAT:-3}
BIG_REPEAT=${BIG_REPEAT:-1}
OUT=${OUT:-bench/out}
DOC=${DOC:-docs/BENCHMARKS.md}
KEEP=${KEEP:-0}
BUILD_DIR=${BUILD_DIR:-build/release}
POSTGRES=${POSTGRES:-1}
PG_BIN=${PG_BIN:-${CITYBOOKS_PG_BIN:-/usr/lib/postgresql/15/bin}}

while (($#)); do
  case $1 in
    --rows) ROWS=${2:?--rows needs a value}; shift 2 ;;
    --big-rows) BIG_ROWS=${2:?--big-rows needs a value}; shift 2 ;;
    --repeat) REPEAT=${2:?--repeat needs a value}; shift 2 ;;
    --big-repeat) BIG_REPEAT=${2:?--big-repeat needs a value}; shift 2 ;;
    --out) OUT=${2:?--out needs a value}; shift 2 ;;
    --doc) DOC=${2:?--doc needs a value}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-postgres) POSTGRES=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

is_count() { [[ $1 =~ ^[0-9]+$ ]]; }
is_count "$ROWS" && ((ROWS > 0)) || { echo "bench/run.sh: ROWS must be a positive integer, not '$ROWS'" >&2; exit 2; }
is_count "$BIG_ROWS" || { echo "bench/run.sh: BIG_ROWS must be an integer (0 skips), not '$BIG_ROWS'" >&2; exit 2; }
is_count "$REPEAT" && ((REPEAT > 0)) || { echo "bench/run.sh: REPEAT must be a positive integer, not '$REPEAT'" >&2; exit 2; }
is_count "$BIG_REPEAT" && ((BIG_REPEAT > 0)) || { echo "bench/run.sh: BIG_REPEAT must be a positive integer, not '$BIG_REPEAT'" >&2; exit 2; }
[[ $KEEP == 1 ]] || KEEP=0
[[ $POSTGRES == 0 ]] || POSTGRES=1

# --- Tools -------------------------------------------------------------------
case $BUILD_DIR in /*) BUILD_PATH=$BUILD_DIR ;; *) BUILD_PATH=$ROOT/$BUILD_DIR ;; esac
CB=$BUILD_PATH/citybooks
KERNELS=$BUILD_PATH/bench/csv_reader_bench
GNU_TIME=/usr/bin/time
[ -x "$CB" ] || die "$CB is missing; build it first with 'make build' (or run 'make bench')."
[ -x "$KERNELS" ] || die "$KERNELS is missing; build it first with 'make build' (or run 'make bench')."
[ -x "$GNU_TIME" ] || die "$GNU_TIME is missing; install the Debian package 'time' (apt-get install time)."
"$GNU_TIME" -f '%e %M' -o /dev/null true 2>/dev/null ||
  die "$GNU_TIME is not GNU time; install the Debian package 'time' (apt-get install time)."
command -v sqlite3 >/dev/null || die "sqlite3 is missing; install the Debian package 'sqlite3'."
command -v flock >/dev/null || die "flock is missing; install the Debian package 'util-linux'."
if ((POSTGRES == 1)); then
  for tool in initdb pg_ctl postgres psql; do
    [ -x "$PG_BIN/$tool" ] ||
      die "$PG_BIN/$tool is missing; install the Debian package 'postgresql-15', set PG_BIN, or skip the PostgreSQL part with --no-postgres."
  done
  if ((EUID == 0)); then
    # PostgreSQL refuses to run as root: the cluster runs as the postgres user.
    id postgres >/dev/null 2>&1 || die "running as root, the PostgreSQL cluster needs a 'postgres' user to run as; install 'postgresql-15' or skip with --no-postgres."
    command -v runuser >/dev/null || die "runuser is missing; install the Debian package 'util-linux'."
  fi
  PG_VERSION=$("$PG_BIN/postgres" --version | awk '{ print $NF }')
fi

# Measure the built-in dataset only, whatever the caller's environment says.
unset CITYBOOKS_CONFIG CITYBOOKS_WAREHOUSE CITYBOOKS_RAW
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS

mkdir -p "$OUT"
OUT=$(realpath "$OUT")
LOGS=$OUT/logs
WORK=$OUT/work
exec 9>"$OUT/.lock"
flock -n 9 || die "another bench/run.sh is using $OUT; wait for it or set OUT to another folder."
rm -rf "$LOGS" "$WORK" "$OUT/section.md" "$OUT/kernels.json"
mkdir -p "$LOGS" "$WORK"

cleanup() {
  local status=$?
  pg_stop
  if ((KEEP == 0)); then
    rm -rf "$WORK"
    rm -f "$OUT"/sf-*.csv
  else
    say "KEEP=1: left the inputs and work folders in $OUT"
  fi
  if ((status != 0)); then
    echo "bench/run.sh: failed; the logs of every step are in $LOGS" >&2
  fi
}
trap cleanup EXIT

# --- Helpers -----------------------------------------------------------------
# Arithmetic on decimals, through awk. calc EXPR [VAR=VALUE...]
calc() {
  local expr=$1
  shift
  awk "$@" "BEGIN { print ($expr) }" </dev/null
}
fmt() { awk -v v="$2" "BEGIN { printf \"%.${1}f\", v }" </dev/null; }

# Median of numbers (the mean of the two middle ones for an even count).
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
max_of() { printf '%s\n' "$@" | sort -g | tail -n 1; }
min_of() { printf '%s\n' "$@" | sort -g | head -n 1; }

# Megabytes (10^6 bytes) from bytes and from GNU time's KiB.
mb_of_bytes() { fmt 1 "$(calc 'b / 1e6' -v b="$1")"; }
mb_of_kib() { fmt 1 "$(calc 'k * 1024 / 1e6' -v k="$1")"; }

free_bytes() { df --output=avail -B1 "$1" | tail -n 1 | tr -d ' '; }

# timed LOGNAME COMMAND... : runs COMMAND with stdout and stderr in
# $LOGS/LOGNAME.{out,err}, under GNU time; sets T_WALL (s) and T_RSS (KiB).
# Fails the whole run if the command does not exit 0.
T_WALL=0
T_RSS=0
timed() {
  local name=$1
  shift
  local log=$LOGS/$name
  # Let earlier steps' dirty pages reach the disk first so no step pays for
  # another's write-back.
  sync
  if ! "$GNU_TIME" -f '%e %M' -o "$log.time" "$@" >"$log.out" 2>"$log.err"; then
    echo "bench/run.sh: '$*' failed; last lines of its output:" >&2
    tail -n 20 "$log.err" "$log.out" "$log.time" >&2 || true
    die "step $name failed (logs in $log.{out,err,time})."
  fi
  local line
  line=$(tail -n 1 "$log.time")
  read -r T_WALL T_RSS <<<"$line"
  [[ $T_WALL =~ ^[0-9.]+$ && $T_RSS =~ ^[0-9]+$ ]] ||
    die "could not read GNU time's figures for step $name from $log.time ('$line')."
}

# --- PostgreSQL ----------------------------------------------------------------
# A throwaway cluster, as the tests start one (tests/postgres/pg_server.cc):
# initdb into a temporary folder, postgres on 127.0.0.1 at a free port with
# trust authentication and PostgreSQL's durability defaults (fsync and
# synchronous_commit on). Checkpoints are kept out of the timed steps (one
# runs before each step instead); everything else is the default.
PG_DIR=""
PG_PORT=""
PG_SUPERUSER=cb_bench
PG_RUNAS=()
pg_start() {
  PG_DIR=$(mktemp -d /tmp/cb-bench-pg-XXXXXX)
  if ((EUID == 0)); then
    chown postgres: "$PG_DIR"
    PG_RUNAS=(runuser -u postgres --)
  fi
  "${PG_RUNAS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_SUPERUSER" -A trust -E UTF8 \
    --no-locale >"$LOGS/pg-initdb.log" 2>&1 || die "initdb failed (see $LOGS/pg-initdb.log)."
  local attempt
  for attempt in 1 2 3 4 5; do
    PG_PORT=$((20000 + RANDOM % 40000))
    if "${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 120 -l "$PG_DIR/server.log" \
      -o "-k $PG_DIR -p $PG_PORT -c listen_addresses=127.0.0.1 -c max_wal_size=8GB -c checkpoint_timeout=1h" \
      start >"$LOGS/pg-start.log" 2>&1; then
      return 0
    fi
  done
  cp "$PG_DIR/server.log" "$LOGS/pg-server.log" 2>/dev/null || true
  die "could not start PostgreSQL on 127.0.0.1 (see $LOGS/pg-start.log and $LOGS/pg-server.log)."
}
pg_stop() {
  [ -n "$PG_DIR" ] || return 0
  "${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  cp "$PG_DIR/server.log" "$LOGS/pg-server.log" 2>/dev/null || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}
# pg_sql DATABASE SQL: runs SQL as the cluster's superuser, values on stdout.
pg_sql() {
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" \
    -d "$1" -c "$2"
}

# --- Machine -----------------------------------------------------------------
CPU_COUNT=$(nproc)
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
CPU_MODEL=${CPU_MODEL:-unknown}
RAM_GB=$(awk '/^MemTotal/ { printf "%.1f", $2 * 1024 / 1e9 }' /proc/meminfo)
SQLITE_VERSION=$(sqlite3 --version | awk '{ print $1 " (" $2 ")" }')
if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
  COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
  git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || COMMIT="$COMMIT (plus uncommitted changes in the working tree)"
else
  COMMIT="unknown (not a git checkout)"
fi
RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
KERNEL=$(uname -sr)
COMMAND="ROWS=$ROWS BIG_ROWS=$BIG_ROWS REPEAT=$REPEAT bash bench/run.sh"
((BIG_REPEAT == 1)) || COMMAND="BIG_REPEAT=$BIG_REPEAT $COMMAND"
if [ -n "${MAKELEVEL:-}" ] && [ "$ROWS" = 1000000 ] && [ "$BIG_ROWS" = 10000000 ] && [ "$REPEAT" = 3 ] && [ "$BIG_REPEAT" = 1 ]; then
  COMMAND_NOTE="\`make bench\` (the same as \`$COMMAND\`)"
else
  COMMAND_NOTE="\`$COMMAND\`"
fi

say "citybooks $CB, sqlite3 $SQLITE_VERSION$( ((POSTGRES == 1)) && echo ", PostgreSQL $PG_VERSION"), $CPU_COUNT cores, load average $LOAD_AT_START"

# --- One input size ----------------------------------------------------------
# Results per size, keyed by the row count.
declare -A R_FILE_MB R_REPS R_INGEST R_LOAD R_TOTAL R_IMPORT R_RATIO R_RSS_INGEST R_RSS_LOAD \
  R_PHASES R_GEN R_QUARANTINED R_DETAIL R_SPREAD
# The PostgreSQL part (at ROWS rows only): one value per repetition.
PG_INGEST=() PG_LOAD=() PG_TOTAL=() PG_COPY=() PG_RSS_LOAD=() PG_PHASES=() PG_DETAIL=""
# What both warehouses must hold: facts, quarantined rows, cents of the facts.
CHECK_SQL="SELECT (SELECT COUNT(*) FROM sf_spending_revenue.fact_transaction), (SELECT COUNT(*) FROM sf_spending_revenue.cb_quarantine), (SELECT SUM(amount_cents) FROM sf_spending_revenue.fact_transaction)"

# One repetition of the PostgreSQL part on the file the SQLite part of the
# same repetition just loaded (its folder still holds the SQLite warehouse):
# citybooks ingest + load into a fresh database, then `psql \copy` of the
# file into a flat table of TEXT columns in another fresh database. The
# PostgreSQL warehouse must hold what the SQLite one holds.
run_postgres_rep() {
  local rows=$1 r=$2 reps=$3 dir=$4 file=$5
  local tag="$rows-$r" db="cb_bench_$r" flat_db="cb_flat_$r"
  pg_sql postgres "DROP DATABASE IF EXISTS $db" >/dev/null &&
    pg_sql postgres "CREATE DATABASE $db" >/dev/null &&
    pg_sql postgres "DROP DATABASE IF EXISTS $flat_db" >/dev/null &&
    pg_sql postgres "CREATE DATABASE $flat_db" >/dev/null ||
    die "cannot create the benchmark databases (see $LOGS/pg-server.log after the run)."
  local url="postgresql://$PG_SUPERUSER@127.0.0.1:$PG_PORT/$db"
  local flags=(--raw "file://$dir/pg-raw" --warehouse "$url" --quiet)
  cd "$dir"

  say "[$rows rows, run $r/$reps] citybooks ingest (PostgreSQL warehouse)"
  pg_sql postgres CHECKPOINT >/dev/null
  timed "pg-ingest-$tag" "$CB" "${flags[@]}" ingest sf-spending-revenue "$file"
  PG_INGEST+=("$T_WALL")
  say "[$rows rows, run $r/$reps] citybooks load (PostgreSQL warehouse)"
  pg_sql postgres CHECKPOINT >/dev/null
  timed "pg-load-$tag" "$CB" "${flags[@]}" load sf-spending-revenue
  PG_LOAD+=("$T_WALL")
  PG_RSS_LOAD+=("$T_RSS")
  local phase
  phase=$(grep -m 1 -o 'time: .*' "$LOGS/pg-load-$tag.out" || true)
  PG_PHASES+=("${phase:-(the load printed no 'time:' line)}")

  local expected held
  expected=$("$CB" --raw "file://$dir/raw" --warehouse "sqlite://$dir/warehouse.db" query "$CHECK_SQL" \
    --format csv 2>"$LOGS/pg-check-sqlite-$tag.err" | tail -n 1) ||
    die "querying the SQLite warehouse failed (see $LOGS/pg-check-sqlite-$tag.err)."
  held=$("$CB" "${flags[@]}" query "$CHECK_SQL" --format csv 2>"$LOGS/pg-check-$tag.err" | tail -n 1) ||
    die "querying the PostgreSQL warehouse failed (see $LOGS/pg-check-$tag.err)."
  [[ $held =~ ^[0-9]+,[0-9]+,-?[0-9]+$ ]] || die "unexpected answer '$held' from the PostgreSQL warehouse."
  [ "$held" = "$expected" ] ||
    die "the PostgreSQL warehouse holds $held (facts, quarantined, cents), the SQLite one $expected."

  say "[$rows rows, run $r/$reps] psql \\copy"
  local columns
  columns=$(head -n 1 "$file" | sed 's/^\xEF\xBB\xBF//; s/\r$//' |
    awk -F, '{ for (i = 1; i <= NF; i++) printf "%s\"%s\" TEXT", (i > 1 ? ", " : ""), $i }')
  pg_sql "$flat_db" "CREATE TABLE flat ($columns)" >/dev/null || die "cannot create the flat table."
  pg_sql postgres CHECKPOINT >/dev/null
  timed "pg-copy-$tag" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
    -U "$PG_SUPERUSER" -d "$flat_db" -c "\\copy flat FROM '$file' WITH (FORMAT csv, HEADER true)"
  PG_COPY+=("$T_WALL")
  local flat_rows
  flat_rows=$(pg_sql "$flat_db" "SELECT COUNT(*) FROM flat") || die "counting the flat table failed."
  [ "$flat_rows" = "$rows" ] || die "psql \\copy loaded $flat_rows rows, not $rows (see $LOGS/pg-copy-$tag.err)."
  cd "$ROOT"
  pg_sql postgres "DROP DATABASE $db" >/dev/null
  pg_sql postgres "DROP DATABASE $flat_db" >/dev/null

  local sum
  sum=$(calc 'a + b' -v a="${PG_INGEST[-1]}" -v b="${PG_LOAD[-1]}")
  PG_TOTAL+=("$sum")
  PG_DETAIL+="| $rows | $r | ${PG_INGEST[-1]} | ${PG_LOAD[-1]} | $(fmt 2 "$sum") | ${PG_COPY[-1]} | $(fmt 3 "$(calc 's / c' -v s="$sum" -v c="${PG_COPY[-1]}")") | $(mb_of_kib "${PG_RSS_LOAD[-1]}") |"$'\n'
  say "[$rows rows, run $r/$reps] PostgreSQL: ingest ${PG_INGEST[-1]} s, load ${PG_LOAD[-1]} s, psql \\copy ${PG_COPY[-1]} s"
}

run_size() {
  local rows=$1 reps=$2
  local file=$OUT/sf-$rows.csv

  # Input, plus raw copy, warehouse and flat table: about four times the CSV.
  local need=$((rows * 340 * 4)) avail
  avail=$(free_bytes "$OUT")
  ((avail > need)) ||
    die "$OUT has $((avail / 1000000)) MB free; $rows rows need about $((need / 1000000)) MB. Free space or lower the row count."

  say "generating $rows rows into $file"
  timed "gen-$rows" "$CB" gen sf --rows "$rows" --out "$file" --seed 1
  R_GEN[$rows]=$T_WALL
  local bytes
  bytes=$(stat -c %s "$file")
  R_FILE_MB[$rows]=$(mb_of_bytes "$bytes")
  R_REPS[$rows]=$reps

  local -a ingest=() load=() total=() import=() rss_ingest=() rss_load=() rss_import=() phases=()
  local detail="" r
  for ((r = 1; r <= reps; r++)); do
    local dir=$WORK/$rows-$r tag="$rows-$r"
    rm -rf "$dir"
    mkdir -p "$dir"
    local flags=(--raw "file://$dir/raw" --warehouse "sqlite://$dir/warehouse.db" --quiet)

    say "[$rows rows, run $r/$reps] citybooks ingest"
    # From inside the run's folder, so nothing can land in the repository.
    cd "$dir"
    timed "ingest-$tag" "$CB" "${flags[@]}" ingest sf-spending-revenue "$file"
    ingest+=("$T_WALL")
    rss_ingest+=("$T_RSS")

    say "[$rows rows, run $r/$reps] citybooks load"
    timed "load-$tag" "$CB" "${flags[@]}" load sf-spending-revenue
    load+=("$T_WALL")
    rss_load+=("$T_RSS")

    # The loader's own accounting: rows read must be every generated row.
    local read_rows
    read_rows=$(sed -n 's/.*rows read \([0-9,]*\).*/\1/p' "$LOGS/load-$tag.out" | head -n 1 | tr -d ,)
    [ -n "$read_rows" ] ||
      die "the load printed no 'rows read' line (see $LOGS/load-$tag.out); cannot check it read all $rows rows."
    [ "$read_rows" = "$rows" ] ||
      die "the load read $read_rows rows, not the $rows generated (see $LOGS/load-$tag.out)."
    local phase
    phase=$(grep -m 1 -o 'time: .*' "$LOGS/load-$tag.out" || true)
    phases+=("${phase:-(the load printed no 'time:' line)}")

    # And the warehouse must hold them: facts + quarantined = rows.
    local counts facts quarantined
    counts=$("$CB" "${flags[@]}" query \
      "SELECT (SELECT COUNT(*) FROM sf_spending_revenue.fact_transaction), (SELECT COUNT(*) FROM sf_spending_revenue.cb_quarantine)" \
      --format csv 2>"$LOGS/count-$tag.err" | tail -n 1) ||
      die "counting the warehouse's rows failed (see $LOGS/count-$tag.err)."
    IFS=, read -r facts quarantined <<<"$counts"
    [[ $facts =~ ^[0-9]+$ && $quarantined =~ ^[0-9]+$ ]] ||
      die "unexpected answer '$counts' when counting the warehouse's rows."
    (((facts + quarantined) == rows)) ||
      die "the warehouse holds $facts facts + $quarantined quarantined rows, not $rows."
    R_QUARANTINED[$rows]=$quarantined

    say "[$rows rows, run $r/$reps] sqlite3 .import"
    timed "import-$tag" sqlite3 "$dir/flat.db" ".import --csv \"$file\" sf"
    cd "$ROOT"
    import+=("$T_WALL")
    rss_import+=("$T_RSS")
    local flat_rows
    flat_rows=$(sqlite3 "$dir/flat.db" 'SELECT COUNT(*) FROM sf') ||
      die "counting the rows of $dir/flat.db failed."
    [ "$flat_rows" = "$rows" ] ||
      die "sqlite3 .import loaded $flat_rows rows, not $rows (see $LOGS/import-$tag.err)."

    local sum
    sum=$(calc 'a + b' -v a="${ingest[-1]}" -v b="${load[-1]}")
    total+=("$sum")
    detail+="| $rows | $r | ${ingest[-1]} | ${load[-1]} | $(fmt 2 "$sum") | ${import[-1]} | $(fmt 3 "$(calc 's / i' -v s="$sum" -v i="${import[-1]}")") | $(mb_of_kib "${rss_ingest[-1]}") | $(mb_of_kib "${rss_load[-1]}") | $(mb_of_kib "${rss_import[-1]}") |"$'\n'
    say "[$rows rows, run $r/$reps] ingest ${ingest[-1]} s, load ${load[-1]} s, sqlite3 .import ${import[-1]} s"

    if ((POSTGRES == 1)) && [ "$rows" = "$ROWS" ]; then
      run_postgres_rep "$rows" "$r" "$reps" "$dir" "$file"
    fi
    ((KEEP == 1)) || rm -rf "$dir"
  done
  ((KEEP == 1)) || rm -f "$file"

  R_INGEST[$rows]=$(fmt 2 "$(median "${ingest[@]}")")
  R_LOAD[$rows]=$(fmt 2 "$(median "${load[@]}")")
  R_TOTAL[$rows]=$(fmt 2 "$(median "${total[@]}")")
  R_IMPORT[$rows]=$(fmt 2 "$(median "${import[@]}")")
  R_RATIO[$rows]=$(fmt 3 "$(calc 't / i' -v t="${R_TOTAL[$rows]}" -v i="${R_IMPORT[$rows]}")")
  R_RSS_INGEST[$rows]=$(mb_of_kib "$(max_of "${rss_ingest[@]}")")
  R_RSS_LOAD[$rows]=$(mb_of_kib "$(max_of "${rss_load[@]}")")
  R_DETAIL[$rows]=$detail
  if ((reps > 1)); then
    R_SPREAD[$rows]="ingest + load $(fmt 2 "$(calc 'b / a' -v a="$(min_of "${total[@]}")" -v b="$(max_of "${total[@]}")")")×, sqlite3 .import $(fmt 2 "$(calc 'b / a' -v a="$(min_of "${import[@]}")" -v b="$(max_of "${import[@]}")")")×"
  fi
  # The phase line of the run whose load time is the median one.
  local order
  order=$(for i in "${!load[@]}"; do echo "${load[$i]} $i"; done | sort -g | awk -v n="${#load[@]}" 'NR == int((n + 1) / 2) { print $2 }')
  R_PHASES[$rows]="run $((order + 1)) of $reps, load ${load[$order]} s: ${phases[$order]}"
}

pass_if() { if awk -v v="$1" -v l="$2" 'BEGIN { exit !(v + 0 <= l + 0) }'; then echo PASS; else echo FAIL; fi; }
pass_below() { if awk -v v="$1" -v l="$2" 'BEGIN { exit !(v + 0 < l + 0) }'; then echo PASS; else echo FAIL; fi; }

# --- Runs --------------------------------------------------------------------
((POSTGRES == 0)) || pg_start
SIZES=("$ROWS")
run_size "$ROWS" "$REPEAT"
if ((POSTGRES == 1)); then
  pg_stop
  PG_R_INGEST=$(fmt 2 "$(median "${PG_INGEST[@]}")")
  PG_R_LOAD=$(fmt 2 "$(median "${PG_LOAD[@]}")")
  PG_R_TOTAL=$(fmt 2 "$(median "${PG_TOTAL[@]}")")
  PG_R_COPY=$(fmt 2 "$(median "${PG_COPY[@]}")")
  PG_R_RATIO=$(fmt 3 "$(calc 't / c' -v t="$PG_R_TOTAL" -v c="$PG_R_COPY")")
  PG_R_RSS_LOAD=$(mb_of_kib "$(max_of "${PG_RSS_LOAD[@]}")")
  order=$(for i in "${!PG_LOAD[@]}"; do echo "${PG_LOAD[$i]} $i"; done | sort -g | awk -v n="${#PG_LOAD[@]}" 'NR == int((n + 1) / 2) { print $2 }')
  PG_R_PHASES="run $((order + 1)) of $REPEAT, load ${PG_LOAD[$order]} s: ${PG_PHASES[$order]}"
  if ((REPEAT > 1)); then
    PG_R_SPREAD="ingest + load $(fmt 2 "$(calc 'b / a' -v a="$(min_of "${PG_TOTAL[@]}")" -v b="$(max_of "${PG_TOTAL[@]}")")")×, psql \\copy $(fmt 2 "$(calc 'b / a' -v a="$(min_of "${PG_COPY[@]}")" -v b="$(max_of "${PG_COPY[@]}")")")×"
  fi
fi
if ((BIG_ROWS > 0)); then
  if ((BIG_ROWS == ROWS)); then
    say "BIG_ROWS equals ROWS; skipping the growth run"
  else
    SIZES+=("$BIG_ROWS")
    run_size "$BIG_ROWS" "$BIG_REPEAT"
  fi
fi

# --- Kernels -----------------------------------------------------------------
say "running the Google Benchmark kernels"
KERNEL_CMD="$BUILD_DIR/bench/csv_reader_bench --benchmark_repetitions=$REPEAT --benchmark_report_aggregates_only=true --benchmark_out=$OUT/kernels.json --benchmark_out_format=json"
"$KERNELS" --benchmark_repetitions="$REPEAT" --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/kernels.json" --benchmark_out_format=json \
  >"$LOGS/kernels.out" 2>"$LOGS/kernels.err" ||
  { tail -n 20 "$LOGS/kernels.err" >&2; die "the kernels failed (logs in $LOGS/kernels.{out,err})."; }
grep -q '"error_occurred": true' "$OUT/kernels.json" &&
  die "a kernel reported an error (see $OUT/kernels.json)."
# One row per benchmark: its median (or its only run when REPEAT=1).
KERNEL_ROWS=$(awk -v want="$([ "$REPEAT" -gt 1 ] && echo median || echo iteration)" '
  function value(line) { sub(/^[^:]*: */, "", line); sub(/,$/, "", line); gsub(/"/, "", line); return line }
  /"name":/ { name = value($0); kind = ""; bps = ""; rps = ""; agg = "" }
  /"run_type":/ { kind = value($0) }
  /"aggregate_name":/ { agg = value($0) }
  /"bytes_per_second":/ { bps = value($0) }
  /"records":/ { rps = value($0) }
  /^ *}/ && name != "" {
    if ((want == "median" && agg == "median") || (want == "iteration" && kind == "iteration")) {
      sub(/_median$/, "", name)
      printf "| `%s` | %.0f | %s |\n", name, bps / 1e6, (rps == "" ? "" : sprintf("%.2f", rps / 1e6))
    }
    name = ""
  }' "$OUT/kernels.json")
[ -n "$KERNEL_ROWS" ] || die "no kernel figures found in $OUT/kernels.json."
LIB_BUILD=$(awk -F'"' '/"library_build_type"/ { print $4; exit }' "$OUT/kernels.json")

LOAD_AT_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$((SECONDS - START_SECONDS))

# --- Report ------------------------------------------------------------------
SECTION=$OUT/section.md
{
  echo "## Results"
  echo
  echo "Generated by \`bench/run.sh\` on $RUN_DATE in $((ELAPSED / 60)) min $((ELAPSED % 60)) s."
  echo
  echo "- Command: $COMMAND_NOTE"
  echo "- Commit: $COMMIT"
  echo "- CPU: $CPU_COUNT × $CPU_MODEL; RAM: $RAM_GB GB; $KERNEL"
  echo "- sqlite3 $SQLITE_VERSION"
  ((POSTGRES == 0)) || echo "- PostgreSQL $PG_VERSION (a throwaway cluster on 127.0.0.1; fsync and synchronous_commit on)"
  echo "- Load average (1, 5, 15 min) at start: $LOAD_AT_START; at end: $LOAD_AT_END"
  if awk -v l="${LOAD_AT_START%% *}" 'BEGIN { exit !(l + 0 >= 0.5) }'; then
    echo
    echo "**The machine was not idle** (1-minute load average ${LOAD_AT_START%% *} on $CPU_COUNT cores when the run"
    echo "started): other processes competed for the CPU, so the times below are noisy; compare the"
    echo "repetitions before trusting a ratio."
  fi
  echo
  echo "### Ingest + load into SQLite against \`sqlite3 .import\`"
  echo
  echo "Times are wall seconds, the median of the repetitions; peak RSS is the largest of the"
  echo "repetitions. MB = 10^6 bytes. Targets (SPEC.md, \"Quality bar\"): ratio at most 0.5"
  echo "(aim 0.25), peak RSS under 150 MB."
  echo
  echo "| Rows | Runs | File MB | Ingest s | Load s | Ingest + load s | sqlite3 .import s | Ratio | Ratio ≤ 0.5 | Ingest peak RSS MB | Load peak RSS MB | RSS < 150 MB |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|:---:|"
  for n in "${SIZES[@]}"; do
    rss_ok=PASS
    [ "$(pass_below "${R_RSS_INGEST[$n]}" 150)" = PASS ] && [ "$(pass_below "${R_RSS_LOAD[$n]}" 150)" = PASS ] || rss_ok=FAIL
    echo "| $n | ${R_REPS[$n]} | ${R_FILE_MB[$n]} | ${R_INGEST[$n]} | ${R_LOAD[$n]} | ${R_TOTAL[$n]} | ${R_IMPORT[$n]} | ${R_RATIO[$n]} | $(pass_if "${R_RATIO[$n]}" 0.5) | ${R_RSS_INGEST[$n]} | ${R_RSS_LOAD[$n]} | $rss_ok |"
  done
  if ((BIG_ROWS == 0)); then
    echo
    echo "The growth run was skipped (BIG_ROWS=0)."
  elif ((BIG_REPEAT == 1)) && ((${#SIZES[@]} > 1)); then
    echo
    echo "The $BIG_ROWS-row run is a single repetition."
  fi
  for n in "${SIZES[@]}"; do
    if [ -n "${R_SPREAD[$n]:-}" ]; then
      echo
      echo "Spread between the slowest and fastest of the $n-row repetitions: ${R_SPREAD[$n]}."
    fi
  done
  if ((POSTGRES == 1)); then
    echo
    echo "### Ingest + load into PostgreSQL against \`psql \\copy\`"
    echo
    echo "The same file, in the same repetitions: \`citybooks ingest\` + \`citybooks load\` with a"
    echo "\`postgresql://\` warehouse (a fresh database each time), against \`psql \\copy\` of the file"
    echo "into one table of TEXT columns with no index (another fresh database). Both warehouses held the"
    echo "same facts, quarantined rows and cents in every repetition. Target (SPEC.md): ratio at most 0.5."
    echo
    echo "| Rows | Runs | Ingest s | Load s | Ingest + load s | psql \\copy s | Ratio | Ratio ≤ 0.5 | Load peak RSS MB |"
    echo "|---:|---:|---:|---:|---:|---:|---:|:---:|---:|"
    echo "| $ROWS | $REPEAT | $PG_R_INGEST | $PG_R_LOAD | $PG_R_TOTAL | $PG_R_COPY | $PG_R_RATIO | $(pass_if "$PG_R_RATIO" 0.5) | $PG_R_RSS_LOAD |"
    if [ -n "${PG_R_SPREAD:-}" ]; then
      echo
      echo "Spread between the slowest and fastest repetitions: $PG_R_SPREAD."
    fi
  fi
  echo
  echo "### Targets"
  echo
  echo "| Target | Measured | Result |"
  echo "|---|---:|:---:|"
  echo "| (ingest + load) / sqlite3 .import ≤ 0.5 at $ROWS rows | ${R_RATIO[$ROWS]} | $(pass_if "${R_RATIO[$ROWS]}" 0.5) |"
  echo "| aim: ratio ≤ 0.25 at $ROWS rows | ${R_RATIO[$ROWS]} | $([ "$(pass_if "${R_RATIO[$ROWS]}" 0.25)" = PASS ] && echo met || echo "not met") |"
  if ((POSTGRES == 1)); then
    echo "| PostgreSQL: (ingest + load) / psql \\copy ≤ 0.5 at $ROWS rows | $PG_R_RATIO | $(pass_if "$PG_R_RATIO" 0.5) |"
  fi
  for n in "${SIZES[@]}"; do
    echo "| ingest peak RSS < 150 MB at $n rows | ${R_RSS_INGEST[$n]} MB | $(pass_below "${R_RSS_INGEST[$n]}" 150) |"
    echo "| load peak RSS < 150 MB at $n rows | ${R_RSS_LOAD[$n]} MB | $(pass_below "${R_RSS_LOAD[$n]}" 150) |"
  done
  if ((${#SIZES[@]} > 1)); then
    for step in ingest load; do
      if [ $step = ingest ]; then a=${R_RSS_INGEST[$ROWS]} b=${R_RSS_INGEST[$BIG_ROWS]}; else a=${R_RSS_LOAD[$ROWS]} b=${R_RSS_LOAD[$BIG_ROWS]}; fi
      growth=$(fmt 2 "$(calc 'b / a' -v a="$a" -v b="$b")")
      echo "| $step peak RSS not growing, $ROWS → $BIG_ROWS rows (at most 1.10×) | $a → $b MB (${growth}×) | $(pass_if "$growth" 1.10) |"
    done
  else
    echo "| peak RSS not growing with input size | not measured (no growth run) | n/a |"
  fi
  echo
  echo "### Repetitions"
  echo
  echo "| Rows | Run | Ingest s | Load s | Ingest + load s | sqlite3 .import s | Ratio | Ingest RSS MB | Load RSS MB | sqlite3 RSS MB |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for n in "${SIZES[@]}"; do printf '%s' "${R_DETAIL[$n]}"; done
  if ((POSTGRES == 1)); then
    echo
    echo "PostgreSQL:"
    echo
    echo "| Rows | Run | Ingest s | Load s | Ingest + load s | psql \\copy s | Ratio | Load RSS MB |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$PG_DETAIL"
  fi
  echo
  for n in "${SIZES[@]}"; do
    echo "- $n rows: generated in ${R_GEN[$n]} s (\`citybooks gen sf --rows $n --seed 1\`, default dirt rate); ${R_QUARANTINED[$n]} rows quarantined by the load."
  done
  echo
  echo "### Loader phases"
  echo
  echo "The load's own \`time:\` line, from the run with the median load time:"
  echo
  echo '```'
  for n in "${SIZES[@]}"; do echo "$n rows, ${R_PHASES[$n]}"; done
  ((POSTGRES == 0)) || echo "PostgreSQL, $ROWS rows, $PG_R_PHASES"
  echo '```'
  echo
  echo "### Kernels"
  echo
  echo "Google Benchmark kernels of the CSV hot path over ~100k in-memory rows shaped like the"
  echo "SF extract (\`bench/csv_reader_bench.cc\`), median of $REPEAT repetitions$([ "$REPEAT" -gt 1 ] || echo ' (one repetition)'):"
  echo
  echo '```'
  echo "$KERNEL_CMD"
  echo '```'
  echo
  echo "| Kernel | MB/s | Million records/s |"
  echo "|---|---:|---:|"
  printf '%s\n' "$KERNEL_ROWS"
  if [ "$LIB_BUILD" = debug ]; then
    echo
    echo "The Google Benchmark library reports itself as a debug build (Debian's package does);"
    echo "the measured code is the release build of citybooks."
  fi
} >"$SECTION"

cat "$SECTION"

if [ "$DOC" != "-" ]; then
  DEFAULT_NOTES='How to read these figures. Every timed step runs in a fresh folder on the same
generated file, in the order ingest, load, `sqlite3 .import`, with `sync` before
each step so none pays for another'"'"'s disk write-back; the CSV was just written
by `citybooks gen`, so it is read from the page cache by all three. The baseline
is the `sqlite3` command-line shell with its defaults (rollback journal,
`synchronous=FULL`) importing every column as TEXT into one table with no index
or check: that is the "flat file" SPEC.md compares against. citybooks in the
same time keeps an immutable raw copy with a manifest (ingest), then conforms,
checks and loads the star schema, aggregates and quality records in one
transaction (load). Wall times come from GNU time (`%e`, 10 ms resolution) and
peak RSS from its `%M`. The machine is shared: the load average above shows
how busy it was, and a busy machine inflates the times of all three tools.'
  NOTES=""
  if [ -f "$DOC" ] && grep -q '<!-- notes:begin -->' "$DOC" && grep -q '<!-- notes:end -->' "$DOC"; then
    NOTES=$(awk '/<!-- notes:end -->/ { f = 0 } f { print } /<!-- notes:begin -->/ { f = 1 }' "$DOC")
  fi
  [ -n "$NOTES" ] || NOTES=$DEFAULT_NOTES
  mkdir -p "$(dirname "$DOC")"
  {
    echo "# Benchmarks"
    echo
    echo "<!-- Generated by bench/run.sh: every part of this file except the text between"
    echo "     the notes markers is rewritten on each run. -->"
    echo
    echo "What is measured: how long citybooks takes to land a San Francisco"
    echo "\"Spending and Revenue\" CSV in its raw zone (\`citybooks ingest\`) and to conform,"
    echo "check and load it into the SQLite warehouse (\`citybooks load\`), against how long"
    echo "\`sqlite3 .import\` takes to load the same file into one flat table, and the peak"
    echo "memory of each step, at $ROWS rows$( ((${#SIZES[@]} > 1)) && echo " and at $BIG_ROWS rows (to see memory stay flat)");"
    echo "plus the throughput of the CSV kernels. The input is synthetic and reproducible:"
    echo "\`citybooks gen sf --rows N --seed 1\`."
    if ((POSTGRES == 1)); then
      echo "The same ingest and load into a PostgreSQL warehouse (a throwaway cluster the script"
      echo "starts and removes) is measured against \`psql \\copy\` of the file into one flat table."
    fi
    echo
    echo "To reproduce: \`make bench\` from the repository root (it builds first), or after"
    echo "\`make build\`, \`$COMMAND\`. \`BIG_ROWS=0\` skips the"
    echo "growth run, \`KEEP=1\` keeps the generated files in \`bench/out\`; \`bash bench/run.sh --help\`"
    echo "lists the options."
    echo
    cat "$SECTION"
    echo
    echo "## Notes"
    echo
    echo "<!-- notes:begin -->"
    printf '%s\n' "$NOTES"
    echo "<!-- notes:end -->"
  } >"$DOC.tmp"
  mv "$DOC.tmp" "$DOC"
  say "wrote $DOC"
fi
say "done in $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
