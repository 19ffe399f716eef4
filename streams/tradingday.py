"""The trading-day calendar of a program: a timezone and the local time the day starts.

Trading day ``D`` (a proleptic Gregorian ordinal of the local date it starts on) begins at
the first instant whose wall-clock time in the zone is ``D starts_at``. Across DST that is:
- an ambiguous wall time (clocks go back) → its first occurrence;
- a wall time that does not exist (clocks go forward) → the instant the clocks jump.
Everything is event time in microseconds since the epoch; no clock is read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from streams.events import from_micros, to_micros


class TradingCalendar:
    """Maps event time to trading days and back for one (timezone, starts_at)."""

    __slots__ = ("_starts_at", "_tz", "starts_at", "timezone")

    def __init__(self, timezone: str, starts_at: str) -> None:
        self.timezone = timezone
        self.starts_at = starts_at
        self._tz = ZoneInfo(timezone)
        hours, minutes = starts_at.split(":")
        self._starts_at = time(int(hours), int(minutes))

    def day_of(self, micros: int) -> int:
        """The trading day that contains the instant ``micros``."""
        local_date = from_micros(micros).astimezone(self._tz).date()
        day = local_date.toordinal()
        if micros < self.rollover_at(day):
            return day - 1
        if micros >= self.rollover_at(day + 1):  # only with an odd zone; kept for safety
            return day + 1
        return day

    def rollover_at(self, day: int) -> int:
        """The first instant (µs) of trading day ``day``."""
        return _rollover_at(self.timezone, self._starts_at, day)


@lru_cache(maxsize=65536)
def _rollover_at(timezone: str, starts_at: time, day: int) -> int:
    tz = ZoneInfo(timezone)
    wall = datetime.combine(date.fromordinal(day), starts_at)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first <= second:  # normal, or ambiguous: the first occurrence
        return to_micros(first)
    # A wall time inside a DST gap: find the instant the clocks jump past it.
    low, high = second, first
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return to_micros(high.replace(microsecond=0) + timedelta(seconds=1 if high.microsecond else 0))
