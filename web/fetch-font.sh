#!/usr/bin/env bash
# web/fetch-font.sh -- (re)vendors the dashboard's Hebrew web font, Heebo
# (SIL Open Font License 1.1), from the npm package @fontsource/heebo into
# web/fonts/: the Hebrew and Latin subsets at weights 400 and 700 as woff2,
# plus the license. The files are committed (OFL allows it), so this only
# runs when they are missing (deploy/start.sh, deploy/test.sh) or by hand to
# update the pinned version.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=5.3.0
FILES=(heebo-hebrew-400-normal.woff2 heebo-hebrew-700-normal.woff2
  heebo-latin-400-normal.woff2 heebo-latin-700-normal.woff2)

missing=0
for f in "${FILES[@]}" OFL.txt; do [ -s "fonts/$f" ] || missing=1; done
if [ "$missing" = 0 ] && [ "${1:-}" != --force ]; then exit 0; fi

command -v npm >/dev/null || {
  echo "fetch-font.sh: npm is needed to fetch @fontsource/heebo@$VERSION" >&2
  exit 1
}
tmp="$(mktemp -d)"
trap 'rm -rf -- "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@fontsource/heebo@$VERSION" >/dev/null)
tar -xzf "$tmp"/fontsource-heebo-"$VERSION".tgz -C "$tmp"
mkdir -p fonts
for f in "${FILES[@]}"; do cp "$tmp/package/files/$f" "fonts/$f"; done
cp "$tmp/package/LICENSE" fonts/OFL.txt
echo "fetch-font.sh: Heebo $VERSION in web/fonts/"
