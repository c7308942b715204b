"""The peer of `pfad labels consume --once` in the analyst benchmark (bench/analyst_bench.py):
a confluent-kafka consumer of the labels topic written the way the reference stack would. It
reads batches of up to 10,000 messages, parses each JSON label (entity_kind, entity_id, scenario,
first_ms, last_ms), writes each batch as one Parquet object with pyarrow, then commits the
batch's offsets; it exits once it has <labels> labels. Prints one JSON line.

  python python_labels_consumer.py <bootstrap> <labels topic> <labels> <out dir>
"""
import json
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from confluent_kafka import Consumer

SCHEMA = pa.schema([("entity_kind", pa.string()), ("entity_id", pa.string()), ("scenario", pa.string()),
                    ("first_ms", pa.int64()), ("last_ms", pa.int64())])


def main():
    bootstrap, topic, wanted, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    started = time.monotonic()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"py-labels-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    count, objects, first = 0, 0, None
    while count < wanted:
        batch = [m for m in consumer.consume(10_000, timeout=1.0) if not m.error()]
        if not batch:
            continue
        first = first or time.monotonic()
        rows = [json.loads(m.value()) for m in batch]
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), out / f"labels-{objects:05d}.parquet")
        consumer.commit(asynchronous=False)
        count += len(rows)
        objects += 1
    consumer.close()
    done = time.monotonic()
    print(json.dumps({"labels": count, "objects": objects, "seconds": done - started,
                      "seconds_from_first": done - first}))


if __name__ == "__main__":
    main()
