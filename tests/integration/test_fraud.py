"""`pfad fraud eval` and `pfad fraud features` (docs/FRAUD.md sections 2 and 3) on labelled minutes
from `pfad gen --fraud`: the report's shape in Markdown, JSON and SVG, the feature tables against
the minute objects, and bad input as exit 3 with one clear line; one test runs the same window from a
MinIO prefix (MinIO is started by make test)."""
from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

MODELS = ("rules", "trees_node", "trees_graph", "trees_graph_shuffled", "gnn_sage", "gnn_hetero", "gnn_hetero_shuffled")
KINDS = ("user", "session")
N_FEATURES = 83
BAD_INPUT = 3
EVAL = ("--seeds", "2", "--rounds", "30", "--gnn-epochs", "20")


@pytest.fixture(scope="module")
def window(pfad, tmp_path_factory) -> Path:
    """Six labelled minutes; 8000 rows a minute so that the test window holds fraud of both kinds
    (with 3000 it holds none, and every figure is that of an empty class)."""
    out = tmp_path_factory.mktemp("fraud") / "window"
    run = pfad.run("gen", str(out), "--rows", "8000", "--minute", "2026-11-01 10:00", "--minutes", "6",
                   "--seed", "3", "--fraud", "0.1", timeout=120)
    assert run.code == 0, run.stderr
    return out


def minute_objects(window: Path) -> list[Path]:
    """The minute objects (YYYY-MM-DD_HH-MM.parquet), not the labels or scores beside them."""
    return sorted(p for p in window.glob("*.parquet") if re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d\.parquet", p.name))


def table_rows(markdown: str, section: str) -> list[list[str]]:
    """The table rows (cells stripped) under `## <section>`, header and rule left out."""
    lines = markdown.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0].splitlines()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    return rows[2:]


def test_eval_prints_every_model_for_users_and_sessions(pfad, window):
    run = pfad.run("fraud", "eval", str(window), *EVAL, timeout=120)
    assert run.code == 0, run.stderr
    for section in ("Users", "Sessions"):
        rows = table_rows(run.stdout, section)
        assert [r[0] for r in rows] == list(MODELS), section
        for r in rows:
            pr_auc = float(r[1].split("±")[0])
            assert 0 <= pr_auc <= 1, (section, r)


def test_eval_json_and_pr_curves(pfad, window, tmp_path):
    svg = tmp_path / "x.svg"
    run = pfad.run("fraud", "eval", str(window), *EVAL, "--json", "--pr-curves", str(svg), timeout=120)
    assert run.code == 0, run.stderr
    report = json.loads(run.stdout)
    runs = {(r["model"], r["kind"], r["seed"]) for r in report["runs"]}
    assert runs == {(m, k, s) for m in MODELS for k in KINDS for s in (1, 2)}
    for r in report["runs"]:
        assert 0 <= r["pr_auc"] <= 1 and 0 <= r["roc_auc"] <= 1, r
        assert r["test_positives"] > 0, r
    root = ET.parse(svg).getroot()
    assert root.tag.rsplit("}", 1)[-1] == "svg"
    curves = [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "polyline"]
    assert len(curves) == len(MODELS) * len(KINDS)
    assert all(c.get("points", "").strip() for c in curves)


@pytest.mark.parametrize("window_minutes", [None, 4])
def test_features_are_one_sorted_row_per_entity_of_the_last_minutes(pfad, window, tmp_path, window_minutes):
    out = tmp_path / "features"
    flags = [] if window_minutes is None else ["--window-minutes", str(window_minutes)]
    run = pfad.run("fraud", "features", str(window), "--out", str(out), *flags, timeout=120)
    assert run.code == 0, run.stderr
    # The default window is the last 10 minutes: all six here.
    objects = minute_objects(window)[-(window_minutes or 10):]
    events = [pq.read_table(p, columns=["user_id", "session_id"]) for p in objects]
    for kind in KINDS:
        table = pq.read_table(out / f"{kind}_features.parquet")
        assert table.column_names[0] == "entity_id"
        assert len(table.column_names) == 1 + N_FEATURES
        assert all(str(f.type) == "double" for f in table.schema if f.name != "entity_id"), kind
        ids = table.column("entity_id").to_pylist()
        assert ids == sorted(ids), kind
        expected = {i for t in events for i in t.column(f"{kind}_id").to_pylist()}
        assert ids == sorted(expected), kind


def test_missing_labels_is_one_line_naming_the_labels_object(pfad, window, tmp_path):
    copy = tmp_path / "window"
    shutil.copytree(window, copy)
    labels = copy / "2026-11-01_10-02.labels.parquet"
    labels.unlink()
    run = pfad.run("fraud", "eval", str(copy), *EVAL, timeout=120)
    assert run.code == BAD_INPUT, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert str(labels) in lines[0]
    assert run.stdout == ""


def test_interactions_with_a_bad_label_is_bad_input(pfad, tmp_path):
    tsv = tmp_path / "reviews.tsv"
    tsv.write_text("user\titem\tlabel\nu1\ti1\t1\nu2\ti1\t0\nu3\ti2\tspam\n")
    run = pfad.run("fraud", "eval", "--interactions", str(tsv), *EVAL)
    assert run.code == BAD_INPUT, run.stderr
    assert "'spam'" in run.stderr and "row 3" in run.stderr, run.stderr


