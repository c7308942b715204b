#!/usr/bin/env bash
# `make bench`: start the services a benchmark needs, run the benchmarks in bench/, and stop
# only the services this run started (others, e.g. a shared MinIO, are left running).
# Figures go to stdout as Markdown (copy them into docs/BENCHMARKS.md).
#   scripts/bench.sh [analyze|produce|ingest|freshness|soak|dashboard|spark|fraud|fraud-live|analyst|clickhouse|metrics|replication|all]
# (soak and fraud-live are not in all: they run 30 minutes or more; nor is analyst: its first run
# generates 70 minutes at 10,000 events/s, about 2 GB under ~/.cache/pfad/bench/analyst; nor is
# replication: it starts a private 3-node Kafka cluster of its own and kills its nodes)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$PFAD_ROOT"
which="${1:-all}"
case "$which" in
  analyze|dashboard) services=(minio) ;;
  produce|ingest|freshness|soak|metrics) services=(minio kafka registry) ;;
  spark|fraud) services=(minio spark) ;;
  fraud-live) services=() ;;  # local minute objects, no service
  analyst) services=(kafka) ;;  # the labels topic; the rest is local
  clickhouse) services=(minio kafka registry clickhouse) ;;
  replication) services=(registry) ;;  # the 3-node cluster is the bench's own
  all) services=(minio kafka registry spark) ;;
  *) die "usage: bench.sh [analyze|produce|ingest|freshness|soak|dashboard|spark|fraud|fraud-live|analyst|clickhouse|metrics|replication|all]" ;;
esac
started=()
trap 'for s in "${started[@]}"; do scripts/services/$s.sh stop || true; done' EXIT
for s in "${services[@]}"; do
  scripts/services/$s.sh status >/dev/null 2>&1 || started+=("$s")
  scripts/services/$s.sh start
  eval "$(scripts/services/$s.sh env)"
done
case "$which" in
  analyze) .venv/bin/python bench/analyze_bench.py ;;
  produce) .venv/bin/python bench/produce_bench.py ;;
  ingest) .venv/bin/python bench/ingest_bench.py ;;
  freshness) .venv/bin/python bench/freshness_bench.py ;;
  soak) .venv/bin/python bench/soak_bench.py ;;
  dashboard) .venv/bin/python bench/dashboard_bench.py ;;
  spark) .venv/bin/python bench/spark_bench.py ;;
  fraud) .venv/bin/python bench/fraud_bench.py ;;
  fraud-live) .venv/bin/python bench/fraud_live_bench.py ;;
  analyst) .venv/bin/python bench/analyst_bench.py ;;
  clickhouse) .venv/bin/python bench/clickhouse_bench.py ;;
  metrics) .venv/bin/python bench/metrics_bench.py ;;
  replication) .venv/bin/python bench/replication_bench.py ;;
  all) .venv/bin/python bench/analyze_bench.py && .venv/bin/python bench/produce_bench.py &&
       .venv/bin/python bench/ingest_bench.py && .venv/bin/python bench/freshness_bench.py &&
       .venv/bin/python bench/dashboard_bench.py && .venv/bin/python bench/spark_bench.py ;;
esac
