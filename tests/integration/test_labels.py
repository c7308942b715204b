"""`pfad labels consume` against real Kafka and MinIO: every label of the labels topic lands in
the labels store once (as read: one row per ref), bad labels go to the DLQ with their headers,
kill -9 in the middle of a backlog loses and doubles nothing, and the dashboard's review verdicts
become labels."""
from __future__ import annotations

import json
import random
import time
import uuid

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import LoggedProcess, wait_for_log
from kafka_util import START, START_MS, consume_raw, create_topics, delete_topics, kafka_envs


@pytest.fixture
def labels_topic(kafka_env):
    """A fresh events topic name whose <topic>.labels (3 partitions) exists; both removed afterwards."""
    topic = f"pfad-labels-{uuid.uuid4().hex[:10]}"
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    yield topic, bootstrap
    delete_topics(bootstrap, [topic, f"{topic}.labels", f"{topic}.labels.dlq"])


def consume_args(topic: str, bootstrap: str, labels: str, *extra: str) -> list[str]:
    """pfad labels consume's flags, in a consumer group of the test's own."""
    return ["labels", "consume", "--topic", topic, "--bootstrap", bootstrap, "--labels", labels,
            "--group", group_of(topic), *extra]


def group_of(topic: str) -> str:
    return f"g-{topic}"


def stored_labels(s3: pafs.S3FileSystem, root: str) -> list[dict]:
    """Every row of every object under `root` (bucket/prefix), duplicates included."""
    rows = []
    for info in s3.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)):
        if info.path.endswith(".parquet"):
            rows += pq.read_table(info.path, filesystem=s3).to_pylist()
    return rows


def by_ref(rows: list[dict]) -> dict[str, dict]:
    """One row per ref, as the store's readers keep them; a ref stored twice must be the same label."""
    out = {}
    for row in rows:
        if row["ref"] in out:
            assert out[row["ref"]] == row, f"ref {row['ref']} stored as two different labels"
        out[row["ref"]] = row
    return out


def topic_labels(bootstrap: str, topic: str, partitions: int, expected: int | None = None) -> dict[str, dict]:
    """ref -> label JSON of every message of the labels topic."""
    messages = consume_raw(bootstrap, topic, partitions, expected=expected, timeout=120)
    return {f"{topic}/{m.partition()}/{m.offset()}": json.loads(m.value()) for m in messages}


def assert_same_labels(stored: dict[str, dict], sent: dict[str, dict]) -> None:
    missing = set(sent) - set(stored)
    extra = set(stored) - set(sent)
    assert not missing and not extra, f"{len(missing)} labels missing (e.g. {sorted(missing)[:3]}), {len(extra)} extra"
    for ref, label in sent.items():
        row = stored[ref]
        assert (row["entity_kind"], row["entity_id"], row["first_ms"], row["last_ms"]) == \
            (label["entity_kind"], label["entity_id"], label["first_ms"], label["last_ms"]), ref
        assert row["scenario"] == label.get("scenario", label.get("label")), ref


