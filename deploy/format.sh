#!/usr/bin/env bash
# deploy/format.sh -- clang-format (14, .clang-format) over the C++ sources.
#
#   deploy/format.sh           rewrites every file that differs
#   deploy/format.sh --check   lists the files that differ, exits 1 if any
#
# The files: *.cpp and *.hpp that git tracks under core, actors, domain,
# transport, app, tests and bench (generated and third-party files are not
# tracked there).
cd "$(dirname "$0")/.."
set -euo pipefail

CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  *) echo "usage: deploy/format.sh [--check]" >&2; exit 2 ;;
esac
CF="$(command -v clang-format-14 || command -v clang-format || true)"
if [ -z "$CF" ]; then
  echo "format.sh: clang-format-14 is missing (deploy/install-deps.sh installs it)" >&2
  exit 2
fi
mapfile -t FILES < <(git ls-files -- 'core/*.[ch]pp' 'actors/*.[ch]pp' \
  'domain/*.[ch]pp' 'transport/*.[ch]pp' 'app/*.[ch]pp' 'tests/*.[ch]pp' \
  'bench/*.[ch]pp')
if [ "$CHECK" = 0 ]; then
  printf '%s\0' "${FILES[@]}" | xargs -0 -n 50 -P "$(nproc)" "$CF" -i --style=file
  exit 0
fi
BAD=()
for f in "${FILES[@]}"; do
  if ! "$CF" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
    BAD+=("$f")
  fi
done
if [ "${#BAD[@]}" -gt 0 ]; then
  echo "format.sh: ${#BAD[@]} of ${#FILES[@]} files are not clang-formatted (run deploy/format.sh):" >&2
  printf '  %s\n' "${BAD[@]}" >&2
  exit 1
fi
echo "format.sh: ${#FILES[@]} files clang-formatted"
