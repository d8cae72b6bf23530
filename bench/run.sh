#!/usr/bin/env bash
# bench/run.sh -- the service against a bare Beast baseline, in one run.
#
#   bench/run.sh [--calls N] [--seconds S] [--ramp R] [--levels "100 500 1000"]
#                [--barge] [--profile] [--no-webload] [--no-micro]
#                [--sweep "250 500 1000 1500 2000 3000 4000 6000 8000"]
#   bench/run.sh --soak [--calls 500] [--seconds 600] [--round 60]
#
# Builds Release into build/ when needed (deploy/start.sh's convention;
# AL_BENCH_BUILD_DIR overrides, AL_SKIP_BUILD=1 skips; AL_BENCH_LABEL names
# the report for a build of another commit), starts a throwaway
# PostgreSQL (deploy/lib/pg.sh), the service (MAX_LIVE_CALLS above N,
# TWILIO_AUTH_TOKEN set, LOG_LEVEL=warn) and al-baseline, pins the servers
# (and PostgreSQL) to core 0 and the generators to core 1, then for each
# level (100, 500, 1000 and N) runs al-loadgen against the baseline and then
# the service, runs al-webload and al-microbench, and writes
# bench/results/<date>-<commit>.json and .md (printed at the end).
#
# --profile  perf record of the service and of the baseline during the
#            hold of the largest level (installs linux-perf with apt-get
#            when perf is missing, optional: skipped when that fails).
# --barge    callers speak over the agent once per utterance (tone); the
#            service answers with `clear` (barge-in latency is measured).
# --sweep    the open-loop rates (req/s) al-webload steps through per route,
#            1.5 s each, until p99 reaches 5 ms or a request fails; a route's
#            capacity is the highest rate that passed (with the service's and
#            PostgreSQL's CPU per request). "" skips the sweep.
#
# --soak     churn instead of levels: the service alone takes rounds of N
#            calls (each round: ramp, a --round seconds hold, hang-ups) back
#            to back for --seconds in all; its RSS, open descriptors and
#            threads are sampled idle and after every round and written to
#            bench/results/<date>-<commit>-soak.{json,md}; "flat" means the
#            last round ends within 10 % (and 2 MiB) of the first round's RSS
#            and with no more descriptors than when idle plus the pool's.
#
# The issue's full run: bench/run.sh --calls 1000 --seconds 60
cd "$(dirname "$0")/.."
set -euo pipefail

REPO="$(pwd)"
BUILD="${AL_BENCH_BUILD_DIR:-$REPO/build}"
CALLS=""
SECS=20
RAMP=""
LEVELS="100 500 1000"
BARGE=0
PROFILE=0
WEBLOAD=1
MICRO=1
SOAK=0
ROUND=60
SERVER_CORE=0
GEN_CORE=1
# Scheduling of the measured processes against anything else on the
# machine (e.g. builds of other work trees): "rr" (SCHED_RR priority 20),
# "nice" (nice -10) or "none". With builds running, a nice -10 process
# missed its 1 ms ticks by 4 ms p99, a SCHED_RR one by 0.2 ms, and with
# the servers at nice -10 both the baseline and the service showed
# ~100 ms first-media p50 at 1000 calls. Defaults (as root): generators
# and servers "rr"; PostgreSQL "nice" (autovacuum or a long query under
# SCHED_RR would hold the servers' core for up to a 100 ms RR slice).
SCHED="${AL_BENCH_SCHED:-rr}"
GEN_SCHED="${AL_BENCH_GEN_SCHED:-rr}"
PG_SCHED="${AL_BENCH_PG_SCHED:-nice}"
if [ "$(id -u)" -ne 0 ]; then SCHED=none; GEN_SCHED=none; PG_SCHED=none; fi
for s in "$SCHED" "$GEN_SCHED" "$PG_SCHED"; do
  case "$s" in
    rr | nice | none) ;;
    *) echo "run.sh: AL_BENCH_*SCHED must be rr, nice or none" >&2; exit 2 ;;
  esac
done
SWEEP="250 500 1000 1500 2000 3000 4000 6000 8000"
AUTH_TOKEN="bench-auth-token"
ADMIN_TOKEN="bench-admin-token"

