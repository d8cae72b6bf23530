#!/usr/bin/env bash
# bench/fuzz.sh -- libFuzzer targets for the parsers that read hostile input.
#
#   bench/fuzz.sh [SECONDS]     build, then fuzz every target SECONDS each
#                               (default 20); SECONDS=0 only replays the
#                               corpora once (a quick regression check)
#   bench/fuzz.sh --build-only  build the targets and stop
#   bench/fuzz.sh --list        print the target names
#
# Env: FUZZ_TARGETS="form json" (a subset), FUZZ_JOBS=N (parallel compiles,
# default 2), CXX (default clang++-14), FUZZ_OUT (default build-fuzz/ in the
# repository), FUZZ_ARGS (extra libFuzzer flags, e.g. "-jobs=2").
#
# Not part of the CMake build (which uses g++): the al_core sources the
# targets need, plus Boost.URL and Boost.JSON from their src.hpp (so that
# they are instrumented too), are compiled here with
#   clang++-14 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined
# into $FUZZ_OUT. Each target runs on a working corpus in
# $FUZZ_OUT/corpus/<target>/, seeded from bench/fuzz/corpus/<target>/ (the
# committed seeds are never modified); crashes land in
# $FUZZ_OUT/artifacts/<target>/. Exits non-zero when any target crashes,
# leaks, times out or fails to build. Needs clang-14, libfuzzer-14-dev and
# libclang-rt-14-dev (deploy/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

TARGETS_ALL=(form media_frame json signature twiml phone_money audio_decode
  csv secret_box http_range after_call_wire wa_template campaign_input
  wa_ai_wire twilio_calls wa_media)
# al_core sources the targets link (pure functions; no espeak/config). wav
# (audio_decode) calls libsndfile, libsoxr and libogg, linked from the system
# and so not instrumented: the fuzzer sees only our code's coverage, and ASan
# sees those libraries' heap use through malloc and memcpy only.
CORE_SRCS=(form json input crm_input business_input crypto twilio_signature
  call_token url_builder twiml phone money media_frame whatsapp_wire
  payment_wire working_hours israel_time mulaw wav listing_input csv csv_import
  secret_box http_range after_call_wire campaign_input realtime_wire
  wa_ai_wire twilio_calls_wire intake_input wa_media)

SECONDS_EACH=20
MODE=run
while [ $# -gt 0 ]; do
  case "$1" in
    --build-only) MODE=build ;;
    --list)
      printf '%s\n' "${TARGETS_ALL[@]}"
      exit 0
      ;;
    -h | --help)
      sed -n '2,25p' "$0"
      exit 0
      ;;
    *[!0-9]* | '')
      echo "fuzz.sh: unknown argument $1 (try --help)" >&2
      exit 2
      ;;
    *) SECONDS_EACH="$1" ;;
  esac
  shift
done

read -r -a TARGETS <<<"${FUZZ_TARGETS:-${TARGETS_ALL[*]}}"
for t in "${TARGETS[@]}"; do
  if [ ! -f "$REPO/bench/fuzz/fuzz_$t.cpp" ]; then
    echo "fuzz.sh: no target $t (bench/fuzz/fuzz_$t.cpp)" >&2
    exit 2
  fi
done

CXX="${CXX:-clang++-14}"
if ! command -v "$CXX" >/dev/null; then
  echo "fuzz.sh: $CXX not found (deploy/install-deps.sh installs clang-14)" >&2
  exit 2
fi
OUT="${FUZZ_OUT:-$REPO/build-fuzz}"
JOBS="${FUZZ_JOBS:-2}"
mkdir -p "$OUT/obj" "$OUT/gen"

# The definitions al_core is built with (simdjson's threads flag must match
# the installed library); Boost.URL/JSON are compiled in, not linked.
FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer
  -fsanitize=address,undefined -fno-sanitize-recover=all
  -DSIMDJSON_THREADS_ENABLED=1 -DBOOST_URL_NO_LIB -DBOOST_JSON_NO_LIB
  -I"$REPO")
LIBS=(-lsimdjson -lcrypto -lfmt -lsndfile -lsoxr -logg -lcctz -lhdate -lpthread)

log() { echo "fuzz.sh: $*" >&2; }

# -- build ---------------------------------------------------------------------
# An object is rebuilt when it is missing or older than this script, its
# source or any of our files in its depfile (-MMD; system headers ignored).
stale() { # stale OBJ SRC
  local obj="$1" src="$2" dep
  [ -f "$obj" ] && [ -f "$obj.d" ] || return 0
  [ "$src" -nt "$obj" ] && return 0
  while read -r dep; do
    [ -e "$dep" ] || return 0
    [ "$dep" -nt "$obj" ] && return 0
  done < <(sed -e 's/^[^:]*://' -e 's/\\$//' "$obj.d" | tr -s ' ' '\n' |
    grep "^$REPO/" || true)
  return 1
}

