#!/usr/bin/env bash
# bench/listings.sh [LISTINGS] [QUERIES] -- issue 17's listings benchmark:
# CSV import throughput and the AI's search_listings latency over LISTINGS
# (default 50 000) listings, each beside its own floor measured in the same
# run (a `SELECT 1` store job; GET /healthz). Builds Release when needed,
# starts a throwaway PostgreSQL, and writes
# bench/results/<date>-<commit>-listings.{json,md} (with nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
N="${1:-50000}"
Q="${2:-2000}"
BUILD="$REPO/build"
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
cmake -S "$REPO" -B "$BUILD" -DAL_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target al-listings-bench >/dev/null
# shellcheck source=deploy/lib/pg.sh
. "$REPO/deploy/lib/pg.sh"
TMP="$(mktemp -d /tmp/al-listings.XXXXXX)"
PG_PORT="$(pg_free_port)"
trap 'pg_stop "$TMP/pg" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
AL_PG_EPHEMERAL=1 pg_init_and_start "$TMP/pg" "$PG_PORT" "$TMP/run" >/dev/null
pg_create_db "$PG_PORT" "$TMP/run" listings_bench >/dev/null
export DATABASE_URL SCHEMAS_DIR="$REPO/schemas"
DATABASE_URL="$(pg_url "$PG_PORT" listings_bench)"
OUT="$("$BUILD/bench/al-listings-bench" "$N" "$Q")"
COMMIT="$(git rev-parse --short=12 HEAD)"
STEM="$REPO/bench/results/$(date -u +%F)-$COMMIT-listings"
echo "$OUT" >"$STEM.json"
python3 - "$STEM.json" "$(nproc)" "$COMMIT" >"$STEM.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"# Listings benchmark, commit {sys.argv[3]}, {sys.argv[2]} cores\n")
print(f"{r['listings']} listings, one CSV through POST /api/crm/listings/import.\n")
print("| figure | value | floor (same run) | ratio |")
print("|---|---|---|---|")
print(f"| import (create) | {r['import_rows_per_s']:.0f} rows/s ({r['import_s']:.2f} s) | | |")
print(f"| import again (update by external_ref) | {r['reimport_rows_per_s']:.0f} rows/s ({r['reimport_s']:.2f} s) | | |")
for name, key, floor in [("search_listings (store job) p50", "search_ai_p50_ms", "store_select1_p50_ms"),
                         ("search_listings (store job) p99", "search_ai_p99_ms", "store_select1_p99_ms"),
                         ("GET /api/crm/listings p50", "api_list_p50_ms", "healthz_p50_ms"),
                         ("GET /api/crm/listings p99", "api_list_p99_ms", "healthz_p99_ms")]:
    ratio = r[key] / r[floor] if r[floor] else float('nan')
    print(f"| {name} | {r[key]:.2f} ms | {r[floor]:.2f} ms | {ratio:.1f}x |")
PY
cat "$STEM.md"
