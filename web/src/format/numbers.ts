/** Numbers and dates through Intl: money in the account's currency, times in the firm's
 * zone, the trading day as the program defines it. Formatters are cached: building an
 * Intl object costs far more than using one, and live numbers format many times a second. */

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function numberFormat(key: string, make: () => Intl.NumberFormat): Intl.NumberFormat {
  let format = cache.get(key) as Intl.NumberFormat | undefined;
  if (!format) cache.set(key, (format = make()));
  return format;
}

function dateFormat(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let format = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!format) cache.set(key, (format = make()));
  return format;
}

export const DASH = "—";

/** `$1,234.50` (the currency's own symbol and digits; a string amount is taken exactly). */
export function money(value: number | string | null | undefined, currency: string, locale?: string): string {
  if (value === null || value === undefined || value === "") return DASH;
  const amount = typeof value === "string" ? Number(value) : value;
  if (!Number.isFinite(amount)) return DASH;
  return numberFormat(`m|${locale}|${currency}`, () =>
    new Intl.NumberFormat(locale, { style: "currency", currency })).format(amount);
}

/** A signed amount: `+$120.00`, `−$35.10` (a real minus sign), `$0.00`. */
export function signedMoney(value: number | null | undefined, currency: string, locale?: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return numberFormat(`sm|${locale}|${currency}`, () =>
    new Intl.NumberFormat(locale, { style: "currency", currency, signDisplay: "exceptZero" }))
    .format(value).replace("-", "−");
}

/** `12.5%` from a fraction (0.125). */
export function percent(fraction: number | null | undefined, digits = 2, locale?: string): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH;
  return numberFormat(`p|${locale}|${digits}`, () =>
    new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: digits }))
    .format(fraction).replace("-", "−");
}

export function decimal(value: number | null | undefined, digits = 2, locale?: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return numberFormat(`d|${locale}|${digits}`, () =>
    new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 }))
    .format(value).replace("-", "−");
}

/** A price with the digits it was quoted with (at least 2, at most 6). */
export function price(value: number | null | undefined, locale?: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const text = String(value);
  const digits = Math.min(6, Math.max(2, (text.split(".")[1] ?? "").length));
  return numberFormat(`pr|${locale}|${digits}`, () =>
    new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }))
    .format(value);
}

/** `2 Mar 2026, 09:30` in the firm's zone (UTC when the zone is unknown). */
export function dateTime(value: string | Date | null | undefined, timeZone = "UTC", locale?: string): string {
  if (value === null || value === undefined) return DASH;
  const date = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return DASH;
  return dateFormat(`dt|${locale}|${timeZone}`, () => new Intl.DateTimeFormat(locale, {
    timeZone, day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  })).format(date);
}

export function time(value: string | Date | null | undefined, timeZone = "UTC", locale?: string): string {
  if (value === null || value === undefined) return DASH;
  const date = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return DASH;
  return dateFormat(`t|${locale}|${timeZone}`, () => new Intl.DateTimeFormat(locale, {
    timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit",
  })).format(date);
}

/** A calendar date (`2026-03-02`) as `Mon 2 Mar 2026`, without any zone shifting it. */
export function day(isoDate: string, locale?: string): string {
  const [y, m, d] = isoDate.split("-").map(Number);
  if (!y || !m || !d) return isoDate;
  return dateFormat(`day|${locale}`, () => new Intl.DateTimeFormat(locale, {
    timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric",
  })).format(new Date(Date.UTC(y, m - 1, d)));
}

export interface TradingDay {
  timezone: string;
  /** `HH:MM` in that zone. */
  starts_at: string;
}

function zoneParts(date: Date, timeZone: string): Record<string, number> {
  const parts = dateFormat(`parts|${timeZone}`, () => new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  })).formatToParts(date);
  const out: Record<string, number> = {};
  for (const part of parts) if (part.type !== "literal") out[part.type] = Number(part.value);
  return out;
}

/** The trading day (`YYYY-MM-DD`) an instant belongs to: the calendar day in the
 * program's zone, the day starting at `starts_at` (DST-correct: wall-clock time). */
export function tradingDay(instant: Date, day: TradingDay): string {
  const [h = 0, m = 0] = day.starts_at.split(":").map(Number);
  const p = zoneParts(instant, day.timezone);
  const wall = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  const shifted = new Date(wall - (h * 60 + m) * 60_000);
  return shifted.toISOString().slice(0, 10);
}

/** The next instant the trading day starts after `instant` (when the daily floor resets). */
export function nextDayStart(instant: Date, day: TradingDay): Date {
  const today = tradingDay(instant, day);
  // walk forward in 15-minute steps: zones offset by quarter hours, DST shifts by an hour
  let low = instant.getTime();
  let high = low + 26 * 3600_000;
  while (tradingDay(new Date(high), day) === today) high += 3600_000;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (tradingDay(new Date(mid), day) === today) low = mid;
    else high = mid;
  }
  return new Date(high);
}