usage() {
  sed -n '2,/^# The issue/p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --calls) CALLS="$2"; shift 2 ;;
    --seconds) SECS="$2"; shift 2 ;;
    --ramp) RAMP="$2"; shift 2 ;;
    --levels) LEVELS="$2"; shift 2 ;;
    --barge) BARGE=1; shift ;;
    --profile) PROFILE=1; shift ;;
    --no-webload) WEBLOAD=0; shift ;;
    --no-micro) MICRO=0; shift ;;
    --soak) SOAK=1; shift ;;
    --round) ROUND="$2"; shift 2 ;;
    --sweep) SWEEP="$2"; shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done
if [ "$SOAK" = 1 ]; then
  CALLS="${CALLS:-500}"
  if [ "$SECS" = 20 ]; then SECS=600; fi
  LEVELS="$CALLS"
  WEBLOAD=0
  MICRO=0
fi
for v in $LEVELS $CALLS $SECS $ROUND; do
  case "$v" in '' | *[!0-9]*) echo "run.sh: not a number: $v" >&2; exit 2 ;; esac
done
if [ -n "$CALLS" ]; then LEVELS="$LEVELS $CALLS"; fi
LEVELS="$(printf '%s\n' $LEVELS | sort -n | uniq | tr '\n' ' ')"
MAX_LEVEL="$(printf '%s\n' $LEVELS | sort -n | tail -1)"
if [ -z "$RAMP" ]; then
  RAMP=5
  if [ "$SECS" -lt 20 ]; then RAMP=$(( (SECS + 3) / 4 )); fi
fi

log() { echo "run.sh: $*" >&2; }

# Prefix of every measured command: the bench priority (root only).
sched_prefix() { # rr|nice|none
  case "$1" in
    rr) echo "chrt -r 20" ;;
    nice) echo "nice -n -10" ;;
    none) echo "" ;;
    *) echo "run.sh: scheduling must be rr, nice or none" >&2; exit 2 ;;
  esac
}
read -r -a PRIO <<<"$(sched_prefix "$SCHED")"
read -r -a GPRIO <<<"$(sched_prefix "$GEN_SCHED")"

NPROC="$(nproc)"
if [ "$NPROC" -lt 2 ]; then
  log "warning: $NPROC core(s): server and generator share a core"
  GEN_CORE=0
fi

# -- build ----------------------------------------------------------------------
TARGETS=(agentlocator al-loadgen al-baseline al-webload)
if [ "$MICRO" = 1 ]; then TARGETS+=(al-microbench); fi
if [ "${AL_SKIP_BUILD:-0}" != 1 ]; then
  if [ ! -f "$BUILD/CMakeCache.txt" ] ||
    ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" ||
    ! grep -q '^AL_BUILD_BENCH:BOOL=ON' "$BUILD/CMakeCache.txt"; then
    log "configuring Release (benchmarks on) in $BUILD"
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
      -DAL_BUILD_BENCH=ON >/dev/null
  fi
  log "building ${TARGETS[*]}"
  cmake --build "$BUILD" --target "${TARGETS[@]}" -j"$NPROC" >/dev/null
fi
BIN_SVC="$BUILD/app/agentlocator"
BIN_GEN="$BUILD/bench/al-loadgen"
BIN_BASE="$BUILD/bench/al-baseline"
BIN_WEB="$BUILD/bench/al-webload"
BIN_MICRO="$BUILD/bench/al-microbench"
for b in "$BIN_SVC" "$BIN_GEN" "$BIN_BASE" "$BIN_WEB"; do
  [ -x "$b" ] || { log "error: $b was not built"; exit 1; }
done

# 1000 calls need > 1024 descriptors in the server and the generator.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# -- processes --------------------------------------------------------------------
# The service: provider APIs point at a closed local port (no traffic leaves
# the machine); CALL_START_TIMEOUT_MS is raised because al-webload's
# incoming_call requests never open a stream, and their watchdogs would
# otherwise fire (and log) in the middle of the later phases;
# SILENCE_REPROMPT_S is at its maximum because the generator's callers stay
# silent: otherwise the service says goodbye and closes every stream after
# two reprompts (the baseline never does), and each call counts as dropped.
WORK="$(mktemp -d /tmp/al-bench.XXXXXX)"
chmod 755 "$WORK"
SVC_PID=""
BASE_PID=""
PG_DATA="$WORK/pg/data"
cleanup() {
  set +e
  [ -n "$SVC_PID" ] && kill "$SVC_PID" 2>/dev/null && wait "$SVC_PID" 2>/dev/null
  [ -n "$BASE_PID" ] && kill "$BASE_PID" 2>/dev/null && wait "$BASE_PID" 2>/dev/null
  pg_stop "$PG_DATA" >/dev/null 2>&1
  if [ "${AL_BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# shellcheck source=deploy/lib/pg.sh
. "$REPO/deploy/lib/pg.sh"
PG_PORT="$(pg_free_port)"
AL_PG_EPHEMERAL=1 pg_init_and_start "$PG_DATA" "$PG_PORT" "$WORK/pg/run" 2>/dev/null
pg_create_db "$PG_PORT" "$WORK/pg/run" agentlocator_bench 2>/dev/null
PG_PID="$(head -1 "$PG_DATA/postmaster.pid")"
# PostgreSQL works for the service: it shares the server's core (backends
# forked later inherit the affinity).
for p in $PG_PID $(pgrep -P "$PG_PID" || true); do
  taskset -a -p -c "$SERVER_CORE" "$p" >/dev/null 2>&1 || true
  case "$PG_SCHED" in
    rr) chrt -a -r -p 20 "$p" >/dev/null 2>&1 || true ;;
    nice) renice -n -10 -p "$p" >/dev/null 2>&1 || true ;;
  esac
