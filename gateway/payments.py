"""Payment providers. ``manual``: the firm settles by hand (bank transfer, crypto) or the
trader confirms (demo and test deployments); Stripe comes behind the same interface."""

from __future__ import annotations

import secrets
from typing import Protocol


class PaymentProvider(Protocol):
    name: str
    trader_may_confirm: bool

    def reference(self) -> str: ...


class ManualPayments:
    name = "manual"

    def __init__(self, trader_may_confirm: bool = True) -> None:
        self.trader_may_confirm = trader_may_confirm

    def reference(self) -> str:
        return "MAN-" + secrets.token_hex(6).upper()
