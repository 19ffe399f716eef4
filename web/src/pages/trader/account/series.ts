/** The chart's data: history from `/equity` joined with live points, and the two floors
 * as step lines (reconstructed from the rule document over the history, then taken from
 * the live snapshots as they move). Pure: the chart module only draws what this returns. */
import { tradingDay, type TradingDay } from "../../../format/numbers";
import type { RuleDocument } from "../../../objectives/rules";

/** A point in chart time: whole seconds since the epoch (lightweight-charts' UTCTimestamp). */
export interface Point {
  time: number;
  value: number;
}

export interface EquityRow {
  ts: string;
  equity: number;
  balance: number;
}

export interface LiveRow {
  time: number;
  equity: number | null;
  balance: number | null;
  daily: number | null;
  maxLoss: number | null;
}

export function toSeconds(ts: string | null | undefined, fallback = Date.now()): number {
  const ms = ts ? Date.parse(ts) : NaN;
  return Math.floor((Number.isFinite(ms) ? ms : fallback) / 1000);
}

/** Ascending, one point a second (the later of two in one second wins). */
export function normalise(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.time - b.time);
  const out: Point[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && last.time === p.time) out[out.length - 1] = p;
    else out.push(p);
  }
  return out;
}

/** History then live, seamlessly: the history is the record up to its last point, the
 * live points extend it past that (one a second, the latest of a second winning; a live
 * point the history already covers is dropped, so nothing goes back in time). */
export function joinSeries(history: readonly Point[], live: readonly Point[]): Point[] {
  const h = normalise(history);
  const end = h.length ? (h[h.length - 1] as Point).time : -Infinity;
  return [...h, ...normalise(live).filter((p) => p.time > end)];
}

/** Whether `series.update(point)` is legal after `lastTime` (same second replaces). */
export function canAppend(lastTime: number | null, point: Point): boolean {
  return lastTime === null || point.time >= lastTime;
}

/** Keeps a step line's points to its changes (plus the last point, so it reaches now). */
export function steps(points: readonly Point[]): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    const prev = out[out.length - 1];
    if (!prev || prev.value !== p.value || i === points.length - 1) out.push(p);
  }
  return out;
}

export interface Floors {
  daily: Point[];
  maxLoss: Point[];
}

function cents(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The floors over the history, as the program's rules place them: the maximum loss static
 * or trailing (equity, balance or day-start balance; stopping at `lock_at`), the daily
 * floor from each trading day's start (balance, equity, the higher, the initial balance
 * or the day's peak equity). The history is downsampled, so a day's first point stands for
 * its start; the live snapshots' own floors take over where they begin. */
export function reconstructFloors(rows: readonly EquityRow[], doc: RuleDocument | null | undefined,
  day: TradingDay | null): Floors {
  const daily: Point[] = [];
  const maxLoss: Point[] = [];
  const rules = doc?.rules;
  if (!rows.length || !doc || !rules) return { daily, maxLoss };
  const initial = doc.initial_balance ?? rows[0]!.balance;
  const zone = day ?? { timezone: doc.day?.timezone ?? "UTC", starts_at: doc.day?.starts_at ?? "00:00" };
  const m = rules.max_loss;
  const mAmount = m ? m.amount ?? (m.limit ?? 0) * initial : 0;
  const lockFloor = m?.lock_at !== undefined ? initial * (1 + m.lock_at) : Infinity;
  const d = rules.daily_loss;
  const dAmount = d ? d.amount ?? (d.limit ?? 0) * initial : 0;
  let high = Math.max(initial, rows[0]!.balance);
  let currentDay = "";
  let reference = initial;
  let dayPeak = 0;
  for (const row of rows) {
    const time = toSeconds(row.ts);
    const today = tradingDay(new Date(time * 1000), zone);
    const newDay = today !== currentDay;
    if (newDay) {
      currentDay = today;
      dayPeak = row.equity;
      switch (d?.reference ?? "day_start_balance") {
        case "day_start_equity": reference = row.equity; break;
        case "day_start_max": reference = Math.max(row.balance, row.equity); break;
        case "initial_balance": reference = initial; break;
        default: reference = row.balance;
      }
    }
    dayPeak = Math.max(dayPeak, row.equity);
    if (d) {
      const ref = d.reference === "intraday_peak_equity" ? dayPeak : reference;
      daily.push({ time, value: cents(ref - dAmount) });
    }
    if (m) {
      switch (m.mode ?? "static") {
        case "trailing_equity": high = Math.max(high, row.equity); break;
        case "trailing_balance": high = Math.max(high, row.balance); break;
        case "trailing_eod_balance": if (newDay) high = Math.max(high, row.balance); break;
        default: high = initial;
      }
      maxLoss.push({ time, value: cents(Math.min(high - mAmount, Math.max(lockFloor, initial - mAmount))) });
    }
  }
  return { daily: steps(normalise(daily)), maxLoss: steps(normalise(maxLoss)) };
}

/** Live snapshots are drawn at most this often (4 a second). */
export const FLUSH_MS = 250;

/** Collects the latest live row and hands it out at most every `ms` (the last one wins:
 * a tick between flushes is folded into the next). */
export class Throttle<T> {
  private pending: T | null = null;
  private last = -Infinity;
  constructor(private readonly ms: number, private readonly now: () => number = () => Date.now()) {}

  /** Stores the value; returns it when it may be drawn now, else null. */
  push(value: T): T | null {
    this.pending = value;
    return this.take();
  }

  /** The pending value if its time has come. */
  take(): T | null {
    if (this.pending === null) return null;
    const t = this.now();
    if (t - this.last < this.ms) return null;
    this.last = t;
    const out = this.pending;
    this.pending = null;
    return out;
  }

  get waiting(): boolean {
    return this.pending !== null;
  }
}
