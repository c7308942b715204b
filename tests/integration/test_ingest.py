"""`pfad ingest` against real Kafka, the schema registry and MinIO: every event
exactly once in the object of its minute, through kill -9, failover, a MinIO
outage and poison messages; objects readable by pyarrow, DuckDB and pfad analyze."""
from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import time
import urllib.request
import uuid
from collections import Counter

import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from conftest import PrivateService, free_port, wait_for_log
from kafka_util import (SCHEMA_TEXT, START, START_MS, Ingester, assert_exactly_once, common_args, consume_raw,
                        create_topics, delete_topics, frame, kafka_envs, make_event, parsed_schema, produced, stored,
                        wait_for_rows)

@pytest.mark.tsan
def test_backfill_lands_once_per_minute_and_every_reader_agrees(pfad_s3, kafka_env, registry_env, topics, bucket, s3,
                                                                tmp_path):
    topic, partitions = topics
    env = kafka_envs(kafka_env, registry_env)
    run = pfad_s3.run("produce", "--topic", topic, "--count", "30000", "--minutes", "3", "--start-time", START,
                      "--seed", "3", "--workers", "2", env=env, timeout=120)
    assert run.code == 0, run.stderr
    expected = produced(kafka_env, topic, partitions, 30000)

    group = f"g-{uuid.uuid4().hex[:8]}"
    port = free_port()
    ingester = Ingester(pfad_s3, env, [*common_args(topic, f"s3://{bucket}", group), "--metrics-port", str(port)],
                        tmp_path / "ingest.log")
    rows = wait_for_rows(s3, bucket, 30000, timeout=90, procs=[ingester])
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "pfad_ingest_events_in_total 30000" in metrics, metrics
    assert "pfad_ingest_events_stored_total 30000" in metrics, metrics
    assert "pfad_ingest_lag_messages 0" in metrics, metrics
    assert ingester.stop() == 0, ingester.output()[-3000:]  # SIGTERM: commit, exit 0
    assert_exactly_once(rows, expected)
    ahead = [int(n) for n in re.findall(r"(\d+) rows encoded ahead", ingester.output())]
    assert ahead and max(ahead) >= 4096, "no minute was encoded ahead while open"
    stems = sorted({stem for stem, _, _ in rows})
    assert stems == ["2025-01-15_10-00", "2025-01-15_10-01", "2025-01-15_10-02"]

    # Restart with the same group: everything was committed, nothing is written again.
    again = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", group), "--until-idle", "--json", env=env,
                        timeout=120)
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["events_stored"] == 0
    assert len(stored(s3, bucket)) == 30000

    # Every object was announced on the windows topic.
    notes = [json.loads(m.value()) for m in consume_raw(kafka_env["PFAD_KAFKA_BOOTSTRAP"], f"{topic}.windows", 1)]
    assert {n["minute"] for n in notes} == set(stems)
    assert all(n["object"].startswith(f"s3://{bucket}/") and n["rows"] > 0 for n in notes)
    assert sum(n["added"] for n in notes) == 30000

    # pyarrow (above), DuckDB and pfad analyze read the objects alike.
    for stem in stems:
        local = tmp_path / f"{stem}.parquet"
        with s3.open_input_stream(f"{bucket}/{stem}.parquet") as src:
            local.write_bytes(src.read())
        count, errors = duckdb.connect().execute(
            f"select count(*), count(*) filter (where status = 'ERROR') from read_parquet('{local}')").fetchone()
        report = pfad_s3.run("analyze", f"s3://{bucket}/{stem}.parquet", "--out", str(tmp_path / f"{stem}.json"))
        assert report.code == 0, report.stderr
        body = json.loads((tmp_path / f"{stem}.json").read_text())["report"]
        assert body["total_events"] == count == sum(1 for s, _, _ in rows if s == stem)
        assert body["total_errors"] == errors


