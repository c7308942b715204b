"""The warehouse path against a real ClickHouse server (scripts/services/clickhouse.sh),
Kafka, the schema registry and MinIO: `pfad ingest --clickhouse` stores every event once
as seen by SELECT ... FINAL through kill -9 and a ClickHouse outage, beside the S3 objects;
`pfad export` turns a minute back into the same Parquet object."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from conftest import ROOT, exists, free_port, read_json
from kafka_util import (SCHEMA_TEXT, START, START_MS, Ingester, frame, kafka_envs, make_event, minute_name,
                        parsed_schema, produced, stored)


class ClickHouse:
    """SQL over the HTTP interface of one server, as the test's own client."""

    def __init__(self, env: dict[str, str], database: str):
        self.port = env["PFAD_CLICKHOUSE_PORT"]
        self.user = env["PFAD_CLICKHOUSE_USER"]
        self.password = env["PFAD_CLICKHOUSE_PASSWORD"]
        self.database = database
        self.url = f"http://127.0.0.1:{self.port}/{database}"
        # What pfad gets: the URL's database plus credentials in its environment.
        self.env = {"PFAD_CLICKHOUSE_USER": self.user, "PFAD_CLICKHOUSE_PASSWORD": self.password}

    def query(self, sql: str) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/", data=sql.encode(), method="POST",
                                         headers={"X-ClickHouse-User": self.user, "X-ClickHouse-Key": self.password})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.read().decode()

    def rows(self, sql: str) -> list[list[str]]:
        return [line.split("\t") for line in self.query(sql + " FORMAT TSV").splitlines()]

    def drop(self) -> None:
        self.query(f"DROP DATABASE IF EXISTS {self.database}")


@pytest.fixture
def clickhouse(clickhouse_env):
    """A fresh database of the shared server for one test, dropped afterwards."""
    ch = ClickHouse(clickhouse_env, f"pfad_test_{uuid.uuid4().hex[:10]}")
    yield ch
    ch.drop()


def finals(ch: ClickHouse) -> tuple[int, int]:
    count, unique = ch.rows(f"SELECT count(), uniqExact(event_id) FROM {ch.database}.user_interactions FINAL")[0]
    return int(count), int(unique)


def wait_for_count(ch: ClickHouse, n: int, timeout: float, procs=()) -> int:
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        try:
            count = finals(ch)[1]
        except (urllib.error.URLError, OSError):
            count = 0  # the table may not exist yet, or the server is restarting
        if count >= n:
            return count
        for p in procs:
            assert p.proc.poll() is None, f"ingester exited early:\n{p.output()[-3000:]}"
        time.sleep(1)
    return count


def args(topic: str, group: str, *sinks: str) -> list[str]:
    return ["--topic", topic, "--group", group, *sinks, "--grace", "1", "--idle-timeout", "2",
            "--row-group-rows", "16384"]


def report(pfad, uri: str, out: Path) -> dict:
    run = pfad.run("analyze", uri, "--out", str(out))
    assert run.code == 0, run.stderr
    report = json.loads(out.read_text())["report"]
    if isinstance(report, dict):
        report.pop("process_time", None)
    return report


