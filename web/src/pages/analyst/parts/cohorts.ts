/** Cohorts as the analyst's table and CSV give them: one row per program and period,
 * failures by rule summed over the rows shown. */
import type { Schemas } from "../../../api/client";

export type Cohort = Schemas["CohortOut"];

export const COLUMNS: [key: keyof Cohort, label: string][] = [
  ["program", "Program"], ["period", "Period"], ["accounts", "Accounts"], ["passed", "Passed"],
  ["failed", "Failed"], ["stopped", "Stopped"], ["running", "Running"], ["pass_rate_pct", "Pass rate %"],
  ["fail_rate_pct", "Fail rate %"], ["avg_days_to_pass", "Avg days to pass"], ["median_days_to_pass", "Median days to pass"],
  ["avg_days_to_fail", "Avg days to fail"], ["median_days_to_fail", "Median days to fail"], ["trades", "Trades"],
  ["lots", "Lots"], ["net_profit", "Net profit"],
];

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, its
 * quotes doubled; text a spreadsheet would run as a formula (=, +, -, @ first) is
 * prefixed with an apostrophe. Numbers are written as they are. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : String(value);
  if (typeof value !== "number" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The table as CSV: a header row, one row per cohort, failures by rule as "rule: n"
 * pairs in one field; CRLF line ends. */
export function cohortsCsv(rows: readonly Cohort[]): string {
  const header = [...COLUMNS.map(([, label]) => label), "Failures by rule"];
  const lines = [header.map(csvField).join(",")];
  for (const row of rows) {
    const failures = row.failures_by_rule.map((f) => `${f.rule}: ${f.accounts}`).join("; ");
    lines.push([...COLUMNS.map(([key]) => csvField(row[key])), csvField(failures)].join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

/** Failed accounts per rule over the cohorts shown, most first (ties by rule name). */
export function failuresByRule(rows: readonly Cohort[]): { rule: string; accounts: number }[] {
  const totals = new Map<string, number>();
  for (const row of rows) for (const f of row.failures_by_rule) totals.set(f.rule, (totals.get(f.rule) ?? 0) + f.accounts);
  return [...totals].map(([rule, accounts]) => ({ rule, accounts }))
    .sort((a, b) => b.accounts - a.accounts || a.rule.localeCompare(b.rule));
}

/** A cohort's name on a chart axis. */
export function cohortLabel(row: Cohort, programs: number): string {
  const period = row.period.slice(0, 10);
  return programs > 1 ? `${row.program} ${period}` : period;
}
