"""The peer of `pfad fraud features`: the same graph features (docs/FRAUD.md section 2) in
pandas, the way the reference stack (Python) would compute them. Used by fraud_bench.py for
timing, and checked against pfad's output there so both do the same work.

    fraud_features_pandas.py <minute objects...> --out <dir>   (prints its own timing as JSON)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

TYPES = ["VIEW_PRODUCT", "ADD_TO_CART", "CHECKOUT", "PAYMENT", "SEARCH"]
SHORT = ["view", "cart", "checkout", "payment", "search"]
NODE = (["n_events"] + [f"n_{t}" for t in SHORT] + [f"share_{t}" for t in SHORT] +
        ["n_error", "share_error", "error_codes", "error_code_diversity", "payment_error_share", "latency_mean",
         "latency_std", "gap_mean_ms", "gap_cv", "span_ms", "products", "products_per_event", "degree", "first_type"])
PRODUCT = ["p_events", "p_users", "p_sessions", "p_share_cart"]


def ratio(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def read(paths: list[str]) -> pd.DataFrame:
    cols = ["event_id", "user_id", "session_id", "event_type", "event_timestamp", "request_latency_ms", "status",
            "error_code", "product_id"]
    table = pa.concat_tables([pq.read_table(p, columns=cols) for p in paths])
    df = table.to_pandas()
    df["ts"] = table.column("event_timestamp").cast(pa.int64()).to_numpy()
    df["type"] = pd.Categorical(df["event_type"].astype(str), categories=TYPES).codes
    df["err"] = (df["status"].astype(str) == "ERROR").astype(np.int64)
    return df


def node_features(df: pd.DataFrame, key: str, other: str) -> pd.DataFrame:
    d = df.sort_values([key, "ts", "event_id"], kind="stable")
    g = d.groupby(key, sort=True)
    out = pd.DataFrame(index=g.size().index)
    n = g.size().astype(float)
    out["n_events"] = n
    counts = pd.crosstab(d[key], d["type"]).reindex(columns=range(5), fill_value=0).reindex(out.index)
    for i, t in enumerate(SHORT):
        out[f"n_{t}"] = counts[i].astype(float)
    for i, t in enumerate(SHORT):
        out[f"share_{t}"] = ratio(out[f"n_{t}"], n)
    out["n_error"] = g["err"].sum().astype(float)
    out["share_error"] = ratio(out["n_error"], n)
    out["error_codes"] = g["error_code"].nunique().astype(float)
    out["error_code_diversity"] = ratio(out["error_codes"], out["n_error"])
    pay_err = d[(d["type"] == 3) & (d["err"] == 1)].groupby(key).size().reindex(out.index, fill_value=0)
    out["payment_error_share"] = ratio(pay_err, out["n_payment"])
    out["latency_mean"] = g["request_latency_ms"].mean()
    out["latency_std"] = g["request_latency_ms"].std(ddof=0).fillna(0.0)
    gaps = d.groupby(key, sort=False)["ts"].diff()
    gap_stats = gaps.groupby(d[key]).agg(["mean", lambda s: s.std(ddof=0)])
    gap_stats.columns = ["mean", "std"]
    gap_stats = gap_stats.reindex(out.index)
    out["gap_mean_ms"] = gap_stats["mean"].fillna(0.0)
    cv = ratio(gap_stats["std"].fillna(0.0), out["gap_mean_ms"])
    out["gap_cv"] = np.where(n < 3, 0.0, cv)
    out["span_ms"] = (g["ts"].max() - g["ts"].min()).astype(float)
    out["products"] = g["product_id"].nunique().astype(float)
    out["products_per_event"] = ratio(out["products"], n)
    out["degree"] = g[other].nunique().astype(float)
    out["first_type"] = g["type"].first().astype(float)
    return out[NODE]


def product_features(df: pd.DataFrame) -> pd.DataFrame:
    d = df[df["product_id"].notna()]
    g = d.groupby("product_id")
    out = pd.DataFrame({"p_events": g.size().astype(float), "p_users": g["user_id"].nunique().astype(float),
                        "p_sessions": g["session_id"].nunique().astype(float)})
    out["p_share_cart"] = ratio(g["type"].apply(lambda s: (s == 1).sum()).astype(float), out["p_events"])
    return out


def aggregate(df: pd.DataFrame, key: str, col: str, nodes: pd.DataFrame, prefix: str, names: list[str]):
    pairs = df.loc[df[col].notna(), [key, col]].drop_duplicates()
    joined = pairs.merge(nodes, left_on=col, right_index=True)
    g = joined.groupby(key)[names]
    mean = g.mean()
    mean.columns = [f"{prefix}_mean_{c}" for c in names]
    mx = g.max()
    mx.columns = [f"{prefix}_max_{c}" for c in names]
    return pd.concat([mean, mx], axis=1)


def graph_features(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    users = node_features(df, "user_id", "session_id")
    sessions = node_features(df, "session_id", "user_id")
    products = product_features(df)
    out = {}
    for kind, key, nodes, other_key, other_nodes, other in [
            ("user", "user_id", users, "session_id", sessions, "session"),
            ("session", "session_id", sessions, "user_id", users, "user")]:
        table = pd.concat([nodes, aggregate(df, key, other_key, other_nodes, other, NODE),
                           aggregate(df, key, "product_id", products, "product", PRODUCT)], axis=1).fillna(0.0)
        out[kind] = table
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--out")
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = read(args.paths)
    t1 = time.perf_counter()
    tables = graph_features(df)
    t2 = time.perf_counter()
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        for kind, table in tables.items():
            table = table.sort_index()
            t = pa.table({"entity_id": table.index.astype(str), **{c: table[c].to_numpy() for c in table.columns}})
            pq.write_table(t, Path(args.out) / f"{kind}_features.parquet")
    json.dump({"events": len(df), "read_s": t1 - t0, "features_s": t2 - t1}, sys.stdout)


if __name__ == "__main__":
    main()
