"""Benchmark of the analyst loop (docs/FRAUD.md section 9), three figures, each against its peer
in the same run:

1. `entity`: the entity view under load. 70 minutes of `pfad gen --fraud 0.05` at 10,000
   events/s (600,000 events a minute), scored by one `pfad backfill` with a trained trees_graph
   model (the reports `pfad run` writes, each with report.fraud.investigations: at most 25 a
   minute); the last 60 reports are POSTed in order to a real `pfad dashboard` (an hour of entity
   views), then PFAD_BENCH_ANALYST_VIEWERS (100) wrk connections GET /entities/<kind>/<id> of
   random stored entities for PFAD_BENCH_ANALYST_SECONDS (20), then GET /alerts the same way.
   Peer: FastAPI + uvicorn over SQLite (bench/fastapi_analyst.py), same reports, same load. The
   SQLite files' sizes after the hour, per investigation.
2. `retrain`: `pfad fraud retrain <minutes> --hours 1 --holdout-minutes 10` over the same
   minutes (the last 60: 50 to train on, 10 held out), twice — without a champion, then with the
   first run's — wall time and peak RSS (GNU time). Peer: bench/fraud_retrain_python.py (pandas
   features + scikit-learn trees, same minutes and labels).
3. `labels`: PFAD_BENCH_ANALYST_LABELS (200,000) label messages (the JSON `pfad produce --fraud`
   sends, from the generated labels) produced to a fresh `<topic>.labels` on the Kafka at
   $PFAD_KAFKA_BOOTSTRAP (deleted at the end); then `pfad labels consume --once` into a local labels store, timed from
   start to exit, when the build has that command; peer: bench/python_labels_consumer.py.

  analyst_bench.py [entity] [retrain] [labels]     (default: all three)

The minutes are cached in ~/.cache/pfad/bench/analyst (a second run reuses them, and the
reports). Prints Markdown; raw numbers go to test-artifacts/bench-analyst.json.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pyarrow.parquet as pq

import report
from analyze_bench import peak_rss as run_timed  # (wall s, peak RSS bytes, stdout) under GNU time
from dashboard_bench import free_port, wait_up, wrk
from fraud_live_bench import clean, gen, minute_label, model_file

ROOT = Path(__file__).resolve().parents[1]
PFAD = ROOT / "build/pfad"
PY = ROOT / ".venv/bin/python"
BENCH = ROOT / "bench"
CACHE = Path(os.environ.get("PFAD_CACHE", Path.home() / ".cache/pfad")) / "bench" / "analyst"
RATE = 10_000
WARM = 10  # minutes that fill the scorer's window before the hour
HOUR = 60
VIEWERS = int(os.environ.get("PFAD_BENCH_ANALYST_VIEWERS", "100"))
SECONDS = int(os.environ.get("PFAD_BENCH_ANALYST_SECONDS", "20"))
LABELS = int(os.environ.get("PFAD_BENCH_ANALYST_LABELS", "200000"))


def minutes() -> Path:
    return gen(CACHE / f"r{RATE}", RATE * 60, WARM + HOUR, 24, 0.05)


# --- 1. Entity views -------------------------------------------------------------------------

def hour_of_reports() -> list[Path]:
    """The last HOUR report objects of `pfad backfill` over the minutes, cached."""
    out = CACHE / "reports"
    if not (out / ".done").exists():
        data = minutes()
        clean(data)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([str(PFAD), "backfill", "--source", str(data), "--from", minute_label(0), "--to",
                            minute_label(WARM + HOUR - 1), "--fraud-model", str(model_file("trees_graph")),
                            "--dashboard", "", "--fraud-alerts-topic", "", "--state", f"{tmp}/runs.db"],
                           check=True, stdout=subprocess.DEVNULL)
        out.mkdir(parents=True, exist_ok=True)
        for i in range(WARM, WARM + HOUR):
            stem = minute_label(i).replace(" ", "_").replace(":", "-")
            shutil.copy(data / f"{stem}.json", out / f"{stem}.json")
        clean(data)
        (out / ".done").write_text("ok")
    return sorted(out.glob("*.json"))


def investigations(reports: list[Path]) -> list[dict]:
    return [i for r in reports for i in json.loads(r.read_text())["report"]["fraud"].get("investigations", [])]


def post_reports(base: str, reports: list[Path]) -> float:
    """POSTs the reports in order, as `pfad run` does each minute; returns the seconds taken."""
    start = time.perf_counter()
    for r in reports:
        req = urllib.request.Request(base + "/report", data=r.read_bytes(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
    return time.perf_counter() - start


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url) as r:
        return json.load(r)


def db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def serve(cmd: list[str], port: int, db: Path, reports: list[Path], paths: Path, sample: str) -> dict:
    """Starts the service, loads the hour, measures, stops it; the database's size after it stopped."""
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base)
        out = {"post_s": post_reports(base, reports)}
        view = get_json(base + sample)
        out["check"] = {"scores": len(view["scores"]), "events": len(view["investigation"]["events"]),
                        "alerts": len(get_json(base + "/alerts?limit=1000")["alerts"])}
        load = ["-t2", f"-c{VIEWERS}", f"-d{SECONDS}s", "--timeout", "30s"]  # wrk's 2 s default would cut the tail
        out["entity"] = wrk([*load, "-s", str(BENCH / "entity_view.lua"), base, "--", str(paths)])
        out["alerts"] = wrk([*load, base + "/alerts"])
    finally:
        proc.terminate()
        proc.wait()
    out["db_bytes"] = db_bytes(db)
    return out


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.1f} at the start"


