"""The program document of CONTRACTS.md §2: parsed, validated, normalised.

A program author's mistake must be caught before a single account runs on it, with a
message that names the field and what is wrong
(``rules.max_loss.mode: 'trailing' is not one of static, trailing_equity, …``).
Unknown fields are refused too: a misspelt ``daily_los`` would otherwise silently mean
"no daily limit", which is the costliest kind of typo a firm can make.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from streams.money import MAX_AMOUNT, MAX_VOLUME

DAILY_REFERENCES = (
    "day_start_balance",
    "day_start_equity",
    "day_start_max",
    "initial_balance",
    "intraday_peak_equity",
)
MAX_LOSS_MODES = ("static", "trailing_equity", "trailing_balance", "trailing_eod_balance")
TRADING_DAY_COUNTS = ("position_opened", "profitable_day")

_TOP_FIELDS = {"id", "currency", "initial_balance", "day", "rules", "name", "description"}
_RULE_FIELDS: dict[str, set[str]] = {
    "daily_loss": {"limit", "amount", "of", "reference", "action"},
    "max_loss": {"limit", "amount", "of", "mode", "lock_at"},
    "profit_target": {"target"},
    "min_trading_days": {"days", "count", "min_day_profit"},
    "consistency": {"max_best_day_share", "on_violation"},
    "max_exposure": {"lots", "action"},
    "inactivity": {"days"},
}
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# Bounds of the numbers, so that every amount the engine derives from them (a floor, a
# target: initial × (1 + 10) at most) stays in the range its cents arithmetic holds
# exactly (``money``), and so that no number the platform stores is beyond what JSON
# libraries and PostgreSQL hold (an integer of 10**23 once reached a 500).
_EXACT = "the range the engine's cents arithmetic holds exactly"
MAX_FRACTION = 10.0  # a profit target or lock level, as a fraction of the initial balance
MAX_DAYS = 36_500  # a hundred years: trading days, inactivity days


class ProgramError(ValueError):
    """An invalid program document; ``field`` is the dotted path of the offending field."""

    def __init__(self, field: str, reason: str, source: str = "") -> None:
        message = f"{field}: {reason}" if field else reason
        super().__init__(f"{source}: {message}" if source else message)
        self.field = field
        self.reason = reason
        self.source = source


@dataclass(frozen=True, slots=True)
class DailyLoss:
    limit: float | None
    amount: float | None
    of: str
    reference: str
    action: str


@dataclass(frozen=True, slots=True)
class MaxLoss:
    limit: float | None
    amount: float | None
    of: str
    mode: str
    lock_at: float | None


@dataclass(frozen=True, slots=True)
class MinTradingDays:
    days: int
    count: str
    min_day_profit: float


@dataclass(frozen=True, slots=True)
class Consistency:
    max_best_day_share: float
    on_violation: str


@dataclass(frozen=True, slots=True)
class MaxExposure:
    lots: float
    action: str


@dataclass(frozen=True, slots=True)
class Program:
    """A validated program; rules absent from the document are ``None``."""

    id: str
    currency: str
    initial_balance: float
    timezone: str
    starts_at: str
    daily_loss: DailyLoss | None = None
    max_loss: MaxLoss | None = None
    profit_target: float | None = None
    min_trading_days: MinTradingDays | None = None
    consistency: Consistency | None = None
    max_exposure: MaxExposure | None = None
    inactivity_days: float | None = None


def parse_program(document: bytes | str | Mapping[str, Any]) -> Program:
    """Parse and validate a program document (JSON text or an already decoded mapping)."""
    if isinstance(document, (bytes, str)):
        try:
            document = msgspec.json.decode(document)
        except msgspec.DecodeError as exc:
            raise ProgramError("", f"not valid JSON ({exc})") from None
    data = _mapping(document, "")
    _no_unknown(data, _TOP_FIELDS, "")
    for label in ("name", "description"):  # kept as given: text only
        if label in data:
            _string(data, label, "")
    program_id = _string(data, "id", "")
    currency = _string(data, "currency", "", default="USD")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ProgramError("currency", f"{currency!r} is not a three-letter ISO currency code")
    initial = _number(data, "initial_balance", "", minimum=0.0, exclusive=True,
                      maximum=MAX_AMOUNT, why=_EXACT)
    timezone, starts_at = _day(data.get("day"))
    rules = _mapping(data.get("rules", {}), "rules")
    _no_unknown(rules, set(_RULE_FIELDS), "rules")
    for name, fields in _RULE_FIELDS.items():
        if name in rules:
            _no_unknown(_mapping(rules[name], f"rules.{name}"), fields, f"rules.{name}")
    return Program(
        id=program_id,
        currency=currency,
        initial_balance=initial,
        timezone=timezone,
        starts_at=starts_at,
        daily_loss=_daily_loss(rules.get("daily_loss")),
        max_loss=_max_loss(rules.get("max_loss")),
        profit_target=_profit_target(rules.get("profit_target")),
        min_trading_days=_min_trading_days(rules.get("min_trading_days")),
        consistency=_consistency(rules.get("consistency")),
        max_exposure=_max_exposure(rules.get("max_exposure")),
        inactivity_days=_inactivity(rules.get("inactivity")),
    )


def _day(value: Any) -> tuple[str, str]:
    if value is None:
        return "UTC", "00:00"
    day = _mapping(value, "day")
    _no_unknown(day, {"timezone", "starts_at"}, "day")
    timezone = _string(day, "timezone", "day", default="UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProgramError("day.timezone", f"{timezone!r} is not a known IANA timezone") from None
    starts_at = _string(day, "starts_at", "day", default="00:00")
    if not _HH_MM.match(starts_at):
        raise ProgramError("day.starts_at", f"{starts_at!r} is not a time of day as HH:MM")
    return timezone, starts_at


def _daily_loss(value: Any) -> DailyLoss | None:
    if value is None:
        return None
    path = "rules.daily_loss"
    limit, amount = _limit_or_amount(value, path)
    return DailyLoss(
        limit=limit,
        amount=amount,
        of=_choice(value, "of", path, ("initial_balance", "reference"), "initial_balance"),
        reference=_choice(value, "reference", path, DAILY_REFERENCES, "day_start_balance"),
        action=_choice(value, "action", path, ("fail", "pause"), "fail"),
    )


def _max_loss(value: Any) -> MaxLoss | None:
    if value is None:
        return None
    path = "rules.max_loss"
    limit, amount = _limit_or_amount(value, path)
    lock_at = None
    if "lock_at" in value:
        lock_at = _number(value, "lock_at", path, minimum=0.0, maximum=MAX_FRACTION,
                          why=_EXACT)
    return MaxLoss(
        limit=limit,
        amount=amount,
        of=_choice(value, "of", path, ("initial_balance", "high_water_mark"), "initial_balance"),
        mode=_choice(value, "mode", path, MAX_LOSS_MODES, "static"),
        lock_at=lock_at,
    )


def _profit_target(value: Any) -> float | None:
    if value is None:
        return None
    return _number(value, "target", "rules.profit_target", minimum=0.0, exclusive=True,
                   maximum=MAX_FRACTION, why=_EXACT)


def _min_trading_days(value: Any) -> MinTradingDays | None:
    if value is None:
        return None
    path = "rules.min_trading_days"
    days = value.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ProgramError(f"{path}.days",
                           f"{days!r} is not a whole number of days from 1 to {MAX_DAYS:,}")
    count = _choice(value, "count", path, TRADING_DAY_COUNTS, "position_opened")
    min_day_profit = 0.0
    if count == "profitable_day":
        min_day_profit = _number(value, "min_day_profit", path, minimum=0.0, maximum=1.0)
    elif "min_day_profit" in value:
        raise ProgramError(
            f"{path}.min_day_profit", "only applies with count 'profitable_day'"
        )
    return MinTradingDays(days=days, count=count, min_day_profit=min_day_profit)


def _consistency(value: Any) -> Consistency | None:
    if value is None:
        return None
    path = "rules.consistency"
    share = _number(value, "max_best_day_share", path, minimum=0.0, maximum=1.0, exclusive=True)
    on_violation = _choice(value, "on_violation", path, ("extend", "fail"), "extend")
    return Consistency(max_best_day_share=share, on_violation=on_violation)


def _max_exposure(value: Any) -> MaxExposure | None:
    if value is None:
        return None
    path = "rules.max_exposure"
    lots = _number(value, "lots", path, minimum=0.0, exclusive=True, maximum=MAX_VOLUME)
    return MaxExposure(lots=lots, action=_choice(value, "action", path, ("fail", "warn"), "fail"))


def _inactivity(value: Any) -> float | None:
    if value is None:
        return None
    return _number(value, "days", "rules.inactivity", minimum=0.0, exclusive=True,
                   maximum=MAX_DAYS)


def _limit_or_amount(value: Mapping[str, Any], path: str) -> tuple[float | None, float | None]:
    has_limit, has_amount = "limit" in value, "amount" in value
    if has_limit == has_amount:
        raise ProgramError(path, "give exactly one of 'limit' (a fraction) or 'amount' (money)")
    if has_limit:
        return _number(value, "limit", path, minimum=0.0, maximum=1.0, exclusive=True), None
    return None, _number(value, "amount", path, minimum=0.0, exclusive=True,
                         maximum=MAX_AMOUNT, why=_EXACT)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProgramError(path, f"expected an object, got {_kind(value)}")
    return value


def _no_unknown(value: Mapping[str, Any], allowed: set[str], path: str) -> None:
    for key in value:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            expected = ", ".join(sorted(allowed))
            raise ProgramError(where, f"unknown field (expected one of {expected})")


def _string(value: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    field = f"{path}.{key}" if path else key
    if key not in value:
        if default is None:
            raise ProgramError(field, "is required")
        return default
    text = value[key]
    if not isinstance(text, str) or not text:
        raise ProgramError(field, f"expected a non-empty string, got {_kind(text)}")
    return text


def _number(
    value: Mapping[str, Any],
    key: str,
    path: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive: bool = False,
    why: str = "",
) -> float:
    field = f"{path}.{key}" if path else key
    if key not in value:
        raise ProgramError(field, "is required")
    number = value[key]
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ProgramError(field, f"expected a number, got {_kind(number)}")
    if number != number or number in (float("inf"), float("-inf")):
        raise ProgramError(field, "must be a finite number")
    if minimum is not None and (number <= minimum if exclusive else number < minimum):
        bound = ">" if exclusive else "≥"
        raise ProgramError(field, f"{number!r} must be {bound} {minimum:g}")
    if maximum is not None and number > maximum:
        bound = f"{maximum:,.0f}" if maximum >= 1000 else f"{maximum:g}"
        raise ProgramError(field, f"{number!r} must be ≤ {bound}" + (f" ({why})" if why else ""))
    return float(number)


def _choice(
    value: Mapping[str, Any], key: str, path: str, choices: tuple[str, ...], default: str
) -> str:
    if key not in value:
        return default
    chosen = value[key]
    if chosen not in choices:
        raise ProgramError(f"{path}.{key}", f"{chosen!r} is not one of {', '.join(choices)}")
    return str(chosen)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
