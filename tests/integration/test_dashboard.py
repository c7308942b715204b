"""`pfad dashboard`: the API of docs/DESIGN.md, "Dashboard HTTP API" (compatible with the reference
FastAPI service), history, the push stream, persistence, auth and limits."""
from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import free_port

REPORT = {"report": {"total_events": 100, "total_errors": 15,
                     "by_event_type": {t: {"SUCCESS": 17, "ERROR": 3}
                                       for t in ["ADD_TO_CART", "CHECKOUT", "PAYMENT", "SEARCH", "VIEW_PRODUCT"]},
                     "process_time": 0.0123, "file_name": "2025-01-15_10-00.json"}}
NO_DATA = {"report": "No data for 2025-01-15_11-00."}


class Dashboard:
    """`pfad dashboard` on a free port (or `port`); with `context` (the client's TLS
    context) it is reached over https, so pass it --tls-cert / --tls-key too."""

    def __init__(self, pfad, db: Path, *args: str, port: int | None = None, context: ssl.SSLContext | None = None,
                 env: dict[str, str] | None = None):
        self.port = port or free_port()
        self.context = context
        self.base = f"{'https' if context else 'http'}://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(pfad.binary), "dashboard", "--port", str(self.port), "--db", str(db), *args],
                                     env={**pfad.env, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.call("GET", "/health")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"dashboard exited: {self.proc.stderr.read()}")
                time.sleep(0.05)
        raise RuntimeError("dashboard did not answer within 10 s")

    def call(self, method: str, path: str, body: bytes | str | dict | None = None, headers: dict | None = None):
        data = json.dumps(body).encode() if isinstance(body, dict) else (body.encode() if isinstance(body, str) else body)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=15)


@pytest.fixture
def dashboard(pfad, tmp_path):
    d = Dashboard(pfad, tmp_path / "reports.db")
    yield d
    assert d.stop() == 0


def test_reference_api_cases(dashboard):
    assert dashboard.call("GET", "/health") == (200, {"status": "healthy", "reports_count": 0, "failed_runs": 0})
    assert dashboard.call("GET", "/report") == (404, {"detail": "No report stored."})
    assert dashboard.call("POST", "/report", REPORT) == (200, None)
    assert dashboard.call("GET", "/report") == (200, REPORT)
    assert dashboard.call("GET", "/health")[1]["reports_count"] == 1
    assert dashboard.call("POST", "/report", NO_DATA) == (200, None)
    assert dashboard.call("GET", "/report") == (200, NO_DATA)
    assert dashboard.call("DELETE", "/report") == (200, {"status": "cleared"})
    assert dashboard.call("GET", "/report") == (404, {"detail": "No report stored."})
    assert dashboard.call("GET", "/health")[1]["reports_count"] == 0


