"""Payment providers. ``manual``: the firm's admins settle by hand (bank transfer, crypto)
once the money arrived; with ``DEMO_PAYMENTS=1`` (demonstrations: ``proptrade up``) the
trader may confirm their own. Stripe comes behind the same interface."""

from __future__ import annotations

import secrets
from typing import Protocol


class PaymentProvider(Protocol):
    name: str
    trader_may_confirm: bool

    def reference(self) -> str: ...


class ManualPayments:
    name = "manual"

    def __init__(self, trader_may_confirm: bool = False) -> None:
        self.trader_may_confirm = trader_may_confirm

    def reference(self) -> str:
        return "MAN-" + secrets.token_hex(6).upper()
