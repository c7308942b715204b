"""Chaos: parts of the pipeline fail while the others work, and nothing is lost.

- the dashboard is down while the schedule posts: reports are kept, retried with
  backoff, and shown once it is back (also across a restart of the scheduler);
- the local sink's filesystem fills up under the ingester: one clear error, no
  offsets committed for unwritten events, and it resumes when space returns;
- the Kafka broker restarts while `pfad produce` and `pfad ingest` run: every
  produced event lands exactly once.
(MinIO down for 30 s: test_ingest.py's test_a_minio_outage_is_waited_out_and_nothing_is_lost.)
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import LoggedProcess, PrivateService, free_port, wait_for_log
from kafka_util import (START, Ingester, assert_exactly_once, common_args, consume_raw, decode, kafka_envs, produced,
                        stored, wait_for_rows)
from test_dashboard import Dashboard

MINUTES = ["2025-01-15_10-00", "2025-01-15_10-01", "2025-01-15_10-02"]


def generate_minutes(pfad, directory, rows: int = 2000) -> None:
    run = pfad.run("gen", str(directory), "--rows", str(rows), "--minute", "2025-01-15 10:00", "--minutes", "3",
                   "--seed", "5")
    assert run.code == 0, run.stderr


def reports_shown(dashboard: Dashboard) -> dict[str, int]:
    """file_name -> total_events of the minute reports in the dashboard's history."""
    status, body = dashboard.call("GET", "/reports?limit=100")
    assert status == 200, body
    reports = [r["report"]["report"] for r in body["reports"]]
    return {r["file_name"].removesuffix(".json"): r["total_events"] for r in reports if isinstance(r, dict)}


@pytest.mark.tsan
def test_reports_posted_while_the_dashboard_is_down_are_shown_once_it_is_back(pfad, tmp_path):
    generate_minutes(pfad, tmp_path / "minutes")
    port = free_port()
    backfill = LoggedProcess([pfad.binary, "backfill", "--source", tmp_path / "minutes", "--from", "2025-01-15 10:00",
                              "--to", "2025-01-15 10:02", "--dashboard", f"http://127.0.0.1:{port}", "--state",
                              tmp_path / "runs.db", "--report-wait", "300"], pfad.env, tmp_path / "backfill.log")
    try:
        wait_for_log(backfill, "dashboard unavailable", timeout=60)
        dashboard = Dashboard(pfad, tmp_path / "reports.db", port=port)
    finally:
        code = backfill.wait(timeout=120)
    try:
        assert code == 0, backfill.output()[-3000:]
        assert [line.split()[-1] for line in backfill.output().splitlines() if line.startswith("2025-01-15_")] == \
            ["success"] * 3, backfill.output()
        assert reports_shown(dashboard) == {m: 2000 for m in MINUTES}
    finally:
        assert dashboard.stop() == 0


def test_undelivered_reports_are_kept_and_sent_by_the_next_backfill(pfad, tmp_path):
    generate_minutes(pfad, tmp_path / "minutes")
    port = free_port()
    state = tmp_path / "runs.db"
    backfill = pfad.run("backfill", "--source", str(tmp_path / "minutes"), "--from", "2025-01-15 10:00", "--to",
                        "2025-01-15 10:02", "--dashboard", f"http://127.0.0.1:{port}", "--state", str(state),
                        "--report-wait", "2", timeout=120)
    assert backfill.code == 4, backfill.stderr
    # 3 reports and the 3 run records
    assert "did not take 6 messages (reports, run records)" in backfill.stderr, backfill.stderr
    assert "sent by the next pfad run or backfill with this --state" in backfill.stderr, backfill.stderr

    dashboard = Dashboard(pfad, tmp_path / "reports.db", port=port)
    try:
        # Another minute, same state: what the first left behind goes first.
        again = pfad.run("backfill", "--source", str(tmp_path / "minutes"), "--from", "2025-01-15 10:03", "--to",
                         "2025-01-15 10:03", "--dashboard", dashboard.base, "--state", str(state), timeout=120)
        assert again.code == 0, again.stderr
        assert reports_shown(dashboard) == {m: 2000 for m in MINUTES}
        _, history = dashboard.call("GET", "/reports?limit=100")
        assert history["reports"][0]["report"] == {"report": "No data for 2025-01-15_10-03."}
        _, runs = dashboard.call("GET", "/runs?limit=100")
        assert sorted(r["minute"] for r in runs["runs"]) == sorted([*MINUTES, "2025-01-15_10-03"])
    finally:
        assert dashboard.stop() == 0


