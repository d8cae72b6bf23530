#!/usr/bin/env bash
# deploy/runtime-packages.sh BINARY -- print, one per line, the Debian
# packages that provide the shared libraries BINARY is linked against.
# Used by deploy/Dockerfile to install only the runtime libraries. Fails when a
# library belongs to no package (e.g. something built into /usr/local).
set -euo pipefail

[ $# -eq 1 ] || {
  echo "usage: $0 BINARY" >&2
  exit 2
}

missing=0
libs="$(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)"
pkgs=""
while read -r lib; do
  [ -n "$lib" ] || continue
  found=""
  for cand in "$lib" "$(realpath "$lib")" "${lib/#\/usr\/lib\//\/lib\/}" "${lib/#\/lib\//\/usr\/lib\/}"; do
    if out="$(dpkg -S "$cand" 2>/dev/null)"; then
      found="$(printf '%s\n' "$out" | head -n 1 | sed 's/: .*//')"
      break
    fi
  done
  if [ -z "$found" ]; then
    echo "runtime-packages: no Debian package provides $lib" >&2
    missing=1
    continue
  fi
  pkgs+="$(printf '%s\n' "$found" | tr ',' '\n' | sed 's/^ *//; s/:.*//')"$'\n'
done <<<"$libs"
printf '%s' "$pkgs" | sort -u
exit "$missing"
