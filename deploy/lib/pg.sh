#!/usr/bin/env bash
# deploy/lib/pg.sh -- helpers for a project-local PostgreSQL 15 cluster.
#
# Source it (". deploy/lib/pg.sh"); it defines functions only:
#   pg_init_and_start DATADIR PORT SOCKETDIR  initdb if needed, start if needed
#   pg_create_db PORT SOCKETDIR DBNAME         createdb unless it exists
#   pg_drop_db PORT SOCKETDIR DBNAME           dropdb if it exists
#   pg_stop DATADIR                            fast shutdown; ok if not running
#   pg_free_port                               a free TCP port on 127.0.0.1
#   pg_url PORT DBNAME                         libpq URL (TCP, 127.0.0.1)
#   pg_os_user                                 OS user that owns/runs clusters
#
# The cluster superuser is "agentlocator" with trust auth on 127.0.0.1 and the
# socket: these clusters are for development, tests and single-host installs,
# never exposed beyond loopback.
#
# initdb and postgres refuse to run as root. When root, everything runs as the
# "postgres" system user (created by the postgresql-15 package; override with
# AL_PG_OS_USER) and the dirs are chowned to it; any ancestor directory that
# user cannot traverse gets o+x (and only that bit).
#
# Optional env:
#   AL_PG_BIN        PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   AL_PG_OS_USER    OS user for the server when running as root (postgres)
#   AL_PG_EPHEMERAL  1 = throwaway cluster: fsync/synchronous_commit off
set -euo pipefail

AL_PG_BIN="${AL_PG_BIN:-/usr/lib/postgresql/15/bin}"
AL_PG_SUPERUSER="agentlocator"

_pg_log() { echo "pg: $*" >&2; }
_pg_die() {
  echo "pg: error: $*" >&2
  return 1
}

# The OS user that owns and runs the server.
pg_os_user() {
  if [ "$(id -u)" -eq 0 ]; then
    echo "${AL_PG_OS_USER:-postgres}"
  else
    id -un
  fi
}

# Run a command as the server's OS user, from "/" so an unreadable cwd does
# not matter.
_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$(pg_os_user)" -- "$@")
  else
    (cd / && "$@")
  fi
}

_pg_abspath() { realpath -m -- "$1"; }

# Give the server user search (x) permission on every ancestor of $1 that it
# cannot traverse yet. Only used when root.
_pg_ensure_traversable() {
  local target d user
  target="$(_pg_abspath "$1")"
  user="$(pg_os_user)"
  d=""
  local part parts
  IFS=/ read -r -a parts <<<"$target"
  for part in "${parts[@]}"; do
    [ -n "$part" ] || continue
    d="$d/$part"
    [ -d "$d" ] || break
    if ! (cd / && runuser -u "$user" -- test -x "$d"); then
      _pg_log "granting o+x on $d so $user can reach $target"
      chmod o+x -- "$d"
    fi
  done
}

# Prepare a directory owned by the server user (created if missing).
_pg_own_dir() {
  local dir="$1" mode="$2"
  mkdir -p -- "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$(pg_os_user):" -- "$dir"
  fi
  chmod "$mode" -- "$dir"
}

# Port the running postmaster of DATADIR listens on (line 4 of postmaster.pid).
_pg_running_port() {
  sed -n 4p "$1/postmaster.pid" 2>/dev/null || true
}

_pg_is_running() {
  [ -f "$1/PG_VERSION" ] || return 1
  _pg_as_owner "$AL_PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1
}

