"""`pfad analyze` against a real MinIO: the reference cases and every error case
of docs/DESIGN.md, "Analysis job"."""
from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import exists, free_port, read_json
from reference_data import EVENTS, NUM_ERROR, NUM_SUCCESS, SCHEMA, reference_table


def put_bytes(s3, path: str, data: bytes) -> None:
    with s3.open_output_stream(path) as f:
        f.write(data)


def parquet_bytes(table: pa.Table, **kwargs) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)
    return sink.getvalue()


def test_reference_minute_gives_the_reference_report(pfad_s3, s3, bucket):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    run = pfad_s3.run("analyze", f"s3a://{bucket}/2025-01-15_10-00.parquet")
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == f"s3a://{bucket}/2025-01-15_10-00.json"
    report = read_json(s3, f"{bucket}/2025-01-15_10-00.json")["report"]
    assert report["total_events"] == len(EVENTS) * (NUM_ERROR + NUM_SUCCESS) == 100
    assert report["total_errors"] == len(EVENTS) * NUM_ERROR == 15
    assert list(report["by_event_type"]) == sorted(EVENTS)
    for event_type in EVENTS:
        assert report["by_event_type"][event_type] == {"SUCCESS": NUM_SUCCESS, "ERROR": NUM_ERROR}
    assert report["file_name"] == "2025-01-15_10-00.json"
    assert 0 <= report["process_time"] < 60


def test_s3_scheme_works_like_s3a(pfad_s3, s3, bucket):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    run = pfad_s3.run("analyze", f"s3://{bucket}/2025-01-15_10-00.parquet")
    assert run.code == 0, run.stderr
    assert read_json(s3, f"{bucket}/2025-01-15_10-00.json")["report"]["total_events"] == 100


def test_zero_row_file_gives_zeros(pfad_s3, s3, bucket):
    put_bytes(s3, f"{bucket}/empty-test.parquet", parquet_bytes(SCHEMA.empty_table()))
    run = pfad_s3.run("analyze", f"s3a://{bucket}/empty-test.parquet")
    assert run.code == 0, run.stderr
    report = read_json(s3, f"{bucket}/empty-test.json")["report"]
    assert report["total_events"] == 0
    assert report["total_errors"] == 0
    assert report["by_event_type"] == {}


def test_name_without_parquet_gives_no_data(pfad_s3, s3, bucket):
    run = pfad_s3.run("analyze", f"s3a://{bucket}/2025-01-15_11-00")
    assert run.code == 0, run.stderr
    assert read_json(s3, f"{bucket}/2025-01-15_11-00.json") == {"report": "No data for 2025-01-15_11-00."}


def test_missing_parquet_object_gives_no_data(pfad_s3, s3, bucket):
    run = pfad_s3.run("analyze", f"s3a://{bucket}/2025-01-15_12-00.parquet")
    assert run.code == 0, run.stderr
    assert read_json(s3, f"{bucket}/2025-01-15_12-00.json") == {"report": "No data for 2025-01-15_12-00."}


def test_out_to_another_prefix(pfad_s3, s3, bucket):
    put_bytes(s3, f"{bucket}/in/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    run = pfad_s3.run("analyze", f"s3a://{bucket}/in/2025-01-15_10-00.parquet", "--out", f"s3a://{bucket}/reports")
    assert run.code == 0, run.stderr
    assert read_json(s3, f"{bucket}/reports/2025-01-15_10-00.json")["report"]["total_errors"] == 15
    assert not exists(s3, f"{bucket}/in/2025-01-15_10-00.json")


def truncated(s3, bucket):
    data = parquet_bytes(reference_table())
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", data[: len(data) // 2])
    return {}


def not_parquet(s3, bucket):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", b"event_type,status\nSEARCH,ERROR\n" * 100)
    return {}


def without_columns(s3, bucket):
    table = reference_table().drop_columns(["event_type", "status"])
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(table))
    return {}


def missing_bucket(s3, bucket):
    return {"bucket": bucket + "-missing"}


def wrong_credentials(s3, bucket):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    return {"env": {"AWS_SECRET_ACCESS_KEY": "definitely-wrong-secret"}}  # pfad:not-a-secret (wrong on purpose)


def minio_down(s3, bucket):
    # Nothing listens on this port: exactly what a client sees when MinIO is down.
    return {"env": {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}}


@pytest.mark.parametrize("case, cause", [
    (truncated, "not a readable minute file"),
    (not_parquet, "not a readable minute file"),
    (without_columns, "missing column 'event_type'"),
    (missing_bucket, "does not exist"),
    (wrong_credentials, "AWS Error"),
    (minio_down, "AWS Error"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_bad_input_fails_fast_with_one_clear_line_and_writes_nothing(pfad_s3, s3, bucket, case, cause):
    setup = case(s3, bucket)
    target_bucket = setup.get("bucket", bucket)
    uri = f"s3a://{target_bucket}/2025-01-15_10-00.parquet"
    run = pfad_s3.run("analyze", uri, env=setup.get("env"), timeout=10)  # must give up within 10 s
    assert run.code != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert uri in lines[0], lines[0]
    assert cause in lines[0], lines[0]
    assert run.stdout == ""
    assert not exists(s3, f"{bucket}/2025-01-15_10-00.json")


def test_exit_codes_tell_bad_input_from_storage_failure(pfad_s3, s3, bucket):
    not_parquet(s3, bucket)
    assert pfad_s3.run("analyze", f"s3a://{bucket}/2025-01-15_10-00.parquet").code == 3
    assert pfad_s3.run("analyze", f"s3a://{bucket}-missing/2025-01-15_10-00.parquet").code == 4
