"""White-label tenants: each firm is resolved from the request's host.

A host is served when it is a domain a firm claimed (``tenant_domains``), a firm's
subdomain of the platform's domain (``acme.<PUBLIC_BASE_DOMAIN>``, only when that is
set), or — for the default firm — ``localhost`` or a bare loopback address. Any other
host is unknown (404), so a firm's data is never served under a host it did not claim.

Links in a firm's mail come from its configuration, never from the request's ``Host``
(which the client writes): :attr:`Tenant.public_url` is ``https://`` its primary domain
(the first it listed), else ``PUBLIC_URL`` for the default firm, else ``https://<slug>.``
the platform's domain.
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
    public_url: str = ""  # where its users reach it (links in mail); no trailing slash


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def public_url(slug: str, is_default: bool, primary_domain: str | None, base_domain: str,
               default_url: str) -> str:
    """Where a firm's users reach it, for links: empty when no host serves it."""
    if primary_domain:
        return f"https://{primary_domain}"
    if is_default:
        return default_url
    return f"https://{slug}.{base_domain}" if base_domain else ""


TENANT_SELECT = ("SELECT t.*, (SELECT d.domain FROM tenant_domains d WHERE d.tenant_id = t.id "
           "ORDER BY d.position, d.domain LIMIT 1) AS primary_domain FROM tenants t")


def tenant_of(row: Any, base_domain: str = "", default_url: str = "") -> Tenant:
    """A firm from its row (selected with :data:`TENANT_SELECT`, which adds its primary
    domain; a row without one counts as a firm with no domain)."""
    branding = msgspec.convert({"name": row["name"], **orjson.loads(row["branding"])},
                               Branding)
    primary = row.get("primary_domain")  # absent from a bare tenants row
    return Tenant(row["id"], row["slug"], row["name"], branding, tuple(row["cors_origins"]),
                  public_url(row["slug"], row["is_default"], primary, base_domain,
                             default_url))


class TenantDirectory:
    """Finds the tenant of a host (cached for :data:`CACHE_SECONDS`).

    :param base_domain: the platform's domain (``PUBLIC_BASE_DOMAIN``), or empty.
    :param default_url: the default firm's public URL (``PUBLIC_URL`` or its default).
    """

    def __init__(self, pool: Any, base_domain: str = "",
                 default_url: str = "http://localhost:8000") -> None:
        self.pool = pool
        self.base_domain = base_domain
        self.default_url = default_url
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

    async def by_id(self, tenant_id: int) -> Tenant | None:
        """A firm by its id (for work that no request carries, such as notifications)."""
        row = await self.pool.fetchrow(TENANT_SELECT + " WHERE t.id = $1", tenant_id)
        return None if row is None else self.tenant_of(row)

    async def _lookup(self, hostname: str) -> Tenant | None:
        row = await self.pool.fetchrow(TENANT_SELECT + " WHERE t.id = (SELECT tenant_id FROM "
                                       "tenant_domains WHERE domain = $1)", hostname)
        slug = self._subdomain(hostname)
        if row is None and slug:
            row = await self.pool.fetchrow(TENANT_SELECT + " WHERE t.slug = $1", slug)
        if row is None and _is_loopback(hostname):
            row = await self.pool.fetchrow(TENANT_SELECT + " WHERE t.is_default")
        return None if row is None else self.tenant_of(row)

    def _subdomain(self, hostname: str) -> str | None:
        """``acme`` for ``acme.<base domain>`` (one label, no deeper), else None."""
        suffix = f".{self.base_domain}"
        if not self.base_domain or not hostname.endswith(suffix):
            return None
        label = hostname[:-len(suffix)]
        return label if label and "." not in label else None

    def tenant_of(self, row: Any) -> Tenant:
        return tenant_of(row, self.base_domain, self.default_url)
