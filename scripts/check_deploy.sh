#!/usr/bin/env bash
# Checks of deploy/ that `make test` runs (scripts/test.sh) after the release build; each
# fails with what it found. None needs a service, root is needed only where said.
#
#   scripts/check_deploy.sh rules
#       promtool check rules and promtool test rules on deploy/prometheus (make check-rules).
#   scripts/check_deploy.sh units [BINARY]
#       The units of deploy/systemd, with ExecStart pointed at BINARY (default build/pfad),
#       pass `systemd-analyze verify` without a single warning, and `systemd-analyze security
#       --offline` rates each at most EXPOSURE_MAX (2.5); every flag an ExecStart passes is in
#       its command's --help (a command this build lacks, such as `labels` before it lands, is
#       skipped with a note); deploy/pfad.toml.example resolves (`pfad config`); and BINARY
#       runs with memory that is never writable and executable at once (the units'
#       MemoryDenyWriteExecute=yes, tried with the kernel's PR_SET_MDWE where it has it).
#   scripts/check_deploy.sh install
#       `make install DESTDIR=<temp> PREFIX=/usr/local` (it builds the release preset) puts
#       every file where docs/OPERATIONS.md says; the installed units point at the installed
#       binary and pass `units`; the installed binary loads no library from the build's
#       cache (and, as root with unshare, runs `--version` with that cache hidden, as the
#       units' ProtectHome=yes hides it).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"

EXPOSURE_MAX=${EXPOSURE_MAX:-2.5}  # systemd's scale: 0 (locked down) to 10 (exposed)
RULES=deploy/prometheus/pfad-rules.yml
RULE_TESTS=deploy/prometheus/pfad-rules.test.yml

need() {  # need TOOL: dies naming the package when TOOL is missing
  command -v "$1" >/dev/null || die "$1 not found (scripts/setup.sh test installs it)"
}

# --- rules ---------------------------------------------------------------------

