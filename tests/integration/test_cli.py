"""Command-line behaviour a user relies on: usage errors, help, local paths."""
from __future__ import annotations

import json
import re
import subprocess

import pyarrow
import pyarrow.parquet as pq

from conftest import ROOT
from reference_data import reference_table


def test_usage_errors_print_usage_and_exit_2(pfad):
    for args in ([], ["analyze"], ["analyze", "a", "b"], ["analyze", "x.parquet", "--threads", "-1"], ["frobnicate"]):
        run = pfad.run(*args)
        assert run.code == 2, (args, run.stderr)
        assert "Usage" in run.stderr, run.stderr


def test_version_names_the_build_and_its_libraries(pfad):
    run = pfad.run("--version")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    first = re.fullmatch(r"pfad (\S+) \((\S+)\)", lines[0])
    assert first, run.stdout
    described = subprocess.run(["git", "-C", str(ROOT), "describe", "--always"], capture_output=True, text=True)
    if described.returncode == 0:
        # The commit the binary was built from (the test runs on the tree it was built from).
        assert first.group(1).removesuffix("-dirty") == described.stdout.strip(), run.stdout
    assert lines[1] == f"Arrow {pyarrow.__version__}", run.stdout
    assert re.fullmatch(r"librdkafka \d+\.\d+\.\d+\S*", lines[2]), run.stdout


def test_a_mistyped_command_is_named_with_the_closest_one(pfad):
    run = pfad.run("analyse", "x.parquet")
    assert run.code == 2, run.stderr
    assert "unknown command 'analyse' (did you mean 'analyze'?)" in run.stderr, run.stderr
    run = pfad.run("--log-level", "warn", "bakfill")
    assert run.code == 2, run.stderr
    assert "unknown command 'bakfill' (did you mean 'backfill'?)" in run.stderr, run.stderr
    # Nothing close: no suggestion.
    run = pfad.run("frobnicate")
    assert run.code == 2, run.stderr
    assert "unknown command 'frobnicate'" in run.stderr and "did you mean" not in run.stderr, run.stderr


def test_help_documents_exit_codes(pfad):
    run = pfad.run("analyze", "--help")
    assert run.code == 0
    assert "Exit codes" in run.stdout and "storage error" in run.stdout


def test_local_paths_and_file_uris(pfad, tmp_path):
    pq.write_table(reference_table(), tmp_path / "2025-01-15_10-00.parquet")
    for uri in (str(tmp_path / "2025-01-15_10-00.parquet"), f"file://{tmp_path}/2025-01-15_10-00.parquet"):
        (tmp_path / "2025-01-15_10-00.json").unlink(missing_ok=True)
        run = pfad.run("analyze", uri)
        assert run.code == 0, run.stderr
        report = json.loads((tmp_path / "2025-01-15_10-00.json").read_text())["report"]
        assert report["total_events"] == 100 and report["total_errors"] == 15
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-01-15_10-00.json", "2025-01-15_10-00.parquet"]


def test_local_missing_directory_is_an_error_not_no_data(pfad, tmp_path):
    run = pfad.run("analyze", str(tmp_path / "nope" / "2025-01-15_10-00.parquet"))
    assert run.code == 4
    assert "does not exist" in run.stderr
    assert not (tmp_path / "nope").exists()


def test_config_file_supplies_the_endpoint(pfad_s3, minio_env, s3, bucket, tmp_path):
    config = tmp_path / "pfad.toml"
    config.write_text(f'[storage]\nendpoint = "{minio_env["AWS_ENDPOINT_URL"]}"\n')
    env = {"AWS_ENDPOINT_URL": ""}
    run = pfad_s3.run("analyze", f"s3a://{bucket}/2025-01-15_11-00", "--config", str(config), env=env)
    assert run.code == 0, run.stderr
