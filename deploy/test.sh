#!/usr/bin/env bash
# deploy/test.sh -- the whole check, as CI runs it (.ci/run execs this).
#
#   deploy/test.sh                 deps, Release build in build/, ctest, smoke
#   deploy/test.sh --sanitize      deps, ASan+UBSan build in build-asan/, ctest
#   deploy/test.sh --tsan          deps, ThreadSanitizer build in build-tsan/
#                                  (against a libcaf_core built with TSan too,
#                                  deploy/lib/caf_tsan.sh) of the tests with
#                                  labels $AL_TSAN_LABELS (default
#                                  "unit|transport|db": all but the browser
#                                  test) plus those named in $AL_TSAN_TESTS,
#                                  ctest of those
#   deploy/test.sh [...] -- ARGS   extra ARGS for ctest (e.g. -- -R transport)
#
# A throwaway PostgreSQL 15 cluster is started in a mktemp dir on a random
# free port and removed on exit, together with every process started here.
# Tests get (exported):
#   AL_TEST_DATABASE_URL  postgresql://agentlocator@127.0.0.1:PORT/DB (superuser)
#   AL_TEST_PG_DATADIR, AL_TEST_PG_PORT, AL_TEST_PG_SOCKETDIR, AL_TEST_PG_LOG,
#   AL_TEST_PG_CTL, AL_TEST_PG_USER (OS user to run pg_ctl as: when it differs
#   from the current user, use "runuser -u $AL_TEST_PG_USER -- $AL_TEST_PG_CTL")
#   SCHEMAS_DIR
# The smoke stage runs build/app/agentlocator on a random port against a
# fresh database and then "deploy/smoke.sh BASE_URL".
#
# Env: AL_CI_SANITIZE=1 also runs the --sanitize stage after the default one,
# AL_CI_TSAN=1 the --tsan stage (after the others).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

MODE=default
CTEST_EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) MODE=sanitize ;;
    --tsan) MODE=tsan ;;
    --)
      shift
      CTEST_EXTRA=("$@")
      break
      ;;
    -h | --help)
      sed -n '2,26p' "$0"
      exit 0
      ;;
    *)
      echo "test.sh: unknown argument $1 (try --help)" >&2
      exit 2
      ;;
  esac
  shift
done

# A deterministic environment: none of the service's own variables (SPEC §1)
# leak in from the caller's shell.
unset PORT PUBLIC_BASE_URL DATABASE_URL DB_POOL_SIZE TWILIO_ACCOUNT_SID \
  TWILIO_AUTH_TOKEN TWILIO_API_BASE WHATSAPP_DEFAULT_PROVIDER META_WA_TOKEN \
  META_WA_PHONE_ID META_API_BASE OPENAI_API_KEY OPENAI_REALTIME_URL \
  OPENAI_MODEL PAYMENTS_ENABLED PAYPAL_CLIENT_ID PAYPAL_SECRET \
  PAYPAL_API_BASE TRANZILA_TERMINAL TRANZILA_BASE ADMIN_TOKEN DEPLOY_ID \
  WS_PING_INTERVAL_S WS_IDLE_TIMEOUT_S LOG_FORMAT RECORDINGS_DIR MAX_LIVE_CALLS \
  PAYPAL_WEBHOOK_ID META_APP_SECRET META_VERIFY_TOKEN TWILIO_WHATSAPP_FROM \
  CALL_START_TIMEOUT_MS SECRET_KEY LOG_LEVEL FAKE_PROVIDERS_URL \
  WHATSAPP_PROVIDER_TIMEOUT_MS WHATSAPP_IDLE_TIMEOUT_S WHATSAPP_RATE_PER_MIN \
  WEB_ROOT VOICE_ENGINE OPENAI_API_BASE OPENAI_VOICE OPENAI_TTS_MODEL \
  OPENAI_TEXT_MODEL SAY_VOICE SILENCE_REPROMPT_S HOLIDAY_CLOSURES \
  SECRET_KEYS_PREVIOUS METRICS_PORT METRICS_TOKEN TRUSTED_PROXIES \
  AUTH_FAIL_FREE AUTH_FAIL_BLOCK_AFTER AUTH_FAIL_WINDOW_S AUTH_BLOCK_S \
  AUDIT_RETENTION_DAYS DRAIN_TIMEOUT_S IO_THREADS WORKER_NICE

