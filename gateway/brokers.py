"""Broker adapters: how the platform opens and disables trading accounts.

The ``demo`` adapter asks the demo broker (the simulator, or any bridge that follows
``broker.commands``) on Kafka; a real broker's adapter (MetaTrader manager API, cTrader)
implements the same two calls.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from streams.commands import DisableAccount, OpenAccount, encode_command
from streams.topics import Topics


class BrokerAdapter(Protocol):
    name: str

    async def open_account(self, login: str, document: dict[str, Any],
                           balance: float) -> None: ...

    async def disable_account(self, login: str, reason: str) -> None: ...


#: Seconds a command may wait for the broker's acknowledgement (then: an error, and the
#: caller's 503 — never a request hanging on a dead broker).
SEND_TIMEOUT = 10.0


class DemoBroker:
    name = "demo"

    def __init__(self, producer: Any, topics: Topics, link: Any = None) -> None:
        self.producer = producer
        self.topics = topics
        self.link = link  # a StreamLink: not connected yet → refused at once

    async def _send(self, login: str, command: bytes) -> None:
        if self.link is not None and not self.link.connected:
            raise ConnectionError(f"the broker is not connected: {self.link.problem}")
        await asyncio.wait_for(self.producer.send_and_wait(
            self.topics.commands, command, key=login.encode()), SEND_TIMEOUT)

    async def open_account(self, login: str, document: dict[str, Any],
                           balance: float) -> None:
        await self._send(login, encode_command(OpenAccount(login, document, balance)))

    async def disable_account(self, login: str, reason: str) -> None:
        await self._send(login, encode_command(DisableAccount(login, reason)))
