#!/usr/bin/env bash
# deploy/start.sh -- build and run AgentLocator in the foreground.
#
# Installs the Debian packages (deploy/install-deps.sh, a no-op when present),
# builds Release into build/, and -- unless DATABASE_URL is set -- starts the
# project-local PostgreSQL 15 cluster under var/pg (data kept across restarts,
# left running for the next start), creates the database "agentlocator" and
# points DATABASE_URL at it. It keeps a SECRET_KEY in var/secret_key when
# none is configured, prints a one-time sign-in link for the default
# business's owner, then execs build/app/agentlocator, whose PID is written
# to var/agentlocator.pid (deploy/stop.sh uses it).
#
# Env (besides the service's own, see deploy/config.example.env):
#   AL_PG_PORT     port of the local cluster (default 5433)
#   AL_SKIP_DEPS   1 = do not run install-deps.sh
#   AL_SKIP_BUILD  1 = do not configure/build (build/app/agentlocator must exist)
cd "$(dirname "$0")"
cd ..
set -euo pipefail

REPO="$(pwd)"
BIN="$REPO/build/app/agentlocator"

export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
export SCHEMAS_DIR="${SCHEMAS_DIR:-$REPO/schemas}"

# shellcheck source=deploy/lib/pg.sh
. "$REPO/deploy/lib/pg.sh"

log() { echo "start.sh: $*" >&2; }

if [ "${AL_SKIP_DEPS:-0}" != 1 ]; then
  bash "$REPO/deploy/install-deps.sh"
fi
# The dashboard's font is committed; this only fetches it (npm) if missing.
bash "$REPO/web/fetch-font.sh" || log "warning: web/fonts incomplete (the dashboard falls back to system fonts)"

if [ "${AL_SKIP_BUILD:-0}" != 1 ]; then
  log "building Release into build/"
  cmake -S "$REPO" -B "$REPO/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$REPO/build" -j"$(nproc)"
fi
[ -x "$BIN" ] || {
  log "error: $BIN was not built"
  exit 1
}

mkdir -p "$REPO/var"

if [ -z "${DATABASE_URL:-}" ]; then
  PG_PORT="${AL_PG_PORT:-5433}"
  PG_DATA="$REPO/var/pg/data"
  PG_SOCK="$REPO/var/pg/run"
  # Unix socket paths are limited to ~107 bytes; a deep checkout falls back to
  # a short per-user, per-checkout dir in /tmp (TCP is used by the service).
  if [ $((${#PG_SOCK} + 20)) -gt 100 ]; then
    PG_SOCK="/tmp/agentlocator-pg.$(id -u).$(printf '%s' "$REPO" | md5sum | cut -c1-8)"
  fi
  pg_init_and_start "$PG_DATA" "$PG_PORT" "$PG_SOCK"
  pg_create_db "$PG_PORT" "$PG_SOCK" agentlocator
  DATABASE_URL="$(pg_url "$PG_PORT" agentlocator)"
  export DATABASE_URL
  log "using the local cluster: $DATABASE_URL"
fi

# Tenant secrets are encrypted at rest under SECRET_KEY (docs/security.md):
# one key per installation, kept in var/secret_key (mode 600), unless one is
# configured in the environment or a .env file. Losing it means setting the
# offices' provider secrets again.
if [ -z "${SECRET_KEY:-}" ] \
  && ! grep -qsE '^[[:space:]]*(export[[:space:]]+)?SECRET_KEY=' \
    "$REPO/.env" "$(dirname "$BIN")/.env"; then
  if [ ! -s "$REPO/var/secret_key" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$REPO/var/secret_key")
    log "made a SECRET_KEY for this installation in var/secret_key (back it up)"
  fi
  SECRET_KEY="$(cat "$REPO/var/secret_key")"
  export SECRET_KEY
fi

mkdir -p "$REPO/var/recordings"
if [ -n "${RECORDINGS_DIR:-}" ]; then mkdir -p "$RECORDINGS_DIR"; fi

# The owner's way in: a one-time sign-in link for the default business
# (it applies the migrations first; the link works once the server is up).
if link="$("$BIN" sign-in-link --business 1 --role owner --ttl-minutes 1440 \
  2>"$REPO/var/sign-in-link.log")"; then
  echo
  echo "  Sign in to the dashboard (the link works once, for 24 hours):"
  echo "    $link"
  echo "  More links: $BIN sign-in-link --business N --role owner|agent|read_only"
  echo "  (owners also invite people from the dashboard's settings page)"
  echo
else
  log "warning: could not make a sign-in link: $(tail -1 "$REPO/var/sign-in-link.log")"
fi

echo "$$" >"$REPO/var/agentlocator.pid"
log "exec $BIN (pid $$, port ${PORT:-5000})"
exec "$BIN"
