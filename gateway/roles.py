"""Who may act on whom: the roles' ranks and the rules of user administration.

trader < risk < admin < owner. An admin acts (changes the role of, disables, enables)
only on users ranked below it and grants no role above its own; the owner acts on anyone
but itself. The last active owner of a firm is never demoted or disabled, so a firm
always has someone who can act on everyone.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import Conflict, Forbidden, NotFound
from gateway.users import Principal

RANK = {"trader": 0, "risk": 1, "admin": 2, "owner": 3}
OWNER = "owner"


def rank_problem(actor_role: str, target_role: str, new_role: str | None) -> str | None:
    """Why ``actor_role`` may not act on a user of ``target_role`` (giving it
    ``new_role``), or None."""
    if actor_role == OWNER:
        return None
    if RANK[target_role] >= RANK[actor_role]:
        return (f"a {target_role} ranks at or above you ({actor_role}): only the owner "
                "acts on them")
    if new_role is not None and RANK[new_role] > RANK[actor_role]:
        return f"you cannot grant a role above your own ({actor_role})"
    return None


async def check_user_change(connection: Any, actor: Principal, tenant_id: int,
                            user_id: int, new_role: str | None, disabled: bool | None
                            ) -> Any:
    """Refuse a change of a user's role or access that the rules forbid; inside the
    caller's transaction, with what the decision rests on locked. Returns the user's row.

    :raises NotFound: no such user in this firm.
    :raises Conflict: the actor's own account (``self_change``), or the firm's last owner
        (``last_owner``).
    :raises Forbidden: the user ranks at or above the actor, or the role above it
        (``rank``).
    """
    # One change of users per firm at a time: two owners demoting each other at once would
    # each see the other as the owner who remains. NO KEY UPDATE does not hold up the
    # inserts that reference the firm (a registration's foreign key takes KEY SHARE).
    await connection.execute("SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE",
                             tenant_id)
    target = await connection.fetchrow(
        "SELECT * FROM users WHERE id = $1 AND tenant_id = $2 FOR UPDATE", user_id, tenant_id)
    if target is None:
        raise NotFound("no such user")
    if user_id == actor.user_id:
        raise Conflict("change your own role or access through another admin",
                       code="self_change")
    # The actor's rank now, not as its token was last checked (it may have been demoted).
    current = await connection.fetchrow(
        "SELECT role, disabled_at FROM users WHERE id = $1 AND tenant_id = $2",
        actor.user_id, tenant_id)
    if current is None or current["disabled_at"] is not None:
        raise Forbidden("your account is disabled", code="account_disabled")
    problem = rank_problem(current["role"], target["role"], new_role)
    if problem is not None:
        raise Forbidden(problem, code="rank")
    demoted = new_role is not None and new_role != OWNER
    if target["role"] == OWNER and target["disabled_at"] is None and (demoted or disabled):
        others = await connection.fetchval(
            "SELECT count(*) FROM users WHERE tenant_id = $1 AND role = 'owner' "
            "AND disabled_at IS NULL AND id <> $2", tenant_id, user_id)
        if not others:
            raise Conflict("the firm's last owner cannot be demoted or disabled",
                           code="last_owner")
    return target
