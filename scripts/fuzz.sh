#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 14 (ASan+UBSan+libFuzzer) in
# build/fuzz and runs each for FUZZ_SECONDS (default 60) on a copy of its seed
# corpus (tests/fuzz/corpus/<target>/; new inputs go to build/fuzz/corpus/).
# A crash leaves build/fuzz/crash-<target>-* and fails the script: add the
# file to the seed corpus once fixed, so `make test` replays it.
#   FUZZ_SECONDS=600 FUZZ_TARGETS="jwt range" scripts/fuzz.sh
# FUZZ_BUILD_DIR (default build/fuzz) picks another build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-request_body jwt range telegram_reply}"
dir="${FUZZ_BUILD_DIR:-build/fuzz}"
jobs="${JOBS:-2}"

# Instrument every library for coverage; only the fuzz binaries link libFuzzer's main.
# clang does not know GCC's -Wmismatched-new-delete (tb_warnings): not an error here.
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTB_BUILD_FUZZ=ON -DTB_SANITIZE=OFF \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wno-unknown-warning-option" \
  >/dev/null
build_targets=()
for t in $targets; do build_targets+=("fuzz_$t"); done
cmake --build "$dir" -j "$jobs" --target "${build_targets[@]}"

status=0
for t in $targets; do
  mkdir -p "$dir/corpus/$t"
  echo "== fuzz_$t for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$dir/tests/fuzz_$t" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/crash-$t-" "$dir/corpus/$t" "tests/fuzz/corpus/$t"; then
    echo "fuzz_$t FOUND A CRASH: see $dir/crash-$t-*" >&2
    status=1
  fi
done
exit "$status"
