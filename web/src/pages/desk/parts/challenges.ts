/** The challenges monitor's logic: its filters as the API takes them, who may approve a
 * phase under review and what the confirmation says. */
import type { Schemas } from "../../../api/client";
import { compact, isAdmin, type Role } from "./desk";

export type DeskChallenge = Schemas["DeskChallengeOut"];
export type ChallengeStatus = DeskChallenge["status"];

export const PAGE_SIZE = 50;

/** Review first: the phases that wait for an admin are what the monitor is for. */
export const STATUS_CHOICES: readonly [ChallengeStatus | "", string][] = [
  ["review", "Under review"],
  ["active", "Active"],
  ["pending_payment", "Awaiting payment"],
  ["passed", "Passed"],
  ["failed", "Failed"],
  ["cancelled", "Cancelled"],
  ["", "Every status"],
];

export interface ChallengeFilters { status: ChallengeStatus | ""; program: string; q: string }

export const DEFAULT_FILTERS: ChallengeFilters = { status: "review", program: "", q: "" };

export function challengeQuery(filters: ChallengeFilters, before?: number) {
  return compact({
    status: filters.status || undefined, program: filters.program, q: filters.q,
    limit: PAGE_SIZE, before,
  });
}

export function traderOf(c: Pick<DeskChallenge, "trader_name" | "trader_email">): string {
  return c.trader_name.trim() ? `${c.trader_name.trim()} (${c.trader_email})` : c.trader_email;
}

/** Why this viewer cannot approve this challenge, or null when they can. */
export function approvalBlock(role: Role | undefined, c: Pick<DeskChallenge, "status">): string | null {
  if (c.status !== "review") return "Only a phase under review is approved.";
  if (!isAdmin(role)) return "Only an admin or the owner approves a phase.";
  return null;
}

/** The confirmation's question: the trader, the phase passed and the phase it opens. */
export function approvalQuestion(c: DeskChallenge): string {
  const passed = c.passed_phase_name ?? "the phase";
  return `Approve ${traderOf(c)}'s ${passed} on ${c.program} (challenge #${c.id})? ${c.phase_name} opens on a new account.`;
}