def test_every_event_once_in_clickhouse_through_kill9_and_exports_equal_the_direct_objects(
        pfad_s3, kafka_env, registry_env, topics, bucket, s3, clickhouse, tmp_path):
    topic, partitions = topics
    env = {**kafka_envs(kafka_env, registry_env), **clickhouse.env}
    sinks = ["--sink", f"s3://{bucket}", "--clickhouse", clickhouse.url]
    producer = subprocess.Popen(
        [str(pfad_s3.binary), "produce", "--topic", topic, "--count", "200000", "--minutes", "5", "--start-time",
         START, "--seed", "23", "--workers", "2", "--rate", "20000"],
        env={**pfad_s3.env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    group = f"g-{uuid.uuid4().hex[:8]}"
    member = ["--instance-id", "ingester-ch", "-X", "session.timeout.ms=10000"]
    log = tmp_path / "ingest.log"
    for pause in (2.5, 1.5, 3.0, 2.0):
        ingester = Ingester(pfad_s3, env, [*args(topic, group, *sinks), *member], log)
        time.sleep(pause)
        ingester.kill9()
    assert producer.wait(timeout=120) == 0, producer.stderr.read().decode()
    final = Ingester(pfad_s3, env, [*args(topic, group, *sinks), *member, "--until-idle"], log)
    assert final.wait(timeout=180) == 0, final.output()[-3000:]
    assert final.output().count("assigned partitions=") >= 3

    expected = produced(kafka_env, topic, partitions, 200000)
    assert finals(clickhouse) == (200000, 200000)
    in_clickhouse = {e for (e,) in clickhouse.rows(f"SELECT event_id FROM {clickhouse.database}.user_interactions")}
    assert in_clickhouse == set(expected)
    # Each event sits in its own Tehran minute, in ClickHouse as in the objects.
    per_minute = dict(clickhouse.rows(
        f"SELECT event_minute, toString(count()) FROM {clickhouse.database}.user_interactions FINAL "
        "GROUP BY event_minute"))
    wrong = clickhouse.rows(
        f"SELECT event_id, event_timestamp_ms, event_minute FROM {clickhouse.database}.user_interactions LIMIT 2000")
    assert all(minute_name(int(ts)) == m for _, ts, m in wrong)
    objects = {}
    for stem, event_id, _ in stored(s3, bucket):
        objects.setdefault(stem, set()).add(event_id)
    assert len(objects) >= 5
    assert {m: int(n) for m, n in per_minute.items()} == {stem: len(ids) for stem, ids in objects.items()}

    # Export every minute back to Parquet: same event ids, same report as the directly ingested object.
    out = tmp_path / "export"
    out.mkdir()
    for stem, ids in sorted(objects.items()):
        display = stem[:10] + " " + stem[11:].replace("-", ":")
        run = pfad_s3.run("export", "--clickhouse", clickhouse.url, "--minute", display, "--to", str(out),
                          env=clickhouse.env, timeout=120)
        assert run.code == 0, run.stderr
        exported = pq.read_table(out / f"{stem}.parquet")
        direct = pq.read_table(f"{bucket}/{stem}.parquet", filesystem=s3)
        assert exported.schema.equals(direct.schema), f"{exported.schema}\n!=\n{direct.schema}"
        assert set(exported.column("event_id").to_pylist()) == ids
        assert exported.num_rows == len(ids)
        assert (report(pfad_s3, str(out / f"{stem}.parquet"), tmp_path / f"e-{stem}.json")
                == report(pfad_s3, f"s3://{bucket}/{stem}.parquet", tmp_path / f"d-{stem}.json"))
    # Only the minutes with rows have objects, named in Tehran time.
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{s}.parquet" for s in objects)
    # To S3 as well.
    first = sorted(objects)[0]
    run = pfad_s3.run("export", "--clickhouse", clickhouse.url, "--minute", first, "--to", f"s3://{bucket}/exported",
                      env=clickhouse.env, timeout=120)
    assert run.code == 0, run.stderr
    assert pq.read_table(f"{bucket}/exported/{first}.parquet", filesystem=s3).num_rows == len(objects[first])


def test_an_empty_minute_exports_nothing_and_the_analysis_says_no_data(pfad, clickhouse, tmp_path):
    # Also before anything was ingested (no table yet).
    run = pfad.run("export", "--clickhouse", clickhouse.url, "--minute", "2025-01-15 10:07", "--to", str(tmp_path),
                   env=clickhouse.env)
    assert run.code == 0, run.stderr
    assert "no rows" in run.stderr
    assert list(tmp_path.iterdir()) == []
    run = pfad.run("analyze", str(tmp_path / "2025-01-15_10-07.parquet"), "--out", str(tmp_path / "r.json"))
    assert run.code == 0, run.stderr
    assert json.loads((tmp_path / "r.json").read_text())["report"] == "No data for 2025-01-15_10-07."


def test_export_errors_are_one_clear_line_and_exit_4(pfad, clickhouse, tmp_path):
    down = f"http://127.0.0.1:{free_port()}/pfad"
    run = pfad.run("export", "--clickhouse", down, "--minute", "2025-01-15 10:00", "--to", str(tmp_path),
                   env=clickhouse.env, timeout=120)
    assert run.code == 4, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("pfad export: error: ClickHouse at") and "unreachable" in last, run.stderr

    run = pfad.run("export", "--clickhouse", clickhouse.url, "--minute", "2025-01-15 10:00", "--to", str(tmp_path),
                   env={**clickhouse.env, "PFAD_CLICKHOUSE_PASSWORD": "not-the-password"})  # pfad:not-a-secret
    assert run.code == 4, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "refused the login of user" in run.stderr and "password" in run.stderr.lower(), run.stderr
    assert "not-the-password" not in run.stderr


def test_a_schema_evolved_writer_still_lands_in_clickhouse(pfad, kafka_env, registry_env, topics, clickhouse,
                                                          tmp_path):
    topic, partitions = topics
    registry = SchemaRegistryClient({"url": registry_env["PFAD_REGISTRY_URL"], "timeout": 30})
    v1 = registry.register_schema(f"{topic}-value", Schema(SCHEMA_TEXT, "AVRO"))
    evolved = json.loads(SCHEMA_TEXT)
    evolved["fields"].append({"name": "channel", "type": "string", "default": "web"})
    v2 = registry.register_schema(f"{topic}-v2-value", Schema(json.dumps(evolved), "AVRO"))
    producer = Producer({"bootstrap.servers": kafka_env["PFAD_KAFKA_BOOTSTRAP"], "enable.idempotence": True})
    sent = {}
    for i in range(400):
        event = make_event(START_MS + i * 100, product_id=i)
        if i % 2:
            event["channel"] = "app"
            value = frame(v2, event, parsed_schema(json.dumps(evolved)))
        else:
            value = frame(v1, event)
        producer.produce(topic, key=uuid.UUID(event["user_id"]).bytes, value=value)
        sent[event["event_id"]] = i
    producer.flush(30)
    env = {**kafka_envs(kafka_env, registry_env), **clickhouse.env}
    # Only --clickhouse: ClickHouse is the sink.
    ingester = Ingester(pfad, env, [*args(topic, f"g-{uuid.uuid4().hex[:8]}", "--clickhouse", clickhouse.url),
                                    "--until-idle"], tmp_path / "ingest.log")
    assert ingester.wait(timeout=120) == 0, ingester.output()[-3000:]
    rows = clickhouse.rows(f"SELECT event_id, product_id FROM {clickhouse.database}.user_interactions FINAL")
    assert {e: int(p) for e, p in rows} == sent


@pytest.fixture
def private_clickhouse(clickhouse_env, tmp_path_factory):
    """A ClickHouse server of this test's own (own ports and state), so stopping it disturbs nobody."""
    state = tmp_path_factory.mktemp("clickhouse-run")
    env = {**os.environ, "PFAD_RUN": str(state), "PFAD_CLICKHOUSE_PORT": str(free_port()),
           "PFAD_CLICKHOUSE_NATIVE_PORT": str(free_port())}
    script = ROOT / "scripts/services/clickhouse.sh"

    def control(action: str) -> str:
        result = subprocess.run([str(script), action], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"clickhouse.sh {action} failed: {result.stderr}"
        return result.stdout

    control("start")
    exports = {k: v.strip("'\"") for k, v in (line[len("export "):].split("=", 1)
                                              for line in control("env").splitlines() if line.startswith("export "))}
    try:
        yield control, ClickHouse(exports, "outage")
    finally:
        subprocess.run([str(script), "stop"], env=env, capture_output=True, timeout=120)


def test_a_clickhouse_outage_is_waited_out_and_nothing_is_lost(pfad, kafka_env, registry_env, topics,
                                                              private_clickhouse, tmp_path):
    control, ch = private_clickhouse
    topic, partitions = topics
    env = {**kafka_envs(kafka_env, registry_env), **ch.env}
    ingester = Ingester(pfad, env, args(topic, f"g-{uuid.uuid4().hex[:8]}", "--clickhouse", ch.url),
                        tmp_path / "ingest.log")
    producer = subprocess.Popen(
        [str(pfad.binary), "produce", "--topic", topic, "--count", "60000", "--minutes", "4", "--start-time", START,
         "--seed", "37", "--rate", "2500"],
        env={**pfad.env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert wait_for_count(ch, 1, timeout=60, procs=[ingester]) >= 1  # the first minute is stored
    control("stop")
    time.sleep(30)
    control("start")
    assert producer.wait(timeout=120) == 0, producer.stderr.read().decode()
    expected = produced(kafka_env, topic, partitions, 60000)
    assert wait_for_count(ch, 60000, timeout=120, procs=[ingester]) == 60000
    assert ingester.stop() == 0
    assert "failed, retrying" in ingester.output(), "the outage was never noticed"
    assert finals(ch) == (60000, 60000)
    assert {e for (e,) in ch.rows("SELECT event_id FROM outage.user_interactions FINAL")} == set(expected)


def stripped(report: dict) -> dict:
    """A report object without its timings (engine and fraud scoring), the only fields two runs may differ in."""
    body = report["report"]
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "process_time"}
        if "fraud" in body:
            body["fraud"] = {k: v for k, v in body["fraud"].items() if k != "scoring_ms"}
    return {"report": body}


def test_backfill_from_clickhouse_reports_equal_the_direct_objects(
        pfad_s3, kafka_env, registry_env, topics, bucket, s3, clickhouse, tmp_path):
    """`pfad backfill --source clickhouse`: export -> analyze -> report for each minute, the same reports as the
    ETAR over the objects the ingester wrote directly, for the same events."""
    from test_dashboard import Dashboard
    topic, _ = topics
    env = {**kafka_envs(kafka_env, registry_env), **clickhouse.env}
    produce = pfad_s3.run("produce", "--topic", topic, "--count", "30000", "--minutes", "3", "--start-time", START,
                          "--seed", "41", env=env, timeout=120)
    assert produce.code == 0, produce.stderr
    ingest = Ingester(pfad_s3, env, [*args(topic, f"g-{uuid.uuid4().hex[:8]}", "--sink", f"s3://{bucket}/direct",
                                           "--clickhouse", clickhouse.url), "--until-idle"], tmp_path / "ingest.log")
    assert ingest.wait(timeout=180) == 0, ingest.output()[-3000:]
    minutes = ["2025-01-15_09-59", "2025-01-15_10-00", "2025-01-15_10-01", "2025-01-15_10-02", "2025-01-15_10-03"]
    span = ["--from", "2025-01-15 09:59", "--to", "2025-01-15 10:03"]

    direct = pfad_s3.run("backfill", "--source", f"s3://{bucket}/direct", *span, "--dashboard", "", "--state",
                         str(tmp_path / "direct.db"), timeout=120)
    assert direct.code == 0, direct.stderr
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        # The URL from the environment this time (PFAD_CLICKHOUSE_URL), as a deployment would set it.
        run = pfad_s3.run("backfill", "--source", "clickhouse", "--objects", f"s3://{bucket}/warehouse", *span,
                          "--dashboard", dashboard.base, "--state", str(tmp_path / "warehouse.db"),
                          env={**clickhouse.env, "PFAD_CLICKHOUSE_URL": clickhouse.url}, timeout=180)
        assert run.code == 0, run.stderr
        assert run.stdout.split() == [w for m in minutes for w in (m, "success")]
        posted = [r["report"] for r in dashboard.call("GET", "/reports?limit=10")[1]["reports"]]
    finally:
        dashboard.stop()
    with_data = 0
    for minute in minutes:
        exported = read_json(s3, f"{bucket}/warehouse/{minute}.json")
        same = read_json(s3, f"{bucket}/direct/{minute}.json")
        assert stripped(exported) == stripped(same), f"{minute}:\n{json.dumps(exported)}\n!=\n{json.dumps(same)}"
        assert exported in posted, minute
        if isinstance(exported["report"], dict):
            with_data += 1
            assert exported["report"]["total_events"] > 0
            exported_ids = pq.read_table(f"{bucket}/warehouse/{minute}.parquet", filesystem=s3).column("event_id")
            direct_ids = pq.read_table(f"{bucket}/direct/{minute}.parquet", filesystem=s3).column("event_id")
            assert sorted(exported_ids.to_pylist()) == sorted(direct_ids.to_pylist())
        else:
            # An empty minute exports nothing, so the analysis says "No data for ...".
            assert exported == {"report": f"No data for {minute}."}
            assert not exists(s3, f"{bucket}/warehouse/{minute}.parquet")
    assert with_data == 3
    assert sum(read_json(s3, f"{bucket}/warehouse/{m}.json")["report"]["total_events"] for m in minutes[1:4]) == 30000


def test_backfill_with_clickhouse_down_fails_each_minute_with_the_reason(pfad, bucket, s3, tmp_path):
    from test_dashboard import Dashboard
    down = f"http://127.0.0.1:{free_port()}/pfad"
    (tmp_path / "obj").mkdir()
    dashboard = Dashboard(pfad, tmp_path / "reports.db")
    try:
        run = pfad.run("backfill", "--source", "clickhouse", "--clickhouse", down, "--objects", str(tmp_path / "obj"),
                       "--from", "2025-01-15 10:00", "--to", "2025-01-15 10:01", "--retries", "0", "--dashboard",
                       dashboard.base, "--state", str(tmp_path / "runs.db"), timeout=120)
        runs = dashboard.call("GET", "/runs?failed")[1]["runs"]
    finally:
        dashboard.stop()
    assert run.code == 4, run.stderr
    reason = f"from ClickHouse failed: ClickHouse at {down.removesuffix('pfad')} is unreachable"
    lines = run.stdout.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [["2025-01-15_10-00", "failed:"], ["2025-01-15_10-01", "failed:"]]
    assert all(reason in line for line in lines), run.stdout
    # The dashboard's /runs shows both, with the reason; no report was written or posted.
    assert sorted(r["minute"] for r in runs) == ["2025-01-15_10-00", "2025-01-15_10-01"]
    assert all(r["state"] == "failed" and reason in r["error"] for r in runs), runs
    assert list((tmp_path / "obj").iterdir()) == []


@pytest.mark.release_only  # the ClickHouse client's outage path runs under ASan in the ingest outage test above; the CI budget
def test_pfad_run_fails_minutes_while_clickhouse_is_down_and_runs_later_ones(pfad, private_clickhouse, tmp_path):
    """`pfad run --source clickhouse` with the server stopped: each minute's run fails with the reason (run state,
    the dashboard's /runs), the schedule goes on, and once the server is back the next minutes succeed."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from test_dashboard import Dashboard
    control, ch = private_clickhouse
    control("stop")
    start = (datetime.now(ZoneInfo("Asia/Tehran")) - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
    (tmp_path / "obj").mkdir()
    dashboard = Dashboard(pfad, tmp_path / "reports.db")
    log = open(tmp_path / "run.log", "wb")
    run = subprocess.Popen([str(pfad.binary), "run", "--source", "clickhouse", "--clickhouse", ch.url, "--objects",
                            str(tmp_path / "obj"), "--start", start, "--retries", "0", "--delay", "1",
                            "--dashboard", dashboard.base, "--state", str(tmp_path / "runs.db")],
                           env={**pfad.env, **ch.env}, stdout=log, stderr=subprocess.STDOUT)
    reason = f"from ClickHouse failed: ClickHouse at http://127.0.0.1:{ch.port}/ is unreachable"
    try:
        # The catch-up minutes (start .. the minute that just ended) fail while ClickHouse is down.
        deadline, failed = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(failed) < 2:
            assert run.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            failed = dashboard.call("GET", "/runs?failed")[1]["runs"]
            time.sleep(0.5)
        assert len(failed) >= 2, failed
        assert all(reason in r["error"] for r in failed), failed
        assert list((tmp_path / "obj").glob("*.json")) == []
        control("start")
        # A later minute runs by the clock and succeeds: ClickHouse has no rows for it, so "No data for ...".
        deadline, succeeded = time.monotonic() + 100, []
        while time.monotonic() < deadline and not succeeded:
            assert run.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            succeeded = [r for r in dashboard.call("GET", "/runs")[1]["runs"] if r["state"] == "success"]
            time.sleep(0.5)
        assert succeeded, "no minute succeeded within 100 s of ClickHouse's restart"
        assert min(r["minute"] for r in succeeded) > max(r["minute"] for r in failed)
        minute = succeeded[0]["minute"]
        assert json.loads((tmp_path / "obj" / f"{minute}.json").read_text()) == {"report": f"No data for {minute}."}
        assert dashboard.call("GET", "/report")[1] == {"report": f"No data for {minute}."}
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=60)
        log.close()
        dashboard.stop()
    assert code == 0, (tmp_path / "run.log").read_text()[-3000:]
