/** A history range picked as UTC days: from the first day's start to the last day's end. */
import type { HistoryRange } from "../../trader/account/api";

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function validDay(text: string): boolean {
  if (!DAY.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** `from` and `to` (YYYY-MM-DD, either may be empty: open) as the API's [since, until);
 * an error message instead when a day is not a date or the range is empty. */
export function dayRange(from: string, to: string): { range: HistoryRange } | { error: string } {
  if (from && !validDay(from)) return { error: `From: ${from} is not a date (YYYY-MM-DD).` };
  if (to && !validDay(to)) return { error: `To: ${to} is not a date (YYYY-MM-DD).` };
  if (from && to && from > to) return { error: "From must not be after To." };
  const range: HistoryRange = {};
  if (from) range.since = `${from}T00:00:00Z`;
  if (to) {
    const next = new Date(`${to}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    range.until = next.toISOString().replace(".000Z", "Z");
  }
  return { range };
}
