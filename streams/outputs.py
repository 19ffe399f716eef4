"""What the engine answers (CONTRACTS.md §3): msgspec Structs encoded as JSON Lines.

Money is in account-currency units (cents / 100), timestamps ISO 8601 UTC with ``Z``.
"""

from __future__ import annotations

import msgspec


class Breach(msgspec.Struct, tag="breach", tag_field="type", omit_defaults=True, kw_only=True):
    """A rule broken. ``floor`` for the floor rules; ``lots``/``max_lots`` for exposure."""

    account: str
    rule: str
    ts: str
    equity: float
    floor: float | None = None
    action: str
    lots: float | None = None
    max_lots: float | None = None


class Objective(msgspec.Struct, tag="objective", tag_field="type"):
    """An objective became met (it may become unmet again, e.g. profit target on a new trade)."""

    account: str
    objective: str
    ts: str


class Passed(msgspec.Struct, tag="passed", tag_field="type"):
    account: str
    ts: str


class Resumed(msgspec.Struct, tag="resumed", tag_field="type"):
    """A paused account is active again at the start of the next trading day."""

    account: str
    ts: str


class State(msgspec.Struct, tag="state", tag_field="type"):
    account: str
    status: str
    balance: float
    equity: float
    daily_floor: float | None
    max_loss_floor: float | None
    trading_days: int
    open_positions: int


Output = Breach | Objective | Passed | Resumed | State

_encoder = msgspec.json.Encoder()


def encode_line(output: Output) -> bytes:
    return _encoder.encode(output)
