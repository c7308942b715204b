"""Fraud scoring in the live pipeline (docs/FRAUD.md section 6), against real MinIO
and Kafka: pfad backfill scores the window ending with each minute, writes the
scores object beside it, adds the report's fraud object (stored and posted) and
alerts each newly flagged entity once on the alerts topic, across a restart; a
missing or corrupt model only says why in the report."""
from __future__ import annotations

import json
import uuid

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from conftest import Pfad, as_stored, exists, read_json
from kafka_util import consume_raw, create_topics, delete_topics
from test_dashboard import Dashboard

MINUTES = ["2025-01-15_10-00", "2025-01-15_10-01", "2025-01-15_10-02"]


@pytest.fixture(scope="module")
def model(pfad, tmp_path_factory):
    """A model trained with the defaults on labelled minutes of another seed and hour."""
    d = tmp_path_factory.mktemp("model")
    gen = pfad.run("gen", str(d / "train"), "--rows", "6000", "--minute", "2025-01-15 08:00", "--minutes", "4",
                   "--fraud", "0.1", "--seed", "1")
    assert gen.code == 0, gen.stderr
    train = pfad.run("fraud", "train", str(d / "train"), "--out", str(d / "model.pfm"), timeout=300)
    assert train.code == 0, train.stderr
    return d / "model.pfm"


@pytest.fixture
def alerts_topic(kafka_env):
    topic = f"fraud-test-{uuid.uuid4().hex[:8]}.fraud"
    create_topics(kafka_env["PFAD_KAFKA_BOOTSTRAP"], {topic: 3})
    yield topic
    delete_topics(kafka_env["PFAD_KAFKA_BOOTSTRAP"], [topic])


def live_minutes(pfad_s3, bucket, tmp_path):
    """Three minutes with fraud actors in the bucket; their labels elsewhere (never read by scoring)."""
    gen = pfad_s3.run("gen", f"s3://{bucket}", "--rows", "6000", "--minute", "2025-01-15 10:00", "--minutes", "3",
                      "--fraud", "0.05", "--seed", "7", "--labels", str(tmp_path / "labels"))
    assert gen.code == 0, gen.stderr


def backfill(pfad, bucket, tmp_path, first, last, *extra, dashboard=None, state="runs.db"):
    return pfad.run("backfill", "--source", f"s3a://{bucket}", "--from", first, "--to", last,
                    "--dashboard", dashboard.base if dashboard else "", "--state", str(tmp_path / state),
                    "--retry-delay", "0.1", *extra, timeout=300)


def flagged(s3: pafs.S3FileSystem, path: str) -> set[tuple[str, str]]:
    with s3.open_input_file(path) as f:
        rows = pq.read_table(f).to_pylist()
    return {(r["entity_kind"], r["entity_id"]) for r in rows if r["is_fraud"]}


def test_backfill_scores_reports_and_alerts_each_flagged_entity_once(pfad_s3, s3, bucket, tmp_path, model,
                                                                    kafka_env, alerts_topic):
    live_minutes(pfad_s3, bucket, tmp_path)
    env_pfad = Pfad(pfad_s3.binary, {**pfad_s3.env, "PFAD_KAFKA_BOOTSTRAP": kafka_env["PFAD_KAFKA_BOOTSTRAP"],
                                      "PFAD_FRAUD_MODEL": str(model)})
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        # Two minutes, then a restart (a new process and run state) for the third.
        first = backfill(env_pfad, bucket, tmp_path, "2025-01-15 10:00", "2025-01-15 10:01",
                         "--fraud-alerts-topic", alerts_topic, dashboard=dashboard)
        assert first.code == 0, first.stderr
        second = backfill(env_pfad, bucket, tmp_path, "2025-01-15 10:02", "2025-01-15 10:02",
                          "--fraud-alerts-topic", alerts_topic, dashboard=dashboard, state="runs2.db")
        assert second.code == 0, second.stderr
        _, history = dashboard.call("GET", "/reports?limit=10")
        posted = {r["report"]["report"]["file_name"]: r["report"] for r in history["reports"]}
    finally:
        dashboard.stop()

    new_alerts, ever_flagged = 0, set()
    for i, minute in enumerate(MINUTES):
        stored = read_json(s3, f"{bucket}/{minute}.json")
        assert posted[f"{minute}.json"] == as_stored(stored)
        report = stored["report"]
        assert report["total_events"] == 6000  # the reference keys are still there
        fraud = report["fraud"]
        assert fraud["status"] == "scored", fraud
        assert fraud["model"].startswith(("trees_graph", "gnn"))
        assert fraud["window"] == {"minutes": fraud["window"]["minutes"], "objects": i + 1, "events": 6000 * (i + 1),
                                   "first": MINUTES[0], "last": minute}
        scores_path = f"{bucket}/{minute}.scores.parquet"
        assert exists(s3, scores_path)
        with s3.open_input_file(scores_path) as f:
            rows = pq.read_table(f).to_pylist()
        for kind in ("user", "session"):
            of_kind = [r for r in rows if r["entity_kind"] == kind]
            assert fraud["scored"][kind] == len(of_kind) > 0
            assert fraud["flagged"][kind] == sum(r["is_fraud"] for r in of_kind)
            assert fraud["histogram"]["bins"] == 10 and sum(fraud["histogram"][kind]) == len(of_kind)
        assert fraud["flagged"]["user"] + fraud["flagged"]["session"] > 0, "fraud actors were not flagged"
        top = fraud["top"]
        assert len(top) == 10 and [t["fraud_score"] for t in top] == sorted((r["fraud_score"] for r in rows),
                                                                              reverse=True)[:10]
        new_alerts += fraud["new_alerts"]
        ever_flagged |= flagged(s3, scores_path)
    assert list((tmp_path / "labels").glob("*.labels.parquet")), "labels went elsewhere"
    assert not any(i.base_name.endswith(".labels.parquet") for i in s3.get_file_info(pafs.FileSelector(bucket)))

    messages = consume_raw(kafka_env["PFAD_KAFKA_BOOTSTRAP"], alerts_topic, 3, expected=new_alerts)
    alerts = [json.loads(m.value()) for m in messages]
    keys = [(a["entity_kind"], a["entity_id"]) for a in alerts]
    assert len(keys) == len(set(keys)), "an entity was alerted twice"
    assert set(keys) == ever_flagged and len(alerts) == new_alerts
    assert all(m.key().decode() == a["entity_id"] for m, a in zip(messages, alerts))
    a = alerts[0]
    assert set(a) == {"entity_kind", "entity_id", "fraud_score", "threshold", "model", "minute", "top_features"}
    assert a["fraud_score"] >= a["threshold"] and a["minute"] in MINUTES

    # Running the minutes again (another run state) alerts nobody anew.
    again = backfill(env_pfad, bucket, tmp_path, "2025-01-15 10:01", "2025-01-15 10:02",
                     "--fraud-alerts-topic", alerts_topic, state="runs3.db")
    assert again.code == 0, again.stderr
    assert read_json(s3, f"{bucket}/{MINUTES[2]}.json")["report"]["fraud"]["new_alerts"] == 0
    assert len(consume_raw(kafka_env["PFAD_KAFKA_BOOTSTRAP"], alerts_topic, 3, quiet=1.0)) == len(alerts)


