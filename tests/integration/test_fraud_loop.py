"""The analyst loop's retrain (docs/FRAUD.md section 9) on MinIO: `pfad fraud retrain` learns from
the labels store (labels that arrived after their events, not the generator's labels beside the
minutes), judges challenger against champion on the held-out newest minutes, promotes by an
atomic rename, keeps every candidate in the registry, and posts the record to the dashboard."""
from __future__ import annotations

import datetime
import json
import secrets
import time
import uuid

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from conftest import LoggedProcess
from kafka_util import START, common_args, consume_raw, create_topics, delete_topics, kafka_envs
from test_dashboard import Dashboard


def move_labels_into_the_store(s3: pafs.S3FileSystem, bucket: str) -> int:
    """Moves the generator's labels out from beside the minutes into the labels store, as a
    chargeback feed a day later would bring them (source, labelled_at, ref)."""
    rows = []
    for info in s3.get_file_info(pafs.FileSelector(f"{bucket}/w")):
        if not info.base_name.endswith(".labels.parquet"):
            continue
        table = pq.read_table(info.path, filesystem=s3)
        for r in table.to_pylist():
            r.update(source="chargeback", labelled_at=r["last_ms"] + 86_400_000, ref=f"test/{len(rows)}")
            rows.append(r)
        s3.delete_file(info.path)
    days = {}
    for r in rows:
        day = datetime.datetime.fromtimestamp(r["first_ms"] / 1000, datetime.timezone.utc).strftime("%Y-%m-%d")
        days.setdefault(day, []).append(r)
    schema = pa.schema([("entity_kind", pa.string(), False), ("entity_id", pa.string(), False),
                        ("scenario", pa.string(), False), ("first_ms", pa.int64(), False),
                        ("last_ms", pa.int64(), False), ("source", pa.string(), False),
                        ("labelled_at", pa.int64(), False), ("ref", pa.string(), False)])
    for day, part in days.items():
        pq.write_table(pa.Table.from_pylist(part, schema=schema), f"{bucket}/w/labels/{day}/chargeback-0.parquet",
                       filesystem=s3)
    return len(rows)


def test_retrain_learns_from_the_labels_store_promotes_and_posts_the_record(pfad_s3, s3, bucket, tmp_path):
    prefix = f"s3://{bucket}/w"
    gen = pfad_s3.run("gen", prefix, "--rows", "8000", "--minute", "2026-11-01 10:00", "--minutes", "16",
                      "--seed", "21", "--fraud", "0.1", timeout=180)
    assert gen.code == 0, gen.stderr
    assert move_labels_into_the_store(s3, bucket) > 0
    model = tmp_path / "model.pfm"
    token = secrets.token_urlsafe(24)
    dashboard = Dashboard(pfad_s3, tmp_path / "dash.db", env={"PFAD_DASHBOARD_TOKEN": token})
    try:
        common = ["fraud", "retrain", prefix, "--model", str(model), "--hours", "1", "--holdout-minutes", "6",
                  "--window-minutes", "5", "--rounds", "30", "--dashboard", dashboard.base, "--json"]
        first = pfad_s3.run(*common, env={"PFAD_DASHBOARD_TOKEN": token}, timeout=300)
        assert first.code == 0, first.stderr
        record = json.loads(first.stdout)
        assert record["promoted"], record
        assert record["labels"]["train"]["rows_from_store"] > 0
        assert record["labels"]["train"]["rows_beside_minutes"] == 0
        assert record["pr_auc"]["challenger"] > 0.5
        assert model.read_bytes() == (tmp_path / "model.pfm.v1").read_bytes()

        # A challenger that must beat the champion by more than it can: not promoted, said why.
        second = pfad_s3.run(*common, "--margin", "0.5", env={"PFAD_DASHBOARD_TOKEN": token}, timeout=300)
        assert second.code == 0, second.stderr
        record2 = json.loads(second.stdout)
        assert not record2["promoted"]
        assert "below the champion" in record2["reason"]
        assert model.read_bytes() == (tmp_path / "model.pfm.v1").read_bytes()

        status, body = dashboard.call("GET", "/models")
        assert status == 200
        assert [m["version"] for m in body["models"]] == [2, 1]
        assert body["models"][0]["reason"] == record2["reason"]
        assert body["models"][1]["model_file"] == str(model)
        # Without the write token the dashboard refuses the record (retrain still succeeds: the
        # registry file is the record) and says so.
        third = pfad_s3.run(*common, "--margin", "0.5", env={"PFAD_DASHBOARD_TOKEN": ""}, timeout=300)
        assert third.code == 0, third.stderr
        assert "not posted" in third.stderr and "401" in third.stderr
    finally:
        assert dashboard.stop() == 0

    listed = pfad_s3.run("fraud", "models", "--model", str(model))
    assert listed.code == 0, listed.stderr
    assert "| v1 |" in listed.stdout and "| v3 |" in listed.stdout
    assert "model in use" in listed.stdout and "registry v1" in listed.stdout


