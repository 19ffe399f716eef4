/** The exposure page's pure logic: sorting the per-symbol and concentration tables, and
 * the chart's rows. */
import type { Schemas } from "../../../api/client";
import type { Sort } from "./floors";

export type SymbolExposure = Schemas["SymbolExposure"];
export type ConcentratedAccount = Schemas["ConcentratedAccount"];

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** A new array sorted by one field (numbers numerically, text by a numeric collator);
 * `abs` sorts a signed number by its size (net lots: the largest either way first);
 * ties by `tie`, ascending. */
export function sortBy<T, K extends keyof T & string>(
  rows: readonly T[], sort: Sort<K>, tie: keyof T & string, abs: ReadonlySet<string> = new Set(),
): T[] {
  const sign = sort.direction === "ascending" ? 1 : -1;
  return [...rows].sort((a, b) => {
    let x = a[sort.key] as unknown;
    let y = b[sort.key] as unknown;
    if (abs.has(sort.key) && typeof x === "number" && typeof y === "number") {
      x = Math.abs(x);
      y = Math.abs(y);
    }
    let c: number;
    if (typeof x === "number" && typeof y === "number") c = x === y ? 0 : x < y ? -1 : 1;
    else c = collator.compare(String(x ?? ""), String(y ?? ""));
    return c * sign || collator.compare(String(a[tie] ?? ""), String(b[tie] ?? ""));
  });
}

/** Net lots are sorted by their size (the largest long or short first). */
export const ABS_KEYS: ReadonlySet<string> = new Set(["net_lots", "net_notional"]);

/** The chart's rows: the symbols with the largest net lots either way, at most `limit`,
 * in that order (the chart reads top to bottom). */
export function chartRows(symbols: readonly SymbolExposure[], limit = 30):
  { symbol: string; net_lots: number }[] {
  return sortBy(symbols, { key: "net_lots", direction: "descending" }, "symbol", ABS_KEYS)
    .slice(0, limit)
    .map((s) => ({ symbol: s.symbol, net_lots: s.net_lots }));
}

/** "Long", "short" or "flat" for a net position (for the words beside a sign). */
export function side(net: number): "long" | "short" | "flat" {
  return net > 0 ? "long" : net < 0 ? "short" : "flat";
}
