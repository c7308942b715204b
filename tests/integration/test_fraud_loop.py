"""The analyst loop's retrain (docs/FRAUD.md section 9) on MinIO: `pfad fraud retrain` learns from
the labels store (labels that arrived after their events, not the generator's labels beside the
minutes), judges challenger against champion on the held-out newest minutes, promotes by an
atomic rename, keeps every candidate in the registry, and posts the record to the dashboard."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

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
    import datetime
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
    dashboard = Dashboard(pfad_s3, tmp_path / "dash.db", "--token", "analyst-secret")
    try:
        common = ["fraud", "retrain", prefix, "--model", str(model), "--hours", "1", "--holdout-minutes", "6",
                  "--window-minutes", "5", "--rounds", "30", "--dashboard", dashboard.base, "--json"]
        first = pfad_s3.run(*common, env={"PFAD_DASHBOARD_TOKEN": "analyst-secret"}, timeout=300)
        assert first.code == 0, first.stderr
        record = json.loads(first.stdout)
        assert record["promoted"], record
        assert record["labels"]["train"]["rows_from_store"] > 0
        assert record["labels"]["train"]["rows_beside_minutes"] == 0
        assert record["pr_auc"]["challenger"] > 0.5
        assert model.read_bytes() == (tmp_path / "model.pfm.v1").read_bytes()

        # A challenger that must beat the champion by more than it can: not promoted, said why.
        second = pfad_s3.run(*common, "--margin", "0.5", env={"PFAD_DASHBOARD_TOKEN": "analyst-secret"}, timeout=300)
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
