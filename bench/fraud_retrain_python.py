"""The peer of `pfad fraud retrain` in the analyst benchmark (bench/analyst_bench.py): the same
minutes and labels, trained the way a Python team would, with pandas and scikit-learn.

- Minutes: the newest --hours x 60 minute objects of the directory; the newest --holdout-minutes
  of them held out; both cut into 10-minute windows (as `pfad fraud train` cuts them).
- Features, per window, per user and per session (pyarrow read, pandas groupby): events, events
  of each of the 5 types and their shares, errors and the error share, distinct products, span
  (last - first event, ms) — 15 of PFAD's 25 node features, no graph features.
- Labels: the `<minute>.labels.parquet` objects beside the minutes; an entity of a window is
  positive when one of them lists it with a fraud scenario (the look-alikes power_user,
  flash_sale and shared_device are negatives), as PFAD reads them.
- Model: one scikit-learn HistGradientBoostingClassifier per kind (200 iterations, depth 6,
  learning rate 0.1, as PFAD's trees), on the training windows' rows.
- Judged: on the held-out windows, an entity's highest score; average precision (PR-AUC) per
  kind, and their mean (what `pfad fraud retrain` records).

  python fraud_retrain_python.py <minutes dir> <hours> <holdout minutes>
Prints one JSON line: seconds of each step and in all, rows, PR-AUC.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score

TYPES = ["VIEW_PRODUCT", "ADD_TO_CART", "CHECKOUT", "PAYMENT", "SEARCH"]
LEGIT = {"power_user", "flash_sale", "shared_device"}
KINDS = {"user": "user_id", "session": "session_id"}
WINDOW = 10


def minute_objects(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.parquet") if not p.name.endswith((".labels.parquet",
                                                                                 ".scores.parquet")))


def window_features(minutes: list[Path]) -> dict[str, pd.DataFrame]:
    """Per kind: one row per entity of the window, its features and its label."""
    table = pa.concat_tables(pq.read_table(p, columns=["user_id", "session_id", "event_type", "event_timestamp",
                                                       "status", "product_id"]) for p in minutes)
    df = table.drop(["event_timestamp"]).to_pandas()
    df["ts"] = table.column("event_timestamp").cast(pa.int64()).to_numpy()
    df["error"] = (df["status"] == "ERROR").astype(np.int32)
    for t in TYPES:
        df[t] = (df["event_type"] == t).astype(np.int32)
    labels = pa.concat_tables(pq.read_table(p.with_name(p.stem + ".labels.parquet")) for p in minutes).to_pandas()
    positive = labels[~labels["scenario"].isin(LEGIT)]
    out = {}
    for kind, column in KINDS.items():
        f = df.groupby(column, sort=False).agg(events=("ts", "size"), errors=("error", "sum"), first=("ts", "min"),
                                               last=("ts", "max"), products=("product_id", "nunique"),
                                               **{t: (t, "sum") for t in TYPES})
        for t in TYPES:
            f["share_" + t] = f[t] / f["events"]
        f["share_error"] = f["errors"] / f["events"]
        f["span_ms"] = f["last"] - f["first"]
        f = f.drop(columns=["first", "last"])
        f["label"] = f.index.isin(set(positive.loc[positive["entity_kind"] == kind, "entity_id"])).astype(int)
        out[kind] = f
    return out


def main() -> None:
    directory, hours, holdout = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    started = time.perf_counter()
    minutes = minute_objects(directory)[-hours * 60:]
    train_minutes, held_minutes = minutes[:-holdout], minutes[-holdout:]
    windows = [train_minutes[i:i + WINDOW] for i in range(0, len(train_minutes), WINDOW)]
    train = [window_features(w) for w in windows]
    held = [window_features(held_minutes[i:i + WINDOW]) for i in range(0, len(held_minutes), WINDOW)]
    features_s = time.perf_counter() - started
    models, train_s, rows, pr_auc = {}, 0.0, {}, {}
    for kind in KINDS:
        x = pd.concat([w[kind] for w in train])
        rows[kind] = len(x)
        start = time.perf_counter()
        models[kind] = HistGradientBoostingClassifier(max_iter=200, max_depth=6, learning_rate=0.1,
                                                      early_stopping=False, random_state=0)
        models[kind].fit(x.drop(columns=["label"]), x["label"])
        train_s += time.perf_counter() - start
    start = time.perf_counter()
    for kind in KINDS:
        scored = pd.concat([w[kind].assign(score=models[kind].predict_proba(w[kind].drop(columns=["label"]))[:, 1])
                            for w in held])
        best = scored.groupby(level=0).agg(score=("score", "max"), label=("label", "max"))
        pr_auc[kind] = float(average_precision_score(best["label"], best["score"]))
    judge_s = time.perf_counter() - start
    print(json.dumps({"features_s": features_s, "train_s": train_s, "judge_s": judge_s,
                      "total_s": time.perf_counter() - started, "train_minutes": len(train_minutes),
                      "holdout_minutes": len(held_minutes), "rows": rows, "pr_auc": pr_auc,
                      "pr_auc_mean": sum(pr_auc.values()) / len(pr_auc)}))


if __name__ == "__main__":
    main()
