"""Benchmark: broker kills on a 3-node cluster (replication 3, min.insync.replicas 2), `pfad produce`
beside the Python peer producer (bench/python_producer.py: confluent-kafka, the same acks=all and
idempotence settings), both running through the same kill in the same run, each into its own topic.

Scenarios (each on fresh topics, PFAD_BENCH_REPLICATION_RATE events/s per producer, 1,000):
1. `leader`: kill -9 of the node leading most of the two topics' partitions, restarted 20 s later.
2. `two-down`: that kill, then a second node's once the first one's partitions have new leaders;
   20 s with one node, then the first node back, then the second. Also `pfad produce` with
   -X message.timeout.ms=10000 (shorter than the outage), the third row.

Per producer: events acknowledged (its own count), distinct events in the topic and duplicates
(read back, by event_id), and from the broker's append times (the topics use LogAppendTime) the
longest time any partition took nothing, and in `two-down` how long after the node's return
(start-broker returned: it listens) every partition took writes again.

Starts its own private cluster (scripts/services/kafka.sh, PFAD_KAFKA_BROKERS=3, state under
~/.cache/pfad/bench/replication, ports PFAD_BENCH_REPLICATION_PORT.. +5, 19292) and stops it at
the end; the schema registry at $PFAD_REGISTRY_URL (scripts/bench.sh starts it); the binary is
$PFAD_BIN, else build/pfad.
Prints Markdown; raw numbers go to test-artifacts/bench-replication.json.

  replication_bench.py [leader] [two-down]     (default: both)
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import report

ROOT = Path(__file__).resolve().parents[1]
PFAD = Path(os.environ.get("PFAD_BIN", ROOT / "build/pfad"))
PY = ROOT / ".venv/bin/python"
REGISTRY = os.environ["PFAD_REGISTRY_URL"]
RATE = int(os.environ.get("PFAD_BENCH_REPLICATION_RATE", "1000"))
SECONDS = 60  # each producer's run: count = RATE * SECONDS
PORT = int(os.environ.get("PFAD_BENCH_REPLICATION_PORT", "19292"))
STATE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pfad/bench/replication"
NODES = (1, 2, 3)
PARTITIONS = 6
SCHEMA = fastavro.parse_schema(json.loads((ROOT / "schemas/user_interactions.avsc").read_text()))
ENV = {**os.environ, "PFAD_RUN": str(STATE), "PFAD_KAFKA_BROKERS": "3", "PFAD_KAFKA_PORT": str(PORT),
       "PFAD_KAFKA_CONTROLLER_PORT": str(PORT + 3), "PFAD_KAFKA_SASL_PORT": "0", "PFAD_KAFKA_START_TIMEOUT": "300"}
BOOTSTRAP = ",".join(f"127.0.0.1:{PORT + n - 1}" for n in NODES)


def kafka(*action: str) -> None:
    subprocess.run([str(ROOT / "scripts/services/kafka.sh"), *action], env=ENV, check=True, capture_output=True)


_admin: list[AdminClient] = []


def admin() -> AdminClient:
    """One client for the run (a client dropped before its futures are done cancels them)."""
    if not _admin:
        _admin.append(AdminClient({"bootstrap.servers": BOOTSTRAP}))
    return _admin[0]


def fresh_topic() -> str:
    name = f"bench-repl-{uuid.uuid4().hex[:10]}"
    topic = NewTopic(name, num_partitions=PARTITIONS, replication_factor=len(NODES),
                     config={"message.timestamp.type": "LogAppendTime"})
    admin().create_topics([topic])[name].result(timeout=30)
    wait(lambda: all(sorted(p.isrs) == list(NODES) for p in partitions(name).values()), "replicas in sync")
    return name


def partitions(topic: str) -> dict:
    return admin().list_topics(topic, timeout=30).topics[topic].partitions


def wait(condition, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - metadata from a cluster in flux: ask again
            pass
        if time.monotonic() > deadline:
            sys.exit(f"replication bench: {what}: not within {timeout} s")
        time.sleep(0.5)


def start_producers(topics: dict[str, str], logs: Path) -> dict[str, subprocess.Popen]:
    """name -> process; `topics` maps each producer's name to its topic."""
    count = RATE * SECONDS
    procs = {}
    for name, topic in topics.items():
        if name == "python peer":
            argv = [str(PY), str(ROOT / "bench/python_producer.py"), BOOTSTRAP, REGISTRY, topic, str(count), "1", "{}",
                    str(RATE)]
        else:
            extra = ["-X", "message.timeout.ms=10000"] if "10 s" in name else []
            argv = [str(PFAD), "produce", "--bootstrap", BOOTSTRAP, "--registry", REGISTRY, "--topic", topic,
                    "--count", str(count), "--rate", str(RATE), "--json", *extra]
        log = open(logs / f"{topic}.log", "w")
        procs[name] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
    return procs


