/** The engine's answers (breach / objective / passed / resumed) in words, and what each
 * does to the account's status. Pure: the toast hook and the objectives panel use it. */
import { money } from "../../../format/numbers";
import type { RiskEventMessage } from "../../../live/store";
import type { ToastTone } from "../../../ui/toast";

export type AnswerType = "breach" | "objective" | "passed" | "resumed";

export interface Answer {
  /** The answer's id (the risk event's id); history items without one get a derived id. */
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
}

const TYPES: readonly string[] = ["breach", "objective", "passed", "resumed"];

function num(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return null;
}

function str(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** One answer from anything shaped like one: a websocket `event`, an item of
 * `GET /accounts/{login}/events` (fields at the top or under `payload`, `type` or `kind`). */
export function toAnswer(raw: unknown, id?: string | number, account?: string): Answer | null {
  if (typeof raw !== "object" || raw === null) return null;
  const item = raw as Record<string, unknown>;
  const payload = (typeof item.payload === "object" && item.payload !== null ? item.payload : {}) as Record<string, unknown>;
  const field = (name: string): unknown => item[name] ?? payload[name];
  const type = str(field("type")) ?? str(field("kind"));
  if (!type || !TYPES.includes(type)) return null;
  const login = str(field("account")) ?? account ?? "";
  const ts = str(field("ts")) ?? "";
  const given = id ?? (item.id as string | number | undefined);
  const rule = str(field("rule"));
  const objective = str(field("objective")) ?? (type === "objective" ? rule : null);
  return {
    id: given !== undefined && given !== null ? String(given) : `${login}|${type}|${rule ?? objective ?? ""}|${ts}`,
    type: type as AnswerType,
    account: login,
    ts,
    rule,
    objective,
    equity: num(field("equity")),
    floor: num(field("floor")),
    action: str(field("action")),
    lots: num(field("lots")),
    max_lots: num(field("max_lots")),
  };
}

export function fromMessage(message: RiskEventMessage): Answer | null {
  return toAnswer(message.event, message.id);
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
