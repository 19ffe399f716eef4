"""The supervisor of `proptrade up` against tiny `python -c` children: real processes,
real signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from streams.supervisor import Child, Supervisor, describe_status

# Stops timed to the second: not next to a whole `up` (see tests/test_up.py).
pytestmark = pytest.mark.xdist_group("up")

T = TypeVar("T")
PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def alive(pid: int) -> bool:
    """Running (not a zombie, not gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def start(supervisor: Supervisor, child: Child) -> int:
    pid = supervisor.start(child)
    assert pid is not None
    return pid


def group_members(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                found.append(int(entry.name))
    return found


def run(body: Callable[[Supervisor, list[str]], Awaitable[T]], tmp_path: Path,
        **options: float) -> tuple[T, list[str]]:
    said: list[str] = []

    async def main() -> T:
        supervisor = Supervisor(tmp_path / "logs", said.append, **options)  # type: ignore[arg-type]
        try:
            return await body(supervisor, said)
        finally:
            await supervisor.stop(graceful=2.0, total=3.0)

    return asyncio.run(main()), said


async def until(condition: Callable[[], bool], supervisor: Supervisor,
                seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        supervisor.poll()
        await asyncio.sleep(0.02)


SLEEPER = py("""
    import time
    print("sleeper ready", flush=True)
    while True:
        time.sleep(1)
""")


def test_a_child_logs_to_its_file_and_its_important_lines_are_echoed(tmp_path: Path) -> None:
    async def body(supervisor: Supervisor, said: list[str]) -> bool:
        start(supervisor, Child("talker", py("""
            import sys, time
            print("chatter that stays in the log", flush=True)
            print("talker: ready at 127.0.0.1:1", flush=True)
            print("error: something the operator must see", file=sys.stderr, flush=True)
            time.sleep(30)
        """), ready=re.compile(r"ready at")))
        return await supervisor.wait_ready("talker", 10)

    ready, said = run(body, tmp_path)
    assert ready
    log = (tmp_path / "logs" / "talker.log").read_text()
    assert "---- proptrade up: starting talker at " in log
    assert "chatter that stays in the log" in log and "error: something" in log
    assert "[talker] talker: ready at 127.0.0.1:1" in said
    assert "[talker] error: something the operator must see" in said
    assert not any("chatter" in line for line in said)


def test_wait_ready_is_false_when_the_line_never_comes(tmp_path: Path) -> None:
    async def body(supervisor: Supervisor, said: list[str]) -> bool:
        start(supervisor, Child("mute", SLEEPER, ready=re.compile("never printed")))
        runner = asyncio.create_task(supervisor.run(asyncio.Event()))
        try:
            return await supervisor.wait_ready("mute", 0.5)
        finally:
            runner.cancel()

    ready, _ = run(body, tmp_path)
    assert ready is False


def test_a_dead_child_is_reported_with_its_status_and_started_again(tmp_path: Path) -> None:
    async def body(supervisor: Supervisor, said: list[str]) -> list[int]:
        first = start(supervisor, Child("sleeper", SLEEPER))
        os.kill(first, signal.SIGKILL)
        await until(lambda: (supervisor.pid("sleeper") or first) != first, supervisor)
        second = supervisor.pid("sleeper")
        assert second is not None and alive(second)
        return [first, second]

    (first, second), said = run(body, tmp_path, backoff_start=0.05)
    assert any(line.startswith(f"sleeper (pid {first}): killed by SIGKILL after ")
               and line.endswith("restarting in 0.05 s") for line in said), said
    assert f"sleeper: started again (pid {second})" in said
    assert not alive(first) and not alive(second)
    assert (tmp_path / "logs" / "sleeper.log").read_text().count("starting sleeper") == 2


def test_the_backoff_doubles_up_to_its_ceiling(tmp_path: Path) -> None:
    async def body(supervisor: Supervisor, said: list[str]) -> None:
        start(supervisor, Child("crasher", py("import sys; sys.exit(3)"), essential=False))
        await until(lambda: sum("restarting in" in line for line in said) >= 5, supervisor)

    _, said = run(body, tmp_path, backoff_start=0.02, backoff_max=0.1, give_up_deaths=2)
    delays = [line.rpartition("restarting in ")[2] for line in said if "restarting in" in line]
    assert delays[:5] == ["0.02 s", "0.04 s", "0.08 s", "0.1 s", "0.1 s"]
    assert all("exit status 3" in line for line in said if "restarting in" in line)
    assert not any("giving up" in line for line in said)  # not essential: never gives up


def test_an_essential_child_that_keeps_dying_makes_it_give_up(tmp_path: Path) -> None:
    async def body(supervisor: Supervisor, said: list[str]) -> str | None:
        start(supervisor, Child("crasher", py("import sys; sys.exit(7)")))
        start(supervisor, Child("sleeper", SLEEPER))
        return await asyncio.wait_for(supervisor.run(asyncio.Event()), 10)

    started = time.monotonic()
    reason, said = run(body, tmp_path, backoff_start=0.02, give_up_deaths=4,
                       give_up_window=30.0)
    assert time.monotonic() - started < 8
    assert reason is not None
    assert reason.startswith("crasher died 4 times within 30 s (last: exit status 7); see ")
    assert reason.endswith("crasher.log")
    assert any(line.endswith("exit status 7; giving up") for line in said)


def test_stop_goes_tier_by_tier_and_escalates_to_sigkill(tmp_path: Path) -> None:
    order = tmp_path / "order"
    # A child that says when it is asked to stop, then takes 0.2 s to do so.
    polite = textwrap.dedent(f"""
        import signal, sys, time
        def bye(signum, frame):
            with open({str(order)!r}, "a") as f:
                f.write(sys.argv[1] + "\\n")
            time.sleep(0.2)
            sys.exit(0)
        signal.signal(signal.SIGTERM, bye)
        print("ready", flush=True)
        while True:
            time.sleep(1)
    """)
    stubborn = py("""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # A grandchild in the same process group, also deaf to SIGTERM.
        subprocess.Popen([sys.executable, "-c",
                          "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
                          "print('grandchild', flush=True); time.sleep(60)"])
        print("ready", flush=True)
        time.sleep(60)
    """)
    said: list[str] = []

    async def main() -> tuple[list[int], float]:
        supervisor = Supervisor(tmp_path / "logs", said.append)
        pids = [start(supervisor, Child("broker", [PY, "-c", polite, "broker"], tier=0)),
                start(supervisor, Child("worker", [PY, "-c", polite, "worker"], tier=1)),
                start(supervisor, Child("stuck", stubborn, tier=1)),
                start(supervisor, Child("gateway", [PY, "-c", polite, "gateway"], tier=2))]
        await until(lambda: "\ngrandchild\n" in (tmp_path / "logs" / "stuck.log").read_text()
                    # a line "ready" of the child's own: the log's header line names the
                    # command, whose script says "ready" too
                    and all("ready" in (tmp_path / "logs" / f"{n}.log").read_text().splitlines()
                            for n in ("broker", "worker", "gateway")), supervisor)
        pids += [pid for pid in group_members(pids[2]) if pid != pids[2]]
        started = time.monotonic()
        await supervisor.stop(graceful=3.0, total=4.0)
        return pids, time.monotonic() - started

    pids, took = asyncio.run(main())
    assert len(pids) == 5, pids  # the grandchild was found
    assert order.read_text().split() == ["gateway", "worker", "broker"]
    assert 1.8 <= took < 4.0  # the stubborn one held its tier until its deadline (2 s)
    assert f"stuck (pid {pids[2]}): killed (it did not stop in time)" in said
    assert "gateway: stopped (exit status 0)" in said
    assert not [pid for pid in pids if alive(pid)]


def test_stop_kills_a_sigstopped_child_in_time(tmp_path: Path) -> None:
    async def body(supervisor: Supervisor, said: list[str]) -> tuple[int, float]:
        pid = start(supervisor, Child("frozen", py("""
            import signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("deaf and ready", flush=True)
            time.sleep(60)
        """), ready=re.compile("^deaf and ready")))
        assert await supervisor.wait_ready("frozen", 10)
        os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        await supervisor.stop(graceful=1.0, total=2.0)
        return pid, time.monotonic() - started

    (pid, took), said = run(body, tmp_path)
    assert took < 2.0
    assert not alive(pid)
    assert f"frozen (pid {pid}): killed (it did not stop in time)" in said


def test_a_flood_of_errors_is_echoed_at_a_bounded_rate(tmp_path: Path) -> None:
    async def body(supervisor: Supervisor, said: list[str]) -> None:
        start(supervisor, Child("flood", py("""
            import time
            for i in range(500):
                print(f"error: retry {i}", flush=True)
            time.sleep(60)
        """)))
        log = tmp_path / "logs" / "flood.log"
        await until(lambda: log.read_text().count("\nerror: retry") == 500, supervisor)
        supervisor.poll()

    _, said = run(body, tmp_path)
    echoed = [line for line in said if line.startswith("[flood] error: retry")]
    assert len(echoed) == 5
    assert (tmp_path / "logs" / "flood.log").read_text().count("\nerror: retry") == 500


def test_a_command_that_cannot_run_counts_as_a_death(tmp_path: Path) -> None:
    async def body(supervisor: Supervisor, said: list[str]) -> str | None:
        supervisor.start(Child("ghost", [str(tmp_path / "no-such-program")]))
        return await asyncio.wait_for(supervisor.run(asyncio.Event()), 10)

    reason, said = run(body, tmp_path, backoff_start=0.01, give_up_deaths=3)
    assert reason is not None and reason.startswith("ghost died 3 times")
    assert any("cannot run" in line and "No such file" in line for line in said), said


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: `kill -9` of the supervising process takes its children along."""
    script = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from streams.supervisor import Child, Supervisor
        async def main():
            supervisor = Supervisor(Path({str(tmp_path / 'logs')!r}), print, subreaper=True)
            pid = supervisor.start(Child("sleeper", {SLEEPER!r}))
            print("child", pid, flush=True)
            await supervisor.run(asyncio.Event())
        asyncio.run(main())
    """)
    process = subprocess.Popen([PY, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        child = int(line.split()[1])
        assert alive(child)
        process.kill()
        process.wait(5)
        deadline = time.monotonic() + 5
        while alive(child):
            assert time.monotonic() < deadline, "the child outlived its supervisor"
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.parametrize(("code", "text"), [(0, "exit status 0"), (3, "exit status 3"),
                                            (-9, "killed by SIGKILL"),
                                            (-15, "killed by SIGTERM")])
def test_describe_status(code: int, text: str) -> None:
    assert describe_status(code) == text
