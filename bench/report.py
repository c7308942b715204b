"""What every benchmark ends with: raw figures saved under test-artifacts/, and a
Markdown table (with the date) on stdout for docs/BENCHMARKS.md."""
from __future__ import annotations

import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def save(name: str, raw) -> None:
    """Writes test-artifacts/bench-<name>.json."""
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / f"test-artifacts/bench-{name}.json").write_text(json.dumps(raw, indent=1))


def stamp(extra: str = "") -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}{'; ' + extra if extra else ''}\n")


def table(headers: list[str], rows: list[list], align: str | None = None) -> None:
    """A Markdown table; `align` holds one of l/r per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" if a == "l" else "---:" for a in align) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print()