def test_exactly_once_when_killed_nine_times_over(pfad_s3, kafka_env, registry_env, topics, bucket, s3, tmp_path):
    """200,000 events over 5 minutes of event time, some late and out of order; the
    ingester is killed with SIGKILL at random moments and restarted each time."""
    topic, partitions = topics
    env = kafka_envs(kafka_env, registry_env)
    producer = subprocess.Popen(
        [str(pfad_s3.binary), "produce", "--topic", topic, "--count", "200000", "--minutes", "5", "--start-time",
         START, "--seed", "11", "--workers", "2", "--rate", "25000"],
        env={**pfad_s3.env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    # Late and out-of-order events of the first two minutes, sent while the rest flows.
    registry = SchemaRegistryClient({"url": registry_env["PFAD_REGISTRY_URL"], "timeout": 30})
    schema_id = registry.register_schema(f"{topic}-value", Schema(SCHEMA_TEXT, "AVRO"))
    late = Producer({"bootstrap.servers": kafka_env["PFAD_KAFKA_BOOTSTRAP"], "enable.idempotence": True})
    rng = random.Random(5)

    group = f"g-{uuid.uuid4().hex[:8]}"
    # Restarted as the same static member (as a supervisor restarts a crashed ingester), each
    # run takes the partitions back at once, so every kill lands while events are being ingested.
    member = ["--instance-id", "ingester-1", "-X", "session.timeout.ms=10000"]
    kills = 0
    late_sent = 0
    for round_ in range(9):
        ingester = Ingester(pfad_s3, env, [*common_args(topic, f"s3://{bucket}", group), *member],
                            tmp_path / "ingest.log")
        time.sleep(rng.uniform(0.8, 3.0))
        if round_ in (2, 4, 6):
            for _ in range(500):
                event = make_event(START_MS + rng.randrange(0, 120_000))
                late.produce(topic, key=uuid.UUID(event["user_id"]).bytes, value=frame(schema_id, event))
                late_sent += 1
            late.flush(30)
        ingester.kill9()
        kills += 1
    assert producer.wait(timeout=120) == 0, producer.stderr.read().decode()
    assert kills >= 5

    final = Ingester(pfad_s3, env, [*common_args(topic, f"s3://{bucket}", group), *member, "--until-idle"],
                     tmp_path / "ingest.log")
    assert final.wait(timeout=180) == 0, final.output()[-3000:]
    assigned = final.output().count("assigned partitions=") - 1  # the final run's own
    assert assigned >= 5, f"only {assigned} of the 9 killed runs had partitions when killed"
    assert final.output().count("stored object=") >= 5
    expected = produced(kafka_env, topic, partitions, 200000 + late_sent)
    assert_exactly_once(stored(s3, bucket), expected)


@pytest.mark.tsan
def test_the_survivor_of_two_ingesters_takes_over(pfad_s3, kafka_env, registry_env, topics, bucket, s3, tmp_path):
    topic, partitions = topics
    env = kafka_envs(kafka_env, registry_env)
    group = f"g-{uuid.uuid4().hex[:8]}"
    fast_failover = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000"]
    a = Ingester(pfad_s3, env, [*common_args(topic, f"s3://{bucket}", group), *fast_failover], tmp_path / "a.log")
    b = Ingester(pfad_s3, env, [*common_args(topic, f"s3://{bucket}", group), *fast_failover], tmp_path / "b.log")
    time.sleep(4)  # both joined
    run = pfad_s3.run("produce", "--topic", topic, "--count", "60000", "--minutes", "3", "--start-time", START,
                      "--seed", "21", "--workers", "2", "--rate", "15000", env=env, timeout=120)
    assert run.code == 0, run.stderr
    a.kill9()
    expected = produced(kafka_env, topic, partitions, 60000)
    rows = wait_for_rows(s3, bucket, 60000, timeout=120, procs=[b])
    assert b.stop() == 0, b.output()[-3000:]
    assert "assigned partitions" in a.output() and "revoked partitions" in b.output()
    assert_exactly_once(rows, expected)



def test_until_idle_waits_for_the_partitions_a_stalled_member_holds(pfad_s3, kafka_env, registry_env, topics, bucket,
                                                                    s3, tmp_path):
    """--until-idle means the topic is stored, not just this member's share: a member that
    shares the group with a stalled (or dead, not yet expelled) one waits for its partitions."""
    topic, partitions = topics
    env = kafka_envs(kafka_env, registry_env)
    group = f"g-{uuid.uuid4().hex[:8]}"
    fast_failover = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000"]
    a = Ingester(pfad_s3, env, [*common_args(topic, f"s3://{bucket}", group), *fast_failover], tmp_path / "a.log")
    try:
        wait_for_log(a, "assigned partitions=", timeout=60)
        b = Ingester(pfad_s3, env, [*common_args(topic, f"s3://{bucket}", group), *fast_failover, "--until-idle"],
                     tmp_path / "b.log")
        wait_for_log(b, "assigned partitions=", timeout=60)
        a.proc.send_signal(signal.SIGSTOP)  # holds its share of the partitions, stores nothing
        run = pfad_s3.run("produce", "--topic", topic, "--count", "30000", "--minutes", "2", "--start-time", START,
                          "--seed", "41", env=env, timeout=120)
        assert run.code == 0, run.stderr
        assert b.wait(timeout=180) == 0, b.output()[-3000:]
        assert_exactly_once(stored(s3, bucket), produced(kafka_env, topic, partitions, 30000))
        assert "waiting for partitions" in b.output(), "b held every partition: the case was not set up"
    finally:
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=30)


@pytest.fixture
def private_minio(tmp_path_factory):
    """A MinIO of this test's own (its own port and state), so stopping it disturbs nobody."""
    ports = {"PFAD_MINIO_PORT": free_port(), "PFAD_MINIO_CONSOLE_PORT": free_port()}
    with PrivateService("minio", tmp_path_factory.mktemp("minio-run"), ports) as minio:
        yield minio.control, minio.exports()


def test_a_minio_outage_is_waited_out_and_nothing_is_lost(pfad, kafka_env, registry_env, topics, private_minio,
                                                          tmp_path):
    control, minio = private_minio
    s3 = pafs.S3FileSystem(access_key=minio["AWS_ACCESS_KEY_ID"], secret_key=minio["AWS_SECRET_ACCESS_KEY"],
                           endpoint_override=minio["AWS_ENDPOINT_URL"], region="us-east-1", allow_bucket_creation=True)
    s3.create_dir("outage")
    topic, partitions = topics
    env = {**kafka_envs(kafka_env, registry_env), **{k: v for k, v in minio.items() if k.startswith("AWS_")}}
    ingester = Ingester(pfad, env, common_args(topic, "s3://outage", f"g-{uuid.uuid4().hex[:8]}"),
                        tmp_path / "ingest.log")
    producer = subprocess.Popen(
        [str(pfad.binary), "produce", "--topic", topic, "--count", "60000", "--minutes", "4", "--start-time", START,
         "--seed", "31", "--rate", "2500"],
        env={**pfad.env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_rows(s3, "outage", 1, timeout=60, procs=[ingester])  # the first minute is stored
    control("stop")
    time.sleep(30)
    control("start")
    assert producer.wait(timeout=120) == 0, producer.stderr.read().decode()
    expected = produced(kafka_env, topic, partitions, 60000)
    rows = wait_for_rows(s3, "outage", 60000, timeout=120, procs=[ingester])
    assert ingester.stop() == 0
    assert "failed, retrying" in ingester.output(), "the outage was never noticed"
    assert_exactly_once(rows, expected)


@pytest.mark.tsan
@pytest.mark.partitions(1)
def test_poison_messages_go_to_the_dlq_and_good_ones_around_them_are_ingested(pfad_s3, kafka_env, registry_env,
                                                                              topics, bucket, s3, tmp_path):
    topic, _ = topics
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    registry = SchemaRegistryClient({"url": registry_env["PFAD_REGISTRY_URL"], "timeout": 30})
    schema_id = registry.register_schema(f"{topic}-value", Schema(SCHEMA_TEXT, "AVRO"))
    # v2 of the schema: adds a field with a default, drops product_id (which has one).
    evolved = json.loads(SCHEMA_TEXT)
    evolved["fields"] = [f for f in evolved["fields"] if f["name"] != "product_id"]
    evolved["fields"].append({"name": "channel", "type": "string", "default": "web"})
    evolved_id = registry.register_schema(f"{topic}-v2-value", Schema(json.dumps(evolved), "AVRO"))
    # A schema that cannot be read as an event (no user_id, which has no default).
    unreadable = json.loads(SCHEMA_TEXT)
    unreadable["fields"] = [f for f in unreadable["fields"] if f["name"] != "user_id"]
    unreadable_id = registry.register_schema(f"{topic}-bad-value", Schema(json.dumps(unreadable), "AVRO"))

    good = [make_event(START_MS + i * 1000) for i in range(20)]
    v2 = [make_event(START_MS + 30_000 + i) for i in range(20)]
    for e in v2:
        e.pop("product_id")
        e["channel"] = "app"
    ten_minutes_on = make_event(START_MS + 10 * 60_000)
    too_late = make_event(START_MS + 5_000)
    valid = frame(schema_id, good[0])
    bad_enum = bytearray(frame(schema_id, good[0]))
    bad_enum[5 + 3 * 37] = 18  # EventType index 9
    # event_id's 36 bytes replaced by control characters and invalid UTF-8.
    hostile_id = bytearray(valid)
    hostile_id[6:42] = (b"\x1b[31m\xff\xfe\n\r\x00" * 4)[:36]
    poison = [
        ("invalid-avro", bytes(hostile_id)),
        ("bad-frame", b"\x01" + valid[1:]),
        ("bad-frame", b"\x00\x00"),
        ("unknown-schema", b"\x00\x7f\xff\xff\x00" + valid[5:]),
        ("invalid-avro", valid[:-12]),
        ("invalid-avro", bytes(bad_enum)),
        ("unreadable-schema", frame(unreadable_id, {k: v for k, v in good[0].items() if k != "user_id"},
                                    parsed_schema(json.dumps(unreadable)))),
    ]
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    sequence = []
    for i, e in enumerate(good):
        sequence.append(("good", frame(schema_id, e)))
        if i < len(poison):
            sequence.append(poison[i])
    sequence += [("good", frame(evolved_id, e, parsed_schema(json.dumps(evolved)))) for e in v2]
    sequence += [("good", frame(schema_id, ten_minutes_on)), ("too-late", frame(schema_id, too_late))]
    for _, value in sequence:
        producer.produce(topic, key=b"k" * 16, value=value, partition=0)
    producer.flush(30)

    run = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", f"g-{uuid.uuid4().hex[:8]}"), "--lookback",
                      "120", "--until-idle", "--json", env=kafka_envs(kafka_env, registry_env), timeout=120)
    assert run.code == 0, run.stderr
    stats = json.loads(run.stdout)
    assert stats["dlq"] == len(poison) + 1
    # Bytes from hostile input are escaped in the log: printable ASCII lines only.
    assert "\\x1b[31m\\xff\\xfe\\x0a" in run.stderr, run.stderr
    assert all(" " <= c <= "~" for line in run.stderr.splitlines() for c in line), run.stderr

    dlq = consume_raw(bootstrap, f"{topic}.dlq", 1, expected=len(poison) + 1)
    expected_dlq = [(i, kind) for i, (kind, _) in enumerate(sequence) if kind != "good"]
    got = []
    for m in dlq:
        headers = {k: v.decode() for k, v in m.headers()}
        assert headers["pfad.source.topic"] == topic
        assert headers["pfad.source.partition"] == "0"
        assert int(headers["pfad.source.timestamp"]) > 0
        assert headers["pfad.error"], headers
        offset = int(headers["pfad.source.offset"])
        assert m.value() == sequence[offset][1], "the DLQ keeps the message as it was"
        got.append((offset, headers["pfad.error.kind"]))
    assert sorted(got) == expected_dlq

    rows = stored(s3, bucket)
    ids = Counter(e for _, e, _ in rows)
    assert set(ids) == {e["event_id"] for e in good + v2 + [ten_minutes_on]}
    assert max(ids.values()) == 1
    table = pq.read_table(f"{bucket}/2025-01-15_10-00.parquet", filesystem=s3).to_pylist()
    by_id = {r["event_id"]: r for r in table}
    assert all(by_id[e["event_id"]]["product_id"] is None for e in v2)  # dropped field -> its default
    assert all(by_id[e["event_id"]]["product_id"] == 7 for e in good)


def test_unreachable_broker_missing_topic_and_missing_bucket_are_clear_errors(pfad_s3, kafka_env, registry_env,
                                                                              topics, tmp_path):
    topic, _ = topics
    env = kafka_envs(kafka_env, registry_env)
    run = pfad_s3.run("ingest", "--topic", "no-such-topic-x", "--sink", str(tmp_path), "--connect-timeout", "5",
                      env=env)
    assert run.code == 4 and "no topic 'no-such-topic-x'" in run.stderr, run.stderr
    run = pfad_s3.run("ingest", "--topic", topic, "--sink", "s3://no-such-bucket-pfad", "--connect-timeout", "5",
                      env=env)
    assert run.code == 4 and "no-such-bucket-pfad" in run.stderr, run.stderr
    run = pfad_s3.run("ingest", "--topic", topic, "--sink", str(tmp_path), "--bootstrap", "127.0.0.1:1",
                      "--connect-timeout", "3", env=env)
    assert run.code == 4 and "127.0.0.1:1" in run.stderr, run.stderr
    run = pfad_s3.run("ingest", "--topic", topic, "--sink", str(tmp_path), "-X", "no.such.property=1", env=env)
    assert run.code == 3 and "no.such.property" in run.stderr, run.stderr


def test_pfad_run_analyzes_a_minute_as_soon_as_ingest_announces_it(pfad_s3, kafka_env, registry_env, topics, bucket,
                                                                     s3, tmp_path):
    from test_dashboard import Dashboard
    topic, partitions = topics
    env = kafka_envs(kafka_env, registry_env)
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    # The clock would run these 2025 minutes never (catch-up is off): only announcements can.
    run = subprocess.Popen([str(pfad_s3.binary), "run", "--source", f"s3://{bucket}", "--dashboard", dashboard.base,
                            "--state", str(tmp_path / "runs.db"), "--announcements", f"{topic}.windows"],
                           env={**pfad_s3.env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # following the topic from its end
        produce = pfad_s3.run("produce", "--topic", topic, "--count", "12000", "--minutes", "2", "--start-time", START,
                              "--seed", "8", env=env, timeout=120)
        assert produce.code == 0, produce.stderr
        group = f"g-{uuid.uuid4().hex[:8]}"
        ingest = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", group), "--until-idle", env=env,
                             timeout=120)
        assert ingest.code == 0, ingest.stderr
        # Wait for the two announced minutes' reports (the clock may add "No data" ones of today's minutes).
        wanted = {"2025-01-15_10-00.json", "2025-01-15_10-01.json"}
        deadline, reports, by_name = time.monotonic() + 60, [], {}
        while time.monotonic() < deadline and set(by_name) != wanted:
            reports = [r["report"]["report"] for r in dashboard.call("GET", "/reports?limit=10")[1]["reports"]]
            by_name = {r["file_name"]: r for r in reports if isinstance(r, dict)}
            time.sleep(0.5)
        assert set(by_name) == {"2025-01-15_10-00.json", "2025-01-15_10-01.json"}, reports
        assert sum(r["total_events"] for r in by_name.values()) == 12000
        # Late events rewrite 10:00: the rewrite's announcement runs it again (after the rerun interval), and
        # its new report replaces the old one in the history.
        first_total = by_name["2025-01-15_10-00.json"]["total_events"]
        late = pfad_s3.run("produce", "--topic", topic, "--count", "500", "--minutes", "1", "--start-time", START,
                           "--seed", "9", env=env, timeout=120)
        assert late.code == 0, late.stderr
        ingest = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", group), "--until-idle", env=env,
                             timeout=120)
        assert ingest.code == 0, ingest.stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and by_name["2025-01-15_10-00.json"]["total_events"] == first_total:
            reports = [r["report"]["report"] for r in dashboard.call("GET", "/reports?limit=10")[1]["reports"]]
            by_name = {r["file_name"]: r for r in reports if isinstance(r, dict)}
            time.sleep(0.5)
        assert by_name["2025-01-15_10-00.json"]["total_events"] == first_total + 500, reports
        assert [r["file_name"] for r in reports if isinstance(r, dict)].count("2025-01-15_10-00.json") == 1, reports
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0, run.stderr.read()
        assert dashboard.stop() == 0


def test_missing_side_topics_are_created_and_a_refusal_is_clear(pfad_s3, kafka_env, registry_env, bucket, s3):
    """Like Kafka Connect's dead-letter topic: ingest creates its DLQ and windows topics when they are missing
    (the broker has auto.create.topics.enable=false); `produce --fraud` creates the labels topic."""
    from confluent_kafka.admin import AdminClient

    topic = f"pfad-ingest-{uuid.uuid4().hex[:10]}"
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    env = kafka_envs(kafka_env, registry_env)
    create_topics(bootstrap, {topic: 2})
    try:
        run = pfad_s3.run("produce", "--topic", topic, "--count", "2000", "--start-time", START, "--fraud", "0.1",
                          env=env, timeout=120)
        assert run.code == 0, run.stderr
        group = f"g-{uuid.uuid4().hex[:8]}"
        # One broker: a replication factor of 3 is refused, and the error says which topic and why.
        refused = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", group), "--until-idle",
                              env={**env, "PFAD_TOPIC_REPLICATION_FACTOR": "3"}, timeout=60)
        assert refused.code != 0
        assert f"has no topic '{topic}.dlq' and refused to create it" in refused.stderr, refused.stderr
        assert "create it first" in refused.stderr, refused.stderr
        run = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", group), "--until-idle", "--json", env=env,
                          timeout=120)
        assert run.code == 0, run.stderr
        assert json.loads(run.stdout)["events_stored"] == 2000
        metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
        assert {t: len(metadata[t].partitions) for t in (f"{topic}.dlq", f"{topic}.windows", f"{topic}.labels")} == \
            {f"{topic}.dlq": 1, f"{topic}.windows": 1, f"{topic}.labels": 2}
    finally:
        delete_topics(bootstrap, [topic, f"{topic}.dlq", f"{topic}.windows", f"{topic}.labels"])