@pytest.mark.parametrize("case", ["none", "missing", "corrupt"])
def test_a_missing_or_corrupt_model_still_writes_and_posts_the_report(pfad_s3, s3, bucket, tmp_path, model, case):
    live_minutes(pfad_s3, bucket, tmp_path)
    extra = []
    if case == "missing":
        extra = ["--fraud-model", str(tmp_path / "absent.pfm")]
    elif case == "corrupt":
        bad = tmp_path / "bad.pfm"
        bad.write_bytes(model.read_bytes()[:-9])
        extra = ["--fraud-model", str(bad)]
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        run = backfill(pfad_s3, bucket, tmp_path, "2025-01-15 09:59", "2025-01-15 10:00", *extra, dashboard=dashboard)
        assert run.code == 0, run.stderr
        assert run.stdout.split() == ["2025-01-15_09-59", "success", "2025-01-15_10-00", "success"]
        _, latest = dashboard.call("GET", "/report")
    finally:
        dashboard.stop()
    # A minute without data keeps the reference's plain report.
    assert read_json(s3, f"{bucket}/2025-01-15_09-59.json") == {"report": "No data for 2025-01-15_09-59."}
    stored = read_json(s3, f"{bucket}/2025-01-15_10-00.json")
    assert latest == stored and stored["report"]["total_events"] == 6000
    fraud = stored["report"]["fraud"]
    assert fraud["status"] == "not_run" and set(fraud) == {"status", "reason", "new_alerts", "scoring_ms"}
    expected = {"none": "no fraud model configured", "missing": "absent.pfm: no such file",
                "corrupt": "bad.pfm: corrupt"}[case]
    assert expected in fraud["reason"]
    assert expected in run.stderr  # logged clearly
    assert not exists(s3, f"{bucket}/2025-01-15_10-00.scores.parquet")


def test_fraud_score_report_is_the_airflow_step(pfad_s3, s3, bucket, tmp_path, model, kafka_env, alerts_topic):
    """pfad analyze, then pfad fraud score --report --alerts: the same fraud object."""
    live_minutes(pfad_s3, bucket, tmp_path)
    minute = f"s3://{bucket}/{MINUTES[0]}.parquet"
    assert pfad_s3.run("analyze", minute).code == 0
    env_pfad = Pfad(pfad_s3.binary, {**pfad_s3.env, "PFAD_KAFKA_BOOTSTRAP": kafka_env["PFAD_KAFKA_BOOTSTRAP"]})
    score = env_pfad.run("fraud", "score", minute, "--model", str(model), "--report", "--alerts",
                         "--alerts-topic", alerts_topic, timeout=120)
    assert score.code == 0, score.stderr
    fraud = read_json(s3, f"{bucket}/{MINUTES[0]}.json")["report"]["fraud"]
    assert fraud["status"] == "scored" and fraud["window"]["objects"] == 1
    assert len(consume_raw(kafka_env["PFAD_KAFKA_BOOTSTRAP"], alerts_topic, 3, expected=fraud["new_alerts"])) \
        == fraud["new_alerts"] > 0
    # A corrupt model: exit 0, the reason in the report.
    bad = tmp_path / "bad.pfm"
    bad.write_text("PFAD-FRAUD-MODEL 1\n{")
    corrupt = pfad_s3.run("fraud", "score", minute, "--model", str(bad), "--report")
    assert corrupt.code == 0, corrupt.stderr
    fraud = read_json(s3, f"{bucket}/{MINUTES[0]}.json")["report"]["fraud"]
    assert fraud["status"] == "not_run" and "bad.pfm: corrupt" in fraud["reason"]
    # A minute without data: nothing to score, exit 0.
    none = f"s3://{bucket}/2025-01-15_09-59.parquet"
    assert pfad_s3.run("analyze", none).code == 0
    assert pfad_s3.run("fraud", "score", none, "--model", str(model), "--report").code == 0
