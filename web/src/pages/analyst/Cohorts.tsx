/** The analyst's home: program cohorts (accounts by program and opening period) — pass and
 * fail rates, failures by rule, days to pass or fail — as charts and as a table, the table
 * downloadable as CSV (made in the browser). Filters live in the address. */
import { lazy, Suspense, useEffect, useMemo, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { decimal } from "../../format/numbers";
import { Button, Card, Empty, ErrorState, Field, Loading, PageTitle } from "../../ui/kit";
import { AnalystNav } from "./parts/Nav";
import { useCohorts } from "./parts/api";
import { cohortsCsv, failuresByRule, type Cohort } from "./parts/cohorts";
import { dayRange } from "./parts/range";

const CohortCharts = lazy(() => import("./parts/CohortCharts"));

type Period = "day" | "week" | "month";
const PERIODS: Period[] = ["day", "week", "month"];

function download(rows: readonly Cohort[]) {
  const blob = new Blob([cohortsCsv(rows)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = "cohorts.csv";
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function days(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : decimal(value, 1);
}

function CohortTable({ rows }: { rows: readonly Cohort[] }) {
  return (
    <div className="relative overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Cohorts table">
      <table className="w-full min-w-[56rem] text-sm" data-testid="cohorts-table">
        <caption className="sr-only">Cohorts by program and period: outcomes, rates, days to outcome, failures by rule</caption>
        <thead className="text-left text-xs text-muted">
          <tr>
            <th scope="col" className="py-1.5 pr-3">Program</th>
            <th scope="col" className="py-1.5 pr-3">Period</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Accounts</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Passed</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Failed</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Stopped</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Running</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Pass rate</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Fail rate</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Days to pass (avg / median)</th>
            <th scope="col" className="py-1.5 pr-3 text-right">Days to fail (avg / median)</th>
            <th scope="col" className="py-1.5 pr-3">Failures by rule</th>
            <th scope="col" className="py-1.5 text-right">Net profit</th>
          </tr>
        </thead>
        <tbody className="tabular">
          {rows.map((r) => (
            <tr key={`${r.program}|${r.period}`} className="border-t border-line">
              <th scope="row" className="py-1.5 pr-3 text-left font-mono text-xs font-medium">{r.program}</th>
              <td className="py-1.5 pr-3">{r.period.slice(0, 10)}</td>
              <td className="py-1.5 pr-3 text-right">{r.accounts}</td>
              <td className="py-1.5 pr-3 text-right">{r.passed}</td>
              <td className="py-1.5 pr-3 text-right">{r.failed}</td>
              <td className="py-1.5 pr-3 text-right">{r.stopped}</td>
              <td className="py-1.5 pr-3 text-right">{r.running}</td>
              <td className="py-1.5 pr-3 text-right">{decimal(r.pass_rate_pct, 1)}%</td>
              <td className="py-1.5 pr-3 text-right">{decimal(r.fail_rate_pct, 1)}%</td>
              <td className="py-1.5 pr-3 text-right">{days(r.avg_days_to_pass)} / {days(r.median_days_to_pass)}</td>
              <td className="py-1.5 pr-3 text-right">{days(r.avg_days_to_fail)} / {days(r.median_days_to_fail)}</td>
              <td className="py-1.5 pr-3 text-xs">{r.failures_by_rule.map((f) => `${f.rule} ${f.accounts}`).join(", ") || "—"}</td>
              <td className="py-1.5 text-right">{r.net_profit === null ? "—" : decimal(r.net_profit, 2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Filters({ period, program, from, to, onApply }:
  { period: Period; program: string; from: string; to: string; onApply: (changes: Record<string, string>) => void }) {
  const [values, setValues] = useState({ period, program, from, to });
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setValues({ period, program, from, to }), [period, program, from, to]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const picked = dayRange(values.from, values.to);
    setError("error" in picked ? picked.error : null);
    if (!("error" in picked)) onApply({ ...values, program: values.program.trim() });
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Cohort filters" className="grid grid-cols-1 items-end gap-3 sm:grid-cols-2 lg:grid-cols-5">
      <div className="flex flex-col gap-1">
        <label htmlFor="cohort-period" className="text-sm font-medium">Period</label>
        <select id="cohort-period" value={values.period} className="min-h-10 rounded-md border border-line bg-surface px-3 py-2 text-ink"
          onChange={(e) => setValues({ ...values, period: e.target.value as Period })}>
          {PERIODS.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </div>
      <Field label="Program (slug or id; empty: all)" value={values.program} maxLength={256}
        onChange={(e) => setValues({ ...values, program: e.target.value })} />
      <Field label="Opened from (UTC day)" type="date" value={values.from} onChange={(e) => setValues({ ...values, from: e.target.value })} />
      <Field label="Opened to (UTC day, included)" type="date" value={values.to} onChange={(e) => setValues({ ...values, to: e.target.value })} />
      <Button type="submit" tone="secondary">Show</Button>
      {error ? <p role="alert" className="text-sm text-bad sm:col-span-2 lg:col-span-5">{error}</p> : null}
    </form>
  );
}

export default function Cohorts() {
  const [params, setParams] = useSearchParams();
  const period = (PERIODS as string[]).includes(params.get("period") ?? "") ? params.get("period") as Period : "month";
  const program = params.get("program") ?? "";
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const picked = dayRange(from, to);
  const query = useCohorts(period, program, "error" in picked ? {} : picked.range);
  const rows = query.data;
  const failures = useMemo(() => failuresByRule(rows ?? []), [rows]);
  const apply = (changes: Record<string, string>) => {
    const next = new URLSearchParams();
    for (const [key, value] of Object.entries(changes)) if (value) next.set(key, value);
    setParams(next);
  };
  return (
    <div className="flex flex-col gap-4">
      <PageTitle actions={rows && rows.length ? (
        <Button tone="secondary" onClick={() => download(rows)}>Download CSV</Button>
      ) : null}>Cohorts</PageTitle>
      <AnalystNav />
      <Card><Filters period={period} program={program} from={from} to={to} onApply={apply} /></Card>
      {"error" in picked ? <ErrorState error={new Error(picked.error)} /> : query.isPending ? <Loading label="Loading the cohorts" />
        : query.isError ? <ErrorState error={query.error} retry={() => void query.refetch()} />
        : query.data.length === 0 ? <Empty>No account opened in these cohorts.</Empty> : (
          <>
            <Card title="Outcomes">
              <Suspense fallback={<Loading label="Loading the charts" />}>
                <CohortCharts rows={query.data} failures={failures} />
              </Suspense>
            </Card>
            <Card title="By program and period">
              <CohortTable rows={query.data} />
            </Card>
          </>
        )}
    </div>
  );
}
