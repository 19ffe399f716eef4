"""White-label tenants: each firm is resolved from the request's host.

A host is served when it is a firm's subdomain of the platform's domain
(``acme.<PUBLIC_BASE_DOMAIN>``, only when that is set; nothing else under that domain is
served), a domain a firm claimed (``tenant_domains``), or — for the default firm —
``localhost`` or a bare loopback address. Any other host is unknown (404), so a firm's
data is never served under a host it did not claim.

The ``Host`` header is the client's to write, so resolving it must cost an attacker's
flood of made-up hosts nothing lasting: a host that no firm could be served at (not a
hostname, too long, an address other than loopback, ``*.localhost``, deeper under the
platform's domain) is refused without a query, and the answers for the others, "no firm"
included, are kept in a bounded LRU cache (:data:`MAX_HOSTS`).

Links in a firm's mail come from its configuration, never from the request's ``Host``
(which the client writes): :attr:`Tenant.public_url` is ``https://`` its primary domain
(the first it listed), else ``PUBLIC_URL`` for the default firm, else ``https://<slug>.``
the platform's domain.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from typing import Any

import msgspec
import orjson

from gateway.errors import NotFound
from streams.settings import is_loopback_host

CACHE_SECONDS = 30.0  # a tenant's branding or domains change rarely; reads are constant
# Hosts remembered, known or not: a few hundred bytes each, so at most a few MB, while
# every host a real client uses (a few per firm) stays cached.
MAX_HOSTS = 10_000
# What a firm can claim (gateway.schemas.Domain) and a slug (gateway.schemas.Slug).
CLAIMABLE = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")


class Branding(msgspec.Struct):
    name: str
    primary_color: str = "#0f766e"
    accent_color: str = "#f59e0b"
    logo_url: str = ""
    support_email: str = ""
    font: str = "system"
    # Uploaded files, by the digest of what was stored (gateway.firms.Firms.upload): empty
    # while the firm uploaded none.
    logo: str = ""
    favicon: str = ""
    custom_css: str = ""  # the firm's own CSS, checked (gateway.brandcss)


class Tenant(msgspec.Struct, frozen=True):
    id: int
    slug: str
    name: str
    branding: Branding
    cors_origins: tuple[str, ...] = ()
    public_url: str = ""  # where its users reach it (links in mail); no trailing slash
    is_default: bool = False  # the platform's own firm: its owner is the platform's


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def host_name(host: str) -> str:
    """The host name a ``Host`` header names: lower case, no port, no final dot."""
    return _hostname(host)


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
                             default_url), row["is_default"])


class TenantDirectory:
    """Finds the tenant of a host (cached for :data:`CACHE_SECONDS`).

    :param base_domain: the platform's domain (``PUBLIC_BASE_DOMAIN``), or empty.
    :param default_url: the default firm's public URL (``PUBLIC_URL`` or its default).
    """

    def __init__(self, pool: Any, base_domain: str = "",
                 default_url: str = "http://localhost:8000", size: int = MAX_HOSTS) -> None:
        self.pool = pool
        self.base_domain = base_domain
        self.default_url = default_url
        self.size = size
        self._cache: OrderedDict[str, tuple[float, Tenant | None]] = OrderedDict()

    async def resolve(self, host: str) -> Tenant:
        hostname = _hostname(host)
        if not self._could_match(hostname):
            shown = hostname if len(hostname) <= 80 else hostname[:80] + "…"
            raise NotFound(f"no firm is served at {shown!r}", code="unknown_tenant")
        cached = self._cache.get(hostname)
        now = time.monotonic()
        if cached is None or now - cached[0] > CACHE_SECONDS:
            cached = (now, await self._lookup(hostname))
            self._cache[hostname] = cached
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)  # the least recently used
        self._cache.move_to_end(hostname)
        if cached[1] is None:
            raise NotFound(f"no firm is served at {hostname}", code="unknown_tenant")
        return cached[1]

    def claim_problem(self, domain: str) -> str | None:
        """Why a firm may not claim ``domain`` (a name of the schema's Domain shape), or
        None: the platform's domain and everything under it are the platform's subdomains
        (a claim there would shadow a firm's), ``*.localhost`` the default firm's."""
        if self._under_base(domain):
            return (f"{domain} is the platform's domain ({self.base_domain}) or under it: "
                    "firms are served there by their slug")
        if domain == "localhost" or domain.endswith(".localhost"):
            return f"{domain} is a loopback name"
        return None

    def _could_match(self, hostname: str) -> bool:
        """Whether a firm could be served at ``hostname``: loopback, a one-label subdomain
        of the platform's domain, or a domain a firm may claim (never under the
        platform's domain or ``localhost``, never an address)."""
        if is_loopback_host(hostname):
            return True
        if self._under_base(hostname):
            return self._subdomain(hostname) is not None
        return CLAIMABLE.match(hostname) is not None and not hostname.endswith(".localhost")

    def forget(self) -> None:
        self._cache.clear()

    async def by_id(self, tenant_id: int) -> Tenant | None:
        """A firm by its id (for work that no request carries, such as notifications)."""
        row = await self.pool.fetchrow(TENANT_SELECT + " WHERE t.id = $1", tenant_id)
        return None if row is None else self.tenant_of(row)

    async def _lookup(self, hostname: str) -> Tenant | None:
        slug = self._subdomain(hostname)
        if slug is not None:  # the platform's subdomains are its own: never a claim's
            row = await self.pool.fetchrow(TENANT_SELECT + " WHERE t.slug = $1", slug)
        elif is_loopback_host(hostname):
            row = await self.pool.fetchrow(TENANT_SELECT + " WHERE t.is_default")
        else:
            row = await self.pool.fetchrow(TENANT_SELECT + " WHERE t.id = (SELECT tenant_id "
                                           "FROM tenant_domains WHERE domain = $1)", hostname)
        return None if row is None else self.tenant_of(row)

    def _under_base(self, hostname: str) -> bool:
        return bool(self.base_domain) and (hostname == self.base_domain
                                           or hostname.endswith(f".{self.base_domain}"))

    def _subdomain(self, hostname: str) -> str | None:
        """``acme`` for ``acme.<base domain>`` (one label that can be a slug, no deeper),
        else None."""
        suffix = f".{self.base_domain}"
        if not self.base_domain or not hostname.endswith(suffix):
            return None
        label = hostname[:-len(suffix)]
        return label if SLUG.match(label) else None

    def tenant_of(self, row: Any) -> Tenant:
        return tenant_of(row, self.base_domain, self.default_url)
