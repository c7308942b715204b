"""Soak: the whole live stack for a long run, produce -> Kafka -> ingest -> MinIO -> pfad run
-> dashboard, at a steady rate (default 50,000 events/s for 30 minutes). What it shows:

- memory: the resident set of each long-running process (ingest, run, dashboard), sampled
  every 10 s from /proc; the figure at the end of the first 3 minutes (warmed up) against the
  end of the run, and the peak;
- nothing lost, nothing twice: every minute object's rows and distinct event_ids (an event
  always lands in the object of its own minute, so a duplicate could only be inside one
  object), summed, against the producer's delivered count; and each report's total_events
  against its object's rows;
- freshness: for each minute, minute end -> its report received by the dashboard, p50/p99 of
  the first 10 whole minutes against the last 10.

With PFAD_BENCH_SOAK_FRAUD_MODEL (a `pfad fraud train` model file), `pfad run` scores every
minute's window live (docs/FRAUD.md section 8) and each report of the run must carry a scored
`fraud` object; the fraud step's time per minute is printed beside freshness.

Needs Kafka, the registry and MinIO (scripts/bench.sh soak starts them). Knobs:
PFAD_BENCH_SOAK_RATE (events/s), PFAD_BENCH_SOAK_S (seconds of producing),
PFAD_BENCH_SOAK_FRAUD_MODEL.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid

import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from confluent_kafka.admin import AdminClient, NewTopic

import report
from freshness_bench import PFAD, free_port, minute_end_ms

RATE = int(os.environ.get("PFAD_BENCH_SOAK_RATE", "50000"))
SECONDS = int(os.environ.get("PFAD_BENCH_SOAK_S", "1800"))
FRAUD_MODEL = os.environ.get("PFAD_BENCH_SOAK_FRAUD_MODEL", "")
WARM_S = 180


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ingest_metrics(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("pfad_ingest_"):
            name, _, value = line.partition(" ")
            out[name.removeprefix("pfad_ingest_")] = float(value)
    return out


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def count_objects(s3: pafs.S3FileSystem, bucket: str) -> dict[str, tuple[int, int]]:
    """stem -> (rows, distinct event_ids) of every minute object in the bucket."""
    out = {}
    for info in s3.get_file_info(pafs.FileSelector(bucket, recursive=True)):
        # Minute objects only: YYYY-MM-DD_HH-MM.parquet (not the scores beside them).
        if not re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d\.parquet", info.base_name):
            continue
        ids = pq.read_table(info.path, columns=["event_id"], filesystem=s3)["event_id"]
        out[info.base_name.removesuffix(".parquet")] = (len(ids), pc.count_distinct(ids).as_py())
    return out


def main():
    topic = f"bench-soak-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": os.environ["PFAD_KAFKA_BOOTSTRAP"]})
    topics = [topic, f"{topic}.dlq", f"{topic}.windows"]
    for f in admin.create_topics([NewTopic(topic, 6, 1), NewTopic(topics[1], 1, 1),
                                  NewTopic(topics[2], 1, 1)]).values():
        f.result(timeout=30)
    bucket = f"bench-soak-{uuid.uuid4().hex[:8]}"
    s3 = pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                           endpoint_override=os.environ["AWS_ENDPOINT_URL"], region="us-east-1",
                           allow_bucket_creation=True, allow_bucket_deletion=True)
    s3.create_dir(bucket)
    port, metrics_port = free_port(), free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    fraud_flags = ["--fraud-model", FRAUD_MODEL, "--fraud-alerts-topic", ""] if FRAUD_MODEL else []
    samples: list[tuple[float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        procs = {
            "dashboard": subprocess.Popen([PFAD, "dashboard", "--port", str(port), "--db", f"{tmp}/reports.db"],
                                          **quiet),
            "ingest": subprocess.Popen([PFAD, "--log-level", "warn", "ingest", "--topic", topic, "--sink",
                                        f"s3://{bucket}", "--group", "bench-soak", "--metrics-port",
                                        str(metrics_port)], **quiet),
            "run": subprocess.Popen([PFAD, "run", "--source", f"s3://{bucket}", "--dashboard",
                                     f"http://127.0.0.1:{port}", "--state", f"{tmp}/runs.db", "--announcements",
                                     topics[2]] + fraud_flags, **quiet),
        }
        stop = threading.Event()

        def sample():
            start = time.monotonic()
            while not stop.wait(10):
                samples.append((time.monotonic() - start, {k: rss_mib(p.pid) for k, p in procs.items()}))

        sampler = threading.Thread(target=sample)
        try:
            time.sleep(3)
            sampler.start()
            started_ms = int(time.time() * 1000)
            made = subprocess.run([PFAD, "produce", "--topic", topic, "--rate", str(RATE), "--duration", str(SECONDS),
                                   "--seed", "5", "--json"], check=True, capture_output=True, text=True)
            produced = json.loads(made.stdout)
            ended_ms = int(time.time() * 1000)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:  # everything delivered is stored (grace, idle timeout)
                if ingest_metrics(metrics_port).get("events_stored_total", 0) >= produced["delivered"]:
                    break
                time.sleep(1)
            time.sleep(15)  # the last minute's analysis and report
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/reports?limit=1000", timeout=10) as res:
                history = json.loads(res.read())["reports"]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/runs?limit=1000", timeout=10) as res:
                failed_runs = [r for r in json.loads(res.read())["runs"] if r.get("state") != "success"]
            exits = {k: p.poll() for k, p in procs.items()}  # None: still running, as it should be
        finally:
            stop.set()
            if sampler.is_alive():
                sampler.join()
            for p in procs.values():
                p.terminate()
                p.wait(timeout=60)
    objects = count_objects(s3, bucket)
    s3.delete_dir(bucket)
    for f in admin.delete_topics(topics).values():
        f.result(timeout=30)

    stored = sum(rows for rows, _ in objects.values())
    distinct = sum(d for _, d in objects.values())
    minutes, mismatched = [], []
    unscored, fraud_ms = [], []  # with a fraud model: minutes without scores, the fraud step per minute
    for entry in history:
        body = entry["report"]["report"]
        if not isinstance(body, dict):
            continue
        stem = body["file_name"].removesuffix(".json")
        if body["total_events"] != objects.get(stem, (None,))[0]:
            mismatched.append((stem, body["total_events"], objects.get(stem)))
        end = minute_end_ms(stem)
        if started_ms < end - 60_000 and end <= ended_ms:  # whole minutes of the live run
            minutes.append((stem, entry["received_ms"] - end))
            if FRAUD_MODEL:
                section = body.get("fraud") or {}
                if section.get("status") != "scored":
                    unscored.append((stem, section.get("status"), section.get("reason")))
                else:
                    fraud_ms.append(section.get("scoring_ms", 0))
    minutes.sort()
    reported = {m[0] for m in minutes} | {stem for stem, _, _ in mismatched}
    reported |= {e["report"]["report"]["file_name"].removesuffix(".json") for e in history
                 if isinstance(e["report"]["report"], dict)}
    unreported = sorted(set(objects) - reported)
    first, last = [m[1] for m in minutes[:10]], [m[1] for m in minutes[-10:]]
    warm = next((s for s in samples if s[0] >= WARM_S), samples[0])
    end_sample = samples[-1]
    peak = {k: max(s[1][k] for s in samples) for k in procs}
    raw = {"rate": RATE, "seconds": SECONDS, "produced": produced, "stored": stored, "distinct": distinct,
           "objects": len(objects), "reports_mismatched": mismatched, "unreported": unreported,
           "failed_runs": failed_runs, "exits_before_stop": exits,
           "minutes": minutes, "rss_samples": samples, "fraud_model": FRAUD_MODEL, "fraud_unscored": unscored,
           "fraud_ms": fraud_ms}
    report.save("soak", raw)
    report.stamp(f"{os.cpu_count()} cores; live producer at {RATE:,} events/s for {SECONDS} s; ingest grace 5 s; "
                 f"sink MinIO; pfad run on announcements")
    report.table(["process", f"RSS at {warm[0]:.0f} s", f"RSS at {end_sample[0]:.0f} s (end)", "peak"],
                 [[k, f"{warm[1][k]:.0f} MiB", f"{end_sample[1][k]:.0f} MiB", f"{peak[k]:.0f} MiB"] for k in procs])
    report.table(["delivered", "stored (rows in objects)", "distinct event_ids", "lost", "twice",
                  "reports ≠ object rows", "objects without a report", "failed runs"],
                 [[f"{produced['delivered']:,}", f"{stored:,}", f"{distinct:,}", f"{produced['delivered'] - distinct:,}",
                   f"{stored - distinct:,}", str(len(mismatched)), str(len(unreported)), str(len(failed_runs))]])
    report.table(["minutes", "freshness p50", "freshness p99"],
                 [[f"first {len(first)}", f"{percentile(first, 0.5) / 1000:.2f} s", f"{percentile(first, 0.99) / 1000:.2f} s"],
                  [f"last {len(last)}", f"{percentile(last, 0.5) / 1000:.2f} s", f"{percentile(last, 0.99) / 1000:.2f} s"],
                  [f"all {len(minutes)}", f"{percentile([m[1] for m in minutes], 0.5) / 1000:.2f} s",
                   f"{percentile([m[1] for m in minutes], 0.99) / 1000:.2f} s"]])
    if FRAUD_MODEL:
        report.table(["minutes scored (live window)", "not scored", "fraud step p50", "fraud step p99", "max"],
                     [[str(len(fraud_ms)), str(len(unscored)),
                       f"{percentile(fraud_ms, 0.5) / 1000:.2f} s" if fraud_ms else "-",
                       f"{percentile(fraud_ms, 0.99) / 1000:.2f} s" if fraud_ms else "-",
                       f"{max(fraud_ms) / 1000:.2f} s" if fraud_ms else "-"]])
    if any(code is not None for code in exits.values()):
        raise SystemExit(f"a process ended before the run did: {exits}")
    if unscored:
        raise SystemExit(f"soak FAILED: minutes without fraud scores: {unscored}")
    if distinct != produced["delivered"] or stored != distinct or mismatched or unreported:
        raise SystemExit(f"soak FAILED: {produced['delivered'] - distinct} lost, {stored - distinct} twice, "
                         f"{len(mismatched)} reports unlike their objects, no report for {unreported}")


if __name__ == "__main__":
    main()
