#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/FUZZING.md) and fails when any
# of them finds a crash, a sanitizer error, a leak, a timeout or an out-of-memory.
#   scripts/fuzz.sh [SECONDS [TARGET...]]   each target SECONDS (default 60); all targets
# Builds the fuzz preset first (clang; scripts/setup.sh fuzz installs it). Targets run
# FUZZ_JOBS at a time (default: the number of cores). Per target, test-artifacts/fuzz/<target>/
# holds the run's log, a working corpus that grows across runs (the committed seeds in
# tests/fuzz/corpus/<target>/ are only read) and any input that failed.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"

seconds="${1:-60}"
shift || true
[[ $seconds =~ ^[0-9]+$ ]] || die "usage: scripts/fuzz.sh [SECONDS [TARGET...]]"
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/*_fuzzer.cpp; do
    name=$(basename "$f" _fuzzer.cpp)
    targets+=("$name")
  done
fi
jobs="${FUZZ_JOBS:-$(nproc)}"
# Sanitizer reports with function names and lines; a UBSan finding stops the run like a crash.
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-19/bin/llvm-symbolizer}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

log "building preset fuzz"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

dict_of() {  # dict_of NAME: the target's dictionary; the JSON targets share one
  case $1 in
    *_json | avro_schema) echo tests/fuzz/dict/json.dict ;;
    *) echo "tests/fuzz/dict/$1.dict" ;;
  esac
}

run_target() {  # run_target NAME: one libFuzzer run; its exit status goes to <dir>/rc
  local name=$1 dir="test-artifacts/fuzz/$1"
  local dict=()
  [[ -f $(dict_of "$name") ]] && dict=("-dict=$(dict_of "$name")")
  rm -f "$dir/rc"
  mkdir -p "$dir/corpus"
  set +e
  "build-fuzz/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" "$dir/corpus" "tests/fuzz/corpus/$name" \
    >"$dir/log" 2>&1
  echo $? >"$dir/rc"
}

log "fuzzing ${#targets[@]} targets for ${seconds} s each, $jobs at a time"
running=0
for name in "${targets[@]}"; do
  [[ -x build-fuzz/tests/fuzz/fuzz_$name ]] || die "no fuzz target '$name' (tests/fuzz/${name}_fuzzer.cpp)"
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  run_target "$name" &
  running=$((running + 1))
done
wait

failed=0
for name in "${targets[@]}"; do
  dir="test-artifacts/fuzz/$name"
  rc=$(cat "$dir/rc" 2>/dev/null || echo "?")
  stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/log" | tail -1 || true)
  if [[ $rc == 0 ]]; then
    log "fuzz_$name: ok, ${stats:-no stats line}"
    continue
  fi
  failed=1
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/log" | tail -1)
  echo "FAILED: fuzz_$name (exit $rc); log $dir/log" >&2
  grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:' "$dir/log" | head -5 >&2 || true
  if [[ -n $artifact ]]; then
    echo "  reproduce: build-fuzz/tests/fuzz/fuzz_$name $artifact" >&2
  fi
done
((failed == 0)) || exit 1
log "fuzzing: no target failed"