def entity_views(raw: dict) -> None:
    reports = hour_of_reports()
    load = load_average()
    rows = investigations(reports)
    entities = sorted({(i["entity_kind"], i["entity_id"]) for i in rows})
    body_bytes = sum(len(json.dumps(i, separators=(",", ":"))) for i in rows)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = Path(tmp) / "paths.txt"
        paths.write_text("".join(f"/entities/{k}/{e}\n" for k, e in entities))
        sample = f"/entities/{rows[-1]['entity_kind']}/{rows[-1]['entity_id']}"
        port = free_port()
        results["pfad dashboard"] = serve([str(PFAD), "dashboard", "--port", str(port), "--db", f"{tmp}/pfad.db"],
                                          port, Path(tmp) / "pfad.db", reports, paths, sample)
        port = free_port()
        results["FastAPI + uvicorn + SQLite"] = serve(
            [str(PY), str(BENCH / "fastapi_analyst.py"), str(port), f"{tmp}/peer.db"], port, Path(tmp) / "peer.db",
            reports, paths, sample)
    checks = {name: r["check"] for name, r in results.items()}
    if len({json.dumps(c, sort_keys=True) for c in checks.values()}) != 1:
        raise SystemExit(f"the two services answer differently: {checks}")
    raw["entity"] = {"reports": len(reports), "investigations": len(rows), "entities": len(entities),
                     "investigation_json_bytes": body_bytes, "services": results}

    report.stamp(f"{os.cpu_count()} cores; {len(reports)} reports of `pfad backfill` over `pfad gen --fraud 0.05` "
                 f"minutes at {RATE:,} events/s: {len(rows):,} investigations of {len(entities):,} entities; "
                 f"{VIEWERS} wrk connections (2 threads) for {SECONDS} s per row, same machine; {load}")
    table = []
    for name, r in results.items():
        for route in ("entity", "alerts"):
            w = r[route]
            table.append([name, "GET /entities/{kind}/{id}" if route == "entity" else "GET /alerts",
                          f"{w['rps']:,.0f}", w["p50"], w["p99"], w["max"], f"{w['non2xx'] + w['socket_errors']}"])
    report.table(["service", "route", "req/s", "p50", "p99", "max", "non-2xx + socket errors"], table)
    report.table(["service", "POST of the 60 reports", "SQLite file after the hour", "per investigation"],
                 [[name, f"{r['post_s']:.2f} s", f"{r['db_bytes'] / 2**20:.1f} MiB",
                   f"{r['db_bytes'] / len(rows) / 1024:.1f} KiB"] for name, r in results.items()])
    pfad_bytes = results["pfad dashboard"]["db_bytes"]
    print(f"Investigation JSON: {body_bytes / len(rows) / 1024:.1f} KiB each on average (compact). At 50,000 "
          f"events/s the hour is the same {len(rows):,} investigations (at most 25 a minute, kept 60 minutes), "
          f"so about {pfad_bytes / 2**20:.0f} MiB: the file does not grow with the event rate.\n")


# --- 2. Retrain --------------------------------------------------------------------------------