@pytest.mark.parametrize("body", ["{not json", "[]", '{"report": 5}', '{"report": null}', '{"other": {}}', "",
                                  '{"report": [1, 2]}', "[" * 10000 + "]" * 10000,
                                  '{"report": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}"])
def test_bad_bodies_get_422_and_change_nothing(dashboard, body):
    dashboard.call("POST", "/report", REPORT)
    status, answer = dashboard.call("POST", "/report", body)
    assert status == 422
    assert isinstance(answer["detail"], str) and answer["detail"]
    assert dashboard.call("GET", "/report") == (200, REPORT)


def test_body_over_the_limit_gets_413(pfad, tmp_path):
    d = Dashboard(pfad, tmp_path / "r.db", "--max-body", "1000")
    try:
        status, _ = d.call("POST", "/report", {"report": "x" * 5000})
        assert status == 413
        assert d.call("GET", "/report")[0] == 404
    finally:
        d.stop()


def test_oversized_body_gets_413_with_urllib(dashboard):
    """urllib sends the whole 8 MiB body before reading: it must still get the 413, not a reset."""
    body = json.dumps({"report": "x" * (8 << 20)}).encode()
    for _ in range(3):
        status, answer = dashboard.call("POST", "/report", body)
        assert status == 413, answer
    assert dashboard.call("GET", "/report")[0] == 404


def test_history_newest_first(dashboard):
    for i in range(5):
        dashboard.call("POST", "/report", {"report": f"No data for 2025-01-15_10-0{i}."})
    status, body = dashboard.call("GET", "/reports?limit=3")
    assert status == 200
    assert [r["report"]["report"] for r in body["reports"]] == [f"No data for 2025-01-15_10-0{i}." for i in (4, 3, 2)]
    assert dashboard.call("GET", "/reports?limit=0")[0] == 422
    assert dashboard.call("GET", "/reports?limit=abc")[0] == 422


def test_reports_survive_a_restart(pfad, tmp_path):
    d = Dashboard(pfad, tmp_path / "r.db")
    d.call("POST", "/report", REPORT)
    assert d.stop() == 0
    d = Dashboard(pfad, tmp_path / "r.db")
    try:
        assert d.call("GET", "/report") == (200, REPORT)
        assert len(d.call("GET", "/reports")[1]["reports"]) == 1
    finally:
        d.stop()


def test_token_guards_writes_only(pfad, tmp_path):
    d = Dashboard(pfad, tmp_path / "r.db", "--token", "s3cret")
    try:
        assert d.call("POST", "/report", REPORT)[0] == 401
        assert d.call("POST", "/report", REPORT, {"Authorization": "Bearer wrong"})[0] == 401
        assert d.call("POST", "/report", REPORT, {"Authorization": "Bearer s3cret"}) == (200, None)
        assert d.call("GET", "/report") == (200, REPORT)  # reads stay open
        assert d.call("DELETE", "/report")[0] == 401
        assert d.call("DELETE", "/report", None, {"Authorization": "Bearer s3cret"})[0] == 200
    finally:
        d.stop()


def test_refuses_non_loopback_without_token(pfad, tmp_path):
    run = pfad.run("dashboard", "--host", "0.0.0.0", "--port", "0", "--db", str(tmp_path / "r.db"), timeout=10)
    assert run.code == 3
    assert "without a bearer token" in run.stderr


def test_push_stream_delivers_new_reports(dashboard):
    received = []

    def listen():
        with urllib.request.urlopen(dashboard.base + "/events", timeout=20) as res:
            event = None
            for raw in res:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "report":
                    received.append(json.loads(line[6:]))
                    return

    t = threading.Thread(target=listen)
    t.start()
    time.sleep(0.5)
    dashboard.call("POST", "/report", REPORT)
    t.join(timeout=10)
    assert received == [REPORT]


def test_page_and_assets_are_served_by_the_binary(dashboard):
    with urllib.request.urlopen(dashboard.base + "/") as res:
        page = res.read().decode()
    assert '<script src="/chart.js">' in page and '<canvas id="bars"' in page
    with urllib.request.urlopen(dashboard.base + "/chart.js") as res:
        assert b"Chart" in res.read()


def test_thousand_concurrent_clients(dashboard):
    dashboard.call("POST", "/report", REPORT)

    def client(i: int) -> bool:
        if i % 10 == 0:
            return dashboard.call("POST", "/report", REPORT)[0] == 200
        return dashboard.call("GET", "/report") == (200, REPORT)

    deadline = time.monotonic() + 10
    ok = total = 0
    with ThreadPoolExecutor(max_workers=1000) as pool:
        while time.monotonic() < deadline:
            results = list(pool.map(client, range(1000)))
            ok += sum(results)
            total += len(results)
    assert ok == total
    assert dashboard.proc.poll() is None


def test_failed_runs_show_in_health_and_runs(dashboard):
    assert dashboard.call("POST", "/runs", {"minute": "2025-01-15_10-00", "state": "failed", "attempts": 2,
                                            "error": "store down"}) == (200, None)
    assert dashboard.call("POST", "/runs", {"minute": "2025-01-15_10-01", "state": "success", "attempts": 1}) == \
        (200, None)
    assert dashboard.call("GET", "/health")[1]["failed_runs"] == 1
    _, failed = dashboard.call("GET", "/runs?failed")
    assert [(r["minute"], r["error"]) for r in failed["runs"]] == [("2025-01-15_10-00", "store down")]
    # A later success of the same minute clears it.
    dashboard.call("POST", "/runs", {"minute": "2025-01-15_10-00", "state": "success", "attempts": 1})
    assert dashboard.call("GET", "/health")[1]["failed_runs"] == 0
    assert dashboard.call("POST", "/runs", {"minute": "x", "state": "maybe"})[0] == 422
