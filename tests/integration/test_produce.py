"""`pfad produce` against a real Kafka broker and schema registry, checked with
the reference client stack (confluent-kafka + its AvroDeserializer, fastavro)."""
from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict

import fastavro
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from conftest import ROOT, free_port, service_env

SCHEMA_TEXT = (ROOT / "schemas/user_interactions.avsc").read_text()
START = "2025-01-15 10:00"


@pytest.fixture
def topic(kafka_env):
    """A fresh topic with 6 partitions for one test."""
    admin = AdminClient({"bootstrap.servers": kafka_env["PFAD_KAFKA_BOOTSTRAP"]})
    name = f"pfad-test-{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(name, num_partitions=6, replication_factor=1)])[name].result(timeout=30)
    yield name
    admin.delete_topics([name])[name].result(timeout=30)


def produce_env(kafka_env, registry_env):
    return {"PFAD_KAFKA_BOOTSTRAP": kafka_env["PFAD_KAFKA_BOOTSTRAP"],
            "PFAD_REGISTRY_URL": registry_env["PFAD_REGISTRY_URL"]}


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list:
    """Every message of the topic (raw), read until `expected` arrived and the topic is drained."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    # Explicit start offsets: no consumer-group coordinator involved.
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(6)])
    messages, deadline, idle_since = [], time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        batch = consumer.consume(10000, timeout=0.5)
        for m in batch:
            assert m.error() is None, m.error()
        messages += batch
        if len(messages) >= expected:
            idle_since = idle_since or time.monotonic()
            if not batch and time.monotonic() - idle_since > 2:  # drained: nothing more (no duplicates)
                break
    consumer.close()
    return messages


def dry_run(pfad, *args) -> list[dict]:
    run = pfad.run("produce", "--dry-run", *args)
    assert run.code == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def as_plain(record: dict) -> dict:
    """A record from AvroDeserializer in the dry-run's JSON form."""
    out = dict(record)
    for key in ("event_id", "user_id", "session_id"):
        out[key] = str(out[key])
    ts = out["event_timestamp"]
    out["event_timestamp"] = ts if isinstance(ts, int) else round(ts.timestamp() * 1000)
    return out


@pytest.mark.tsan
def test_reference_client_decodes_every_event_exactly(pfad, kafka_env, registry_env, topic):
    args = ["--topic", topic, "--seed", "77", "--count", "3000", "--workers", "2", "--start-time", START,
            "--minutes", "3"]
    run = pfad.run("produce", *args, "--json", env=produce_env(kafka_env, registry_env))
    assert run.code == 0, run.stderr
    stats = json.loads(run.stdout)
    assert stats["delivered"] == 3000 and stats["failed"] == 0

    # A request timeout, and the topic-name subject (what pfad registers under): confluent-kafka
    # 2.16's default strategy asks the registry for "associations" per message, an endpoint
    # Apicurio does not serve, and one such request once hung the run.
    registry = SchemaRegistryClient({"url": registry_env["PFAD_REGISTRY_URL"], "timeout": 30})
    deserialize = AvroDeserializer(registry, conf={"subject.name.strategy.type": "TOPIC"})
    messages = consume_all(kafka_env["PFAD_KAFKA_BOOTSTRAP"], topic, 3000)
    got = [as_plain(deserialize(m.value(), SerializationContext(topic, MessageField.VALUE))) for m in messages]
    want = dry_run(pfad, *args)
    key = lambda r: r["event_id"]  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)
    # The schema was registered under the topic-name strategy subject.
    latest = registry.get_latest_version(f"{topic}-value")
    assert fastavro.parse_schema(json.loads(latest.schema.schema_str))["name"].endswith("user_interactions")