def test_every_produced_label_is_stored_once(pfad_s3, kafka_env, registry_env, labels_topic, bucket, s3):
    topic, bootstrap = labels_topic
    create_topics(bootstrap, {topic: 3})
    env = kafka_envs(kafka_env, registry_env)
    run = pfad_s3.run("produce", "--topic", topic, "--count", "40000", "--start-time", START, "--minutes", "3",
                      "--fraud", "0.1", "--rate", "10000", "--json", env=env, timeout=120)
    assert run.code == 0, run.stderr
    produced = json.loads(run.stdout)["labels_delivered"]
    assert produced > 100

    consume = pfad_s3.run(*consume_args(topic, bootstrap, f"s3://{bucket}/labels", "--once", "--json",
                                        "--batch-messages", "500"), timeout=120)
    assert consume.code == 0, consume.stderr
    stats = json.loads(consume.stdout)
    assert stats["messages"] == produced and stats["labels_written"] == produced and stats["dlq"] == 0
    assert "batch messages=" in consume.stderr and "final messages=" in consume.stderr

    sent = topic_labels(bootstrap, f"{topic}.labels", 3, expected=produced)
    assert len(sent) == produced
    rows = stored_labels(s3, f"{bucket}/labels")
    assert len(rows) == produced, "one run, one row per label"
    stored = by_ref(rows)
    assert_same_labels(stored, sent)
    assert {r["source"] for r in rows} == {"kafka"}
    day = time.strftime("%Y-%m-%d", time.gmtime(START_MS / 1000))
    names = [i.base_name for i in s3.get_file_info(pafs.FileSelector(f"{bucket}/labels", recursive=True))
             if i.type == pafs.FileType.File]
    assert all(n.startswith("kafka-") for n in names), names
    assert {i.path.split("/")[2] for i in s3.get_file_info(pafs.FileSelector(f"{bucket}/labels"))} <= {
        day, time.strftime("%Y-%m-%d", time.gmtime(START_MS / 1000 + 86400))}

    # Committed: run again, nothing is read or written.
    again = pfad_s3.run(*consume_args(topic, bootstrap, f"s3://{bucket}/labels", "--once", "--json"), timeout=60)
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["messages"] == 0
    assert len(stored_labels(s3, f"{bucket}/labels")) == produced

    # A crash after every write and before every commit: the group's offsets back at the start.
    # The next run writes it all again, in other batches; every label still counts once.
    rewind = Consumer({"bootstrap.servers": bootstrap, "group.id": group_of(topic)})
    rewind.commit(offsets=[TopicPartition(f"{topic}.labels", p, 0) for p in range(3)], asynchronous=False)
    rewind.close()
    rerun = pfad_s3.run(*consume_args(topic, bootstrap, f"s3://{bucket}/labels", "--once", "--json",
                                      "--batch-messages", "7"), timeout=120)
    assert rerun.code == 0, rerun.stderr
    assert json.loads(rerun.stdout)["labels_written"] == produced
    rows = stored_labels(s3, f"{bucket}/labels")
    # Objects are named after both ends of their offsets: the rerun's smaller batches add objects
    # beside the first run's and never replace (shrink) one of them.
    assert len(rows) == 2 * produced
    assert_same_labels(by_ref(rows), sent)


def test_bad_labels_go_to_the_dlq_with_headers_and_the_rest_is_stored(pfad_s3, labels_topic, bucket, s3):
    topic, bootstrap = labels_topic
    create_topics(bootstrap, {f"{topic}.labels": 1})
    entity = str(uuid.uuid4())
    good = {"entity_kind": "user", "entity_id": entity, "label": "fraud", "first_ms": START_MS,
            "labelled_at": START_MS + 5000, "source": "chargebacks"}
    values = [json.dumps(good).encode(), b"not json {",
              json.dumps({**good, "entity_kind": "product"}).encode(),
              json.dumps({k: v for k, v in good.items() if k != "entity_id"}).encode(),
              json.dumps({**good, "entity_id": str(uuid.uuid4()), "label": "not_fraud"}).encode()]
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i, value in enumerate(values):
        producer.produce(f"{topic}.labels", key=f"k{i}".encode(), value=value, partition=0)
    assert producer.flush(30) == 0

    run = pfad_s3.run(*consume_args(topic, bootstrap, f"s3://{bucket}/labels", "--once", "--json"), timeout=60)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["dlq"] == 3

    stored = by_ref(stored_labels(s3, f"{bucket}/labels"))
    assert set(stored) == {f"{topic}.labels/0/0", f"{topic}.labels/0/4"}
    first = stored[f"{topic}.labels/0/0"]
    assert (first["scenario"], first["source"], first["labelled_at"], first["last_ms"]) == \
        ("fraud", "chargebacks", START_MS + 5000, START_MS)
    assert stored[f"{topic}.labels/0/4"]["scenario"] == "not_fraud"

    dlq = consume_raw(bootstrap, f"{topic}.labels.dlq", 1, expected=3)
    assert [m.value() for m in dlq] == values[1:4]
    assert [m.key() for m in dlq] == [b"k1", b"k2", b"k3"]
    for m, offset, word in zip(dlq, (1, 2, 3), ("JSON", "product", "entity_id")):
        headers = {k: v.decode() for k, v in m.headers()}
        assert headers["pfad.error.kind"] == "invalid-label"
        assert word in headers["pfad.error"], headers["pfad.error"]
        assert headers["pfad.source.topic"] == f"{topic}.labels"
        assert headers["pfad.source.partition"] == "0"
        assert headers["pfad.source.offset"] == str(offset)
        assert int(headers["pfad.source.timestamp"]) > 0


