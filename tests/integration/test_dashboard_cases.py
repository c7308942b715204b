"""`pfad dashboard` for analysts (docs/DESIGN.md, "Dashboard HTTP API"): the investigations that
reports carry (report.fraud.investigations), GET /entities/{kind}/{id}, GET /alerts and
POST / GET /reviews, with the write token, and their persistence across a restart."""
from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import urllib.request

import pytest

from test_dashboard import REPORT, Dashboard

MINUTE = "2025-01-15_10-05"
SESSION = "6f1c2d3e-0000-4000-8000-000000000001"
USER = "9a8b7c6d-0000-4000-8000-000000000002"
PRODUCT = "ab12cd34-0000-4000-8000-000000000003"


def investigation(kind: str, entity_id: str, score: float, flagged: bool, minute: str = MINUTE) -> dict:
    center = f"{kind}:{entity_id}"
    return {"entity_kind": kind, "entity_id": entity_id, "minute": minute, "fraud_score": score, "threshold": 0.5,
            "is_fraud": flagged, "model": "trees_graph v1", "first_ms": 1736923500000, "last_ms": 1736923799000,
            "why": [{"feature": "error_rate", "value": 0.95, "percentile": 99.8, "median": 0.10,
                     "text": "payment errors 0.95 — higher than 99.8 % of sessions"}],
            "events": [{"ts_ms": 1736923799000, "event_type": "CHECKOUT", "status": "ERROR",
                        "error_code": "PAYMENT_DECLINED", "product_id": PRODUCT, "session_id": SESSION,
                        "user_id": None}],
            "neighbours": {"nodes": [{"key": center, "kind": kind, "id": entity_id, "fraud_score": score,
                                      "is_fraud": flagged, "center": True},
                                     {"key": f"product:{PRODUCT}", "kind": "product", "id": PRODUCT,
                                      "fraud_score": None, "is_fraud": False, "center": False}],
                           "links": [{"source": center, "target": f"product:{PRODUCT}", "weight": 3}]}}


def report_with(*items, minute: str = MINUTE) -> dict:
    doc = copy.deepcopy(REPORT)
    doc["report"]["file_name"] = f"{minute}.json"
    doc["report"]["fraud"] = {"status": "scored", "investigations": list(items)}
    return doc


@pytest.fixture
def dashboard(pfad, tmp_path):
    d = Dashboard(pfad, tmp_path / "reports.db")
    yield d
    assert d.stop() == 0


def review(d: Dashboard, kind: str, entity_id: str, verdict: str, note: str | None = None, headers=None):
    body = {"entity_kind": kind, "entity_id": entity_id, "verdict": verdict}
    if note is not None:
        body["note"] = note
    return d.call("POST", "/reviews", body, headers)


def test_investigations_are_kept_apart_from_the_report(dashboard):
    session = investigation("session", SESSION, 0.97, True)
    bad = [{"entity_kind": "product", "entity_id": PRODUCT, "minute": MINUTE}, {"entity_id": "x"}, 7]
    assert dashboard.call("POST", "/report", report_with(session, *bad)) == (200, None)
    _, latest = dashboard.call("GET", "/report")
    assert latest["report"]["fraud"] == {"status": "scored"}
    _, history = dashboard.call("GET", "/reports")
    assert "investigations" not in json.dumps(history)

    status, entity = dashboard.call("GET", f"/entities/session/{SESSION}")
    assert status == 200
    assert entity == {"entity_kind": "session", "entity_id": SESSION, "investigation": session,
                      "scores": [{"minute": MINUTE, "fraud_score": 0.97, "threshold": 0.5, "is_fraud": True}],
                      "events": session["events"], "reviews": []}
    assert dashboard.call("GET", f"/entities/user/{SESSION}")[0] == 404
    assert dashboard.call("GET", "/entities/user/nobody") == \
        (404, {"detail": "No investigation or review of this entity."})
    assert dashboard.call("GET", f"/entities/product/{PRODUCT}")[0] == 400


