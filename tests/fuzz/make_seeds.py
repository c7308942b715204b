#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ (docs/FUZZING.md), small and valid,
made by the real writers where there is one outside C++:

  minute_parquet     `pfad gen` (PFAD's own writer), plus pyarrow layouts the analysis
                     must read too (two columns only, dictionary-encoded, zero rows)
  report_json        `pfad analyze` of those minutes, its no-data report, and a report
                     with a scored fraud object (docs/FRAUD.md section 6)
  avro_frame         fastavro (the library the integration tests check PFAD's bytes
                     against) writing Confluent frames with the event schema
  avro_schema        writer schemas (the event schema, evolved ones), NUL, a body
  announcement_json, config_toml, http_request   hand-written from the contracts

usage: .venv/bin/python tests/fuzz/make_seeds.py [PFAD_BIN]   (default build/pfad; fastavro
comes with scripts/setup.sh test)
"""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
PFAD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "pfad")


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def minutes_and_reports(tmp):
    subprocess.run([PFAD, "gen", tmp, "--rows", "12", "--minute", "2025-01-15 10:00", "--seed", "1",
                    "--minutes", "2", "--error-rate", "0.3"], check=True, stdout=subprocess.DEVNULL)
    for name in sorted(os.listdir(tmp)):
        with open(os.path.join(tmp, name), "rb") as f:
            write("minute_parquet", "pfad-gen-" + name, f.read())
    table = pq.read_table(os.path.join(tmp, "2025-01-15_10-00.parquet"), columns=["event_type", "status"])
    layouts = {
        "pyarrow-two-columns.parquet": (table, {}),
        "pyarrow-dictionary.parquet": (table, {"use_dictionary": True}),
        "pyarrow-plain-v1.parquet": (table, {"use_dictionary": False, "data_page_version": "1.0"}),
        "pyarrow-zero-rows.parquet": (table.slice(0, 0), {}),
    }
    for name, (t, options) in layouts.items():
        out = io.BytesIO()
        pq.write_table(t, out, row_group_size=5, **options)
        write("minute_parquet", name, out.getvalue())

    for minute in ("2025-01-15_10-00", "2025-01-15_10-01", "2025-01-15_11-00"):
        subprocess.run([PFAD, "analyze", os.path.join(tmp, minute + ".parquet")], check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, minute + ".json"), "rb") as f:
            write("report_json", "pfad-analyze-" + minute + ".json", f.read())


def fraud_report():
    with open(os.path.join(CORPUS, "report_json", "pfad-analyze-2025-01-15_10-00.json")) as f:
        doc = json.load(f)
    doc["report"]["fraud"] = {
        "status": "scored", "model": "gnn_hetero v1",
        "window": {"minutes": 10, "objects": 2, "events": 24, "first": "2025-01-15_09-51", "last": "2025-01-15_10-00"},
        "threshold": {"user": 0.5, "session": 0.625}, "scored": {"user": 12, "session": 14},
        "flagged": {"user": 1, "session": 0}, "new_alerts": 1,
        "histogram": {"bins": 4, "user": [9, 2, 0, 1], "session": [14, 0, 0, 0]},
        "top": [{"entity_kind": "user", "entity_id": "6f1c0b53-3c39-4a55-9a41-2f0d6b0a8e11", "fraud_score": 0.91,
                 "is_fraud": True, "top_features": "degree,burst"}],
        "scoring_ms": 42}
    write("report_json", "fraud-scored.json", json.dumps(doc, separators=(",", ":")))
    doc["report"]["fraud"] = {"status": "not_run", "reason": "no model configured", "new_alerts": 0, "scoring_ms": 0}
    write("report_json", "fraud-not-run.json", json.dumps(doc, separators=(",", ":")))


EVENT = {"event_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "user_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
         "session_id": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", "event_type": "ADD_TO_CART",
         "event_timestamp": 1736922600123, "request_latency_ms": 87, "status": "ERROR", "error_code": 503,
         "product_id": None}


def frame(schema_id, schema, record):
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def avro():
    with open(os.path.join(ROOT, "schemas", "user_interactions.avsc")) as f:
        reader_text = f.read()
    reader = json.loads(reader_text)
    write("avro_frame", "event-error.bin", frame(1, reader, EVENT))
    ok = dict(EVENT, event_type="SEARCH", status="SUCCESS", error_code=None, product_id=1234,
              event_timestamp=-5, request_latency_ms=0)
    write("avro_frame", "event-success.bin", frame(2, reader, ok))
    write("avro_frame", "event-schema-id-3.bin", frame(3, reader, ok))

    write("avro_schema", "event-schema.bin", reader_text.encode() + b"\0" + frame(1, reader, EVENT)[5:])
    evolved = json.loads(reader_text)
    evolved["fields"].insert(1, {"name": "tags", "type": {"type": "array", "items": "string"}})
    evolved["fields"].append({"name": "attrs", "type": {"type": "map", "values": "long"}})
    evolved["fields"].append({"name": "geo", "type": ["null", {"type": "record", "name": "Geo", "fields": [
        {"name": "lat", "type": "double"}, {"name": "ok", "type": "boolean"}, {"name": "f", "type": "float"},
        {"name": "h", "type": {"type": "fixed", "name": "H", "size": 2}}]}]})
    record = dict(EVENT, tags=["a", "bc"], attrs={"k": 5}, geo={"lat": 1.5, "ok": True, "f": 2.0, "h": b"xy"})
    write("avro_schema", "evolved-schema.bin",
          json.dumps(evolved).encode() + b"\0" + frame(2, evolved, record)[5:])
    older = {"type": "record", "name": "user_interactions", "fields": [
        f for f in reader["fields"] if f["name"] not in ("error_code", "product_id")]}
    write("avro_schema", "older-schema.bin",
          json.dumps(older).encode() + b"\0" + frame(3, older, {k: v for k, v in EVENT.items() if k in
                                                                 {f["name"] for f in older["fields"]}})[5:])


def announcements():
    write("announcement_json", "new.json", json.dumps({
        "object": "s3://pfad-events/2025-01-15_10-00.parquet", "minute": "2025-01-15_10-00", "rows": 1200,
        "added": 1200, "update": False, "close_at_ms": 1736922660000, "stored_at_ms": 1736922661234},
        separators=(",", ":")))
    write("announcement_json", "update.json", json.dumps({
        "object": "/data/events/2025-01-15_10-01.parquet", "minute": "2025-01-15_10-01", "rows": 7, "added": 2,
        "update": True, "close_at_ms": 1736922720000, "stored_at_ms": 1736922790000}, separators=(",", ":")))
    write("announcement_json", "minimal.json", '{"minute":"2025-01-15_10-02"}')


def configs():
    # The example of every key in the CLI manual.
    with open(os.path.join(ROOT, "docs", "CLI.md")) as f:
        manual = f.read()
    start = manual.index("```toml\n[storage]") + len("```toml\n")
    write("config_toml", "config-example.toml", manual[start:manual.index("```", start)])
    write("config_toml", "types.toml", 'a = 1\n[a2]\nb = 2.5\nc = [1, "x"]\nd = 1979-05-27T07:32:00Z\n'
          '[kafka]\n"linger.ms" = 20\n"enable.idempotence" = true\n"x" = 0.5\n'
          '[dashboard]\nport = 70000\nthreads = -1\n[[t]]\nn = 0x1F\n')


def http():
    requests = {
        "get-reports.txt": "GET /reports?limit=10&since=%2025 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "head.txt": "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "post-length.txt": 'POST /report HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 28\r\n'
                           'Authorization: Bearer t\r\n\r\n{"report": "No data for x."}',
        "post-chunked.txt": "POST /runs HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
                            "5;ext=1\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\nTrailer: x\r\n\r\n",
        "absolute.txt": "DELETE http://127.0.0.1:8080/report#frag HTTP/1.1\r\nConnection: close, x\r\n\r\n",
    }
    for name, text in requests.items():
        write("http_request", name, text)


def main():
    # Rewrites only its own files: the regression inputs beside them stay.
    with tempfile.TemporaryDirectory() as tmp:
        minutes_and_reports(tmp)
    fraud_report()
    avro()
    announcements()
    configs()
    http()


if __name__ == "__main__":
    main()
