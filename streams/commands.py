"""Requests to the broker: open a trading account, disable one.

The platform never writes the numbered feed itself — one producer numbers it (the broker
bridge, or the simulator acting as the demo broker). It asks the broker on the
``broker.commands`` topic; the broker opens the account on its side and the account's
``program`` and ``account`` events then come back through the feed like any other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec

from streams.topics import Topics, consume


class OpenAccount(msgspec.Struct, tag="open_account", tag_field="type", frozen=True):
    login: str
    program: dict[str, Any]  # the program document (CONTRACTS.md §2) the account trades on
    balance: float | None = None
    currency: str | None = None


class DisableAccount(msgspec.Struct, tag="disable_account", tag_field="type", frozen=True):
    login: str
    reason: str


Command = OpenAccount | DisableAccount
command_decoder = msgspec.json.Decoder(Command)


def encode_command(command: Command) -> bytes:
    return msgspec.json.encode(command)


async def follow_commands(bootstrap: str, topics: Topics, group: str,
                          handle: Callable[[Command], None], stop: asyncio.Event) -> None:
    """Read ``broker.commands`` (committed per ``group``) and hand each command to
    ``handle``; a message that is not a command is logged and skipped."""
    async def apply(command: Command) -> None:
        handle(command)

    await consume(bootstrap, topics.commands, group, command_decoder, apply, stop)
