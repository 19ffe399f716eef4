"""Numbers and times as MetaTrader prints them.

Numbers: spaces (normal, non-breaking, narrow) and, in English, commas separate thousands
("3 000.00", "1,234.56"); languages that write a decimal comma ("1 234,56") say so in
their :class:`~analytics.imports.labels.Language`. A number keeps the digits it was printed
with: ``"1.0000"`` stays ``"1.0000"``, which is what lets statistics be compared at the
printed precision.

Times: ``"2024.01.15 10:30:00"`` in the trade server's time. Reports do not say the
server's offset, so times are read as UTC (the usual MT server runs at UTC+2/+3: a day
boundary computed from these times is the server's, not London's).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from analytics.imports.errors import FormatProblem

__all__ = ["PLAIN_NUMBER", "is_time", "normalize_number", "parse_number", "parse_time",
           "split_compound"]

_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\u2007")
_NUMBER = re.compile(r"[-+]?(?:\d[\d.,]*|[.,]\d+)")
PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")  # read the same in every language
_TIME = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_COMPOUND = re.compile(r"(?P<main>[^()]*?)\s*(?:\((?P<extra>[^()]*)\))?")


def normalize_number(text: str, *, decimal_comma: bool = False) -> str | None:
    """``"-5 338,90"`` → ``"-5338.90"``; a trailing ``%`` is dropped; ``None`` if not a number."""
    compact = text.translate(_SPACES).removesuffix("%")
    if not _NUMBER.fullmatch(compact):
        return None
    sign = "-" if compact.startswith("-") else ""
    digits = compact.lstrip("+-")
    if "," in digits and "." in digits:
        # the separator printed last is the decimal one: "1,234.56" and "1.234,56"
        decimal = "." if digits.rfind(".") > digits.rfind(",") else ","
        digits = digits.replace("," if decimal == "." else ".", "").replace(",", ".")
    elif "," in digits:
        decimal_like = decimal_comma and digits.count(",") == 1
        digits = digits.replace(",", "." if decimal_like else "")
    elif digits.count(".") > 1:
        digits = digits.replace(".", "")  # "1.234.567": dots as thousands
    if digits.startswith("."):
        digits = "0" + digits
    if digits.endswith("."):
        return None
    return sign + digits


def parse_number(text: str, what: str, *, decimal_comma: bool = False,
                 empty: float | None = None) -> float:
    """A number cell; an empty one gives ``empty`` when that is allowed."""
    if PLAIN_NUMBER.fullmatch(text):  # most cells (45,000 in a report of 2,000 trades)
        return float(text)
    if not text.strip() and empty is not None:
        return empty
    number = normalize_number(text, decimal_comma=decimal_comma)
    if number is None:
        raise FormatProblem(f"{what}: {text!r} is not a number")
    return float(number)


def is_time(text: str) -> bool:
    return _TIME.fullmatch(text.strip()) is not None


def parse_time(text: str, what: str) -> datetime:
    """``"2024.01.15 10:30:00"`` (server time) as an aware UTC datetime."""
    digits = text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:]
    if (len(text) == 19 and text[4] == text[7] == "." and text[13] == text[16] == ":"
            and digits.isascii() and digits.isdigit()):
        try:  # the usual form, without the pattern (6,500 times in 2,000 trades)
            return datetime(int(text[:4]), int(text[5:7]), int(text[8:10]),
                            int(text[11:13]), int(text[14:16]), int(text[17:]), tzinfo=UTC)
        except ValueError:
            raise FormatProblem(f"{what}: {text!r} is not a valid date") from None
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise FormatProblem(f"{what}: {text!r} is not a MetaTrader time (YYYY.MM.DD hh:mm:ss)")
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise FormatProblem(f"{what}: {text!r} is not a valid date") from None


def split_compound(text: str) -> tuple[str, str | None]:
    """``"152.73 (5.06%)"`` → ``("152.73", "5.06%")``; ``"0.09"`` → ``("0.09", None)``."""
    match = _COMPOUND.fullmatch(text.strip())
    if match is None:
        return text.strip(), None
    extra = match.group("extra")
    return match.group("main"), (extra.strip() if extra is not None else None)