def test_retrain_without_a_positive_label_does_not_promote(pfad_s3, s3, bucket, tmp_path):
    prefix = f"s3://{bucket}/w"
    gen = pfad_s3.run("gen", prefix, "--rows", "3000", "--minute", "2026-11-01 10:00", "--minutes", "8",
                      "--seed", "4", "--fraud", "0.0", timeout=120)
    assert gen.code == 0, gen.stderr
    model = tmp_path / "model.pfm"
    run = pfad_s3.run("fraud", "retrain", prefix, "--model", str(model), "--hours", "1", "--holdout-minutes", "2",
                      timeout=120)
    assert run.code == 0, run.stderr
    assert "not promoted" in run.stdout and "no positive label" in run.stdout
    assert not model.exists()


def wait_reports(dashboard: Dashboard, names: set[str], timeout: float = 120) -> dict[str, dict]:
    deadline, by_name = time.monotonic() + timeout, {}
    while time.monotonic() < deadline and not names <= set(by_name):
        reports = [r["report"]["report"] for r in dashboard.call("GET", "/reports?limit=50")[1]["reports"]]
        by_name = {r["file_name"]: r for r in reports if isinstance(r, dict)}
        time.sleep(0.5)
    assert names <= set(by_name), sorted(by_name)
    return by_name