done

wait_port() { # port
  local i
  for ((i = 0; i < 150; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

SVC_PORT="$(pg_free_port)"
mkdir -p "$WORK/recordings"
# incoming_call's sweep spawns a call actor per request (no stream follows):
# the cap stays above all of them, as the issue's 1000 req/s phase needs.
MAX_LIVE=$((MAX_LEVEL * 4 + 20000 + 60000))
env PORT="$SVC_PORT" PUBLIC_BASE_URL="http://127.0.0.1:$SVC_PORT" \
  DATABASE_URL="$(pg_url "$PG_PORT" agentlocator_bench)" \
  TWILIO_ACCOUNT_SID=ACbench TWILIO_AUTH_TOKEN="$AUTH_TOKEN" \
  ADMIN_TOKEN="$ADMIN_TOKEN" MAX_LIVE_CALLS="$MAX_LIVE" LOG_LEVEL=warn \
  RECORDINGS_DIR="$WORK/recordings" SCHEMAS_DIR="$REPO/schemas" \
  TWILIO_API_BASE="http://127.0.0.1:9" META_API_BASE="http://127.0.0.1:9" \
  PAYPAL_API_BASE="http://127.0.0.1:9" CALL_START_TIMEOUT_MS=600000 \
  SILENCE_REPROMPT_S=600 \
  "${PRIO[@]}" taskset -c "$SERVER_CORE" "$BIN_SVC" >"$WORK/service.log" 2>&1 &
SVC_PID=$!
BASE_PORT="$(pg_free_port)"
"${PRIO[@]}" taskset -c "$SERVER_CORE" "$BIN_BASE" --port "$BASE_PORT" >"$WORK/baseline.log" 2>&1 &
BASE_PID=$!
wait_port "$SVC_PORT" || { log "service did not start:"; tail -20 "$WORK/service.log" >&2; exit 1; }
wait_port "$BASE_PORT" || { log "baseline did not start:"; cat "$WORK/baseline.log" >&2; exit 1; }
for ((i = 0; i < 100; i++)); do
  curl -sf "http://127.0.0.1:$SVC_PORT/readyz" >/dev/null && break
  sleep 0.1
done
# The baseline plays the greeting and nothing else: the service's business
# does the same (no whole-call recording, so no recording notice either).
# A recorded call's extra cost (the Ogg/Opus encoder, ~0.55 % of a core)
# is measured by al-microbench (BM_ogg_opus_encode_1s_2ch).
curl -sf -X PATCH "http://127.0.0.1:$SVC_PORT/api/admin/businesses/1" \
  -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"record_calls":false}' >/dev/null \
  || { log "cannot turn record_calls off for the bench business"; exit 1; }
log "service pid $SVC_PID :$SVC_PORT, baseline pid $BASE_PID :$BASE_PORT, PostgreSQL :$PG_PORT; $(head -1 "$WORK/baseline.log")"

PERF=""
if [ "$PROFILE" = 1 ]; then
  if ! perf --version >/dev/null 2>&1; then
    log "perf missing: trying apt-get install linux-perf (optional)"
    (apt-get install -y -qq linux-perf >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq linux-perf >/dev/null 2>&1; }) || true
  fi
  if perf --version >/dev/null 2>&1; then PERF=perf; else log "no perf: profiling skipped"; fi
fi

# -- soak: rounds of churning calls against the service alone ---------------------
proc_sample() { # label -> one JSON object on stdout
  local rss fds threads
  rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$SVC_PID/status")"
  threads="$(awk '/^Threads:/ {print $2}' "/proc/$SVC_PID/status")"
  fds="$(find "/proc/$SVC_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
  printf '{"label":"%s","t":%s,"rss_kib":%s,"fds":%s,"threads":%s}\n' \
    "$1" "$SECONDS" "$rss" "$fds" "$threads"
}
if [ "$SOAK" = 1 ]; then
  SOAK_T0=$SECONDS
  ROUNDS=$(((SECS + ROUND + 2 * RAMP + 3) / (ROUND + 2 * RAMP + 3)))
  [ "$ROUNDS" -ge 2 ] || ROUNDS=2
  log "soak: $ROUNDS rounds of $CALLS calls (${ROUND}s hold, ${RAMP}s ramp) for ~${SECS}s"
  sleep 2
  proc_sample idle >"$WORK/soak-samples.jsonl"
  for ((r = 1; r <= ROUNDS; r++)); do
    "${GPRIO[@]}" taskset -c "$GEN_CORE" "$BIN_GEN" --calls "$CALLS" \
      --seconds "$ROUND" --ramp "$RAMP" --label "soak-$r" --port "$SVC_PORT" \
      --auth-token "$AUTH_TOKEN" --server-pid "$SVC_PID" \
      --out "$WORK/soak-$r.json" 2>>"$WORK/loadgen.log" ||
      log "al-loadgen failed in round $r"
    sleep 3 # calls end, actors quit, queued writes land
    proc_sample "round $r" >>"$WORK/soak-samples.jsonl"
    log "soak round $r/$ROUNDS: $(tail -1 "$WORK/soak-samples.jsonl")"
  done
  COMMIT="$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  OUT="$REPO/bench/results/$(date -u +%Y-%m-%d)-$COMMIT-soak"
  mkdir -p "$REPO/bench/results"
  python3 - "$WORK" "$OUT" "$CALLS" "$ROUND" "$((SECONDS - SOAK_T0))" "$NPROC" "$COMMIT" <<'PY'
import glob, json, os, sys
work, out, calls, hold, wall, nproc, commit = sys.argv[1:8]
samples = [json.loads(l) for l in open(os.path.join(work, "soak-samples.jsonl"))]
rounds = []
for i in range(1, len(samples)):
    try:
        m = json.load(open(os.path.join(work, f"soak-{i}.json")))
    except (OSError, ValueError):
        m = {}
    rounds.append({"round": i, "valid": m.get("valid", False),
                   "dropped": (m.get("dropped") or {}).get("total"),
                   "late_frames": m.get("late_frames"),
                   "live_at_hold_mid": m.get("live_at_hold_mid"),
                   "first_media_p99_ms": (m.get("first_media_ms") or {}).get("p99"),
                   **{k: samples[i][k] for k in ("rss_kib", "fds", "threads")}})
idle, first, last = samples[0], samples[1], samples[-1]
rss_growth = last["rss_kib"] - first["rss_kib"]
flat_rss = rss_growth <= max(0.10 * first["rss_kib"], 2048)
flat_fds = last["fds"] <= idle["fds"] + 64  # the DB pool may have grown
dropped = sum(r["dropped"] or 0 for r in rounds)
res = {"commit": commit, "nproc": int(nproc), "calls": int(calls),
       "round_hold_s": float(hold), "wall_s": int(wall), "idle": idle,
       "rounds": rounds, "rss_growth_kib": rss_growth,
       "rss_flat": flat_rss, "fds_flat": flat_fds, "dropped_total": dropped,
       "calls_total": int(calls) * len(rounds),
       "all_rounds_valid": all(r["valid"] for r in rounds)}
json.dump(res, open(out + ".json", "w"), indent=2)
L = [f"# Soak {commit}: {calls} calls per round, {len(rounds)} rounds, {wall} s (nproc {nproc})", "",
     "| after | RSS KiB | fds | threads | dropped | late frames | live mid-hold | first media p99 ms | valid |",
     "|---|---|---|---|---|---|---|---|---|",
     f"| idle | {idle['rss_kib']} | {idle['fds']} | {idle['threads']} | | | | | |"]
for r in rounds:
    L.append(f"| round {r['round']} | {r['rss_kib']} | {r['fds']} | {r['threads']} | {r['dropped']} "
             f"| {r['late_frames']} | {r['live_at_hold_mid']} | {r['first_media_p99_ms']} | {r['valid']} |")
L += ["", f"RSS growth first -> last round: {rss_growth} KiB ({'flat' if flat_rss else 'GROWING'}); "
      f"descriptors idle {idle['fds']} -> end {last['fds']} ({'flat' if flat_fds else 'LEAKING'}); "
      f"{res['calls_total']} calls, {dropped} dropped."]
open(out + ".md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
  log "wrote $OUT.json and $OUT.md"
  exit 0
fi

# -- media streams: baseline then service at each level ---------------------------
MODE_FLAGS=()
if [ "$BARGE" = 1 ]; then MODE_FLAGS=(--barge); fi
for n in $LEVELS; do
  for target in baseline service; do
    args=(--calls "$n" --seconds "$SECS" --ramp "$RAMP" --label "$target-$n"
      --out "$WORK/media-$target-$n.json")
    if [ "$target" = baseline ]; then
      args+=(--port "$BASE_PORT" --baseline --server-pid "$BASE_PID")
    else
      args+=(--port "$SVC_PORT" --auth-token "$AUTH_TOKEN" --server-pid "$SVC_PID"
        "${MODE_FLAGS[@]}")
    fi
    log "media: $n calls against the $target (${SECS}s hold, ${RAMP}s ramp)"
    tpid="$SVC_PID" # the server under load
    if [ "$target" = baseline ]; then tpid="$BASE_PID"; fi
    perf_pid=""
    if [ -n "$PERF" ] && [ "$n" = "$MAX_LEVEL" ]; then
      # Sample the middle of the hold (all calls live), of both servers:
      # the service's extra cost is the difference.
      (sleep "$((RAMP + 1))" &&
        perf record -q -F 499 -g -p "$tpid" -o "$WORK/perf-$target.data" \
          -- sleep "$(((SECS + 1) / 2))" >/dev/null 2>&1 &&
        perf stat -e context-switches,cpu-migrations,task-clock -p "$tpid" \
          -- sleep 3 2>"$WORK/perf-stat-$target.txt" >/dev/null) &
      perf_pid=$!
    fi
    threads_pid=""
    if [ "$n" = "$MAX_LEVEL" ]; then
      # Which threads share the servers' core: mid-ramp and mid-hold.
      (sleep "$(awk -v r="$RAMP" 'BEGIN{print r/2}')" &&
        python3 "$REPO/bench/threads.py" "$tpid" 2 "$target, ramp, $n calls" &&
        sleep "$(awk -v r="$RAMP" -v s="$SECS" 'BEGIN{x = r/2 + s/2 - 3; if (x < 0) x = 0; print x}')" &&
        python3 "$REPO/bench/threads.py" "$tpid" 3 "$target, hold, $n calls") \
        >"$WORK/threads-$target.md" 2>/dev/null &
      threads_pid=$!
    fi
    "${GPRIO[@]}" taskset -c "$GEN_CORE" "$BIN_GEN" "${args[@]}" 2>>"$WORK/loadgen.log" || {
      log "al-loadgen failed"
      tail -5 "$WORK/loadgen.log" >&2
    }
    tail -1 "$WORK/loadgen.log" >&2
    if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
    if [ -n "$threads_pid" ]; then wait "$threads_pid" || true; fi
    sleep 3 # let calls end, actors quit and queued writes drain
  done
done

if [ -n "$PERF" ]; then
  for target in service baseline; do
    [ -f "$WORK/perf-$target.data" ] || continue
    echo "# perf record -F 499 -g of the $target, mid-hold at $MAX_LEVEL calls"
    echo "## by shared object"
    perf report -i "$WORK/perf-$target.data" --stdio --no-children -g none \
      --sort comm,dso --percent-limit 1 2>/dev/null | grep -v '^#' |
      grep -v '^$' | head -20 || true
    echo "## top symbols (self)"
    perf report -i "$WORK/perf-$target.data" --stdio --no-children -g none \
      --sort symbol --percent-limit 0.6 2>/dev/null | grep -v '^#' |
      grep -v '^$' | cut -c1-160 | head -60 || true
    echo "## perf stat, 3 s mid-hold"
    grep -E 'context-switches|cpu-migrations|task-clock|seconds time' \
      "$WORK/perf-stat-$target.txt" 2>/dev/null || true
    echo
  done >"$WORK/profile.txt" || true
fi

# -- webhooks ------------------------------------------------------------------
if [ "$WEBLOAD" = 1 ]; then
  # Every webhook waits for PostgreSQL: give it the servers' class now that
  # no media runs (AL_BENCH_PG_WEB_SCHED=rr|nice|none, default rr as root).
  PG_WEB_SCHED="${AL_BENCH_PG_WEB_SCHED:-rr}"
  if [ "$(id -u)" -ne 0 ]; then PG_WEB_SCHED=none; fi
  for p in $PG_PID $(pgrep -P "$PG_PID" || true); do
    case "$PG_WEB_SCHED" in
      rr) chrt -a -r -p 20 "$p" >/dev/null 2>&1 || true ;;
      nice) renice -n -10 -p "$p" >/dev/null 2>&1 || true ;;
    esac
  done
  log "webhooks: al-webload (PostgreSQL $PG_WEB_SCHED)"
  "${GPRIO[@]}" taskset -c "$GEN_CORE" "$BIN_WEB" --port "$SVC_PORT" --auth-token "$AUTH_TOKEN" \
    --admin-token "$ADMIN_TOKEN" --concurrency 16 --requests 2000 \
    --rate 1000 --rate-seconds 3 --sweep "$SWEEP" --sweep-seconds 1.5 \
    --server-pid "$SVC_PID" --pg-pid "$PG_PID" \
    --out "$WORK/webload.json" 2>&1 | sed 's/^/  /' >&2 ||
    log "al-webload failed"
