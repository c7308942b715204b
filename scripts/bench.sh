#!/usr/bin/env bash
# `make bench`: start MinIO, run the benchmarks in bench/, stop what was started.
# Figures go to stdout as Markdown (copy them into docs/BENCHMARKS.md).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"
services=(minio kafka registry)
trap 'for s in "${services[@]}"; do scripts/services/$s.sh stop || true; done' EXIT
for s in "${services[@]}"; do
  scripts/services/$s.sh start
  eval "$(scripts/services/$s.sh env)"
done
case "${1:-all}" in
  analyze) .venv/bin/python bench/analyze_bench.py ;;
  produce) .venv/bin/python bench/produce_bench.py ;;
  dashboard) .venv/bin/python bench/dashboard_bench.py ;;
  all) .venv/bin/python bench/analyze_bench.py && .venv/bin/python bench/produce_bench.py &&
       .venv/bin/python bench/dashboard_bench.py ;;
  *) die "usage: bench.sh [analyze|produce|dashboard|all]" ;;
esac
