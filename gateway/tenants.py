"""White-label tenants: each firm is resolved from the request's host.

A custom domain (``trade.acme.com``) is looked up in ``tenant_domains``; otherwise the
host's first label is taken as a tenant's slug (``acme.proptrade.example``); a bare
``localhost`` or IP address gets the default tenant. Any other host is unknown (404), so a
firm's data is never served under a host it did not claim.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import msgspec
import orjson

from gateway.errors import NotFound

CACHE_SECONDS = 30.0  # a tenant's branding or domains change rarely; reads are constant


class Branding(msgspec.Struct):
    name: str
    primary_color: str = "#0f766e"
    accent_color: str = "#f59e0b"
    logo_url: str = ""
    support_email: str = ""


class Tenant(msgspec.Struct, frozen=True):
    id: int
    slug: str
    name: str
    branding: Branding
    cors_origins: tuple[str, ...] = ()


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_local(hostname: str) -> bool:
    if hostname in ("localhost", ""):
        return True
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


class TenantDirectory:
    """Finds the tenant of a host (cached for :data:`CACHE_SECONDS`)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._cache: dict[str, tuple[float, Tenant | None]] = {}

    async def resolve(self, host: str) -> Tenant:
        hostname = _hostname(host)
        cached = self._cache.get(hostname)
        now = time.monotonic()
        if cached is None or now - cached[0] > CACHE_SECONDS:
            cached = (now, await self._lookup(hostname))
            self._cache[hostname] = cached
        if cached[1] is None:
            raise NotFound(f"no firm is served at {hostname}", code="unknown_tenant")
        return cached[1]

    def forget(self) -> None:
        self._cache.clear()

    async def _lookup(self, hostname: str) -> Tenant | None:
        query = "SELECT t.* FROM tenants t"
        row = await self.pool.fetchrow(
            query + " JOIN tenant_domains d ON d.tenant_id = t.id WHERE d.domain = $1",
            hostname)
        if row is None and "." in hostname and not _is_local(hostname):
            row = await self.pool.fetchrow(query + " WHERE t.slug = $1",
                                           hostname.partition(".")[0])
        if row is None and (_is_local(hostname) or hostname.endswith(".localhost")):
            row = await self.pool.fetchrow(query + " WHERE t.is_default")
        return None if row is None else tenant_of(row)


def tenant_of(row: Any) -> Tenant:
    branding = msgspec.convert({"name": row["name"], **orjson.loads(row["branding"])},
                               Branding)
    return Tenant(row["id"], row["slug"], row["name"], branding,
                  tuple(row["cors_origins"]))
