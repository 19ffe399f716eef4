/** The audit log page's logic: its filters as the API takes them and an entry's before
 * and after as a list of what changed. */
import type { paths } from "../../../api/schema";
import type { Schemas } from "../../../api/client";
import { compact } from "./desk";

export type AuditEntry = Schemas["AuditOut"];
type AuditParams = NonNullable<paths["/api/v1/admin/audit"]["get"]["parameters"]["query"]>;
export type AuditAction = NonNullable<AuditParams["action"]>;
export type AuditTarget = NonNullable<AuditParams["target_type"]>;

export const PAGE_SIZE = 50;

export const ACTIONS: readonly AuditAction[] = [
  "account.stop", "breach.acknowledge", "breach.override", "challenge.approve", "payment.settle",
  "program.create", "program.update", "tenant.create", "tenant.update", "user.update",
];
export const TARGETS: readonly AuditTarget[] = ["account", "challenge", "payment", "program", "risk_event", "tenant", "user"];

export interface AuditFilters {
  actor: string;
  action: AuditAction | "";
  targetType: AuditTarget | "";
  target: string;
  /** `datetime-local` values, in the viewer's zone ("" for none). */
  from: string;
  to: string;
}

export const NO_FILTERS: AuditFilters = { actor: "", action: "", targetType: "", target: "", from: "", to: "" };

/** A `datetime-local` value (the viewer's zone) as the UTC instant the API takes. */
export function localToIso(value: string): string | undefined {
  if (!value.trim()) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

/** Why the time range cannot match anything, or null. */
export function rangeProblem(filters: Pick<AuditFilters, "from" | "to">): string | null {
  const from = localToIso(filters.from);
  const to = localToIso(filters.to);
  return from && to && from >= to ? "The end of the range must be after its start." : null;
}

export function auditQuery(filters: AuditFilters, before?: number): AuditParams {
  return compact({
    actor: filters.actor, action: filters.action || undefined, target_type: filters.targetType || undefined,
    target: filters.target, from: localToIso(filters.from), to: localToIso(filters.to), limit: PAGE_SIZE, before,
  }) as AuditParams;
}

export interface DiffLine { key: string; before: string; after: string; changed: boolean }

function shown(value: unknown): string {
  if (value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Every field of the before and the after, in order, each marked changed or not. */
export function diffLines(before: Record<string, unknown> | null, after: Record<string, unknown> | null): DiffLine[] {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].sort();
  return keys.map((key) => {
    const was = before?.[key];
    const now = after?.[key];
    return { key, before: shown(was), after: shown(now), changed: JSON.stringify(was) !== JSON.stringify(now) };
  });
}

/** The entry in a line: "user.update on user 12". */
export function entrySummary(entry: Pick<AuditEntry, "action" | "target_type" | "target_id">): string {
  return `${entry.action} on ${entry.target_type.replace("_", " ")} ${entry.target_id}`;
}
