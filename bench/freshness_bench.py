"""Benchmark: freshness of the whole local stack, produce -> Kafka -> ingest -> MinIO ->
analyze -> fraud scoring -> dashboard: for each minute, the time from the minute's end to
its report, with its fraud section, arriving at the dashboard (the dashboard's own receive
time). The reference pipeline takes >= 60 s (its DAG runs a minute later; its page polls
every 45 s).

  pfad produce --rate R --fraud 0.05 (live) | pfad ingest (grace 5 s)
    | pfad run --announcements --fraud-model M | pfad dashboard

The model M is trained first (TrainModel's defaults, `pfad fraud train`) on generated
labelled minutes of another seed; PFAD_BENCH_FRESHNESS_FRAUD=0 measures without fraud scoring.

Needs Kafka, the registry and MinIO (scripts/bench.sh starts them).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pyarrow.fs as pafs
from confluent_kafka.admin import AdminClient, NewTopic

import report

ROOT = report.ROOT
PFAD = str(ROOT / "build/pfad")
SECONDS = int(os.environ.get("PFAD_BENCH_FRESHNESS_S", "200"))
RATE = int(os.environ.get("PFAD_BENCH_FRESHNESS_RATE", "10000"))
FRAUD = os.environ.get("PFAD_BENCH_FRESHNESS_FRAUD", "1") != "0"
TEHRAN = ZoneInfo("Asia/Tehran")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def minute_end_ms(stem: str) -> int:
    start = datetime.strptime(stem, "%Y-%m-%d_%H-%M").replace(tzinfo=TEHRAN)
    return int(start.timestamp() * 1000) + 60_000


def main():
    topic = f"bench-fresh-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": os.environ["PFAD_KAFKA_BOOTSTRAP"]})
    for f in admin.create_topics([NewTopic(topic, 6, 1), NewTopic(f"{topic}.dlq", 1, 1),
                                  NewTopic(f"{topic}.windows", 1, 1), NewTopic(f"{topic}.labels", 1, 1),
                                  NewTopic(f"{topic}.fraud", 1, 1)]).values():
        f.result(timeout=30)
    bucket = f"bench-fresh-{uuid.uuid4().hex[:8]}"
    pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                      endpoint_override=os.environ["AWS_ENDPOINT_URL"], region="us-east-1",
                      allow_bucket_creation=True).create_dir(bucket)
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    with tempfile.TemporaryDirectory() as tmp:
        fraud_run, fraud_produce, train_s = [], [], 0.0
        if FRAUD:
            started = time.monotonic()
            per_minute = str(RATE * 60)
            subprocess.run([PFAD, "gen", f"{tmp}/train", "--rows", per_minute, "--minute", "2025-01-15 08:00",
                            "--minutes", "4", "--fraud", "0.1", "--seed", "1"], check=True, **quiet)
            subprocess.run([PFAD, "fraud", "train", f"{tmp}/train", "--out", f"{tmp}/model.pfm"], check=True, **quiet)
            train_s = time.monotonic() - started
            fraud_run = ["--fraud-model", f"{tmp}/model.pfm", "--fraud-alerts-topic", f"{topic}.fraud"]
            fraud_produce = ["--fraud", "0.05"]
        procs = [
            subprocess.Popen([PFAD, "dashboard", "--port", str(port), "--db", f"{tmp}/reports.db"], **quiet),
            subprocess.Popen([PFAD, "--log-level", "warn", "ingest", "--topic", topic, "--sink", f"s3://{bucket}",
                              "--group", "bench-fresh"], **quiet),
            subprocess.Popen([PFAD, "run", "--source", f"s3://{bucket}", "--dashboard", f"http://127.0.0.1:{port}",
                              "--state", f"{tmp}/runs.db", "--announcements", f"{topic}.windows", *fraud_run], **quiet),
        ]
        try:
            time.sleep(3)
            started_ms = int(time.time() * 1000)
            subprocess.run([PFAD, "produce", "--topic", topic, "--rate", str(RATE), "--duration", str(SECONDS),
                            "--seed", "5", *fraud_produce], check=True, **quiet)
            ended_ms = int(time.time() * 1000)
            time.sleep(20)  # the last minute: grace, idle timeout, analysis
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/reports?limit=100", timeout=5) as res:
                history = json.loads(res.read())["reports"]
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=60)
    rows = []
    for entry in history:
        body = entry["report"]["report"]
        if not isinstance(body, dict):
            continue
        stem = body["file_name"].removesuffix(".json")
        end = minute_end_ms(stem)
        if end <= started_ms or end > ended_ms:  # minutes wholly or partly outside the live run
            continue
        fraud = body.get("fraud") or {}
        if FRAUD and fraud.get("status") != "scored":
            raise SystemExit(f"{stem}: fraud scoring did not run: {fraud}")
        rows.append({"minute": stem, "events": body["total_events"], "latency_ms": entry["received_ms"] - end,
                     "window_events": fraud.get("window", {}).get("events", 0),
                     "flagged": sum(fraud.get("flagged", {}).values()), "scoring_ms": fraud.get("scoring_ms", 0)})
    rows.sort(key=lambda r: r["minute"])
    report.save("freshness", {"rate": RATE, "seconds": SECONDS, "fraud": FRAUD, "minutes": rows})
    latencies = sorted(r["latency_ms"] for r in rows)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))] if latencies else float("nan")
    report.stamp(f"{os.cpu_count()} cores; live producer at {RATE:,} events/s for {SECONDS} s; ingest grace 5 s"
                 + (f"; fraud share 0.05, model trained in {train_s:.1f} s (incl. generating its minutes)"
                    if FRAUD else "; no fraud scoring"))
    if FRAUD:
        report.table(["minute", "events", "window events scored", "flagged", "scoring",
                      "minute end -> report with fraud on the dashboard"],
                     [[r["minute"], f"{r['events']:,}", f"{r['window_events']:,}", str(r["flagged"]),
                       f"{r['scoring_ms'] / 1000:.2f} s", f"{r['latency_ms'] / 1000:.2f} s"] for r in rows])
    else:
        report.table(["minute", "events", "minute end -> report on the dashboard"],
                     [[r["minute"], f"{r['events']:,}", f"{r['latency_ms'] / 1000:.2f} s"] for r in rows])
    print(f"p99 over {len(rows)} minutes: {p99 / 1000:.2f} s (target <= 10 s; reference >= 60 s)")


if __name__ == "__main__":
    main()
