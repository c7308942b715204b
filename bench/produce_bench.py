"""Benchmark: `pfad produce` against a Python producer written the reference way
(bench/python_producer.py) and Kafka's own ProducerPerformance tool, same broker,
same run, 1 and 2 workers; plus delivery latency at a steady 10,000 events/s.

Needs Kafka and the schema registry running (scripts/bench.sh starts them).
Prints Markdown; raw numbers go to test-artifacts/bench-produce.json.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import fastavro
from confluent_kafka.admin import AdminClient, NewTopic

import report

ROOT = Path(__file__).resolve().parents[1]
PFAD = ROOT / "build/pfad"
PY = ROOT / ".venv/bin/python"
BOOTSTRAP = os.environ["PFAD_KAFKA_BOOTSTRAP"]
REGISTRY = os.environ["PFAD_REGISTRY_URL"]
COUNT = int(os.environ.get("PFAD_BENCH_PRODUCE_COUNT", "3000000"))
RUNS = int(os.environ.get("PFAD_BENCH_PRODUCE_RUNS", "3"))  # each figure: the median run
PY_COUNT = int(os.environ.get("PFAD_BENCH_PRODUCE_PY_COUNT", "100000"))
PRODUCER_PROPS = ["acks=all", "enable.idempotence=true", "compression.type=snappy", "batch.size=32768",
                  "linger.ms=20"]
# Batching configurations compared, applied alike to every producer (librdkafka's
# batch.num.messages has no Java counterpart; Java batches by bytes only).
# "DESIGN defaults": the producer defaults of docs/DESIGN.md, "Kafka topics".
BATCHING = {
    "DESIGN defaults (batch.size 32768, linger.ms 20)": {},
    "large batches (batch.size 1000000, linger.ms 50)": {"batch.size": "1000000", "linger.ms": "50",
                                                          "batch.num.messages": "100000"},
}


def fresh_topic() -> str:
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    name = f"bench-{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(name, num_partitions=6, replication_factor=1)])[name].result(timeout=30)
    return name


def message_size() -> float:
    """Average key + value bytes of pfad's events (Confluent header + Avro body + 16-byte key)."""
    out = subprocess.run([str(PFAD), "produce", "--dry-run", "--count", "2000", "--seed", "1"], capture_output=True,
                         text=True, check=True).stdout
    schema = fastavro.parse_schema(json.loads((ROOT / "schemas/user_interactions.avsc").read_text()))
    total = 0
    for line in out.splitlines():
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, json.loads(line))
        total += len(buf.getvalue()) + 5 + 16
    return total / len(out.splitlines())


