"""Benchmark of fraud scoring at pipeline speed (docs/FRAUD.md section 8), the live window
against the full rebuild in the same run.

For each rate (PFAD_BENCH_FRAUD_LIVE_RATES, events/s; default 10000,50000) and model
(PFAD_BENCH_FRAUD_LIVE_MODELS; default trees_graph,gnn_hetero):

1. Data: `pfad gen --fraud 0.02` minutes of rate x 60 events, PFAD_BENCH_FRAUD_LIVE_MINUTES of
   them (default 30: the 10-minute window fills, then 20 more minutes), cached in
   ~/.cache/pfad/bench/fraud-live.
2. Live, minute after minute as `pfad run` does: `pfad backfill` over the minutes with the
   model (one process, the window kept in it; the analysis of each minute runs too). Per
   minute, from the scorer's log line: the fraud step (read the new minute, evict, slice,
   combine, model, scores object, report section, alerts) and its parts; the process's RSS at
   each minute (from /proc). Figures over the minutes after the window is full.
3. The full rebuild (`pfad fraud score --full`, the reference path) of the last
   PFAD_BENCH_FRAUD_LIVE_FULL_REPS minutes (default 3): the same step, in the same run.
4. Restart: `pfad fraud score --no-snapshot` of a window-full minute in a new process (the
   window built from its ten objects, then kept).
5. One process per minute (Airflow): `pfad fraud score` of four consecutive minutes, the first
   without a snapshot; the snapshot's size, load time and the whole process per minute.
6. The dirty set: per rate, the users and sessions whose inputs change when the window moves
   by one minute (their own events in the new or the evicted minute, or a product they touched
   in the window has events in either), against all of the window's: why the scorer makes a
   full pass over compact arrays instead of tracking a dirty set.

Prints Markdown; raw numbers go to test-artifacts/bench-fraud-live.json.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import report

ROOT = Path(__file__).resolve().parents[1]
PFAD = ROOT / "build/pfad"
CACHE = Path(os.environ.get("PFAD_CACHE", Path.home() / ".cache/pfad")) / "bench" / "fraud-live"
RATES = [int(r) for r in os.environ.get("PFAD_BENCH_FRAUD_LIVE_RATES", "10000,50000").split(",")]
MODELS = os.environ.get("PFAD_BENCH_FRAUD_LIVE_MODELS", "trees_graph,gnn_hetero").split(",")
MINUTES = int(os.environ.get("PFAD_BENCH_FRAUD_LIVE_MINUTES", "30"))
FULL_REPS = int(os.environ.get("PFAD_BENCH_FRAUD_LIVE_FULL_REPS", "3"))
WINDOW = 10
FIRST = "2026-11-01 10:00"
LOG = {**os.environ, "PFAD_LOG_LEVEL": "info"}


def minute_label(i: int) -> str:  # 'YYYY-MM-DD HH:MM' of minute i after FIRST (i < 60 * 14)
    return f"2026-11-01 {10 + i // 60:02d}:{i % 60:02d}"


def minute_stem(i: int) -> str:
    return minute_label(i).replace(" ", "_").replace(":", "-")


def gen(directory: Path, rows: int, minutes: int, seed: int, fraud: float) -> Path:
    done = directory / ".done"
    if not done.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(PFAD), "gen", str(directory), "--rows", str(rows), "--minute", FIRST,
                        "--minutes", str(minutes), "--seed", str(seed), "--fraud", str(fraud)], check=True,
                       stdout=subprocess.DEVNULL)
        done.write_text("ok")
    return directory


def clean(directory: Path) -> None:
    """Drops what earlier runs wrote beside the minutes (reports, scores, snapshots)."""
    for p in directory.iterdir():
        if p.name.endswith((".json", ".scores.parquet", ".fraud-state")):
            p.unlink()


def model_file(kind: str) -> Path:
    path = CACHE / f"{kind}.model"
    if not path.exists():
        train = gen(CACHE / "train", 20_000, 12, 1, 0.1)
        subprocess.run([str(PFAD), "fraud", "train", str(train), "--out", str(path), "--model", kind], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def fields(line: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", line))


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def live(directory: Path, model: Path) -> dict:
    """`pfad backfill` over every minute: the fraud step of each, with the RSS at its end."""
    clean(directory)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        proc = subprocess.Popen([str(PFAD), "backfill", "--source", str(directory), "--from", FIRST, "--to",
                                 minute_label(MINUTES - 1), "--fraud-model", str(model), "--dashboard", "",
                                 "--fraud-alerts-topic", "", "--state", f"{tmp}/runs.db"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=LOG)
        peak = [0.0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                peak[0] = max(peak[0], rss_mib(proc.pid, "VmHWM"))

        sampler = threading.Thread(target=sample)
        sampler.start()
        minutes = []
        for line in proc.stderr:
            if "[fraud] scored minute=" in line:
                f = fields(line)
                f["rss_mib"] = rss_mib(proc.pid)
                minutes.append(f)
        code = proc.wait()
        stop.set()
        sampler.join()
        if code != 0 or len(minutes) != MINUTES:
            raise SystemExit(f"backfill failed (exit {code}, {len(minutes)} of {MINUTES} minutes scored)")
        return {"minutes": minutes, "peak_rss_mib": peak[0], "wall_s": time.monotonic() - started}


def one_process(directory: Path, model: Path, i: int, *flags: str) -> dict:
    """`pfad fraud score` of minute i in a new process: wall, peak RSS and the scorer's log."""
    started = time.monotonic()
    res = subprocess.run(["/usr/bin/time", "-f", "%M", str(PFAD), "fraud", "score",
                          str(directory / f"{minute_stem(i)}.parquet"), "--model", str(model), *flags],
                         capture_output=True, text=True, env=LOG)
    wall = time.monotonic() - started
    if res.returncode != 0:
        raise SystemExit(f"pfad fraud score {minute_stem(i)} {flags} failed: {res.stderr[-2000:]}")
    lines = res.stderr.strip().splitlines()
    scored = next(fields(line) for line in lines if "[fraud] scored minute=" in line)
    loaded = next((fields(line) for line in lines if "[fraud] fraud state loaded:" in line), None)
    snap = re.search(r"snapshot (\d+) ms \((\d+) bytes\)", res.stdout)
    return {"wall_s": wall, "peak_rss_mib": int(lines[-1]) / 1024, "scored": scored, "loaded": loaded,
            "snapshot_bytes": int(snap.group(2)) if snap else 0}


