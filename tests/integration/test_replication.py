"""Replication: `pfad produce` and `pfad ingest` on a 3-node Kafka cluster of the tests' own
(scripts/services/kafka.sh with PFAD_KAFKA_BROKERS=3: replication factor 3, min.insync.replicas 2)
while nodes die.

- kill -9 of the node leading most of the event topic's partitions, while producing and
  ingesting, then its restart: every event is acknowledged, in the topic once and stored once;
- a second node dies as well (one in-sync replica left of the two acks=all needs): the producer
  holds its events and retries (nothing acknowledged, nothing dropped) and finishes once a node is
  back, every event once; one with a message.timeout.ms shorter than the outage fails instead,
  exit 5 with the count it did not deliver, and what it delivered is in the topic (with events it
  reported failed, some twice: see the test), each stored once by the ingester.
The assertions are about counts only (docs/RELIABILITY.md, "Kafka broker failures"; the timings are
bench/replication_bench.py's, in docs/BENCHMARKS.md).
"""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import pyarrow.fs as pafs
import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from conftest import LoggedProcess, PrivateService, free_port_range, wait_for_log
from kafka_util import (START, Ingester, assert_exactly_once, common_args, consume_raw, create_topics, decode,
                        kafka_envs, produced, wait_for_rows)

NODES = (1, 2, 3)
PARTITIONS = 6
# kafka.sh's default topics (PFAD_KAFKA_TOPICS), each replicated on every node.
SCRIPT_TOPICS = ["user_interactions", "user_interactions.dlq", "user_interactions.windows",
                 "user_interactions.labels", "user_interactions.fraud"]

pytestmark = pytest.mark.release_only  # three broker JVMs and two node restarts: the CI budget


