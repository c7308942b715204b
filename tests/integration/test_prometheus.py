"""PFAD under a real Prometheus (scripts/services/prometheus.sh) with its own alert rules.

The dashboard's GET /pipeline, pointed at that Prometheus ([dashboard] prometheus), answers
the numbers Prometheus has for a running `pfad run`, each asked at the time the answer names.

`pfad run` and `pfad dashboard` serve /metrics and /health on --metrics-port; Prometheus
scrapes both every second and evaluates deploy/prometheus/pfad-rules.yml. The dashboard is
stopped: the run's outbox grows and PfadOutboxGrowing fires in Prometheus's own alerts API;
the dashboard comes back and the outbox drains to zero. The rules' thresholds are minutes
(`promtool test rules` checks them as written, deploy/prometheus/pfad-rules.test.yml); here
the one alert's numbers are shortened to seconds so the test takes two minutes, not fifteen.
"""
from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

import pytest

from conftest import ROOT, LoggedProcess, PrivateService, free_port, wait_for_log
from kafka_util import TEHRAN

pytestmark = pytest.mark.release_only


def shortened_rules(path) -> str:
    """pfad-rules.yml with PfadOutboxGrowing's windows in seconds; fails if the rule changed shape."""
    text = (ROOT / "deploy/prometheus/pfad-rules.yml").read_text()
    start = text.index("- alert: PfadOutboxGrowing")
    end = text.index("labels:", start)
    rule = text[start:end]
    shortened = rule
    for old, new in (("pfad_outbox_oldest_age_seconds > 300", "pfad_outbox_oldest_age_seconds > 5"),
                     ("delta(pfad_outbox_depth[10m]) > 0", "delta(pfad_outbox_depth[90s]) > 0"),
                     ("for: 5m", "for: 5s")):
        assert old in shortened, f"PfadOutboxGrowing no longer has '{old}': update this test\n{rule}"
        shortened = shortened.replace(old, new)
    path.write_text(text[:start] + shortened + text[end:])
    return str(path)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def query(prometheus: str, promql: str) -> list[dict]:
    status, body = get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert status == 200, body
    return json.loads(body)["data"]["result"]


def value(prometheus: str, promql: str) -> float | None:
    result = query(prometheus, promql)
    return float(result[0]["value"][1]) if result else None


def wait_until(what: str, check, timeout: float, logs: list[LoggedProcess]):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        for p in logs:
            assert p.proc.poll() is None, f"{p.log_path.name} exited:\n{p.output()[-3000:]}"
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.log_path.name}\n{p.output()[-2000:]}" for p in logs)
            pytest.fail(f"not within {timeout} s: {what}\n{tails}")
        time.sleep(1)


def firing(prometheus: str, name: str) -> list[dict]:
    status, body = get(f"{prometheus}/api/v1/alerts")
    assert status == 200, body
    return [a for a in json.loads(body)["data"]["alerts"]
            if a["labels"]["alertname"] == name and a["state"] == "firing"]


