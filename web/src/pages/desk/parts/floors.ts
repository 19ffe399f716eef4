/** The nearest-floors list's pure logic: the distance to the nearest floor, sorting and
 * the "show more" window. No React here (parts/*.test.ts test it). */

/** The numbers a distance is computed from (a REST row or the live numbers). */
export interface FloorNumbers {
  equity?: number | null | undefined;
  daily_floor?: number | null | undefined;
  max_loss_floor?: number | null | undefined;
}

export interface Distance {
  /** The floor that binds: the higher of the two. */
  floor: number | null;
  /** Which one binds (the daily floor when both are equal). */
  which: "daily" | "max_loss" | null;
  /** equity − max(daily_floor, max_loss_floor), in the account's currency. */
  money: number | null;
  /** That money as a fraction of the equity (0.05 = 5 % of the equity); null when the
   * equity is 0 or negative. Same base as the gateway's `headroom_pct`. */
  ofEquity: number | null;
}

function finite(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** Distance to the nearest floor = equity − max(daily_floor, max_loss_floor); a missing
 * floor is ignored, no floor at all gives no distance. */
export function distanceToFloor(n: FloorNumbers): Distance {
  const daily = finite(n.daily_floor) ? n.daily_floor : null;
  const maxLoss = finite(n.max_loss_floor) ? n.max_loss_floor : null;
  let floor: number | null = null;
  let which: Distance["which"] = null;
  if (daily !== null && (maxLoss === null || daily >= maxLoss)) {
    floor = daily;
    which = "daily";
  } else if (maxLoss !== null) {
    floor = maxLoss;
    which = "max_loss";
  }
  if (floor === null || !finite(n.equity)) return { floor, which, money: null, ofEquity: null };
  const money = Math.round((n.equity - floor) * 100) / 100;
  const ofEquity = n.equity > 0 ? money / n.equity : null;
  return { floor, which, money, ofEquity };
}

/** The live numbers win field by field over the REST row (a live frame may lack a field). */
export function overlay<T extends FloorNumbers & { status: string }>(
  row: T, live: (FloorNumbers & { status?: string | null }) | undefined,
): FloorNumbers & { status: string } {
  if (!live) return row;
  return {
    status: live.status ?? row.status,
    equity: finite(live.equity) ? live.equity : row.equity,
    daily_floor: live.daily_floor !== undefined ? live.daily_floor : row.daily_floor,
    max_loss_floor: live.max_loss_floor !== undefined ? live.max_loss_floor : row.max_loss_floor,
  };
}

export type FloorSortKey = "distance" | "account" | "status" | "equity";
export type SortDirection = "ascending" | "descending";
export interface Sort<K extends string> { key: K; direction: SortDirection }

export interface FloorRow {
  account: string;
  status: string;
  equity: number;
  daily_floor: number | null;
  max_loss_floor: number | null;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** A row's distance as a sort value: percent of equity first (the gateway's order), rows
 * without one last whichever the direction. */
function distanceValue(row: FloorRow): number | null {
  const d = distanceToFloor(row);
  return d.ofEquity ?? (d.money === null ? null : d.money <= 0 ? -Infinity : null);
}

function compareNullable(a: number | null, b: number | null, sign: number): number {
  if (a === null && b === null) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a === b ? 0 : (a < b ? -1 : 1) * sign;
}

/** A new array sorted by `sort`; ties by account (ascending), so the order is stable. */
export function sortFloors<T extends FloorRow>(rows: readonly T[], sort: Sort<FloorSortKey>): T[] {
  const sign = sort.direction === "ascending" ? 1 : -1;
  const keyed = rows.map((row) => ({ row, d: sort.key === "distance" ? distanceValue(row) : null }));
  keyed.sort((x, y) => {
    let c = 0;
    switch (sort.key) {
      case "distance": c = compareNullable(x.d, y.d, sign); break;
      case "equity": c = compareNullable(x.row.equity, y.row.equity, sign); break;
      case "status": c = collator.compare(x.row.status, y.row.status) * sign; break;
      case "account": c = collator.compare(x.row.account, y.row.account) * sign; break;
    }
    return c || collator.compare(x.row.account, y.row.account);
  });
  return keyed.map((k) => k.row);
}

/** Clicking a column: the same column flips, a new one starts at its natural direction. */
export function nextSort<K extends string>(current: Sort<K>, key: K, initial: (key: K) => SortDirection): Sort<K> {
  if (current.key === key) {
    return { key, direction: current.direction === "ascending" ? "descending" : "ascending" };
  }
  return { key, direction: initial(key) };
}

/** Rows rendered at first and added by each "show more" (a screenful or two: every row
 * drawn is laid out again when its numbers move). */
export const PAGE_ROWS = 100;
/** Rows whose live numbers are subscribed (the socket takes ≤ 200 per connection). */
export const LIVE_ROWS = 100;

/** The rows shown: the first `limit` (never fewer than one page). */
export function windowRows<T>(rows: readonly T[], limit: number): { shown: readonly T[]; hidden: number } {
  const n = Math.max(PAGE_ROWS, Math.floor(limit));
  const shown = rows.length > n ? rows.slice(0, n) : rows;
  return { shown, hidden: rows.length - shown.length };
}

/** The next limit after "show more". */
export function moreRows(limit: number, total: number): number {
  return Math.min(total, Math.max(PAGE_ROWS, limit) + PAGE_ROWS);
}

/** Whether row `index` (in the shown order) gets live numbers. */
export function isLive(index: number): boolean {
  return index < LIVE_ROWS;
}

/** The bar's fill: the distance as a share of `scale` of equity (full bar = 10 % of the
 * equity or more), and its tone. */
export const BAR_SCALE = 0.1;
export function barOf(ofEquity: number | null): { value: number | null; tone: "good" | "warn" | "bad" } {
  if (ofEquity === null) return { value: null, tone: "bad" };
  const value = Math.max(0, Math.min(1, ofEquity / BAR_SCALE));
  const tone = ofEquity < 0.01 ? "bad" : ofEquity < 0.03 ? "warn" : "good";
  return { value, tone };
}
