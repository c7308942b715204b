"""Fixtures for PFAD's integration tests: the pfad binary and a real MinIO.

MinIO is started by `make test` (scripts/services/minio.sh); these fixtures
never start or mock it. If it is not reachable the tests fail, loudly.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nothing listens on right now (the kernel's choice, not a guess)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_range(count: int, first: int = 19192) -> int:
    """The first of `count` consecutive loopback ports, from `first` on, that nothing holds right now
    (for a service that takes a range, such as a Kafka cluster's nodes)."""
    for start in range(first, 65536 - count, count):
        held = []
        try:
            for port in range(start, start + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return start
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise AssertionError(f"no {count} consecutive free loopback ports from {first} on")


def pytest_configure(config):
    config.addinivalue_line("markers", "partitions(n): partitions of the test's event topic")
    config.addinivalue_line("markers", "tsan: also run by `make test-tsan` against the ThreadSanitizer build")
    config.addinivalue_line(
        "markers",
        "release_only: run against the release build only (scripts/test.sh deselects it for ASan): "
        "long service tests whose C++ paths the ASan run already covers elsewhere",
    )


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


class Pfad:
    """Runs the pfad binary under test (PFAD_BIN, default build/pfad)."""

    def __init__(self, binary: Path, env: dict[str, str]):
        self.binary = binary
        self.env = env

    def run(self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
            timeout: float = 60) -> Run:
        start = time.monotonic()
        proc = subprocess.run([str(self.binary), *args], capture_output=True, text=True,
                              env={**self.env, **(env or {})}, input=stdin, timeout=timeout)
        return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


class LoggedProcess:
    """A long-running process (a pfad command under test), its output kept in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.log_path = log
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([str(a) for a in argv], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.log.close()

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        return code

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for_log(process: LoggedProcess, text: str, timeout: float) -> None:
    """Waits until `text` is in the process's log; fails if it exits first or the time is up."""
    deadline = time.monotonic() + timeout
    while text not in process.output():
        assert process.proc.poll() is None, f"{process.log_path.name}: exited early:\n{process.output()[-3000:]}"
        assert time.monotonic() < deadline, \
            f"no '{text}' in {process.log_path.name} within {timeout} s:\n{process.output()[-3000:]}"
        time.sleep(0.2)


class PrivateService:
    """A service of one test's own, started by scripts/services/<name>.sh with its own state
    directory and ports (PFAD_RUN, PFAD_<X>_PORT...), so stopping it disturbs nobody."""

    def __init__(self, name: str, state: Path, settings: dict[str, int]):
        self.script = ROOT / f"scripts/services/{name}.sh"
        self.env = {**os.environ, "PFAD_RUN": str(state), **{k: str(v) for k, v in settings.items()}}

    def control(self, *action: str) -> str:
        result = subprocess.run([str(self.script), *action], env=self.env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{self.script.name} {' '.join(action)} failed: {result.stderr}"
        return result.stdout

    def exports(self) -> dict[str, str]:
        """The `export` lines of `<script> env`."""
        lines = [line[len("export "):] for line in self.control("env").splitlines() if line.startswith("export ")]
        return {k: v.strip("'\"") for k, v in (line.split("=", 1) for line in lines)}

    def __enter__(self) -> PrivateService:
        try:
            self.control("start")
        except BaseException:
            self.__exit__()  # `with` does not call __exit__ when __enter__ fails: stop what did start
            raise
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run([str(self.script), "stop"], env=self.env, capture_output=True, timeout=180)


def service_env(service: str, required: str) -> dict[str, str]:
    """The `export` lines of scripts/services/<service>.sh env; fails unless the service runs."""
    script = ROOT / f"scripts/services/{service}.sh"
    if subprocess.run([str(script), "status"], capture_output=True).returncode != 0:
        pytest.fail(f"{service} is not running: start it with {script} start (make test does)")
    out = subprocess.run([str(script), "env"], capture_output=True, text=True, check=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'\"")
    if required not in env:
        pytest.fail(f"{script} env did not print {required}")
    return env


@pytest.fixture(scope="session")
def minio_env() -> dict[str, str]:
    env = service_env("minio", "AWS_ENDPOINT_URL")
    url = env["AWS_ENDPOINT_URL"] + "/minio/health/ready"
    try:
        urllib.request.urlopen(url, timeout=5)
    except OSError as e:
        pytest.fail(f"MinIO is not reachable at {url} ({e}); start it with scripts/services/minio.sh start")
    return env


@pytest.fixture(scope="session")
def kafka_env() -> dict[str, str]:
    return service_env("kafka", "PFAD_KAFKA_BOOTSTRAP")


@pytest.fixture(scope="session")
def kafka_sasl_env(kafka_env) -> dict[str, str]:
    """The client settings of the broker's SASL_SSL listener (kafka.sh sasl-env): bootstrap,
    protocol, mechanism, user, password and CA file, as PFAD_KAFKA_* variables."""
    script = ROOT / "scripts/services/kafka.sh"
    run = subprocess.run([str(script), "sasl-env"], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.fail(f"kafka.sh sasl-env failed: {run.stderr.strip()}")
    env = {}
    for line in run.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    for key in ("PFAD_KAFKA_BOOTSTRAP", "PFAD_KAFKA_SASL_PASSWORD", "PFAD_KAFKA_SSL_CA_LOCATION"):
        if not env.get(key):
            pytest.fail(f"kafka.sh sasl-env did not print {key}")
    return env


@pytest.fixture(scope="session")
def registry_env() -> dict[str, str]:
    return service_env("registry", "PFAD_REGISTRY_URL")


@pytest.fixture
def topics(kafka_env, request):
    """A fresh event topic (6 partitions, or the test's `partitions` mark) with its DLQ and windows topics."""
    from kafka_util import create_topics, delete_topics  # kafka_util imports this module

    mark = request.node.get_closest_marker("partitions")
    partitions = mark.args[0] if mark else 6
    name = f"pfad-ingest-{uuid.uuid4().hex[:10]}"
    bootstrap = kafka_env["PFAD_KAFKA_BOOTSTRAP"]
    create_topics(bootstrap, {name: partitions, f"{name}.dlq": 1, f"{name}.windows": 1})
    yield name, partitions
    delete_topics(bootstrap, [name, f"{name}.dlq", f"{name}.windows"])


@pytest.fixture(scope="session")
def clickhouse_env() -> dict[str, str]:
    """scripts/services/clickhouse.sh's URL (http://127.0.0.1:<port>/pfad), user and password; fails unless /ping answers."""
    env = service_env("clickhouse", "PFAD_CLICKHOUSE_URL")
    url = f"http://127.0.0.1:{env['PFAD_CLICKHOUSE_PORT']}/ping"
    try:
        urllib.request.urlopen(url, timeout=5)
    except OSError as e:
        pytest.fail(f"ClickHouse is not reachable at {url} ({e}); start it with scripts/services/clickhouse.sh start")
    return env


@pytest.fixture(scope="session")
def pfad() -> Pfad:
    binary = Path(os.environ.get("PFAD_BIN", ROOT / "build/pfad")).resolve()  # tools may run elsewhere
    if not binary.is_file():
        pytest.fail(f"{binary} does not exist: run `make build` first")
    # No ambient service settings: each test passes what it means to use.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "MINIO_", "PFAD_CONFIG", "PFAD_KAFKA", "PFAD_REGISTRY", "PFAD_ENGINE",
                                 "PFAD_SPARK", "PFAD_CLICKHOUSE", "CLICKHOUSE_"))}
    return Pfad(binary, env)


@pytest.fixture(scope="session")
def pfad_s3(pfad, minio_env) -> Pfad:
    """pfad with MinIO's endpoint and credentials in its environment."""
    return Pfad(pfad.binary, {**pfad.env, **{k: v for k, v in minio_env.items() if k.startswith("AWS_")}})


@pytest.fixture(scope="session")
def spark_remote() -> str:
    """The Spark Connect URL of scripts/services/spark.sh (started by `make test`); fails unless it runs."""
    return service_env("spark", "PFAD_SPARK_REMOTE")["PFAD_SPARK_REMOTE"]


@pytest.fixture(scope="session")
def s3(minio_env) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(access_key=minio_env["AWS_ACCESS_KEY_ID"], secret_key=minio_env["AWS_SECRET_ACCESS_KEY"],
                             endpoint_override=minio_env["AWS_ENDPOINT_URL"], region="us-east-1",
                             allow_bucket_creation=True, allow_bucket_deletion=True)


@pytest.fixture
def bucket(s3) -> str:
    """A fresh, empty bucket for one test, removed afterwards."""
    name = f"pfad-test-{uuid.uuid4().hex[:12]}"
    s3.create_dir(name)
    yield name
    s3.delete_dir(name)


def as_stored(report: dict) -> dict:
    """A report as the dashboard keeps it: its fraud object's investigations go to the entity
    views (docs/DESIGN.md, "Investigations"), the rest is stored as posted."""
    body = report.get("report")
    fraud = body.get("fraud") if isinstance(body, dict) else None
    if not isinstance(fraud, dict) or "investigations" not in fraud:
        return report
    return {**report, "report": {**body, "fraud": {k: v for k, v in fraud.items() if k != "investigations"}}}


def read_json(s3: pafs.S3FileSystem, path: str) -> dict:
    with s3.open_input_stream(path) as f:
        return json.loads(f.read())


def exists(s3: pafs.S3FileSystem, path: str) -> bool:
    return s3.get_file_info(path).type != pafs.FileType.NotFound
