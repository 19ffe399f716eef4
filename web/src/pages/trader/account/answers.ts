/** The engine's answers (breach / objective / passed / resumed) in words, and what each
 * does to the account's status. Pure: the toast hook and the objectives panel use it. */
import { money } from "../../../format/numbers";
import type { EngineAnswer, RiskEventMessage } from "../../../live/store";
import type { ToastTone } from "../../../ui/toast";
import type { AccountEvent } from "./api";

export type AnswerType = EngineAnswer["type"];

export interface Answer {
  /** The answer's stable id (`<partition>:<seq>:<n>`): the same on the websocket and in
   * `GET /accounts/{login}/events`, so one answer is one item however it arrived. */
  id: string;
  type: AnswerType;
  account: string;
  ts: string;
  rule?: string | null;
  objective?: string | null;
  equity?: number | null;
  floor?: number | null;
  action?: string | null;
  lots?: number | null;
  max_lots?: number | null;
  /** Set once the risk desk overrode this failure: the account the challenge went on on. */
  replacement_account?: string | null;
}

// The engine's line (a breach: equity, floor or lots / max_lots, action; an objective:
// objective) is typed neither by the OpenAPI document (an object) nor by the socket
// module (loose fields): each detail is checked as it is read.
function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function details(line: Readonly<Record<string, unknown>>) {
  return {
    equity: num(line.equity),
    floor: num(line.floor),
    action: str(line.action),
    lots: num(line.lots),
    max_lots: num(line.max_lots),
  };
}

/** What makes two answers one whatever their id: account, kind, rule and instant. */
export function answerKey(a: Pick<Answer, "account" | "type" | "rule" | "objective" | "ts">): string {
  const instant = Date.parse(a.ts);
  return `${a.account}|${a.type}|${a.rule ?? a.objective ?? ""}|${Number.isNaN(instant) ? a.ts : instant}`;
}

/** An answer from the engine's line and its id (a websocket `risk_event`). */
export function toAnswer(line: EngineAnswer, id: string | null): Answer {
  const rule = str(line.rule);
  const objective = str(line.objective);
  const answer: Answer = {
    id: "",
    type: line.type,
    account: line.account,
    ts: line.ts,
    rule: rule ?? (line.type === "objective" ? objective : null),
    objective: line.type === "objective" ? objective ?? rule : null,
    ...details(line),
  };
  // an answer without an id (none is sent so) is known by what it says
  answer.id = id ? id : answerKey(answer);
  return answer;
}

export function fromMessage(message: RiskEventMessage): Answer {
  return toAnswer(message.event, message.id);
}

/** An item of `GET /accounts/{login}/events`: its kind, rule (the breached rule or the
 * objective met), time and account at the top, the engine's line under `event`. */
export function fromAccountEvent(item: AccountEvent): Answer {
  return {
    id: item.id,
    type: item.kind,
    account: item.account,
    ts: item.ts,
    rule: item.rule,
    objective: item.kind === "objective" ? item.rule : null,
    ...details(item.event as Readonly<Record<string, unknown>>),
    replacement_account: item.replacement_account,
  };
}

const BREACH_NAMES: Record<string, string> = {
  daily_loss: "Daily loss limit",
  max_loss: "Maximum loss limit",
  max_exposure: "Maximum exposure",
  consistency: "Consistency rule",
  inactivity: "Inactivity rule",
  profit_target: "Profit target",
  min_trading_days: "Minimum trading days",
};

const OBJECTIVE_NAMES: Record<string, string> = {
  profit_target: "Profit target",
  min_trading_days: "Minimum trading days",
  consistency: "Consistency",
};

function words(key: string | null | undefined, names: Record<string, string>): string {
  if (!key) return "A rule";
  const known = names[key];
  if (known) return known;
  const plain = key.replace(/_/g, " ");
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

export interface AnswerText {
  title: string;
  body: string;
  tone: ToastTone;
}

/** The toast for an answer: the rule and the amount, e.g.
 * "Daily loss limit breached — equity $94,999.50 at floor $95,000.00". */
export function answerText(answer: Answer, currency = "USD"): AnswerText {
  const account = answer.account ? `Account ${answer.account}` : "The account";
  switch (answer.type) {
    case "breach": {
      const name = words(answer.rule, BREACH_NAMES);
      let amount = "";
      if (answer.lots !== null && answer.lots !== undefined) {
        amount = ` — ${answer.lots} lots open, at most ${answer.max_lots ?? "?"}`;
      } else if (answer.equity !== null && answer.equity !== undefined) {
        amount = ` — equity ${money(answer.equity, currency)}` +
          (answer.floor !== null && answer.floor !== undefined ? ` at floor ${money(answer.floor, currency)}` : "");
      }
      const verb = answer.action === "warn" ? "exceeded" : "breached";
      const what = answer.action === "pause" ? `${account} is paused until the next trading day.`
        : answer.action === "warn" ? `${account}: a warning, trading goes on.`
        : `${account} has failed.`;
      return { title: `${name} ${verb}${amount}`, body: what, tone: "bad" };
    }
    case "objective":
      return { title: `${words(answer.objective ?? answer.rule, OBJECTIVE_NAMES)} objective met`,
        body: `${account} met an objective.`, tone: "good" };
    case "passed":
      return { title: "Phase passed", body: `${account} passed every objective.`, tone: "good" };
    case "resumed":
      return { title: "Trading resumed", body: `${account} is active again for the new trading day.`, tone: "info" };
  }
}

/** The status an answer leaves the account in, or null when it changes none. */
export function statusAfter(answer: Answer): string | null {
  switch (answer.type) {
    case "breach":
      return answer.action === "fail" ? "failed" : answer.action === "pause" ? "paused" : null;
    case "passed":
      return "passed";
    case "resumed":
      return "active";
    default:
      return null;
  }
}

/** Which rules the answers say were met and which breached (for objectiveStates). */
export function metAndBreached(answers: readonly Answer[]): { met: string[]; breached: string[] } {
  const met = new Set<string>();
  const breached = new Set<string>();
  for (const a of answers) {
    if (a.type === "objective") {
      const key = a.objective ?? a.rule;
      if (key) met.add(key);
    } else if (a.type === "breach" && a.rule && a.action !== "warn") {
      breached.add(a.rule);
    }
  }
  return { met: [...met], breached: [...breached] };
}
