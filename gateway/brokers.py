"""Broker adapters: how the platform opens and disables trading accounts.

The ``demo`` adapter asks the demo broker (the simulator, or any bridge that follows
``broker.commands``) on Kafka; a real broker's adapter (MetaTrader manager API, cTrader)
implements the same two calls.
"""

from __future__ import annotations

from typing import Any, Protocol

from streams.commands import DisableAccount, OpenAccount, encode_command
from streams.topics import Topics


class BrokerAdapter(Protocol):
    name: str

    async def open_account(self, login: str, document: dict[str, Any],
                           balance: float) -> None: ...

    async def disable_account(self, login: str, reason: str) -> None: ...


class DemoBroker:
    name = "demo"

    def __init__(self, producer: Any, topics: Topics) -> None:
        self.producer = producer
        self.topics = topics

    async def open_account(self, login: str, document: dict[str, Any],
                           balance: float) -> None:
        await self.producer.send_and_wait(
            self.topics.commands, encode_command(OpenAccount(login, document, balance)),
            key=login.encode())

    async def disable_account(self, login: str, reason: str) -> None:
        await self.producer.send_and_wait(
            self.topics.commands, encode_command(DisableAccount(login, reason)),
            key=login.encode())
