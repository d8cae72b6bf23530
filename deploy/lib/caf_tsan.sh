# shellcheck shell=bash
# CAF 0.17.6 built with -fsanitize=thread, for the ThreadSanitizer stage of
# deploy/test.sh. Debian's libcaf_core is not instrumented: TSan then sees
# neither the reference counts nor the mailbox hand-off inside it and reports
# every message passed between threads as a race. The same release as
# Debian's libcaf-dev (Debian's upstream tarball, checked against the
# sha256 in its .dsc), so the headers are byte-for-byte those the other
# builds use; only libcaf_core is built (static, about 1.5 min on 2 cores).
#
#   caf_tsan_prefix BUILD_ROOT CACHE_DIR   prints the prefix (include/, lib/)
#                                          after building it when missing

CAF_TSAN_VERSION=0.17.6
CAF_TSAN_URL="http://deb.debian.org/debian/pool/main/a/actor-framework/actor-framework_${CAF_TSAN_VERSION}.orig.tar.gz"
CAF_TSAN_SHA256=e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c
CAF_TSAN_FLAGS="-fsanitize=thread -O1 -g1"

caf_tsan_prefix() { # build_root cache_dir
  local root="$1" cache="$2"
  local prefix="$root/caf-tsan" src="$root/caf-tsan-src" bld="$root/caf-tsan-build"
  local stamp="$prefix/.built-from"
  local want="$CAF_TSAN_SHA256 $CAF_TSAN_FLAGS"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
    [ -f "$prefix/lib/libcaf_core_static.a" ]; then
    echo "$prefix"
    return 0
  fi
  local tarball="$cache/actor-framework_${CAF_TSAN_VERSION}.orig.tar.gz"
  mkdir -p "$cache"
  if ! echo "$CAF_TSAN_SHA256  $tarball" | sha256sum -c --status 2>/dev/null; then
    echo "caf_tsan: fetching $CAF_TSAN_URL" >&2
    curl -fsSL --retry 3 -o "$tarball.part" "$CAF_TSAN_URL" || return 1
    mv "$tarball.part" "$tarball"
    if ! echo "$CAF_TSAN_SHA256  $tarball" | sha256sum -c --status; then
      echo "caf_tsan: $tarball does not match its sha256" >&2
      rm -f "$tarball"
      return 1
    fi
  fi
  rm -rf "$src" "$bld" "$prefix"
  mkdir -p "$src"
  tar -xzf "$tarball" -C "$src" --strip-components=1 || return 1
  echo "caf_tsan: building libcaf_core $CAF_TSAN_VERSION with $CAF_TSAN_FLAGS" >&2
  local launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$CAF_TSAN_FLAGS" \
    -DCAF_BUILD_STATIC_ONLY=ON -DCAF_NO_EXAMPLES=ON -DCAF_NO_UNIT_TESTS=ON \
    -DCAF_NO_IO=ON -DCAF_NO_OPENSSL=ON -DCAF_NO_TOOLS=ON -DCAF_NO_PYTHON=ON \
    -DCAF_NO_OPENCL=ON -DCAF_NO_SUMMARY=ON "${launcher[@]}" >"$root/caf-tsan.log" 2>&1 &&
    cmake --build "$bld" --target libcaf_core_static -j"$(nproc)" >>"$root/caf-tsan.log" 2>&1 &&
    cmake --install "$bld" --prefix "$prefix" >>"$root/caf-tsan.log" 2>&1 || {
    echo "caf_tsan: the build failed; see $root/caf-tsan.log" >&2
    tail -20 "$root/caf-tsan.log" >&2
    return 1
  }
  echo "$want" >"$stamp"
  echo "$prefix"
}
