"""PFAD over the broker's SASL_SSL listener (scripts/services/kafka.sh): SCRAM-SHA-512 logins
over TLS with the CA the script made. produce and ingest work over it, a wrong password or
an untrusted certificate is a clear error within the connect timeout, and secrets come only
from the environment or the config file (never a flag, never a log line)."""
from __future__ import annotations

import json
import uuid

import pytest
from tls_util import make_ca

from kafka_util import START, assert_exactly_once, common_args, produced, stored

WRONG_PASSWORD = "wrong-" + uuid.uuid4().hex  # made at run time: nothing of the kind is committed


def sasl(kafka_sasl_env, registry_env, **overrides) -> dict[str, str]:
    return {**kafka_sasl_env, "PFAD_REGISTRY_URL": registry_env["PFAD_REGISTRY_URL"], **overrides}


@pytest.mark.tsan
def test_produce_and_ingest_over_sasl_ssl(pfad_s3, kafka_env, kafka_sasl_env, registry_env, topics, bucket, s3,
                                          tmp_path):
    topic, partitions = topics
    password = kafka_sasl_env["PFAD_KAFKA_SASL_PASSWORD"]
    # produce takes the login from the config file's [kafka] table...
    config = tmp_path / "pfad.toml"
    config.write_text("[kafka]\n" + "".join(
        f'"{key}" = "{kafka_sasl_env[var]}"\n' for key, var in [
            ("security.protocol", "PFAD_KAFKA_SECURITY_PROTOCOL"), ("sasl.mechanism", "PFAD_KAFKA_SASL_MECHANISM"),
            ("sasl.username", "PFAD_KAFKA_SASL_USERNAME"), ("sasl.password", "PFAD_KAFKA_SASL_PASSWORD"),
            ("ssl.ca.location", "PFAD_KAFKA_SSL_CA_LOCATION")]))
    config.chmod(0o600)
    env = {"PFAD_KAFKA_BOOTSTRAP": kafka_sasl_env["PFAD_KAFKA_BOOTSTRAP"],
           "PFAD_REGISTRY_URL": registry_env["PFAD_REGISTRY_URL"]}
    run = pfad_s3.run("produce", "--config", str(config), "--topic", topic, "--count", "6000", "--minutes", "2",
                      "--start-time", START, "--seed", "5", env=env, timeout=120)
    assert run.code == 0, run.stderr
    expected = produced(kafka_env, topic, partitions, 6000)  # read back over the plaintext listener

    # ...and ingest from the environment.
    ingest = pfad_s3.run("ingest", *common_args(topic, f"s3://{bucket}", f"g-{uuid.uuid4().hex[:8]}"),
                         "--until-idle", "--json", env=sasl(kafka_sasl_env, registry_env), timeout=180)
    assert ingest.code == 0, ingest.stderr
    assert json.loads(ingest.stdout)["events_stored"] == 6000
    assert_exactly_once(stored(s3, bucket), expected)
    for out in (run.stdout, run.stderr, ingest.stdout, ingest.stderr):
        assert password not in out, "the SASL password reached PFAD's output"


def refused_run(pfad, env: dict[str, str], command: str, topic: str, tmp_path):
    """`command` against the SASL_SSL listener with a 20 s connect timeout: it must fail
    within it and store nothing."""
    args = (["produce", "--topic", topic, "--count", "10"] if command == "produce" else
            ["ingest", *common_args(topic, str(tmp_path / "objects"), f"g-{uuid.uuid4().hex[:8]}"), "--until-idle"])
    run = pfad.run(*args, "--connect-timeout", "20", env=env, timeout=60)
    assert run.code != 0
    assert run.seconds < 20, f"took {run.seconds:.1f} s, more than the connect timeout"
    assert "did not let PFAD in" in run.stderr, run.stderr
    assert not (tmp_path / "objects").exists() or not any((tmp_path / "objects").iterdir())
    return run


@pytest.mark.parametrize("command", ["produce", "ingest"])
def test_a_wrong_password_is_a_clear_error_within_the_connect_timeout(pfad_s3, kafka_sasl_env, registry_env, topics,
                                                                      tmp_path, command):
    env = sasl(kafka_sasl_env, registry_env, PFAD_KAFKA_SASL_PASSWORD=WRONG_PASSWORD)
    run = refused_run(pfad_s3, env, command, topics[0], tmp_path)
    assert "SASL authentication error" in run.stderr, run.stderr
    assert "PFAD_KAFKA_SASL_PASSWORD" in run.stderr, run.stderr  # says where the password comes from
    assert WRONG_PASSWORD not in run.stderr + run.stdout


@pytest.mark.parametrize("command", ["produce", "ingest"])
def test_an_untrusted_certificate_is_a_clear_error_within_the_connect_timeout(pfad_s3, kafka_sasl_env, registry_env,
                                                                               topics, tmp_path, command):
    other_ca, _ = make_ca(tmp_path / "other-ca", "Not the broker's CA")
    env = sasl(kafka_sasl_env, registry_env, PFAD_KAFKA_SSL_CA_LOCATION=str(other_ca))
    run = refused_run(pfad_s3, env, command, topics[0], tmp_path)
    assert "SSL handshake failed" in run.stderr and "certificate verify failed" in run.stderr, run.stderr
    assert "PFAD_KAFKA_SSL_CA_LOCATION" in run.stderr, run.stderr


@pytest.mark.parametrize("command", ["produce", "ingest"])
def test_a_secret_on_the_command_line_is_refused_and_not_echoed(pfad_s3, kafka_sasl_env, registry_env, topics,
                                                                tmp_path, command):
    topic, _ = topics
    args = (["produce", "--topic", topic, "--count", "10"] if command == "produce" else
            ["ingest", *common_args(topic, str(tmp_path / "objects"), "g-flag")])
    run = pfad_s3.run(*args, "-X", f"sasl.password={WRONG_PASSWORD}", env=sasl(kafka_sasl_env, registry_env),
                      timeout=60)
    assert run.code != 0
    assert "sasl.password is a secret" in run.stderr, run.stderr
    assert WRONG_PASSWORD not in run.stderr + run.stdout
