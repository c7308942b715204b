#!/usr/bin/env bash
# `make bench`: start MinIO, run the benchmarks in bench/, stop what was started.
# Figures go to stdout as Markdown (copy them into docs/BENCHMARKS.md).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"
trap 'scripts/services/minio.sh stop || true' EXIT
scripts/services/minio.sh start
eval "$(scripts/services/minio.sh env)"
.venv/bin/python bench/analyze_bench.py
