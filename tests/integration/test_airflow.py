"""The Airflow DAG `clickHouse_pyspark_dashboard` (airflow/dags/) run with
`airflow dags test` against real MinIO and a real `pfad dashboard`."""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from conftest import ROOT, as_stored, exists, read_json
from kafka_util import START, consume_raw, create_topics, delete_topics, kafka_envs
from test_clickhouse import clickhouse  # noqa: F401 (fixture)
from test_dashboard import Dashboard

AIRFLOW = Path(os.environ.get("PFAD_CACHE", Path.home() / ".cache/pfad")) / "airflow-venv/bin/airflow"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    if not AIRFLOW.exists():
        pytest.fail(f"{AIRFLOW} is missing: run scripts/setup.sh test")
    home = tmp_path_factory.mktemp("airflow-home")
    # No ambient pfad or Airflow-Variable settings: each test passes what it means to use.
    ambient = {k: v for k, v in os.environ.items()
               if not k.startswith(("PFAD_CLICKHOUSE", "CLICKHOUSE_", "AIRFLOW_VAR_", "PFAD_SOURCE"))}
    env = {**ambient, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "airflow/dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    return env


def dags_test(airflow_env, pfad, extra: dict, logical_date: str) -> subprocess.CompletedProcess:
    env = {**airflow_env, **extra, "PFAD_BIN": str(pfad.binary)}
    return subprocess.run([str(AIRFLOW), "dags", "test", "clickHouse_pyspark_dashboard", logical_date], env=env,
                          capture_output=True, text=True, timeout=300)


def declared(airflow_env, extra: dict | None = None) -> dict:
    """The DAG as Airflow parses it with `extra` in the environment: its tasks in order and its settings."""
    probe = (
        "import json\n"
        "from airflow.models.dagbag import DagBag\n"
        "bag = DagBag()\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "dag = bag.get_dag('clickHouse_pyspark_dashboard')\n"
        "task = dag.get_task('analyze')\n"
        "print(json.dumps({'tasks': [t.task_id for t in dag.topological_sort()],\n"
        "  'max_active_runs': dag.max_active_runs, 'catchup': dag.catchup,\n"
        "  'schedule': str(dag.timetable.expression), 'retries': task.retries,\n"
        "  'retry_delay': task.retry_delay.total_seconds()}))\n"
    )
    out = subprocess.run([str(AIRFLOW.parent / "python"), "-c", probe], env={**airflow_env, **(extra or {})},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_dag_is_declared_as_the_reference(airflow_env):
    assert declared(airflow_env) == {"tasks": ["analyze", "fraud", "report"], "max_active_runs": 2, "catchup": False,
                                     "schedule": "* * * * *", "retries": 1, "retry_delay": 3.0}


def test_a_clickhouse_url_puts_the_export_task_first(airflow_env):
    # AIRFLOW_VAR_<NAME> is how Airflow reads a Variable from the environment.
    dag = declared(airflow_env, {"AIRFLOW_VAR_PFAD_CLICKHOUSE_URL": "http://127.0.0.1:8123/pfad"})
    assert dag["tasks"] == ["export", "analyze", "fraud", "report"]


def test_minute_with_data_and_minute_without(airflow_env, pfad_s3, minio_env, s3, bucket, tmp_path):
    gen = pfad_s3.run("gen", f"s3://{bucket}", "--rows", "5805", "--minute", "2025-01-15 10:00", "--seed", "8")
    assert gen.code == 0, gen.stderr
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        extra = {"PFAD_SOURCE": f"s3a://{bucket}", "PFAD_DASHBOARD_URL": dashboard.base,
                 **{k: v for k, v in minio_env.items() if k.startswith("AWS_")}}
        # The run due at 10:01 Tehran (06:31 UTC) analyzes 10:00.
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:31:00+00:00")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        report = read_json(s3, f"{bucket}/2025-01-15_10-00.json")
        assert report["report"]["total_events"] == 5805
        # No model configured: the fraud task says so in the report and the run goes on.
        assert report["report"]["fraud"]["status"] == "not_run"
        assert "no fraud model configured" in report["report"]["fraud"]["reason"]
        assert dashboard.call("GET", "/report") == (200, as_stored(report))
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:32:00+00:00")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        assert dashboard.call("GET", "/report") == (200, {"report": "No data for 2025-01-15_10-01."})
    finally:
        dashboard.stop()


def test_fraud_task_scores_alerts_and_survives_a_corrupt_model(airflow_env, pfad_s3, minio_env, kafka_env, s3, bucket,
                                                               tmp_path):
    train = tmp_path / "train"
    assert pfad_s3.run("gen", str(train), "--rows", "6000", "--minute", "2025-01-15 08:00", "--minutes", "4",
                       "--fraud", "0.1", "--seed", "1").code == 0
    model = tmp_path / "model.pfm"
    trained = pfad_s3.run("fraud", "train", str(train), "--out", str(model), timeout=300)
    assert trained.code == 0, trained.stderr
    bad = tmp_path / "bad.pfm"
    bad.write_bytes(model.read_bytes()[:-9])
    gen = pfad_s3.run("gen", f"s3://{bucket}", "--rows", "6000", "--minute", "2025-01-15 10:00", "--minutes", "2",
                      "--fraud", "0.05", "--seed", "8", "--labels", str(tmp_path / "labels"))
    assert gen.code == 0, gen.stderr
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    topic = f"airflow-{bucket}.fraud"
    create_topics(bootstrap, {topic: 1})
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        extra = {"PFAD_SOURCE": f"s3a://{bucket}", "PFAD_DASHBOARD_URL": dashboard.base,
                 "PFAD_KAFKA_BOOTSTRAP": bootstrap, "PFAD_FRAUD_ALERTS_TOPIC": topic, "PFAD_FRAUD_MODEL": str(bad),
                 **{k: v for k, v in minio_env.items() if k.startswith("AWS_")}}
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:31:00+00:00")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        report = read_json(s3, f"{bucket}/2025-01-15_10-00.json")
        assert report["report"]["fraud"]["status"] == "not_run"
        assert "bad.pfm: corrupt" in report["report"]["fraud"]["reason"]
        assert dashboard.call("GET", "/report") == (200, as_stored(report))

        extra["PFAD_FRAUD_MODEL"] = str(model)
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:32:00+00:00")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        report = read_json(s3, f"{bucket}/2025-01-15_10-01.json")
        fraud = report["report"]["fraud"]
        assert fraud["status"] == "scored" and fraud["window"]["objects"] == 2 and fraud["new_alerts"] > 0
        assert exists(s3, f"{bucket}/2025-01-15_10-01.scores.parquet")
        assert dashboard.call("GET", "/report") == (200, as_stored(report))
        # The entity views travel with the report: each flagged one opens at the dashboard.
        assert fraud["investigations"]
        flagged = [i for i in fraud["investigations"] if i["is_fraud"]]
        assert flagged
        status, view = dashboard.call("GET", f"/entities/{flagged[0]['entity_kind']}/{flagged[0]['entity_id']}")
        assert status == 200 and view["investigation"]["minute"] == "2025-01-15_10-01"
        assert dashboard.call("GET", "/alerts")[1]["alerts"]
        alerts = consume_raw(bootstrap, topic, 1, expected=fraud["new_alerts"])
        assert len(alerts) == fraud["new_alerts"]
        assert {json.loads(m.value())["minute"] for m in alerts} == {"2025-01-15_10-01"}
    finally:
        dashboard.stop()
        delete_topics(bootstrap, [topic])


@pytest.mark.release_only  # the Spark engine's C++ runs under ASan in test_spark.py; the CI budget
def test_spark_engine_chosen_by_airflow_variable(airflow_env, pfad_s3, minio_env, spark_remote, s3, bucket, tmp_path):
    gen = pfad_s3.run("gen", f"s3://{bucket}", "--rows", "5805", "--minute", "2025-01-15 10:00", "--seed", "9")
    assert gen.code == 0, gen.stderr
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        # AIRFLOW_VAR_<NAME> is how Airflow reads a Variable from the environment.
        extra = {"PFAD_SOURCE": f"s3a://{bucket}", "PFAD_DASHBOARD_URL": dashboard.base,
                 "AIRFLOW_VAR_PFAD_ENGINE": "spark", "AIRFLOW_VAR_PFAD_SPARK_REMOTE": "sc://127.0.0.1:1",
                 **{k: v for k, v in minio_env.items() if k.startswith("AWS_")}}
        # Spark unreachable: the analyze task fails, so the Variables did route it to Spark.
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:31:00+00:00")
        assert run.returncode != 0
        assert "Spark Connect at sc://127.0.0.1:1 is not reachable" in run.stdout + run.stderr
        assert not exists(s3, f"{bucket}/2025-01-15_10-00.json")
        extra["AIRFLOW_VAR_PFAD_SPARK_REMOTE"] = spark_remote
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:31:00+00:00")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        report = read_json(s3, f"{bucket}/2025-01-15_10-00.json")
        assert report["report"]["total_events"] == 5805
        assert dashboard.call("GET", "/report") == (200, as_stored(report))
    finally:
        dashboard.stop()


def test_a_minute_ingested_only_to_clickhouse_is_exported_analyzed_and_reported(
        airflow_env, pfad_s3, minio_env, kafka_env, registry_env, topics, clickhouse, s3, bucket, tmp_path):
    """The seed's three tasks: export from ClickHouse -> analyze -> send to the dashboard, for events that only
    ClickHouse holds (ingested with --clickhouse alone); the report agrees with ClickHouse's own counts."""
    topic, _ = topics
    env = {**kafka_envs(kafka_env, registry_env), **clickhouse.env}
    produce = pfad_s3.run("produce", "--topic", topic, "--count", "6000", "--minutes", "1", "--start-time", START,
                          "--seed", "12", env=env, timeout=120)
    assert produce.code == 0, produce.stderr
    ingest = pfad_s3.run("ingest", "--topic", topic, "--group", f"g-{uuid.uuid4().hex[:8]}", "--clickhouse",
                         clickhouse.url, "--grace", "1", "--idle-timeout", "2", "--until-idle", env=env, timeout=180)
    assert ingest.code == 0, ingest.stderr
    counts = {(t, st): int(n) for t, st, n in clickhouse.rows(
        f"SELECT toString(event_type), toString(status), count() FROM {clickhouse.database}.user_interactions FINAL "
        "WHERE event_minute = '2025-01-15_10-00' GROUP BY event_type, status")}
    assert sum(counts.values()) == 6000
    assert s3.get_file_info(pafs.FileSelector(bucket)) == []  # nothing but ClickHouse has the events
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        extra = {"PFAD_SOURCE": f"s3a://{bucket}", "PFAD_DASHBOARD_URL": dashboard.base,
                 "PFAD_CLICKHOUSE_URL": clickhouse.url, **clickhouse.env,
                 **{k: v for k, v in minio_env.items() if k.startswith("AWS_")}}
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:31:00+00:00")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        assert "task_id=export" in run.stdout + run.stderr, "the export task did not run"
        assert exists(s3, f"{bucket}/2025-01-15_10-00.parquet")
        report = read_json(s3, f"{bucket}/2025-01-15_10-00.json")
        body = report["report"]
        assert body["total_events"] == 6000
        assert body["total_errors"] == sum(n for (_, st), n in counts.items() if st == "ERROR")
        assert {(t, st): n for t, v in body["by_event_type"].items() for st, n in v.items() if n} == counts
        assert dashboard.call("GET", "/report") == (200, as_stored(report))
        # The next minute has no rows in ClickHouse: no object, and "No data for ...".
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:32:00+00:00")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        assert not exists(s3, f"{bucket}/2025-01-15_10-01.parquet")
        assert dashboard.call("GET", "/report") == (200, {"report": "No data for 2025-01-15_10-01."})
    finally:
        dashboard.stop()


@pytest.mark.release_only  # retrain's C++ runs under ASan in test_fraud_loop.py; the CI budget
def test_retrain_dag_takes_the_labels_then_retrains_hourly(airflow_env, pfad_s3, minio_env, kafka_env, s3, bucket,
                                                           tmp_path):
    probe = ("import json\n"
             "from airflow.models.dagbag import DagBag\n"
             "bag = DagBag()\n"
             "assert not bag.import_errors, bag.import_errors\n"
             "dag = bag.get_dag('pfad_retrain')\n"
             "print(json.dumps({'tasks': [t.task_id for t in dag.topological_sort()],\n"
             "  'schedule': str(dag.timetable.expression), 'max_active_runs': dag.max_active_runs}))\n")
    out = subprocess.run([str(AIRFLOW.parent / "python"), "-c", probe], env=airflow_env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == \
        {"tasks": ["labels", "retrain"], "schedule": "0 * * * *", "max_active_runs": 1}

    gen = pfad_s3.run("gen", f"s3://{bucket}", "--rows", "6000", "--minute", "2025-01-15 10:00", "--minutes", "12",
                      "--fraud", "0.1", "--seed", "8")
    assert gen.code == 0, gen.stderr
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    topic = f"airflow-{bucket}"
    create_topics(bootstrap, {f"{topic}.labels": 1})
    model = tmp_path / "model.pfm"
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        extra = {"PFAD_SOURCE": f"s3://{bucket}", "PFAD_DASHBOARD_URL": dashboard.base, "PFAD_TOPIC": topic,
                 "PFAD_KAFKA_BOOTSTRAP": bootstrap, "PFAD_FRAUD_MODEL": str(model), "PFAD_RETRAIN_HOURS": "1",
                 "PFAD_RETRAIN_HOLDOUT_MINUTES": "4",
                 **{k: v for k, v in minio_env.items() if k.startswith("AWS_")}}
        env = {**airflow_env, **extra, "PFAD_BIN": str(pfad_s3.binary)}
        run = subprocess.run([str(AIRFLOW), "dags", "test", "pfad_retrain", "2025-01-15T07:00:00+00:00"], env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        assert model.exists(), (run.stdout + run.stderr)[-3000:]
        status, body = dashboard.call("GET", "/models")
        assert status == 200 and body["models"][0]["promoted"], body
    finally:
        dashboard.stop()
        delete_topics(bootstrap, [f"{topic}.labels", f"{topic}.labels.dlq"])
