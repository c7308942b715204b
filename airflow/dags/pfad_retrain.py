"""PFAD's analyst loop as an Airflow DAG (docs/FRAUD.md section 9): every hour, take in the labels
that arrived (the labels topic and the dashboard's review verdicts) with `pfad labels consume
--once`, then `pfad fraud retrain`: a challenger trained on the last hours of minutes and labels,
judged against the model in use on the newest hour held out, promoted only if it is at least as
good. The minute DAG (clickHouse_pyspark_dashboard) reloads the promoted model file at its next
run. Its own DAG, not a task of the minute DAG: it runs hourly and for minutes, and a slow
retrain must never hold up a minute's report.

Environment of the workers (as for the minute DAG):
  PFAD_BIN              the pfad binary (default: pfad on PATH)
  PFAD_SOURCE           where the minute objects are (s3a://bucket[/prefix] or a directory)
  PFAD_LABELS           the labels store (default: $PFAD_SOURCE/labels)
  PFAD_FRAUD_MODEL      the model file the minute DAG scores with; replaced on promotion
  PFAD_KAFKA_BOOTSTRAP  Kafka of the labels topic; PFAD_TOPIC the events topic (labels: <topic>.labels)
  PFAD_DASHBOARD_URL    the dashboard: its verdicts are labels, and the registry record goes to it
  PFAD_RETRAIN_HOURS    hours of minutes to train and judge on (default 6)
  PFAD_RETRAIN_HOLDOUT_MINUTES  the newest minutes held out to judge on (default 60)
  PFAD_RETRAIN_MARGIN   PR-AUC a challenger must gain over the champion (default 0)
The Airflow Variable `pfad_retrain_schedule` (a cron expression, read when the file is parsed)
overrides the hourly schedule.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Variable

with DAG(
    dag_id="pfad_retrain",
    schedule=Variable.get("pfad_retrain_schedule", default="0 * * * *"),
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["pfad"],
) as dag:
    pfad = '"${PFAD_BIN:-pfad}"'
    labels = '"${PFAD_LABELS:-$PFAD_SOURCE/labels}"'
    dashboard = '"${PFAD_DASHBOARD_URL:-http://127.0.0.1:8080}"'
    consume = BashOperator(
        task_id="labels",
        bash_command=(f'{pfad} labels consume --once --labels {labels} '
                      f'--topic "${{PFAD_TOPIC:-user_interactions}}" --dashboard {dashboard}'),
        append_env=True,
    )
    retrain = BashOperator(
        task_id="retrain",
        bash_command=(f'{pfad} fraud retrain "$PFAD_SOURCE" --labels {labels} '
                      '--hours "${PFAD_RETRAIN_HOURS:-6}" --holdout-minutes "${PFAD_RETRAIN_HOLDOUT_MINUTES:-60}" '
                      '--margin "${PFAD_RETRAIN_MARGIN:-0}" '
                      f'--dashboard {dashboard}'),
        append_env=True,
    )
    consume >> retrain