def test_avro_bodies_are_byte_identical_to_fastavro(pfad, kafka_env, registry_env, topic):
    args = ["--topic", topic, "--seed", "5", "--count", "500", "--start-time", START]
    assert pfad.run("produce", *args, env=produce_env(kafka_env, registry_env)).code == 0
    want = {r["event_id"]: r for r in dry_run(pfad, *args)}
    schema = fastavro.parse_schema(json.loads(SCHEMA_TEXT))
    messages = consume_all(kafka_env["PFAD_KAFKA_BOOTSTRAP"], topic, 500)
    assert len(messages) == 500
    for m in messages:
        value = m.value()
        assert value[0] == 0  # Confluent magic byte
        body = value[5:]
        record = fastavro.schemaless_reader(io.BytesIO(body), schema, None)
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, want[str(record["event_id"])])
        assert buf.getvalue() == body


def test_users_keep_their_partition_and_spread_over_all(pfad, kafka_env, registry_env, topic):
    run = pfad.run("produce", "--topic", topic, "--seed", "9", "--count", "20000", "--workers", "2",
                   env=produce_env(kafka_env, registry_env))
    assert run.code == 0, run.stderr
    messages = consume_all(kafka_env["PFAD_KAFKA_BOOTSTRAP"], topic, 20000)
    schema = fastavro.parse_schema(json.loads(SCHEMA_TEXT))
    partitions_of = defaultdict(set)
    for m in messages:
        user = str(fastavro.schemaless_reader(io.BytesIO(m.value()[5:]), schema, None)["user_id"])
        assert m.key() == uuid.UUID(user).bytes  # key = the 16 raw bytes of user_id
        partitions_of[user].add(m.partition())
    assert all(len(p) == 1 for p in partitions_of.values())
    assert Counter(next(iter(p)) for p in partitions_of.values()).keys() == set(range(6))


