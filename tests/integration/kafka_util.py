"""Kafka helpers shared by the integration tests: throw-away topics, raw
consumption, and events in the Confluent wire format written by Python."""
from __future__ import annotations

import io
import json
import struct
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import ROOT

SCHEMA_TEXT = (ROOT / "schemas/user_interactions.avsc").read_text()
TEHRAN = ZoneInfo("Asia/Tehran")


def parsed_schema(text: str = SCHEMA_TEXT):
    return fastavro.parse_schema(json.loads(text))


def minute_name(epoch_ms: int) -> str:
    """The Asia/Tehran minute of an instant, as the object stem."""
    return datetime.fromtimestamp(epoch_ms / 1000, TEHRAN).strftime("%Y-%m-%d_%H-%M")


def create_topics(bootstrap: str, spec: dict[str, int]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=n, replication_factor=1) for name, n in spec.items()])
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