def test_a_stopped_dashboard_fires_the_outbox_alert_in_prometheus(pfad, tmp_path):
    dash_port, dash_metrics, run_metrics, prom_port = free_port(), free_port(), free_port(), free_port()
    minutes = tmp_path / "minutes"
    minutes.mkdir()
    dashboard_argv = [pfad.binary, "dashboard", "--port", dash_port, "--db", tmp_path / "dashboard.db",
                      "--metrics-port", dash_metrics]
    dashboard = LoggedProcess(dashboard_argv, pfad.env, tmp_path / "dashboard.log")
    # Three minutes to catch up at once, then one a minute; every report goes through the outbox.
    start = (datetime.now(TEHRAN) - timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M")
    run = LoggedProcess([pfad.binary, "--log-level", "info", "run", "--source", minutes, "--dashboard",
                         f"http://127.0.0.1:{dash_port}", "--state", tmp_path / "runs.db", "--start", start,
                         "--delay", "1", "--metrics-port", run_metrics], pfad.env, tmp_path / "run.log")
    procs = [dashboard, run]
    targets = f"pfad-run=127.0.0.1:{run_metrics} pfad-dashboard=127.0.0.1:{dash_metrics}"
    try:
        wait_for_log(run, "metrics on http://127.0.0.1:", 30)
        # The first log line names the build.
        assert "starting, pid" in run.output().splitlines()[0], run.output()[:500]
        with PrivateService("prometheus", tmp_path / "prometheus", {
            "PFAD_PROMETHEUS_PORT": prom_port,
            "PFAD_PROMETHEUS_TARGETS": targets,
            "PFAD_PROMETHEUS_INTERVAL": "1s",
            "PFAD_PROMETHEUS_RULES": shortened_rules(tmp_path / "rules.yml"),
        }) as prometheus_service:
            prometheus = prometheus_service.exports()["PFAD_PROMETHEUS_URL"]
            # Both processes scraped, with their build, and the catch-up minutes delivered.
            wait_until("both targets up", lambda: value(prometheus, 'sum(up{job=~"pfad-.*"})') == 2, 60, procs)
            builds = query(prometheus, "pfad_build_info")
            assert {b["metric"]["job"] for b in builds} == {"pfad-run", "pfad-dashboard"}, builds
            assert all(b["metric"]["version"] for b in builds), builds
            wait_until("the catch-up runs succeeded",
                       lambda: (value(prometheus, 'pfad_runs_total{outcome="success"}') or 0) >= 3, 60, procs)
            wait_until("the outbox delivered them",
                       lambda: value(prometheus, "pfad_outbox_depth") == 0 and
                       (value(prometheus, "pfad_outbox_delivered_total") or 0) >= 6, 60, procs)
            assert (value(prometheus, 'pfad_dashboard_requests_total{route="/report",status="200"}') or 0) >= 3
            assert value(prometheus, "pfad_dashboard_stored_reports") >= 3
            stage = query(prometheus, "pfad_minute_stage_duration_seconds_count")
            assert {s["metric"]["stage"] for s in stage} >= {"analyze", "report"}, stage
            # The recording rules see the real series (at their next evaluation, every second here).
            wait_until("a recording rule over the real series",
                       lambda: value(prometheus, "pfad:report_staleness_seconds") is not None, 30, procs)
            assert firing(prometheus, "PfadOutboxGrowing") == []
            status, body = get(f"http://127.0.0.1:{run_metrics}/health")
            assert status == 200 and json.loads(body)["status"] == "ready", body

            assert dashboard.stop() == 0
            # The next minute's report and run record wait in the outbox; the alert fires.
            alerts = wait_until("PfadOutboxGrowing firing", lambda: firing(prometheus, "PfadOutboxGrowing"), 180,
                                [run])
            assert alerts[0]["labels"]["job"] == "pfad-run", alerts
            assert value(prometheus, "pfad_outbox_depth") >= 1
            assert value(prometheus, "pfad_outbox_dashboard_up") == 0
            status, body = get(f"http://127.0.0.1:{run_metrics}/health")
            assert status == 503, body
            assert "dashboard does not take messages" in json.loads(body)["checks"]["dashboard"]["reason"], body

            # Back on the same port and database: everything kept is delivered.
            dashboard = LoggedProcess(dashboard_argv, pfad.env, tmp_path / "dashboard-2.log")
            procs = [dashboard, run]
            wait_until("the outbox drained", lambda: value(prometheus, "pfad_outbox_depth") == 0 and
                       value(prometheus, "pfad_outbox_dashboard_up") == 1, 120, procs)
            assert value(prometheus, 'sum(pfad_outbox_dropped_total{reason=~"size_cap|age_cap|refused"})') == 0
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.stop()


# GET /pipeline's numbers and the queries whose answers they are (docs/CLI.md, "GET /pipeline").
PIPELINE_QUERIES = {
    "freshness_seconds": "max(pfad:report_staleness_seconds)",
    "freshness_p95_seconds": "max(pfad:report_freshness_seconds:p95_5m)",
    "lag_messages": "sum(pfad:ingest_consumer_lag_messages:sum)",
    "failed_runs": 'sum(increase(pfad_runs_total{outcome="failed"}[1h]))',
    "fraud_scoring_p95_seconds": 'max(pfad:minute_stage_duration_seconds:p95_5m{stage="fraud"})',
}


def value_at(prometheus: str, promql: str, at: float) -> float | None:
    status, body = get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"}))
    assert status == 200, body
    result = json.loads(body)["data"]["result"]
    got = float(result[0]["value"][1]) if result else None
    return None if got is None or math.isnan(got) or math.isinf(got) else got


def test_the_dashboard_pipeline_row_reads_what_prometheus_has(pfad, tmp_path):
    dash_port, run_metrics, prom_port = free_port(), free_port(), free_port()
    minutes = tmp_path / "minutes"
    minutes.mkdir()
    start = (datetime.now(TEHRAN) - timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M")
    run = LoggedProcess([pfad.binary, "--log-level", "info", "run", "--source", minutes, "--dashboard",
                         f"http://127.0.0.1:{dash_port}",
                         "--state", tmp_path / "runs.db", "--start", start, "--delay", "1",
                         "--metrics-port", run_metrics], pfad.env, tmp_path / "run.log")
    procs = [run]
    try:
        wait_for_log(run, "metrics on http://127.0.0.1:", 30)
        with PrivateService("prometheus", tmp_path / "prometheus", {
            "PFAD_PROMETHEUS_PORT": prom_port,
            "PFAD_PROMETHEUS_TARGETS": f"pfad-run=127.0.0.1:{run_metrics}",
            "PFAD_PROMETHEUS_INTERVAL": "1s",
        }) as prometheus_service:
            prometheus = prometheus_service.exports()["PFAD_PROMETHEUS_URL"]
            dashboard = LoggedProcess([pfad.binary, "dashboard", "--port", dash_port, "--db", tmp_path / "d.db"],
                                      {**pfad.env, "PFAD_PROMETHEUS_URL": prometheus}, tmp_path / "dashboard.log")
            procs.append(dashboard)
            wait_until("the catch-up runs succeeded and were recorded",
                       lambda: (value(prometheus, 'pfad_runs_total{outcome="success"}') or 0) >= 3 and
                       value(prometheus, "pfad:report_staleness_seconds") is not None, 90, procs)

            def same_numbers():
                status, body = get(f"http://127.0.0.1:{dash_port}/pipeline")
                assert status == 200, body
                health = json.loads(body)
                assert health["source"] == "prometheus" and health["errors"] == [], health
                # A rule evaluated just as the dashboard asked may land a moment later: ask again then.
                expected = {k: value_at(prometheus, q, health["at"]) for k, q in PIPELINE_QUERIES.items()}
                got = {k: health[k] for k in PIPELINE_QUERIES}
                same = all((got[k] is None) == (expected[k] is None) and
                           (got[k] is None or got[k] == pytest.approx(expected[k], rel=1e-9, abs=1e-9))
                           for k in PIPELINE_QUERIES)
                return health if same and None not in (got["freshness_seconds"], got["failed_runs"]) else None

            health = wait_until("GET /pipeline answers Prometheus's numbers", same_numbers, 60, procs)
            assert health["failed_runs"] == 0 and health["window"] == {"failed_runs": "1h", "p95": "5m"}, health
            assert health["lag_messages"] is None, health  # no ingester is scraped
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.stop()
