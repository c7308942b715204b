"""`pfad fraud eval` and `pfad fraud features` (docs/FRAUD.md sections 2 and 3) on labelled minutes
from `pfad gen --fraud`: the report's shape in Markdown, JSON and SVG, the feature tables against
the minute objects, and bad input as exit 3 with one clear line. No services needed."""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow.parquet as pq
import pytest

MODELS = ("rules", "trees_node", "trees_graph", "trees_graph_shuffled")
KINDS = ("user", "session")
N_FEATURES = 83
BAD_INPUT = 3
EVAL = ("--seeds", "2", "--rounds", "30")


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
    return sorted(p for p in window.glob("*.parquet") if not p.name.endswith(".labels.parquet"))


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
