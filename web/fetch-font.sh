#!/usr/bin/env bash
# web/fetch-font.sh -- (re)vendors the dashboard's Hebrew web font, Heebo
# (SIL Open Font License 1.1), from the npm package @fontsource/heebo into
# web/fonts/: the Hebrew and Latin subsets at weights 400 and 700 as woff2,
# plus the license. Its version and integrity hash are pinned by the
# repository's package.json and package-lock.json (installed with `npm ci`,
# no install scripts run). The files are committed (OFL allows it), so this
# only runs when they are missing (deploy/start.sh, deploy/test.sh) or by
# hand with --force after changing the pinned version.
set -euo pipefail
cd "$(dirname "$0")"
FILES=(heebo-hebrew-400-normal.woff2 heebo-hebrew-700-normal.woff2
  heebo-latin-400-normal.woff2 heebo-latin-700-normal.woff2)

missing=0
for f in "${FILES[@]}" OFL.txt; do [ -s "fonts/$f" ] || missing=1; done
if [ "$missing" = 0 ] && [ "${1:-}" != --force ]; then exit 0; fi

command -v npm >/dev/null || {
  echo "fetch-font.sh: npm is needed to fetch @fontsource/heebo" >&2
  exit 1
}
tmp="$(mktemp -d)"
trap 'rm -rf -- "$tmp"' EXIT
cp ../package.json ../package-lock.json "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --silent)
pkg="$tmp/node_modules/@fontsource/heebo"
mkdir -p fonts
for f in "${FILES[@]}"; do cp "$pkg/files/$f" "fonts/$f"; done
cp "$pkg/LICENSE" fonts/OFL.txt
echo "fetch-font.sh: @fontsource/heebo $(node -p "require('$pkg/package.json').version" 2>/dev/null) in web/fonts/"
