"""The peer producer, written the way the reference producer is: confluent-kafka's
SerializingProducer with AvroSerializer and the same generator distributions, in a
tight loop (no sleep between events), one process per worker.

  python python_producer.py <bootstrap> <registry> <topic> <count> <workers> [<extra properties as JSON>]

Prints one JSON line: {"delivered": N, "failed": F, "seconds": S}.
"""
import json
import multiprocessing as mp
import random
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer

SCHEMA = (Path(__file__).resolve().parents[1] / "schemas/user_interactions.avsc").read_text()
TYPES = ["VIEW_PRODUCT", "ADD_TO_CART", "CHECKOUT", "PAYMENT", "SEARCH"]


def worker(bootstrap, registry_url, topic, count, extra, out):
    serializer = AvroSerializer(SchemaRegistryClient({"url": registry_url}), SCHEMA)
    producer = SerializingProducer({
        "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "compression.type": "snappy",
        "batch.size": 32768, "linger.ms": 20, "value.serializer": serializer,
        "key.serializer": lambda k, ctx: k.bytes, **extra})
    stats = {"delivered": 0, "failed": 0}

    def on_delivery(err, msg):
        stats["failed" if err else "delivered"] += 1

    error_rate = random.uniform(0, 0.5)
    user, session = uuid.uuid4(), uuid.uuid4()
    for _ in range(count):
        error = random.random() < error_rate
        event_type = random.choice(TYPES)
        event = {
            "event_id": str(uuid.uuid4()), "user_id": str(user), "session_id": str(session),
            "event_type": event_type, "event_timestamp": int(time.time() * 1000),
            "request_latency_ms": random.randint(50, 1500), "status": "ERROR" if error else "SUCCESS",
            "error_code": random.randint(400, 599) if error else None,
            "product_id": random.randint(1, 10000) if event_type in ("VIEW_PRODUCT", "ADD_TO_CART") else None,
        }
        while True:
            try:
                producer.produce(topic=topic, key=user, value=event, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        if random.random() < 0.01:
            user, session = uuid.uuid4(), uuid.uuid4()
    producer.flush()
    out.put(stats)


def main():
    bootstrap, registry_url, topic, count, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    extra = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    out = mp.Queue()
    start = time.perf_counter()
    procs = [mp.Process(target=worker, args=(bootstrap, registry_url, topic, count // workers, extra, out))
             for _ in range(workers)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    seconds = time.perf_counter() - start
    print(json.dumps({"delivered": sum(r["delivered"] for r in results),
                      "failed": sum(r["failed"] for r in results), "seconds": seconds}))


if __name__ == "__main__":
    main()
