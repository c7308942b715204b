#!/usr/bin/env bash
# `make test`: install, build, start the real services, run every test (unit and
# integration, optimised and under ASan+UBSan), fuzz every libFuzzer target for
# 30 s, and stop the services again, also when a test fails.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"

scripts/setup.sh test

build() {  # build PRESET
  log "building preset $1"
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1"
}

started=()
cleanup() {
  local rc=$?
  for service in "${started[@]}"; do "scripts/services/$service.sh" stop || true; done
  exit "$rc"
}
trap cleanup EXIT INT TERM

start() {  # start SERVICE: a service that cannot start fails the run with its reason
  # Only what this run started is stopped at the end.
  "scripts/services/$1.sh" status >/dev/null 2>&1 || started+=("$1")
  if ! "scripts/services/$1.sh" start; then
    echo "FAILED: service $1 could not start (see the lines above); integration tests cannot run" >&2
    exit 1
  fi
}

build release
build asan-ubsan
failed=0
# Before the services start, so the fuzzers have the cores to themselves.
log "fuzzing (every target 30 s)"
scripts/fuzz.sh 30 || failed=1
start minio
start kafka
start registry
start spark
start clickhouse

pytest_run() {  # pytest_run BINARY: integration tests against one build of pfad
  PFAD_BIN="$1" .venv/bin/python -m pytest -q -p no:cacheprovider tests/integration \
    --junitxml="test-artifacts/integration-$(basename "$(dirname "$1")").xml" || failed=1
}
mkdir -p test-artifacts

log "unit tests (release)"
ctest --preset release -L unit || failed=1
log "unit tests (asan-ubsan)"
ASAN_OPTIONS=detect_leaks=1 ctest --preset asan-ubsan -L unit || failed=1
log "integration tests (asan-ubsan)"
ASAN_OPTIONS=detect_leaks=1 pytest_run build-asan/pfad
log "browser tests (release, Debian chromium)"
PFAD_BIN=build/pfad node --test tests/browser/ || failed=1
log "integration tests (release)"
pytest_run build/pfad

if ((failed)); then
  echo "make test: FAILED (see above)" >&2
  exit 1
fi
log "make test: all tests passed"
