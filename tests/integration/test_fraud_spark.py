"""`pfad fraud features --engine spark` against the real Spark cluster of scripts/services/spark.sh:
the same graph features as the local engine on a generated window with fraud, and values computed
by hand from docs/FRAUD.md section 2 on a tiny window.

Spark must be running (make test starts it): without it these tests fail, never skip."""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reference_data import SCHEMA, TEHRAN

SPARK_TIMEOUT = 600  # two queries of ~20 Spark jobs each, on a shared 2-core machine
KINDS = ("user", "session")
N_FEATURES = 83


@pytest.fixture(scope="module")
def features(pfad, spark_remote):
    """Runs `pfad fraud features` on a window; returns {kind: table} of what it wrote."""
    def run(window: Path, engine: str, out: Path) -> dict[str, pa.Table]:
        out.mkdir(parents=True, exist_ok=True)
        # The remote through the environment, as SparkConfig resolves it (no flag needed).
        env = {"PFAD_SPARK_REMOTE": spark_remote} if engine == "spark" else {}
        result = pfad.run("fraud", "features", str(window), "--engine", engine, "--out", str(out), env=env,
                          timeout=SPARK_TIMEOUT)
        assert result.code == 0, result.stderr
        return {kind: pq.read_table(out / f"{kind}_features.parquet") for kind in KINDS}
    return run


def assert_well_formed(table: pa.Table, kind: str) -> None:
    assert table.column_names[0] == "entity_id", kind
    assert table.schema.field("entity_id").type in (pa.string(), pa.large_string()), kind
    assert len(table.column_names) == 1 + N_FEATURES, kind
    assert all(field.type == pa.float64() for field in table.schema if field.name != "entity_id"), kind
    ids = table.column("entity_id").to_pylist()
    assert ids == sorted(ids) and len(set(ids)) == len(ids), kind


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def test_spark_features_equal_local_features(pfad, features, tmp_path):
    window = tmp_path / "window"
    window.mkdir()
    gen = pfad.run("gen", str(window), "--rows", "3000", "--minute", "2026-11-01 10:00", "--minutes", "3",
                   "--seed", "7", "--fraud", "0.05", timeout=120)
    assert gen.code == 0, gen.stderr
    local = features(window, "local", tmp_path / "local")
    spark = features(window, "spark", tmp_path / "spark")
    for kind in KINDS:
        a, b = local[kind], spark[kind]
        assert_well_formed(a, kind)
        assert_well_formed(b, kind)
        assert b.column_names == a.column_names, kind
        assert b.column("entity_id").to_pylist() == a.column("entity_id").to_pylist(), kind
        assert a.num_rows > 10, kind
        ids = a.column("entity_id").to_pylist()
        for name in a.column_names[1:]:
            pairs = zip(ids, a.column(name).to_pylist(), b.column(name).to_pylist())
            wrong = [(entity, x, y) for entity, x, y in pairs if not close(x, y)]
            assert not wrong, f"{kind} {name}: {len(wrong)} differ (id, local, spark), e.g. {wrong[:3]}"


@pytest.mark.release_only  # its C++ (fraud::ScoreFeatures) is unit-tested under ASan; the CI budget
def test_spark_engine_scores_the_window_as_the_local_rebuild(pfad, spark_remote, tmp_path):
    """Above what one scorer holds (docs/FRAUD.md section 8): `pfad fraud score --engine spark`
    takes the window's features from Spark and applies the trees model in C++; its scores object
    equals the local full rebuild's."""
    import shutil
    base = tmp_path / "base"
    base.mkdir()
    gen = pfad.run("gen", str(base), "--rows", "3000", "--minute", "2026-11-01 10:00", "--minutes", "4",
                   "--seed", "9", "--fraud", "0.1", timeout=120)
    assert gen.code == 0, gen.stderr
    model = tmp_path / "trees.pfm"
    train = pfad.run("fraud", "train", str(base), "--out", str(model), "--model", "trees_graph",
                     "--window-minutes", "3", timeout=300)
    assert train.code == 0, train.stderr
    scores = {}
    for engine in ("local", "spark"):
        window = tmp_path / engine
        shutil.copytree(base, window)
        minute = window / "2026-11-01_10-03.parquet"
        args = ["--engine", "spark"] if engine == "spark" else ["--full"]
        env = {"PFAD_SPARK_REMOTE": spark_remote} if engine == "spark" else {}
        run = pfad.run("fraud", "score", str(minute), "--model", str(model), *args, env=env,
                       timeout=SPARK_TIMEOUT)
        assert run.code == 0, run.stderr
        assert "did not run" not in run.stdout, run.stdout
        assert "over 3 minutes" in run.stdout, run.stdout
        scores[engine] = pq.read_table(window / "2026-11-01_10-03.scores.parquet").to_pylist()
        assert not (window / "2026-11-01_10-03.fraud-state").exists(), engine
    local, spark = scores["local"], scores["spark"]
    assert len(local) > 100 and len(spark) == len(local)
    assert any(row["is_fraud"] for row in local)
    for a, b in zip(local, spark):
        assert (a["entity_kind"], a["entity_id"], a["is_fraud"], a["model"]) == \
            (b["entity_kind"], b["entity_id"], b["is_fraud"], b["model"])
        assert close(a["fraud_score"], b["fraud_score"]), (a, b)
        assert bool(a["top_features"]) == bool(b["top_features"]), (a, b)


