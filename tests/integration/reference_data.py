"""The reference minute of the original project's Spark test, and writers for
the same content in every layout PFAD must read."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa

EVENTS = ["VIEW_PRODUCT", "ADD_TO_CART", "CHECKOUT", "PAYMENT", "SEARCH"]
NUM_ERROR = 3
NUM_SUCCESS = 17
TEHRAN = ZoneInfo("Asia/Tehran")

SCHEMA = pa.schema([
    ("event_id", pa.string()),
    ("user_id", pa.string()),
    ("session_id", pa.string()),
    ("event_type", pa.string()),
    ("event_timestamp", pa.timestamp("ms", tz="Asia/Tehran")),
    ("request_latency_ms", pa.int32()),
    ("status", pa.string()),
    ("error_code", pa.int32()),
    ("product_id", pa.int32()),
])


def reference_table() -> pa.Table:
    """5 event types x (3 ERROR + 17 SUCCESS) in 2025-01-15 10:00 Tehran."""
    start = dt.datetime(2025, 1, 15, 10, 0, tzinfo=TEHRAN)
    rows = []
    i = 0
    for event_type in EVENTS:
        product = 1000 if event_type in ("VIEW_PRODUCT", "ADD_TO_CART") else None
        for status in ["ERROR"] * NUM_ERROR + ["SUCCESS"] * NUM_SUCCESS:
            rows.append({
                "event_id": f"00000000-0000-4000-8000-{i:012d}",
                "user_id": f"00000000-0000-4000-8000-{i % 7:012d}",
                "session_id": f"00000000-0000-4000-8000-{i % 11:012d}",
                "event_type": event_type,
                "event_timestamp": start + dt.timedelta(milliseconds=500 * i),
                "request_latency_ms": 100 + i,
                "status": status,
                "error_code": 500 if status == "ERROR" else None,
                "product_id": product,
            })
            i += 1
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def expected_report(table: pa.Table) -> dict:
    """The report a correct engine gives for a table (all but process_time/file_name)."""
    by_type: dict[str, dict[str, int]] = {}
    errors = 0
    for event_type, status in zip(table.column("event_type").to_pylist(), table.column("status").to_pylist()):
        entry = by_type.setdefault("null" if event_type is None else event_type, {"SUCCESS": 0, "ERROR": 0})
        if status in ("SUCCESS", "ERROR"):
            entry[status] += 1
        errors += status == "ERROR"
    return {"total_events": table.num_rows, "total_errors": errors, "by_event_type": dict(sorted(by_type.items()))}


def comparable(report: dict) -> dict:
    body = dict(report["report"])
    body.pop("process_time")
    body.pop("file_name")
    return body
