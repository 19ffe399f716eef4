/** Numbers derived from one live snapshot (AccountMetrics): today's P/L, the distance to
 * each floor, the breach prices. Pure and cheap: they run on every tick of every shown
 * account. */
import type { RuleDocument } from "../../../objectives/rules";
import type { AccountMetrics, BreachPrice } from "./api";

/** Equity − the equity at the start of the trading day; null when either is unknown. */
export function todayPnl(m: AccountMetrics | undefined): number | null {
  const start = m?.day_start_equity;
  const equity = m?.equity;
  if (start === null || start === undefined || equity === null || equity === undefined) return null;
  return Math.round((equity - start) * 100) / 100;
}

/** Trading days as the program's min_trading_days counts them (the engine's count). */
export function tradingDays(m: AccountMetrics | undefined): number | null {
  return m?.trading_days ?? null;
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

/** The snapshot's breach prices: [] when the account has no floor or no position, null
 * when the numbers do not carry them (cached before the field existed, or none yet). */
export function breachPrices(m: AccountMetrics | undefined): readonly BreachPrice[] | null {
  return m?.breach_prices ?? null;
}

/** Decimals to show a breach price with: six significant figures, 2 to 6 decimals
 * (EURUSD 1.07123, USDJPY 151.234, XAUUSD 2315.12). The engine's price is an exact
 * solution, a raw float with every digit. */
export function breachDigits(price: number): number {
  const magnitude = price === 0 ? 0 : Math.floor(Math.log10(Math.abs(price)));
  return Math.min(6, Math.max(2, 5 - magnitude));
}

/** The breach price rounded to those decimals on the safe side: a net long breaches when
 * the bid falls to it (rounded up), a net short when the ask rises to it (rounded down). */
export function breachPriceShown(row: Pick<BreachPrice, "price" | "quote">): { value: number; digits: number } | null {
  if (row.price === null) return null;
  const digits = breachDigits(row.price);
  const scale = 10 ** digits;
  const scaled = Number((row.price * scale).toPrecision(12)); // 1.0712 * 1e5 is 107119.99999999999
  const value = (row.quote === "ask" ? Math.floor(scaled) : Math.ceil(scaled)) / scale;
  return { value, digits };
}

/** Effective status: the engine's latest answer, else the live snapshot, else the REST row. */
export function effectiveStatus(override: string | undefined, live: AccountMetrics | undefined, row: string | undefined): string {
  return override ?? live?.status ?? row ?? "active";
}
