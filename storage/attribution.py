"""Which firm an account belongs to: one rule for the gateway and the analytics sink.

1. An account on record in ``trading_accounts`` belongs to the firm of its row (the
   platform's accounts, and the broker accounts the gateway has recorded).
2. Otherwise its program names the firm: the platform names the programs it sells
   ``<firm slug>.<program slug>.p<phase>`` (:func:`gateway.programs.engine_program_id`),
   and a broker feeding several firms names their programs the same way.
3. Otherwise (a program that names no firm — the simulator's ``ftmo-2step-100k-p1``, a
   broker's own plans) it belongs to the default firm, the deployment's own.

The platform names its accounts ``T<tenant>C<challenge>P<phase>[R<attempt>]`` and asks
the broker to open them inside the transaction that records them, so the first events of
such an account can be read before its row is visible; their program (rule 2) gives the
same firm as their row will.
"""

from __future__ import annotations

import re
import time
from typing import Any

__all__ = ["FirmRule", "program_firm"]

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# A program naming a firm the platform does not know yet (a firm created since the rule
# loaded the firms) is looked up again after this many seconds.
RELOAD_SECONDS = 10.0


def program_firm(program: str) -> str | None:
    """The firm slug a program id names (``acme`` for ``acme.gold-10k.p1``), or None."""
    head, dot, rest = program.partition(".")
    return head if dot and rest and _SLUG.fullmatch(head) else None


class FirmRule:
    """Rules 2 and 3 over the firms in PostgreSQL (``pool``); the firms' slugs are cached
    and read again when a program names an unknown one (at most every 10 s)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._slugs: dict[str, int] = {}
        self._default = 0
        self._loaded_at: float | None = None

    async def load(self, connection: Any | None = None) -> None:
        """Read the firms (the first time; again at most every 10 s)."""
        now = time.monotonic()
        if self._loaded_at is not None and now - self._loaded_at < RELOAD_SECONDS:
            return
        reader = connection if connection is not None else self.pool
        rows = await reader.fetch("SELECT id, slug, is_default FROM tenants")
        self._slugs = {row["slug"]: row["id"] for row in rows}
        self._default = next((row["id"] for row in rows if row["is_default"]), 0)
        self._loaded_at = now

    async def firm_of(self, program: str, connection: Any | None = None) -> int:
        """The tenant id of an account not on record that runs under ``program``."""
        slug = program_firm(program)
        if self._loaded_at is None or (slug is not None and slug not in self._slugs):
            await self.load(connection)
        return self.known_firm_of(program)

    def known_firm_of(self, program: str) -> int:
        """:meth:`firm_of` from the firms loaded so far (no I/O; call :meth:`load` first)."""
        slug = program_firm(program)
        return self._slugs.get(slug, self._default) if slug is not None else self._default

    def knows(self, programs: set[str]) -> bool:
        """Whether the firms were read and every firm ``programs`` name is among them."""
        named = {program_firm(program) for program in programs} - {None}
        return self._loaded_at is not None and named.issubset(self._slugs)

    @property
    def default(self) -> int:
        return self._default