def send_labels(bootstrap: str, topic: str, count: int) -> None:
    """`count` labels in the external form (label, optional last_ms), spread over the partitions."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20,
                         "queue.buffering.max.messages": 500000})
    rng = random.Random(7)
    for i in range(count):
        first = START_MS + rng.randrange(0, 3 * 86_400_000)
        label = {"entity_kind": "session" if i % 3 else "user", "entity_id": str(uuid.UUID(int=rng.getrandbits(128))),
                 "label": rng.choice(["fraud", "not_fraud", "bot", "card_testing"]), "first_ms": first,
                 "last_ms": first + rng.randrange(0, 600_000)}
        while True:
            try:
                producer.produce(topic, key=label["entity_id"].encode(), value=json.dumps(label).encode())
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0


@pytest.mark.release_only  # the consumer runs under ASan in the other tests of this file; 200,000 labels nine times are the CI budget's
def test_every_label_once_when_killed_nine_times_over(pfad_s3, labels_topic, bucket, s3, tmp_path):
    """200,000 labels in the topic; the consumer is killed with SIGKILL at random moments while it
    works through them and restarted each time, then runs until caught up."""
    topic, bootstrap = labels_topic
    labels = f"{topic}.labels"
    create_topics(bootstrap, {labels: 3})
    count = 200_000
    send_labels(bootstrap, labels, count)
    # Restarted as the same static member (as a supervisor restarts it), each run takes the
    # partitions back at once, so every kill lands while labels are being taken.
    args = consume_args(topic, bootstrap, f"s3://{bucket}/labels", "--batch-messages", "2000",
                        "-X", "group.instance.id=labels-1", "-X", "session.timeout.ms=10000")
    rng = random.Random(3)
    log = tmp_path / "labels.log"
    kills = 0
    for _ in range(7):
        run = LoggedProcess([pfad_s3.binary, *args], pfad_s3.env, log)
        wait_for_log(run, "assigned partitions=", timeout=60)
        time.sleep(rng.uniform(0.3, 1.5))
        if run.proc.poll() is not None:
            break
        run.kill9()
        kills += 1
    assert kills >= 5
    final = LoggedProcess([pfad_s3.binary, *args, "--once"], pfad_s3.env, log)
    assert final.wait(timeout=300) == 0, final.output()[-3000:]
    output = final.output()
    killed, _, last = output.rpartition("consuming topic=")
    assert killed.count("batch messages=") >= kills, "the killed runs wrote batches before they died"
    final_read = int(last.split("final messages=")[1].split()[0])
    assert 0 < final_read < count, "the killed runs committed some of the backlog, not all of it"

    sent = topic_labels(bootstrap, labels, 3, expected=count)
    assert len(sent) == count
    rows = stored_labels(s3, f"{bucket}/labels")
    stored = by_ref(rows)
    assert_same_labels(stored, sent)
    assert len(rows) >= count  # batches written again after a kill are rows with refs already stored


class ReviewDashboard:
    """`pfad dashboard` on a free port with a write token, for its investigations and /reviews."""

    def __init__(self, pfad, tmp_path, token: str):
        from test_dashboard import REPORT, Dashboard  # noqa: PLC0415 - the dashboard tests' runner

        self.dashboard = Dashboard(pfad, tmp_path / "dashboard.db", env={"PFAD_DASHBOARD_TOKEN": token})
        self.token = token
        self.report = REPORT

    def call(self, method: str, path: str, body: dict | None = None):
        return self.dashboard.call(method, path, body, headers={"Authorization": f"Bearer {self.token}"})

    def investigate(self, minute: str, entities: list[str], first_ms: int, last_ms: int) -> None:
        """A report whose fraud object flags these users (what an analyst then reviews)."""
        doc = json.loads(json.dumps(self.report))
        doc["report"]["file_name"] = f"{minute}.json"
        doc["report"]["fraud"] = {"status": "scored", "investigations": [
            {"entity_kind": "user", "entity_id": e, "minute": minute, "fraud_score": 0.9, "threshold": 0.5,
             "is_fraud": True, "model": "trees_graph v1", "first_ms": first_ms, "last_ms": last_ms, "why": [],
             "events": [], "neighbours": {"nodes": [], "links": []}} for e in entities]}
        status, body = self.call("POST", "/report", doc)
        assert status == 200, body

    def review(self, entity: str, verdict: str, note: str) -> int:
        status, body = self.call("POST", "/reviews", {"entity_kind": "user", "entity_id": entity,
                                                       "verdict": verdict, "note": note})
        assert status in (200, 201), body
        return body["id"]


def test_review_verdicts_become_labels_and_resume_after_the_last(pfad, pfad_s3, labels_topic, bucket, s3, tmp_path):
    topic, bootstrap = labels_topic
    create_topics(bootstrap, {f"{topic}.labels": 1})
    token = uuid.uuid4().hex
    dashboard = ReviewDashboard(pfad, tmp_path, token)
    try:
        status, _ = dashboard.call("GET", "/reviews?after=0&limit=10")
        if status == 404:
            pytest.skip("needs the dashboard's /reviews route (analyst-dashboard branch)")
        entities = [str(uuid.uuid4()) for _ in range(3)]
        dashboard.investigate("2025-01-15_10-05", entities, START_MS + 300_000, START_MS + 359_000)
        for entity, verdict in zip(entities, ["fraud", "not_fraud", "fraud"]):
            dashboard.review(entity, verdict, "test")
        args = consume_args(topic, bootstrap, f"s3://{bucket}/labels", "--once", "--json", "--dashboard",
                            dashboard.dashboard.base)
        run = pfad_s3.run(*args, env={"PFAD_DASHBOARD_TOKEN": token}, timeout=60)
        assert run.code == 0, run.stderr
        assert json.loads(run.stdout)["reviews"] == 3
        _, listed = dashboard.call("GET", "/reviews?after=0&limit=10")
        stored = by_ref(stored_labels(s3, f"{bucket}/labels"))
        assert set(stored) == {f"review/{r['id']}" for r in listed["reviews"]}
        for review in listed["reviews"]:
            row = stored[f"review/{review['id']}"]
            assert (row["entity_id"], row["scenario"], row["source"], row["labelled_at"]) == \
                (review["entity_id"], review["verdict"], "review", review["reviewed_ms"])
            assert (row["first_ms"], row["last_ms"]) == (START_MS + 300_000, START_MS + 359_000)

        # A restart takes only the reviews after the last one stored; the newer verdict stands.
        overruled = dashboard.review(entities[0], "not_fraud", "overruled")
        again = pfad_s3.run(*args, env={"PFAD_DASHBOARD_TOKEN": token}, timeout=60)
        assert again.code == 0, again.stderr
        assert json.loads(again.stdout)["reviews"] == 1
        stored = by_ref(stored_labels(s3, f"{bucket}/labels"))
        assert len(stored) == 4 and stored[f"review/{overruled}"]["scenario"] == "not_fraud"
    finally:
        assert dashboard.dashboard.stop() == 0


def test_an_unreachable_dashboard_is_retried_not_fatal(pfad_s3, labels_topic, bucket, s3, tmp_path):
    from conftest import free_port  # noqa: PLC0415

    topic, bootstrap = labels_topic
    create_topics(bootstrap, {f"{topic}.labels": 1})
    send_labels(bootstrap, f"{topic}.labels", 10)
    run = LoggedProcess([pfad_s3.binary, *consume_args(topic, bootstrap, f"s3://{bucket}/labels", "--dashboard",
                                                       f"http://127.0.0.1:{free_port()}", "--review-poll-ms", "200")],
                        pfad_s3.env, tmp_path / "labels.log")
    wait_for_log(run, "batch messages=10", timeout=60)
    wait_for_log(run, "reviews: cannot take them", timeout=30)
    time.sleep(2)
    assert run.stop() == 0, run.output()[-3000:]  # SIGTERM: exit 0
    assert run.output().count("reviews: cannot take them") == 1, "logged once a minute, not at every poll"
    assert len(by_ref(stored_labels(s3, f"{bucket}/labels"))) == 10


def test_start_errors_are_clear_and_leave_nothing_behind(pfad, pfad_s3, labels_topic, bucket):
    from confluent_kafka.admin import AdminClient  # noqa: PLC0415

    topic, bootstrap = labels_topic
    no_store = pfad.run("labels", "consume", "--topic", topic, "--bootstrap", bootstrap,
                        env={"PFAD_LABELS_PREFIX": ""})
    assert no_store.code == 3 and "--labels" in no_store.stderr, no_store.stderr
    no_topic = pfad_s3.run(*consume_args(topic, bootstrap, f"s3://{bucket}/labels", "--once",
                                         "--connect-timeout", "2"))
    assert no_topic.code == 4 and f"no topic '{topic}.labels'" in no_topic.stderr, no_topic.stderr
    create_topics(bootstrap, {f"{topic}.labels": 1})
    no_bucket = pfad_s3.run(*consume_args(topic, bootstrap, f"s3://{bucket}-absent/labels", "--once",
                                          "--connect-timeout", "2"))
    assert no_bucket.code == 4 and f"bucket '{bucket}-absent' does not exist" in no_bucket.stderr, no_bucket.stderr
    topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
    assert f"{topic}.labels.dlq" not in topics, "a failed start created the DLQ topic"
