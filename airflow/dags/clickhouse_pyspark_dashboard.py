"""PFAD's ETAR schedule as an Airflow DAG, for teams that run Airflow (docs/DESIGN.md, "Schedule").

Every minute, for the Asia/Tehran minute that just ended: when a ClickHouse URL is configured,
first export the minute from ClickHouse into PFAD_SOURCE with `pfad export` (docs/DESIGN.md,
"Warehouse export"; a minute without rows writes no object), then analyze its Parquet object with
`pfad analyze` (the report object is written beside it, or "No data for ..." when there is
no object), then score the window ending with that minute with `pfad fraud score --report
--alerts` (docs/FRAUD.md section 6: the scores object, the report's "fraud" object, each newly
flagged entity once on the alerts topic; a missing or corrupt model only writes the reason into
the report, it never fails the run), then send that report to the dashboard with `pfad report`.

Configuration comes from the environment of the Airflow workers:
  PFAD_BIN            the pfad binary (default: pfad on PATH)
  PFAD_SOURCE         where the minute objects are, e.g. s3a://events (required); with ClickHouse,
                      where each minute is exported to
  PFAD_CLICKHOUSE_URL the ClickHouse to export each minute from, http://host:port/<db>; unset = no
                      export task (the ingester writes the objects into PFAD_SOURCE itself)
  PFAD_CLICKHOUSE_USER, PFAD_CLICKHOUSE_PASSWORD   its login (or [clickhouse] in PFAD_CONFIG's file)
  PFAD_DASHBOARD_URL  dashboard base URL (default http://127.0.0.1:8080)
  PFAD_ENGINE         analysis engine for `pfad analyze`: local (default) or spark
  PFAD_SPARK_REMOTE   the Spark Connect server for the spark engine (default sc://127.0.0.1:15002)
  PFAD_FRAUD_MODEL    the fraud model file (`pfad fraud train`); unset = the report says scoring did not run
  PFAD_FRAUD_ALERTS_TOPIC  the alerts topic (default user_interactions.fraud)
  PFAD_KAFKA_BOOTSTRAP     Kafka of the alerts (default 127.0.0.1:9092)
  AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   for S3/MinIO

The Airflow Variables `pfad_engine`, `pfad_spark_remote` and `pfad_clickhouse_url`, when set, take
precedence over PFAD_ENGINE / PFAD_SPARK_REMOTE / PFAD_CLICKHOUSE_URL (e.g. `airflow variables set
pfad_engine spark` switches the running DAG to the Spark cluster without touching the workers'
environment). Whether the export task exists is decided when the DAG file is parsed (a Variable or
the environment then); its URL is read again when the task runs.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Variable

TEHRAN = ZoneInfo("Asia/Tehran")


def previous_minute(logical_date: datetime) -> str:
    """The object stem of the Tehran minute that ended when this run was due."""
    return (logical_date - timedelta(minutes=1)).astimezone(TEHRAN).strftime("%Y-%m-%d_%H-%M")


def clickhouse_configured() -> bool:
    """A ClickHouse URL is set (the Variable, else the environment): the minutes come from ClickHouse."""
    return bool(Variable.get("pfad_clickhouse_url", default=None) or os.environ.get("PFAD_CLICKHOUSE_URL"))


with DAG(
    dag_id="clickHouse_pyspark_dashboard",
    schedule="* * * * *",
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=2,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=3)},
    user_defined_macros={"previous_minute": previous_minute},
    tags=["pfad"],
) as dag:
    minute = "{{ previous_minute(logical_date) }}"
    pfad = '"${PFAD_BIN:-pfad}"'
    # Engine: the Airflow Variable, else the worker's PFAD_ENGINE, else local.
    engine = '"${PFAD_DAG_ENGINE:-${PFAD_ENGINE:-local}}"'
    analyze = BashOperator(
        task_id="analyze",
        bash_command=(f'{pfad} analyze --engine {engine} '
                      '${PFAD_DAG_SPARK_REMOTE:+--spark-remote "$PFAD_DAG_SPARK_REMOTE"} '
                      f'"$PFAD_SOURCE/{minute}.parquet"'),
        env={"PFAD_DAG_ENGINE": "{{ var.value.get('pfad_engine', '') }}",
             "PFAD_DAG_SPARK_REMOTE": "{{ var.value.get('pfad_spark_remote', '') }}"},
        append_env=True,
    )
    fraud = BashOperator(
        task_id="fraud",
        bash_command=f'{pfad} fraud score "$PFAD_SOURCE/{minute}.parquet" --report --alerts',
        append_env=True,
    )
    report = BashOperator(
        task_id="report",
        bash_command=f'{pfad} report "$PFAD_SOURCE/{minute}.json" --dashboard "${{PFAD_DASHBOARD_URL:-http://127.0.0.1:8080}}"',
        append_env=True,
    )
    analyze >> fraud >> report
    if clickhouse_configured():
        # `pfad export` takes the minute as its object stem; user and password come from the environment.
        export = BashOperator(
            task_id="export",
            bash_command=(f'{pfad} export '
                          '${PFAD_DAG_CLICKHOUSE_URL:+--clickhouse "$PFAD_DAG_CLICKHOUSE_URL"} '
                          f'--minute "{minute}" --to "$PFAD_SOURCE"'),
            env={"PFAD_DAG_CLICKHOUSE_URL": "{{ var.value.get('pfad_clickhouse_url', '') }}"},
            append_env=True,
        )
        export >> analyze
