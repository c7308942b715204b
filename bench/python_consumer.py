"""The peer of `pfad ingest` in the ingest benchmark: a consumer written the way
the reference stack would (confluent-kafka Consumer + AvroDeserializer, records
grouped by Tehran minute, each minute written with pyarrow). Prints one JSON line.

  python python_consumer.py <topic> <events> <out dir>
"""
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

TEHRAN = ZoneInfo("Asia/Tehran")


def main():
    topic, wanted, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": os.environ["PFAD_REGISTRY_URL"], "timeout": 30}),
                                    conf={"subject.name.strategy.type": "TOPIC"})
    consumer = Consumer({"bootstrap.servers": os.environ["PFAD_KAFKA_BOOTSTRAP"], "group.id": f"py-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    context = SerializationContext(topic, MessageField.VALUE)
    minutes = defaultdict(list)
    count, start = 0, None
    while count < wanted:
        for message in consumer.consume(1000, timeout=1.0):
            if message.error():
                continue
            start = start or time.monotonic()
            record = deserializer(message.value(), context)
            ts = record["event_timestamp"]
            stamp = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts / 1000, TEHRAN)
            minutes[stamp.astimezone(TEHRAN).strftime("%Y-%m-%d_%H-%M")].append(record)
            count += 1
    for name, records in minutes.items():
        for r in records:  # the Parquet contract's column types
            r["event_id"], r["user_id"], r["session_id"] = str(r["event_id"]), str(r["user_id"]), str(r["session_id"])
        pq.write_table(pa.Table.from_pylist(records), os.path.join(out, f"{name}.parquet"))
    consumer.commit(asynchronous=False)
    seconds = time.monotonic() - start
    consumer.close()
    print(json.dumps({"events": count, "seconds": seconds, "objects": len(minutes)}))


if __name__ == "__main__":
    main()
