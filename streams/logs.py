"""Rate-limited logging: the first line of a kind, then one summary a window.

A part that is down makes the same line over and over: aiokafka logs each failed
connection attempt to a dead broker (about 10,000 lines a minute were seen), a consumer
retrying a write to an unreachable database logs each attempt. :class:`RateLimit` lets the
first ``burst`` lines of a kind through in each window (``window`` seconds, 60 by
default) and holds the rest back; when the window closes, one line says how many were
held back::

    aiokafka.conn WARNING Unable to connect to node with id 1: … (and 312 more like it in
    the last 60 s)

A *kind* is a logger's name, a level and the message's template (``record.msg`` before
its arguments are merged), so ``"Unable to connect to %s"`` about any node is one kind.
The access log (``tornado.access``) is a line per request, not a repeated message: its
successful requests always pass, and its 4xx/5xx lines are a kind per status and request
line (``503 GET /api/v1/programs (10.0.0.7)``), so a client hammering a part that is down
is one line a minute and a count.

:func:`install_rate_limit` puts one shared filter on every handler of the root logger
(the process's own lines and every library's reach it there) and starts a daemon thread
that writes the summaries of windows that closed while nothing else was logged. Every
command calls it once, after ``logging.basicConfig``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["RateLimit", "install_rate_limit"]

WINDOW = 60.0  # s
BURST = 10  # lines of a kind let through in each window (a flood is thousands)
MAX_KINDS = 10_000  # kinds remembered at once (the oldest windows are summarised first)
_SUMMARY = "_rate_limit_summary"
_DECIDED = "_rate_limit_pass"


@dataclass
class _Kind:
    started: float  # when the window opened (monotonic)
    shown: int = 0
    held: int = 0
    example: logging.LogRecord | None = None  # the first line held back


class RateLimit(logging.Filter):
    """A logging filter: at most ``burst`` lines of a kind per ``window`` seconds, and a
    summary of the rest. One instance may sit on several handlers: a record is judged
    once (the decision travels with it)."""

    def __init__(self, window: float = WINDOW, burst: int = BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        if window <= 0 or burst < 1:
            raise ValueError(f"window {window!r} s and burst {burst!r}: expected a "
                             "positive window and a burst of at least 1")
        self.window = window
        self.burst = burst
        self.clock = clock
        self.kinds: dict[tuple[Any, ...], _Kind] = {}
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, _DECIDED, None)
        if decided is not None:
            return bool(decided)
        if getattr(record, _SUMMARY, False):
            record.__dict__[_DECIDED] = True
            return True
        key = kind_of(record)
        if key is None:
            record.__dict__[_DECIDED] = True
            return True
        now = self.clock()
        closed: list[logging.LogRecord] = []
        with self.lock:
            kind = self.kinds.get(key)
            if kind is not None and now - kind.started >= self.window:
                summary = self._summary(kind, now)
                if summary is not None:
                    closed.append(summary)
                kind = None
            if kind is None:
                if len(self.kinds) >= MAX_KINDS:
                    closed += self._expire(now, everything=True)
                kind = self.kinds[key] = _Kind(now)
            if kind.shown < self.burst:
                kind.shown += 1
                passed = True
            else:
                kind.held += 1
                if kind.example is None:
                    kind.example = record
                passed = False
        for summary in closed:
            _emit(summary)
        record.__dict__[_DECIDED] = passed
        return passed

    def flush(self) -> int:
        """Write the summaries of the windows that closed; returns how many."""
        with self.lock:
            closed = self._expire(self.clock(), everything=False)
        for summary in closed:
            _emit(summary)
        return len(closed)

    def _expire(self, now: float, everything: bool) -> list[logging.LogRecord]:
        closed = []
        for key, kind in list(self.kinds.items()):
            if everything or now - kind.started >= self.window:
                del self.kinds[key]
                summary = self._summary(kind, now)
                if summary is not None:
                    closed.append(summary)
        return closed

    def _summary(self, kind: _Kind, now: float) -> logging.LogRecord | None:
        example = kind.example
        if example is None or kind.held == 0:
            return None
        try:
            text = example.getMessage()
        except Exception:  # a bad format is the logging module's to report, not ours
            text = str(example.msg)
        seconds = min(now - kind.started, self.window)
        summary = logging.LogRecord(
            example.name, example.levelno, example.pathname, example.lineno,
            "%s (and %d more like it in the last %.0f s)", (text, kind.held, seconds),
            None, example.funcName)
        summary.__dict__[_SUMMARY] = True
        return summary


ACCESS_LOG = "tornado.access"


def kind_of(record: logging.LogRecord) -> tuple[Any, ...] | None:
    """The kind a record is counted under (None: never held back)."""
    if record.name == ACCESS_LOG:
        if record.levelno < logging.WARNING:
            return None  # a request served: the access log keeps every one
        args = record.args if isinstance(record.args, tuple) else ()
        return (record.name, record.levelno, str(record.msg), *args[:2])
    return (record.name, record.levelno, str(record.msg))


def _emit(record: logging.LogRecord) -> None:
    logging.getLogger(record.name).handle(record)


_installed: RateLimit | None = None
_install_lock = threading.Lock()


def install_rate_limit(window: float = WINDOW, burst: int = BURST,
                       flush_every: float = 5.0) -> RateLimit:
    """Rate-limit every line this process logs: one :class:`RateLimit` on each handler
    of the root logger (call after ``logging.basicConfig``), and a daemon thread writing
    the summaries of closed windows every ``flush_every`` seconds. Calling it again adds
    the filter to handlers added since and returns the same instance."""
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = RateLimit(window, burst)
            limit = _installed

            def flush_forever() -> None:
                while True:
                    time.sleep(flush_every)
                    try:
                        limit.flush()
                    except Exception:  # never let the flusher die
                        pass

            threading.Thread(target=flush_forever, name="log-rate-limit",
                             daemon=True).start()
        handlers = logging.getLogger().handlers
        if not handlers:
            logging.basicConfig()
            handlers = logging.getLogger().handlers
        for handler in handlers:
            if _installed not in handler.filters:
                handler.addFilter(_installed)
        return _installed


def setup(level: str | int = logging.INFO) -> RateLimit:
    """A command's logging: timestamped lines at ``level`` on stderr, rate-limited
    (:func:`install_rate_limit`), so that a part that is away (aiokafka retrying a dead
    broker thousands of times a minute) costs a line a kind, not a flood."""
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return install_rate_limit()
