/** The daily P/L calendar: a month grid coloured by profit and loss, and the days as bars
 * (Recharts: this module is loaded only when the calendar tab opens). */
import { useMemo, useState } from "react";
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { signedMoney } from "../../../format/numbers";
import { Button, Empty } from "../../../ui/kit";
import { monthGrid, monthsOf, type DayPnl } from "./calendar";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTH = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" });

function monthName(key: string): string {
  const [y, m] = key.split("-").map(Number) as [number, number];
  return MONTH.format(new Date(Date.UTC(y, m - 1, 1)));
}

export default function CalendarPanel({ days, currency }: { days: readonly DayPnl[]; currency: string }) {
  const months = useMemo(() => monthsOf(days), [days]);
  const [picked, setPicked] = useState<string | null>(null);
  const key = picked && months.includes(picked) ? picked : months[months.length - 1];
  const index = key ? months.indexOf(key) : -1;
  const grid = useMemo(() => {
    if (!key) return null;
    const [y, m] = key.split("-").map(Number) as [number, number];
    return monthGrid(y, m, days);
  }, [key, days]);
  const bars = useMemo(() => days.filter((d) => key && d.date.startsWith(key))
    .map((d) => ({ day: d.date.slice(8), value: d.net_profit })), [days, key]);
  if (!grid || !key) return <Empty>No trading day yet: the calendar fills as days close.</Empty>;
  return (
    <div className="flex flex-col gap-4" data-testid="calendar">
      <div className="flex items-center justify-between gap-2">
        <Button tone="secondary" aria-label="Previous month" disabled={index <= 0}
          onClick={() => setPicked(months[index - 1] ?? null)}>‹</Button>
        <h3 className="text-base font-semibold" aria-live="polite">{monthName(key)}</h3>
        <Button tone="secondary" aria-label="Next month" disabled={index >= months.length - 1}
          onClick={() => setPicked(months[index + 1] ?? null)}>›</Button>
      </div>
      <table className="w-full table-fixed border-separate border-spacing-1 text-xs sm:text-sm">
        <caption className="sr-only">Daily profit and loss in {monthName(key)}</caption>
        <thead>
          <tr>{WEEKDAYS.map((d) => <th key={d} scope="col" className="font-medium text-muted">{d}</th>)}</tr>
        </thead>
        <tbody>
          {grid.weeks.map((week, w) => (
            <tr key={w}>
              {week.map((cell, i) => {
                if (!cell) return <td key={i} />;
                const p = cell.pnl;
                const tone = !p ? "bg-surface-2 text-muted" : p.net_profit > 0 ? "bg-good text-surface"
                  : p.net_profit < 0 ? "bg-bad text-surface" : "bg-surface-2";
                return (
                  <td key={i} className={`h-14 rounded-md p-1 align-top sm:h-16 ${tone}`} data-date={cell.date}>
                    {/* (dimmed only on a coloured day: muted text on grey is as faint as it may be) */}
                    <div className={`text-[0.7rem] ${p ? "opacity-80" : ""}`}>{cell.day}</div>
                    {p ? (
                      <div className="tabular truncate font-semibold">
                        <span className="sr-only">{cell.date}: </span>
                        {signedMoney(p.net_profit, currency)}
                        <div className="font-normal opacity-80">{p.trades} tr.</div>
                      </div>
                    ) : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="tabular text-sm">
        Month: <span className={grid.total > 0 ? "text-good" : grid.total < 0 ? "text-bad" : ""}>{signedMoney(grid.total, currency)}</span>
        <span className="text-muted"> · {grid.trades} trades</span>
      </p>
      <div className="h-48 w-full" role="img" aria-label={`Bar chart of the daily P/L in ${monthName(key)}`}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={bars} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" vertical={false} />
            <XAxis dataKey="day" stroke="var(--muted)" fontSize={11} />
            <YAxis stroke="var(--muted)" fontSize={11} width={64} />
            <Tooltip
              formatter={(v) => signedMoney(Number(v), currency)}
              contentStyle={{ background: "var(--surface)", border: "1px solid var(--line)", color: "var(--ink)" }}
              cursor={{ fill: "var(--surface-2)" }}
            />
            <Bar dataKey="value" name="P/L" isAnimationActive={false}>
              {bars.map((b) => <Cell key={b.day} fill={b.value >= 0 ? "var(--good)" : "var(--bad)"} />)}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  );
}