fi

# -- micro-benchmarks --------------------------------------------------------------
if [ "$MICRO" = 1 ] && [ -x "$BIN_MICRO" ]; then
  log "micro-benchmarks: al-microbench"
  "${GPRIO[@]}" taskset -c "$GEN_CORE" "$BIN_MICRO" --benchmark_format=json \
    --benchmark_min_time=0.2 >"$WORK/micro.json" 2>/dev/null ||
    log "al-microbench failed"
fi

if grep -qiE 'critical|error' "$WORK/service.log"; then
  log "service log has errors (first 5):"
  grep -iE 'critical|error' "$WORK/service.log" | head -5 >&2
fi

# -- report ----------------------------------------------------------------------
COMMIT="$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
DIRTY=false
if ! git -C "$REPO" diff --quiet HEAD -- 2>/dev/null; then DIRTY=true; fi
# AL_BENCH_LABEL names a build of another commit (AL_BENCH_BUILD_DIR), for
# an A/B of two commits in one sitting; the report says it.
if [ -n "${AL_BENCH_LABEL:-}" ]; then
  COMMIT="$AL_BENCH_LABEL"
  DIRTY=false
fi
DATE="$(date -u +%Y-%m-%d)"
CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || echo unknown)"
MODE=silence
if [ "$BARGE" = 1 ]; then MODE=barge; fi
mkdir -p "$REPO/bench/results"
META="$(python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
  date "$DATE" commit "$COMMIT" cpu_model "$CPU_MODEL" mode "$MODE" sched "servers $SCHED, generators $GEN_SCHED, PostgreSQL $PG_SCHED (webhooks: ${PG_WEB_SCHED:-none})" \
  started_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
