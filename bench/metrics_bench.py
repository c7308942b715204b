"""Benchmark: what the metrics cost on the hot paths, with and without --metrics-port, same run.

The counters are always kept (prometheus-cpp's registry); --metrics-port adds the endpoint, and
here a scraper asks it every second, as Prometheus would. Alternating rounds, so a machine that
warms up or slows down does not favour one side:

1. `pfad ingest --until-idle` of one backlog topic into a local directory, a new consumer group
   each round: events stored per second between the first message and the last store (the
   ingester's own statistics, not the endpoint, so both sides are measured the same way).
2. `pfad dashboard`: wrk GET /report and POST /report at full speed (bench/dashboard_bench.py).

Figures: the median of the rounds (in ABBA order), and the difference. Needs Kafka and the registry
(scripts/bench.sh starts them).
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import dashboard_bench
import ingest_bench
import report

ROOT = Path(__file__).resolve().parents[1]
PFAD = ROOT / "build/pfad"
EVENTS = int(os.environ.get("PFAD_BENCH_METRICS_EVENTS", "1000000"))
ROUNDS = int(os.environ.get("PFAD_BENCH_METRICS_ROUNDS", "6"))


class Scraper:
    """GET /metrics every second while running (what Prometheus does at a 1 s interval)."""

    def __init__(self, port: int | None):
        self.port, self.stop, self.scrapes = port, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.wait(1.0):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2).read()
                self.scrapes += 1
            except OSError:
                pass

    def __enter__(self):
        if self.port:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.port:
            self.thread.join()


def ingest_round(topic: str, port: int | None) -> dict:
    args = [str(PFAD), "--log-level", "warn", "ingest", "--topic", topic, "--group", f"bench-{uuid.uuid4().hex[:6]}",
            "--until-idle", "--json", "--idle-timeout", "2"]
    if port:
        args += ["--metrics-port", str(port)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out, Scraper(port) as scraper:
        run = subprocess.run([*args, "--sink", out], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the ingester's CPU time, the only child here
    if run.returncode != 0:
        sys.exit(f"pfad ingest failed ({run.returncode}): {run.stderr[-2000:]}")
    stats = json.loads(run.stdout)
    assert stats["events_stored"] == EVENTS, stats
    seconds = (stats["last_store_wall_ms"] - stats["first_message_wall_ms"]) / 1000
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"rate": EVENTS / seconds, "seconds": seconds, "cpu_seconds": cpu, "scrapes": scraper.scrapes}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dashboard_round(port: int | None) -> dict:
    http = dashboard_bench.free_port()
    args = [str(PFAD), "dashboard", "--port", str(http), "--db", ":memory:"]
    if port:
        args += ["--metrics-port", str(port)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{http}"
        dashboard_bench.wait_up(base)
        with Scraper(port) as scraper:
            got = dashboard_bench.measure(base)
        requests = sum(r["requests"] for r in got.values())
        return {"GET": got["GET max"]["rps"], "POST": got["POST max"]["rps"], "scrapes": scraper.scrapes,
                "cpu_us_per_request": cpu_seconds(proc.pid) / requests * 1e6}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def diff(on: float, off: float) -> str:
    return f"{(on - off) / off * 100:+.1f} %"


def main():
    topic = ingest_bench.topics("bench-metrics")
    ingest_bench.produce(topic, "--count", str(EVENTS), "--minutes", "10", "--start-time", "2025-01-15 10:00",
                         "--seed", "7")
    raw = {"events": EVENTS, "rounds": ROUNDS, "ingest": {"off": [], "on": []}, "dashboard": {"off": [], "on": []}}
    # ABBA order (off, on, on, off, ...): a drift of the machine over the run favours neither side.
    order = [("off", "on") if i % 2 == 0 else ("on", "off") for i in range(ROUNDS)]
    for sides in order:
        for side in sides:
            port = dashboard_bench.free_port() if side == "on" else None
            raw["ingest"][side].append(ingest_round(topic, port))
    for sides in order:
        for side in sides:
            port = dashboard_bench.free_port() if side == "on" else None
            raw["dashboard"][side].append(dashboard_round(port))
    report.save("metrics", raw)
    med = {part: {side: {k: statistics.median(r[k] for r in raw[part][side]) for k in raw[part][side][0]}
                  for side in ("off", "on")} for part in ("ingest", "dashboard")}
    report.stamp(f"{os.cpu_count()} cores; {ROUNDS} alternating rounds each, medians; scraped every 1 s when on")
    ing, dash = med["ingest"], med["dashboard"]
    report.table(["hot path", "without --metrics-port", "with --metrics-port (scraped 1/s)", "difference"], [
        [f"pfad ingest, {EVENTS:,} events to local files (events/s stored)", f"{ing['off']['rate']:,.0f}",
         f"{ing['on']['rate']:,.0f}", diff(ing["on"]["rate"], ing["off"]["rate"])],
        [f"pfad ingest, CPU seconds (user + system) for the {EVENTS:,} events", f"{ing['off']['cpu_seconds']:.2f}",
         f"{ing['on']['cpu_seconds']:.2f}", diff(ing["on"]["cpu_seconds"], ing["off"]["cpu_seconds"])],
        ["pfad dashboard, GET /report (req/s, wrk 50 connections)", f"{dash['off']['GET']:,.0f}",
         f"{dash['on']['GET']:,.0f}", diff(dash["on"]["GET"], dash["off"]["GET"])],
        ["pfad dashboard, POST /report (req/s, wrk 50 connections)", f"{dash['off']['POST']:,.0f}",
         f"{dash['on']['POST']:,.0f}", diff(dash["on"]["POST"], dash["off"]["POST"])],
        ["pfad dashboard, CPU µs per request (all three wrk runs)", f"{dash['off']['cpu_us_per_request']:.1f}",
         f"{dash['on']['cpu_us_per_request']:.1f}",
         diff(dash["on"]["cpu_us_per_request"], dash["off"]["cpu_us_per_request"])],
    ])
    spread = {side: [f"{r['rate']:,.0f}" for r in raw["ingest"][side]] for side in ("off", "on")}
    print(f"Ingest rounds (events/s): without {', '.join(spread['off'])}; with {', '.join(spread['on'])}.")
    spread = {side: [f"{r['POST']:,.0f}" for r in raw["dashboard"][side]] for side in ("off", "on")}
    print(f"Dashboard POST rounds (req/s): without {', '.join(spread['off'])}; with {', '.join(spread['on'])}.")


if __name__ == "__main__":
    main()
