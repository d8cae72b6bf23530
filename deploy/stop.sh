#!/usr/bin/env bash
# deploy/stop.sh -- stop what deploy/start.sh started.
#
# Sends SIGTERM to the service recorded in var/agentlocator.pid (graceful
# drain: it stops taking calls and lets live ones finish), waits up to
# AL_STOP_TIMEOUT seconds (default 60), then SIGKILL. Then stops the local
# PostgreSQL cluster under var/pg unless --keep-db is given.
cd "$(dirname "$0")"
cd ..
set -euo pipefail

REPO="$(pwd)"
PIDFILE="$REPO/var/agentlocator.pid"
TIMEOUT="${AL_STOP_TIMEOUT:-60}"
KEEP_DB=0
for arg in "$@"; do
  case "$arg" in
    --keep-db) KEEP_DB=1 ;;
    -h | --help)
      sed -n '2,7p' "$0"
      exit 0
      ;;
    *)
      echo "stop.sh: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done

# shellcheck source=deploy/lib/pg.sh
. "$REPO/deploy/lib/pg.sh"

log() { echo "stop.sh: $*" >&2; }

if [ -f "$PIDFILE" ]; then
  pid="$(cat "$PIDFILE")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q agentlocator; then
    log "SIGTERM to agentlocator (pid $pid), waiting up to ${TIMEOUT}s"
    kill -TERM "$pid"
    for ((i = 0; i < TIMEOUT * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "still running after ${TIMEOUT}s, SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "no running agentlocator for pid file ($pid)"
  fi
  rm -f "$PIDFILE"
else
  log "no pid file, service not running"
fi

if [ "$KEEP_DB" = 0 ] && [ -d "$REPO/var/pg/data" ]; then
  pg_stop "$REPO/var/pg/data"
fi
