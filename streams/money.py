"""Money in exact cents.

Amounts arrive as JSON numbers in the account currency. The engine keeps every amount as a
whole number of cents; the hot columnar arrays hold those cents in float64, which is exact
for integers below 2**53 (90 trillion dollars), so sums and comparisons are exact.

Rounding is half-up with a tolerance of 1e-6 cent: a price difference times a volume that is
mathematically a half cent but lands at 1234.4999999999 in binary floating point still rounds
up, the same way in the scalar and the vector path.
"""

from __future__ import annotations

import math

CENTS_PER_UNIT = 100
ROUND_HALF = 0.5 + 1e-6


def to_cents(amount: float) -> int:
    """Round an amount in currency units to whole cents (half-up)."""
    return math.floor(amount * CENTS_PER_UNIT + ROUND_HALF)


def round_cents(cents: float) -> int:
    """Round a fractional number of cents to whole cents (half-up)."""
    return math.floor(cents + ROUND_HALF)


def to_units(cents: float) -> float:
    """Cents back to currency units for the wire (``9499950`` → ``94999.5``)."""
    return int(cents) / CENTS_PER_UNIT
