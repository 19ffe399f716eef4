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

# The range the cents arithmetic holds exactly. float64 holds every whole number of cents
# up to 2**53 (about 9.0e15 cents, 9.0e13 in the account currency); a number beyond it
# loses cents, and an infinite one (a price of 1e308 times a volume) wrapped an equity to
# -9.22e16 once cast to int64. So every input is bounded, each well inside that limit:
MAX_AMOUNT = 10.0**12  # a money amount of an event or a program (±), in currency units
MAX_HOLDING = 10.0**13  # a position's value and an account's balance (±), currency units
MAX_PRICE = 10.0**9  # a price (bid, ask, deal price), > 0; BTCJPY trades near 1.6e7
MAX_VOLUME = 10.0**9  # lots of one deal, > 0 (its position's value is bounded too)
MAX_CONTRACT_SIZE = 10.0**9  # units per lot, > 0
# A position's value is volume × contract size × price in the account currency; marks and
# balances stay within MAX_HOLDING = 1e15 cents, so an account's equity (balance plus its
# marks) is exact to the cent until it holds eight positions each worth 1e13.
MAX_HOLDING_CENTS = MAX_HOLDING * CENTS_PER_UNIT


def to_cents(amount: float) -> int:
    """Round an amount in currency units to whole cents (half-up)."""
    return math.floor(amount * CENTS_PER_UNIT + ROUND_HALF)


def round_cents(cents: float) -> int:
    """Round a fractional number of cents to whole cents (half-up)."""
    return math.floor(cents + ROUND_HALF)


def to_units(cents: float) -> float:
    """Cents back to currency units for the wire (``9499950`` → ``94999.5``)."""
    return int(cents) / CENTS_PER_UNIT
