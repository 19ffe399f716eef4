"""Trading programs: what a firm sells — price, account size, the phase chain and the
rule document of each phase, validated by the engine's own parser."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
import msgspec
import orjson

from gateway import audit
from gateway.errors import Conflict, FieldError, NotFound, Unprocessable
from gateway.schemas import AddonIn, PhaseOut, ProgramIn, ProgramOut
from gateway.tenants import Tenant
from gateway.users import Principal
from streams.program import ProgramError, parse_program


def cents_of(amount: str) -> int:
    return int(Decimal(amount) * 100)


def money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def engine_program_id(tenant: Tenant, slug: str, phase: int) -> str:
    return f"{tenant.slug}.{slug}.p{phase + 1}"


def phase_documents(tenant: Tenant, body: ProgramIn) -> list[dict[str, Any]]:
    """Each phase's complete program document, checked by the engine's parser; a bad one
    is a 422 naming the field (``$.phases[1].document.rules.max_loss.mode``)."""
    size = Decimal(body.account_size)
    documents = []
    for index, phase in enumerate(body.phases):
        path = f"$.phases[{index}].document"
        document = dict(phase.document)
        if "id" in document:
            raise _bad(f"{path}.id", "is set by the platform; leave it out")
        if document.get("currency", body.currency) != body.currency:
            raise _bad(f"{path}.currency", f"must match the program's ({body.currency})")
        if "initial_balance" in document:
            try:
                agrees = Decimal(str(document["initial_balance"])) == size
            except InvalidOperation:
                agrees = False
            if not agrees:
                raise _bad(f"{path}.initial_balance",
                           f"must match the program's account size ({body.account_size})")
        document["id"] = engine_program_id(tenant, body.slug, index)
        document["currency"] = body.currency
        document["initial_balance"] = float(size)
        try:
            parse_program(document)
        except ProgramError as error:
            raise _bad(f"{path}.{error.field}" if error.field else path, error.reason) from None
        documents.append(document)
    return documents


def _bad(path: str, message: str) -> Unprocessable:
    return Unprocessable(f"{path}: {message}", fields=[FieldError(path, message)])


def program_out(row: Any) -> ProgramOut:
    phases = orjson.loads(row["phases"])
    return ProgramOut(
        id=row["id"], slug=row["slug"], name=row["name"], price=money(row["price_cents"]),
        currency=row["currency"], account_size=money(row["account_size_cents"]),
        phases=[PhaseOut(p["name"], p["document"]["id"], p["document"]) for p in phases],
        advance=row["advance"],
        addons=msgspec.convert(orjson.loads(row["addons"]), list[AddonIn]),
        active=row["active"], updated_at=row["updated_at"])


class Programs:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def create(self, actor: Principal | Tenant, tenant: Tenant, body: ProgramIn
                     ) -> ProgramOut:
        documents = phase_documents(tenant, body)
        async with self.pool.acquire() as connection, connection.transaction():
            try:
                row = await connection.fetchrow(
                    "INSERT INTO programs (tenant_id, slug, name, price_cents, currency, "
                    "account_size_cents, phases, advance, addons, active) VALUES "
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *",
                    *self._values(tenant, body, documents))
            except asyncpg.UniqueViolationError:
                raise Conflict(f"a program with slug {body.slug!r} exists",
                               code="slug_taken") from None
            out = program_out(row)
            await audit.record(connection, actor, "program.create", "program", out.id,
                               after=msgspec.to_builtins(out))
        return out

    async def update(self, actor: Principal, tenant: Tenant, program_id: int,
                     body: ProgramIn) -> ProgramOut:
        documents = phase_documents(tenant, body)
        async with self.pool.acquire() as connection, connection.transaction():
            before = await connection.fetchrow(
                "SELECT * FROM programs WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
                program_id, tenant.id)
            if before is None:
                raise NotFound("no such program")
            if before["slug"] != body.slug:
                raise _bad("$.slug", "cannot change (accounts trade under it)")
            row = await connection.fetchrow(
                "UPDATE programs SET name = $3, price_cents = $4, currency = $5, "
                "account_size_cents = $6, phases = $7, advance = $8, addons = $9, "
                "active = $10, updated_at = now() WHERE tenant_id = $1 AND slug = $2 "
                "RETURNING *", *self._values(tenant, body, documents))
            out = program_out(row)
            await audit.record(connection, actor, "program.update", "program", out.id,
                               before=msgspec.to_builtins(program_out(before)),
                               after=msgspec.to_builtins(out))
        return out

    @staticmethod
    def _values(tenant: Tenant, body: ProgramIn, documents: list[dict[str, Any]]
                ) -> tuple[Any, ...]:
        phases = [{"name": phase.name, "document": document}
                  for phase, document in zip(body.phases, documents, strict=True)]
        return (tenant.id, body.slug, body.name, cents_of(body.price), body.currency,
                cents_of(body.account_size), orjson.dumps(phases).decode(), body.advance,
                msgspec.json.encode(body.addons).decode(), body.active)

    async def list(self, tenant: Tenant, include_inactive: bool) -> list[ProgramOut]:
        rows = await self.pool.fetch(
            "SELECT * FROM programs WHERE tenant_id = $1 AND (active OR $2) ORDER BY id",
            tenant.id, include_inactive)
        return [program_out(row) for row in rows]

    async def get(self, tenant: Tenant, slug: str) -> ProgramOut:
        row = await self.pool.fetchrow(
            "SELECT * FROM programs WHERE tenant_id = $1 AND slug = $2 AND active",
            tenant.id, slug)
        if row is None:
            raise NotFound("no such program")
        return program_out(row)

    async def engine_ids(self, tenant: Tenant, name: str) -> tuple[str, ...] | None:
        """The engine programs ``name`` stands for in this firm, for the analytics filters:
        a program's slug (as ``/programs`` shows it) stands for each of its phases'
        (``default.gold-10k.p1`` …, in phase order); an engine program id that a program
        or an account on record of the firm uses stands for itself. None: neither."""
        rows = await self.pool.fetch("SELECT slug, phases FROM programs WHERE tenant_id = $1",
                                     tenant.id)
        phases = {row["slug"]: tuple(p["document"]["id"] for p in orjson.loads(row["phases"]))
                  for row in rows}
        if name in phases:
            return phases[name]
        if any(name in ids for ids in phases.values()) or await self.pool.fetchval(
                "SELECT 1 FROM trading_accounts WHERE tenant_id = $1 AND engine_program = $2"
                " LIMIT 1", tenant.id, name):
            return (name,)
        return None