def test_the_events_of_every_kept_minute_once_newest_first(dashboard):
    def event(ts: int, kind: str = "CHECKOUT") -> dict:
        return {"ts_ms": ts, "event_type": kind, "status": "ERROR", "error_code": 3, "product_id": "7",
                "session_id": SESSION, "user_id": USER}
    first = investigation("session", SESSION, 0.7, True, minute="2025-01-15_10-05")
    first["events"] = [event(1000), event(900)]
    second = investigation("session", SESSION, 0.9, True, minute="2025-01-15_10-06")
    second["events"] = [event(2000, "PAYMENT"), event(1000)]  # 1000 again: listed once
    for inv in (first, second):
        assert dashboard.call("POST", "/report", report_with(inv, minute=inv["minute"])) == (200, None)
    _, entity = dashboard.call("GET", f"/entities/session/{SESSION}")
    assert [e["ts_ms"] for e in entity["events"]] == [2000, 1000, 900]
    assert entity["investigation"]["events"] == second["events"]


def test_scores_over_the_minutes_and_the_latest_investigation(dashboard):
    for minute, score in [("2025-01-15_10-05", 0.7), ("2025-01-15_10-06", 0.4), ("2025-01-15_10-07", 0.9)]:
        dashboard.call("POST", "/report", report_with(investigation("user", USER, score, score > 0.5, minute),
                                                      minute=minute))
    _, entity = dashboard.call("GET", f"/entities/user/{USER}")
    assert [(p["minute"], p["fraud_score"], p["is_fraud"]) for p in entity["scores"]] == [
        ("2025-01-15_10-05", 0.7, True), ("2025-01-15_10-06", 0.4, False), ("2025-01-15_10-07", 0.9, True)]
    assert entity["investigation"]["minute"] == "2025-01-15_10-07"


def test_alerts_queue_and_reviews(dashboard):
    dashboard.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True),
                                                  investigation("user", USER, 0.2, False)))
    time.sleep(0.01)
    dashboard.call("POST", "/report", report_with(investigation("user", "u-second", 0.8, True)))
    status, alerts = dashboard.call("GET", "/alerts")
    assert status == 200
    assert [(a["entity_kind"], a["entity_id"]) for a in alerts["alerts"]] == [("user", "u-second"),
                                                                              ("session", SESSION)]
    first = alerts["alerts"][1]
    assert first["minute"] == MINUTE and first["fraud_score"] == 0.97 and first["threshold"] == 0.5
    assert first["model"] == "trees_graph v1"
    assert first["reason"] == "payment errors 0.95 — higher than 99.8 % of sessions"
    assert isinstance(first["received_ms"], int)
    assert len(dashboard.call("GET", "/alerts?limit=1")[1]["alerts"]) == 1
    assert dashboard.call("GET", "/alerts?limit=0")[0] == 422

    status, stored = review(dashboard, "session", SESSION, "fraud", "card testing ring")
    assert status == 201
    assert stored["id"] >= 1 and stored["verdict"] == "fraud" and stored["note"] == "card testing ring"
    assert (stored["entity_kind"], stored["entity_id"], stored["minute"]) == ("session", SESSION, MINUTE)
    assert (stored["first_ms"], stored["last_ms"]) == (1736923500000, 1736923799000)
    assert isinstance(stored["reviewed_ms"], int)
    assert [a["entity_id"] for a in dashboard.call("GET", "/alerts")[1]["alerts"]] == ["u-second"]

    # A second verdict is history; the newest comes first in the entity view.
    status, second = review(dashboard, "session", SESSION, "not_fraud")
    assert status == 201 and second["id"] > stored["id"] and second["note"] == ""
    _, entity = dashboard.call("GET", f"/entities/session/{SESSION}")
    assert [r["verdict"] for r in entity["reviews"]] == ["not_fraud", "fraud"]

    # A new flagged minute after the review opens the alert again.
    time.sleep(0.01)
    dashboard.call("POST", "/report", report_with(investigation("session", SESSION, 0.99, True,
                                                                "2025-01-15_10-06")))
    assert SESSION in [a["entity_id"] for a in dashboard.call("GET", "/alerts")[1]["alerts"]]


