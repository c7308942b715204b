"""Benchmark of the fraud stage (docs/FRAUD.md), three parts, all in one run:

1. Speed: graph build + features of a 500,000-event window (10 minutes x 50,000 events, fraud
   actors mixed in) — `pfad fraud features` (local engine; its own read / features timing and the
   process's peak RSS) against the pandas peer (bench/fraud_features_pandas.py, the same
   features; checked equal first) and, when PFAD_SPARK_REMOTE is set, the Spark engine.
2. Quality on synthetic data: 5 seeds, each its own generated dataset (20 minutes x 20,000
   events, --fraud 0.1) and model seed; `pfad fraud eval --json`; mean ± sd per model, kind and
   scenario slice.
3. Quality on YelpChi (PyPI ugfraud's metadata.gz: user product rating label date; label -1 =
   spam), as a labelled user-item list: `pfad fraud eval --interactions`.
4. The models in production (`gnn` part): `pfad fraud train --model M` on the synthetic training
   window (the first 12 minutes of dataset 1, one 12-minute window): time and peak RSS; then
   `pfad fraud score` of the 500,000-event speed window (whole process, graph build included):
   p50 / p99 over PFAD_BENCH_FRAUD_SCORE_REPS runs (default 20) and peak RSS, per model.

Prints Markdown; raw numbers go to test-artifacts/bench-fraud.json; the PR curves of seed 1 go
to docs/fraud-pr-curves.svg.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pyarrow.parquet as pq

import report
from analyze_bench import peak_rss as run_timed  # (wall s, peak RSS bytes, stdout) under GNU time

ROOT = Path(__file__).resolve().parents[1]
PFAD = ROOT / "build/pfad"
PY = ROOT / ".venv/bin/python"
CACHE = Path(os.environ.get("PFAD_CACHE", Path.home() / ".cache/pfad")) / "bench" / "fraud"
SEEDS = [1, 2, 3, 4, 5]
SPEED_REPS = int(os.environ.get("PFAD_BENCH_FRAUD_REPS", "5"))


def gen(directory: Path, rows: int, minutes: int, seed: int, fraud: float) -> Path:
    done = directory / ".done"
    if not done.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(PFAD), "gen", str(directory), "--rows", str(rows), "--minute", "2026-11-01 10:00",
                        "--minutes", str(minutes), "--seed", str(seed), "--fraud", str(fraud)], check=True,
                       stdout=subprocess.DEVNULL)
        done.write_text("ok")
    return directory


def minute_objects(directory: Path) -> list[str]:
    return sorted(str(p) for p in directory.glob("*.parquet") if not p.name.endswith((".labels.parquet",
                                                                                     ".scores.parquet")))


def check_same(a: Path, b: Path) -> None:
    for kind in ("user", "session"):
        x = pq.read_table(a / f"{kind}_features.parquet").to_pandas()
        y = pq.read_table(b / f"{kind}_features.parquet").to_pandas()
        assert list(x.columns) == list(y.columns), kind
        assert x["entity_id"].tolist() == y["entity_id"].tolist(), kind
        for c in x.columns[1:]:
            for u, v in zip(x[c], y[c]):
                assert math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9), (kind, c, u, v)


def speed(raw: dict) -> None:
    window = gen(CACHE / "speed", 50_000, 10, 11, 0.02)
    objects = minute_objects(window)
    with tempfile.TemporaryDirectory() as tmp:
        # Same work first: the peer's output equals pfad's on a 1-minute window.
        small = objects[:1]
        subprocess.run([str(PFAD), "fraud", "features", small[0], "--out", f"{tmp}/pfad"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([str(PY), str(ROOT / "bench/fraud_features_pandas.py"), *small, "--out", f"{tmp}/pandas"],
                       check=True, stdout=subprocess.DEVNULL)
        check_same(Path(f"{tmp}/pfad"), Path(f"{tmp}/pandas"))
        rows = []
        pfad_runs, peer_runs = [], []
        for _ in range(SPEED_REPS):
            wall, rss, out = run_timed([str(PFAD), "fraud", "features", str(window), "--out", f"{tmp}/p"])
            line = next(l for l in out.splitlines() if l.startswith("window:"))
            read_ms = float(line.split("read ")[1].split(" ms")[0])
            feat_ms = float(line.split("graph and features ")[1].split(" ms")[0])
            events = int(line.split(", ")[1].split(" events")[0])
            pfad_runs.append({"wall_s": wall, "rss": rss, "read_ms": read_ms, "features_ms": feat_ms})
            wall, rss, out = run_timed([str(PY), str(ROOT / "bench/fraud_features_pandas.py"), *objects])
            peer = json.loads(out)
            peer_runs.append({"wall_s": wall, "rss": rss, "read_ms": peer["read_s"] * 1e3,
                              "features_ms": peer["features_s"] * 1e3})
        raw["speed"] = {"events": events, "pfad": pfad_runs, "pandas": peer_runs}

        def row(name, runs):
            med = lambda k: statistics.median(r[k] for r in runs)
            p99 = lambda k: max(r[k] for r in runs)
            return [name, f"{med('read_ms'):.0f}", f"{med('features_ms'):.0f}",
                    f"{med('read_ms') + med('features_ms'):.0f}", f"{p99('read_ms') + p99('features_ms'):.0f}",
                    f"{med('wall_s'):.2f}", f"{max(r['rss'] for r in runs) / 2**20:.0f}"]
        rows = [row("pfad fraud features (C++, local engine)", pfad_runs),
                row("pandas peer (same features)", peer_runs)]
        if os.environ.get("PFAD_SPARK_REMOTE"):
            wall, rss, _ = run_timed([str(PFAD), "fraud", "features", str(window), "--engine", "spark", "--out",
                                      f"{tmp}/s"])
            raw["speed"]["spark"] = {"wall_s": wall}
            rows.append(["pfad fraud features --engine spark (whole process)", "", "", "", "", f"{wall:.2f}", ""])
    print(f"### Graph + features of a {events:,}-event window (10 minutes), {SPEED_REPS} runs each\n")
    report.table(["engine", "read ms (median)", "graph + features ms (median)", "total ms (median)",
                  "total ms (worst)", "process s", "peak RSS MiB"], rows)


def mean_sd(values: list[float]) -> str:
    if not values:
        return "–"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def quality(raw: dict) -> None:
    runs = []
    svg = None
    for seed in SEEDS:
        data = gen(CACHE / f"eval-{seed}", 20_000, 20, seed, 0.1)
        cmd = [str(PFAD), "fraud", "eval", str(data), "--json", "--seeds", "1", "--first-seed", str(seed)]
        if seed == SEEDS[0]:
            svg = ROOT / "docs/fraud-pr-curves.svg"
            cmd += ["--pr-curves", str(svg)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        runs.extend(json.loads(out)["runs"])
    raw["synthetic"] = runs
    print(f"### Synthetic: 5 datasets (seeds {SEEDS}), 20 minutes x 20,000 events, --fraud 0.1\n")
    print_quality(runs)


def print_quality(runs: list[dict]) -> None:
    for kind in ("user", "session"):
        mine = [r for r in runs if r["kind"] == kind]
        if not mine:
            continue
        models = list(dict.fromkeys(r["model"] for r in mine))
        slices = list(dict.fromkeys(s["name"] for r in mine for s in r["slices"]))
        rows = []
        for model in models:
            rs = [r for r in mine if r["model"] == model]
            row = [model, mean_sd([r["pr_auc"] for r in rs]), mean_sd([r["roc_auc"] for r in rs]),
                   mean_sd([r["recall_at_1fpr"] for r in rs])]
            for name in slices:
                vals = [s for r in rs for s in r["slices"] if s["name"] == name]
                key = "pr_auc" if vals and vals[0]["fraud"] else "recall_at_1fpr"
                row.append(mean_sd([s[key] for s in vals]))
            rows.append(row)
        heads = ["model", "PR-AUC", "ROC-AUC", "recall@1%FPR"] + [
            f"{n} PR-AUC" if any(s["fraud"] for r in mine for s in r["slices"] if s["name"] == n) else
            f"{n} flagged@1%FPR" for n in slices]
        print(f"**{kind}s**\n")
        report.table(heads, rows)


def yelpchi(raw: dict) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    tsv = CACHE / "yelpchi.tsv"
    if not tsv.exists():
        wheels = CACHE / "wheels"
        subprocess.run([str(PY), "-m", "pip", "download", "-q", "--no-deps", "ugfraud==0.1.1.3", "-d", str(wheels)],
                       check=True)
        wheel = next(wheels.glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            name = next(n for n in z.namelist() if n.endswith("YelpChi/metadata.gz"))
            lines = gzip.decompress(z.read(name)).decode().splitlines()
        with open(tsv, "w") as f:
            f.write("user\titem\tlabel\n")
            for line in lines:
                user, item, _rating, label, _date = line.split()
                f.write(f"user{user}\titem{item}\t{label}\n")
    out = subprocess.run([str(PFAD), "fraud", "eval", "--interactions", str(tsv), "--positive-label", "-1",
                          "--negative-label", "1", "--train-share", "0.4", "--json"], check=True, capture_output=True,
                         text=True).stdout
    data = json.loads(out)
    raw["yelpchi"] = data["runs"]
    print("### YelpChi (ugfraud metadata.gz) as a user-item list, users scored, 40 % train, 5 seeds\n")
    for note in data.get("notes", []):
        print(f"- {note}")
    print()
    print_quality(data["runs"])


SCORE_REPS = int(os.environ.get("PFAD_BENCH_FRAUD_SCORE_REPS", "20"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def gnn(raw: dict) -> None:
    data = gen(CACHE / "eval-1", 20_000, 20, 1, 0.1)
    window = gen(CACHE / "speed", 50_000, 10, 11, 0.02)
    minute = minute_objects(window)[-1]
    rows = []
    raw["production"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        train_dir = Path(tmp) / "train"
        train_dir.mkdir()
        for name in minute_objects(data)[:12]:
            for suffix in (".parquet", ".labels.parquet"):
                src = Path(name[: -len(".parquet")] + suffix)
                (train_dir / src.name).symlink_to(src)
        for model in ("gnn_hetero", "gnn_sage", "trees_graph"):
            out = f"{tmp}/{model}.pfm"
            train_wall, train_rss, _ = run_timed([str(PFAD), "fraud", "train", str(train_dir), "--model", model,
                                                  "--window-minutes", "12", "--out", out])
            runs = []
            for _ in range(SCORE_REPS):
                wall, rss, text = run_timed([str(PFAD), "fraud", "score", minute, "--model", out])
                line = next(l for l in text.splitlines() if l.startswith("timing:"))
                runs.append({"wall_s": wall, "rss": rss,
                             "read_ms": float(line.split("read ")[1].split(" ms")[0]),
                             "score_ms": float(line.split("graph and scores ")[1].split(" ms")[0]),
                             "events": int(line.split("timing: ")[1].split(" events")[0])})
            raw["production"][model] = {"train_wall_s": train_wall, "train_rss": train_rss, "score": runs}
            walls = [r["wall_s"] for r in runs]
            scored = [r["score_ms"] for r in runs]
            rows.append([model, f"{train_wall:.1f}", f"{train_rss / 2**20:.0f}", f"{percentile(scored, 0.5):.0f}",
                         f"{percentile(scored, 0.99):.0f}", f"{percentile(walls, 0.5):.2f}",
                         f"{percentile(walls, 0.99):.2f}", f"{max(r['rss'] for r in runs) / 2**20:.0f}"])
    events = raw["production"]["gnn_hetero"]["score"][0]["events"]
    print(f"### Train (12 minutes, 240,000 events) and score a {events:,}-event window, {SCORE_REPS} runs each\n")
    report.table(["model", "train s", "train peak RSS MiB", "graph + scores ms p50", "graph + scores ms p99",
                  "score process s p50", "score process s p99", "score peak RSS MiB"], rows)


def main() -> None:
    which = sys.argv[1:] or ["speed", "quality", "yelpchi", "gnn"]
    raw: dict = {}
    report.stamp(f"{os.cpu_count()} cores; {' '.join(which)}")
    if "speed" in which:
        speed(raw)
    if "quality" in which:
        quality(raw)
    if "yelpchi" in which:
        yelpchi(raw)
    if "gnn" in which:
        gnn(raw)
    report.save("fraud", raw)


if __name__ == "__main__":
    main()
