"""The audit log: every admin and risk-desk action, who, what, when, before and after."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.tenants import Tenant
from gateway.users import Principal


async def record(connection: Any, actor: Principal | Tenant, action: str, target_type: str,
                 target_id: object, before: Any = None, after: Any = None,
                 reason: str | None = None) -> None:
    """Write one entry (call inside the transaction of the change it describes); a tenant
    as the actor is the platform itself acting for the firm (no user)."""
    tenant_id, actor_id = ((actor.id, None) if isinstance(actor, Tenant)
                           else (actor.tenant_id, actor.user_id))
    await connection.execute(
        "INSERT INTO audit_log (tenant_id, actor_id, action, target_type, target_id, before,"
        " after, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        tenant_id, actor_id, action, target_type, str(target_id),
        _json(before), _json(after), reason)


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, default=str).decode()
