/** A program's rule document in plain words, and each rule's state on an account.
 * The numbers come from the engine (floors, trading days, its answers); this module
 * only compares and words them. */
import { money, percent } from "../format/numbers";

export interface RuleDocument {
  id?: string;
  currency?: string;
  initial_balance?: number;
  day?: { timezone?: string; starts_at?: string };
  rules?: {
    daily_loss?: { limit?: number; amount?: number; of?: string; reference?: string; action?: string };
    max_loss?: { limit?: number; amount?: number; mode?: string; of?: string; lock_at?: number };
    profit_target?: { target: number };
    min_trading_days?: { days: number; count?: string; min_day_profit?: number };
    consistency?: { max_best_day_share: number; on_violation?: string };
    max_exposure?: { lots: number; action?: string };
    inactivity?: { days: number };
  };
}

export type RuleKey = "profit_target" | "daily_loss" | "max_loss" | "min_trading_days" |
  "consistency" | "max_exposure" | "inactivity";

export type ObjectiveState = "met" | "passing" | "at_risk" | "failed" | "pending";

export interface RuleLine {
  rule: RuleKey;
  title: string;
  /** The program's rule in words. */
  words: string;
}

const REFERENCES: Record<string, string> = {
  day_start_balance: "the day's starting balance",
  day_start_equity: "the day's starting equity",
  day_start_max: "the higher of the day's starting balance and equity",
  initial_balance: "the initial balance",
  intraday_peak_equity: "the day's highest equity",
};

const MODES: Record<string, string> = {
  static: "below the initial balance",
  trailing_equity: "below the highest equity reached (it trails upward)",
  trailing_balance: "below the highest closed balance (it trails upward)",
  trailing_eod_balance: "below the highest balance at a day's start (it trails upward)",
};

function lossAmount(rule: { limit?: number; amount?: number }, initial: number, currency: string): string {
  if (rule.amount !== undefined) return money(rule.amount, currency);
  const fraction = rule.limit ?? 0;
  return `${percent(fraction)} (${money(fraction * initial, currency)})`;
}

/** Every rule of the document, in the order a trader reads them. */
export function describeRules(doc: RuleDocument): RuleLine[] {
  const rules = doc.rules ?? {};
  const currency = doc.currency ?? "USD";
  const initial = doc.initial_balance ?? 0;
  const lines: RuleLine[] = [];
  if (rules.profit_target) {
    const t = rules.profit_target.target;
    lines.push({ rule: "profit_target", title: "Profit target",
      words: `Reach a balance of ${money(initial * (1 + t), currency)} (+${percent(t)}) with no position open.` });
  }
  if (rules.daily_loss) {
    const d = rules.daily_loss;
    const reference = REFERENCES[d.reference ?? "day_start_balance"] ?? d.reference;
    const soft = d.action === "pause" ? " Touching it pauses the account until the next trading day."
      : " Touching it fails the account.";
    lines.push({ rule: "daily_loss", title: "Maximum daily loss",
      words: `Equity may not fall ${lossAmount(d, initial, currency)} below ${reference}.${soft}` });
  }
  if (rules.max_loss) {
    const m = rules.max_loss;
    const mode = MODES[m.mode ?? "static"] ?? m.mode;
    const lock = m.lock_at !== undefined
      ? ` The floor stops rising at ${money(initial * (1 + m.lock_at), currency)}.` : "";
    lines.push({ rule: "max_loss", title: "Maximum loss",
      words: `Equity may never fall ${lossAmount(m, initial, currency)} ${mode}.${lock}` });
  }
  if (rules.min_trading_days) {
    const d = rules.min_trading_days;
    const how = d.count === "profitable_day"
      ? `with a closed profit of at least ${money((d.min_day_profit ?? 0) * initial, currency)}`
      : "on which you open a position";
    lines.push({ rule: "min_trading_days", title: "Minimum trading days",
      words: `Trade on at least ${d.days} day${d.days === 1 ? "" : "s"} ${how}.` });
  }
  if (rules.consistency) {
    const c = rules.consistency;
    lines.push({ rule: "consistency", title: "Consistency",
      words: `Your best day may make at most ${percent(c.max_best_day_share, 0)} of your total profit` +
        (c.on_violation === "fail" ? "; otherwise the account fails." : " before you can pass.") });
  }
  if (rules.max_exposure) {
    lines.push({ rule: "max_exposure", title: "Maximum exposure",
      words: `At most ${rules.max_exposure.lots} lots open at once` +
        (rules.max_exposure.action === "warn" ? " (a warning)." : "; more fails the account.") });
  }
  if (rules.inactivity) {
    lines.push({ rule: "inactivity", title: "Inactivity",
      words: `Open a position at least every ${rules.inactivity.days} days.` });
  }
  return lines;
}

