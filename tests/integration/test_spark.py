"""`pfad analyze --engine spark` against the real Spark cluster of scripts/services/spark.sh
(standalone master + worker + Spark Connect, S3A to the real MinIO): the reference cases of
docs/DESIGN.md, "Analysis job", parity with the local engine on 20 files from every writer, the
errors, and the scheduler's one session across minutes.

Spark must be running (make test starts it): without it these tests fail, never skip."""
from __future__ import annotations

import io
import re
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import exists, free_port, read_json
from reference_data import EVENTS, NUM_ERROR, NUM_SUCCESS, SCHEMA, comparable, expected_report, reference_table
from test_analyze_s3 import not_parquet, parquet_bytes, put_bytes, truncated, without_columns
from test_writers import LAYOUTS, with_nulls

SPARK_TIMEOUT = 120  # a fresh session's first query warms up the JVMs


@pytest.fixture(scope="module")
def spark(pfad_s3, spark_remote):
    """pfad_s3 with the Spark engine selected through flags, as a user would."""
    def run(*args, **kwargs):
        kwargs.setdefault("timeout", SPARK_TIMEOUT)
        return pfad_s3.run(args[0], "--engine", "spark", "--spark-remote", spark_remote, *args[1:], **kwargs)
    return run


def test_reference_minute_gives_the_reference_report(spark, s3, bucket):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    run = spark("analyze", f"s3a://{bucket}/2025-01-15_10-00.parquet")
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == f"s3a://{bucket}/2025-01-15_10-00.json"
    report = read_json(s3, f"{bucket}/2025-01-15_10-00.json")["report"]
    assert report["total_events"] == len(EVENTS) * (NUM_ERROR + NUM_SUCCESS) == 100
    assert report["total_errors"] == len(EVENTS) * NUM_ERROR == 15
    assert list(report["by_event_type"]) == sorted(EVENTS)
    for event_type in EVENTS:
        assert report["by_event_type"][event_type] == {"SUCCESS": NUM_SUCCESS, "ERROR": NUM_ERROR}
    assert report["file_name"] == "2025-01-15_10-00.json"
    assert 0 < report["process_time"] < SPARK_TIMEOUT


def test_s3_scheme_works_like_s3a(spark, s3, bucket):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    run = spark("analyze", f"s3://{bucket}/2025-01-15_10-00.parquet")
    assert run.code == 0, run.stderr
    assert read_json(s3, f"{bucket}/2025-01-15_10-00.json")["report"]["total_errors"] == 15


def test_zero_row_file_gives_zeros(spark, s3, bucket):
    put_bytes(s3, f"{bucket}/empty-test.parquet", parquet_bytes(SCHEMA.empty_table()))
    run = spark("analyze", f"s3a://{bucket}/empty-test.parquet")
    assert run.code == 0, run.stderr
    report = read_json(s3, f"{bucket}/empty-test.json")["report"]
    assert (report["total_events"], report["total_errors"], report["by_event_type"]) == (0, 0, {})


def test_name_without_parquet_gives_no_data(spark, s3, bucket):
    run = spark("analyze", f"s3a://{bucket}/2025-01-15_11-00")
    assert run.code == 0, run.stderr
    assert read_json(s3, f"{bucket}/2025-01-15_11-00.json") == {"report": "No data for 2025-01-15_11-00."}


def test_missing_parquet_object_gives_no_data(spark, s3, bucket):
    run = spark("analyze", f"s3a://{bucket}/2025-01-15_12-00.parquet")
    assert run.code == 0, run.stderr
    assert read_json(s3, f"{bucket}/2025-01-15_12-00.json") == {"report": "No data for 2025-01-15_12-00."}


