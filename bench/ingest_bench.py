"""Benchmark: `pfad ingest` on this machine, same run as its peer.

1. Sustained throughput: a backlog of events (backfilled over past minutes) plus a
   producer running alongside; one ingester writing to MinIO. The rate is the
   slope of the ingester's own counters (its /metrics) between 10% and 90% of
   the total, for events read and for events stored in objects.
2. The peer: bench/python_consumer.py (confluent-kafka + AvroDeserializer +
   pyarrow) on the same backlog topic.
3. Live at 1,000,000 events per minute (a producer at 16,667 events/s, wall-clock
   timestamps): peak RSS of the ingester, and freshness: for each minute, the time
   from its end + grace to its object being stored (windows-topic notifications).
4. Peak RSS while catching up a backlog of 1,000,000-event minutes (bounded by
   --max-buffered).

Needs Kafka, the registry and MinIO (scripts/bench.sh starts them).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pyarrow.fs as pafs
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import report

ROOT = Path(__file__).resolve().parents[1]
PFAD = ROOT / "build/pfad"
PY = ROOT / ".venv/bin/python"
BOOTSTRAP = os.environ["PFAD_KAFKA_BOOTSTRAP"]
BACKLOG = int(os.environ.get("PFAD_BENCH_INGEST_BACKLOG", "3000000"))
ALONGSIDE = int(os.environ.get("PFAD_BENCH_INGEST_ALONGSIDE", "600000"))
PY_EVENTS = int(os.environ.get("PFAD_BENCH_INGEST_PY_EVENTS", "300000"))
RSS_EVENTS = int(os.environ.get("PFAD_BENCH_INGEST_RSS_EVENTS", "3000000"))
FRESH_SECONDS = int(os.environ.get("PFAD_BENCH_INGEST_FRESH_S", "200"))
FRESH_RATE = int(os.environ.get("PFAD_BENCH_INGEST_FRESH_RATE", "16667"))


def topics(prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for f in admin.create_topics([NewTopic(name, 6, 1), NewTopic(f"{name}.dlq", 1, 1),
                                  NewTopic(f"{name}.windows", 1, 1)]).values():
        f.result(timeout=30)
    return name


def bucket() -> str:
    s3 = pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                           endpoint_override=os.environ["AWS_ENDPOINT_URL"], region="us-east-1",
                           allow_bucket_creation=True)
    name = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    s3.create_dir(name)
    return name


def produce(topic: str, *args: str, wait: bool = True):
    cmd = [str(PFAD), "produce", "--topic", topic, "--json", *args]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def metrics(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^pfad_ingest_(\w+) (-?[\d.]+)$", text, re.M)}


def ingest(topic: str, sink: str, *extra: str, port: int | None = None, samples: list | None = None):
    """Runs pfad ingest --until-idle; returns (final stats, peak RSS MiB)."""
    args = [str(PFAD), "--log-level", "warn", "ingest", "--topic", topic, "--group", f"bench-{uuid.uuid4().hex[:6]}",
            "--sink", sink, "--until-idle", "--json", "--idle-timeout", "2", *extra]
    if port:
        args += ["--metrics-port", str(port)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                samples.append((time.monotonic(), metrics(port)))
            except OSError:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample) if port and samples is not None else None
    if sampler:
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    if sampler:
        sampler.join()
    out = proc.stdout.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"pfad ingest failed ({proc.returncode})")
    return json.loads(out), usage.ru_maxrss / 1024


def slope(samples: list, key: str, total: float) -> float:
    """events/s of a counter between 10% and 90% of `total`."""
    points = [(t, m[key]) for t, m in samples if key in m]
    lo = next(p for p in points if p[1] >= 0.1 * total)
    hi = next(p for p in points if p[1] >= 0.9 * total)
    return (hi[1] - lo[1]) / (hi[0] - lo[0])


def throughput() -> dict:
    topic = topics("bench-ingest")
    # One producer worker: a backlog in event-time order, as a partition holds it after an
    # outage. (Two backfill workers race each other by minutes of event time, so half of
    # every minute would arrive after it closed and be merged in as late events.)
    backlog = produce(topic, "--count", str(BACKLOG), "--minutes", "30", "--start-time", "2025-01-15 10:00",
                      "--seed", "1")
    alongside = produce(topic, "--count", str(ALONGSIDE), "--minutes", "6", "--start-time", "2025-01-15 10:30",
                        "--seed", "2", "--rate", "50000", wait=False)
    samples: list = []
    stats, rss = ingest(topic, f"s3://{bucket()}", port=23417, samples=samples)
    alongside_stats = json.loads(alongside.communicate()[0])
    total = backlog["delivered"] + alongside_stats["delivered"]
    assert stats["events_stored"] == total, (stats, total)
    result = {"events": total, "alongside": alongside_stats, "stats": stats, "rss_mib": rss,
              "read_rate": slope(samples, "events_in_total", total),
              "stored_rate": slope(samples, "events_stored_total", total)}
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([str(PY), str(ROOT / "bench/python_consumer.py"), topic, str(PY_EVENTS), out],
                             capture_output=True, text=True, check=True)
    peer = json.loads(run.stdout)
    result["python"] = {**peer, "rate": peer["events"] / peer["seconds"]}
    return result


def rss_at_a_million_per_minute() -> dict:
    topic = topics("bench-ingest-rss")
    produce(topic, "--count", str(RSS_EVENTS), "--minutes", str(RSS_EVENTS // 1_000_000), "--start-time",
            "2025-01-15 11:00", "--seed", "3")  # one worker: in event-time order (see throughput())
    stats, rss = ingest(topic, f"s3://{bucket()}")
    return {"events": RSS_EVENTS, "stats": stats, "rss_mib": rss}


def freshness() -> dict:
    topic = topics("bench-ingest-fresh")
    sink = f"s3://{bucket()}"
    ingester = subprocess.Popen([str(PFAD), "--log-level", "warn", "ingest", "--topic", topic, "--group",
                                 "bench-fresh", "--sink", sink], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    produce(topic, "--rate", str(FRESH_RATE), "--duration", str(FRESH_SECONDS), "--seed", "4")
    time.sleep(8)  # the last minute: grace + idle timeout
    ingester.terminate()
    _, _, usage = os.wait4(ingester.pid, 0)
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"b-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(f"{topic}.windows", 0, 0)])
    notes = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        notes += [json.loads(m.value()) for m in consumer.consume(1000, timeout=1) if not m.error()]
    consumer.close()
    on_time = [n for n in notes if not n["update"]]
    latencies = sorted(n["stored_at_ms"] - n["close_at_ms"] for n in on_time)
    return {"notes": notes, "latencies_ms": latencies, "rate": FRESH_RATE, "seconds": FRESH_SECONDS,
            "rss_mib": usage.ru_maxrss / 1024}


def main():
    raw = {"throughput": throughput(), "rss": rss_at_a_million_per_minute(), "freshness": freshness()}
    report.save("ingest", raw)
    t, r, f = raw["throughput"], raw["rss"], raw["freshness"]
    report.stamp(f"{os.cpu_count()} cores; sink MinIO on 127.0.0.1")
    print(f"Throughput: {t['events']:,} events ({BACKLOG:,} backlog over 30 minutes + {ALONGSIDE:,} produced "
          f"alongside at 50,000/s), one ingester:\n")
    report.table(["consumer", "events", "events/s read", "events/s stored", "speed-up"], [
        ["pfad ingest (to MinIO)", f"{t['events']:,}", f"{t['read_rate']:,.0f}", f"{t['stored_rate']:,.0f}",
         f"{t['stored_rate'] / t['python']['rate']:.1f}x"],
        ["Python confluent-kafka + AvroDeserializer + pyarrow (local files)", f"{t['python']['events']:,}",
         f"{t['python']['rate']:,.0f}", "–", "1.0x"],
    ])
    lat = f["latencies_ms"]
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))] if lat else float("nan")
    print(f"Live at {f['rate']:,} events/s ({f['rate'] * 60:,} per minute) for {f['seconds']} s: peak RSS "
          f"{f['rss_mib']:.0f} MiB; freshness (minute end + grace -> object stored), {len(lat)} minutes: "
          f"{', '.join(f'{x} ms' for x in lat)}; p99 {p99} ms.\n")
    print(f"Peak RSS catching up a backlog of {r['events']:,} events in 1,000,000-event minutes: {r['rss_mib']:.0f} MiB; "
          f"{t['rss_mib']:.0f} MiB in the throughput run.")


if __name__ == "__main__":
    main()
