/** Numbers derived from one live snapshot: today's P/L, the distance to each floor, the
 * breach prices. Pure and cheap: they run on every tick of every shown account. */
import type { Metrics } from "../../../live/store";
import type { RuleDocument } from "../../../objectives/rules";

// The fields below are added to the live snapshot with issue 12's backend; schema
// regenerated on merge. Each is optional: an older gateway sends none of them.
export interface BreachPrice {
  symbol: string;
  price: number;
  floor: "daily" | "max_loss";
  side?: string | null;
  volume?: number | null;
  /** The symbol's current price, when the gateway sends it. */
  current?: number | null;
}

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** The value today's P/L is counted from: `day_start_equity`, else `day_start_balance`. */
export function dayStart(m: Metrics | undefined): number | null {
  if (!m) return null;
  return finite(m.day_start_equity) ?? finite(m.day_start_balance);
}

/** Equity − the day-start value; null when the snapshot carries no day start. */
export function todayPnl(m: Metrics | undefined): number | null {
  const start = dayStart(m);
  const equity = finite(m?.equity);
  return start === null || equity === null ? null : Math.round((equity - start) * 100) / 100;
}

export function tradingDays(m: Metrics | undefined): number | null {
  return finite(m?.trading_days);
}

/** The loss a floor rule allows, in money (its `amount`, else `limit` × initial balance). */
export function allowedLoss(doc: RuleDocument | null | undefined, which: "daily" | "max_loss"): number | null {
  if (!doc?.rules) return null;
  const rule = which === "daily" ? doc.rules.daily_loss : doc.rules.max_loss;
  if (!rule) return null;
  if (rule.amount !== undefined) return rule.amount;
  if (rule.limit === undefined || doc.initial_balance === undefined) return null;
  return rule.limit * doc.initial_balance;
}

export interface FloorDistance {
  /** Money between equity and the floor (never below 0). */
  left: number;
  /** The share of the allowed loss still left, 0…1, or null when the rule is unknown. */
  share: number | null;
  floor: number;
}

export function floorDistance(equity: number | null | undefined, floor: number | null | undefined,
  allowed: number | null): FloorDistance | null {
  if (equity === null || equity === undefined || floor === null || floor === undefined) return null;
  const left = Math.max(0, Math.round((equity - floor) * 100) / 100);
  const share = allowed && allowed > 0 ? Math.max(0, Math.min(1, left / allowed)) : null;
  return { left, share, floor };
}

export function distanceTone(share: number | null): "good" | "warn" | "bad" | "brand" {
  if (share === null) return "brand";
  if (share <= 0) return "bad";
  return share < 0.25 ? "warn" : "good";
}

/** The snapshot's breach prices, validated; null when it carries none. */
export function breachPrices(m: Metrics | undefined): BreachPrice[] | null {
  const raw = m?.breach_prices;
  if (!Array.isArray(raw)) return null;
  const out: BreachPrice[] = [];
  for (const item of raw as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const r = item as Record<string, unknown>;
    const price = finite(r.price);
    if (typeof r.symbol !== "string" || price === null) continue;
    out.push({
      symbol: r.symbol,
      price,
      floor: r.floor === "daily" ? "daily" : "max_loss",
      side: typeof r.side === "string" ? r.side : null,
      volume: finite(r.volume),
      current: finite(r.current) ?? finite(r.bid) ?? null,
    });
  }
  return out;
}

/** Effective status: the engine's latest answer, else the live snapshot, else the REST row. */
export function effectiveStatus(override: string | undefined, live: Metrics | undefined, row: string | undefined): string {
  return override ?? live?.status ?? row ?? "active";
}