META="$(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); m.update(nproc=int(sys.argv[2]), seconds=float(sys.argv[3]), ramp=float(sys.argv[4]), levels=[int(x) for x in sys.argv[5].split()], server_core=int(sys.argv[6]), generator_core=int(sys.argv[7]), dirty=sys.argv[8]=="true", load_average=open("/proc/loadavg").read().split()[:3]); print(json.dumps(m))' \
  "$META" "$NPROC" "$SECS" "$RAMP" "$LEVELS" "$SERVER_CORE" "$GEN_CORE" "$DIRTY")"
# A later run of the same commit on the same day gets -2, -3, ...: an
# earlier report is never overwritten.
OUT="$REPO/bench/results/$DATE-$COMMIT"
n=2
while [ -e "$OUT.json" ] || [ -e "$OUT.md" ]; do
  OUT="$REPO/bench/results/$DATE-$COMMIT-$n"
  n=$((n + 1))
done
python3 "$REPO/bench/report.py" --work "$WORK" --out "$OUT" --meta "$META"
if [ -s "$WORK/threads-service.md" ] || [ -s "$WORK/threads-baseline.md" ]; then
  { echo; echo '## Threads on the servers'"'"' core (top level)'; echo
    cat "$WORK/threads-baseline.md" "$WORK/threads-service.md" 2>/dev/null; } >>"$OUT.md"
fi
if [ -s "$WORK/profile.txt" ]; then
  { echo; echo '## Profile'; echo; echo '```'; cat "$WORK/profile.txt"; echo '```'; } >>"$OUT.md"
fi
log "wrote $OUT.json and $OUT.md"
