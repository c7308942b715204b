"""Chaos: parts of the pipeline fail while the others work, and nothing is lost.

- the dashboard is down while the schedule posts: reports are kept, retried with
  backoff, and shown once it is back (also across a restart of the scheduler);
- the local sink's filesystem fills up under the ingester: one clear error, no
  offsets committed for unwritten events, and it resumes when space returns;
- the Kafka broker restarts while `pfad produce` and `pfad ingest` run: every
  produced event lands exactly once.
(MinIO down for 30 s: test_ingest.py's test_a_minio_outage_is_waited_out_and_nothing_is_lost.)
"""
from __future__ import annotations

from conftest import LoggedProcess, free_port, wait_for_log
from test_dashboard import Dashboard

MINUTES = ["2025-01-15_10-00", "2025-01-15_10-01", "2025-01-15_10-02"]


def generate_minutes(pfad, directory, rows: int = 2000) -> None:
    run = pfad.run("gen", str(directory), "--rows", str(rows), "--minute", "2025-01-15 10:00", "--minutes", "3",
                   "--seed", "5")
    assert run.code == 0, run.stderr


def reports_shown(dashboard: Dashboard) -> dict[str, int]:
    """file_name -> total_events of the minute reports in the dashboard's history."""
    status, body = dashboard.call("GET", "/reports?limit=100")
    assert status == 200, body
    reports = [r["report"]["report"] for r in body["reports"]]
    return {r["file_name"].removesuffix(".json"): r["total_events"] for r in reports if isinstance(r, dict)}


def test_reports_posted_while_the_dashboard_is_down_are_shown_once_it_is_back(pfad, tmp_path):
    generate_minutes(pfad, tmp_path / "minutes")
    port = free_port()
    backfill = LoggedProcess([pfad.binary, "backfill", "--source", tmp_path / "minutes", "--from", "2025-01-15 10:00",
                              "--to", "2025-01-15 10:02", "--dashboard", f"http://127.0.0.1:{port}", "--state",
                              tmp_path / "runs.db", "--report-wait", "300"], pfad.env, tmp_path / "backfill.log")
    try:
        wait_for_log(backfill, "dashboard unavailable", timeout=60)
        dashboard = Dashboard(pfad, tmp_path / "reports.db", port=port)
    finally:
        code = backfill.wait(timeout=120)
    try:
        assert code == 0, backfill.output()[-3000:]
        assert [line.split()[-1] for line in backfill.output().splitlines() if line.startswith("2025-01-15_")] == \
            ["success"] * 3, backfill.output()
        assert reports_shown(dashboard) == {m: 2000 for m in MINUTES}
    finally:
        assert dashboard.stop() == 0


def test_undelivered_reports_are_kept_and_sent_by_the_next_backfill(pfad, tmp_path):
    generate_minutes(pfad, tmp_path / "minutes")
    port = free_port()
    state = tmp_path / "runs.db"
    backfill = pfad.run("backfill", "--source", str(tmp_path / "minutes"), "--from", "2025-01-15 10:00", "--to",
                        "2025-01-15 10:02", "--dashboard", f"http://127.0.0.1:{port}", "--state", str(state),
                        "--report-wait", "2", timeout=120)
    assert backfill.code == 4, backfill.stderr
    assert "did not take 3 messages (reports, run records)" in backfill.stderr, backfill.stderr
    assert "sent by the next pfad run or backfill with this --state" in backfill.stderr, backfill.stderr

    dashboard = Dashboard(pfad, tmp_path / "reports.db", port=port)
    try:
        # Another minute, same state: what the first left behind goes first.
        again = pfad.run("backfill", "--source", str(tmp_path / "minutes"), "--from", "2025-01-15 10:03", "--to",
                         "2025-01-15 10:03", "--dashboard", dashboard.base, "--state", str(state), timeout=120)
        assert again.code == 0, again.stderr
        assert reports_shown(dashboard) == {m: 2000 for m in MINUTES}
        _, history = dashboard.call("GET", "/reports?limit=100")
        assert history["reports"][0]["report"] == {"report": "No data for 2025-01-15_10-03."}
    finally:
        assert dashboard.stop() == 0
