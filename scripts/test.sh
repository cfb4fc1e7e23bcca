#!/usr/bin/env bash
# Runs every test suite against the debug (ASan+UBSan) build: unit, integration
# and e2e through ctest, then the browser tests when present.
set -euo pipefail
cd "$(dirname "$0")/.."
export TB_BINARY="$PWD/build/debug/tenant-backup"
ctest --preset debug
if [[ -f tests/ui/package.json ]]; then
  tests/ui/run.sh
fi
