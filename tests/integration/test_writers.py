"""The same minute written by pyarrow (plain, dictionary, many row groups, nulls),
by DuckDB and by `pfad gen` must give identical reports."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reference_data import comparable, expected_report, reference_table


def analyze(pfad, path: Path) -> dict:
    run = pfad.run("analyze", str(path))
    assert run.code == 0, run.stderr
    return json.loads(path.with_suffix(".json").read_text())


def with_nulls(table: pa.Table) -> pa.Table:
    extra = pa.Table.from_pylist([
        {"event_type": None, "status": "ERROR"},
        {"event_type": "SEARCH", "status": None},
        {"event_type": None, "status": None},
    ], schema=table.schema)
    return pa.concat_tables([table, extra])


LAYOUTS = {
    "pyarrow-dictionary": lambda t, p: pq.write_table(t, p, use_dictionary=True),
    "pyarrow-plain": lambda t, p: pq.write_table(t, p, use_dictionary=False),
    "pyarrow-row-groups-7": lambda t, p: pq.write_table(t, p, row_group_size=7),
    "pyarrow-arrow-dictionary-type": lambda t, p: pq.write_table(
        t.set_column(t.schema.get_field_index("event_type"), "event_type",
                     t.column("event_type").dictionary_encode()), p),
    "pyarrow-large-string": lambda t, p: pq.write_table(
        t.cast(pa.schema([f.with_type(pa.large_string()) if f.type == pa.string() else f for f in t.schema])), p),
    "pyarrow-only-two-columns": lambda t, p: pq.write_table(t.select(["event_type", "status"]), p),
    "pyarrow-zstd-v1": lambda t, p: pq.write_table(t, p, compression="zstd", version="1.0",
                                                   data_page_version="1.0"),
    "duckdb": lambda t, p: duckdb.sql("SELECT * FROM t").write_parquet(str(p)),
    "duckdb-row-groups": lambda t, p: duckdb.sql(
        f"COPY (SELECT * FROM t) TO '{p}' (FORMAT parquet, ROW_GROUP_SIZE 2048)"),
}


@pytest.mark.parametrize("nulls", [False, True], ids=["no-nulls", "nulls"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_writer_gives_the_same_report(pfad, tmp_path, layout, nulls):
    t = with_nulls(reference_table()) if nulls else reference_table()
    path = tmp_path / "2025-01-15_10-00.parquet"
    LAYOUTS[layout](t, path)
    assert comparable(analyze(pfad, path)) == expected_report(t)


def test_gen_file_rewritten_by_every_writer_gives_the_same_report(pfad, tmp_path):
    gen_dir = tmp_path / "gen"
    run = pfad.run("gen", str(gen_dir), "--rows", "20000", "--minute", "2025-01-15 10:00", "--seed", "11",
                   "--row-group-rows", "3000")
    assert run.code == 0, run.stderr
    original = gen_dir / "2025-01-15_10-00.parquet"
    t = pq.read_table(original)
    want = expected_report(t)
    assert comparable(analyze(pfad, original)) == want
    for layout, write in sorted(LAYOUTS.items()):
        path = tmp_path / layout / "2025-01-15_10-00.parquet"
        path.parent.mkdir()
        write(t, path)
        assert comparable(analyze(pfad, path)) == want, layout
