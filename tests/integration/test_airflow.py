"""The Airflow DAG `clickHouse_pyspark_dashboard` (airflow/dags/) run with
`airflow dags test` against real MinIO and a real `pfad dashboard`."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, exists, read_json
from kafka_util import consume_raw, create_topics, delete_topics
from test_dashboard import Dashboard

AIRFLOW = Path(os.environ.get("PFAD_CACHE", Path.home() / ".cache/pfad")) / "airflow-venv/bin/airflow"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    if not AIRFLOW.exists():
        pytest.fail(f"{AIRFLOW} is missing: run scripts/setup.sh test")
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "airflow/dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    return env


def dags_test(airflow_env, pfad, extra: dict, logical_date: str) -> subprocess.CompletedProcess:
    env = {**airflow_env, **extra, "PFAD_BIN": str(pfad.binary)}
    return subprocess.run([str(AIRFLOW), "dags", "test", "clickHouse_pyspark_dashboard", logical_date], env=env,
                          capture_output=True, text=True, timeout=300)


def test_dag_is_declared_as_the_reference(airflow_env):
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
    out = subprocess.run([str(AIRFLOW.parent / "python"), "-c", probe], env=airflow_env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    dag = json.loads(out.stdout.strip().splitlines()[-1])
    assert dag == {"tasks": ["analyze", "fraud", "report"], "max_active_runs": 2, "catchup": False,
                   "schedule": "* * * * *", "retries": 1, "retry_delay": 3.0}


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
        assert dashboard.call("GET", "/report") == (200, report)
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
        assert dashboard.call("GET", "/report") == (200, report)

        extra["PFAD_FRAUD_MODEL"] = str(model)
        run = dags_test(airflow_env, pfad_s3, extra, "2025-01-15T06:32:00+00:00")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        report = read_json(s3, f"{bucket}/2025-01-15_10-01.json")
        fraud = report["report"]["fraud"]
        assert fraud["status"] == "scored" and fraud["window"]["objects"] == 2 and fraud["new_alerts"] > 0
        assert exists(s3, f"{bucket}/2025-01-15_10-01.scores.parquet")
        assert dashboard.call("GET", "/report") == (200, report)
        alerts = consume_raw(bootstrap, topic, 1, expected=fraud["new_alerts"])
        assert len(alerts) == fraud["new_alerts"]
        assert {json.loads(m.value())["minute"] for m in alerts} == {"2025-01-15_10-01"}
    finally:
        dashboard.stop()
        delete_topics(bootstrap, [topic])


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
        assert dashboard.call("GET", "/report") == (200, report)
    finally:
        dashboard.stop()
