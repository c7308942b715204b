"""Benchmark: `pfad analyze` against DuckDB, pyarrow and a PySpark job on the
same files in the same run (6,000-row, 1M- and 10M-row minutes; local disk and
MinIO). Prints a Markdown table; raw numbers go to test-artifacts/bench-analyze.json.

Timings: pfad and spark-submit are timed as whole processes (start to exit);
DuckDB and pyarrow as the query alone inside an already running Python
process (their interpreter start-up and imports are not counted, which
favours them). Each figure is the median of the repetitions; peak RSS is the
process's maximum resident set (for in-process peers: Python included).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import report

ROOT = Path(__file__).resolve().parents[1]
PFAD = ROOT / "build/pfad"
PY = ROOT / ".venv/bin/python"
CACHE = Path(os.environ.get("PFAD_CACHE", Path.home() / ".cache/pfad")) / "bench"
BUCKET = "pfad-bench"
SIZES = {"6k": 6_000, "1M": 1_000_000, "10M": 10_000_000}
REPS = {"6k": 7, "1M": 5, "10M": 5}
SPARK_REPS = int(os.environ.get("PFAD_BENCH_SPARK_REPS", "2"))


def peak_rss(cmd: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Runs cmd under GNU time; returns (wall seconds, peak RSS bytes, stdout)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, *cmd], capture_output=True, text=True,
                              env=env)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} failed: {proc.stderr}")
        return wall, int(tf.read().split()[-1]) * 1024, proc.stdout


def ensure_files(env: dict) -> dict[str, Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    files = {}
    for label, rows in SIZES.items():
        path = CACHE / f"{label}" / "2025-01-15_10-00.parquet"
        if not path.exists():
            subprocess.run([str(PFAD), "gen", str(path), "--rows", str(rows), "--minute", "2025-01-15 10:00",
                            "--seed", "2025"], check=True, stdout=subprocess.DEVNULL)
        files[label] = path
        subprocess.run([str(PFAD), "gen", f"s3://{BUCKET}/{label}/2025-01-15_10-00.parquet", "--rows", str(rows),
                        "--minute", "2025-01-15 10:00", "--seed", "2025"], check=True, stdout=subprocess.DEVNULL,
                       env=env)
    return files


def bench_pfad(uri: str, reps: int, env: dict) -> dict:
    walls, rss = [], 0
    for _ in range(reps):
        wall, r, _ = peak_rss([str(PFAD), "analyze", uri, "--out", tempfile.gettempdir()], env)
        walls.append(wall)
        rss = max(rss, r)
    return {"seconds": statistics.median(walls), "rss": rss}


def bench_peer(tool: str, path: str, reps: int, env: dict) -> dict:
    wall, rss, out = peak_rss([str(PY), str(ROOT / "bench/peers.py"), tool, path, str(reps)], env)
    result = json.loads(out)
    return {"seconds": statistics.median(result["seconds"]), "rss": rss, "process_seconds": wall}


def bench_spark(path: Path, reps: int, env: dict) -> dict:
    spark_submit = ROOT / ".venv/bin/spark-submit"
    walls, rss = [], 0
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            wall, r, _ = peak_rss([str(spark_submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                                   "--driver-memory", "1g", str(ROOT / "bench/spark_analyze.py"), str(path),
                                   f"{tmp}/report.json"], env)
        walls.append(wall)
        rss = max(rss, r)
    return {"seconds": statistics.median(walls), "rss": rss}


def main() -> None:
    env = dict(os.environ)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # pip's pyspark finds its home with whatever python3 is on PATH: point it at the venv's.
    env["SPARK_HOME"] = subprocess.run([str(PY), "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"],
                                       capture_output=True, text=True, check=True).stdout.strip()
    env["PYSPARK_PYTHON"] = str(PY)
    subprocess.run(["curl", "-sf", env["AWS_ENDPOINT_URL"] + "/minio/health/ready"], check=True)
    subprocess.run([str(PY), "-c", "import pyarrow.fs as f, os; f.S3FileSystem(access_key=os.environ['AWS_ACCESS_KEY_ID'],"
                    " secret_key=os.environ['AWS_SECRET_ACCESS_KEY'], endpoint_override=os.environ['AWS_ENDPOINT_URL'],"
                    f" allow_bucket_creation=True).create_dir('{BUCKET}')"], check=True, env=env)
    files = ensure_files(env)
    results = []
    for label, path in files.items():
        rows = SIZES[label]
        s3_uri = f"s3a://{BUCKET}/{label}/2025-01-15_10-00.parquet"
        s3_path = f"{BUCKET}/{label}/2025-01-15_10-00.parquet"
        cases = [
            ("local", "pfad analyze", lambda: bench_pfad(str(path), REPS[label], env)),
            ("local", "DuckDB", lambda: bench_peer("duckdb", str(path), REPS[label], env)),
            ("local", "pyarrow group_by", lambda: bench_peer("pyarrow", str(path), REPS[label], env)),
            ("MinIO", "pfad analyze", lambda: bench_pfad(s3_uri, REPS[label], env)),
            ("MinIO", "DuckDB (pyarrow S3 dataset)", lambda: bench_peer("duckdb-s3", s3_path, REPS[label], env)),
            ("MinIO", "pyarrow group_by", lambda: bench_peer("pyarrow-s3", s3_path, REPS[label], env)),
        ]
        if label in os.environ.get("PFAD_BENCH_SPARK_SIZES", "6k,1M,10M").split(","):
            cases.append(("local", "PySpark spark-submit local[2]", lambda: bench_spark(path, SPARK_REPS, env)))
        for where, tool, fn in cases:
            r = fn()
            r.update({"file": label, "rows": rows, "where": where, "tool": tool})
            results.append(r)
            print(f"{label:>4} {where:<6} {tool:<32} {r['seconds']:9.4f} s  {rows / r['seconds'] / 1e6:9.2f} Mrows/s"
                  f"  {r['rss'] / 2**20:7.1f} MiB", file=sys.stderr)
    report.save("analyze", results)

    print(f"Machine: {platform.node()} {os.cpu_count()} cores, {platform.platform()}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| file | source | tool | seconds (median) | rows/s | peak RSS | pfad speed-up |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in results:
        ours = next(x for x in results if x["file"] == r["file"] and x["where"] == r["where"] and x["tool"] == "pfad analyze")
        print(f"| {r['file']} | {r['where']} | {r['tool']} | {r['seconds']:.4f} | {r['rows'] / r['seconds']:,.0f} | "
              f"{r['rss'] / 2**20:.0f} MiB | {r['seconds'] / ours['seconds']:.1f}x |")


if __name__ == "__main__":
    main()
