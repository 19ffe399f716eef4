/** The cohorts' charts (Recharts, loaded lazily with this module): pass and fail rates and
 * days to pass or fail per cohort, failed accounts per rule. The table gives the figures. */
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { decimal } from "../../../format/numbers";
import { cohortLabel, type Cohort } from "./cohorts";

const TOOLTIP = { background: "var(--surface)", border: "1px solid var(--line)", color: "var(--ink)" };

function Chart({ label, height = 220, children }: { label: string; height?: number; children: React.ReactElement }) {
  return (
    <div className="w-full" style={{ height }} role="img" aria-label={label}>
      <ResponsiveContainer width="100%" height="100%">{children}</ResponsiveContainer>
    </div>
  );
}

export default function CohortCharts({ rows, failures }: { rows: readonly Cohort[]; failures: { rule: string; accounts: number }[] }) {
  const programs = new Set(rows.map((r) => r.program)).size;
  const data = rows.map((r) => ({
    name: cohortLabel(r, programs), pass: r.pass_rate_pct, fail: r.fail_rate_pct,
    toPass: r.median_days_to_pass, toFail: r.median_days_to_fail,
  }));
  return (
    <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
      <section className="min-w-0">
        <h3 className="mb-1 text-sm font-semibold">Pass and fail rates</h3>
        <Chart label="Bar chart of each cohort's pass and fail rates in percent; the table below gives the figures">
          <BarChart data={data} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" vertical={false} />
            <XAxis dataKey="name" stroke="var(--muted)" fontSize={11} />
            <YAxis stroke="var(--muted)" fontSize={11} width={40} unit="%" />
            <Tooltip formatter={(v) => `${decimal(Number(v), 1)}%`} contentStyle={TOOLTIP} cursor={{ fill: "var(--surface-2)" }} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Bar dataKey="pass" name="Pass rate" fill="var(--good)" isAnimationActive={false} />
            <Bar dataKey="fail" name="Fail rate" fill="var(--bad)" isAnimationActive={false} />
          </BarChart>
        </Chart>
      </section>
      <section className="min-w-0">
        <h3 className="mb-1 text-sm font-semibold">Median days to pass or fail</h3>
        <Chart label="Bar chart of each cohort's median days to pass and to fail; the table below gives the figures">
          <BarChart data={data} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" vertical={false} />
            <XAxis dataKey="name" stroke="var(--muted)" fontSize={11} />
            <YAxis stroke="var(--muted)" fontSize={11} width={40} />
            <Tooltip formatter={(v) => `${decimal(Number(v), 1)} days`} contentStyle={TOOLTIP} cursor={{ fill: "var(--surface-2)" }} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Bar dataKey="toPass" name="To pass" fill="var(--good)" isAnimationActive={false} />
            <Bar dataKey="toFail" name="To fail" fill="var(--bad)" isAnimationActive={false} />
          </BarChart>
        </Chart>
      </section>
      <section className="min-w-0 lg:col-span-2">
        <h3 className="mb-1 text-sm font-semibold">Failures by rule</h3>
        {failures.length === 0 ? <p className="text-sm text-muted">No account failed in these cohorts.</p> : (
          <Chart height={Math.max(120, failures.length * 28 + 40)}
            label="Bar chart of the failed accounts per rule over the cohorts shown; the table below gives the figures">
            <BarChart data={failures} layout="vertical" accessibilityLayer={false} margin={{ left: 8, right: 16 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" horizontal={false} />
              <XAxis type="number" stroke="var(--muted)" fontSize={11} allowDecimals={false} />
              <YAxis type="category" dataKey="rule" stroke="var(--muted)" fontSize={11} width={120} />
              <Tooltip formatter={(v) => [`${Number(v)} accounts`, "Failed"]} contentStyle={TOOLTIP} cursor={{ fill: "var(--surface-2)" }} />
              <Bar dataKey="accounts" name="Failed accounts" fill="var(--bad)" isAnimationActive={false} />
            </BarChart>
          </Chart>
        )}
      </section>
    </div>
  );
}
