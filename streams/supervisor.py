"""A small supervisor of child processes, for ``proptrade up``.

Each child is started in its own process group with ``PR_SET_PDEATHSIG(SIGKILL)`` (it
dies with the supervisor, even a ``kill -9``'d one); its stdout and stderr go to
``<log dir>/<name>.log`` (appended, a header line per start), and the lines that matter
(by default ready, errors, warnings: :data:`IMPORTANT`) are echoed through ``say``
with the child's name, at most :data:`ECHO_BURST` lines per
:data:`ECHO_WINDOW` seconds per child, so a flood of retries stays in the log file.

A child that exits is reported with its exit status or signal and started again after a
backoff (0.5 s doubling to 10 s, back to 0.5 s once a run lasted
``stable_after`` seconds). An ``essential`` child that dies ``give_up_deaths`` times
within ``give_up_window`` seconds makes :meth:`Supervisor.run` return a reason: the
caller stops everything and exits 1.

:meth:`Supervisor.stop` stops the children tier by tier (the highest ``tier`` first, so
``up`` stops the gateway and the producers, then the consumers, then the broker):
SIGTERM (and SIGCONT, so a stopped child can act on it) to each, a wait, and at the
deadline SIGKILL to every child's whole process group; every child is reaped. With
``subreaper`` the supervisor also adopts its children's orphans
(``PR_SET_CHILD_SUBREAPER``) and kills and reaps those too: no zombie, no orphan.

Why not a supervisor from PyPI:
- supervisor (supervisord) is a daemon with its own configuration file and XML-RPC
  control, meant to outlive the shell that starts it; ``up`` is a foreground command that
  must go away with everything it started on Ctrl+C. It has no parent-death signal and
  its stop is per program, not one deadline for all.
- circus needs ZeroMQ (pyzmq) and a separate arbiter process with its own sockets, and
  its releases have slowed (0.18, 2022); too much machinery for six local children.
- honcho (a Procfile runner) stops everything when any process exits: no restart, no
  backoff, no readiness.
None gives a per-child echo filter, ordered stop with one overall deadline and
PR_SET_PDEATHSIG together; the ~300 lines below do, with the standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import dataclasses
import os
import re
import shlex
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Final

__all__ = [
    "IMPORTANT",
    "Child",
    "Supervisor",
    "describe_status",
    "set_subreaper",
]

#: Lines worth echoing from a child's log: readiness, errors and warnings.
IMPORTANT: Final = re.compile(
    r"\bready\b|error|Error|ERROR|CRITICAL|Traceback|exception|Exception|warning:|WARNING")
ECHO_BURST: Final = 5
ECHO_WINDOW: Final = 30.0
POLL: Final = 0.1

_PR_SET_PDEATHSIG: Final = 1
_PR_SET_CHILD_SUBREAPER: Final = 36
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def set_subreaper() -> bool:
    """Make this process adopt its descendants' orphans (Linux); False if refused."""
    return bool(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def _die_with(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: SIGKILL this child when the thread that forked it dies, and at
    once if that already happened (the race between fork and prctl)."""
    def preexec() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
    return preexec


def _members(groups: set[int]) -> list[int]:
    """The live processes (not zombies) of these process groups."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) in groups:
            found.append(int(entry.name))
    return found


def describe_status(returncode: int) -> str:
    """``exit status 1`` or ``killed by SIGKILL`` (a Popen-style return code)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit status {returncode}"


@dataclasses.dataclass(frozen=True)
class Child:
    """What to run: ``argv`` with ``env`` (None: the supervisor's own environment).

    :param ready: a log line matching it marks the child ready (see ``wait_ready``).
    :param tier: stop order; the highest tier is stopped first.
    :param essential: when it keeps dying, the supervisor gives up (else it is only
        restarted, at the longest backoff).
    :param echo: the lines echoed, with the child's name (without it when ``bare``), at
        most ``echo_burst`` per :data:`ECHO_WINDOW` seconds (the ready line always).
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    ready: re.Pattern[str] | None = None
    tier: int = 0
    essential: bool = True
    echo: re.Pattern[str] = IMPORTANT
    bare: bool = False
    echo_burst: int = ECHO_BURST


@dataclasses.dataclass
class _Running:
    child: Child
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    returncode: int | None = None
    offset: int = 0
    partial: bytes = b""
    ready: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    deaths: deque[float] = dataclasses.field(default_factory=deque)
    backoff: float = 0.0
    restart_at: float | None = None
    echoed: deque[float] = dataclasses.field(default_factory=deque)
    suppressed: int = 0
    starts: int = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.returncode is None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid


class Supervisor:
    """Starts, watches, restarts and stops children (see the module's docstring).

    All methods run in one event loop thread (the thread that forks is the parent
    PR_SET_PDEATHSIG watches: it must live as long as the children)."""

    def __init__(self, log_dir: Path, say: Callable[[str], None], *,
                 backoff_start: float = 0.5, backoff_max: float = 10.0,
                 give_up_deaths: int = 5, give_up_window: float = 60.0,
                 stable_after: float = 30.0, subreaper: bool = False) -> None:
        self.log_dir = log_dir
        self.say = say
        self.backoff_start = backoff_start
        self.backoff_max = backoff_max
        self.give_up_deaths = give_up_deaths
        self.give_up_window = give_up_window
        self.stable_after = stable_after
        self.subreaper = subreaper and set_subreaper()
        self.children: dict[str, _Running] = {}
        self.stopping = False
        self.gave_up: str | None = None
        self._orphans_checked = 0.0

    # -- starting ---------------------------------------------------------------------

    def start(self, child: Child) -> int | None:
        """Start ``child`` (a new name) now; returns its pid (None: it could not be run,
        which counts as a death: reported, and tried again after the backoff)."""
        if child.name in self.children:
            raise ValueError(f"a child named {child.name!r} is already supervised")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        running = _Running(child, self.log_dir / f"{child.name}.log")
        self.children[child.name] = running
        self._spawn(running)
        return running.pid

    def _spawn(self, running: _Running) -> None:
        child = running.child
        log: IO[bytes]
        with open(running.log_path, "ab") as log:
            running.offset = log.tell()
            running.partial = b""
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"---- proptrade up: starting {child.name} at {stamp}: "
                      f"{shlex.join(child.argv)!a}\n".encode())
            log.flush()
            running.offset = log.tell()
            try:
                process = subprocess.Popen(
                    list(child.argv), env=None if child.env is None else dict(child.env),
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    process_group=0, preexec_fn=_die_with(os.getpid()), close_fds=True)
            except OSError as error:
                # As if it had died at once: reported, backed off, and counted.
                running.process = None
                running.returncode = 127
                self._died(running, f"cannot run {child.argv[0]}: {error}")
                return
        running.process, running.returncode = process, None
        running.started = time.monotonic()
        running.ready.clear()
        running.restart_at = None
        running.starts += 1
        if running.starts > 1:
            self.say(f"{child.name}: started again (pid {process.pid})")

    async def wait_ready(self, name: str, timeout: float) -> bool:
        """Whether ``name`` printed its ready line within ``timeout`` seconds."""
        running = self.children[name]
        deadline = time.monotonic() + timeout
        while not running.ready.is_set() and time.monotonic() < deadline:
            self._read_log(running)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(running.ready.wait(), POLL)
        return running.ready.is_set()

    def pid(self, name: str) -> int | None:
        running = self.children.get(name)
        return running.pid if running is not None and running.alive else None

    # -- watching ---------------------------------------------------------------------

    def poll(self) -> str | None:
        """Reap exited children, read their logs, start the ones whose backoff is over;
        returns (and keeps in :attr:`gave_up`) why it gives up when an essential child
        keeps dying."""
        now = time.monotonic()
        for running in list(self.children.values()):
            self._read_log(running)
            if running.alive:
                assert running.process is not None
                code = running.process.poll()
                if code is not None:
                    running.returncode = code
                    self._read_log(running)
                    if self.stopping:
                        self.say(f"{running.child.name}: stopped ({describe_status(code)})")
                    else:
                        self._died(running, describe_status(code))
            elif (running.restart_at is not None and now >= running.restart_at
                  and not self.stopping and self.gave_up is None):
                self._spawn(running)
        self._reap_orphans(kill=False)
        return self.gave_up

    def _died(self, running: _Running, how: str) -> None:
        now = time.monotonic()
        name = running.child.name
        lived = now - running.started if running.started else 0.0
        running.deaths.append(now)
        while running.deaths and now - running.deaths[0] > self.give_up_window:
            running.deaths.popleft()
        pid = f" (pid {running.pid})" if running.pid is not None else ""
        if running.child.essential and len(running.deaths) >= self.give_up_deaths:
            self.gave_up = (f"{name} died {len(running.deaths)} times within "
                            f"{self.give_up_window:g} s (last: {how}); see "
                            f"{running.log_path}")
            self.say(f"{name}{pid}: {how}; giving up")
            return
        if lived >= self.stable_after or running.backoff == 0:
            running.backoff = self.backoff_start
        else:
            running.backoff = min(self.backoff_max, running.backoff * 2)
        running.restart_at = now + running.backoff
        self.say(f"{name}{pid}: {how} after {lived:.1f} s; restarting in "
                 f"{running.backoff:g} s")

    def _read_log(self, running: _Running) -> None:
        try:
            with open(running.log_path, "rb") as log:
                log.seek(running.offset)
                data = log.read(1 << 20)
        except OSError:
            return
        if not data:
            return
        running.offset += len(data)
        lines = (running.partial + data).split(b"\n")
        running.partial = lines.pop()
        for raw in lines:
            line = raw.decode(errors="replace").rstrip()
            child = running.child
            if child.ready is not None and child.ready.search(line):
                running.ready.set()
                self.say(line if child.bare else f"[{child.name}] {line}")  # always
            elif child.echo.search(line):
                self._echo(running, line)

    def _echo(self, running: _Running, line: str) -> None:
        now = time.monotonic()
        while running.echoed and now - running.echoed[0] > ECHO_WINDOW:
            running.echoed.popleft()
        name = running.child.name
        if len(running.echoed) >= running.child.echo_burst:
            running.suppressed += 1
            return
        if running.suppressed:
            self.say(f"[{name}] ({running.suppressed} more line(s) in {running.log_path})")
            running.suppressed = 0
        running.echoed.append(now)
        self.say(line if running.child.bare else f"[{name}] {line}")

    async def run(self, stop: asyncio.Event) -> str | None:
        """Watch the children until ``stop`` is set (None) or an essential child keeps
        dying (the reason)."""
        while not stop.is_set():
            reason = self.poll()
            if reason is not None:
                return reason
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL)
        return None

    # -- stopping ---------------------------------------------------------------------

    async def stop(self, graceful: float = 8.0, total: float = 9.5) -> None:
        """Stop every child, highest tier first: SIGTERM, then SIGKILL of every group
        once ``graceful`` seconds have passed; returns once all are reaped (at most
        ``total`` seconds, whatever the state of the children)."""
        self.stopping = True
        started = time.monotonic()
        tiers = sorted({r.child.tier for r in self.children.values()}, reverse=True)
        for index, tier in enumerate(tiers):
            members = [r for r in self.children.values() if r.child.tier == tier and r.alive]
            for running in members:
                self._signal(running, signal.SIGTERM)
                self._signal(running, signal.SIGCONT, group=True)
            # Leave the later tiers (the broker last) up to 2 s each of the graceful time.
            reserve = min(2.0, graceful / len(tiers))
            deadline = started + graceful - (len(tiers) - 1 - index) * reserve
            while any(r.alive for r in members) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                self.poll()
        self.kill_all()
        groups = {r.pid for r in self.children.values() if r.pid is not None}
        while time.monotonic() < started + total:
            self.poll()
            self._reap_orphans(kill=True)
            if not any(r.alive for r in self.children.values()) and not _members(groups):
                break
            await asyncio.sleep(0.02)
        for running in self.children.values():
            if running.alive:  # cannot happen short of a process stuck in the kernel
                self.say(f"{running.child.name} (pid {running.pid}) did not die")

    def kill_all(self) -> None:
        """SIGKILL every child's process group (what is left of it), now."""
        self.stopping = True
        for running in self.children.values():
            if running.alive:
                self.say(f"{running.child.name} (pid {running.pid}): killed (it did not "
                         "stop in time)")
            self._signal(running, signal.SIGKILL, group=True)
        for running in self.children.values():
            if running.alive:
                assert running.process is not None
                with contextlib.suppress(subprocess.TimeoutExpired):
                    running.returncode = running.process.wait(0.5)
        self._reap_orphans(kill=True)

    def _signal(self, running: _Running, signum: int, group: bool = False) -> None:
        pid = running.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, signum)  # the child leads its group: pgid == pid
            elif running.alive:
                os.kill(pid, signum)

    def _reap_orphans(self, kill: bool) -> None:
        """Processes adopted as subreaper (orphans of our children): reap the dead ones,
        and with ``kill`` kill the live ones first."""
        if not self.subreaper:
            return
        now = time.monotonic()
        if not kill and now - self._orphans_checked < 2.0:
            return  # zombies may wait a little; /proc is not scanned ten times a second
        self._orphans_checked = now
        known = {r.pid for r in self.children.values() if r.alive}
        me = str(os.getpid())
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in known:
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            if len(fields) < 2 or fields[1] != me:
                continue
            pid = int(entry.name)
            if kill and fields[0] != "Z":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0 if kill else os.WNOHANG)