# Different compiler or flags: start over.
STAMP="$CXX ${FLAGS[*]} ${LIBS[*]}"
if [ "$(cat "$OUT/flags.stamp" 2>/dev/null)" != "$STAMP" ]; then
  rm -f "$OUT"/obj/*.o "$OUT"/obj/*.d
  echo "$STAMP" >"$OUT/flags.stamp"
fi

BUILD_FAILED=0
PENDING=0
compile() { # compile SRC OBJ (in the background, at most $JOBS at once)
  local src="$1" obj="$2"
  stale "$obj" "$src" || return 0
  if [ "$PENDING" -ge "$JOBS" ]; then
    wait -n || BUILD_FAILED=1
    PENDING=$((PENDING - 1))
  fi
  log "compile ${src#"$REPO"/}"
  "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer-no-link -MMD -MF "$obj.d" -c "$src" \
    -o "$obj.tmp" &&
    mv "$obj.tmp" "$obj" &
  PENDING=$((PENDING + 1))
}
drain() {
  while [ "$PENDING" -gt 0 ]; do
    wait -n || BUILD_FAILED=1
    PENDING=$((PENDING - 1))
  done
}

echo '#include <boost/json/src.hpp>' >"$OUT/gen/boost_json.cpp.new"
echo '#include <boost/url/src.hpp>' >"$OUT/gen/boost_url.cpp.new"
for g in boost_json boost_url; do
  cmp -s "$OUT/gen/$g.cpp.new" "$OUT/gen/$g.cpp" ||
    mv "$OUT/gen/$g.cpp.new" "$OUT/gen/$g.cpp"
  rm -f "$OUT/gen/$g.cpp.new"
done

OBJS=()
for g in boost_json boost_url; do
  compile "$OUT/gen/$g.cpp" "$OUT/obj/$g.o"
  OBJS+=("$OUT/obj/$g.o")
done
for s in "${CORE_SRCS[@]}"; do
  compile "$REPO/core/$s.cpp" "$OUT/obj/core_$s.o"
  OBJS+=("$OUT/obj/core_$s.o")
done
for t in "${TARGETS[@]}"; do
  compile "$REPO/bench/fuzz/fuzz_$t.cpp" "$OUT/obj/fuzz_$t.o"
done
drain
if [ "$BUILD_FAILED" != 0 ]; then
  log "error: compilation failed"
  exit 1
fi
for t in "${TARGETS[@]}"; do
  bin="$OUT/fuzz_$t"
  relink=0
  [ -f "$bin" ] || relink=1
  for o in "$OUT/obj/fuzz_$t.o" "${OBJS[@]}"; do
    [ "$o" -nt "$bin" ] && relink=1
  done
  if [ "$relink" = 1 ]; then
    log "link fuzz_$t"
    "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer "$OUT/obj/fuzz_$t.o" "${OBJS[@]}" \
      "${LIBS[@]}" -o "$bin"
  fi
done
log "built ${TARGETS[*]} in $OUT"
[ "$MODE" = build ] && exit 0

# -- run -----------------------------------------------------------------------
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
read -r -a EXTRA <<<"${FUZZ_ARGS:-}"

FAILED=0
ROWS=()
for t in "${TARGETS[@]}"; do
  work="$OUT/corpus/$t" art="$OUT/artifacts/$t" seeds="$REPO/bench/fuzz/corpus/$t"
  mkdir -p "$work" "$art"
  args=(-print_final_stats=1 -timeout=10 -rss_limit_mb=2048
    -artifact_prefix="$art/")
  if [ "$SECONDS_EACH" = 0 ]; then
    args+=(-runs=0)
  else
    args+=(-max_total_time="$SECONDS_EACH")
  fi
  dict="$REPO/bench/fuzz/dict/$t.dict"
  [ -f "$dict" ] && args+=(-dict="$dict")
  dirs=("$work")
  [ -d "$seeds" ] && dirs+=("$seeds")
  flog="$OUT/fuzz_$t.log"
  log "run fuzz_$t for ${SECONDS_EACH}s (log $flog)"
  set +e
  "$OUT/fuzz_$t" "${args[@]}" "${EXTRA[@]}" "${dirs[@]}" >"$flog" 2>&1
  rc=$?
  set -e
  # Figures from the final stats and the last status line.
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$flog" | tail -n1)"
  eps="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$flog" | tail -n1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$flog" | tail -n1)"
  last="$(grep -E '^#[0-9]+' "$flog" | tail -n1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")"
  if [ "$rc" = 0 ]; then
    verdict=ok
  else
    verdict="FAILED (exit $rc)"
    FAILED=1
    log "fuzz_$t failed; crash input(s) in $art:"
    ls -1 "$art" >&2 || true
    grep -E 'ERROR|SUMMARY|fuzz check failed|runtime error' "$flog" |
      head -n 10 >&2 || true
  fi
  ROWS+=("$(printf '%-12s %10s %8s %6s %6s %6s %6s  %s' "$t" "${runs:--}" \
    "${eps:--}" "${cov:--}" "${ft:--}" "${corp:--}" "${rss:--}" "$verdict")")
done

printf '\n%-12s %10s %8s %6s %6s %6s %6s  %s\n' target runs exec/s cov ft \
  corpus rss_mb result
printf '%s\n' "${ROWS[@]}"
exit "$FAILED"
