"""The peer producer, written the way the reference producer is: confluent-kafka's
SerializingProducer with AvroSerializer and the reference generator's event function
(str Enums, per-event error probability), in a tight loop (the reference's
poll(0.01) sleep between events left out), one process per worker.

  python python_producer.py <bootstrap> <registry> <topic> <count> <workers> [<extra properties as JSON>] [<rate>]

<rate>: events/s over all workers, paced like `pfad produce --rate` (default: as fast as possible).

Prints one JSON line: {"delivered": N, "failed": F, "seconds": S}.
"""
import json
import multiprocessing as mp
import random
import sys
import time
import uuid
from enum import Enum
from pathlib import Path

from confluent_kafka import SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer

SCHEMA = (Path(__file__).resolve().parents[1] / "schemas/user_interactions.avsc").read_text()


# As in the reference producer: the enums are str-valued Enum classes, each event draws
# its own error probability from uniform(0, 0.5), and the key serializer checks its type.
class EventType(str, Enum):
    ADD_TO_CART = "ADD_TO_CART"
    CHECKOUT = "CHECKOUT"
    PAYMENT = "PAYMENT"
    SEARCH = "SEARCH"
    VIEW_PRODUCT = "VIEW_PRODUCT"


class Status(str, Enum):
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"


def key_bytes(key, _ctx):
    if not isinstance(key, uuid.UUID):
        raise TypeError(f"expected a UUID key, got {type(key)}")
    return key.bytes


def make_event(user, session) -> dict:
    error_probability = random.uniform(0, 0.5)
    error = random.random() < error_probability
    event_type = random.choice(list(EventType))
    return {
        "event_id": str(uuid.uuid4()), "user_id": str(user), "session_id": str(session),
        "event_type": event_type, "event_timestamp": int(time.time() * 1000),
        "request_latency_ms": random.randint(50, 1500), "status": Status.ERROR if error else Status.SUCCESS,
        "error_code": random.randint(400, 599) if error else None,
        "product_id": random.randint(1, 10000) if event_type in {EventType.VIEW_PRODUCT, EventType.ADD_TO_CART}
        else None,
    }


def worker(bootstrap, registry_url, topic, count, extra, rate, out):
    serializer = AvroSerializer(SchemaRegistryClient({"url": registry_url, "timeout": 30}), SCHEMA)
    producer = SerializingProducer({
        "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "compression.type": "snappy",
        "batch.size": 32768, "linger.ms": 20, "value.serializer": serializer, "key.serializer": key_bytes, **extra})
    stats = {"delivered": 0, "failed": 0}

    def on_delivery(err, msg):
        stats["failed" if err else "delivered"] += 1

    user, session = uuid.uuid4(), uuid.uuid4()
    started = time.monotonic()
    for i in range(count):
        while rate and time.monotonic() < started + i / rate:
            producer.poll(min(0.005, max(0.0, started + i / rate - time.monotonic())))
        event = make_event(user, session)
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
    rate = float(sys.argv[7]) / workers if len(sys.argv) > 7 else 0
    out = mp.Queue()
    start = time.perf_counter()
    procs = [mp.Process(target=worker, args=(bootstrap, registry_url, topic, count // workers, extra, rate, out))
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