# The tiny window: users A, B; sessions S1, S2 (A's), S3 (shared by A and B); products 1, 2, 3.
# Ids sort A < B and S1 < S2 < S3; E6 < E5, so at B's and S3's tied first instant E6 (CHECKOUT)
# comes first although the file holds E5 (PAYMENT) first.
A, B = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
S1, S2, S3 = (f"10000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
E = {i: f"20000000-0000-4000-8000-00000000000{i}" for i in range(1, 8)}
E[6] = "20000000-0000-4000-8000-000000000000"
T0 = dt.datetime(2026, 11, 1, 10, 0, tzinfo=TEHRAN)
TINY_EVENTS = [  # event, user, session, type, ms after T0, latency, status, error code, product
    (E[1], A, S1, "VIEW_PRODUCT", 0, 100, "SUCCESS", None, 1),
    (E[2], A, S1, "ADD_TO_CART", 1000, 200, "SUCCESS", None, 1),
    (E[3], A, S1, "PAYMENT", 4000, 300, "ERROR", 500, 2),
    (E[4], A, S2, "SEARCH", 10000, 50, "SUCCESS", None, None),
    (E[5], B, S3, "PAYMENT", 2000, 400, "ERROR", 402, 2),
    (E[6], B, S3, "CHECKOUT", 2000, 400, "SUCCESS", None, None),
    (E[7], A, S3, "ADD_TO_CART", 8000, 100, "SUCCESS", None, 3),
]
# Worked out from FRAUD.md section 2. A: timestamps 0, 1000, 4000, 8000, 10000 -> gaps 1000, 3000,
# 4000, 2000 (mean 2500, std sqrt(1.25e6)); latencies 100, 200, 300, 100, 50 (mean 150, std
# sqrt(8000)). Products: p1 (E1, E2: 2 events, users {A}, sessions {S1}, cart share 1/2),
# p2 (E3, E5: 2 events, users {A, B}, sessions {S1, S3}, cart 0), p3 (E7: 1, {A}, {S3}, cart 1).
TINY_EXPECTED = {
    ("user", A): {
        "n_events": 5, "n_view": 1, "n_cart": 2, "n_checkout": 0, "n_payment": 1, "n_search": 1,
        "share_cart": 0.4, "n_error": 1, "share_error": 0.2, "error_codes": 1, "error_code_diversity": 1,
        "payment_error_share": 1, "latency_mean": 150, "latency_std": math.sqrt(8000), "gap_mean_ms": 2500,
        "gap_cv": math.sqrt(1.25e6) / 2500, "span_ms": 10000, "products": 3, "products_per_event": 0.6,
        "degree": 3, "first_type": 0,
        "session_mean_n_events": 7 / 3, "session_max_n_events": 3, "session_mean_degree": 4 / 3,
        "session_max_degree": 2, "session_max_gap_mean_ms": 3000, "session_max_first_type": 4,
        "product_mean_p_users": 4 / 3, "product_max_p_users": 2, "product_mean_p_share_cart": 0.5,
        "product_max_p_events": 2,
    },
    ("user", B): {
        "n_events": 2, "n_payment": 1, "n_checkout": 1, "n_error": 1, "payment_error_share": 1,
        "gap_mean_ms": 0, "gap_cv": 0, "span_ms": 0, "latency_std": 0, "products": 1, "degree": 1,
        "first_type": 2,  # CHECKOUT: E6 sorts before E5 at the same instant
        "session_mean_n_events": 3, "session_max_degree": 2, "session_mean_gap_cv": 1,
        "product_mean_p_events": 2, "product_max_p_sessions": 2,
    },
    ("session", S1): {
        "n_events": 3, "degree": 1, "gap_mean_ms": 2000, "gap_cv": 0.5, "products": 2, "first_type": 0,
        "payment_error_share": 1, "user_mean_n_events": 5, "user_max_degree": 3,
        "product_mean_p_events": 2, "product_mean_p_users": 1.5, "product_max_p_share_cart": 0.5,
    },
    ("session", S2): {
        "n_events": 1, "n_search": 1, "share_search": 1, "gap_mean_ms": 0, "gap_cv": 0, "span_ms": 0,
        "degree": 1, "first_type": 4, "user_mean_n_events": 5, "user_max_gap_mean_ms": 2500,
        "product_mean_p_events": 0, "product_max_p_users": 0,  # no products: 0
    },
    ("session", S3): {
        "n_events": 3, "degree": 2, "gap_mean_ms": 3000, "gap_cv": 1, "span_ms": 6000, "first_type": 2,
        "products": 2, "error_codes": 1, "user_mean_n_events": 3.5, "user_max_n_events": 5,
        "user_mean_degree": 2, "user_max_degree": 3, "user_mean_gap_mean_ms": 1250,
        "product_mean_p_events": 1.5, "product_max_p_sessions": 2,
    },
}


def tiny_window(directory: Path) -> Path:
    rows = [dict(zip(("event_id", "user_id", "session_id", "event_type"), e[:4]),
                 event_timestamp=T0 + dt.timedelta(milliseconds=e[4]), request_latency_ms=e[5], status=e[6],
                 error_code=e[7], product_id=e[8]) for e in TINY_EVENTS]
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, SCHEMA), directory / "2026-11-01_10-00.parquet")
    return directory


def test_spark_features_of_a_tiny_window_match_the_spec(features, tmp_path):
    tables = features(tiny_window(tmp_path / "window"), "spark", tmp_path / "spark")
    assert tables["user"].column("entity_id").to_pylist() == [A, B]
    assert tables["session"].column("entity_id").to_pylist() == [S1, S2, S3]
    for kind in KINDS:
        assert_well_formed(tables[kind], kind)
    for (kind, entity), expected in TINY_EXPECTED.items():
        row = tables[kind].column("entity_id").to_pylist().index(entity)
        got = {name: tables[kind].column(name)[row].as_py() for name in expected}
        assert all(close(got[name], value) for name, value in expected.items()), (kind, entity, got, expected)
