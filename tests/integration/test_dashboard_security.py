"""`pfad dashboard` over HTTPS (--tls-cert / --tls-key) with real clients (Python's
ssl, curl, pfad's own report client), and its optional read token."""
from __future__ import annotations

import json
import secrets
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from test_dashboard import REPORT, Dashboard
from tls_util import make_ca, make_server_cert


@pytest.fixture
def tls(tmp_path):
    return make_server_cert(tmp_path / "tls")


def trusting(ca) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def test_https_serves_the_api_to_a_client_that_trusts_the_ca(pfad, tmp_path, tls):
    d = Dashboard(pfad, tmp_path / "r.db", "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
                  context=trusting(tls.ca))
    try:
        assert d.call("POST", "/report", REPORT) == (200, None)
        assert d.call("GET", "/report") == (200, REPORT)
        assert d.call("GET", "/health")[1]["reports_count"] == 1
        with urllib.request.urlopen(d.base + "/", context=d.context) as res:
            assert '<canvas id="bars"' in res.read().decode()
    finally:
        assert d.stop() == 0
    assert "https://127.0.0.1" in d.proc.stderr.read()


def test_https_with_curl_and_untrusted_or_plain_clients_fail(pfad, tmp_path, tls):
    d = Dashboard(pfad, tmp_path / "r.db", "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
                  context=trusting(tls.ca))
    try:
        ok = subprocess.run(["curl", "-sS", "--cacert", str(tls.ca), "-X", "POST", "-H",
                             "Content-Type: application/json", "--data", json.dumps(REPORT), d.base + "/report"],
                            capture_output=True, text=True, timeout=30)
        assert ok.returncode == 0, ok.stderr
        got = subprocess.run(["curl", "-sS", "--cacert", str(tls.ca), d.base + "/report"],
                             capture_output=True, text=True, timeout=30)
        assert json.loads(got.stdout) == REPORT
        # Another CA's client does not trust it.
        other_ca, _ = make_ca(tmp_path / "other", "another CA")
        with pytest.raises(urllib.error.URLError) as refused:
            urllib.request.urlopen(d.base + "/report", context=trusting(other_ca), timeout=10)
        assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
        untrusted = subprocess.run(["curl", "-sS", d.base + "/report"], capture_output=True, text=True, timeout=30)
        assert untrusted.returncode == 60, untrusted.stderr  # curl: peer certificate cannot be authenticated
        # Plain HTTP on the HTTPS port gets no HTTP answer.
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{d.port}/report", timeout=10)
        # The server still serves after those failed handshakes.
        assert d.call("GET", "/report") == (200, REPORT)
    finally:
        assert d.stop() == 0


def test_unusable_certificate_or_key_is_a_clear_error(pfad, tmp_path, tls):
    run = pfad.run("dashboard", "--port", "0", "--db", str(tmp_path / "r.db"), "--tls-cert", str(tls.cert),
                   "--tls-key", str(tls.cert), timeout=20)
    assert run.code != 0
    assert str(tls.cert) in run.stderr and "key" in run.stderr
    run = pfad.run("dashboard", "--port", "0", "--db", str(tmp_path / "r.db"), "--tls-cert", str(tls.cert),
                   timeout=20)
    assert run.code != 0 and "both a TLS certificate and its key" in run.stderr


def test_report_and_backfill_post_to_an_https_dashboard_with_a_ca_file(pfad, tmp_path, tls):
    write = secrets.token_urlsafe(24)
    d = Dashboard(pfad, tmp_path / "r.db", "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
                  context=trusting(tls.ca), env={"PFAD_DASHBOARD_TOKEN": write})
    try:
        stored = tmp_path / "2025-01-15_10-00.json"
        stored.write_text(json.dumps(REPORT))
        env = {"PFAD_DASHBOARD_TOKEN": write}
        untrusted = pfad.run("report", str(stored), "--dashboard", d.base, env=env, timeout=60)
        assert untrusted.code != 0
        assert "certificate" in untrusted.stderr, untrusted.stderr
        sent = pfad.run("report", str(stored), "--dashboard", d.base, "--dashboard-ca", str(tls.ca), env=env)
        assert sent.code == 0, sent.stderr
        assert d.call("GET", "/report") == (200, REPORT)
        # The ETAR path (report and run outcomes), CA from the environment.
        minutes = tmp_path / "minutes"
        gen = pfad.run("gen", str(minutes), "--rows", "500", "--minute", "2025-01-15 11:00", "--seed", "3")
        assert gen.code == 0, gen.stderr
        run = pfad.run("backfill", "--source", str(minutes), "--from", "2025-01-15 11:00", "--to", "2025-01-15 11:00",
                       "--dashboard", d.base, "--state", str(tmp_path / "runs.db"),
                       env={**env, "PFAD_DASHBOARD_CA": str(tls.ca)})
        assert run.code == 0, run.stderr
        status, latest = d.call("GET", "/report")
        assert status == 200 and latest["report"]["total_events"] == 500
    finally:
        assert d.stop() == 0


def test_read_token_guards_every_read_of_data_and_is_never_logged(pfad, tmp_path, tls):
    read, write = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    d = Dashboard(pfad, tmp_path / "r.db", "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
                  context=trusting(tls.ca),
                  env={"PFAD_DASHBOARD_READ_TOKEN": read, "PFAD_DASHBOARD_TOKEN": write, "PFAD_LOG_LEVEL": "trace"})
    bearer = lambda token: {"Authorization": f"Bearer {token}"}  # noqa: E731
    try:
        assert d.call("POST", "/report", REPORT, bearer(read))[0] == 401  # reading is not writing
        assert d.call("POST", "/report", REPORT, bearer(write)) == (200, None)
        for path in ["/report", "/reports", "/runs", "/health", "/pipeline"]:
            assert d.call("GET", path)[0] == 401, path
            assert d.call("GET", path, None, bearer(read[:-1]))[0] == 401, path
            assert d.call("GET", path, None, bearer(read + "x"))[0] == 401, path
            assert d.call("GET", path, None, bearer(read))[0] == 200, path
            assert d.call("GET", path, None, bearer(write))[0] == 200, path  # the write token reads too
        assert d.call("GET", "/report", None, {"Cookie": f"theme=dark; pfad_read_token={read}"}) == (200, REPORT)
        assert d.call("GET", "/report", None, {"Cookie": "pfad_read_token=wrong"})[0] == 401
        # The page and its scripts hold no data and stay open (the page asks for the token).
        for path in ["/", "/app.js", "/pipeline.js", "/chart.js"]:
            with urllib.request.urlopen(d.base + path, context=d.context, timeout=10) as res:
                assert res.status == 200, path
        # The event stream: refused without the token, open with the page's cookie.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(d.base + "/events", context=d.context, timeout=10)
        assert refused.value.code == 401
        received = []

        def listen():
            req = urllib.request.Request(d.base + "/events", headers={"Cookie": f"pfad_read_token={read}"})
            with urllib.request.urlopen(req, context=d.context, timeout=20) as res:
                for raw in res:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data: "):
                        received.append(json.loads(line[6:]))
                        return

        t = threading.Thread(target=listen)
        t.start()
        time.sleep(0.5)
        assert d.call("POST", "/report", REPORT, bearer(write))[0] == 200
        t.join(timeout=10)
        assert received == [REPORT]
    finally:
        assert d.stop() == 0
    logged = d.proc.stdout.read() + d.proc.stderr.read()
    assert "reading needs the read token" in logged and "dashboard on https://" in logged  # the log was on
    assert read not in logged and write not in logged
