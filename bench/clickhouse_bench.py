"""Benchmark: the ClickHouse warehouse path on this machine, its peers in the same run.

1. Ingest: a backlog of 1,000,000-event minutes in Kafka; one `pfad ingest --until-idle`
   with only --clickhouse, then with --sink s3://... --clickhouse (both sinks). Rate =
   events / (last store - first message), from the ingester's own --json figures; peak
   RSS of a catch-up from wait4. Where the time goes: the ingester's per-minute store times.
   Then live: a producer at 16,667 events/s (1,000,000 per minute) with wall-clock timestamps
   for 150 s, one ingester with both sinks: its peak RSS (wait4).
2. The peer: bench/python_clickhouse.py ingest (confluent-kafka + AvroDeserializer +
   clickhouse-driver inserts of 50,000 rows) on the same topic.
3. Export of one 1,000,000-event minute to MinIO: `pfad export` vs bench/python_clickhouse.py
   export (clickhouse-driver query -> pyarrow -> Parquet upload); best of 3 and of 2 runs.

Needs Kafka, the registry, MinIO and ClickHouse (scripts/bench.sh clickhouse starts them).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import pyarrow.fs as pafs
from confluent_kafka.admin import AdminClient, NewTopic

import report

from ingest_bench import PFAD, PY, ROOT, produce

BOOTSTRAP = os.environ["PFAD_KAFKA_BOOTSTRAP"]
EVENTS = int(os.environ.get("PFAD_BENCH_CH_EVENTS", "3000000"))  # 1,000,000 per minute
PY_EVENTS = int(os.environ.get("PFAD_BENCH_CH_PY_EVENTS", "200000"))
LIVE_SECONDS = int(os.environ.get("PFAD_BENCH_CH_LIVE_S", "150"))
LIVE_RATE = int(os.environ.get("PFAD_BENCH_CH_LIVE_RATE", "16667"))
CH_PORT = os.environ["PFAD_CLICKHOUSE_PORT"]
CH_AUTH = {"X-ClickHouse-User": os.environ["PFAD_CLICKHOUSE_USER"],
           "X-ClickHouse-Key": os.environ["PFAD_CLICKHOUSE_PASSWORD"]}


def sql(text: str) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{CH_PORT}/", data=text.encode(), headers=CH_AUTH)
    return urllib.request.urlopen(request, timeout=600).read().decode()


def topic() -> str:
    name = f"bench-ch-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for f in admin.create_topics([NewTopic(name, 6, 1), NewTopic(f"{name}.dlq", 1, 1),
                                  NewTopic(f"{name}.windows", 1, 1)]).values():
        f.result(timeout=30)
    return name


def bucket() -> str:
    s3 = pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                           endpoint_override=os.environ["AWS_ENDPOINT_URL"], region="us-east-1",
                           allow_bucket_creation=True)
    name = f"bench-ch-{uuid.uuid4().hex[:8]}"
    s3.create_dir(name)
    return name


def rss_of(args: list[str]) -> tuple[str, float]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{args[:2]} failed")
    return out, usage.ru_maxrss / 1024


def main():
    name = topic()
    made = produce(name, "--count", str(EVENTS), "--minutes", str(EVENTS // 1_000_000), "--start-time",
                   "2025-01-15 12:00", "--seed", "7")
    assert made["delivered"] == EVENTS, made
    raw = {"events": EVENTS}
    for key, sinks in (("clickhouse", []), ("both", ["--sink", f"s3://{bucket()}"])):
        database = f"bench_{key}_{uuid.uuid4().hex[:6]}"
        url = f"http://127.0.0.1:{CH_PORT}/{database}"
        args = [str(PFAD), "ingest", "--topic", name, "--group", f"bench-{uuid.uuid4().hex[:6]}", "--clickhouse", url,
                *sinks, "--until-idle", "--json", "--idle-timeout", "2"]
        with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
            proc = subprocess.Popen(args, stdout=out_file, stderr=err_file)
            _, status, usage = os.wait4(proc.pid, 0)
            out_file.seek(0)
            err_file.seek(0)
            out, err = out_file.read(), err_file.read()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"pfad ingest failed:\n{err.decode()[-3000:]}")
        raw[key] = {"database": database, "stderr_tail": err.decode()[-4000:], "rss_mib": usage.ru_maxrss / 1024,
                    **parse(out, err, database)}
    # Peak RSS live at 1,000,000 events per minute (wall-clock timestamps), both sinks.
    live_topic = topic()
    database = f"bench_live_{uuid.uuid4().hex[:6]}"
    ingester = subprocess.Popen([str(PFAD), "--log-level", "warn", "ingest", "--topic", live_topic, "--group",
                                 f"bench-{uuid.uuid4().hex[:6]}", "--clickhouse",
                                 f"http://127.0.0.1:{CH_PORT}/{database}", "--sink", f"s3://{bucket()}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    live = produce(live_topic, "--rate", str(LIVE_RATE), "--duration", str(LIVE_SECONDS), "--seed", "8")
    time.sleep(12)  # the last minute: grace + idle timeout
    ingester.terminate()
    _, status, usage = os.wait4(ingester.pid, 0)
    stored_live = int(sql(f"SELECT count() FROM {database}.user_interactions FINAL").strip())
    raw["live"] = {"rate": LIVE_RATE, "seconds": LIVE_SECONDS, "delivered": live["delivered"], "stored": stored_live,
                   "rss_mib": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status)}
    sql(f"DROP DATABASE IF EXISTS {database}")

    # The peer, into a database of its own with the same table.
    peer_db = f"bench_py_{uuid.uuid4().hex[:6]}"
    sql(f"CREATE DATABASE {peer_db}")
    create = sql(f"SHOW CREATE TABLE {raw['clickhouse']['database']}.user_interactions FORMAT TSVRaw")
    sql(create.replace(f"{raw['clickhouse']['database']}.", f"{peer_db}."))
    run = subprocess.run([str(PY), str(ROOT / "bench/python_clickhouse.py"), "ingest", name, str(PY_EVENTS), peer_db],
                         capture_output=True, text=True, check=True)
    peer = json.loads(run.stdout)
    raw["python_ingest"] = {**peer, "rate": peer["events"] / peer["seconds"]}
    sql(f"DROP DATABASE IF EXISTS {peer_db}")

    # Export one 1,000,000-event minute.
    db = raw["clickhouse"]["database"]
    stem = "2025-01-15_12-00"
    rows = int(sql(f"SELECT count() FROM {db}.user_interactions FINAL WHERE event_minute = '{stem}'").strip())
    out_bucket = bucket()
    times, rss_export = [], 0.0
    for i in range(3):
        start = time.monotonic()
        out, rss = rss_of([str(PFAD), "export", "--clickhouse", f"http://127.0.0.1:{CH_PORT}/{db}", "--minute",
                           "2025-01-15 12:00", "--to", f"s3://{out_bucket}/pfad-{i}", "--json"])
        times.append(time.monotonic() - start)
        rss_export = max(rss_export, rss)
        raw.setdefault("export_runs", []).append(json.loads(out))
    py_times = []
    for i in range(2):
        run = subprocess.run([str(PY), str(ROOT / "bench/python_clickhouse.py"), "export", db, stem,
                              f"{out_bucket}/py-{i}"], capture_output=True, text=True, check=True)
        py = json.loads(run.stdout)
        assert py["rows"] == rows, (py, rows)
        py_times.append(py["seconds"])
    raw["export"] = {"rows": rows, "pfad_seconds": times, "pfad_rss_mib": rss_export, "python_seconds": py_times}
    for key in ("clickhouse", "both"):
        sql(f"DROP DATABASE IF EXISTS {raw[key]['database']}")
    report.save("clickhouse", raw)

    server = sql("SELECT version()").strip()
    report.stamp(f"{os.cpu_count()} cores; ClickHouse {server} and MinIO on 127.0.0.1")
    c, b, p = raw["clickhouse"], raw["both"], raw["python_ingest"]
    print(f"Ingest: {EVENTS:,} events in {EVENTS // 1_000_000} minutes of 1,000,000 (a backlog in Kafka), "
          f"one ingester, --until-idle:\n")
    report.table(["consumer", "events", "seconds", "events/s", "vs peer", "peak RSS (catch-up)"], [
        ["pfad ingest --clickhouse", f"{EVENTS:,}", f"{c['seconds']:.1f}", f"{c['rate']:,.0f}",
         f"{c['rate'] / p['rate']:.1f}x", f"{c['rss_mib']:.0f} MiB"],
        ["pfad ingest --sink s3://… --clickhouse", f"{EVENTS:,}", f"{b['seconds']:.1f}", f"{b['rate']:,.0f}",
         f"{b['rate'] / p['rate']:.1f}x", f"{b['rss_mib']:.0f} MiB"],
        ["Python confluent-kafka + AvroDeserializer + clickhouse-driver", f"{p['events']:,}", f"{p['seconds']:.1f}",
         f"{p['rate']:,.0f}", "1.0x", "–"],
    ])
    lv = raw["live"]
    print(f"Live at {lv['rate']:,} events/s (1,000,000 per minute) for {lv['seconds']} s, both sinks: peak RSS "
          f"{lv['rss_mib']:.0f} MiB; {lv['stored']:,} of {lv['delivered']:,} events in ClickHouse (FINAL) at the end.\n")
    print("Per-minute store times of the ClickHouse-only run (ms; rows inserted ahead while the minute was open):\n")
    report.table(["minute rows", "inserted ahead", "insert at close (ms)"],
                 [[f"{s['rows']:,}", f"{s['ahead']:,}", s["store"]] for s in c["stores"]])
    e = raw["export"]
    best, py_best = min(e["pfad_seconds"]), min(e["python_seconds"])
    print(f"Export of one {e['rows']:,}-event minute to MinIO:\n")
    report.table(["exporter", "best of", "seconds", "speed-up"], [
        ["pfad export", len(e["pfad_seconds"]), f"{best:.2f}", f"{py_best / best:.1f}x"],
        ["Python clickhouse-driver -> pyarrow -> Parquet on S3", len(e["python_seconds"]), f"{py_best:.2f}", "1.0x"],
    ])
    q = [r["query_ms"] for r in raw["export_runs"]]
    w = [r["write_ms"] for r in raw["export_runs"]]
    print(f"pfad export: query + transfer {min(q)} ms, Parquet encode + upload {min(w)} ms; peak RSS "
          f"{e['pfad_rss_mib']:.0f} MiB.")


def parse(out: bytes, err: bytes, database: str) -> dict:
    stats = json.loads(out)
    stores = [dict(zip(("rows", "latency", "read", "encode", "store", "ahead"), map(int, m)))
              for m in re.findall(r"rows=(\d+) added=\d+ update=\w+ late=\w+ latency_ms=(-?\d+) \(read (\d+) "
                                  r"encode (\d+) store (\d+); (\d+) rows encoded ahead", err.decode())]
    seconds = (stats["last_store_wall_ms"] - stats["first_message_wall_ms"]) / 1000
    count = int(sql(f"SELECT count() FROM {database}.user_interactions FINAL").strip())
    assert count == EVENTS, (count, EVENTS)
    return {"stats": stats, "seconds": seconds, "rate": EVENTS / seconds, "stores": stores, "final_count": count}


if __name__ == "__main__":
    main()
