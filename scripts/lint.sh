#!/usr/bin/env bash
# The code checks that `make test` (and so CI) runs after the test suites, and
# `make lint` runs alone:
#   1. formatting: every C++ file git tracks matches .clang-format
#      (`make format` rewrites them);
#   2. clang-tidy with the checks in .clang-tidy, over the program's sources
#      (src/), each parsed once; the headers they include are checked with them.
# Needs the debug build's compile_commands.json (cmake --preset debug).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t cxx_files < <(git ls-files '*.cpp' '*.hpp')
echo "format check: ${#cxx_files[@]} files"
if ! clang-format --dry-run --Werror "${cxx_files[@]}" 2>/tmp/tb-format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/tb-format.$$ | cut -d: -f1 | sort | uniq -c >&2 || true
  rm -f /tmp/tb-format.$$
  echo "format check failed: run 'make format' and commit the result" >&2
  exit 1
fi
rm -f /tmp/tb-format.$$

compile_db=build/debug/compile_commands.json
[[ -f $compile_db ]] || cmake --preset debug >/dev/null
echo "clang-tidy: $(git ls-files 'src/*.cpp' | wc -l) files"
# GCC-only warning flags in the compile commands are not clang's business.
run-clang-tidy -p build/debug -j "${JOBS:-$(nproc)}" -quiet \
  -extra-arg=-Wno-unknown-warning-option "$PWD/src/" >/tmp/tb-tidy.$$ 2>&1 || status=$?
if [[ ${status:-0} != 0 ]]; then
  grep -E '(error|warning): ' /tmp/tb-tidy.$$ | sort -u >&2 || true
  rm -f /tmp/tb-tidy.$$
  echo "clang-tidy failed (checks in .clang-tidy)" >&2
  exit 1
fi
rm -f /tmp/tb-tidy.$$
echo "lint: clean"
