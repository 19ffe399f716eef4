/** The daily P/L calendar: months laid out Monday-first, and the best-day share the
 * consistency rule reads. */

export interface DayPnl {
  date: string;
  net_profit: number;
  trades: number;
}

export interface DayCell {
  date: string;
  day: number;
  pnl: DayPnl | null;
}

export interface MonthGrid {
  year: number;
  /** 1…12 */
  month: number;
  /** Weeks of seven cells, Monday first; null outside the month. */
  weeks: (DayCell | null)[][];
  total: number;
  trades: number;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

export function monthKey(date: string): string {
  return date.slice(0, 7);
}

/** A month's grid with each day's P/L (dates are `YYYY-MM-DD` trading days). */
export function monthGrid(year: number, month: number, days: readonly DayPnl[]): MonthGrid {
  const byDate = new Map(days.map((d) => [d.date, d]));
  const first = new Date(Date.UTC(year, month - 1, 1));
  const length = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const lead = (first.getUTCDay() + 6) % 7; // Monday = 0
  const cells: (DayCell | null)[] = Array.from({ length: lead }, () => null);
  let total = 0;
  let trades = 0;
  for (let d = 1; d <= length; d++) {
    const date = `${year}-${pad(month)}-${pad(d)}`;
    const pnl = byDate.get(date) ?? null;
    if (pnl) {
      total += pnl.net_profit;
      trades += pnl.trades;
    }
    cells.push({ date, day: d, pnl });
  }
  while (cells.length % 7) cells.push(null);
  const weeks: (DayCell | null)[][] = [];
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
  return { year, month, weeks, total: Math.round(total * 100) / 100, trades };
}

/** Every month from the first to the last day with P/L (ascending `YYYY-MM`). */
export function monthsOf(days: readonly DayPnl[], today?: string): string[] {
  const keys = days.map((d) => monthKey(d.date));
  if (today) keys.push(monthKey(today));
  if (!keys.length) return [];
  keys.sort();
  const out: string[] = [];
  let [y, m] = (keys[0] as string).split("-").map(Number) as [number, number];
  const last = keys[keys.length - 1] as string;
  for (;;) {
    const key = `${y}-${pad(m)}`;
    out.push(key);
    if (key >= last) break;
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
  return out;
}

/** The best day's profit and the total closed profit (the consistency rule's reading). */
export function consistencyReading(days: readonly DayPnl[]): { bestDayProfit: number | null; totalProfit: number | null } {
  if (!days.length) return { bestDayProfit: null, totalProfit: null };
  let best = 0;
  let total = 0;
  for (const d of days) {
    total += d.net_profit;
    if (d.net_profit > best) best = d.net_profit;
  }
  return { bestDayProfit: Math.round(best * 100) / 100, totalProfit: Math.round(total * 100) / 100 };
}
