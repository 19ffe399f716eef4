/** The desk's panel on an account page: which challenge holds the account, the account's
 * audit trail (its own entries and its challenge's), and whether it can still be stopped. */
import type { DeskChallenge } from "./challenges";
import type { AuditEntry } from "./audit";

/** The challenge one of whose accounts is ``login`` (the search also matches parts). */
export function challengeOf(found: readonly DeskChallenge[] | undefined, login: string): DeskChallenge | null {
  return found?.find((c) => c.accounts.some((a) => a.login === login)) ?? null;
}

/** Entries of several queries, once each, newest first. */
export function trail(...lists: (readonly AuditEntry[] | undefined)[]): AuditEntry[] {
  const byId = new Map<number, AuditEntry>();
  for (const list of lists) for (const entry of list ?? []) byId.set(entry.id, entry);
  return [...byId.values()].sort((a, b) => b.id - a.id);
}

/** An account that still trades can be stopped (the API refuses others with its reason). */
export function stoppable(status: string | undefined): boolean {
  return status === "active" || status === "paused";
}