def read_back(topic: str) -> tuple[Counter, dict[int, list[int]]]:
    """event_id -> copies in the topic, and partition -> the append times (ms) of its records."""
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"b-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(PARTITIONS)}
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    ids, appended, seen = Counter(), defaultdict(list), Counter()
    while any(seen[p] < ends[p] for p in ends):
        for m in consumer.consume(10000, timeout=1):
            assert m.error() is None, m.error()
            seen[m.partition()] = m.offset() + 1
            ids[str(fastavro.schemaless_reader(io.BytesIO(m.value()[5:]), SCHEMA, None)["event_id"])] += 1
            appended[m.partition()].append(m.timestamp()[1])
    consumer.close()
    return ids, appended


def longest_stall(appended: dict[int, list[int]], since_ms: int) -> float:
    """The longest time (s) a partition took nothing, from `since_ms` on."""
    worst = 0
    for times in appended.values():
        times = sorted(t for t in times if t >= since_ms - 1000)
        worst = max([worst, *(b - a for a, b in zip(times, times[1:]))])
    return worst / 1000


def resumed_after(appended: dict[int, list[int]], since_ms: int) -> float:
    """How long (s) after `since_ms` every partition had taken a write again."""
    return max(min((t for t in times if t >= since_ms), default=since_ms) - since_ms
               for times in appended.values()) / 1000


def scenario(name: str, producers: list[str]) -> list[dict]:
    topics = {p: fresh_topic() for p in producers}
    logs = STATE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs = start_producers(topics, logs)
    time.sleep(10)  # steady flow first
    led = Counter(p.leader for t in topics.values() for p in partitions(t).values())
    first = led.most_common(1)[0][0]
    kill_ms = int(time.time() * 1000)
    kafka("kill-broker", str(first))
    returned_ms = None
    if name == "leader":
        time.sleep(20)
        kafka("start-broker", str(first))
    else:
        wait(lambda: all(p.leader in NODES and p.leader != first
                         for t in topics.values() for p in partitions(t).values()), "new leaders")
        second = next(n for n in NODES if n != first)
        kafka("kill-broker", str(second))
        time.sleep(20)
        kafka("start-broker", str(first))
        returned_ms = int(time.time() * 1000)
        kafka("start-broker", str(second))
    rows = []
    for producer, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        stats = json.loads(out.strip().splitlines()[-1])
        ids, appended = read_back(topics[producer])
        rows.append({"scenario": name, "producer": producer, "acknowledged": stats["delivered"],
                     "failed": stats["failed"], "exit": proc.returncode, "distinct": len(ids),
                     "duplicates": sum(n - 1 for n in ids.values()), "stall_s": longest_stall(appended, kill_ms),
                     "resumed_s": resumed_after(appended, returned_ms) if returned_ms else None})
    kafka("start")  # every node up for the next scenario
    for t in topics.values():
        admin().delete_topics([t])
    return rows


def main() -> None:
    which = sys.argv[1:] or ["leader", "two-down"]
    shutil.rmtree(STATE, ignore_errors=True)  # a fresh cluster: no leftovers of an earlier run
    kafka("start")
    rows = []
    try:
        if "leader" in which:
            rows += scenario("leader", ["pfad produce", "python peer"])
        if "two-down" in which:
            rows += scenario("two-down", ["pfad produce", "python peer", "pfad produce, message.timeout.ms 10 s"])
    finally:
        kafka("stop")
    report.save("replication", rows)
    report.stamp(f"3 nodes on one 2-core machine, {RATE} events/s per producer for {SECONDS} s ({RATE * SECONDS} "
                 "events), replication 3, min.insync.replicas 2")
    report.table(["scenario", "producer", "acknowledged", "failed (exit)", "in the topic", "duplicates",
                  "longest partition stall (s)", "all partitions writing after the node's return (s)"],
                 [[r["scenario"], r["producer"], f"{r['acknowledged']:,}", f"{r['failed']:,} ({r['exit']})",
                   f"{r['distinct']:,}", f"{r['duplicates']:,}", f"{r['stall_s']:.1f}",
                   "" if r["resumed_s"] is None else f"{r['resumed_s']:.1f}"] for r in rows])


if __name__ == "__main__":
    main()
