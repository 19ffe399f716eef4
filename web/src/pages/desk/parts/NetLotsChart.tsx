/** Net lots per symbol as horizontal bars (long right, short left). Recharts lives only in
 * this module, which the exposure page loads with React.lazy. */
import { Bar, BarChart, CartesianGrid, Cell, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { decimal } from "../../../format/numbers";

export default function NetLotsChart({ rows }: { rows: readonly { symbol: string; net_lots: number }[] }) {
  return (
    <div className="w-full" style={{ height: Math.max(160, rows.length * 26 + 40) }} role="img"
      aria-label={`Bar chart of the net lots of the ${rows.length} symbols with the largest net position; the table below gives the figures`}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={rows as { symbol: string; net_lots: number }[]} layout="vertical" accessibilityLayer={false}
          margin={{ left: 8, right: 16 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" horizontal={false} />
          <XAxis type="number" stroke="var(--muted)" fontSize={11} tickFormatter={(v) => decimal(Number(v), 2)} />
          <YAxis type="category" dataKey="symbol" stroke="var(--muted)" fontSize={11} width={72} />
          <ReferenceLine x={0} stroke="var(--muted)" />
          <Tooltip
            formatter={(v) => [`${decimal(Number(v), 2)} lots`, "Net"]}
            contentStyle={{ background: "var(--surface)", border: "1px solid var(--line)", color: "var(--ink)" }}
            cursor={{ fill: "var(--surface-2)" }}
          />
          <Bar dataKey="net_lots" name="Net lots" isAnimationActive={false}>
            {rows.map((r) => <Cell key={r.symbol} fill={r.net_lots >= 0 ? "var(--good)" : "var(--bad)"} />)}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