@pytest.mark.parametrize("body,status", [
    ({"entity_kind": "session", "entity_id": SESSION, "verdict": "maybe"}, 400),
    ({"entity_kind": "product", "entity_id": SESSION, "verdict": "fraud"}, 400),
    ({"entity_kind": "session", "entity_id": SESSION, "verdict": "fraud", "note": "x" * 2001}, 413),
    ({"entity_kind": "session", "entity_id": "never-seen", "verdict": "fraud"}, 404),
    ({"entity_kind": "session", "entity_id": SESSION}, 422),
    ({"entity_kind": "session", "entity_id": SESSION, "verdict": "fraud", "note": 5}, 422),
    ("{not json", 422),
    ("[]", 422),
])
def test_bad_reviews_are_refused_and_store_nothing(dashboard, body, status):
    dashboard.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True)))
    code, answer = dashboard.call("POST", "/reviews", body)
    assert code == status
    assert isinstance(answer["detail"], str) and answer["detail"]
    assert dashboard.call("GET", "/reviews") == (200, {"reviews": []})


def test_a_note_of_2000_bytes_is_kept(dashboard):
    dashboard.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True)))
    status, stored = review(dashboard, "session", SESSION, "fraud", "é" * 1000)
    assert status == 201 and stored["note"] == "é" * 1000


def test_reviews_filters_and_paging_after_an_id(dashboard):
    dashboard.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True),
                                                  investigation("user", USER, 0.8, True)))
    ids = [review(dashboard, *args)[1]["id"] for args in
           [("session", SESSION, "fraud"), ("user", USER, "not_fraud"), ("session", SESSION, "not_fraud")]]
    assert ids == sorted(ids)

    def listed(query: str = "") -> list[int]:
        status, body = dashboard.call("GET", "/reviews" + query)
        assert status == 200
        return [r["id"] for r in body["reviews"]]

    assert listed() == ids
    assert listed(f"?after={ids[0]}") == ids[1:]
    assert listed(f"?after={ids[0]}&limit=1") == ids[1:2]
    assert listed(f"?after={ids[-1]}") == []
    assert listed("?verdict=not_fraud") == ids[1:]
    assert listed("?entity_kind=session") == [ids[0], ids[2]]
    assert listed(f"?entity_kind=user&entity_id={USER}") == [ids[1]]
    assert listed("?entity_id=nobody") == []
    assert dashboard.call("GET", "/reviews?verdict=maybe")[0] == 400
    assert dashboard.call("GET", "/reviews?entity_kind=product")[0] == 400
    assert dashboard.call("GET", "/reviews?after=-1")[0] == 422
    assert dashboard.call("GET", "/reviews?limit=10001")[0] == 422


