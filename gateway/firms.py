"""Firms (tenants) as the platform creates them and as each firm's admins brand them."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import asyncpg
import msgspec

from gateway import audit
from gateway.brandcss import check_css
from gateway.errors import Conflict, FieldError, NotFound, Unprocessable
from gateway.programs import money
from gateway.roles import OWNER
from gateway.schemas import (
    BrandingIn,
    FirmHealthOut,
    RevenueOut,
    TenantIn,
    TenantOut,
    TenantSettingsIn,
)
from gateway.tenants import Tenant, TenantDirectory
from gateway.uploads import Storage, Stored, intake_favicon, intake_logo
from gateway.users import Principal

Image = Literal["logo", "favicon"]
#: What each uploaded image is stored as (the first file's digest names the upload).
IMAGE_FILES: dict[str, tuple[str, ...]] = {
    "logo": ("logo.png",), "favicon": ("favicon.ico", "apple-touch-icon.png")}


def upload_key(tenant_id: int, name: str, digest: str) -> str:
    """Where a firm's uploaded file is stored: by the digest of its upload, so a new upload
    never overwrites what a cached page still points at."""
    stem, _, suffix = name.rpartition(".")
    return f"tenants/{tenant_id}/{stem}-{digest}.{suffix}"


def luminance(colour: str) -> float:
    """The relative luminance of ``#rrggbb`` (WCAG 2)."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(one: str, other: str) -> float:
    """The contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def contrast_warnings(branding: BrandingIn) -> list[FieldError]:
    """The primary colour, which the pages put white text on (buttons), below WCAG AA's
    4.5:1 for normal text."""
    warnings = []
    for name in ("primary_color",):
        colour = getattr(branding, name)
        ratio = contrast(colour, "#ffffff")
        if ratio < 4.5:
            warnings.append(FieldError(
                f"$.branding.{name}", f"white text on {colour} has a contrast of "
                f"{ratio:.1f}:1, below the 4.5:1 that WCAG AA asks for: pick a darker colour"))
    return warnings


class Firms:
    def __init__(self, pool: Any, directory: TenantDirectory, uploads: Storage) -> None:
        self.pool = pool
        self.directory = directory
        self.uploads = uploads

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

    async def health(self, actor: Principal, tenant: Tenant) -> list[FirmHealthOut]:
        """Every firm with its numbers now (the platform owner's view, as :meth:`create`):
        users, accounts and live ones, breaches since 00:00 UTC, paid revenue per currency
        ever and today, exact to the cent.

        :raises NotFound: the caller is not the platform's owner.
        """
        if not tenant.is_default or actor.role != OWNER:
            raise NotFound("no such resource")
        rows = await self.pool.fetch(
            "SELECT t.id, t.slug, t.name, "
            " coalesce((SELECT array_agg(d.domain ORDER BY d.position) FROM tenant_domains d"
            "  WHERE d.tenant_id = t.id), '{}') AS domains, "
            " (SELECT count(*) FROM users u WHERE u.tenant_id = t.id) AS users, "
            " (SELECT count(*) FROM trading_accounts a WHERE a.tenant_id = t.id) AS accounts,"
            " (SELECT count(*) FROM trading_accounts a WHERE a.tenant_id = t.id "
            "  AND a.status IN ('active', 'paused')) AS live_accounts, "
            " (SELECT count(*) FROM risk_events e WHERE e.tenant_id = t.id "
            "  AND e.kind = 'breach' AND e.ts >= date_trunc('day', now() AT TIME ZONE 'UTC')"
            "  AT TIME ZONE 'UTC') AS breaches_today "
            "FROM tenants t ORDER BY t.id")
        paid = await self.pool.fetch(
            "SELECT tenant_id, currency, sum(amount_cents) AS ever, sum(amount_cents) "
            "FILTER (WHERE paid_at >= date_trunc('day', now() AT TIME ZONE 'UTC') "
            "AT TIME ZONE 'UTC') AS today FROM payments WHERE status = 'paid' "
            "GROUP BY tenant_id, currency ORDER BY tenant_id, currency")
        revenue: dict[int, list[RevenueOut]] = {}
        today: dict[int, list[RevenueOut]] = {}
        for row in paid:
            revenue.setdefault(row["tenant_id"], []).append(
                RevenueOut(row["currency"], money(row["ever"])))
            if row["today"]:
                today.setdefault(row["tenant_id"], []).append(
                    RevenueOut(row["currency"], money(row["today"])))
        return [FirmHealthOut(row["id"], row["slug"], row["name"], list(row["domains"]),
                              row["users"], row["accounts"], row["live_accounts"],
                              row["breaches_today"], revenue.get(row["id"], []),
                              today.get(row["id"], [])) for row in rows]

    async def settings(self, tenant: Tenant) -> TenantOut:
        """The firm's settings as its admins edit them."""
        async with self.pool.acquire() as connection:
            out = await self._out(connection, tenant.id)
        out.warnings = contrast_warnings(out.branding)
        return out

    async def update(self, actor: Principal, tenant: Tenant, body: TenantSettingsIn
                     ) -> TenantOut:
        """A firm's admins change its branding, allowed origins and (when the body names
        them) its domains, the first primary.

        :raises Unprocessable: a domain that is the platform's, listed twice, or another
            firm's (``$.domains[i]``).
        """
        problems: list[FieldError] = []
        if body.domains is not None:
            for index, domain in enumerate(body.domains):
                problem = self.directory.claim_problem(domain)
                if problem is None and domain in body.domains[:index]:
                    problem = f"{domain} is listed twice"
                if problem is not None:
                    problems.append(FieldError(f"$.domains[{index}]", problem))
            taken = {row["domain"] for row in await self.pool.fetch(
                "SELECT domain FROM tenant_domains WHERE domain = ANY($1::text[]) "
                "AND tenant_id <> $2", body.domains, tenant.id)}
            problems += [FieldError(f"$.domains[{index}]",
                                    f"{domain} is another firm's domain")
                         for index, domain in enumerate(body.domains) if domain in taken]
        if problems:
            raise Unprocessable("; ".join(f"{p.path}: {p.message}" for p in problems),
                                fields=problems)
        async with self.pool.acquire() as connection, connection.transaction():
            before = await self._out(connection, tenant.id)
            if body.domains is not None:
                await connection.execute("DELETE FROM tenant_domains WHERE tenant_id = $1",
                                         tenant.id)
                try:
                    for position, domain in enumerate(body.domains):
                        await connection.execute(
                            "INSERT INTO tenant_domains (domain, tenant_id, position) "
                            "VALUES ($1, $2, $3)", domain, tenant.id, position)
                except asyncpg.UniqueViolationError:  # claimed meanwhile
                    raise Conflict("one of those domains was just claimed by another firm",
                                   code="domain_taken") from None
            # merged: what the firm uploaded (its logo's digest, …) is not in the body
            await connection.execute(
                "UPDATE tenants SET name = $2, branding = branding || $3::jsonb, "
                "cors_origins = $4 WHERE id = $1",
                tenant.id, body.branding.name, msgspec.json.encode(body.branding).decode(),
                body.cors_origins)
            out = await self._out(connection, tenant.id)
            await audit.record(connection, actor, "tenant.update", "tenant", tenant.id,
                               before=msgspec.to_builtins(before),
                               after=msgspec.to_builtins(out))
        self.directory.forget()
        out.warnings = contrast_warnings(out.branding)
        return out

    async def upload(self, actor: Principal, tenant: Tenant, image: Image, data: bytes
                     ) -> str:
        """Store a firm's logo or favicon (re-encoded: :mod:`gateway.uploads`) and make it
        the firm's; its digest (what its public URL carries) is returned.

        :raises TooLarge: more than the limit in bytes.
        :raises UnsupportedImage: not a PNG, JPEG, WebP or ICO (SVG included).
        :raises BadImage: an image that cannot be decoded, or too many pixels.
        """
        files: dict[str, Stored] = ({"logo.png": intake_logo(data)} if image == "logo"
                                    else intake_favicon(data))
        digest = hashlib.sha256(files[IMAGE_FILES[image][0]].data).hexdigest()[:16]
        for name, stored in files.items():
            await self.uploads.put(upload_key(tenant.id, name, digest), stored.data,
                                   stored.content_type)
        async with self.pool.acquire() as connection, connection.transaction():
            before = await connection.fetchval(
                "SELECT branding ->> $2 FROM tenants WHERE id = $1", tenant.id, image)
            await connection.execute(
                "UPDATE tenants SET branding = jsonb_set(branding, $2::text[], to_jsonb($3::text)) "
                "WHERE id = $1", tenant.id, [image], digest)
            await audit.record(connection, actor, f"tenant.{image}", "tenant", tenant.id,
                               before={image: before or ""}, after={image: digest})
        self.directory.forget()
        return digest

    async def set_css(self, actor: Principal, tenant: Tenant, css: str) -> str:
        """Check (:func:`gateway.brandcss.check_css`) and store the firm's own CSS.

        :raises CssRefused: naming the rule the CSS broke.
        """
        check_css(css)
        async with self.pool.acquire() as connection, connection.transaction():
            before = await connection.fetchval(
                "SELECT branding ->> 'custom_css' FROM tenants WHERE id = $1", tenant.id)
            await connection.execute(
                "UPDATE tenants SET branding = jsonb_set(branding, '{custom_css}', "
                "to_jsonb($2::text)) WHERE id = $1", tenant.id, css)
            await audit.record(connection, actor, "tenant.css", "tenant", tenant.id,
                               before={"css": before or ""}, after={"css": css})
        self.directory.forget()
        return css

    async def image(self, tenant: Tenant, name: str) -> Stored | None:
        """The firm's current uploaded file ``name`` (``logo.png``, ``favicon.ico``,
        ``apple-touch-icon.png``), or None when it uploaded none."""
        for image, names in IMAGE_FILES.items():
            if name in names:
                digest = getattr(tenant.branding, image)
                if not digest:
                    return None
                return await self.uploads.get(upload_key(tenant.id, name, digest))
        return None

    async def _out(self, connection: Any, tenant_id: int) -> TenantOut:
        row = await connection.fetchrow("SELECT * FROM tenants WHERE id = $1", tenant_id)
        domains = [r["domain"] for r in await connection.fetch(
            "SELECT domain FROM tenant_domains WHERE tenant_id = $1 "
            "ORDER BY position, domain",
            tenant_id)]
        stored = msgspec.json.decode(row["branding"])
        # only what the firm sets by this body: uploads are named elsewhere (GET /tenant)
        branding = {name: stored[name] for name in BrandingIn.__struct_fields__
                    if name in stored}
        branding["name"] = row["name"]
        return TenantOut(row["id"], row["slug"], msgspec.convert(branding, BrandingIn),
                         domains, list(row["cors_origins"]))
