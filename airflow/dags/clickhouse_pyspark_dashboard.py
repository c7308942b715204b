"""PFAD's ETAR schedule as an Airflow DAG, for teams that run Airflow (DESIGN.md section 5).

Every minute, for the Asia/Tehran minute that just ended: analyze its Parquet object with
`pfad analyze` (the report object is written beside it, or "No data for ..." when there is
no object), then send that report to the dashboard with `pfad report`.

Configuration comes from the environment of the Airflow workers:
  PFAD_BIN            the pfad binary (default: pfad on PATH)
  PFAD_SOURCE         where the minute objects are, e.g. s3a://events (required)
  PFAD_DASHBOARD_URL  dashboard base URL (default http://127.0.0.1:8080)
  PFAD_ENGINE         analysis engine for `pfad analyze` (default local)
  AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   for S3/MinIO
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

TEHRAN = ZoneInfo("Asia/Tehran")


def previous_minute(logical_date: datetime) -> str:
    """The object stem of the Tehran minute that ended when this run was due."""
    return (logical_date - timedelta(minutes=1)).astimezone(TEHRAN).strftime("%Y-%m-%d_%H-%M")


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
    analyze = BashOperator(
        task_id="analyze",
        bash_command=f'{pfad} analyze "$PFAD_SOURCE/{minute}.parquet"',
        append_env=True,
    )
    report = BashOperator(
        task_id="report",
        bash_command=f'{pfad} report "$PFAD_SOURCE/{minute}.json" --dashboard "${{PFAD_DASHBOARD_URL:-http://127.0.0.1:8080}}"',
        append_env=True,
    )
    analyze >> report