def pfad_produce(workers: int, extra: list[str]) -> dict:
    out = subprocess.run([str(PFAD), "produce", "--topic", fresh_topic(), "--workers", str(workers), "--json",
                          "--bootstrap", BOOTSTRAP, "--registry", REGISTRY, *extra],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def python_produce(workers: int, extra: dict) -> dict:
    for attempt in (1, 2):  # a registry call that never answers (seen once) costs a retry, not the run
        try:
            out = subprocess.run([str(PY), str(ROOT / "bench/python_producer.py"), BOOTSTRAP, REGISTRY, fresh_topic(),
                                  str(PY_COUNT), str(workers), json.dumps(extra)], capture_output=True, text=True,
                                 check=True, timeout=300).stdout
            return json.loads(out)
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as e:
            if attempt == 2:
                raise
            print(f"python producer failed ({e}); once more", file=sys.stderr)
    raise AssertionError("unreachable")


def producer_performance(workers: int, count: int, size: int, throughput: int = -1, extra: dict | None = None) -> dict:
    classpath = subprocess.run([str(ROOT / "scripts/services/kafka.sh"), "classpath"], capture_output=True,
                               text=True, check=True).stdout.strip()
    topic = fresh_topic()
    cmd = ["java", "-Xmx512m", "-cp", classpath, "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
           "--num-records", str(count // workers), "--record-size", str(size), "--throughput",
           str(throughput if throughput < 0 else throughput // workers),
           "--producer-props", f"bootstrap.servers={BOOTSTRAP}", *PRODUCER_PROPS,
           *[f"{k}={v}" for k, v in (extra or {}).items() if k != "batch.num.messages"]]
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(workers)]
    outs = [p.communicate()[0] for p in procs]
    seconds = time.perf_counter() - start
    finals = []
    for out in outs:
        line = [x for x in out.splitlines() if "records sent" in x][-1]
        nums = [float(x) for x in re.findall(r"([\d.]+) (?:records sent|records/sec|ms 99th)", line)]
        finals.append({"records": nums[0], "rate": nums[1], "p99": nums[2], "line": line})
    return {"delivered": sum(f["records"] for f in finals), "rate": sum(f["rate"] for f in finals),
            "p99": max(f["p99"] for f in finals), "seconds": seconds, "lines": [f["line"] for f in finals]}


def median_run(run, rate) -> dict:
    """The run with the median rate of RUNS runs (all kept under "runs")."""
    runs = sorted((run() for _ in range(RUNS)), key=rate)
    return {**runs[len(runs) // 2], "runs": runs}


def main() -> None:
    size = message_size()
    record_size = round(size - 16)  # ProducerPerformance sends values only
    rows, raw = [], {"message_bytes": size, "runs_per_figure": RUNS}
    # Warm the broker up before anything is timed: a fresh broker JVM needs some 10 million
    # records before its produce path is compiled (the first runs cost it 2-3x the CPU per record).
    for _ in range(3):
        pfad_produce(2, ["--count", str(COUNT)])
    producer_performance(1, COUNT, record_size)
    own_rate = lambda r: r["delivered"] / r["seconds"]  # noqa: E731
    for batching, extra in BATCHING.items():
        x_flags = [a for k, v in extra.items() for a in ("-X", f"{k}={v}")]
        for workers in (1, 2):
            ours = median_run(lambda: pfad_produce(workers, ["--count", str(COUNT), *x_flags]), own_rate)
            peer_py = median_run(lambda: python_produce(workers, extra), own_rate)
            peer_pp = median_run(lambda: producer_performance(workers, COUNT, record_size, extra=extra),
                                 lambda r: r["rate"])
            raw[f"{batching}/workers{workers}"] = {"pfad": ours, "python": peer_py, "producer_performance": peer_pp}
            ours_rate = own_rate(ours)
            py_rate = own_rate(peer_py)
            for tool, rate, n in (("pfad produce", ours_rate, ours["delivered"]),
                                  ("Python SerializingProducer + AvroSerializer", py_rate, peer_py["delivered"]),
                                  (f"Kafka ProducerPerformance ({record_size}-byte records)", peer_pp["rate"],
                                   peer_pp["delivered"])):
                rows.append((batching, workers, tool, n, rate, rate * size / 1e6, ours_rate / rate))
            print(f"{batching} workers={workers}: pfad {ours_rate:,.0f}/s python {py_rate:,.0f}/s "
                  f"ProducerPerformance {peer_pp['rate']:,.0f}/s", file=sys.stderr)
    steady = pfad_produce(1, ["--rate", "10000", "--duration", "10"])
    steady_pp = producer_performance(1, 100000, record_size, throughput=10000)
    raw["steady"] = {"pfad": steady, "producer_performance": steady_pp}
    report.save("produce", raw)

    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; average message {size:.0f} bytes "
          f"(key + Confluent header + Avro body); each figure the median of {RUNS} runs, after a warm-up\n")
    print("| batching | workers | producer | events | events/s | MB/s | pfad speed-up |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for batching, workers, tool, n, rate, mbs, ratio in rows:
        print(f"| {batching} | {workers} | {tool} | {n:,.0f} | {rate:,.0f} | {mbs:.1f} | {ratio:.2f}x |")
    print("\nDelivery latency at a steady 10,000 events/s (1 worker, 10 s / 100,000 records):\n")
    print("| producer | events/s reached | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    print(f"| pfad produce | {steady['delivered'] / steady['seconds']:,.0f} | {steady['latency_p50_ms']:.1f} ms | "
          f"{steady['latency_p99_ms']:.1f} ms | {steady['latency_max_ms']:.1f} ms |")
    print(f"| Kafka ProducerPerformance | {steady_pp['rate']:,.0f} | – | {steady_pp['p99']:.0f} ms | – |")


if __name__ == "__main__":
    main()
