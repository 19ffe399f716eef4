/** What every desk page shares: its links, who may do the admins' part, small helpers. */
import { useEffect, useState } from "react";
import type { Schemas } from "../../../api/client";

export type Role = Schemas["UserOut"]["role"];

/** The roles the API lets approve phases, list users and read the audit log. */
export const ADMIN_ROLES: readonly Role[] = ["admin", "owner"];

export function isAdmin(role: Role | undefined): boolean {
  return role !== undefined && ADMIN_ROLES.includes(role);
}

export interface DeskLink { to: string; label: string }

const LINKS: readonly (DeskLink & { admins?: true })[] = [
  { to: "/desk", label: "Alerts" },
  { to: "/desk/floors", label: "Floors" },
  { to: "/desk/exposure", label: "Exposure" },
  { to: "/desk/challenges", label: "Challenges" },
  { to: "/desk/users", label: "Users", admins: true },
  { to: "/desk/audit", label: "Audit" , admins: true },
];

/** The desk's links a role may follow. */
export function deskLinks(role: Role | undefined): DeskLink[] {
  return LINKS.filter((link) => !link.admins || isAdmin(role)).map(({ to, label }) => ({ to, label }));
}

/** ``value``, once it has not changed for ``ms`` (a search box asks once typing stops). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** The query's parameters without the empty ones (an empty filter is a 422 to the API). */
export function compact<T extends Record<string, string | number | undefined>>(query: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, value] of Object.entries(query) as [keyof T, T[keyof T]][]) {
    if (value === undefined || (typeof value === "string" && value.trim() === "")) continue;
    out[key] = (typeof value === "string" ? value.trim() : value) as T[keyof T];
  }
  return out;
}

/** The cursor of the next page: the last entry's id when the page was full, else null. */
export function nextCursor(page: readonly { id: number }[], limit: number): number | null {
  return page.length >= limit && page.length > 0 ? page[page.length - 1]!.id : null;
}

const STAMP = new Intl.DateTimeFormat(undefined, {
  year: "numeric", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});

/** A moment in the viewer's zone for the eye; the UTC instant is in the title. */
export function when(iso: string): { text: string; utc: string } {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return { text: iso, utc: iso };
  return { text: STAMP.format(at), utc: `${at.toISOString().replace("T", " ").slice(0, 19)} UTC` };
}
