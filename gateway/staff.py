"""Users the operator creates rather than registers: the first admin, risk officer or
owner of a firm (``proptrade users create``), and the demo sign-ins ``proptrade up``
prints.

Such a user is created with its e-mail address already verified (the operator vouches
for it) and a password that passes the same policy as a registration's.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import msgspec

from gateway.errors import Conflict, NotFound, Unprocessable
from gateway.schemas import Email, Name
from gateway.security import hash_password, password_problem, verify_password
from gateway.tenants import Tenant, tenant_of

ROLES = ("trader", "risk", "admin", "owner")
# The demo firm's sign-ins printed by `proptrade up`: (role, address, what it is for).
DEMO_USERS = (
    ("trader", "trader@demo.localhost", "trader"),
    ("risk", "risk@demo.localhost", "risk officer"),
    ("admin", "admin@demo.localhost", "admin"),
)
DEMO_FILE = "demo-sign-ins.json"  # under the data directory, readable by its owner only


async def firm(connection: Any, slug: str | None) -> Tenant:
    """The firm named by its slug, or the default firm; an unknown slug names those
    that exist."""
    if slug is None:
        row = await connection.fetchrow("SELECT * FROM tenants WHERE is_default")
    else:
        row = await connection.fetchrow("SELECT * FROM tenants WHERE slug = $1", slug)
    if row is None:
        known = [r["slug"] for r in await connection.fetch(
            "SELECT slug FROM tenants ORDER BY slug")]
        raise NotFound(f"no firm with slug {slug!r} (firms: {', '.join(known) or 'none'})",
                       code="unknown_tenant")
    return tenant_of(row)


def checked_email(email: str) -> str:
    address = email.strip().lower()
    try:
        return msgspec.convert(address, Email)
    except msgspec.ValidationError:
        raise Unprocessable(f"{email!r} is not an e-mail address") from None


async def create_user(pool: Any, email: str, password: str, role: str,
                      firm_slug: str | None = None, display_name: str = ""
                      ) -> tuple[Any, Tenant]:
    """A verified user of a firm (the default firm without a slug); returns its row and
    the firm. Refuses an unknown firm, a role that does not exist, a password the policy
    refuses and an address the firm already has, each naming what is wrong."""
    address = checked_email(email)
    if role not in ROLES:
        raise Unprocessable(f"no role {role!r} (roles: {', '.join(ROLES)})")
    try:
        msgspec.convert(display_name, Name)
    except msgspec.ValidationError:
        raise Unprocessable(f"the name {display_name!r} has control characters or is "
                            "longer than 100") from None
    problem = password_problem(password, address)
    if problem is not None:
        raise Unprocessable(f"the password {problem}")
    password_hash = await hash_password(password)
    async with pool.acquire() as connection, connection.transaction():
        tenant = await firm(connection, firm_slug)
        row = await connection.fetchrow(
            "INSERT INTO users (tenant_id, email, password_hash, role, display_name, "
            "email_verified_at) VALUES ($1, $2, $3, $4, $5, now()) "
            "ON CONFLICT (tenant_id, email) DO NOTHING RETURNING *", tenant.id, address,
            password_hash, role, display_name)
        if row is None:
            existing = await connection.fetchval(
                "SELECT role FROM users WHERE tenant_id = $1 AND email = $2", tenant.id,
                address)
            raise Conflict(f"{address} already has an account at firm {tenant.slug!r} "
                           f"(role {existing})", code="email_taken")
    return row, tenant


def _new_password(address: str) -> str:
    while True:  # 16 URL-safe characters (96 bits); retried in the unlikely case the
        password = secrets.token_urlsafe(12)  # policy refuses one
        if password_problem(password, address) is None:
            return password


def _stored_passwords(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {str(k): v for k, v in stored.items() if isinstance(v, str)}


def _store_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(passwords, file, indent=2)
    os.replace(scratch, path)


async def ensure_demo_users(pool: Any, tenant: Tenant, data_dir: Path
                            ) -> list[tuple[str, str, str]]:
    """The demo firm's trader, risk officer and admin, so that what ``proptrade up``
    prints signs in: (what it is for, address, password) each.

    Passwords are generated on the first start and kept in ``<data dir>/demo-sign-ins.json``
    (mode 0600), so they stay the same across restarts; at each start each demo user is
    made to match what is printed (created if missing; password, role, verified and
    enabled restored if changed since)."""
    path = data_dir / DEMO_FILE
    stored = _stored_passwords(path)
    passwords = {address: stored.get(address) or _new_password(address)
                 for _, address, _ in DEMO_USERS}
    for role, address, _ in DEMO_USERS:
        password = passwords[address]
        row = await pool.fetchrow("SELECT * FROM users WHERE tenant_id = $1 AND email = $2",
                                  tenant.id, address)
        if row is None:
            await pool.execute(
                "INSERT INTO users (tenant_id, email, password_hash, role, display_name, "
                "email_verified_at) VALUES ($1, $2, $3, $4, $5, now()) "
                "ON CONFLICT (tenant_id, email) DO NOTHING", tenant.id, address,
                await hash_password(password), role, f"Demo {role}")
            continue
        if not await verify_password(row["password_hash"], password):
            await pool.execute("UPDATE users SET password_hash = $2, "
                               "session_epoch = session_epoch + 1 WHERE id = $1",
                               row["id"], await hash_password(password))
        await pool.execute(
            "UPDATE users SET role = $2, disabled_at = NULL, "
            "email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1 AND "
            "(role <> $2 OR disabled_at IS NOT NULL OR email_verified_at IS NULL)",
            row["id"], role)
    if passwords != stored:
        _store_passwords(path, passwords)
    return [(what, address, passwords[address]) for _, address, what in DEMO_USERS]
