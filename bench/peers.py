"""In-process peers for the analysis benchmark. Prints one JSON line:
{"seconds": [query times], "total_events": N, "total_errors": E}.

  python peers.py duckdb|pyarrow|duckdb-s3|pyarrow-s3 <path> <reps>

The *-s3 variants read from MinIO through pyarrow's S3 filesystem (DuckDB's
httpfs extension would be downloaded at run time, which this machine cannot).
"""
import json
import os
import sys
import time

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def s3fs():
    return pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"],
                             secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                             endpoint_override=os.environ["AWS_ENDPOINT_URL"], region="us-east-1")


def run_duckdb(path, fs):
    import duckdb
    con = duckdb.connect()
    if fs is None:
        src = f"read_parquet('{path}')"
    else:
        dataset = ds.dataset(path, filesystem=fs, format="parquet")  # noqa: F841 (queried by name)
        src = "dataset"
    rows = con.execute(f"SELECT event_type, status, count(*) FROM {src} GROUP BY ALL").fetchall()
    return [(t, s, n) for t, s, n in rows]


def run_pyarrow(path, fs):
    table = pq.read_table(path, columns=["event_type", "status"], filesystem=fs)
    agg = table.group_by(["event_type", "status"]).aggregate([([], "count_all")])
    return list(zip(*(agg.column(c).to_pylist() for c in ("event_type", "status", "count_all"))))


def main():
    tool, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fs = s3fs() if tool.endswith("-s3") else None
    run = run_duckdb if tool.startswith("duckdb") else run_pyarrow
    times, rows = [], []
    for _ in range(reps):
        start = time.perf_counter()
        rows = run(path, fs)
        times.append(time.perf_counter() - start)
    total = sum(n for _, _, n in rows)
    errors = sum(n for _, s, n in rows if s == "ERROR")
    print(json.dumps({"seconds": times, "total_events": total, "total_errors": errors}))


if __name__ == "__main__":
    main()