def dirty_set(directory: Path, last: int) -> dict:
    """Users and sessions whose inputs change when the window moves from last-1 to last."""
    cols = ["user_id", "session_id", "product_id"]
    window = [pq.read_table(directory / f"{minute_stem(i)}.parquet", columns=cols)
              for i in range(last - WINDOW + 1, last + 1)]
    evicted = pq.read_table(directory / f"{minute_stem(last - WINDOW)}.parquet", columns=cols)
    new = window[-1]
    touched = pc.unique(pc.drop_null(pa.concat_arrays([new["product_id"].combine_chunks(),
                                                       evicted["product_id"].combine_chunks()])))
    out = {"products_touched": len(touched)}
    for kind in ("user_id", "session_id"):
        everyone, dirty = set(), set()
        own = set(pc.unique(new[kind]).to_pylist()) | set(pc.unique(evicted[kind]).to_pylist())
        for t in window:
            everyone.update(pc.unique(t[kind]).to_pylist())
            hit = t.filter(pc.is_in(t["product_id"], value_set=touched))
            dirty.update(pc.unique(hit[kind]).to_pylist())
        dirty |= own & everyone
        out[kind] = {"window": len(everyone), "own_events": len(own & everyone), "dirty": len(dirty)}
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))]


def main() -> None:
    raw: dict = {"rates": {}}
    step_rows, parts_rows, restart_rows, snap_rows, dirty_rows, rss_rows = [], [], [], [], [], []
    for rate in RATES:
        directory = gen(CACHE / f"r{rate}", rate * 60, MINUTES, 11, 0.02)
        raw["rates"][rate] = per_rate = {}
        d = dirty_set(directory, min(WINDOW + 10, MINUTES - 1))
        per_rate["dirty"] = d
        dirty_rows.append([f"{rate:,} ev/s", f"{d['products_touched']:,}"] + [
            f"{d[k]['dirty']:,} of {d[k]['window']:,} ({100 * d[k]['dirty'] / d[k]['window']:.0f}%; own events "
            f"{100 * d[k]['own_events'] / d[k]['window']:.0f}%)" for k in ("user_id", "session_id")])
        for kind in MODELS:
            model = model_file(kind)
            run = live(directory, model)
            after = run["minutes"][WINDOW:]  # the window is full from minute WINDOW - 1 on
            steps = [float(m["ms"]) for m in after]
            per_event = [(float(m["slice_ms"]) + float(m["evict_ms"])) * 1000 / (rate * 60) for m in after]
            full = [one_process(directory, model, i, "--full") for i in range(MINUTES - FULL_REPS, MINUTES)]
            full_steps = [float(f["scored"]["ms"]) for f in full]
            restart = one_process(directory, model, MINUTES - 1, "--no-snapshot")
            clean(directory)
            chain = [one_process(directory, model, i) for i in range(MINUTES - 4, MINUTES)]
            per_rate[kind] = {"live": run, "full": full, "restart": restart, "one_process": chain}
            name = f"{rate:,} ev/s, {kind}"
            step_rows.append([
                name, f"{int(after[-1]['events']):,}", f"{pct(steps, 0.5) / 1000:.2f} s", f"{pct(steps, 0.99) / 1000:.2f} s",
                f"{statistics.median(full_steps) / 1000:.1f} s",
                f"{statistics.median(full_steps) / pct(steps, 0.99):.0f}x",
                f"{statistics.median(per_event):.2f} µs"])
            parts = {k: statistics.median(float(m[k]) for m in after)
                     for k in ("read_ms", "evict_ms", "slice_ms", "combine_ms", "model_ms", "write_ms")}
            parts_rows.append([name] + [f"{parts[k]:.0f} ms" if k != "evict_ms" else f"{parts[k]:.1f} ms"
                                        for k in ("read_ms", "evict_ms", "slice_ms", "combine_ms", "model_ms",
                                                  "write_ms")] +
                              [f"{int(after[-1]['state_bytes']) / 2**20:.0f} MiB",
                               f"{int(after[-1]['multi_slice_entities']):,}"])
            rss = [m["rss_mib"] for m in after]
            rss_rows.append([name, f"{rss[0]:.0f} MiB", f"{rss[-1]:.0f} MiB", f"{max(rss):.0f} MiB",
                             f"{run['peak_rss_mib']:.0f} MiB",
                             f"{statistics.median(f['peak_rss_mib'] for f in full):.0f} MiB"])
            restart_rows.append([name, f"{restart['wall_s']:.1f} s", f"{float(restart['scored']['ms']) / 1000:.1f} s",
                                 f"{statistics.median(f['wall_s'] for f in full):.1f} s"])
            loads = [c for c in chain[1:] if c["loaded"]]
            snap_rows.append([
                name, f"{statistics.median(c['snapshot_bytes'] for c in chain) / 2**20:.0f} MiB",
                f"{statistics.median(float(c['loaded']['ms']) for c in loads):.0f} ms" if loads else "not loaded",
                f"{statistics.median(c['wall_s'] for c in chain[1:]):.2f} s",
                f"{chain[0]['wall_s']:.1f} s",
                f"{statistics.median(c['peak_rss_mib'] for c in chain[1:]):.0f} MiB"])
            clean(directory)
    report.save("fraud-live", raw)
    report.stamp(f"{os.cpu_count()} cores; `pfad gen --fraud 0.02` minutes, {MINUTES} per rate; 10-minute window; "
                 f"figures over the {MINUTES - WINDOW} minutes after the window is full; full rebuild: "
                 f"`pfad fraud score --full` of the last {FULL_REPS} minutes, same run")
    report.table(["rate, model", "window events", "live step p50", "live step p99", "full rebuild (median)",
                  "full / live p99", "add + evict CPU per event"], step_rows)
    report.table(["rate, model", "read new minute", "evict", "slice", "combine", "model + explanations",
                  "write", "state", "entities in several slices"], parts_rows)
    report.table(["rate, model", "RSS, first full window", "RSS, last minute", "RSS max over the minutes",
                  "peak RSS (process)", "full rebuild peak RSS"], rss_rows)
    report.table(["rate, model", "restart: new process, window built (wall)", "of which the fraud step",
                  "full rebuild (wall)"], restart_rows)
    report.table(["rate, model", "snapshot size", "snapshot load", "one process per minute (wall)",
                  "first process, no snapshot (wall)", "peak RSS"], snap_rows)
    report.table(["rate", "products touched by the move", "users with changed inputs", "sessions with changed inputs"],
                 dirty_rows)


if __name__ == "__main__":
    main()
