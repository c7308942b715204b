"""pfad config: every effective setting with its source, secrets never shown."""
from __future__ import annotations


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    """KEY -> (VALUE, SOURCE) of pfad config's table (sources are 'default', 'file' or 'env VAR')."""
    out = {}
    for line in stdout.splitlines()[1:]:
        key, value, rest = line.split(None, 2)
        source = " ".join(rest.split()[:2]) if rest.startswith("env ") else rest.split()[0]
        out[key] = (value, source)
    return out


def test_config_shows_sources_and_masks_secrets(pfad, tmp_path):
    config = tmp_path / "pfad.toml"
    config.write_text(
        '[dashboard]\nport = 9191\ntoken = "example-file-token"\n'
        '[clickhouse]\npassword = "example-file-password"\n'
        '[kafka]\n"sasl.password" = "example-kafka-password"\n"client.rack" = "r1"\n'
        '[schedule]\nretry_delay_s = 1.5\n')
    env = {"PFAD_DASHBOARD_TOKEN": "example-env-token", "PFAD_KAFKA_BOOTSTRAP": "broker:9093",
           "AWS_SECRET_ACCESS_KEY": "example-env-secret-key", "PFAD_DASHBOARD_READ_TOKEN": ""}
    run = pfad.run("config", "--config", str(config), env=env)
    assert run.code == 0, run.stderr
    table = rows(run.stdout)
    assert table["dashboard.port"] == ("9191", "file")
    assert table["dashboard.threads"] == ("1", "default")
    assert table["dashboard.token"] == ("****", "env PFAD_DASHBOARD_TOKEN")
    assert table["dashboard.read_token"] == ('""', "default"), "an empty variable is unset"
    assert table["clickhouse.password"] == ("****", "file")
    assert table["storage.secret_key"] == ("****", "env AWS_SECRET_ACCESS_KEY")
    assert table["produce.bootstrap"] == ("broker:9093", "env PFAD_KAFKA_BOOTSTRAP")
    assert table["schedule.bootstrap"] == ("broker:9093", "env PFAD_KAFKA_BOOTSTRAP")
    assert table["schedule.retry_delay_s"] == ("1.5", "file")
    assert table["kafka.sasl.password"] == ("****", "file")
    assert table["kafka.client.rack"] == ("r1", "file")
    assert table["analyze.engine"] == ("local", "default")
    for secret in ("example-file-token", "example-env-token", "example-file-password", "example-kafka-password",
                   "example-env-secret-key"):
        assert secret not in run.stdout and secret not in run.stderr, secret


def test_config_refuses_an_invalid_setting(pfad, tmp_path):
    config = tmp_path / "pfad.toml"
    config.write_text("[dashboard]\nport = 70000\n")
    run = pfad.run("config", "--config", str(config))
    assert run.code == 3, run.stderr
    assert "'dashboard.port' must be from 0 to 65535" in run.stderr
    run = pfad.run("config", "--config", str(tmp_path / "missing.toml"))
    assert run.code == 4, run.stderr