def retrain(raw: dict) -> None:
    data = minutes()
    clean(data)
    load = load_average()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("pfad fraud retrain, no champion", "pfad fraud retrain, with champion"):
            wall, rss, out = run_timed([str(PFAD), "fraud", "retrain", str(data), "--model", f"{tmp}/m.pfm", "--hours",
                                        "1", "--holdout-minutes", "10", "--json"])
            record = json.loads(out)
            runs[name] = {"wall_s": wall, "peak_rss": rss, "record": record, "pr_auc": record["pr_auc"]["challenger"],
                          "champion_pr_auc": record["pr_auc"]["champion"], "promoted": record["promoted"]}
    wall, rss, out = run_timed([str(PY), str(BENCH / "fraud_retrain_python.py"), str(data), "1", "10"])
    peer = json.loads(out)
    runs["Python: pandas features + scikit-learn"] = {"wall_s": wall, "peak_rss": rss, "peer": peer,
                                                      "pr_auc": peer["pr_auc_mean"]}
    raw["retrain"] = runs
    report.stamp(f"{os.cpu_count()} cores; the last {HOUR} of {WARM + HOUR} `pfad gen --fraud 0.05` minutes of "
                 f"{RATE * 60:,} events: {HOUR - 10} to train on ({(HOUR - 10) * RATE * 60:,} events), 10 held out; "
                 f"{load}")
    rows = []
    for name, r in runs.items():
        pr = f"{r['pr_auc']:.3f}" if r["pr_auc"] is not None else "not measured"
        if r.get("champion_pr_auc") is not None:
            pr += f" (champion {r['champion_pr_auc']:.3f})"
        promoted = {True: "yes", False: "no"}.get(r.get("promoted"), "")
        rows.append([name, f"{r['wall_s']:.1f} s", f"{r['peak_rss'] / 2**20:,.0f} MiB", pr, promoted])
    report.table(["run", "wall", "peak RSS", "held-out PR-AUC (mean of user, session)", "promoted"], rows)
    print(f"Peer steps: features {peer['features_s']:.1f} s, training {peer['train_s']:.1f} s, judging "
          f"{peer['judge_s']:.1f} s; training rows {peer['rows']}.\n")


# --- 3. Labels consumed per second ------------------------------------------------------------

def label_messages(n: int) -> list[tuple[bytes, bytes]]:
    """n label messages (key = entity id, value = the label JSON) from the generated labels."""
    out: list[tuple[bytes, bytes]] = []
    objects = sorted(minutes().glob("*.labels.parquet"))
    while len(out) < n:
        for p in objects:
            for row in pq.read_table(p).to_pylist():
                out.append((row["entity_id"].encode(), json.dumps(row).encode()))
                if len(out) == n:
                    return out
    return out


def produce_labels(bootstrap: str, topic: str, n: int) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "compression.type": "lz4"})
    for key, value in label_messages(n):
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.1)
    if producer.flush(60) != 0:
        raise SystemExit(f"{topic}: labels not all delivered")


def has_labels_consumer() -> bool:
    res = subprocess.run([str(PFAD), "labels", "consume", "--help"], capture_output=True, text=True)
    return res.returncode == 0 and "pfad labels consume" in res.stdout  # an unknown command prints pfad's help


def labels(raw: dict) -> None:
    bootstrap = os.environ.get("PFAD_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    events_topic = f"analyst-bench-{uuid.uuid4().hex[:8]}"
    topic = events_topic + ".labels"
    produce_labels(bootstrap, topic, LABELS)
    try:
        runs = consume_labels(bootstrap, events_topic, topic)
    finally:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": bootstrap})  # held: the futures fail once it is destroyed
        try:
            admin.delete_topics([topic])[topic].result()
        except Exception as e:  # noqa: BLE001 (a leftover topic is no reason to lose the figures)
            print(f"warning: {topic} not deleted: {e}", file=sys.stderr)
    raw["labels"] = {"topic": topic, "labels": LABELS, "runs": runs}
    report.stamp(f"{os.cpu_count()} cores; {LABELS:,} label messages on a fresh 3-partition `{topic}` "
                 f"(Kafka {bootstrap}); from process start to exit; {runs.pop('load')}")
    rows = [[name, f"{r['seconds']:.1f} s", f"{LABELS / r['seconds']:,.0f}"] for name, r in runs.items()]
    if "pfad labels consume --once" not in runs:
        rows.insert(0, ["pfad labels consume --once", "pending: labels consumer not merged", "pending"])
    report.table(["consumer", "wall", "labels/s"], rows)


def consume_labels(bootstrap: str, events_topic: str, topic: str) -> dict:
    """Each consumer reads the whole topic into its own store, in a new consumer group."""
    runs = {"load": load_average()}
    with tempfile.TemporaryDirectory() as tmp:
        if has_labels_consumer():
            start = time.perf_counter()
            subprocess.run([str(PFAD), "labels", "consume", "--once", "--bootstrap", bootstrap, "--topic", events_topic,
                            "--labels", f"{tmp}/pfad-labels"], check=True, stdout=subprocess.DEVNULL)
            runs["pfad labels consume --once"] = {"seconds": time.perf_counter() - start}
        (Path(tmp) / "py").mkdir()
        start = time.perf_counter()
        out = subprocess.run([str(PY), str(BENCH / "python_labels_consumer.py"), bootstrap, topic, str(LABELS),
                              f"{tmp}/py"], check=True, capture_output=True, text=True).stdout
        runs["Python: confluent-kafka + pyarrow"] = {"seconds": time.perf_counter() - start, **json.loads(out)}
    return runs


def main() -> None:
    parts = sys.argv[1:] or ["entity", "retrain", "labels"]
    raw: dict = {}
    for part in parts:
        {"entity": entity_views, "retrain": retrain, "labels": labels}[part](raw)
    report.save("analyst", raw)


if __name__ == "__main__":
    main()
