"""Firms (tenants) as the platform creates them and as each firm's admins brand them."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from gateway import audit
from gateway.errors import Conflict, FieldError, NotFound, Unprocessable
from gateway.roles import OWNER
from gateway.schemas import BrandingIn, TenantIn, TenantOut, TenantSettingsIn
from gateway.tenants import Tenant, TenantDirectory
from gateway.users import Principal


class Firms:
    def __init__(self, pool: Any, directory: TenantDirectory) -> None:
        self.pool = pool
        self.directory = directory

    async def create(self, actor: Principal, tenant: Tenant, body: TenantIn) -> TenantOut:
        """A new firm, with its domains: the platform owner's act (an owner of the default
        firm, at the default firm's host). A firm's own owner runs that firm only: to it
        the route does not exist.

        :raises NotFound: the caller is not the platform's owner.
        :raises Unprocessable: a domain that is the platform's (``$.domains[i]``).
        """
        if not tenant.is_default or actor.role != OWNER:
            raise NotFound("no such resource")
        for index, domain in enumerate(body.domains):
            problem = self.directory.claim_problem(domain)
            if problem is not None:
                path = f"$.domains[{index}]"
                raise Unprocessable(f"{path}: {problem}", fields=[FieldError(path, problem)])
        async with self.pool.acquire() as connection, connection.transaction():
            try:
                tenant_id = await connection.fetchval(
                    "INSERT INTO tenants (slug, name, branding, cors_origins) "
                    "VALUES ($1, $2, $3, $4) RETURNING id", body.slug, body.branding.name,
                    msgspec.json.encode(body.branding).decode(), body.cors_origins)
                for position, domain in enumerate(body.domains):  # the first is primary
                    await connection.execute(
                        "INSERT INTO tenant_domains (domain, tenant_id, position) "
                        "VALUES ($1, $2, $3)", domain, tenant_id, position)
            except asyncpg.UniqueViolationError:
                raise Conflict("that slug or one of those domains is taken",
                               code="tenant_taken") from None
            out = await self._out(connection, tenant_id)
            await audit.record(connection, actor, "tenant.create", "tenant", tenant_id,
                               after=msgspec.to_builtins(out))
        self.directory.forget()
        return out

    async def update(self, actor: Principal, tenant: Tenant, body: TenantSettingsIn
                     ) -> TenantOut:
        """A firm's admins change its branding and allowed origins."""
        async with self.pool.acquire() as connection, connection.transaction():
            before = await self._out(connection, tenant.id)
            await connection.execute(
                "UPDATE tenants SET name = $2, branding = $3, cors_origins = $4 WHERE id = $1",
                tenant.id, body.branding.name, msgspec.json.encode(body.branding).decode(),
                body.cors_origins)
            out = await self._out(connection, tenant.id)
            await audit.record(connection, actor, "tenant.update", "tenant", tenant.id,
                               before=msgspec.to_builtins(before),
                               after=msgspec.to_builtins(out))
        self.directory.forget()
        return out

    async def _out(self, connection: Any, tenant_id: int) -> TenantOut:
        row = await connection.fetchrow("SELECT * FROM tenants WHERE id = $1", tenant_id)
        domains = [r["domain"] for r in await connection.fetch(
            "SELECT domain FROM tenant_domains WHERE tenant_id = $1 "
            "ORDER BY position, domain",
            tenant_id)]
        branding = msgspec.json.decode(row["branding"])
        branding["name"] = row["name"]
        return TenantOut(row["id"], row["slug"], msgspec.convert(branding, BrandingIn),
                         domains, list(row["cors_origins"]))