class Cluster:
    """The private cluster and its faults (kafka.sh kill-broker / start-broker N)."""

    def __init__(self, service: PrivateService):
        self.service = service
        self.bootstrap = service.exports()["PFAD_KAFKA_BOOTSTRAP"]
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap})

    def kill(self, node: int) -> None:
        self.service.control("kill-broker", str(node))

    def start(self, node: int) -> None:
        self.service.control("start-broker", str(node))

    def start_all(self) -> None:
        self.service.control("start")  # starts every node that is not running

    def partitions(self, topic: str) -> dict:
        return self.admin.list_topics(topic, timeout=30).topics[topic].partitions

    def leaders(self, topic: str) -> Counter:
        """node -> how many of the topic's partitions it leads."""
        return Counter(p.leader for p in self.partitions(topic).values())

    def wait(self, what: str, condition, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except Exception:  # noqa: BLE001 - metadata from a cluster in flux: ask again
                pass
            assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
            time.sleep(0.5)

    def wait_in_sync(self, topics: list[str]) -> None:
        """Until every partition of `topics` has a leader and all three replicas in sync."""
        self.wait(f"all replicas of {topics} in sync", lambda: all(
            p.leader in NODES and sorted(p.isrs) == list(NODES)
            for t in topics for p in self.partitions(t).values()))

    def wait_led_without(self, topic: str, node: int) -> None:
        """Until the other nodes lead every partition of `topic` (node is dead: leaders elected)."""
        self.wait(f"new leaders of {topic} without node {node}", lambda: all(
            p.leader in NODES and p.leader != node for p in self.partitions(topic).values()))

    def events_topic(self) -> str:
        """A fresh event topic with its DLQ and windows topics, replicated on every node."""
        name = f"pfad-repl-{uuid.uuid4().hex[:10]}"
        create_topics(self.bootstrap, {name: PARTITIONS, f"{name}.dlq": 1, f"{name}.windows": 1},
                      replication_factor=len(NODES))
        self.wait_in_sync([name, f"{name}.dlq", f"{name}.windows"])
        return name


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One private 3-node cluster for the module, on a free port range (clients on the first three
    ports, controllers on the next three) with its own state; stopped afterwards, also on failure.
    A cluster that does not start fails the tests (kafka.sh's error and the nodes' log tails)."""
    port = free_port_range(2 * len(NODES))
    settings = {"PFAD_KAFKA_BROKERS": len(NODES), "PFAD_KAFKA_PORT": port,
                "PFAD_KAFKA_CONTROLLER_PORT": port + len(NODES), "PFAD_KAFKA_SASL_PORT": 0,
                "PFAD_KAFKA_START_TIMEOUT": 300}  # three JVMs on a loaded CI machine
    with PrivateService("kafka", tmp_path_factory.mktemp("kafka-cluster"), settings) as service:
        yield Cluster(service)


def producer(pfad, env: dict[str, str], topic: str, count: int, seed: int, log, *extra: str) -> LoggedProcess:
    """`pfad produce --json` of `count` events over three minutes at 1,000 events/s."""
    return LoggedProcess([pfad.binary, "produce", "--topic", topic, "--count", str(count), "--minutes", "3",
                          "--start-time", START, "--seed", str(seed), "--rate", "1000", "--json", *extra],
                         {**pfad.env, **env}, log)


def final_stats(process: LoggedProcess) -> dict:
    """The statistics `pfad produce --json` printed at the end."""
    lines = [line for line in process.output().splitlines() if line.startswith("{")]
    assert lines, f"no statistics from {process.log_path.name}:\n{process.output()[-3000:]}"
    return json.loads(lines[-1])


def test_every_topic_is_replicated_on_three_nodes_and_needs_two_in_sync(cluster):
    configs = cluster.admin.describe_configs([ConfigResource("topic", t) for t in SCRIPT_TOPICS])
    for resource, future in configs.items():
        config = future.result(timeout=30)
        assert config["min.insync.replicas"].value == "2", resource
        assert config["unclean.leader.election.enable"].value == "false", resource
    for topic in SCRIPT_TOPICS:
        assert all(sorted(p.replicas) == list(NODES) for p in cluster.partitions(topic).values()), topic


def test_killing_the_leader_loses_and_duplicates_nothing(pfad, cluster, registry_env, tmp_path):
    count = 30000
    topic = cluster.events_topic()
    env = kafka_envs({"PFAD_KAFKA_BOOTSTRAP": cluster.bootstrap}, registry_env)
    sink = tmp_path / "minutes"
    sink.mkdir()
    ingester = Ingester(pfad, env, common_args(topic, str(sink), f"g-{uuid.uuid4().hex[:8]}"), tmp_path / "ingest.log")
    produce = producer(pfad, env, topic, count, 71, tmp_path / "produce.log")
    try:
        wait_for_log(ingester, "assigned partitions=", timeout=120)
        time.sleep(3)  # events flowing through both
        assert produce.proc.poll() is None, f"the producer finished before the kill:\n{produce.output()[-3000:]}"
        leader, led = cluster.leaders(topic).most_common(1)[0]
        cluster.kill(leader)
        cluster.wait_led_without(topic, leader)  # its partitions' followers took over
        assert ingester.proc.poll() is None, ingester.output()[-3000:]
        cluster.start(leader)
        assert produce.wait(timeout=300) == 0, produce.output()[-3000:]
        stats = final_stats(produce)
        assert (stats["delivered"], stats["failed"]) == (count, 0), stats
        expected = produced({"PFAD_KAFKA_BOOTSTRAP": cluster.bootstrap}, topic, PARTITIONS, count)  # once each
        rows = wait_for_rows(pafs.LocalFileSystem(), str(sink), count, timeout=180, procs=[ingester])
        assert ingester.stop() == 0, ingester.output()[-3000:]
        assert_exactly_once(rows, expected)
        assert led >= 2, "the killed node led at least two of the six partitions"
    finally:
        for process in (produce, ingester):
            if process.proc.poll() is None:
                process.kill9()
        cluster.start_all()


def test_with_two_nodes_down_the_producer_waits_or_fails_clearly_and_resumes(pfad, cluster, registry_env, tmp_path):
    count = 20000
    topic, short = cluster.events_topic(), cluster.events_topic()
    env = kafka_envs({"PFAD_KAFKA_BOOTSTRAP": cluster.bootstrap}, registry_env)
    sinks = {t: tmp_path / f"minutes-{n}" for n, t in enumerate((topic, short))}
    ingesters = []
    for n, (t, sink) in enumerate(sinks.items()):
        sink.mkdir()
        ingesters.append(Ingester(pfad, env, common_args(t, str(sink), f"g-{uuid.uuid4().hex[:8]}"),
                                  tmp_path / f"ingest-{n}.log"))
    # The default message.timeout.ms (300 s) outlasts the outage; 10 s does not.
    waiting = producer(pfad, env, topic, count, 72, tmp_path / "produce.log")
    failing = producer(pfad, env, short, count, 73, tmp_path / "produce-short.log", "-X", "message.timeout.ms=10000")
    try:
        for ingester in ingesters:
            wait_for_log(ingester, "assigned partitions=", timeout=120)
        time.sleep(3)
        assert waiting.proc.poll() is None and failing.proc.poll() is None, "a producer finished before the kills"
        first = cluster.leaders(topic).most_common(1)[0][0]
        second = next(n for n in NODES if n != first)
        cluster.kill(first)
        cluster.wait_led_without(topic, first)
        cluster.kill(second)  # one replica left: acks=all with min.insync.replicas 2 cannot be met

        assert failing.wait(timeout=300) == 5, failing.output()[-3000:]  # 5: some events were not delivered
        failed = final_stats(failing)
        assert failed["failed"] > 0 and failed["delivered"] + failed["failed"] == failed["generated"] == count, failed
        assert f"delivery failed: topic={short}" in failing.output() and "Message timed out" in failing.output()
        assert f"{failed['delivered']} events delivered, {failed['failed']} failed" in failing.output()
        assert waiting.proc.poll() is None, f"the producer gave up:\n{waiting.output()[-3000:]}"
        for ingester in ingesters:
            assert ingester.proc.poll() is None, ingester.output()[-3000:]

        cluster.start(first)  # two nodes again: writes are acknowledged again
        assert waiting.wait(timeout=300) == 0, waiting.output()[-3000:]
        assert (final_stats(waiting)["delivered"], final_stats(waiting)["failed"]) == (count, 0)
        cluster.start(second)
        expected = produced({"PFAD_KAFKA_BOOTSTRAP": cluster.bootstrap}, topic, PARTITIONS, count)  # once each
        rows = wait_for_rows(pafs.LocalFileSystem(), str(sinks[topic]), count, timeout=180, procs=ingesters)
        assert_exactly_once(rows, expected)

        # The producer that gave up: no silent loss (at least what it called delivered is in the
        # topic). Events it reported failed can be there too, some twice: their write was appended
        # but not acknowledged in time, and after the timeout librdkafka resends under a new
        # producer epoch, which the broker cannot tell from new data (docs/RELIABILITY.md). The
        # ingester's merge by event_id stores each of them once all the same.
        in_topic = {}
        for m in consume_raw(cluster.bootstrap, short, PARTITIONS, timeout=120):
            record = decode(m.value())
            in_topic[record["event_id"]] = record["event_timestamp"]
        assert failed["delivered"] <= len(in_topic) <= count, (failed, len(in_topic))
        rows = wait_for_rows(pafs.LocalFileSystem(), str(sinks[short]), len(in_topic), timeout=180, procs=ingesters)
        for ingester in ingesters:
            assert ingester.stop() == 0, ingester.output()[-3000:]
        assert_exactly_once(rows, in_topic)
    finally:
        for process in (waiting, failing, *ingesters):
            if process.proc.poll() is None:
                process.kill9()
        cluster.start_all()
