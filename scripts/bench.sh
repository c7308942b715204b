#!/usr/bin/env bash
# `make bench`: start MinIO, Kafka and the registry, run the benchmarks in bench/, stop
# what this run started (services already running are left running).
# Figures go to stdout as Markdown (copy them into docs/BENCHMARKS.md).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"
started=()
trap 'for s in "${started[@]}"; do scripts/services/$s.sh stop || true; done' EXIT
for s in minio kafka registry; do
  scripts/services/$s.sh status >/dev/null 2>&1 || started+=("$s")
  scripts/services/$s.sh start
  eval "$(scripts/services/$s.sh env)"
done
case "${1:-all}" in
  analyze) .venv/bin/python bench/analyze_bench.py ;;
  produce) .venv/bin/python bench/produce_bench.py ;;
  ingest) .venv/bin/python bench/ingest_bench.py ;;
  dashboard) .venv/bin/python bench/dashboard_bench.py ;;
  all) .venv/bin/python bench/analyze_bench.py && .venv/bin/python bench/produce_bench.py &&
       .venv/bin/python bench/ingest_bench.py &&
       .venv/bin/python bench/dashboard_bench.py ;;
  *) die "usage: bench.sh [analyze|produce|ingest|dashboard|all]" ;;
esac