def test_eval_needs_a_window_or_interactions(pfad):
    run = pfad.run("fraud", "eval", *EVAL)
    assert run.code != 0
    assert "--interactions" in run.stderr and "minute objects" in run.stderr, run.stderr


def test_a_training_window_without_fraud_is_bad_input(pfad, tmp_path):
    run = pfad.run("gen", str(tmp_path), "--rows", "2000", "--minute", "2026-11-01 10:00", "--minutes", "3",
                   "--seed", "1", "--fraud", "0")
    assert run.code == 0, run.stderr
    assert len(list(tmp_path.glob("*.labels.parquet"))) == 3
    run = pfad.run("fraud", "eval", str(tmp_path), *EVAL)
    assert run.code == BAD_INPUT, run.stderr
    assert "models need both classes" in run.stderr, run.stderr


def test_eval_and_features_read_labelled_minutes_from_minio(pfad_s3, bucket, s3, tmp_path):
    """The same window in a MinIO prefix: labels beside the minutes there, features written back to S3."""
    prefix = f"s3://{bucket}/window"
    gen = pfad_s3.run("gen", prefix, "--rows", "8000", "--minute", "2026-11-01 10:00", "--minutes", "6",
                      "--seed", "3", "--fraud", "0.1", timeout=180)
    assert gen.code == 0, gen.stderr
    names = sorted(info.base_name for info in s3.get_file_info(pafs.FileSelector(f"{bucket}/window")))
    assert "2026-11-01_10-00.labels.parquet" in names and "2026-11-01_10-05.parquet" in names
    run = pfad_s3.run("fraud", "eval", prefix, *EVAL, "--json", timeout=300)
    assert run.code == 0, run.stderr
    runs = json.loads(run.stdout)["runs"]
    assert {(r["model"], r["kind"]) for r in runs} == {(m, k) for m in MODELS for k in KINDS}
    features = pfad_s3.run("fraud", "features", prefix, "--out", f"s3://{bucket}/features", timeout=120)
    assert features.code == 0, features.stderr
    for kind in KINDS:
        with s3.open_input_file(f"{bucket}/features/{kind}_features.parquet") as f:
            table = pq.read_table(f)
        assert table.num_columns == 1 + N_FEATURES and table.num_rows > 0, kind



@pytest.mark.parametrize("kind", ["trees_graph", "gnn_hetero"])
def test_train_then_score_writes_the_scores_object_beside_the_minute(pfad, window, tmp_path, kind):
    model = tmp_path / "model.pfm"
    train = pfad.run("fraud", "train", str(window), "--out", str(model), "--window-minutes", "3", "--rounds", "30",
                     "--model", kind, "--gnn-epochs", "30", timeout=180)
    assert train.code == 0, train.stderr
    version = 1 if kind == "trees_graph" else 2
    assert model.read_bytes().startswith(f"PFAD-FRAUD-MODEL {version}\n".encode())
    minute = minute_objects(window)[-1]
    score = pfad.run("fraud", "score", str(minute), "--model", str(model), timeout=120)
    assert score.code == 0, score.stderr
    scores = pq.read_table(minute.with_name(minute.name.replace(".parquet", ".scores.parquet")))
    assert scores.column_names == ["entity_kind", "entity_id", "fraud_score", "is_fraud", "model", "top_features"]
    rows = scores.to_pylist()
    assert {r["entity_kind"] for r in rows} == {"user", "session"}
    assert all(0 <= r["fraud_score"] <= 1 for r in rows)
    if kind == "trees_graph":
        assert all(r["is_fraud"] == (r["fraud_score"] >= 0.5) for r in rows)
    for k in ("user", "session"):  # one threshold per kind: every flagged score above every other
        flagged = [r["fraud_score"] for r in rows if r["entity_kind"] == k and r["is_fraud"]]
        other = [r["fraud_score"] for r in rows if r["entity_kind"] == k and not r["is_fraud"]]
        assert not flagged or not other or min(flagged) > max(other)
    assert any(r["top_features"] for r in rows if r["is_fraud"])
    assert all(r["model"] == f"{kind} v{version}" for r in rows)
    # The window is the model's 3 minutes up to the scored one: every user there is scored, once.
    last3 = pq.ParquetDataset([str(p) for p in minute_objects(window)[-3:]]).read(columns=["user_id"])
    users = {r["entity_id"] for r in rows if r["entity_kind"] == "user"}
    assert users == set(last3.column("user_id").to_pylist())
    # A corrupt model: exit 3, one line, nothing written.
    bad = tmp_path / "bad.pfm"
    bad.write_bytes(model.read_bytes()[:-7])
    corrupt = pfad.run("fraud", "score", str(minute), "--model", str(bad))
    assert corrupt.code == BAD_INPUT and "corrupt" in corrupt.stderr and len(corrupt.stderr.strip().splitlines()) == 1
    if kind != "trees_graph":  # a damaged network of the same size: exit 3 as well
        bad.write_bytes(model.read_bytes().replace(b'"hidden":16', b'"hidden":15'))
        damaged = pfad.run("fraud", "score", str(minute), "--model", str(bad))
        assert damaged.code == BAD_INPUT and "corrupt GNN" in damaged.stderr, damaged.stderr
