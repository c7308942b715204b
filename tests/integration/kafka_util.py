"""Kafka helpers shared by the integration tests: throw-away topics, raw
consumption, events in the Confluent wire format written by Python, and the
ingester under test with the exactly-once check of what it stored."""
from __future__ import annotations

import io
import json
import struct
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import fastavro
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import ROOT, LoggedProcess

SCHEMA_TEXT = (ROOT / "schemas/user_interactions.avsc").read_text()
TEHRAN = ZoneInfo("Asia/Tehran")
START = "2025-01-15 10:00"
START_MS = 1736922600000  # 2025-01-15 10:00 Asia/Tehran


def parsed_schema(text: str = SCHEMA_TEXT):
    return fastavro.parse_schema(json.loads(text))


def minute_name(epoch_ms: int) -> str:
    """The Asia/Tehran minute of an instant, as the object stem."""
    return datetime.fromtimestamp(epoch_ms / 1000, TEHRAN).strftime("%Y-%m-%d_%H-%M")


def create_topics(bootstrap: str, spec: dict[str, int], replication_factor: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=n, replication_factor=replication_factor)
                                   for name, n in spec.items()])
    for f in futures.values():
        f.result(timeout=30)


def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.delete_topics(names).values():
        try:
            f.result(timeout=30)
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


def consume_raw(bootstrap: str, topic: str, partitions: int, expected: int | None = None,
                timeout: float = 60, quiet: float = 2.0) -> list:
    """Every message of the topic, read from the start until `expected` arrived (if
    given) and nothing more came for `quiet` seconds."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    messages, deadline, last = [], time.monotonic() + timeout, time.monotonic()
    while time.monotonic() < deadline:
        batch = consumer.consume(10000, timeout=0.3)
        for m in batch:
            assert m.error() is None, m.error()
        messages += batch
        if batch:
            last = time.monotonic()
        elif (expected is None or len(messages) >= expected) and time.monotonic() - last > quiet:
            break
    consumer.close()
    return messages


def frame(schema_id: int, record: dict, schema=None) -> bytes:
    """Confluent wire format: 0x00, big-endian schema id, Avro body."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema or parsed_schema(), record)
    return b"\0" + struct.pack(">I", schema_id) + body.getvalue()


def decode(value: bytes, schema=None) -> dict:
    """A framed event as plain values: UUIDs as text, the timestamp as epoch ms."""
    record = fastavro.schemaless_reader(io.BytesIO(value[5:]), schema or parsed_schema())
    for key, v in record.items():
        if isinstance(v, uuid.UUID):
            record[key] = str(v)
        elif isinstance(v, datetime):
            record[key] = int(v.timestamp() * 1000) if v.microsecond % 1000 == 0 else round(v.timestamp() * 1000)
    return record


def make_event(ts_ms: int, **overrides) -> dict:
    event = {"event_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()),
             "event_type": "VIEW_PRODUCT", "event_timestamp": ts_ms, "request_latency_ms": 120,
             "status": "SUCCESS", "error_code": None, "product_id": 7}
    event.update(overrides)
    return event


def common_args(topic: str, sink: str, group: str) -> list[str]:
    """pfad ingest's flags for the tests: short grace and idle timeout, small row groups."""
    # Small row groups: open minutes are encoded ahead many times over (StagedObject) in every test.
    return ["--topic", topic, "--group", group, "--sink", sink, "--grace", "1", "--idle-timeout", "2",
            "--row-group-rows", "4096"]


def kafka_envs(kafka_env, registry_env) -> dict[str, str]:
    return {"PFAD_KAFKA_BOOTSTRAP": kafka_env["PFAD_KAFKA_BOOTSTRAP"],
            "PFAD_REGISTRY_URL": registry_env["PFAD_REGISTRY_URL"]}


class Ingester(LoggedProcess):
    """One `pfad ingest` process, its output kept in a log file."""

    def __init__(self, pfad, env: dict[str, str], args: list[str], log: Path):
        super().__init__([pfad.binary, "ingest", *args], {**pfad.env, **env}, log)


def produced(kafka_env, topic: str, partitions: int, expected: int) -> dict[str, int]:
    """event_id -> event_timestamp of every message in the topic (the produced set)."""
    messages = consume_raw(kafka_env["PFAD_KAFKA_BOOTSTRAP"], topic, partitions, expected=expected, timeout=120)
    events = {}
    for m in messages:
        record = decode(m.value())
        assert record["event_id"] not in events, "the producer sent an event twice"
        events[record["event_id"]] = record["event_timestamp"]
    assert len(events) == expected
    return events


def stored(s3: pafs.S3FileSystem, bucket: str) -> list[tuple[str, str, int]]:
    """(object stem, event_id, event_timestamp ms) of every row of every object in the bucket."""
    rows = []
    for info in s3.get_file_info(pafs.FileSelector(bucket, recursive=True)):
        if not info.path.endswith(".parquet"):
            continue
        table = pq.read_table(info.path, filesystem=s3)
        stem = info.base_name.removesuffix(".parquet")
        ts = table.column("event_timestamp").cast("int64").to_pylist()
        rows += [(stem, event_id, t) for event_id, t in zip(table.column("event_id").to_pylist(), ts)]
    return rows


def assert_exactly_once(rows: list[tuple[str, str, int]], expected: dict[str, int]) -> None:
    counts = Counter(event_id for _, event_id, _ in rows)
    duplicated = [e for e, n in counts.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} events stored more than once, e.g. {duplicated[:3]}"
    missing = set(expected) - set(counts)
    assert not missing, f"{len(missing)} events lost, e.g. {sorted(missing)[:3]}"
    assert set(counts) == set(expected), "objects hold events nobody produced"
    wrong = [(stem, e) for stem, e, t in rows if stem != minute_name(expected[e])]
    assert not wrong, f"{len(wrong)} events in the wrong minute's object, e.g. {wrong[:3]}"


def wait_for_rows(s3, bucket: str, n: int, timeout: float, procs=()) -> list:
    deadline = time.monotonic() + timeout
    rows = []
    while time.monotonic() < deadline:
        rows = stored(s3, bucket)
        if len({e for _, e, _ in rows}) >= n:
            return rows
        for p in procs:
            assert p.proc.poll() is None, f"ingester exited early:\n{p.output()[-3000:]}"
        time.sleep(1)
    return rows
