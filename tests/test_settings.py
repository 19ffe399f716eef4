"""The settings object: defaults, overrides, validation, and that it is the only reader
of the environment."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from streams.settings import (
    INSECURE_DEV_SECRET_KEY,
    Settings,
    SettingsError,
    describe_settings,
    load_settings,
    settings_table,
)

REPO = Path(__file__).resolve().parents[1]


def test_defaults_when_the_environment_is_empty(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.database_url == "postgresql://localhost:5432/proptrade"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.redis_prefix == "proptrade:"
    assert settings.kafka_bootstrap == ""
    assert settings.uses_embedded_broker
    assert settings.clickhouse_url == ""
    assert settings.uses_embedded_clickhouse
    assert settings.data_dir == tmp_path.resolve() / "var"
    assert settings.http_host == "127.0.0.1"
    assert settings.http_port == 8000
    assert settings.secret_key == INSECURE_DEV_SECRET_KEY
    assert settings.uses_insecure_secret_key
    assert settings.log_level == "INFO"


def test_constructed_defaults_equal_loaded_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings() == load_settings({})


def test_every_variable_overrides_its_field(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://risk:pw@db.internal:6432/prop",
            "REDIS_URL": "rediss://cache.internal:6380/2",
            "REDIS_PREFIX": "test-7:",
            "KAFKA_BOOTSTRAP": " k1:9092 , k2:9093 ",
            "CLICKHOUSE_URL": "https://ch.internal:8443",
            "ANALYTICS_PORT": "9124",
            "PROPTRADE_DATA_DIR": str(tmp_path / "state"),
            "HTTP_HOST": "0.0.0.0",
            "HTTP_PORT": "9001",
            "SECRET_KEY": "s3cret-" + "x" * 32,
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.database_url == "postgresql://risk:pw@db.internal:6432/prop"
    assert settings.redis_url == "rediss://cache.internal:6380/2"
    assert settings.redis_prefix == "test-7:"
    assert settings.kafka_bootstrap == "k1:9092,k2:9093"
    assert not settings.uses_embedded_broker
    assert settings.clickhouse_url == "https://ch.internal:8443"
    assert not settings.uses_embedded_clickhouse
    assert settings.analytics_port == 9124
    assert settings.data_dir == tmp_path / "state"
    assert settings.http_host == "0.0.0.0"
    assert settings.http_port == 9001
    assert settings.secret_key == "s3cret-" + "x" * 32
    assert not settings.uses_insecure_secret_key
    assert settings.log_level == "DEBUG"


def test_an_empty_variable_counts_as_unset() -> None:
    assert load_settings({"HTTP_PORT": "", "KAFKA_BOOTSTRAP": ""}) == load_settings({})


def test_other_variables_are_ignored() -> None:
    assert load_settings({"PATH": "/bin", "PORT": "x"}) == load_settings({})


def test_none_reads_the_process_environment(monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "9123")
    monkeypatch.setenv("REDIS_PREFIX", "from-env:")
    settings = load_settings()
    assert (settings.http_port, settings.redis_prefix) == (9123, "from-env:")


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("HTTP_PORT", "http", "expected a port number"),
        ("HTTP_PORT", "0", "between 1 and 65535"),
        ("HTTP_PORT", "65536", "between 1 and 65535"),
        ("HTTP_PORT", "-1", "between 1 and 65535"),
        ("DATABASE_URL", "mysql://localhost/prop", "postgresql://"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("KAFKA_BOOTSTRAP", "localhost", "host:port"),
        ("KAFKA_BOOTSTRAP", "k1:9092,:9093", "host:port"),
        ("KAFKA_BOOTSTRAP", "k1:kafka", "port number"),
        ("CLICKHOUSE_URL", "clickhouse://ch:9000", "http://"),
        ("CLICKHOUSE_URL", "http:///db", "no host"),
        ("LOG_LEVEL", "loud", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("PUBLIC_URL", "trade.example", "http://"),
        ("PUBLIC_URL", "https://trade.example/?next=x", "no query"),
        ("PUBLIC_BASE_DOMAIN", "https://platform.example", "domain name"),
        ("TRUSTED_PROXIES", "10.0.0.1, proxy.internal", "'proxy.internal'"),
        ("DEMO_PAYMENTS", "maybe", "expected 1 or 0"),
        ("WS_MAX_CONNECTIONS_PER_USER", "0", "≥ 1"),
        ("WS_MAX_UNAUTHENTICATED_PER_ADDRESS", "-3", "≥ 1"),
        ("WS_MAX_MESSAGES_PER_SECOND", "lots", "whole number"),
    ],
)
def test_a_bad_value_is_reported_with_its_variable(variable: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value})
    assert caught.value.variable == variable
    assert caught.value.value == value
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{variable}={value!r}: ")


def test_errors_do_not_show_a_password() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"DATABASE_URL": "mysql://risk:hunter2@db/prop"})
    assert "hunter2" not in str(caught.value)
    assert "DATABASE_URL" in str(caught.value)


def test_settings_are_frozen_and_hide_the_secret() -> None:
    settings = load_settings({"SECRET_KEY": "hunter2-hunter2-hunter2-hunter2!"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.http_port = 1  # type: ignore[misc]
    assert "hunter2" not in repr(settings)
    assert dataclasses.replace(settings, http_port=1).http_port == 1


def test_every_field_is_declared_with_variable_default_and_doc() -> None:
    specs = describe_settings()
    assert [spec.variable for spec in specs] == [
        "DATABASE_URL",
        "REDIS_URL",
        "REDIS_PREFIX",
        "KAFKA_BOOTSTRAP",
        "KAFKA_TOPIC_PREFIX",
        "FEED_PARTITIONS",
        "CLICKHOUSE_URL",
        "ANALYTICS_PORT",
        "PROPTRADE_DATA_DIR",
        "BROKER_RETAIN_BATCHES",
        "HTTP_HOST",
        "HTTP_PORT",
        "SMTP_URL",
        "MAIL_FROM",
        "SECRET_KEY",
        "LOG_LEVEL",
        "PUBLIC_URL",
        "PUBLIC_BASE_DOMAIN",
        "TRUSTED_PROXIES",
        "DEMO_PAYMENTS",
        "WS_MAX_CONNECTIONS_PER_USER",
        "WS_MAX_UNAUTHENTICATED_PER_ADDRESS",
        "WS_MAX_MESSAGES_PER_SECOND",
        "UPLOADS_S3_ENDPOINT",
        "UPLOADS_S3_BUCKET",
        "UPLOADS_S3_REGION",
        "UPLOADS_S3_ACCESS_KEY",
        "UPLOADS_S3_SECRET_KEY",
    ]
    assert len(specs) == len(dataclasses.fields(Settings))
    assert all(spec.doc.endswith(".") for spec in specs)


def test_readme_documents_the_settings_as_declared() -> None:
    # Regenerate with: python -c "from streams.settings import settings_table as t; print(t())"
    assert settings_table() in (REPO / "README.md").read_text()


def test_nothing_else_reads_the_environment() -> None:
    reads = re.compile(r"\bos\.environ\b|\bgetenv\b|\bfrom os import\b.*\benviron\b")
    offenders = [
        str(path.relative_to(REPO))
        for package in ("streams", "gateway", "storage", "analytics")
        for path in sorted((REPO / package).rglob("*.py"))
        if path.name != "settings.py" and reads.search(path.read_text())
    ]
    assert offenders == [], "read settings through streams.settings.load_settings() instead"


def test_security_settings_are_parsed_and_default_to_trusting_nobody() -> None:
    defaults = load_settings({})
    assert defaults.trusted_proxies == ()
    assert defaults.public_base_domain == "" and defaults.public_url == ""
    assert defaults.default_firm_url == "http://localhost:8000"
    assert defaults.demo_payments is None  # unset: off, except under `proptrade up`
    settings = load_settings({
        "TRUSTED_PROXIES": " 10.0.0.7 , 172.16.0.0/12,::1 ", "PUBLIC_URL": "https://trade.example/",
        "PUBLIC_BASE_DOMAIN": "Platform.Example.", "DEMO_PAYMENTS": "1", "HTTP_PORT": "9000"})
    assert settings.trusted_proxies == ("10.0.0.7/32", "172.16.0.0/12", "::1/128")
    assert settings.default_firm_url == "https://trade.example"
    assert settings.public_base_domain == "platform.example"
    assert settings.demo_payments is True
    assert load_settings({"HTTP_PORT": "9000"}).default_firm_url == "http://localhost:9000"


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("", False), ("::", False),
    ("192.168.1.10", False), ("gateway.internal", False)])
def test_the_development_key_is_refused_off_loopback(host: str, loopback: bool) -> None:
    insecure = load_settings({"HTTP_HOST": host}) if host else Settings(http_host="")
    assert insecure.listens_on_loopback_only is loopback
    assert (insecure.exposed_insecure_key is None) is loopback
    if not loopback:
        assert "SECRET_KEY" in str(insecure.exposed_insecure_key)
    keyed = dataclasses.replace(insecure, secret_key="a-real-secret-of-some-length-32-b")
    assert keyed.exposed_insecure_key is None


def test_demo_payments_tells_unset_from_off() -> None:
    # `proptrade up` turns an unset DEMO_PAYMENTS on; a 0 written out stays off.
    assert load_settings({}).demo_payments is None
    assert load_settings({"DEMO_PAYMENTS": ""}).demo_payments is None
    assert load_settings({"DEMO_PAYMENTS": "0"}).demo_payments is False
    assert load_settings({"DEMO_PAYMENTS": "off"}).demo_payments is False
    assert load_settings({"DEMO_PAYMENTS": "1"}).demo_payments is True


def test_a_short_secret_key_is_refused_without_showing_it() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"SECRET_KEY": "hunter2-is-a-fine-secret"})  # 24 bytes
    assert caught.value.variable == "SECRET_KEY"
    assert "at least 32 bytes" in caught.value.reason
    assert "hunter2" not in str(caught.value) and "24 bytes" in str(caught.value)
    assert load_settings({"SECRET_KEY": "k" * 32}).secret_key == "k" * 32
    assert load_settings({"SECRET_KEY": "\u00e9" * 16}).secret_key == "\u00e9" * 16  # bytes
    # Built by hand (dataclasses.replace skips the parser), the gateway's check says so.
    short = dataclasses.replace(load_settings({}), secret_key="short")
    assert "at least 32 bytes" in str(short.exposed_insecure_key)


@pytest.mark.parametrize("environ", [
    {"TRUSTED_PROXIES": "127.0.0.1"},  # nginx on this machine, the gateway on loopback
    {"PUBLIC_BASE_DOMAIN": "platform.example"},
    {"PUBLIC_URL": "https://trade.example"},
    {"PUBLIC_URL": "http://192.0.2.10:8000"},
])
def test_the_development_key_is_refused_behind_a_proxy_or_a_public_name(
        environ: dict[str, str]) -> None:
    # Listening on loopback proves nothing when a proxy or a public name brings other
    # machines in.
    settings = load_settings(environ)
    assert settings.listens_on_loopback_only
    refusal = settings.exposed_insecure_key
    assert refusal is not None and "SECRET_KEY" in refusal
    [variable] = environ
    assert variable in refusal
    keyed = load_settings({**environ, "SECRET_KEY": "a-real-secret-of-some-length-32-b"})
    assert keyed.exposed_insecure_key is None


@pytest.mark.parametrize("url", ["http://localhost:8000", "http://127.0.0.1:9000",
                                 "http://[::1]:8000"])
def test_a_loopback_public_url_keeps_the_development_key_usable(url: str) -> None:
    assert load_settings({"PUBLIC_URL": url}).exposed_insecure_key is None
