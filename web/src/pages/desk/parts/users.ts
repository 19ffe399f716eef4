/** The users page's logic: the change an admin asks for, its body and its confirmation. */
import type { Schemas } from "../../../api/client";
import { compact, type Role } from "./desk";

export type AdminUser = Schemas["AdminUserOut"];
export type UserChange = { kind: "role"; role: Role } | { kind: "disable" } | { kind: "enable" };

export const PAGE_SIZE = 50;
export const ROLES: readonly Role[] = ["trader", "risk", "admin", "owner"];

export function usersQuery(q: string, after?: number) {
  return compact({ q, limit: PAGE_SIZE, after });
}

/** The PATCH body; a reason only when one was given (the API wants 3 characters or more). */
export function changeBody(change: UserChange, reason: string): Schemas["UserAdminIn"] {
  const why = reason.trim();
  const body: Schemas["UserAdminIn"] =
    change.kind === "role" ? { role: change.role } : { disabled: change.kind === "disable" };
  return why ? { ...body, reason: why } : body;
}

/** A reason the API would refuse (it takes none, or 3 to 500 characters), or null. */
export function reasonProblem(reason: string): string | null {
  const length = reason.trim().length;
  if (length === 0 || (length >= 3 && length <= 500)) return null;
  return length < 3 ? "A reason has at least 3 characters (or leave it empty)." : "A reason has at most 500 characters.";
}

export function changeQuestion(user: Pick<AdminUser, "email" | "role">, change: UserChange): string {
  switch (change.kind) {
    case "role":
      return `Change ${user.email}'s role from ${user.role} to ${change.role}?`;
    case "disable":
      return `Disable ${user.email}? They are signed out at once and cannot sign in until enabled again.`;
    case "enable":
      return `Enable ${user.email} again? They can sign in again.`;
  }
}

export function changeLabel(change: UserChange): string {
  return change.kind === "role" ? `Make ${change.role}` : change.kind === "disable" ? "Disable" : "Enable";
}