def test_write_token_guards_reviews(pfad, tmp_path):
    d = Dashboard(pfad, tmp_path / "r.db", "--token", "s3cret")
    auth = {"Authorization": "Bearer s3cret"}
    try:
        d.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True)), auth)
        assert review(d, "session", SESSION, "fraud")[0] == 401
        assert review(d, "session", SESSION, "fraud", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert d.call("GET", "/reviews") == (200, {"reviews": []})
        assert review(d, "session", SESSION, "fraud", headers=auth)[0] == 201
        assert len(d.call("GET", "/reviews")[1]["reviews"]) == 1  # reads stay open
    finally:
        d.stop()


def test_config_token_guards_reviews(pfad, tmp_path):
    config = tmp_path / "pfad.toml"
    token = secrets.token_urlsafe(24)
    config.write_text(f'[dashboard]\ntoken = "{token}"\n')
    d = Dashboard(pfad, tmp_path / "r.db", env={"PFAD_CONFIG": str(config)})
    try:
        assert review(d, "session", SESSION, "fraud")[0] == 401
        assert review(d, "session", SESSION, "fraud", headers={"Authorization": f"Bearer {token}"})[0] == 404
    finally:
        d.stop()


def test_a_review_is_pushed_on_the_stream(dashboard):
    dashboard.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True)))
    received = []

    def listen():
        with urllib.request.urlopen(dashboard.base + "/events", timeout=20) as res:
            event = None
            for raw in res:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "review":
                    received.append(json.loads(line[6:]))
                    return

    t = threading.Thread(target=listen)
    t.start()
    time.sleep(0.5)
    _, stored = review(dashboard, "session", SESSION, "fraud", "ring")
    t.join(timeout=10)
    assert received == [stored]


def test_reviews_survive_a_restart(pfad, tmp_path):
    d = Dashboard(pfad, tmp_path / "r.db")
    d.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True)))
    _, stored = review(d, "session", SESSION, "fraud", "kept")
    assert d.stop() == 0
    d = Dashboard(pfad, tmp_path / "r.db")
    try:
        assert d.call("GET", "/reviews") == (200, {"reviews": [stored]})
        _, entity = d.call("GET", f"/entities/session/{SESSION}")
        assert entity["reviews"] == [stored] and entity["investigation"]["entity_id"] == SESSION
        assert d.call("GET", "/alerts") == (200, {"alerts": []})
        status, again = review(d, "session", SESSION, "not_fraud")
        assert status == 201 and again["id"] > stored["id"]
    finally:
        d.stop()


def test_investigations_older_than_the_retention_are_dropped(pfad, tmp_path):
    """Retention is in minutes: an entity posted now is kept, and `pfad config` shows the setting."""
    d = Dashboard(pfad, tmp_path / "r.db", env={"PFAD_DASHBOARD_INVESTIGATION_RETENTION_MINUTES": "1"})
    try:
        d.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True)))
        assert d.call("GET", f"/entities/session/{SESSION}")[0] == 200
        assert len(d.call("GET", "/alerts")[1]["alerts"]) == 1
    finally:
        d.stop()
    shown = pfad.run("config", env={"PFAD_DASHBOARD_INVESTIGATION_RETENTION_MINUTES": "7"})
    assert "dashboard.investigation_retention_minutes" in shown.stdout and "7" in shown.stdout



def test_page_serves_the_entity_view_and_the_graph_library(dashboard):
    with urllib.request.urlopen(f"{dashboard.base}/entity/session/{SESSION}") as res:
        page = res.read().decode()
    assert '<script src="/cytoscape.js">' in page and 'id="review-queue"' in page
    with urllib.request.urlopen(dashboard.base + "/cytoscape.js") as res:
        assert b"cytoscape" in res.read()


def test_read_token_guards_the_analyst_reads(pfad, tmp_path):
    d = Dashboard(pfad, tmp_path / "r.db", env={"PFAD_DASHBOARD_READ_TOKEN": "r34d", "PFAD_DASHBOARD_TOKEN": "wr1te"})
    read = {"Authorization": "Bearer r34d"}
    try:
        d.call("POST", "/report", report_with(investigation("session", SESSION, 0.97, True)),
               {"Authorization": "Bearer wr1te"})
        for path in ["/alerts", f"/entities/session/{SESSION}", "/reviews"]:
            assert d.call("GET", path)[0] == 401, path
            assert d.call("GET", path, None, read)[0] == 200, path
            assert d.call("GET", path, None, {"Cookie": "pfad_read_token=r34d"})[0] == 200, path
        # The read token does not write.
        assert review(d, "session", SESSION, "fraud", headers=read)[0] == 401
    finally:
        d.stop()
