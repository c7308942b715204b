"""The peer PySpark job: the same per-minute aggregation as `pfad analyze`,
written the way the reference job is (read Parquet, groupBy event_type, pivot
status, write the JSON report). Run with spark-submit --master local[2]."""
import json
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main() -> None:
    path, out = sys.argv[1], sys.argv[2]
    spark = SparkSession.builder.appName("pfad-bench-analyze").getOrCreate()
    start = time.time()
    df = spark.read.parquet(path)
    counts = (df.groupBy("event_type").pivot("status", ["ERROR", "SUCCESS"]).count().fillna(0)
              .orderBy("event_type").collect())
    by_type = {r["event_type"]: {"SUCCESS": int(r["SUCCESS"]), "ERROR": int(r["ERROR"])} for r in counts}
    report = {"report": {
        "total_events": sum(v["SUCCESS"] + v["ERROR"] for v in by_type.values()),
        "total_errors": sum(v["ERROR"] for v in by_type.values()),
        "by_event_type": by_type,
        "process_time": time.time() - start,
        "file_name": path.rsplit("/", 1)[-1].replace(".parquet", ".json"),
    }}
    with open(out, "w") as f:
        json.dump(report, f)
    spark.stop()


if __name__ == "__main__":
    main()
