"""Benchmark: `pfad dashboard` against a FastAPI + uvicorn service with the same four
endpoints (bench/fastapi_dashboard.py), same machine, same run, with wrk:
maximum req/s on GET /report and POST /report (2 threads, 50 connections, 10 s), and
latency at a fixed 1,000 req/s (wrk -R is not in Debian's wrk, so a 1-connection,
1-thread run paced by a Lua delay is used instead). Prints Markdown.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import report

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv/bin/python"
BENCH = ROOT / "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(base: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{base} did not start")


def wrk(args: list[str]) -> dict:
    out = subprocess.run(["wrk", "--latency", *args], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {m.group(1): m.group(2) for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"),
            "max": re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M).group(1),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(int(g) for g in socket.groups()) if socket else 0}


def measure(base: str) -> dict:
    req = urllib.request.Request(base + "/report", data=(BENCH / "post_report.lua").read_text().split("wrk.body = '")[1]
                                 .rsplit("'", 1)[0].encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    return {
        "GET max": wrk(["-t2", "-c50", "-d10s", base + "/report"]),
        "POST max": wrk(["-t2", "-c50", "-d10s", "-s", str(BENCH / "post_report.lua"), base + "/report"]),
        "GET 1000/s": wrk(["-t1", "-c10", "-d10s", "-s", str(BENCH / "paced.lua"), base + "/report"]),
    }


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        ours = subprocess.Popen([str(ROOT / "build/pfad"), "dashboard", "--port", str(port), "--db", f"{tmp}/r.db"],
                                stderr=subprocess.DEVNULL)
        try:
            wait_up(f"http://127.0.0.1:{port}")
            results["pfad dashboard"] = measure(f"http://127.0.0.1:{port}")
        finally:
            ours.terminate()
            ours.wait()
    port = free_port()
    peer = subprocess.Popen([str(PY), str(BENCH / "fastapi_dashboard.py"), str(port)], stderr=subprocess.DEVNULL)
    try:
        wait_up(f"http://127.0.0.1:{port}")
        results["FastAPI + uvicorn"] = measure(f"http://127.0.0.1:{port}")
    finally:
        peer.terminate()
        peer.wait()
    report.save("dashboard", results)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| service | GET /report req/s | POST /report req/s | p50 / p99 at ~1,000 req/s (GET) | non-2xx |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        paced = r["GET 1000/s"]
        print(f"| {name} | {r['GET max']['rps']:,.0f} | {r['POST max']['rps']:,.0f} | "
              f"{paced['p50']} / {paced['p99']} ({paced['rps']:,.0f} req/s) | "
              f"{r['GET max']['non2xx'] + r['POST max']['non2xx']} |")
    ours, peer = results["pfad dashboard"], results["FastAPI + uvicorn"]
    print(f"\nSpeed-up: GET {ours['GET max']['rps'] / peer['GET max']['rps']:.1f}x, "
          f"POST {ours['POST max']['rps'] / peer['POST max']['rps']:.1f}x", file=sys.stdout)


if __name__ == "__main__":
    main()
