"""scripts/check_security.sh, the check `make test` runs: it finds credentials planted in
a git work tree (and passes this repository and placeholders), and it finds a service
listening beyond loopback. The planted secrets are built here at run time, so this file
holds none; the listener beyond loopback lives in a network namespace of its own
(`unshare -n`), so nothing outside this test can reach it."""
from __future__ import annotations

import os
import random
import string
import subprocess
from pathlib import Path

from conftest import ROOT

CHECK = ROOT / "scripts/check_security.sh"


def run_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHECK), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def git_tree(path: Path, files: dict[str, str | bytes]) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for name, content in files.items():
        f = path / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(content if isinstance(content, bytes) else content.encode())
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    return path


def fake(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.choice(alphabet) for _ in range(n))


def test_this_repository_has_no_committed_credentials():
    run = run_check("credentials")
    assert run.returncode == 0, run.stderr


def test_planted_credentials_are_found_by_kind_and_never_printed(tmp_path):
    key = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                         capture_output=True, text=True, check=True).stdout
    password = fake(16)
    key_id = "AKIA" + fake(16, string.ascii_uppercase + string.digits)
    aws_secret = fake(40)
    token = fake(24)
    tree = git_tree(tmp_path / "repo", {
        "deploy/server.key": key,
        "docs/notes.md": "the key we use:\n" + key,
        "config/pfad.toml": f'[clickhouse]\nuser = "pfad"\npassword = "{password}"\n',  # pfad:not-a-secret (built at run time)
        "scripts/env.sh": f"export AWS_ACCESS_KEY_ID={key_id}\nexport PFAD_DASHBOARD_TOKEN={token}\n",
        "conf/aws.ini": f"[default]\naws_secret_access_key = {aws_secret}\n",
        "src/client.py": f'URL = "http://pfad:{password}@127.0.0.1:8123/pfad"\n',
    })
    run = run_check("credentials", str(tree))
    assert run.returncode == 1, run.stderr
    found = set(run.stderr.splitlines())
    for line in ["deploy/server.key: a key or keystore file",
                 "deploy/server.key:1: a private key",
                 "docs/notes.md:2: a private key",
                 "config/pfad.toml:3: a secret assigned a literal value",
                 "scripts/env.sh:1: an AWS access key id",
                 "scripts/env.sh:2: a secret assigned a literal value",
                 "conf/aws.ini:2: an AWS secret access key",
                 "src/client.py:1: a URL with a password"]:
        assert f"committed credential: {line}" in found, (line, run.stderr)
    for secret in [password, key_id, aws_secret, token, "PRIVATE KEY"]:
        assert secret not in run.stdout + run.stderr


def test_placeholders_and_environment_references_pass(tmp_path):
    tree = git_tree(tmp_path / "repo", {
        "README.md": '```toml\n[clickhouse]\npassword = "…"\ntoken = "<your token>"\n```\n',
        "run.sh": 'export PFAD_DASHBOARD_TOKEN="$TOKEN"\ncurl "http://${USER}:${PASS}@host/"\n',
        "src/config.cpp": 'if (auto v = GetEnv("PFAD_CLICKHOUSE_PASSWORD")) c.password = *v;\n',
        "tests/test_x.py": 'env = {"PFAD_CLICKHOUSE_PASSWORD": "wrong-on-purpose"}  # pfad:not-a-secret\n',
    })
    run = run_check("credentials", str(tree))
    assert run.returncode == 0, run.stderr


LISTENER = """
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 0))
s.listen()
open(sys.argv[2], "w").write(str(__import__("os").getpid()))
time.sleep(60)
"""


def listeners_in_namespace(run_dir: Path, bind: str | None) -> subprocess.CompletedProcess:
    """The listeners check in a fresh network namespace, with one service in `run_dir`
    listening on `bind` (none when None)."""
    pidfile = run_dir / "fake" / "fake.pid"
    pidfile.parent.mkdir(parents=True)
    start = ""
    if bind:
        start = (f"python3 -c '{LISTENER}' {bind} {pidfile} & "
                 f"for i in $(seq 100); do [ -s {pidfile} ] && break; sleep 0.1; done; ")
    script = f"ip link set lo up; {start}{CHECK} listeners; rc=$?; kill %1 2>/dev/null; exit $rc"
    return subprocess.run(["unshare", "--net", "bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PFAD_RUN": str(run_dir)})


def test_a_service_listening_beyond_loopback_fails_the_check(tmp_path):
    run = listeners_in_namespace(tmp_path / "run", "0.0.0.0")
    assert run.returncode == 1, run.stderr
    assert "fake/fake" in run.stderr and "0.0.0.0" in run.stderr and "not loopback" in run.stderr


def test_a_service_on_loopback_passes_and_no_service_is_an_error(tmp_path):
    run = listeners_in_namespace(tmp_path / "ok", "127.0.0.1")
    assert run.returncode == 0, run.stderr
    assert "all 1 listening sockets" in run.stderr
    run = listeners_in_namespace(tmp_path / "none", None)
    assert run.returncode != 0
    assert "no service is running" in run.stderr
