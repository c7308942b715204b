"""The reference stack's ClickHouse path, as the peer of `pfad ingest --clickhouse`
and `pfad export` in bench/clickhouse_bench.py. Prints one JSON line.

  python python_clickhouse.py ingest <topic> <events> <database>
      confluent-kafka Consumer + AvroDeserializer, rows inserted with
      clickhouse-driver (native protocol) in batches of 50,000.
  python python_clickhouse.py export <database> <minute stem> <s3 bucket/prefix>
      clickhouse-driver query of one minute (FINAL) -> pyarrow Table -> Parquet
      written to MinIO with pyarrow's S3 filesystem.

Server and login: PFAD_CLICKHOUSE_NATIVE_PORT, PFAD_CLICKHOUSE_USER, PFAD_CLICKHOUSE_PASSWORD.
"""
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

TEHRAN = ZoneInfo("Asia/Tehran")
COLUMNS = ("event_id, user_id, session_id, event_type, event_timestamp_ms, event_time, event_minute, "
           "request_latency_ms, status, error_code, product_id")


def client():
    from clickhouse_driver import Client
    return Client("127.0.0.1", port=int(os.environ["PFAD_CLICKHOUSE_NATIVE_PORT"]),
                  user=os.environ["PFAD_CLICKHOUSE_USER"], password=os.environ["PFAD_CLICKHOUSE_PASSWORD"])


def ingest(topic: str, wanted: int, database: str) -> dict:
    from confluent_kafka import Consumer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    ch = client()
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": os.environ["PFAD_REGISTRY_URL"], "timeout": 30}),
                                    conf={"subject.name.strategy.type": "TOPIC"})
    consumer = Consumer({"bootstrap.servers": os.environ["PFAD_KAFKA_BOOTSTRAP"], "group.id": f"py-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    context = SerializationContext(topic, MessageField.VALUE)
    rows, count, start = [], 0, None

    def flush():
        ch.execute(f"INSERT INTO {database}.user_interactions ({COLUMNS}) VALUES", rows)
        consumer.commit(asynchronous=False)
        rows.clear()

    while count < wanted:
        for message in consumer.consume(1000, timeout=1.0):
            if message.error():
                continue
            start = start or time.monotonic()
            r = deserializer(message.value(), context)
            ts = r["event_timestamp"]
            ms = int(ts.timestamp() * 1000) if isinstance(ts, datetime) else ts
            when = datetime.fromtimestamp(ms / 1000, timezone.utc)
            rows.append((uuid.UUID(str(r["event_id"])), uuid.UUID(str(r["user_id"])), uuid.UUID(str(r["session_id"])),
                         r["event_type"], ms, when, when.astimezone(TEHRAN).strftime("%Y-%m-%d_%H-%M"),
                         r["request_latency_ms"], r["status"], r["error_code"], r["product_id"]))
            count += 1
            if len(rows) >= 50_000:
                flush()
    if rows:
        flush()
    seconds = time.monotonic() - start
    consumer.close()
    return {"events": count, "seconds": seconds}


def export(database: str, stem: str, dest: str) -> dict:
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    start = time.monotonic()
    data, columns = client().execute(
        "SELECT toString(event_id), toString(user_id), toString(session_id), toString(event_type), "
        "event_timestamp_ms, request_latency_ms, toString(status), error_code, product_id "
        f"FROM {database}.user_interactions FINAL WHERE event_minute = %(m)s", {"m": stem}, columnar=True,
        with_column_types=True)
    names = ["event_id", "user_id", "session_id", "event_type", "event_timestamp", "request_latency_ms", "status",
             "error_code", "product_id"]
    arrays = dict(zip(names, data))
    table = pa.table({
        "event_id": pa.array(arrays["event_id"], pa.string()),
        "user_id": pa.array(arrays["user_id"], pa.string()),
        "session_id": pa.array(arrays["session_id"], pa.string()),
        "event_type": pa.array(arrays["event_type"], pa.string()),
        "event_timestamp": pa.array(arrays["event_timestamp"], pa.int64()).cast(pa.timestamp("ms", tz="Asia/Tehran")),
        "request_latency_ms": pa.array(arrays["request_latency_ms"], pa.int32()),
        "status": pa.array(arrays["status"], pa.string()),
        "error_code": pa.array(arrays["error_code"], pa.int32()),
        "product_id": pa.array(arrays["product_id"], pa.int32()),
    })
    s3 = pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                           endpoint_override=os.environ["AWS_ENDPOINT_URL"], region="us-east-1")
    pq.write_table(table, f"{dest}/{stem}.parquet", filesystem=s3)
    return {"rows": table.num_rows, "seconds": time.monotonic() - start}


def main():
    if sys.argv[1] == "ingest":
        result = ingest(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        result = export(sys.argv[2], sys.argv[3], sys.argv[4])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