def test_a_static_member_handed_another_topics_partitions_says_so(pfad_s3, kafka_env, registry_env, tmp_path):
    """A group whose static members (--instance-id) last read another topic: the broker hands a rejoining static
    member its old assignment without a rebalance. The ingester stops with a clear error instead of idling."""
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    env = kafka_envs(kafka_env, registry_env)
    old, new = (f"pfad-ingest-{uuid.uuid4().hex[:10]}" for _ in range(2))
    group = f"g-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, {old: 6, new: 6, **{f"{t}.{s}": 1 for t in (old, new) for s in ("dlq", "windows")}})
    try:
        members = [Ingester(pfad_s3, env, [*common_args(old, str(tmp_path), group), "--instance-id", m],
                            tmp_path / f"old-{m}.log") for m in ("a", "b")]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all("assigned partitions=" in m.log_path.read_text()
                                                       for m in members):
            time.sleep(0.2)
        for m in members:
            assert m.stop() == 0
        run = pfad_s3.run("ingest", *common_args(new, str(tmp_path), group), "--instance-id", "a", "--until-idle",
                          env=env, timeout=60)
        assert run.code == 4, run.stderr
        assert f"of topic '{old}', not of '{new}'" in run.stderr, run.stderr
        assert "static member 'a'" in run.stderr, run.stderr
    finally:
        delete_topics(bootstrap, [f"{t}{s}" for t in (old, new) for s in ("", ".dlq", ".windows")])
