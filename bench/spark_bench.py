"""Benchmark: `pfad analyze --engine spark` (C++ over Spark Connect) against the PySpark job
(bench/spark_analyze.py via spark-submit) on the same Spark cluster (scripts/services/spark.sh),
same run, same MinIO objects: a 6,000-row minute and a 10M-row file.

- pfad, fresh session: the whole `pfad analyze --engine spark` process (connect, open a
  session, query, write the report), as a cron job or Airflow task would run it.
- pfad, reused session: one process analyzing the object --repeat times through one session,
  as `pfad run` does every minute; each analysis timed (stat, Spark query, report written).
- spark-submit: the PySpark job submitted to the same standalone master (2 cores, 768m
  executor), timed as a whole process, as the reference DAG's SparkSubmitOperator runs it.
- pfad local engine on the same object, for scale.

Prints a Markdown table; raw numbers go to test-artifacts/bench-spark.json.
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
BUCKET = "pfad-bench"
SIZES = {"6k": 6_000, "10M": 10_000_000}
FRESH_REPS = int(os.environ.get("PFAD_BENCH_SPARK_FRESH", "3"))
REUSED_REPS = int(os.environ.get("PFAD_BENCH_SPARK_REUSED", "20"))
SUBMIT_REPS = int(os.environ.get("PFAD_BENCH_SPARK_SUBMIT", "3"))


def wall(cmd: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, proc.stdout


def service_env(name: str) -> dict:
    out = subprocess.run([str(ROOT / f"scripts/services/{name}.sh"), "env"], capture_output=True, text=True,
                         check=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'\"")
    return env


def main() -> None:
    env = {**os.environ, **service_env("minio"), **service_env("spark")}
    env["PYSPARK_PYTHON"] = str(PY)
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    remote = env["PFAD_SPARK_REMOTE"]
    master = env["PFAD_SPARK_MASTER"]
    subprocess.run(["curl", "-sf", env["AWS_ENDPOINT_URL"] + "/minio/health/ready"], check=True)
    subprocess.run([str(PY), "-c", "import pyarrow.fs as f, os; f.S3FileSystem(access_key=os.environ['AWS_ACCESS_KEY_ID'],"
                    " secret_key=os.environ['AWS_SECRET_ACCESS_KEY'], endpoint_override=os.environ['AWS_ENDPOINT_URL'],"
                    f" allow_bucket_creation=True).create_dir('{BUCKET}')"], check=True, env=env)
    results = []
    for label, rows in SIZES.items():
        uri = f"s3a://{BUCKET}/spark-{label}/2025-01-15_10-00.parquet"
        subprocess.run([str(PFAD), "gen", uri.replace("s3a://", "s3://"), "--rows", str(rows), "--minute",
                        "2025-01-15 10:00", "--seed", "2025"], check=True, stdout=subprocess.DEVNULL, env=env)
        out = f"s3a://{BUCKET}/spark-{label}/reports"
        spark = [str(PFAD), "analyze", "--engine", "spark", "--spark-remote", remote, uri, "--out", out]

        # Warm the cluster once (JIT, S3A client) so neither side pays first-ever costs.
        wall(spark, env)
        fresh = [wall(spark, env)[0] for _ in range(FRESH_REPS)]
        _, timings = wall([*spark, "--repeat", str(REUSED_REPS), "--timings"], env)
        per_minute = [float(line.split("\t")[0]) for line in timings.splitlines()]
        reused = per_minute[1:]  # the first query of a session also warms it
        local = [wall([str(PFAD), "analyze", uri, "--out", out], env)[0] for _ in range(5)]
        submit = []
        for _ in range(SUBMIT_REPS):
            with tempfile.TemporaryDirectory() as tmp:
                seconds, _ = wall([str(ROOT / ".venv/bin/spark-submit"), "--master", master,
                                   "--total-executor-cores", "2", "--executor-memory", "768m",
                                   "--driver-memory", "512m", "--conf", "spark.ui.enabled=false",
                                   str(ROOT / "bench/spark_analyze.py"), uri, f"{tmp}/report.json"], env)
                job_report = json.loads(Path(f"{tmp}/report.json").read_text())["report"]
                assert job_report["total_events"] == rows, job_report
            submit.append(seconds)
        row = {
            "file": label, "rows": rows,
            "pfad_spark_fresh": statistics.median(fresh),
            "pfad_spark_reused": statistics.median(reused),
            "pfad_spark_reused_p90": sorted(reused)[int(0.9 * (len(reused) - 1))],
            "pfad_spark_reused_first": per_minute[0],
            "pfad_local": statistics.median(local),
            "spark_submit": statistics.median(submit),
            "raw": {"fresh": fresh, "reused": per_minute, "local": local, "submit": submit},
        }
        results.append(row)
        print(f"{label:>4}: fresh {row['pfad_spark_fresh']:.3f} s, reused {row['pfad_spark_reused']:.3f} s "
              f"(p90 {row['pfad_spark_reused_p90']:.3f}), local {row['pfad_local']:.3f} s, "
              f"spark-submit {row['spark_submit']:.3f} s", file=sys.stderr)

    report.save("spark", results)
    version = subprocess.run([str(PY), "-c", "import pyspark; print(pyspark.__version__)"], capture_output=True,
                             text=True).stdout.strip()
    print(f"Machine: {platform.node()} {os.cpu_count()} cores, {platform.platform()}; Spark {version} "
          f"(pyspark wheel), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| file | rows | pfad --engine spark, fresh session (process) | pfad --engine spark, reused session "
          "(per minute, median / p90) | spark-submit PySpark job (process) | reused / spark-submit | "
          "pfad local engine (process) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['file']} | {r['rows']:,} | {r['pfad_spark_fresh']:.2f} s | {r['pfad_spark_reused']:.3f} s / "
              f"{r['pfad_spark_reused_p90']:.3f} s | {r['spark_submit']:.2f} s | "
              f"1/{r['spark_submit'] / r['pfad_spark_reused']:.0f} | {r['pfad_local']:.3f} s |")


if __name__ == "__main__":
    main()