pg_init_and_start() {
  [ $# -eq 3 ] || _pg_die "usage: pg_init_and_start DATADIR PORT SOCKETDIR" || return
  local datadir port sockdir logfile user
  datadir="$(_pg_abspath "$1")"
  port="$2"
  sockdir="$(_pg_abspath "$3")"
  logfile="$(_pg_abspath "$datadir/../pg.log")"
  user="$(pg_os_user)"

  [ -x "$AL_PG_BIN/initdb" ] ||
    _pg_die "$AL_PG_BIN/initdb not found (install postgresql-15: deploy/install-deps.sh)" || return
  case "$port" in
    '' | *[!0-9]*) _pg_die "bad port '$port'" || return ;;
  esac
  # Unix socket paths are limited to 107 bytes.
  local sockpath="$sockdir/.s.PGSQL.$port"
  [ "${#sockpath}" -le 100 ] ||
    _pg_die "socket path too long (${#sockpath} > 100): $sockpath" || return
  if [ "$(id -u)" -eq 0 ] && ! id -u "$user" >/dev/null 2>&1; then
    _pg_die "running as root but OS user '$user' does not exist (install postgresql-15 or set AL_PG_OS_USER)" || return
  fi

  mkdir -p -- "$(dirname "$datadir")" "$(dirname "$sockdir")"
  _pg_own_dir "$datadir" 700
  _pg_own_dir "$sockdir" 755
  # pg_ctl appends to the log as the server user; the parent dir may be ours.
  touch -- "$logfile"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$user:" -- "$logfile"
    _pg_ensure_traversable "$datadir"
    _pg_ensure_traversable "$sockdir"
  fi

  if [ ! -f "$datadir/PG_VERSION" ]; then
    _pg_log "initdb $datadir (as $user)"
    if ! _pg_as_owner "$AL_PG_BIN/initdb" -D "$datadir" --auth=trust \
      -U "$AL_PG_SUPERUSER" --encoding=UTF8 --locale=C.UTF-8 \
      >"$datadir/../initdb.log" 2>&1; then
      cat "$datadir/../initdb.log" >&2
      _pg_die "initdb failed for $datadir" || return
    fi
    echo "include_if_exists = 'agentlocator.conf'" >>"$datadir/postgresql.conf"
  fi

  # Settings a plain "pg_ctl -D DATADIR start" (e.g. a DB-outage test
  # restarting the server) picks up again; the -o options below win anyway.
  {
    echo "# written by deploy/lib/pg.sh on every start"
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$sockdir'"
    if [ "${AL_PG_EPHEMERAL:-0}" = 1 ]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >"$datadir/agentlocator.conf"
  if [ "$(id -u)" -eq 0 ]; then chown "$user:" -- "$datadir/agentlocator.conf"; fi

  if _pg_is_running "$datadir"; then
    local running
    running="$(_pg_running_port "$datadir")"
    if [ "$running" = "$port" ]; then
      _pg_log "already running: $datadir on port $port"
      return 0
    fi
    _pg_log "running on port $running, restarting on $port"
    pg_stop "$datadir"
  fi

  _pg_log "starting $datadir on 127.0.0.1:$port (log $logfile)"
  if ! _pg_as_owner "$AL_PG_BIN/pg_ctl" -D "$datadir" \
    -o "-p $port -k '$sockdir' -c listen_addresses=127.0.0.1" \
    -l "$logfile" -w -t 60 start >/dev/null; then
    tail -n 30 -- "$logfile" >&2 || true
    _pg_die "could not start PostgreSQL in $datadir on port $port" || return
  fi
}

_pg_check_dbname() {
  [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
    _pg_die "database name must match [A-Za-z_][A-Za-z0-9_]*: '$1'"
}

_pg_psql() {
  local port="$1" sockdir="$2"
  shift 2
  "$AL_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sockdir" -p "$port" \
    -U "$AL_PG_SUPERUSER" "$@"
}

_pg_db_exists() {
  local out
  out="$(_pg_psql "$1" "$2" -d postgres -Atc \
    "SELECT 1 FROM pg_database WHERE datname = '$3'")" || return 2
  [ "$out" = 1 ]
}

pg_create_db() {
  [ $# -eq 3 ] || _pg_die "usage: pg_create_db PORT SOCKETDIR DBNAME" || return
  local port="$1" sockdir rc=0
  sockdir="$(_pg_abspath "$2")"
  _pg_check_dbname "$3" || return
  _pg_db_exists "$port" "$sockdir" "$3" || rc=$?
  case "$rc" in
    0) return 0 ;;
    1) ;;
    *) _pg_die "cannot query the server on port $port (socket dir $sockdir)" || return ;;
  esac
  _pg_log "createdb $3"
  "$AL_PG_BIN/createdb" -h "$sockdir" -p "$port" -U "$AL_PG_SUPERUSER" \
    -E UTF8 -- "$3"
}

pg_drop_db() {
  [ $# -eq 3 ] || _pg_die "usage: pg_drop_db PORT SOCKETDIR DBNAME" || return
  local sockdir
  sockdir="$(_pg_abspath "$2")"
  _pg_check_dbname "$3" || return
  PGOPTIONS="-c client_min_messages=warning" _pg_psql "$1" "$sockdir" \
    -d postgres -c "DROP DATABASE IF EXISTS \"$3\" WITH (FORCE)"
}

pg_stop() {
  [ $# -eq 1 ] || _pg_die "usage: pg_stop DATADIR" || return
  local datadir
  datadir="$(_pg_abspath "$1")"
  if ! _pg_is_running "$datadir"; then
    return 0
  fi
  _pg_log "stopping $datadir"
  _pg_as_owner "$AL_PG_BIN/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null ||
    _pg_as_owner "$AL_PG_BIN/pg_ctl" -D "$datadir" -m immediate -w stop >/dev/null ||
    _pg_die "could not stop PostgreSQL in $datadir"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
pg_free_port() {
  local py
  for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1; then
      "$py" - <<'PY' 2>/dev/null && return 0
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
    fi
  done
  # Fallback: probe random ports in 20000-59999 until one refuses connections.
  local i port
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  _pg_die "no free TCP port found"
}

pg_url() {
  [ $# -eq 2 ] || _pg_die "usage: pg_url PORT DBNAME" || return
  echo "postgresql://$AL_PG_SUPERUSER@127.0.0.1:$1/$2"
}