export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
export SCHEMAS_DIR="$REPO/schemas"

# shellcheck source=deploy/lib/pg.sh
. "$REPO/deploy/lib/pg.sh"

T0=$SECONDS
log() { echo "test.sh [$((SECONDS - T0))s]: $*" >&2; }
section() { printf '\n==== %s ====\n' "$*"; }

# -- cleanup: everything started here goes away on exit -----------------------
PIDS=()
TMP=""
PG_DATA=""
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$? pid i
  set +e
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  done
  if [ -n "$PG_DATA" ]; then pg_stop "$PG_DATA" 2>/dev/null; fi
  if [ -n "$TMP" ]; then rm -rf -- "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- helpers --------------------------------------------------------------------
build() { # build DIR CMAKE_ARGS...
  local dir="$1"
  shift
  section "build $dir ($*)"
  if ! cmake -S "$REPO" -B "$REPO/$dir" -DAL_BUILD_TESTS=ON "$@" ||
    ! cmake --build "$REPO/$dir" -j"$(nproc)"; then
    log "error: the build in $dir failed"
    exit 1
  fi
  log "built $dir"
}

# alive PID: running and not a zombie.
alive() {
  local st
  st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

wait_port() { # wait_port PORT SECONDS PID
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    alive "$3" || return 1
    sleep 0.1
  done
  return 1
}

SUMMARY=()     # one line per stage
CTEST_LOGS=()  # ctest outputs whose closing summary is re-printed at the end
FAILED=0

# A DB-outage test that failed half-way may have left the cluster stopped.
ensure_cluster() {
  AL_PG_EPHEMERAL=1 pg_init_and_start "$AL_TEST_PG_DATADIR" "$AL_TEST_PG_PORT" \
    "$AL_TEST_PG_SOCKETDIR"
}

# Each test process drops the databases it created when it exits
# (tests/support/app_fixture.cpp); this drops what a crashed one left, so
# the three stages never hold thousands of them (about 10 MB each).
drop_test_databases() {
  local name
  ensure_cluster
  _pg_psql "$AL_TEST_PG_PORT" "$AL_TEST_PG_SOCKETDIR" -d postgres -Atc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'al\\_t\\_%'" |
    while read -r name; do
      pg_drop_db "$AL_TEST_PG_PORT" "$AL_TEST_PG_SOCKETDIR" "$name" || true
    done || log "warning: could not list the test databases to drop"
  log "disk after the stage: $(df -h "$AL_TEST_PG_DATADIR" | awk 'NR==2 {print $4 " free"}')"
}

CTEST_PREFIX=() # e.g. setarch for the ThreadSanitizer stage
run_ctest() { # run_ctest BUILD_DIR DBNAME
  local dir="$1" db="$2" rc log
  ensure_cluster
  pg_drop_db "$AL_TEST_PG_PORT" "$AL_TEST_PG_SOCKETDIR" "$db"
  pg_create_db "$AL_TEST_PG_PORT" "$AL_TEST_PG_SOCKETDIR" "$db"
  AL_TEST_DATABASE_URL="$(pg_url "$AL_TEST_PG_PORT" "$db")"
  export AL_TEST_DATABASE_URL
  log="$TMP/ctest-$dir.log"
  section "ctest $dir (AL_TEST_DATABASE_URL=$AL_TEST_DATABASE_URL)"
  set +e
  "${CTEST_PREFIX[@]}" ctest --test-dir "$REPO/$dir" --output-on-failure -j2 \
    --no-tests=error \
    "${CTEST_EXTRA[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  CTEST_LOGS+=("$log")
  drop_test_databases
  pg_drop_db "$AL_TEST_PG_PORT" "$AL_TEST_PG_SOCKETDIR" "$db"
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("ctest $dir: ok")
  else
    SUMMARY+=("ctest $dir: FAILED (exit $rc)")
    FAILED=1
  fi
}

# Starts build/app/agentlocator against a fresh database and runs smoke.sh.
run_smoke() {
  local bin="$REPO/build/app/agentlocator" fake="$REPO/build/tests/fake_providers"
  local db=agentlocator_smoke app_port fake_port app_pid fake_pid rc i
  section "smoke"
  if [ ! -f "$REPO/deploy/smoke.sh" ]; then
    log "error: deploy/smoke.sh is missing -- the smoke test must exist (it is run as: deploy/smoke.sh http://127.0.0.1:PORT)"
    SUMMARY+=("smoke: FAILED (deploy/smoke.sh missing)")
    FAILED=1
    return 0
  fi
  if [ ! -x "$bin" ]; then
    log "error: $bin was not built"
    SUMMARY+=("smoke: FAILED ($bin missing)")
    FAILED=1
    return 0
  fi

  fake_port="$(pg_free_port)"
  if [ -x "$fake" ]; then
    "$fake" --port "$fake_port" >"$TMP/fake_providers.log" 2>&1 &
    fake_pid=$!
    PIDS+=("$fake_pid")
    if ! wait_port "$fake_port" 20 "$fake_pid"; then
      log "error: fake_providers did not listen on $fake_port"
      tail -n 40 "$TMP/fake_providers.log" >&2 || true
      SUMMARY+=("smoke: FAILED (fake_providers did not start)")
      FAILED=1
      return 0
    fi
    log "fake providers on 127.0.0.1:$fake_port"
  else
    log "note: $fake not built; provider base URLs point at a closed port"
  fi

  ensure_cluster
  pg_drop_db "$AL_TEST_PG_PORT" "$AL_TEST_PG_SOCKETDIR" "$db"
  pg_create_db "$AL_TEST_PG_PORT" "$AL_TEST_PG_SOCKETDIR" "$db"
  app_port="$(pg_free_port)"
  mkdir -p "$TMP/recordings"

  export PORT="$app_port"
  export PUBLIC_BASE_URL="http://127.0.0.1:$app_port"
  SMOKE_DATABASE_URL="$(pg_url "$AL_TEST_PG_PORT" "$db")"
  export SMOKE_DATABASE_URL
  export DATABASE_URL="$SMOKE_DATABASE_URL"
  export ADMIN_TOKEN=smoke-admin
  # Tenant secrets are sealed in the smoke run too.
  export SECRET_KEY=smoke-secret-key-0123456789abcdef-0123
  export TWILIO_AUTH_TOKEN=smoke-auth-token
  export TWILIO_ACCOUNT_SID=ACsmoke
  export PAYMENTS_ENABLED=true
  export FAKE_PROVIDERS_URL="http://127.0.0.1:$fake_port"
  export TWILIO_API_BASE="$FAKE_PROVIDERS_URL"
  export PAYPAL_API_BASE="$FAKE_PROVIDERS_URL"
  export META_API_BASE="$FAKE_PROVIDERS_URL"
  export META_WA_TOKEN=smoke-meta-token
  export META_WA_PHONE_ID=100200300400
  export META_VERIFY_TOKEN=smoke-verify-token
  export META_APP_SECRET=smoke-app-secret
  export PAYPAL_WEBHOOK_ID=WH-SMOKE
  export RECORDINGS_DIR="$TMP/recordings"

  (cd "$TMP" && exec "$bin") >"$TMP/app.log" 2>&1 &
  app_pid=$!
  PIDS+=("$app_pid")
  log "agentlocator pid $app_pid on $PUBLIC_BASE_URL (log $TMP/app.log)"

  local healthy=0
  for ((i = 0; i < 900; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "$PUBLIC_BASE_URL/healthz" 2>/dev/null; then
      healthy=1
      break
    fi
    alive "$app_pid" || break
    sleep 0.1
  done
  if [ "$healthy" != 1 ]; then
    log "error: agentlocator did not answer /healthz within 90s (or exited)"
    tail -n 80 "$TMP/app.log" >&2 || true
    SUMMARY+=("smoke: FAILED (service not healthy)")
    FAILED=1
    return 0
  fi
  log "healthy; running deploy/smoke.sh $PUBLIC_BASE_URL"

  set +e
  bash "$REPO/deploy/smoke.sh" "$PUBLIC_BASE_URL"
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("smoke: ok")
  else
    SUMMARY+=("smoke: FAILED (exit $rc)")
    FAILED=1
    log "service log (tail):"
    tail -n 80 "$TMP/app.log" >&2 || true
  fi

  # Every curl example of README.md, as written, against the same server.
  set +e
  bash "$REPO/deploy/readme_examples.sh" "$PUBLIC_BASE_URL"
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("README examples: ok")
  else
    SUMMARY+=("README examples: FAILED (exit $rc)")
    FAILED=1
  fi

  # Graceful shutdown (SPEC §6): SIGTERM must end the process. Reported only.
  kill -TERM "$app_pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    alive "$app_pid" || break
    sleep 0.1
  done
  if alive "$app_pid"; then
    log "warning: agentlocator still running 30s after SIGTERM"
    SUMMARY+=("shutdown: still running 30s after SIGTERM (warning)")
  else
    wait "$app_pid" 2>/dev/null && rc=0 || rc=$?
    SUMMARY+=("shutdown: exited with $rc after SIGTERM")
  fi
}

# -- the run ------------------------------------------------------------------
section "dependencies"
bash "$REPO/deploy/install-deps.sh"
bash "$REPO/web/fetch-font.sh" # no-op: the dashboard's font is committed
# The pinned dev packages of package.json into node_modules/ (the OpenAPI
# validator that ctest's openapi_validate runs), when missing or older than
# the lock file. Offline that test then fails with a clear message.
if [ ! -f "$REPO/node_modules/@seriousme/openapi-schema-validator/package.json" ] ||
  [ "$REPO/package-lock.json" -nt "$REPO/node_modules/.package-lock.json" ]; then
  if ! command -v npm >/dev/null ||
    ! (cd "$REPO" && npm ci --ignore-scripts --no-audit --no-fund --silent); then
    log "warning: npm ci failed: ctest's openapi_validate will fail"
  fi
fi

if [ "$MODE" = default ]; then
  build build -DCMAKE_BUILD_TYPE=Release -DAL_BUILD_BENCH="${AL_BUILD_BENCH:-OFF}"
  # Every public header compiles on its own (cmake/header_check.cmake).
  section "header self-containment (al_header_check)"
  if ! cmake --build "$REPO/build" -j"$(nproc)" --target al_header_check; then
    log "error: a header does not compile on its own (see above)"
    exit 1
  fi
  SUMMARY+=("headers: every public header compiles on its own")
  # The sources follow .clang-format (deploy/format.sh rewrites them).
  section "clang-format (deploy/format.sh --check)"
  if ! "$REPO/deploy/format.sh" --check; then
    log "error: run deploy/format.sh and commit the result"
    exit 1
  fi
  SUMMARY+=("format: every C++ source is clang-formatted")
fi
if [ "$MODE" = sanitize ] || [ "${AL_CI_SANITIZE:-0}" = 1 ]; then
  # -O1 -g1: line tables are enough for sanitizer reports, and -O2 -g with
  # ASan+UBSan instrumentation compiles about twice as long on 2 cores.
  build build-asan -DAL_SANITIZE=address,undefined \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DAL_BUILD_BENCH=OFF
fi

# ThreadSanitizer: every ctest suite but the browser test (the agentlocator
# binary, the benchmarks and the fuzzers are not built here).
TSAN=0
if [ "$MODE" = tsan ] || [ "${AL_CI_TSAN:-0}" = 1 ]; then TSAN=1; fi
TSAN_REGEX=""
if [ "$TSAN" = 1 ]; then
  section "build build-tsan (ThreadSanitizer)"
  # shellcheck source=deploy/lib/caf_tsan.sh
  . "$REPO/deploy/lib/caf_tsan.sh"
  mkdir -p "$REPO/build-tsan"
  if ! CAF_PREFIX="$(caf_tsan_prefix "$REPO/build-tsan" "$REPO/var/cache")"; then
    log "error: could not build CAF with ThreadSanitizer"
    exit 1
  fi
  log "CAF with ThreadSanitizer: $CAF_PREFIX"
  if ! cmake -S "$REPO" -B "$REPO/build-tsan" -DAL_BUILD_TESTS=ON -DAL_TSAN=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DAL_BUILD_BENCH=OFF -DAL_CAF_PREFIX="$CAF_PREFIX"; then
    log "error: configuring build-tsan failed"
    exit 1
  fi
  ALL_TESTS="$(ctest --test-dir "$REPO/build-tsan" -N | sed -n 's/^ *Test *#[0-9]*: *//p')"
  TSAN_NAMES=()
  while read -r t; do
    [ -n "$t" ] && TSAN_NAMES+=("$t")
  done < <(ctest --test-dir "$REPO/build-tsan" -N \
    -L "${AL_TSAN_LABELS:-unit|transport|db}" | sed -n 's/^ *Test *#[0-9]*: *//p')
  for t in ${AL_TSAN_TESTS:-}; do
    if grep -qx "$t" <<<"$ALL_TESTS"; then TSAN_NAMES+=("$t"); fi
  done
  if [ "${#TSAN_NAMES[@]}" = 0 ]; then
    log "error: no tests selected for the ThreadSanitizer stage"
    exit 1
  fi
  # Every test is an executable of the same name (tests/CMakeLists.txt).
  if ! cmake --build "$REPO/build-tsan" -j"$(nproc)" --target "${TSAN_NAMES[@]}"; then
    log "error: the build in build-tsan failed"
    exit 1
  fi
  log "built build-tsan: ${TSAN_NAMES[*]}"
  TSAN_REGEX="^($(IFS='|'; echo "${TSAN_NAMES[*]}"))\$"
fi

section "postgresql"
TMP="$(mktemp -d /tmp/al-test.XXXXXX)"
PG_PORT="$(pg_free_port)"
PG_DATA="$TMP/pg/data"
AL_PG_EPHEMERAL=1 pg_init_and_start "$PG_DATA" "$PG_PORT" "$TMP/run"
export AL_TEST_PG_DATADIR="$PG_DATA"
export AL_TEST_PG_PORT="$PG_PORT"
export AL_TEST_PG_SOCKETDIR="$TMP/run"
export AL_TEST_PG_LOG="$TMP/pg/pg.log"
export AL_TEST_PG_CTL="$AL_PG_BIN/pg_ctl"
AL_TEST_PG_USER="$(pg_os_user)"
export AL_TEST_PG_USER
log "cluster $PG_DATA on 127.0.0.1:$PG_PORT (OS user $AL_TEST_PG_USER)"

if [ "$MODE" = default ]; then
  run_ctest build agentlocator_test
  run_smoke
fi
if [ "$MODE" = sanitize ] || [ "${AL_CI_SANITIZE:-0}" = 1 ]; then
  export ASAN_OPTIONS="detect_leaks=1"
  export LSAN_OPTIONS="suppressions=$REPO/deploy/sanitizers/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$REPO/deploy/sanitizers/ubsan.supp"
  run_ctest build-asan agentlocator_test_asan
fi
if [ "$TSAN" = 1 ]; then
  # halt_on_error: the first race fails its test (exit 66) with one report.
  # Without ASLR, TSan's shadow mapping works on kernels with large
  # mmap_rnd_bits too (where it otherwise aborts at start-up).
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4"
  if command -v setarch >/dev/null; then CTEST_PREFIX=(setarch "$(uname -m)" -R); fi
  CTEST_EXTRA=(-R "$TSAN_REGEX" "${CTEST_EXTRA[@]}")
  run_ctest build-tsan agentlocator_test_tsan
  CTEST_PREFIX=()
fi

section "summary ($((SECONDS - T0))s)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
# ctest's own closing lines come last, for whoever reads the tail.
for f in "${CTEST_LOGS[@]}"; do
  echo
  echo "ctest summary (${f##*/ctest-}):"
  sed -n '/tests passed\|No tests were found/,$p' "$f"
done
exit "$FAILED"
