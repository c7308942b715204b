"""Minute naming in Asia/Tehran against Python's zoneinfo on random instants."""
from __future__ import annotations

import datetime as dt
import random

from reference_data import TEHRAN


def zoneinfo_name(ms: int) -> str:
    local = (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ms)).astimezone(TEHRAN)
    return local.strftime("%Y-%m-%d_%H-%M")


def test_ten_thousand_random_instants_match_zoneinfo(pfad):
    rng = random.Random(20250115)
    lo = int(dt.datetime(1950, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
    hi = int(dt.datetime(2037, 12, 31, tzinfo=dt.timezone.utc).timestamp() * 1000)
    instants = [rng.randrange(lo, hi) for _ in range(10_000)]
    run = pfad.run("minute", stdin="\n".join(map(str, instants)) + "\n")
    assert run.code == 0, run.stderr
    got = run.stdout.split()
    assert len(got) == len(instants)
    mismatches = [(ms, g, zoneinfo_name(ms)) for ms, g in zip(instants, got) if g != zoneinfo_name(ms)]
    assert mismatches == []


def test_transition_instants_match_zoneinfo(pfad):
    # Every minute around Tehran's 2008-2022 daylight-saving transitions.
    instants = []
    for year in range(2008, 2023):
        for month, day in ((3, 21), (3, 22), (9, 21), (9, 22)):
            base = int(dt.datetime(year, month, day, 18, 0, tzinfo=dt.timezone.utc).timestamp() * 1000)
            instants += [base + k * 30_000 for k in range(240)]
    run = pfad.run("minute", *map(str, instants[:2000]))
    assert run.code == 0, run.stderr
    assert run.stdout.split() == [zoneinfo_name(ms) for ms in instants[:2000]]
    run = pfad.run("minute", stdin="\n".join(map(str, instants)))
    assert run.stdout.split() == [zoneinfo_name(ms) for ms in instants]


def test_rejects_non_numbers(pfad):
    run = pfad.run("minute", "12x")
    assert run.code == 3
    assert "12x" in run.stderr