@pytest.mark.release_only  # its C++ runs under ASan in the other tests of this file and the units; the CI budget
def test_the_loop_end_to_end(pfad_s3, kafka_env, registry_env, minio_env, topics, bucket, s3, tmp_path):
    """produce --fraud -> ingest -> run with a model -> alerts and entity views -> a verdict ->
    labels consume (topic + verdicts) -> retrain -> the promoted model scores the next minute in the
    same `pfad run` process."""
    topic, _ = topics
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    create_topics(bootstrap, {f"{topic}.labels": 3, f"{topic}.fraud": 1})
    env = {**kafka_envs(kafka_env, registry_env), "PFAD_FRAUD_ALERTS_TOPIC": f"{topic}.fraud"}
    # The champion: trees on generated minutes of another seed.
    assert pfad_s3.run("gen", str(tmp_path / "train"), "--rows", "6000", "--minute", "2025-01-14 10:00", "--minutes",
                       "4", "--fraud", "0.1", "--seed", "3").code == 0
    model = tmp_path / "model.pfm"
    trained = pfad_s3.run("fraud", "train", str(tmp_path / "train"), "--out", str(model), "--model", "trees_graph",
                          "--window-minutes", "5", timeout=300)
    assert trained.code == 0, trained.stderr
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    run = LoggedProcess([pfad_s3.binary, "run", "--source", f"s3://{bucket}", "--dashboard", dashboard.base,
                         "--state", tmp_path / "runs.db", "--announcements", f"{topic}.windows",
                         "--fraud-model", model], {**pfad_s3.env, **env, "PFAD_LOG_LEVEL": "info"},
                        tmp_path / "run.log")
    group = f"g-{uuid.uuid4().hex[:8]}"
    try:
        time.sleep(2)  # following the windows topic from its end
        produce = pfad_s3.run("produce", "--topic", topic, "--count", "48000", "--minutes", "8", "--start-time", START,
                              "--seed", "8", "--fraud", "0.1", env=env, timeout=180)
        assert produce.code == 0, produce.stderr
        ingest = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", group), "--until-idle", env=env,
                             timeout=180)
        assert ingest.code == 0, ingest.stderr
        minutes = [f"2025-01-15_10-0{i}" for i in range(8)]
        by_name = wait_reports(dashboard, {f"{m}.json" for m in minutes})
        assert all(by_name[f"{m}.json"]["fraud"]["status"] == "scored" for m in minutes)
        assert sum(by_name[f"{m}.json"]["fraud"]["new_alerts"] for m in minutes) > 0
        assert consume_raw(bootstrap, f"{topic}.fraud", 1, timeout=30)
        # An analyst opens the newest open alert and judges it.
        status, queue = dashboard.call("GET", "/alerts")
        assert status == 200 and queue["alerts"], queue
        alert = queue["alerts"][0]
        status, view = dashboard.call("GET", f"/entities/{alert['entity_kind']}/{alert['entity_id']}")
        assert status == 200 and view["investigation"]["why"] and view["investigation"]["neighbours"]["nodes"]
        status, verdict = dashboard.call("POST", "/reviews", {"entity_kind": alert["entity_kind"],
                                                              "entity_id": alert["entity_id"], "verdict": "fraud"})
        assert status == 201, verdict

        # The labels that arrived (the producer's, the verdict), once each, into the store.
        labels = pfad_s3.run("labels", "consume", "--once", "--topic", topic, "--bootstrap", bootstrap, "--labels",
                             f"s3://{bucket}/labels", "--group", f"l-{group}", "--dashboard", dashboard.base,
                             env=env, timeout=180)
        assert labels.code == 0, labels.stderr
        rows = []
        for info in s3.get_file_info(pafs.FileSelector(f"{bucket}/labels", recursive=True)):
            if info.path.endswith(".parquet"):
                rows += pq.read_table(info.path, filesystem=s3).to_pylist()
        refs = {r["ref"] for r in rows}
        assert f"review/{verdict['id']}" in refs
        assert len(refs) == len(consume_raw(bootstrap, f"{topic}.labels", 3, timeout=60)) + 1

        # Retrain on them; promotion is forced (margin -1): that the rule promotes only a challenger at least as
        # good is test_retrain_learns_from_the_labels_store_promotes_and_posts_the_record's. Here: the running
        # `pfad run` scores the next minute with the promoted file, without a restart.
        retrain = pfad_s3.run("fraud", "retrain", f"s3://{bucket}", "--model", str(model), "--hours", "1",
                              "--holdout-minutes", "3", "--window-minutes", "5", "--margin", "-1", "--json",
                              "--dashboard", dashboard.base, timeout=300)
        assert retrain.code == 0, retrain.stderr
        record = json.loads(retrain.stdout)
        assert record["promoted"] and record["labels"]["train"]["rows_from_store"] > 0, record
        assert dashboard.call("GET", "/models")[1]["models"][0]["version"] == record["version"]
        loaded_before = run.output().count("fraud model loaded")
        more = pfad_s3.run("produce", "--topic", topic, "--count", "6000", "--minutes", "1", "--start-time",
                           "2025-01-15 10:08", "--seed", "9", "--fraud", "0.1", env=env, timeout=120)
        assert more.code == 0, more.stderr
        ingest = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", group), "--until-idle", env=env,
                             timeout=120)
        assert ingest.code == 0, ingest.stderr
        scored = wait_reports(dashboard, {"2025-01-15_10-08.json"})["2025-01-15_10-08.json"]
        assert scored["fraud"]["status"] == "scored"
        assert run.output().count("fraud model loaded") == loaded_before + 1, run.output()[-3000:]
    finally:
        code = run.stop()
        assert dashboard.stop() == 0
        delete_topics(bootstrap, [f"{topic}.labels", f"{topic}.labels.dlq", f"{topic}.fraud"])
    assert code == 0, run.output()[-3000:]
