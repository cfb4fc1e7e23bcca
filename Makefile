# The front door. Everything real lives in CMake and scripts/.
#   make run    start the service on an embedded PostgreSQL (prints the UI address and a token)
#   make test   install what is missing, build with ASan+UBSan, run every test suite, then lint
#   make lint   the format check and clang-tidy (.clang-format, .clang-tidy)
#   make build  the optimized binary at build/tenant-backup
#   make bench  benchmarks (QUICK=1 for a small scale)
#   make bench-fleet  only the fleet-run benchmark (1,000 and 10,000 tenants; QUICK=1: 100 and 300)
SHELL := /bin/bash
JOBS ?= $(shell nproc)

.PHONY: deps build build-debug run test lint bench bench-fleet format fuzz clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target tenant-backup
	@ln -sf release/tenant-backup build/tenant-backup

build-debug: deps
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS)

run: build
	@scripts/run.sh

test: build-debug
	@scripts/test.sh
	@scripts/lint.sh

lint: deps
	@cmake --preset debug >/dev/null
	@scripts/lint.sh

bench: deps
	@TB_WITH_BENCH=1 scripts/install-deps.sh
	@scripts/bench.sh

bench-fleet: deps
	@scripts/bench_fleet.sh

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build

# fuzz: libFuzzer targets (clang 14, ASan+UBSan) for FUZZ_SECONDS each (default 60).
fuzz:
	@TB_WITH_FUZZ=1 scripts/install-deps.sh
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-60} scripts/fuzz.sh
