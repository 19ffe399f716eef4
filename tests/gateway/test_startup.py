"""The gateway does not start where the public development ``SECRET_KEY`` would let other
machines mint tokens: ``proptrade gateway`` and ``proptrade up`` refuse, before they open
anything, unless ``HTTP_HOST`` is a loopback address."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from gateway.app import serve
from streams.settings import INSECURE_DEV_SECRET_KEY, SettingsError
from tests.gateway.conftest import Gateway
from tests.test_up import proptrade_command


def run(command: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PROPTRADE_DATA_DIR": str(tmp_path / "data"),
                   # Nothing real to reach: a command that did not refuse fails (or hangs)
                   # on these instead of starting.
                   "DATABASE_URL": "postgresql://127.0.0.1:1/nothing",
                   "KAFKA_BOOTSTRAP": "127.0.0.1:1", **env}
    try:
        return subprocess.run([*proptrade_command(), command, *(
            ["--once"] if command == "up" else [])], env=environment, cwd=tmp_path,
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"proptrade {command} started instead of refusing")


@pytest.mark.parametrize("command", ["gateway", "up"])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_the_development_key_is_refused_off_loopback(command: str, host: str,
                                                     tmp_path: Path) -> None:
    result = run(command, tmp_path, SECRET_KEY="", HTTP_HOST=host)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"error: SECRET_KEY is the public development key and HTTP_HOST={host!r}" \
        in result.stderr
    assert "broker:" not in result.stdout and "database:" not in result.stdout


@pytest.mark.parametrize("command", ["gateway", "up"])
def test_a_real_key_or_a_loopback_listener_gets_past_the_check(command: str,
                                                               tmp_path: Path) -> None:
    # Past the check, each fails on the unreachable services instead: not on the key.
    for env in ({"SECRET_KEY": "a-real-secret-of-at-least-32-bytes", "HTTP_HOST": "0.0.0.0"},
                {"SECRET_KEY": "", "HTTP_HOST": "127.0.0.1"}):
        result = run(command, tmp_path, **env)
        assert result.returncode != 0
        assert "error: SECRET_KEY" not in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["gateway", "up"])
def test_the_development_key_is_refused_behind_a_proxy(command: str, tmp_path: Path) -> None:
    # The usual production layout: the gateway on 127.0.0.1, nginx in front of it.
    result = run(command, tmp_path, SECRET_KEY="", HTTP_HOST="127.0.0.1",
                 TRUSTED_PROXIES="127.0.0.1")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "error: SECRET_KEY is the public development key and TRUSTED_PROXIES" \
        in result.stderr
    assert "broker:" not in result.stdout and "database:" not in result.stdout


@pytest.mark.parametrize("command", ["gateway", "up"])
def test_a_short_key_is_refused_naming_the_variable(command: str, tmp_path: Path) -> None:
    result = run(command, tmp_path, SECRET_KEY="hunter2-hunter2", HTTP_HOST="0.0.0.0")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "error: SECRET_KEY=" in result.stderr and "at least 32 bytes" in result.stderr
    assert "hunter2" not in result.stderr


def test_serve_itself_refuses(gateway: Gateway) -> None:
    assert gateway.services is not None
    services = dataclasses.replace(gateway.services, settings=dataclasses.replace(
        gateway.services.settings, secret_key=INSECURE_DEV_SECRET_KEY))
    with pytest.raises(SettingsError, match="development key"):
        asyncio.run(serve(services, "0.0.0.0", 1, asyncio.Event()))