@pytest.fixture
def small_filesystem(tmp_path):
    """A 64 MiB tmpfs of this test's own (we are root in CI and here); the test fails if it cannot be mounted."""
    mount = tmp_path / "small-fs"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs at {mount} for the full-filesystem test (needs root or CAP_SYS_ADMIN): "
                    f"{result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(directory: Path) -> Path:
    """Writes a file until the filesystem has no space left, not even for 512 bytes; returns it."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (1 << 20, 1 << 12, 1 << 9):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    assert shutil.disk_usage(directory).free < 4096
    return filler


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
    finally:
        consumer.close()
    return {tp.partition: max(tp.offset, 0) for tp in tps}  # OFFSET_INVALID (-1001): nothing committed


@pytest.mark.tsan
def test_a_full_local_sink_is_one_clear_error_commits_nothing_unwritten_and_resumes(pfad, kafka_env, registry_env,
                                                                                    topics, small_filesystem,
                                                                                    tmp_path):
    topic, partitions = topics
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    env = kafka_envs(kafka_env, registry_env)
    sink = small_filesystem / "minutes"
    sink.mkdir()
    local = pafs.LocalFileSystem()
    group = f"g-{uuid.uuid4().hex[:8]}"
    ingester = Ingester(pfad, env, common_args(topic, str(sink), group), tmp_path / "ingest.log")
    try:
        first = pfad.run("produce", "--topic", topic, "--count", "5000", "--minutes", "1", "--start-time", START,
                         "--seed", "51", env=env, timeout=120)
        assert first.code == 0, first.stderr
        assert len(wait_for_rows(local, str(sink), 5000, timeout=90, procs=[ingester])) == 5000

        filler = fill(small_filesystem)
        # More of the stored minute (a rewrite) and two new minutes, while nothing can be written.
        more = pfad.run("produce", "--topic", topic, "--count", "20000", "--minutes", "3", "--start-time", START,
                        "--seed", "52", env=env, timeout=120)
        assert more.code == 0, more.stderr
        wait_for_log(ingester, "No space left on device", timeout=90)
        time.sleep(5)  # a few more attempts while it stays full: still running, nothing committed past the stored
        assert ingester.proc.poll() is None, ingester.output()[-3000:]
        expected = produced(kafka_env, topic, partitions, 25000)
        messages = consume_raw(bootstrap, topic, partitions, expected=25000)
        stored_ids = {e for _, e, _ in stored(local, str(sink))}
        committed = committed_offsets(bootstrap, group, topic, partitions)
        uncommitted_but_unstored = [(m.partition(), m.offset()) for m in messages
                                    if m.offset() < committed[m.partition()]
                                    and decode(m.value())["event_id"] not in stored_ids]
        assert not uncommitted_but_unstored, \
            f"offsets committed past {len(uncommitted_but_unstored)} unwritten events, e.g. {uncommitted_but_unstored[:3]}"
        assert len(stored_ids) < 25000, "everything was written: the filesystem was not full"
        errors = [line for line in ingester.output().splitlines() if " error " in line]
        assert len(errors) == 1, errors[:5]  # one error per outage, however many retries
        assert str(sink) in errors[0] and "the filesystem holding it is full: free some space" in errors[0], errors[0]

        filler.unlink()
        rows = wait_for_rows(local, str(sink), 25000, timeout=120, procs=[ingester])
        assert ingester.stop() == 0, ingester.output()[-3000:]
        assert "writing works again" in ingester.output()
        assert_exactly_once(rows, expected)
        assert not [p for p in sink.iterdir() if ".tmp-" in p.name], "temporary files left behind"
    finally:
        if ingester.proc.poll() is None:
            ingester.kill9()


@pytest.fixture
def private_kafka(tmp_path_factory):
    """A Kafka broker of this test's own (its own ports and data), so restarting it disturbs nobody."""
    settings = {"PFAD_KAFKA_PORT": free_port(), "PFAD_KAFKA_CONTROLLER_PORT": free_port(),
                "PFAD_KAFKA_START_TIMEOUT": 300}  # a JVM start on a loaded CI machine
    with PrivateService("kafka", tmp_path_factory.mktemp("kafka-run"), settings) as kafka:
        yield kafka


@pytest.mark.release_only  # producer and ingester reconnects run under ASan in test_produce.py and test_ingest.py; the CI budget
def test_a_broker_restart_during_produce_and_ingest_loses_and_duplicates_nothing(pfad, private_kafka, registry_env,
                                                                                tmp_path):
    kafka_env = private_kafka.exports()
    topic, partitions = "user_interactions", 6  # created by kafka.sh start
    env = kafka_envs(kafka_env, registry_env)
    sink = tmp_path / "minutes"
    sink.mkdir()
    local = pafs.LocalFileSystem()
    ingester = Ingester(pfad, env, common_args(topic, str(sink), f"g-{uuid.uuid4().hex[:8]}"), tmp_path / "ingest.log")
    producer = LoggedProcess([pfad.binary, "produce", "--topic", topic, "--count", "60000", "--minutes", "4",
                              "--start-time", START, "--seed", "61", "--rate", "1500"], {**pfad.env, **env},
                             tmp_path / "produce.log")
    try:
        wait_for_log(ingester, "assigned partitions=", timeout=60)
        time.sleep(5)  # events flowing through both
        assert producer.proc.poll() is None, "the producer finished before the restart: nothing was tested"
        private_kafka.control("stop")
        time.sleep(5)  # both keep running against a broker that is gone
        assert ingester.proc.poll() is None, ingester.output()[-3000:]
        assert producer.proc.poll() is None, producer.output()[-3000:]
        private_kafka.control("start")
        assert producer.wait(timeout=300) == 0, producer.output()[-3000:]
        expected = produced(kafka_env, topic, partitions, 60000)  # each event in the topic once (idempotence)
        rows = wait_for_rows(local, str(sink), 60000, timeout=180, procs=[ingester])
        assert ingester.stop() == 0, ingester.output()[-3000:]
        assert_exactly_once(rows, expected)
    finally:
        for process in (producer, ingester):
            if process.proc.poll() is None:
                process.kill9()
