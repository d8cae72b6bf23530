#!/usr/bin/env bash
# bench/campaign.sh [LEADS] -- issue 20's campaign dispatch benchmark: the
# cost of a campaign tick claiming LEADS (default 1000) queued leads, as
# claims per second and round trips per dial, beside a `SELECT 1`
# transaction measured in the same run; and two dispatchers claiming one
# campaign at once (no row may be claimed twice). Builds when needed
# (BUILD, default build/), starts a throwaway PostgreSQL, and writes
# bench/results/<date>-<commit>-campaign.{json,md} (with nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
N="${1:-1000}"
BUILD="${BUILD:-$REPO/build}"
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
cmake -S "$REPO" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j"${JOBS:-1}" --target al-campaign-bench >/dev/null
# shellcheck source=deploy/lib/pg.sh
. "$REPO/deploy/lib/pg.sh"
TMP="$(mktemp -d /tmp/al-campaign.XXXXXX)"
PG_PORT="$(pg_free_port)"
trap 'pg_stop "$TMP/pg" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
AL_PG_EPHEMERAL=1 pg_init_and_start "$TMP/pg" "$PG_PORT" "$TMP/run" >/dev/null
pg_create_db "$PG_PORT" "$TMP/run" campaign_bench >/dev/null
export DATABASE_URL SCHEMAS_DIR="$REPO/schemas"
DATABASE_URL="$(pg_url "$PG_PORT" campaign_bench)"
OUT="$("$BUILD/bench/al-campaign-bench" "$N")"
COMMIT="$(git rev-parse --short=12 HEAD)"
STEM="$REPO/bench/results/$(date -u +%F)-$COMMIT-campaign"
echo "$OUT" >"$STEM.json"
python3 - "$STEM.json" "$(nproc)" "$COMMIT" >"$STEM.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"# Campaign dispatch benchmark, commit {sys.argv[3]}, {sys.argv[2]} cores\n")
print(f"{r['leads']} queued leads in one running campaign; each claimed row is")
print("ended at once (as the status callback would), so every tick claims a")
print("full batch. Baseline: a `SELECT 1` transaction in the same run "
      f"({r['baseline_tx_us']:.0f} µs).\n")
print("| figure | max_concurrent 3 | max_concurrent 50 |")
print("|---|---|---|")
for name, key, fmt in [("claims per second", "claims_per_s", "{:.0f}"),
                       ("one tick (µs)", "tick_us", "{:.0f}"),
                       ("tick / baseline", "tick_vs_baseline", "{:.1f}x"),
                       ("DB round trips per dial", "round_trips_per_dial", "{:.2f}")]:
    print(f"| {name} | {fmt.format(r[key + '_mc3'])} | {fmt.format(r[key + '_mc50'])} |")
print(f"\nTwo dispatchers on one campaign (max_concurrent 50): "
      f"{r['two_dispatchers_claims_per_s']:.0f} claims/s in total, split "
      f"{r['two_dispatchers_claimed'][0]}/{r['two_dispatchers_claimed'][1]}; "
      f"rows claimed twice: {r['claimed_twice']}.")
PY
cat "$STEM.md"