@pytest.mark.parametrize("case, cause", [
    (truncated, "FAILED_READ_FILE"),
    (not_parquet, "FAILED_READ_FILE"),
    (without_columns, "UNRESOLVED_COLUMN"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_bad_object_fails_with_sparks_own_message_and_writes_nothing(spark, s3, bucket, case, cause):
    case(s3, bucket)
    uri = f"s3a://{bucket}/2025-01-15_10-00.parquet"
    run = spark("analyze", uri)
    assert run.code == 3, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"pfad analyze: error: {uri}: not a readable minute file for Spark: ["), lines[0]
    assert cause in lines[0], lines[0]
    assert run.stdout == ""
    assert not exists(s3, f"{bucket}/2025-01-15_10-00.json")


def test_missing_bucket_is_a_storage_error(spark, bucket):
    uri = f"s3a://{bucket}-missing/2025-01-15_10-00.parquet"
    run = spark("analyze", uri)
    assert run.code == 4
    assert uri in run.stderr and "does not exist" in run.stderr


def test_spark_unreachable_is_a_clear_service_error_and_local_still_works(pfad_s3, s3, bucket):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    remote = f"sc://127.0.0.1:{free_port()}"  # nothing listens there: Spark is down
    run = pfad_s3.run("analyze", "--engine", "spark", "--spark-remote", remote, "--spark-connect-timeout", "5",
                      f"s3a://{bucket}/2025-01-15_10-00.parquet", timeout=30)
    assert run.code == 4
    assert run.seconds < 5 + 3
    lines = run.stderr.strip().splitlines()
    assert lines == [f"pfad analyze: error: Spark Connect at {remote} is not reachable (connection refused or "
                     "failed): start it with scripts/services/spark.sh start, or point --spark-remote / "
                     "PFAD_SPARK_REMOTE at a running Spark Connect server"], run.stderr
    assert not exists(s3, f"{bucket}/2025-01-15_10-00.json")
    # The same through the environment, and the local engine is unaffected.
    run = pfad_s3.run("analyze", "--engine", "spark", f"s3a://{bucket}/2025-01-15_10-00.parquet",
                      env={"PFAD_SPARK_REMOTE": remote}, timeout=30)
    assert run.code == 4 and remote in run.stderr
    run = pfad_s3.run("analyze", f"s3a://{bucket}/2025-01-15_10-00.parquet", env={"PFAD_SPARK_REMOTE": remote})
    assert run.code == 0, run.stderr
    assert read_json(s3, f"{bucket}/2025-01-15_10-00.json")["report"]["total_events"] == 100


def test_engine_and_remote_from_the_config_file(pfad_s3, spark_remote, s3, bucket, tmp_path):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    config = tmp_path / "pfad.toml"
    config.write_text(f'[analyze]\nengine = "spark"\nspark_remote = "sc://127.0.0.1:{free_port()}"\n')
    run = pfad_s3.run("analyze", "--config", str(config), f"s3a://{bucket}/2025-01-15_10-00.parquet", timeout=30)
    assert run.code == 4 and "Spark Connect at" in run.stderr  # the config chose Spark (down here)
    config.write_text(f'[analyze]\nengine = "spark"\nspark_remote = "{spark_remote}"\nspark_timeout_s = 120\n')
    run = pfad_s3.run("--log-level", "info", "analyze", "--config", str(config),
                      f"s3a://{bucket}/2025-01-15_10-00.parquet", timeout=SPARK_TIMEOUT)
    assert run.code == 0, run.stderr
    assert f"on {spark_remote} (Spark 4." in run.stderr  # it really went to Spark
    assert read_json(s3, f"{bucket}/2025-01-15_10-00.json")["report"]["total_errors"] == 15
    # A flag beats the config file.
    run = pfad_s3.run("analyze", "--config", str(config), "--engine", "local",
                      f"s3a://{bucket}/2025-01-15_10-00.parquet", env={"PFAD_SPARK_REMOTE": "sc://127.0.0.1:1"})
    assert run.code == 0, run.stderr


# --- parity: 20 files, both engines ---------------------------------------------------

def parity_files(pfad_s3, s3, bucket) -> list[tuple[str, pa.Table]]:
    """20 minute objects from every writer; returns (object path, table as written)."""
    files: list[tuple[str, pa.Table]] = []

    def put_table(table: pa.Table, write) -> None:
        path = f"{bucket}/in/2025-01-15_10-{len(files):02d}.parquet"
        local = io.BytesIO()
        if write is None:
            pq.write_table(table, local)
        else:
            import tempfile, pathlib
            with tempfile.TemporaryDirectory() as tmp:
                p = pathlib.Path(tmp) / "m.parquet"
                write(table, p)
                local = io.BytesIO(p.read_bytes())
        put_bytes(s3, path, local.getvalue())
        files.append((path, pq.read_table(io.BytesIO(local.getvalue()))))

    for rows, seed, extra in [(6000, 1, []), (1, 2, []), (20000, 3, ["--row-group-rows", "3000"]), (50000, 4, [])]:
        path = f"{bucket}/in/2025-01-15_10-{len(files):02d}.parquet"
        run = pfad_s3.run("gen", f"s3://{path}", "--rows", str(rows), "--minute", "2025-01-15 10:00", "--seed",
                          str(seed), *extra)
        assert run.code == 0, run.stderr
        with s3.open_input_stream(path) as f:
            files.append((path, pq.read_table(io.BytesIO(f.read()))))
    generated = files[2][1]
    for layout in sorted(LAYOUTS):                                                    # 9 writers (pyarrow, DuckDB)
        put_table(reference_table(), LAYOUTS[layout])
    put_table(with_nulls(reference_table()), LAYOUTS["pyarrow-plain"])               # null type / status
    put_table(with_nulls(reference_table()), LAYOUTS["duckdb"])
    put_table(generated, LAYOUTS["duckdb-row-groups"])                                # a gen minute via DuckDB
    put_table(generated, LAYOUTS["pyarrow-large-string"])
    put_table(SCHEMA.empty_table(), None)                                             # zero rows, pyarrow
    put_table(SCHEMA.empty_table(), lambda t, p: duckdb.sql("SELECT * FROM t WHERE false").write_parquet(str(p)))
    odd = pa.table({"event_type": ["SEARCH", "SEARCH", None, "PAYMENT"], "status": ["PENDING", None, "ERROR", "ERROR"]})
    put_table(odd, None)                                                              # statuses beyond the two
    assert len(files) == 20
    return files


def test_local_and_spark_engines_give_identical_reports_on_20_files(pfad_s3, spark, s3, bucket):
    files = parity_files(pfad_s3, s3, bucket)
    for path, _ in files:
        local = pfad_s3.run("analyze", f"s3a://{path}", "--out", f"s3a://{bucket}/local/")
        assert local.code == 0, local.stderr
        remote = spark("analyze", f"s3a://{path}", "--out", f"s3a://{bucket}/spark/")
        assert remote.code == 0, remote.stderr
    for path, table in files:
        stem = path.rsplit("/", 1)[1].removesuffix(".parquet")
        ours = read_json(s3, f"{bucket}/local/{stem}.json")
        theirs = read_json(s3, f"{bucket}/spark/{stem}.json")
        assert comparable(theirs) == comparable(ours) == expected_report(table), path
        assert theirs["report"]["file_name"] == ours["report"]["file_name"] == f"{stem}.json"
    assert comparable(read_json(s3, f"{bucket}/spark/2025-01-15_10-17.json"))["total_events"] == 0


# --- the scheduler: one session for every minute --------------------------------------

def test_repeat_reuses_one_session(spark, s3, bucket):
    put_bytes(s3, f"{bucket}/2025-01-15_10-00.parquet", parquet_bytes(reference_table()))
    run = spark("analyze", f"s3a://{bucket}/2025-01-15_10-00.parquet", "--repeat", "3", "--timings",
                env={"PFAD_LOG_LEVEL": "info"})
    assert run.code == 0, run.stderr
    lines = [line.split("\t") for line in run.stdout.splitlines()]
    assert [uri for _, uri in lines] == [f"s3a://{bucket}/2025-01-15_10-00.json"] * 3
    assert all(0 < float(seconds) < SPARK_TIMEOUT for seconds, _ in lines)
    assert len(re.findall(r"\[spark\] session (\S+) on ", run.stderr)) == 1, run.stderr


def test_backfill_with_spark_reuses_one_session_across_minutes(pfad_s3, spark_remote, s3, bucket, tmp_path):
    for minute, seed in [("2025-01-15 10:00", 5), ("2025-01-15 10:02", 6)]:
        gen = pfad_s3.run("gen", f"s3://{bucket}", "--rows", "6000", "--minute", minute, "--seed", str(seed))
        assert gen.code == 0, gen.stderr
    local = [pq.read_table(s3.open_input_file(f"{bucket}/2025-01-15_10-0{m}.parquet")) for m in (0, 2)]
    run = pfad_s3.run("--log-level", "info", "backfill", "--engine", "spark", "--spark-remote", spark_remote,
                      "--source", f"s3a://{bucket}", "--from", "2025-01-15 10:00", "--to", "2025-01-15 10:02",
                      "--dashboard", "", "--state", str(tmp_path / "runs.db"), timeout=SPARK_TIMEOUT)
    assert run.code == 0, run.stderr
    assert run.stdout.split() == ["2025-01-15_10-00", "success", "2025-01-15_10-01", "success",
                                  "2025-01-15_10-02", "success"]
    sessions = re.findall(r"\[spark\] session (\S+) on ", run.stderr)
    assert len(sessions) == 1, run.stderr  # one session, reused for every minute
    for minute, table in (("10-00", local[0]), ("10-02", local[1])):
        report = read_json(s3, f"{bucket}/2025-01-15_{minute}.json")
        # The ETAR's additive fraud object: no model is configured here, and it says so.
        assert report["report"].pop("fraud")["status"] == "not_run", report
        assert comparable(report) == expected_report(table)
    assert read_json(s3, f"{bucket}/2025-01-15_10-01.json") == {"report": "No data for 2025-01-15_10-01."}


def test_run_with_spark_down_fails_at_start_with_the_service_error(pfad_s3, bucket, tmp_path):
    remote = f"sc://127.0.0.1:{free_port()}"
    start = time.monotonic()
    run = pfad_s3.run("run", "--engine", "spark", "--spark-remote", remote, "--source", f"s3a://{bucket}",
                      "--dashboard", "", "--state", str(tmp_path / "runs.db"), timeout=30)
    assert run.code == 4
    assert time.monotonic() - start < 10
    assert f"Spark Connect at {remote} is not reachable" in run.stderr