check_rules() {
  need promtool
  local out
  if ! out=$(promtool check rules "$RULES" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "rules check: FAILED — promtool check rules $RULES" >&2
    return 1
  fi
  if ! out=$(promtool test rules "$RULE_TESTS" 2>&1); then
    printf '%s\n' "$out" | grep -v '^[[:space:]]*$' >&2
    echo "rules check: FAILED — promtool test rules $RULE_TESTS (an alert fired where it should not, or not where it should)" >&2
    return 1
  fi
  log "rules check: $(grep -c -E '^[[:space:]]*- (alert|record):' "$RULES") rules pass promtool check and their unit tests"
}

# --- units ---------------------------------------------------------------------

# verify_units UNIT_DIR INSTALLED_BINARY BINARY: the units of UNIT_DIR, ExecStart's
# INSTALLED_BINARY replaced by BINARY, through systemd-analyze verify and security.
verify_units() {
  local unit_dir=$1 installed=$2 binary=$3 failed=0 work unit name out level
  need systemd-analyze
  work=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now: the directory of this call
  trap "rm -rf '$work'" RETURN
  local -a names=()
  for unit in "$unit_dir"/pfad-*.service; do
    name=${unit##*/}
    sed "s|$installed|$binary|g" "$unit" >"$work/$name"
    grep -q -F "ExecStart=$binary " "$work/$name" || {
      echo "units check: $name: ExecStart does not start $installed" >&2
      failed=1
    }
    names+=("${name/@.service/@0.service}")  # a template is verified as an instance
  done
  ((${#names[@]} > 0)) || die "units check: no pfad-*.service in $unit_dir"
  # verify exits 0 on unknown keys and bad values: any line it prints is a finding.
  out=$(cd "$work" && systemd-analyze verify "${names[@]/#/./}" 2>&1) || failed=1
  if [[ -n $out ]]; then
    printf '%s\n' "$out" | sed "s|$work/||" >&2
    failed=1
  fi
  for name in "${names[@]}"; do
    out=$(cd "$work" && systemd-analyze security --offline=yes "./$name" 2>&1) || true
    level=$(grep -o -E 'exposure level for [^:]+: [0-9.]+' <<<"$out" | awk '{print $NF}')
    if [[ -z $level ]] || awk -v l="$level" -v m="$EXPOSURE_MAX" 'BEGIN { exit !(l > m) }'; then
      printf '%s\n' "$out" | grep -F '✗' >&2 || true
      echo "units check: $name: exposure ${level:-unknown} is above $EXPOSURE_MAX (systemd-analyze security)" >&2
      failed=1
    else
      log "units check: $name: exposure $level (at most $EXPOSURE_MAX)"
    fi
  done
  return "$failed"
}

# flags_exist UNIT_DIR BINARY: every --flag of each ExecStart is in its command's --help.
flags_exist() {
  local unit_dir=$1 binary=$2 failed=0 unit line cmd help flag
  for unit in "$unit_dir"/pfad-*.service; do
    line=$(sed -n 's/^ExecStart=[^ ]*pfad //p' "$unit")
    cmd=${line%% --*}
    # shellcheck disable=SC2086  # the command's words
    help=$("$binary" $cmd --help 2>&1) || true
    if ! grep -q -E "^Usage: [^ ]*pfad $cmd( |\$)" <<<"$help"; then
      log "units check: ${unit##*/}: 'pfad $cmd' is not in this build; its flags are not checked"
      continue
    fi
    for flag in $(grep -o -E -- '--[a-z][a-z-]*' <<<"$line"); do
      if ! grep -q -E -- "(^|[ ,])$flag([ =,]|\$)" <<<"$help"; then
        echo "units check: ${unit##*/}: pfad $cmd has no flag $flag" >&2
        failed=1
      fi
    done
  done
  return "$failed"
}

# without_wx BINARY ARGS…: runs BINARY with PR_SET_MDWE (no memory both writable and
# executable, for this process and what it execs); exit 100 when the kernel lacks it.
without_wx() {
  python3 - "$@" <<'EOF'
import ctypes, os, sys
PR_SET_MDWE, MDWE_REFUSE_EXEC_GAIN = 65, 1
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_MDWE, MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(100)
os.execv(sys.argv[1], sys.argv[1:])
EOF
}

check_units() {
  local binary failed=0 status=0 out
  binary=$(realpath "${1:-build/pfad}")
  [[ -x $binary ]] || die "units check: $binary is not built (make build)"
  verify_units deploy/systemd /usr/local/bin/pfad "$binary" || failed=1
  flags_exist deploy/systemd "$binary" || failed=1
  if ! out=$("$binary" config --config deploy/pfad.toml.example 2>&1 >/dev/null); then
    printf '%s\n' "$out" >&2
    echo "units check: deploy/pfad.toml.example does not resolve (pfad config)" >&2
    failed=1
  fi
  # A minute generated and analyzed with the kernel's equivalent of MemoryDenyWriteExecute=yes:
  # Arrow, Parquet and the thread pools loaded and used.
  local minute_dir
  minute_dir=$(mktemp -d)
  out=$(without_wx "$binary" gen "$minute_dir" --rows 20000 --minute '2025-01-15 10:00' --seed 1 --fraud 0.01 2>&1 &&
        without_wx "$binary" analyze "$minute_dir/2025-01-15_10-00.parquet" 2>&1) || status=$?
  rm -rf "$minute_dir"
  if ((status == 100)); then
    log "units check: this kernel has no PR_SET_MDWE; MemoryDenyWriteExecute=yes not tried"
  elif ((status != 0)); then
    printf '%s\n' "$out" >&2
    echo "units check: pfad fails without writable+executable memory (exit $status): drop MemoryDenyWriteExecute=yes from the units" >&2
    failed=1
  else
    log "units check: pfad gen and analyze run under PR_SET_MDWE (MemoryDenyWriteExecute=yes is safe for them)"
  fi
  if ((failed)); then
    echo "units check: FAILED" >&2
    return 1
  fi
  log "units check: the units of deploy/systemd pass"
}

# --- install -------------------------------------------------------------------

check_install() {
  local dest failed=0 file prefix=/usr/local out
  dest=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now
  trap "rm -rf '$dest'" RETURN
  if ! out=$(make --no-print-directory install DESTDIR="$dest" PREFIX="$prefix" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "install check: FAILED — make install DESTDIR=$dest PREFIX=$prefix" >&2
    return 1
  fi
  local root=$dest$prefix
  local -a expected=(
    bin/pfad
    lib/systemd/system/pfad-ingest@.service lib/systemd/system/pfad-run.service
    lib/systemd/system/pfad-dashboard.service lib/systemd/system/pfad-labels.service
    share/pfad/prometheus/pfad-rules.yml share/pfad/prometheus/pfad-rules.test.yml
    share/pfad/airflow/clickhouse_pyspark_dashboard.py
    share/pfad/pfad.toml.example share/pfad/pfad.env.example
    share/doc/pfad/OPERATIONS.md share/doc/pfad/CLI.md
  )
  for file in "${expected[@]}"; do
    [[ -f $root/$file ]] || { echo "install check: $prefix/$file was not installed" >&2; failed=1; }
  done
  # Nothing resolved from the build cache, which the units' ProtectHome=yes hides.
  if out=$(ldd "$root/bin/pfad" | grep -E "not found|$PFAD_CACHE|$PFAD_ROOT"); then
    printf '%s\n' "$out" >&2
    echo "install check: the installed binary loads libraries from outside $prefix" >&2
    failed=1
  fi
  if ! out=$("$root/bin/pfad" --version 2>&1) || [[ $out != pfad* ]]; then
    printf '%s\n' "$out" >&2
    echo "install check: $prefix/bin/pfad --version failed" >&2
    failed=1
  fi
  if [[ $(id -u) -eq 0 ]] && unshare -m true 2>/dev/null; then
    if ! out=$(unshare -m sh -c 'mount -t tmpfs pfad-hidden "$1" && exec "$2" --version' sh \
                 "$PFAD_CACHE" "$root/bin/pfad" 2>&1); then
      printf '%s\n' "$out" >&2
      echo "install check: $prefix/bin/pfad does not run with $PFAD_CACHE hidden" >&2
      failed=1
    else
      log "install check: $prefix/bin/pfad --version runs with the build cache hidden: ${out%%$'\n'*}"
    fi
  fi
  verify_units "$root/lib/systemd/system" "$prefix/bin/pfad" "$root/bin/pfad" || failed=1
  if ((failed)); then
    echo "install check: FAILED" >&2
    return 1
  fi
  log "install check: make install DESTDIR=… PREFIX=$prefix installs ${#expected[@]} files and a binary that runs on its own"
}

case "${1:-}" in
  rules) check_rules ;;
  units) check_units "${2:-}" ;;
  install) check_install ;;
  *) usage; exit 2 ;;
esac
