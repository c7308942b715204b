"""`pfad gen`: deterministic synthetic minutes with the distributions of
docs/DESIGN.md, "Event distributions", and the schema of "Minute objects"."""
from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq

from reference_data import SCHEMA, TEHRAN


def gen(pfad, out, *args):
    run = pfad.run("gen", str(out), *args)
    assert run.code == 0, run.stderr
    return run.stdout.strip()


def test_writes_the_minute_object_with_the_design_schema(pfad, tmp_path):
    path = gen(pfad, tmp_path, "--rows", "6000", "--minute", "2025-01-15 10:00", "--seed", "1")
    assert path == str(tmp_path / "2025-01-15_10-00.parquet")
    table = pq.read_table(path)
    assert [(f.name, f.type) for f in table.schema] == [(f.name, f.type) for f in SCHEMA]
    assert [f.name for f in table.schema if f.nullable] == ["error_code", "product_id"]
    assert table.num_rows == 6000
    start = dt.datetime(2025, 1, 15, 10, 0, tzinfo=TEHRAN)
    stamps = table.column("event_timestamp").to_pylist()
    assert all(start <= s < start + dt.timedelta(minutes=1) for s in stamps)
    assert stamps == sorted(stamps)


def test_same_seed_same_file_content(pfad, tmp_path):
    a = gen(pfad, tmp_path / "a", "--rows", "5000", "--minute", "2025-01-15 10:00", "--seed", "7")
    b = gen(pfad, tmp_path / "b", "--rows", "5000", "--minute", "2025-01-15 10:00", "--seed", "7")
    c = gen(pfad, tmp_path / "c", "--rows", "5000", "--minute", "2025-01-15 10:00", "--seed", "8")
    assert pq.read_table(a).equals(pq.read_table(b))
    assert not pq.read_table(a).equals(pq.read_table(c))


def test_generator_distributions(pfad, tmp_path):
    path = gen(pfad, tmp_path, "--rows", "50000", "--minute", "2025-01-15 10:00", "--seed", "3",
               "--error-rate", "0.2")
    rows = pq.read_table(path).to_pylist()
    errors = [r for r in rows if r["status"] == "ERROR"]
    assert abs(len(errors) / len(rows) - 0.2) < 0.01
    assert all(400 <= r["error_code"] <= 599 for r in errors)
    assert all(r["error_code"] is None for r in rows if r["status"] == "SUCCESS")
    for r in rows:
        assert 50 <= r["request_latency_ms"] <= 1500
        if r["event_type"] in ("VIEW_PRODUCT", "ADD_TO_CART"):
            assert 1 <= r["product_id"] <= 10000
        else:
            assert r["product_id"] is None
    assert len({r["event_id"] for r in rows}) == len(rows)
    assert {r["event_id"][14] for r in rows} == {"4"}  # UUID v4
    # New user/session with probability 0.01 per event.
    assert 350 < len({r["user_id"] for r in rows}) < 650
    assert len({r["event_type"] for r in rows}) == 5


def test_bad_flags_are_usage_errors(pfad, tmp_path):
    for args in (["--rows", "10", "--seed", "1"],
                 ["--rows", "-1", "--minute", "2025-01-15 10:00", "--seed", "1"],
                 ["--rows", "10", "--minute", "2025-01-15 10:00", "--seed", "1", "--error-rate", "2"]):
        run = pfad.run("gen", str(tmp_path), *args)
        assert run.code == 2, (args, run.stderr)
        assert "Usage" in run.stderr
    bad_minute = pfad.run("gen", str(tmp_path), "--rows", "1", "--minute", "2025-02-30 10:00", "--seed", "1")
    assert bad_minute.code == 3
    assert "not a minute" in bad_minute.stderr
    assert list(tmp_path.iterdir()) == []


def test_gen_to_minio_then_analyze(pfad_s3, s3, bucket):
    uri = gen(pfad_s3, f"s3://{bucket}", "--rows", "6000", "--minute", "2025-01-15 10:00", "--seed", "5")
    assert uri == f"s3://{bucket}/2025-01-15_10-00.parquet"
    run = pfad_s3.run("analyze", uri)
    assert run.code == 0, run.stderr
    with s3.open_input_stream(f"{bucket}/2025-01-15_10-00.json") as f:
        assert b'"total_events":6000' in f.read()


def test_fraud_minutes_get_labels_beside_them(pfad, tmp_path):
    out = gen(pfad, tmp_path, "--rows", "6000", "--minute", "2025-01-15 10:00", "--seed", "1",
              "--minutes", "3", "--fraud", "0.05").splitlines()
    stems = ["2025-01-15_10-00", "2025-01-15_10-01", "2025-01-15_10-02"]
    assert out == [str(tmp_path / f"{s}{suffix}") for s in stems for suffix in (".parquet", ".labels.parquet")]
    starts = [dt.datetime(2025, 1, 15, 10, m, tzinfo=TEHRAN) for m in range(4)]
    labelled = 0
    for i, stem in enumerate(stems):
        events = pq.read_table(tmp_path / f"{stem}.parquet")
        assert events.num_rows == 6000
        labels = pq.read_table(tmp_path / f"{stem}.labels.parquet")
        assert [(f.name, str(f.type)) for f in labels.schema] == [
            ("entity_kind", "string"), ("entity_id", "string"), ("scenario", "string"),
            ("first_ms", "int64"), ("last_ms", "int64")]
        ids = {"user": set(events.column("user_id").to_pylist()),
               "session": set(events.column("session_id").to_pylist())}
        lo, hi = (int(s.timestamp() * 1000) for s in starts[i:i + 2])
        for row in labels.to_pylist():
            assert row["entity_kind"] in ("user", "session")
            assert row["scenario"] in {"bot", "card_testing", "account_takeover", "cart_hoarding", "fraud_ring",
                                       "power_user", "flash_sale", "shared_device"}
            assert row["entity_id"] in ids[row["entity_kind"]]  # active in this minute
            assert lo <= row["first_ms"] <= row["last_ms"] < hi
        labelled += labels.num_rows
    assert labelled > 0
    # Actors run on across minutes: one continuous generator, not three.
    again = gen(pfad, tmp_path / "again", "--rows", "6000", "--minute", "2025-01-15 10:00", "--seed", "1",
                "--minutes", "3", "--fraud", "0.05").splitlines()
    assert pq.read_table(again[5]).equals(pq.read_table(out[5]))


def test_without_fraud_no_labels_and_labels_needs_fraud(pfad, tmp_path):
    out = gen(pfad, tmp_path, "--rows", "100", "--minute", "2025-01-15 10:00", "--seed", "1", "--minutes", "2")
    assert out.splitlines() == [str(tmp_path / "2025-01-15_10-00.parquet"), str(tmp_path / "2025-01-15_10-01.parquet")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-01-15_10-00.parquet", "2025-01-15_10-01.parquet"]
    run = pfad.run("gen", str(tmp_path / "x"), "--rows", "1", "--minute", "2025-01-15 10:00", "--seed", "1",
                   "--labels", str(tmp_path / "l"))
    assert run.code == 2
    single = gen(pfad, tmp_path / "one.parquet", "--rows", "100", "--minute", "2025-01-15 10:00", "--seed", "1",
                 "--fraud", "0.1", "--labels", str(tmp_path / "labels"))
    assert single.splitlines() == [str(tmp_path / "one.parquet"),
                                   str(tmp_path / "labels" / "2025-01-15_10-00.labels.parquet")]
