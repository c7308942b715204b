"""The ETAR schedule end to end: minute objects in MinIO -> pfad backfill/run ->
report objects beside them and reports on the dashboard; and `pfad demo`."""
from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

from conftest import free_port, read_json
from test_dashboard import Dashboard


def test_backfill_from_minio_to_the_dashboard(pfad_s3, s3, bucket, tmp_path):
    gen = pfad_s3.run("gen", f"s3://{bucket}", "--rows", "6000", "--minute", "2025-01-15 10:00", "--seed", "4")
    assert gen.code == 0, gen.stderr
    dashboard = Dashboard(pfad_s3, tmp_path / "reports.db")
    try:
        run = pfad_s3.run("backfill", "--source", f"s3a://{bucket}", "--from", "2025-01-15 09:59", "--to",
                          "2025-01-15 10:00", "--dashboard", dashboard.base, "--state", str(tmp_path / "runs.db"))
        assert run.code == 0, run.stderr
        assert run.stdout.split() == ["2025-01-15_09-59", "success", "2025-01-15_10-00", "success"]
        assert read_json(s3, f"{bucket}/2025-01-15_09-59.json") == {"report": "No data for 2025-01-15_09-59."}
        stored = read_json(s3, f"{bucket}/2025-01-15_10-00.json")
        assert stored["report"]["total_events"] == 6000
        status, latest = dashboard.call("GET", "/report")
        assert status == 200 and latest == stored
        _, history = dashboard.call("GET", "/reports")
        assert [r["report"] for r in history["reports"]][1] == {"report": "No data for 2025-01-15_09-59."}
    finally:
        dashboard.stop()


def test_backfill_reports_failures(pfad_s3, s3, bucket, tmp_path):
    # A minute object that is not Parquet: the run fails after its retry and says so.
    # (A dashboard that is down fails nothing: test_chaos.py.)
    with s3.open_output_stream(f"{bucket}/2025-01-15_10-00.parquet") as f:
        f.write(b"not parquet")
    run = pfad_s3.run("backfill", "--source", f"s3a://{bucket}", "--from", "2025-01-15 10:00", "--to",
                      "2025-01-15 10:00", "--dashboard", "", "--retry-delay", "0.1",
                      "--state", str(tmp_path / "runs.db"), timeout=60)
    assert run.code == 4
    assert "2025-01-15_10-00 failed" in run.stdout, run.stdout


def test_demo_shows_reports_within_seconds_and_stops_cleanly(pfad, tmp_path):
    port = free_port()
    proc = subprocess.Popen([str(pfad.binary), "--log-level", "info", "demo", "--dir", str(tmp_path / "demo"), "--port",
                             str(port), "--fraud", "0.2"],
                            env=pfad.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The demo trains its fraud model before it starts: about a second in release, half a minute
        # under ASan on a busy machine.
        deadline, latest = time.monotonic() + 90, None
        while time.monotonic() < deadline and latest is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/report", timeout=2) as res:
                    latest = json.loads(res.read())
            except OSError:
                time.sleep(0.2)
        assert latest is not None, "no report within 90 s of start"
        assert latest["report"]["total_events"] > 0
        runs, deadline = [], time.monotonic() + 10  # a run is reported just after its report
        while not runs and time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/runs", timeout=5) as res:
                runs = json.loads(res.read())["runs"]
            time.sleep(0.1)
        assert runs and all(r["state"] == "success" for r in runs)
        reports, deadline = [], time.monotonic() + 30  # the five past minutes, all through ingest
        while len(reports) < 5 and time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/reports?limit=10", timeout=5) as res:
                reports = json.loads(res.read())["reports"]
            time.sleep(0.2)
        assert len(reports) >= 5, reports
        # Each minute's window is scored by the model trained at start; fraud actors are flagged.
        frauds = [r["report"]["report"]["fraud"] for r in reports if isinstance(r["report"]["report"], dict)]
        assert frauds and all(f["status"] == "scored" for f in frauds), frauds
        assert sum(f["flagged"]["user"] + f["flagged"]["session"] for f in frauds) > 0
        assert all(f["model"] and len(f["top"]) > 0 for f in frauds)
        # The page's pipeline-health row: the demo's stages share one metrics registry the dashboard reads.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/pipeline", timeout=5) as res:
            health = json.loads(res.read())
        assert health["source"] == "process" and health["errors"] == [], health
        assert health["freshness_seconds"] is not None and health["freshness_seconds"] >= 0, health
        assert health["failed_runs"] == 0 and health["window"]["failed_runs"] == "since start", health
        assert health["lag_messages"] is not None, health
        assert health["fraud_scoring_p95_seconds"] is not None and health["fraud_scoring_p95_seconds"] > 0, health
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    # The reports came through the real stages: produce -> Kafka (in-process) -> ingest -> schedule.
    assert "[produce] schema id" in err and "[ingest] stored object=" in err, err[-3000:]
    assert "announcements topic=user_interactions.windows" in err
    assert "[demo] fraud model trained" in err and "published" in err and "fraud alerts" in err
    assert len(list((tmp_path / "demo").glob("*.parquet"))) >= 5, "the five past minutes were not ingested"
    assert len(list((tmp_path / "demo").glob("*.json"))) >= 5, "report objects missing"
    assert len(list((tmp_path / "demo").glob("*.scores.parquet"))) >= 5, "scores objects missing"
    # Labels went to Kafka, never beside the live minutes.
    assert not list((tmp_path / "demo").glob("*.labels.parquet"))
