"""`proptrade up` as an operator runs it: a real process, the real embedded broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

# `up` runs a whole platform (six children, two of them brokers) and times its stops: one
# `up` at a time on the machine (with tests/test_restart.py and the supervisor's tests).
pytestmark = pytest.mark.xdist_group("up")

BROKER_LINE = re.compile(r"broker: embedded at (127\.0\.0\.1):(\d+)")


def proptrade_command() -> list[str]:
    script = Path(sys.executable).with_name("proptrade")
    return [str(script)] if script.exists() else [sys.executable, "-m", "streams.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def own_database(tmp_path: Path):
    """Each run of `up` migrates its own database and Redis prefix (dropped after)."""
    name = f"pt_up_{uuid.uuid4().hex[:10]}"
    (tmp_path / "database").write_text(name)
    yield
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect("postgresql://localhost:5432/postgres")
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


def environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    database = (tmp_path / "database").read_text()
    env.update(
        PROPTRADE_DATA_DIR=str(tmp_path / "data"),
        KAFKA_BOOTSTRAP="",
        SECRET_KEY="test-secret-of-at-least-32-bytes",
        PYTHONUNBUFFERED="1",
        DATABASE_URL=f"postgresql://localhost:5432/{database}",
        REDIS_PREFIX=f"test:{database}:",
        HTTP_PORT=str(free_port()),
        ANALYTICS_PORT=str(free_port()),
    )
    env.update(overrides)
    return env


def up(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*proptrade_command(), "up", *args],
        env=environment(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_up_for_two_seconds_starts_the_broker_and_stops_it(tmp_path: Path) -> None:
    started = time.monotonic()
    result = up(tmp_path, "--seconds", "2")
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    found = BROKER_LINE.search(result.stdout)
    assert found, result.stdout
    assert f"data dir: {tmp_path / 'data'}" in result.stdout
    assert "worker: consumer group proptrade-risk," in result.stdout  # stable across runs
    assert "simulator: 2000 accounts" in result.stdout
    assert result.stdout.rstrip().endswith("stopped")
    assert 2 <= elapsed < 30
    assert not accepts(found[1], int(found[2])), "the broker outlived `proptrade up`"
    assert (tmp_path / "data" / "logs" / "broker.log").read_text().strip()
    assert "SECRET_KEY" not in result.stderr


def test_up_warns_about_the_development_secret_key(tmp_path: Path) -> None:
    result = up(tmp_path, "--once", SECRET_KEY="")
    assert result.returncode == 0, result.stderr
    assert "warning: SECRET_KEY is unset" in result.stderr


def test_up_uses_an_external_broker_when_one_is_named(tmp_path: Path) -> None:
    # Nothing listens on port 1: `up` says so, naming the broker, and stops.
    result = up(tmp_path, "--once", KAFKA_BOOTSTRAP="127.0.0.1:1")
    assert result.returncode == 1, result.stderr
    assert "broker: external Kafka at 127.0.0.1:1" in result.stdout
    assert "embedded" not in result.stdout
    assert "error: Kafka at 127.0.0.1:1" in result.stderr


def test_up_refuses_a_bad_setting_naming_the_variable(tmp_path: Path) -> None:
    result = up(tmp_path, "--once", HTTP_PORT="eighty")
    assert result.returncode == 2
    assert "HTTP_PORT='eighty'" in result.stderr
    assert "broker:" not in result.stdout


def start_up(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    """`proptrade up` running until it says ready: the process, what it printed, and the
    gateway's URL."""
    process = subprocess.Popen([*proptrade_command(), "up"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith("proptrade up: ready;"):
                break
        printed = "".join(seen)
        url = re.search(r"gateway: (http://\S+)/api/v1 ", printed)
        assert url, seen
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return process, printed, url[1]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_up_stops_cleanly_on_a_signal(tmp_path: Path, signum: signal.Signals) -> None:
    process, printed, gateway = start_up(tmp_path, environment(tmp_path))
    try:
        found = BROKER_LINE.search(printed)
        assert found, printed
        family = descendants(process.pid)
        assert set(children_of(process.pid)) == set(CHILDREN), family
        with urllib.request.urlopen(f"{gateway}/api/v1/programs", timeout=10) as answer:
            assert json.load(answer)[0]["slug"] == "demo-100k"
        with urllib.request.urlopen(f"{gateway}/readyz", timeout=10) as answer:
            assert json.load(answer)["checks"] == {"postgresql": "ok", "redis": "ok",
                                                   "kafka": "ok"}
        process.send_signal(signum)
        started = time.monotonic()
        stdout, stderr = process.communicate(timeout=15)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert took < 10, stdout
    assert stdout.rstrip().endswith("stopped")
    assert not accepts(found[1], int(found[2]))
    assert_all_gone(family, tmp_path)


def _call(url: str, body: object = None, token: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(
        body).encode(), headers={"Content-Type": "application/json",
                                 **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _staff_token(api: str, tmp_path: Path) -> str:
    """Register a user, verify it from the mail `up` wrote, make it risk staff, log in."""
    return _user_token(api, tmp_path, "desk@firm.test", "risk")


def _user_token(api: str, tmp_path: Path, address: str, role: str | None) -> str:
    """Register ``address``, verify it from the mail `up` wrote, give it ``role``, log in."""
    import mailbox

    import asyncpg

    status, _ = _call(f"{api}/auth/register", {"email": address,
                                               "password": "correct horse battery"})
    assert status == 201
    def mails() -> list:
        box = mailbox.mbox(tmp_path / "data" / "outbox.mbox")
        try:
            return [m for m in box if m["To"] == address]
        finally:
            box.close()

    deadline = time.monotonic() + 20
    while not (messages := mails()):
        assert time.monotonic() < deadline, "no verification mail in the outbox"
        time.sleep(0.2)
    body = messages[-1].get_payload()
    text = body[0].get_payload(decode=True).decode() if isinstance(body, list) else body
    code = re.search(r"enter this code: (\S+)", text)
    assert code, text
    assert _call(f"{api}/auth/verify", {"token": code[1]})[0] == 200
    database = (tmp_path / "database").read_text()

    async def promote() -> None:
        connection = await asyncpg.connect(f"postgresql://localhost:5432/{database}")
        try:
            await connection.execute("UPDATE users SET role = $2 WHERE email = $1", address,
                                     role)
        finally:
            await connection.close()

    if role is not None:
        asyncio.run(promote())
    status, tokens = _call(f"{api}/auth/login", {"email": address,
                                                 "password": "correct horse battery"})
    assert status == 200, tokens
    return tokens["access_token"]  # type: ignore[index]


def test_up_answers_analytics_on_its_live_data(tmp_path: Path) -> None:
    env = environment(tmp_path)
    process, printed, gateway = start_up(tmp_path, env)
    try:
        assert f"served to other processes on http://127.0.0.1:{env['ANALYTICS_PORT']}" \
            in printed
        api = f"{gateway}/api/v1"
        token = _staff_token(api, tmp_path)
        deadline = time.monotonic() + 60
        while True:  # the simulator's firm trades; the sink records it within seconds
            status, cohorts = _call(f"{api}/analytics/cohorts?period=day", token=token)
            # A store slow to answer a probe on a loaded machine is a 503 "try again".
            assert status == 200 or _try_again(status, cohorts), cohorts
            if status == 200 and cohorts \
                    and sum(c["trades"] or 0 for c in cohorts) > 0:  # type: ignore[union-attr]
                break
            assert time.monotonic() < deadline, cohorts
            time.sleep(1)
        assert sum(c["accounts"] for c in cohorts) > 100  # type: ignore[union-attr]
        def held() -> Any:
            status, exposure = _answered(f"{api}/analytics/exposure?top=5", token)
            assert status == 200, exposure
            return exposure if exposure["open_positions"] > 0 else None  # type: ignore[index]

        # the simulator's traders open and close all the time: wait for a moment they hold
        exposure = _wait_for("open positions in the firm's exposure", held, 30)
        assert exposure["symbols"]
        busiest = exposure["most_concentrated"][0]["account"]  # type: ignore[index]
        status, stats = _answered(f"{api}/accounts/{busiest}/statistics", token)
        assert status == 200, stats
        assert stats["total_deals"] >= 1  # type: ignore[index]

        def equity_curve() -> Any:
            status, curve = _call(f"{api}/accounts/{busiest}/equity?points=100", token=token)
            assert status == 200 or _try_again(status, curve), curve
            return curve if status == 200 else None

        # its live numbers reach the history a moment after its deals may have
        curve = _wait_for("the busiest account's equity curve", equity_curve, 30)
        assert 0 < len(curve) <= 100, curve
        # The embedded history is served to other processes (`proptrade import`, gateways).
        from storage.clickhouse import ServerStore

        front = ServerStore(f"http://127.0.0.1:{env['ANALYTICS_PORT']}")
        assert front.query("SELECT count() FROM deals").rows[0][0] > 0
        front.close()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=20)
        assert stdout.rstrip().endswith("stopped")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr


def _try_again(status: int, answer: Any) -> bool:
    """Whether an answer is the gateway's 503 for a store that did not answer in time."""
    return status == 503 and answer["error"]["part"] == "analytics"  # type: ignore[no-any-return]


def _answered(url: str, token: str, seconds: float = 30.0) -> tuple[int, Any]:
    """GET ``url``, asking again while the answer is the store's 503 "try again"."""
    deadline = time.monotonic() + seconds
    while _try_again(*(answer := _call(url, token=token))) and time.monotonic() < deadline:
        time.sleep(1)
    return answer


def _wait_for(what: str, probe: Any, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)
    return found


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0 and stdout.rstrip().endswith("stopped"), stderr


SIGN_IN = re.compile(r"sign in as the demo ([a-z ]+): (\S+) / (\S+)")


def test_up_prints_demo_sign_ins_that_work_and_stay_the_same(tmp_path: Path) -> None:
    import asyncpg

    first = up(tmp_path, "--once")
    assert first.returncode == 0, first.stderr
    sign_ins = SIGN_IN.findall(first.stdout)
    assert [what for what, _, _ in sign_ins] == ["trader", "risk officer", "admin"], \
        first.stdout
    kept = tmp_path / "data" / "demo-sign-ins.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert json.loads(kept.read_text()) == {address: password
                                            for _, address, password in sign_ins}

    # Someone changes the demo trader's password and role in the meantime: the next start
    # puts back what it prints.
    database = (tmp_path / "database").read_text()

    async def tamper() -> None:
        connection = await asyncpg.connect(f"postgresql://localhost:5432/{database}")
        try:
            await connection.execute(
                "UPDATE users SET password_hash = 'x', role = 'admin', disabled_at = now() "
                "WHERE email = $1", sign_ins[0][1])
        finally:
            await connection.close()

    asyncio.run(tamper())
    process, printed, gateway = start_up(tmp_path, environment(tmp_path))
    try:
        assert SIGN_IN.findall(printed) == sign_ins  # the same passwords across restarts
        roles = {"trader": "trader", "risk officer": "risk", "admin": "admin"}
        for what, address, password in sign_ins:
            status, tokens = _call(f"{gateway}/api/v1/auth/login",
                                   {"email": address, "password": password})
            assert status == 200, (what, tokens)
            status, me = _call(f"{gateway}/api/v1/me",
                               token=tokens["access_token"])  # type: ignore[index]
            assert status == 200 and me["role"] == roles[what], me  # type: ignore[index]
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=20)
        assert stdout.rstrip().endswith("stopped")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr


def test_up_keeps_demo_payments_off_when_the_operator_says_so(tmp_path: Path) -> None:
    # DEMO_PAYMENTS=0 written out is the operator's word; only an unset one becomes 1.
    process, printed, gateway = start_up(tmp_path, environment(tmp_path, DEMO_PAYMENTS="0"))
    try:
        assert "payments: demo" not in printed
        assert "payments: manual (the firm's admins settle them; DEMO_PAYMENTS=0)" in printed
        api = f"{gateway}/api/v1"
        token = _user_token(api, tmp_path, "buyer@firm.test", None)
        status, bought = _call(f"{api}/challenges", {"program": "demo-100k"}, token)
        assert status == 201, bought
        status, refused = _call(f"{api}/challenges/{bought['id']}/confirm-payment",  # type: ignore[index]
                                {}, token)
        assert status == 403, refused
        assert refused["error"]["code"] == "payment_settled_by_firm"  # type: ignore[index]
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0


# -- the supervisor: processes, signals, failures -------------------------------------

CHILDREN = ("broker", "analytics", "worker", "demo-broker", "report", "gateway")


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state, ppid, pgrp, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def descendants(root: int) -> dict[int, str]:
    """Every process under ``root`` (pid: command line)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                with contextlib.suppress(OSError):
                    found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(
                        b"\0", b" ").decode(errors="replace")
                    frontier.append(pid)
    return found


def children_of(root: int) -> dict[str, int]:
    """`up`'s children by name (the part each one runs)."""
    named: dict[str, int] = {}
    for pid, command in descendants(root).items():
        if _stat(pid) is None or int(_stat(pid)[1]) != root:  # type: ignore[index]
            continue
        words = command.split()
        if "streams.up" in words:
            named["report"] = pid
        elif "streams.cli" in words:
            named[words[words.index("streams.cli") + 1]] = pid
    return named


def assert_all_gone(family: dict[int, str], tmp_path: Path) -> None:
    """No process of ``family`` is left (dead and reaped or gone), and nothing on the
    machine still runs with this test's data directory in its environment."""
    deadline = time.monotonic() + 2  # the kernel finishes a SIGKILL asynchronously
    while (left := {pid: cmd for pid, cmd in family.items() if _alive(pid)}):
        assert time.monotonic() < deadline, f"left behind: {left}"
        time.sleep(0.05)
    marker = f"PROPTRADE_DATA_DIR={tmp_path / 'data'}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            with contextlib.suppress(OSError):
                environ = (entry / "environ").read_bytes().split(b"\0")
                assert marker not in environ, (entry.name, (entry / "cmdline").read_bytes())


class Up:
    """`proptrade up` running, its output read as it comes (with the time of each line)."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        self.tmp_path = tmp_path
        self.env = environment(tmp_path, **env)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [*proptrade_command(), "up", *args], env=self.env, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True)
        self.lines: list[tuple[float, str]] = []
        self.stderr = ""
        self._readers = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()

    @property
    def stdout(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def wait_for(self, pattern: str, seconds: float = 90, after: float = 0.0) -> float:
        """When a line matching ``pattern`` came (at or after ``after``)."""
        deadline = time.monotonic() + seconds
        while True:
            for at, line in list(self.lines):
                if at >= after and re.search(pattern, line):
                    return at
            exited = self.process.poll() is not None
            assert time.monotonic() < deadline and not exited, (
                f"no line {pattern!r} (`up` exit status {self.process.returncode}):\n"
                f"{self.stdout}\n{self.stderr}")
            time.sleep(0.05)

    def stop(self, signum: signal.Signals = signal.SIGINT) -> float:
        """Send ``signum``; how long `up` took to exit."""
        self.process.send_signal(signum)
        started = time.monotonic()
        self.process.wait(20)
        took = time.monotonic() - started
        for reader in self._readers:
            reader.join(5)
        return took

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for reader in self._readers:
            reader.join(5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _healthy(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def test_up_stops_within_10_s_with_the_broker_killed(tmp_path: Path) -> None:
    up = Up(tmp_path)
    try:
        up.wait_for("ready; press Ctrl", 120)
        family = descendants(up.process.pid)
        os.kill(children_of(up.process.pid)["broker"], signal.SIGKILL)
        took = up.stop(signal.SIGINT)
    finally:
        up.close()
    assert took < 10, up.stdout
    assert up.process.returncode == 0, up.stderr
    assert up.stdout.endswith("proptrade up: stopped")
    assert_all_gone(family, tmp_path)


def test_up_stops_within_10_s_with_a_child_sigstopped(tmp_path: Path) -> None:
    up = Up(tmp_path)
    try:
        up.wait_for("ready; press Ctrl", 120)
        family = descendants(up.process.pid)
        worker = children_of(up.process.pid)["worker"]
        os.kill(worker, signal.SIGSTOP)
        took = up.stop(signal.SIGTERM)
    finally:
        up.close()
    assert took < 10, up.stdout
    assert up.process.returncode == 0, up.stderr
    assert_all_gone(family, tmp_path)


def test_up_stops_within_10_s_while_postgresql_never_answers(tmp_path: Path) -> None:
    # A "database" that accepts connections (the kernel completes them) and never says a
    # word: `up` hangs in its migration until the signal comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        up = Up(tmp_path, DATABASE_URL=f"postgresql://127.0.0.1:{port}/proptrade")
        try:
            up.wait_for(r"\[broker\] proptrade broker: ready at", 60)
            time.sleep(1.5)
            assert "database:" not in up.stdout  # still waiting for PostgreSQL
            family = descendants(up.process.pid)
            assert "broker" in children_of(up.process.pid)
            took = up.stop(signal.SIGINT)
        finally:
            up.close()
    assert took < 10, up.stdout
    assert up.process.returncode == 0, up.stderr
    assert up.stdout.endswith("proptrade up: stopped")
    assert_all_gone(family, tmp_path)


def test_up_restarts_each_killed_child_and_then_stops_within_10_s(tmp_path: Path) -> None:
    up = Up(tmp_path, BROKER_RETAIN_BATCHES="1000000")  # the whole log, to check it after
    recovery: dict[str, float] = {}
    try:
        up.wait_for("ready; press Ctrl", 120)
        up.wait_for(r"^proptrade up: breach: ", 90)  # the worker answers
        port = up.env["HTTP_PORT"]
        for name in ("broker", "worker", "demo-broker", "analytics", "gateway"):
            pid = children_of(up.process.pid)[name]
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            up.wait_for(rf"^proptrade up: {name} \(pid {pid}\): killed by SIGKILL after "
                        r"[\d.]+ s; restarting in [\d.]+ s$", 10, after=killed)
            back = up.wait_for(rf"^proptrade up: {name}: started again \(pid \d+\)$", 10,
                               after=killed)
            if name == "broker":  # back when it says ready again
                back = up.wait_for(r"\[broker\] proptrade broker: ready at", 30, after=killed)
            deadline = time.monotonic() + 60
            while not _healthy(port):  # and the gateway answers (again)
                assert time.monotonic() < deadline, f"the gateway is not back:\n{up.stdout}"
                time.sleep(0.05)
            back = max(back, time.monotonic())
            recovery[name] = back - killed
            assert children_of(up.process.pid)[name] != pid
        up.wait_for(r"^proptrade up: breach: ", 90, after=time.monotonic())  # and goes on
        family = descendants(up.process.pid)
        took = up.stop(signal.SIGINT)
    finally:
        up.close()
    print("\nrecovery after kill -9 (restarted and the gateway answering): "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in recovery.items()))
    print(f"then SIGINT stopped everything in {took:.1f} s")
    assert took < 10, up.stdout
    assert up.process.returncode == 0, up.stderr
    assert_all_gone(family, tmp_path)
    # The answers after all those kills are the engine's answers to the feed the broker
    # kept: none lost, none twice.
    from tests.test_restart import answers_match_the_log

    published, expected = answers_match_the_log(tmp_path, up.env)
    print(f"answers on risk.events: {published} of the {expected} the feed gives")
    assert published > 0


def test_up_gives_up_when_a_child_keeps_dying(tmp_path: Path) -> None:
    up = Up(tmp_path, "--replace", f"worker={sys.executable} -c 'import sys; sys.exit(3)'")
    try:
        up.process.wait(90)
    finally:
        up.close()
    assert up.process.returncode == 1, up.stdout
    assert ("proptrade up: error: worker died 5 times within 60 s (last: exit status 3); "
            f"see {tmp_path / 'data' / 'logs' / 'worker.log'}; stopping everything") \
        in up.stderr, up.stderr
    assert up.stdout.endswith("proptrade up: stopped")
    assert "worker (pid" in up.stdout and "restarting in 4 s" in up.stdout


def test_a_second_sigint_kills_everything_at_once(tmp_path: Path) -> None:
    # A "broker" deaf to SIGTERM that never gets ready: the first SIGINT would wait for it
    # until the SIGKILL deadline; the second one does not wait.
    deaf = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('deaf', flush=True); time.sleep(60)")
    up = Up(tmp_path, "--replace", f"broker={sys.executable} -c {shlex.quote(deaf)}")
    try:
        up.wait_for(r"broker: embedded at", 30)
        deadline = time.monotonic() + 30
        while "\ndeaf\n" not in (tmp_path / "data" / "logs" / "broker.log").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        family = descendants(up.process.pid)
        up.process.send_signal(signal.SIGINT)
        up.wait_for("SIGINT: stopping everything", 10)
        time.sleep(0.5)
        took = up.stop(signal.SIGINT)
    finally:
        up.close()
    assert took < 2, up.stdout
    assert up.process.returncode == 130
    assert "error: SIGINT again: killed everything at once" in up.stderr
    assert_all_gone(family, tmp_path)
