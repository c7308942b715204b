#!/usr/bin/env bash
# `make demo` (for now): generate the last few Asia/Tehran minutes as Parquet
# objects in a local directory, analyze each into its JSON report and show them.
# The live embedded pipeline with the dashboard grows from here.
set -euo pipefail
source "$(dirname "$0")/common.sh"
pfad="$PFAD_ROOT/build/pfad"
dir="${PFAD_DEMO_DIR:-$PFAD_CACHE/demo}"
minutes="${PFAD_DEMO_MINUTES:-5}"
mkdir -p "$dir"
now_ms=$(date +%s%3N)
log "writing $minutes minute objects to $dir"
for ((i = minutes; i >= 1; i--)); do
  stem=$("$pfad" minute $((now_ms - i * 60000)))
  rows=$((4000 + RANDOM % 4000))
  "$pfad" gen "$dir" --rows "$rows" --minute "$stem" --seed "$i$RANDOM" >/dev/null
  report=$("$pfad" analyze "$dir/$stem.parquet")
  "$PFAD_VENV/bin/python" - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["report"]
types = "  ".join(f"{t}: {c['SUCCESS']}/{c['ERROR']}" for t, c in r["by_event_type"].items())
print(f"{r['file_name']:<24} events {r['total_events']:>6}  errors {r['total_errors']:>5}  "
      f"({r['process_time'] * 1000:.1f} ms)  {types}")
PY
done
stem=$("$pfad" minute "$now_ms")
"$pfad" analyze "$dir/$stem" >/dev/null
echo "$stem.json (the current minute, not yet written): $(cat "$dir/$stem.json")"
log "reports are in $dir (SUCCESS/ERROR per event type above)"
