/** The desk's alert feed, pure: one alert per engine answer whether it came from
 * `GET /risk/events` or a live `risk_event`, merged newest first, filtered, counted. */
import type { Schemas } from "../../api/client";
import { money } from "../../format/numbers";
import type { RiskEventMessage } from "../../live/store";
import { answerText, fromMessage, statusAfter, type Answer } from "../trader/account/answers";

export type RiskEventOut = Schemas["RiskEventOut"];
export type AlertKind = "breach" | "objective" | "passed" | "resumed";
export type AlertState = "open" | "acknowledged" | "overridden";

export interface Alert {
  id: string;
  account: string;
  kind: AlertKind;
  rule: string | null;
  ts: string;
  /** Epoch ms of `ts` (NaN-safe: 0 when unreadable), for ordering. */
  at: number;
  state: AlertState;
  acknowledged: boolean;
  overridden: boolean;
  /** The breach's action (fail / pause / warn) when the engine said it. */
  action: string | null;
  equity: number | null;
  floor: number | null;
  lots: number | null;
  maxLots: number | null;
  /** The account's status now (REST), or what the answer left it in (live). */
  accountStatus: string | null;
  replacement: string | null;
  overrideReason: string | null;
  program: string | null;
  trader: string | null;
  currency: string;
  /** The engine's answer as the trader's app words it. */
  answer: Answer;
  /** Came from the websocket and not yet seen in a REST answer. */
  live: boolean;
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function instant(ts: string): number {
  const at = Date.parse(ts);
  return Number.isNaN(at) ? 0 : at;
}

const KINDS: readonly AlertKind[] = ["breach", "objective", "passed", "resumed"];

function kindOf(value: unknown): AlertKind {
  return KINDS.includes(value as AlertKind) ? (value as AlertKind) : "breach";
}

function build(base: {
  id: string; account: string; kind: AlertKind; rule: string | null; ts: string;
  acknowledged: boolean; overridden: boolean; accountStatus: string | null;
  replacement: string | null; overrideReason: string | null; line: Readonly<Record<string, unknown>>;
  live: boolean;
}): Alert {
  const { line } = base;
  const answer = fromMessage({
    id: base.id,
    event: { ...line, type: base.kind, account: base.account, ts: base.ts, rule: base.rule ?? line.rule } as RiskEventMessage["event"],
  });
  answer.replacement_account = base.replacement;
  return {
    id: base.id,
    account: base.account,
    kind: base.kind,
    rule: base.rule,
    ts: base.ts,
    at: instant(base.ts),
    state: base.overridden ? "overridden" : base.acknowledged ? "acknowledged" : "open",
    acknowledged: base.acknowledged,
    overridden: base.overridden,
    action: str(line.action),
    equity: num(line.equity),
    floor: num(line.floor),
    lots: num(line.lots),
    maxLots: num(line.max_lots),
    accountStatus: base.accountStatus,
    replacement: base.replacement,
    overrideReason: base.overrideReason,
    program: str(line.program) ?? str(line.program_id),
    trader: str(line.trader) ?? str(line.email) ?? str(line.user),
    currency: str(line.currency) ?? "USD",
    answer,
    live: base.live,
  };
}

/** An item of `GET /risk/events` (the engine's line is its `payload`). */
export function fromRiskEvent(item: RiskEventOut): Alert {
  const line = (item.payload ?? {}) as Readonly<Record<string, unknown>>;
  return build({
    id: item.id,
    account: item.account,
    kind: kindOf(item.kind),
    rule: item.rule ?? str(line.rule) ?? str(line.objective),
    ts: item.ts,
    acknowledged: item.acknowledged_at !== null,
    overridden: item.overridden_at !== null,
    accountStatus: item.account_status,
    replacement: item.replacement_account,
    overrideReason: item.override_reason,
    line,
    live: false,
  });
}

/** A live `risk_event` frame: new, so open. */
export function fromLive(message: RiskEventMessage): Alert {
  const line = message.event as Readonly<Record<string, unknown>>;
  const kind = kindOf(message.event.type);
  const alert = build({
    id: message.id,
    account: message.event.account,
    kind,
    rule: str(line.rule) ?? str(line.objective),
    ts: message.event.ts,
    acknowledged: false,
    overridden: false,
    accountStatus: null,
    replacement: null,
    overrideReason: null,
    line,
    live: true,
  });
  alert.accountStatus = statusAfter(alert.answer);
  return alert;
}

/** Newest first; ties by id so the order is stable. */
export function byNewest(a: Alert, b: Alert): number {
  return b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** One list from the REST history and the live alerts: one alert per id, the REST
 * answer winning (it knows what the desk did), newest first, at most `cap`. */
export function mergeAlerts(history: readonly Alert[], live: readonly Alert[], cap = Infinity): Alert[] {
  const byId = new Map<string, Alert>();
  for (const alert of live) if (!byId.has(alert.id)) byId.set(alert.id, alert);
  for (const alert of history) byId.set(alert.id, alert);
  const all = [...byId.values()].sort(byNewest);
  return all.length > cap ? all.slice(0, cap) : all;
}

/** Adds a batch of live alerts to those kept (deduplicated by id, newest first, capped). */
export function addLive(kept: readonly Alert[], batch: readonly Alert[], cap = 1000): Alert[] {
  if (batch.length === 0) return kept as Alert[];
  const seen = new Set(kept.map((a) => a.id));
  const fresh: Alert[] = [];
  for (const alert of batch) {
    if (seen.has(alert.id)) continue;
    seen.add(alert.id);
    fresh.push(alert);
  }
  if (fresh.length === 0) return kept as Alert[];
  const all = [...fresh, ...kept].sort(byNewest);
  return all.length > cap ? all.slice(0, cap) : all;
}

export interface Filters {
  kind: AlertKind | "all";
  state: AlertState | "all";
  /** Matches the account's login or the trader, case-insensitively. */
  text: string;
  program: string;
}

export const NO_FILTERS: Filters = { kind: "all", state: "all", text: "", program: "" };

export function applyFilters(alerts: readonly Alert[], filters: Filters): Alert[] {
  const text = filters.text.trim().toLowerCase();
  return alerts.filter((a) =>
    (filters.kind === "all" || a.kind === filters.kind) &&
    (filters.state === "all" || a.state === filters.state) &&
    (filters.program === "" || a.program === filters.program) &&
    (text === "" || a.account.toLowerCase().includes(text) || (a.trader ?? "").toLowerCase().includes(text)));
}

/** The programs the alerts name (the program filter is shown only when there are some). */
export function programsOf(alerts: readonly Alert[]): string[] {
  return [...new Set(alerts.map((a) => a.program).filter((p): p is string => p !== null))].sort();
}

/** The breaches that need the desk: neither acknowledged nor overridden. */
export function openCount(alerts: readonly Alert[]): number {
  let n = 0;
  for (const a of alerts) if (a.kind === "breach" && a.state === "open") n += 1;
  return n;
}

/** `(3) Risk desk — Firm` (no count when nothing is open). */
export function deskTitle(open: number, firm: string): string {
  const base = firm ? `Risk desk — ${firm}` : "Risk desk";
  return open > 0 ? `(${open}) ${base}` : base;
}

/** What the alert is about, in a few words: how far below its floor the account went
 * (floor − equity), the lots over the limit, or the objective met. */
export function amountText(alert: Alert): string {
  if (alert.kind === "breach") {
    if (alert.lots !== null) return `${alert.lots} lots (max ${alert.maxLots ?? "?"})`;
    if (alert.floor !== null && alert.equity !== null) {
      return `${money(alert.floor - alert.equity, alert.currency)} below the floor`;
    }
    return "—";
  }
  return answerText(alert.answer, alert.currency).title;
}

/** The rule in words (reusing the trader app's names). */
export function ruleText(alert: Alert): string {
  if (!alert.rule) return "—";
  const title = answerText({ ...alert.answer, lots: null, equity: null }, alert.currency).title;
  return alert.kind === "breach" ? title.replace(/ (breached|exceeded)$/, "") : alert.rule.replace(/_/g, " ");
}

/** An override takes only a breach that failed the account, once. */
export function canOverride(alert: Alert): boolean {
  return alert.kind === "breach" && !alert.overridden && (alert.action === "fail" || alert.accountStatus === "failed");
}

/** A stop takes an account that still trades (a live alert that says nothing of the
 * account's status is offered too: the API refuses a stop it cannot make). */
export function canStop(alert: Alert): boolean {
  return alert.accountStatus === "active" || alert.accountStatus === "paused" ||
    (alert.live && alert.accountStatus === null);
}

export interface DeskPrefs {
  sound: boolean;
  notify: boolean;
}

export const DEFAULT_PREFS: DeskPrefs = { sound: false, notify: false };

export function prefsKey(userId: number): string {
  return `proptrade.desk.alerts.${userId}`;
}

export function readPrefs(storage: Pick<Storage, "getItem"> | undefined, userId: number): DeskPrefs {
  try {
    const raw = storage?.getItem(prefsKey(userId));
    if (!raw) return DEFAULT_PREFS;
    const parsed = JSON.parse(raw) as Partial<DeskPrefs>;
    return { sound: parsed.sound === true, notify: parsed.notify === true };
  } catch {
    return DEFAULT_PREFS;
  }
}

export function writePrefs(storage: Pick<Storage, "setItem"> | undefined, userId: number, prefs: DeskPrefs): void {
  try {
    storage?.setItem(prefsKey(userId), JSON.stringify(prefs));
  } catch {
    // private mode or full: the choice lasts for this page only
  }
}