@pytest.mark.tsan
def test_broker_restart_loses_nothing_duplicates_nothing(pfad, kafka_env, registry_env, topic):
    count = 60000
    proc = subprocess.Popen([str(pfad.binary), "produce", "--topic", topic, "--seed", "3", "--count", str(count),
                             "--rate", "10000", "--json"], env={**pfad.env, **produce_env(kafka_env, registry_env)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        subprocess.run([str(ROOT / "scripts/services/kafka.sh"), "stop"], check=True)
        time.sleep(3)
        subprocess.run([str(ROOT / "scripts/services/kafka.sh"), "start"], check=True)
        out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out)["delivered"] == count
    messages = consume_all(kafka_env["PFAD_KAFKA_BOOTSTRAP"], topic, count, timeout=120)
    schema = fastavro.parse_schema(json.loads(SCHEMA_TEXT))
    ids = Counter(str(fastavro.schemaless_reader(io.BytesIO(m.value()[5:]), schema, None)["event_id"])
                  for m in messages)
    assert len(ids) == count, "events lost"
    assert max(ids.values()) == 1, "events duplicated"


@pytest.mark.tsan
def test_sigint_flushes_reports_and_exits_0(pfad, kafka_env, registry_env, topic):
    proc = subprocess.Popen([str(pfad.binary), "produce", "--topic", topic, "--rate", "2000", "--json"],
                            env={**pfad.env, **produce_env(kafka_env, registry_env)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    stats = json.loads(out)
    assert stats["generated"] > 0 and stats["delivered"] == stats["generated"] and stats["failed"] == 0
    assert "events delivered" in err
    assert len(consume_all(kafka_env["PFAD_KAFKA_BOOTSTRAP"], topic, stats["delivered"])) == stats["delivered"]


def test_serves_its_metrics_and_health_while_running(pfad, kafka_env, registry_env, topic):
    port = free_port()
    proc = subprocess.Popen([str(pfad.binary), "produce", "--topic", topic, "--rate", "2000", "--json",
                             "--metrics-port", str(port)],
                            env={**pfad.env, **produce_env(kafka_env, registry_env)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def delivered(text: str) -> float:
            found = re.search(r"^pfad_produce_events_delivered_total (\S+)$", text, re.M)
            return float(found.group(1)) if found else 0

        metrics, deadline = "", time.monotonic() + 30
        while delivered(metrics) == 0:
            assert time.monotonic() < deadline, metrics
            assert proc.poll() is None, proc.communicate()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as res:
                    metrics = res.read().decode()
            except OSError:
                pass
            time.sleep(0.3)
        assert 'pfad_build_info{command="produce",version="' in metrics, metrics
        assert "pfad_produce_delivery_latency_seconds_count" in metrics, metrics
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as res:
            health = json.loads(res.read())
        assert health["status"] == "ready" and health["checks"]["kafka"]["ready"], health
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    stats = json.loads(out)
    assert stats["delivered"] == stats["generated"] > 0
    assert err.splitlines()[0].startswith("20") and "produce starting, pid" in err.splitlines()[0], err[:300]


def test_unreachable_broker_is_a_clear_error(pfad, registry_env, topic):
    run = pfad.run("produce", "--topic", topic, "--count", "10", "--bootstrap", "127.0.0.1:1",
                   "--connect-timeout", "2", env={"PFAD_REGISTRY_URL": registry_env["PFAD_REGISTRY_URL"]}, timeout=30)
    assert run.code == 4
    assert "cannot reach Kafka at 127.0.0.1:1" in run.stderr


def test_unreachable_registry_is_a_clear_error(pfad, kafka_env, topic):
    run = pfad.run("produce", "--topic", topic, "--count", "10", "--registry", "http://127.0.0.1:1",
                   env={"PFAD_KAFKA_BOOTSTRAP": kafka_env["PFAD_KAFKA_BOOTSTRAP"]}, timeout=30)
    assert run.code == 4
    assert "schema registry at http://127.0.0.1:1 did not answer" in run.stderr


def test_bad_property_and_missing_topic_send_nothing(pfad, kafka_env, registry_env, topic):
    env = produce_env(kafka_env, registry_env)
    bad = pfad.run("produce", "--topic", topic, "--count", "10", "-X", "linger.ms=soon", env=env)
    assert bad.code == 3 and "linger.ms" in bad.stderr
    missing = pfad.run("produce", "--topic", topic + "-absent", "--count", "10", "--connect-timeout", "3", env=env)
    assert missing.code == 4 and "has no topic" in missing.stderr
    assert consume_all(kafka_env["PFAD_KAFKA_BOOTSTRAP"], topic, 0, timeout=3) == []


def test_fraud_labels_go_to_the_labels_topic_created_when_missing(pfad, kafka_env, registry_env, topic):
    env = produce_env(kafka_env, registry_env)
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    args = ("produce", "--topic", topic, "--count", "30000", "--start-time", START, "--minutes", "5",
            "--fraud", "0.1", "--json", "--connect-timeout", "3")
    labels_topic = f"{topic}.labels"
    # A broker that refuses to create it (one broker, replication 3): exit 4 naming it, nothing sent.
    refused = pfad.run(*args, env={**env, "PFAD_TOPIC_REPLICATION_FACTOR": "3"})
    assert refused.code == 4 and f"has no topic '{labels_topic}' and refused to create it" in refused.stderr, \
        refused.stderr
    assert consume_all(bootstrap, topic, 0, timeout=3) == []
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        run = pfad.run(*args, env=env)
        assert run.code == 0, run.stderr
        topics = admin.list_topics(timeout=10).topics
        assert len(topics[labels_topic].partitions) == len(topics[topic].partitions), "as many as the event topic"
        stats = json.loads(run.stdout)
        assert stats["delivered"] == 30000 and stats["labels_delivered"] > 0
        labels = [json.loads(m.value()) for m in consume_all(bootstrap, labels_topic, stats["labels_delivered"])]
        assert len(labels) == stats["labels_delivered"]
        assert {tuple(sorted(label)) for label in labels} == {
            ("entity_id", "entity_kind", "first_ms", "last_ms", "scenario")}
        assert len({(label["entity_kind"], label["entity_id"]) for label in labels}) == len(labels)
    finally:
        admin.delete_topics([labels_topic])[labels_topic].result(timeout=30)
