#!/usr/bin/env bash
# `make test`: install, build, check deploy/ (scripts/check_deploy.sh: the Prometheus rules,
# the systemd units, make install), start the real services, run the security and repository
# checks (scripts/check_security.sh, scripts/check_repo.sh) and every test (unit and
# integration, optimised and under ASan+UBSan), fuzz every libFuzzer target for 30 s, and
# stop the services again, also when a test fails.
# `make test-tsan` (scripts/test.sh tsan): the ThreadSanitizer build, its unit
# tests and the integration tests marked `tsan` (ingest/produce/schedule
# threads), with halt_on_error and scripts/tsan.supp (third-party frames only).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"

mode="${1:-all}"
[[ $mode == all || $mode == tsan ]] || die "usage: scripts/test.sh [tsan]"
target=test
[[ $mode == tsan ]] && target=test-tsan

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

failed=0
pytest_run() {  # pytest_run BINARY [PYTEST ARGS]: integration tests against one build of pfad
  local binary=$1; shift
  PFAD_BIN="$binary" .venv/bin/python -m pytest -q -p no:cacheprovider tests/integration "$@" \
    --junitxml="test-artifacts/integration-$(basename "$(dirname "$binary")").xml" || failed=1
}
mkdir -p test-artifacts

if [[ $mode == tsan ]]; then
  build tsan
  start minio
  start kafka
  start registry
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PFAD_ROOT/scripts/tsan.supp"
  # Arrow allocates from the system malloc, which TSan sees: with the wheel's own allocator
  # (mimalloc, uninstrumented) every reuse of a buffer by another thread looked like a race,
  # suppressed one by one at a cost that grew with their number (a 0.8 s test took 9 min).
  export ARROW_DEFAULT_MEMORY_POOL=system
  log "unit tests (tsan)"
  ctest --preset tsan -L unit || failed=1
  log "integration tests (tsan: the tests marked tsan)"
  pytest_run build-tsan/pfad -m tsan
else
  build release
  # Seconds, and only the release binary: early, so a broken rule or unit shows at once.
  log "deploy checks: Prometheus rules (promtool), systemd units (systemd-analyze), make install"
  scripts/check_deploy.sh rules || failed=1
  scripts/check_deploy.sh units build/pfad || failed=1
  scripts/check_deploy.sh install || failed=1
  build asan-ubsan
  # Before the services start, so the fuzzers have the cores to themselves.
  log "fuzzing (every target 30 s)"
  scripts/fuzz.sh 30 || failed=1
  start minio
  start kafka
  start registry
  start spark
  start clickhouse

  log "security checks: no committed credentials; every service listens on loopback only"
  scripts/check_security.sh credentials || failed=1
  scripts/check_security.sh listeners || failed=1
  log "repository checks: nothing refers outside the repository; README names every src/ folder; C++ formatted"
  scripts/check_repo.sh selftest || failed=1
  scripts/check_repo.sh links || failed=1
  scripts/check_repo.sh layout || failed=1
  scripts/check_repo.sh format || failed=1

  log "unit tests (release)"
  ctest --preset release -L unit || failed=1
  log "unit tests (asan-ubsan)"
  ASAN_OPTIONS=detect_leaks=1 ctest --preset asan-ubsan -L unit || failed=1
  log "integration tests (asan-ubsan)"
  # Tests marked release_only (long service scenarios whose C++ paths other tests cover under
  # ASan) run in the release pass below only: the CI budget (docs/OPERATIONS.md).
  ASAN_OPTIONS=detect_leaks=1 pytest_run build-asan/pfad -m "not release_only"
  log "browser tests (release, Debian chromium)"
  PFAD_BIN=build/pfad node --test tests/browser/ || failed=1
  log "integration tests (release)"
  pytest_run build/pfad
fi

if ((failed)); then
  echo "make $target: FAILED (see above)" >&2
  exit 1
fi
log "make $target: all tests passed"
