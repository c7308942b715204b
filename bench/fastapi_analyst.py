"""The peer of the dashboard's analyst API in the analyst benchmark (bench/analyst_bench.py):
FastAPI + uvicorn over SQLite (the standard library's sqlite3, WAL), written the way a small
Python service would be. POST /report keeps the latest report in memory (as
bench/fastapi_dashboard.py does) and stores each element of report.fraud.investigations as a row
of the same table the dashboard keeps (key: kind, id, minute; expired after 60 minutes);
GET /entities/{kind}/{id} returns the entity's latest investigation, its score per minute and its
reviews; GET /alerts the latest investigation per entity when flagged and not reviewed since.
The other routes are the reference service's (fastapi_dashboard.py).

  python fastapi_analyst.py <port> <sqlite file>
"""
import json
import sqlite3
import sys
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException

import fastapi_dashboard

RETENTION_MS = 60 * 60_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS investigations (entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL,
  minute TEXT NOT NULL, received_ms INTEGER NOT NULL, fraud_score REAL, is_fraud INTEGER NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (entity_kind, entity_id, minute));
CREATE INDEX IF NOT EXISTS investigations_by_received ON investigations (received_ms);
CREATE TABLE IF NOT EXISTS reviews (id INTEGER PRIMARY KEY AUTOINCREMENT, entity_kind TEXT NOT NULL,
  entity_id TEXT NOT NULL, verdict TEXT NOT NULL, note TEXT NOT NULL, reviewed_ms INTEGER NOT NULL,
  first_ms INTEGER, last_ms INTEGER, minute TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reviews_by_entity ON reviews (entity_kind, entity_id, id);
"""
ALERTS = """
WITH latest AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY entity_kind, entity_id
                ORDER BY received_ms DESC, minute DESC) AS n FROM investigations WHERE received_ms >= ?)
SELECT entity_kind, entity_id, minute, received_ms, fraud_score, json_extract(body, '$.threshold'),
       json_extract(body, '$.model'), json_extract(body, '$.why[0].text') FROM latest l
WHERE n = 1 AND is_fraud = 1 AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.entity_kind = l.entity_kind
      AND r.entity_id = l.entity_id AND r.reviewed_ms >= l.received_ms)
ORDER BY received_ms DESC, fraud_score DESC, entity_kind, entity_id LIMIT ?
"""
REVIEW_COLUMNS = ("id", "entity_kind", "entity_id", "verdict", "note", "reviewed_ms", "first_ms", "last_ms",
                  "minute")

app = FastAPI()
db = sqlite3.connect(sys.argv[2] if len(sys.argv) > 2 else ":memory:", check_same_thread=False)
db.execute("PRAGMA journal_mode=WAL")
db.executescript(SCHEMA)


def now_ms() -> int:
    return int(time.time() * 1000)


@app.post("/report")
async def receive_report(report: fastapi_dashboard.AnalysisReport) -> None:
    fastapi_dashboard.storage.append(report)
    body = report.report if isinstance(report.report, dict) else {}
    investigations = (body.get("fraud") or {}).get("investigations") or []
    received = now_ms()
    with db:
        db.executemany("INSERT OR REPLACE INTO investigations VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [(i["entity_kind"], i["entity_id"], i["minute"], received, i.get("fraud_score"),
                         int(bool(i.get("is_fraud"))), json.dumps(i)) for i in investigations])
        db.execute("DELETE FROM investigations WHERE received_ms < ?", (received - RETENTION_MS,))


@app.get("/entities/{kind}/{entity_id}")
async def entity(kind: str, entity_id: str) -> dict[str, Any]:
    if kind not in ("user", "session"):
        raise HTTPException(status_code=400, detail='entity_kind must be "user" or "session".')
    latest = db.execute("SELECT body FROM investigations WHERE entity_kind = ? AND entity_id = ? "
                        "ORDER BY received_ms DESC, minute DESC LIMIT 1", (kind, entity_id)).fetchone()
    scores = [{"minute": m, "fraud_score": s, "threshold": t, "is_fraud": bool(f)} for m, s, t, f in db.execute(
        "SELECT minute, fraud_score, json_extract(body, '$.threshold'), is_fraud FROM investigations "
        "WHERE entity_kind = ? AND entity_id = ? ORDER BY minute", (kind, entity_id))]
    reviews = [dict(zip(REVIEW_COLUMNS, row)) for row in db.execute(
        f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews WHERE entity_kind = ? AND entity_id = ? ORDER BY id DESC",
        (kind, entity_id))]
    if latest is None and not reviews:
        raise HTTPException(status_code=404, detail="No investigation or review of this entity.")
    return {"entity_kind": kind, "entity_id": entity_id, "investigation": json.loads(latest[0]) if latest else None,
            "scores": scores, "reviews": reviews}


@app.get("/alerts")
async def alerts(limit: int = 100) -> dict[str, Any]:
    if not 1 <= limit <= 1000:
        raise HTTPException(status_code=422, detail="limit must be an integer from 1 to 1000.")
    rows = db.execute(ALERTS, (now_ms() - RETENTION_MS, limit)).fetchall()
    keys = ("entity_kind", "entity_id", "minute", "received_ms", "fraud_score", "threshold", "model", "reason")
    return {"alerts": [dict(zip(keys, row)) for row in rows]}


app.include_router(fastapi_dashboard.app.router)  # GET/DELETE /report, GET /health

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