export interface AccountReading {
  status: string;
  balance?: number | null;
  equity?: number | null;
  daily_floor?: number | null;
  max_loss_floor?: number | null;
  trading_days?: number | null;
  /** Objectives the engine said were met (its `objective` answers). */
  met: readonly string[];
  /** Rules that breached (its `breach` answers). */
  breached: readonly string[];
  /** The best day's and the total closed profit, from the calendar. */
  bestDayProfit?: number | null;
  totalProfit?: number | null;
}

export interface ObjectiveView extends RuleLine {
  state: ObjectiveState;
  /** 0…1: how far along (targets) or how much is left (loss limits). */
  progress: number | null;
  /** The number behind the bar in words: "$2,340.10 left", "3 of 4 days". */
  detail: string;
}

/** Below this share of the allowed loss left, a loss limit is "at risk". */
export const AT_RISK_SHARE = 0.25;

function clamp(x: number): number {
  return Math.max(0, Math.min(1, x));
}

/** Each rule's state on the account: passing / at risk / failed, met for objectives. */
export function objectiveStates(doc: RuleDocument, reading: AccountReading): ObjectiveView[] {
  const rules = doc.rules ?? {};
  const currency = doc.currency ?? "USD";
  const initial = doc.initial_balance ?? 0;
  const failed = reading.status === "failed" || reading.status === "stopped";
  const passed = reading.status === "passed";
  return describeRules(doc).map((line): ObjectiveView => {
    const breached = reading.breached.includes(line.rule);
    const met = passed || reading.met.includes(line.rule);
    const equity = reading.equity ?? null;
    switch (line.rule) {
      case "profit_target": {
        const goal = initial * (rules.profit_target?.target ?? 0);
        const gained = (reading.balance ?? initial) - initial;
        const progress = goal > 0 ? clamp(gained / goal) : null;
        return { ...line, progress, state: met ? "met" : failed ? "failed" : "pending",
          detail: `${money(Math.max(0, gained), currency)} of ${money(goal, currency)}` };
      }
      case "daily_loss":
      case "max_loss": {
        const floor = line.rule === "daily_loss" ? reading.daily_floor : reading.max_loss_floor;
        const rule = line.rule === "daily_loss" ? rules.daily_loss : rules.max_loss;
        const allowed = rule?.amount ?? (rule?.limit ?? 0) * initial;
        if (floor === null || floor === undefined || equity === null) {
          return { ...line, progress: null, state: breached ? "failed" : "pending", detail: "waiting for numbers" };
        }
        const left = equity - floor;
        const share = allowed > 0 ? clamp(left / allowed) : null;
        const paused = line.rule === "daily_loss" && reading.status === "paused";
        const state: ObjectiveState = breached && (failed || paused) ? "failed"
          : left <= 0 ? "failed" : share !== null && share < AT_RISK_SHARE ? "at_risk" : "passing";
        return { ...line, progress: share, state,
          detail: `${money(Math.max(0, left), currency)} left · floor ${money(floor, currency)}` };
      }
      case "min_trading_days": {
        const need = rules.min_trading_days?.days ?? 0;
        const have = reading.trading_days ?? 0;
        return { ...line, progress: need > 0 ? clamp(have / need) : null,
          state: met || have >= need ? "met" : failed ? "failed" : "pending",
          detail: `${Math.min(have, need)} of ${need} days` };
      }
      case "consistency": {
        const limit = rules.consistency?.max_best_day_share ?? 1;
        const best = reading.bestDayProfit ?? null;
        const total = reading.totalProfit ?? null;
        if (best === null || total === null || total <= 0) {
          return { ...line, progress: null, state: breached ? "failed" : met ? "met" : "pending",
            detail: "no closed profit yet" };
        }
        const share = best / total;
        const state: ObjectiveState = breached ? "failed" : met ? "met"
          : share <= limit ? "passing" : "at_risk";
        return { ...line, progress: clamp(share / Math.max(limit, 1e-9)), state,
          detail: `best day ${percent(share, 0)} of profit (at most ${percent(limit, 0)})` };
      }
      default:
        return { ...line, progress: null, state: breached ? "failed" : failed ? "failed" : "passing",
          detail: breached ? "breached" : "kept" };
    }
  });
}

export const STATE_LABEL: Record<ObjectiveState, string> = {
  met: "Met",
  passing: "Passing",
  at_risk: "At risk",
  failed: "Failed",
  pending: "In progress",
};
