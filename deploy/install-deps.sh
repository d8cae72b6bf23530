#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the service need.
# Idempotent: when all packages are present it does not touch apt at all.
set -euo pipefail

PACKAGES=(
  build-essential g++ cmake ccache pkg-config git curl ca-certificates
  python3
  libcaf-dev
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  libsimdjson-dev libpqxx-dev libssl-dev
  libspdlog-dev libfmt-dev prometheus-cpp-dev
  espeak-ng espeak-ng-data libespeak-ng-dev libsoxr-dev libsndfile1-dev
  libhdate-dev libcctz-dev tzdata libogg-dev libopus-dev libcli11-dev
  postgresql-15 postgresql-client-15
  libbenchmark-dev libgtest-dev
  clang-14 libfuzzer-14-dev libclang-rt-14-dev clang-format-14
  util-linux procps
)
# The dashboard's browser test (tests/browser, ctest label "browser"):
# headless Chromium, and Node.js where the machine has none. Image builds
# that run no tests set AL_NO_BROWSER=1 (deploy/Dockerfile).
if [ "${AL_NO_BROWSER:-0}" != 1 ]; then
  PACKAGES+=(chromium)
  if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs); fi
  # npm ci installs the pinned web assets and the OpenAPI validator.
  if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
