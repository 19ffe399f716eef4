/** Per-symbol breakdown: a table and the net profit as bars (Recharts: loaded only when
 * the symbols tab opens). */
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { decimal, percent, signedMoney } from "../../../format/numbers";
import { Empty, ErrorState, Loading } from "../../../ui/kit";
import { useSymbols } from "./api";

export default function SymbolsPanel({ login, currency }: { login: string; currency: string }) {
  const symbols = useSymbols(login);
  if (symbols.isPending) return <Loading label="Loading the symbols" />;
  if (symbols.isError) return <ErrorState error={symbols.error} retry={() => void symbols.refetch()} />;
  if (!symbols.data.length) return <Empty>No closed trade yet.</Empty>;
  const rows = [...symbols.data].sort((a, b) => b.net_profit - a.net_profit);
  return (
    <div className="flex flex-col gap-4" data-testid="symbols">
      <div className="relative overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Symbols table">
        <table className="w-full min-w-[26rem] text-sm">
          <caption className="sr-only">Closed trades by symbol</caption>
          <thead className="text-left text-xs text-muted">
            <tr>
              <th scope="col" className="py-1 pr-3 font-medium">Symbol</th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">Trades</th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">Volume</th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">Won</th>
              <th scope="col" className="py-1 text-right font-medium">Net profit</th>
            </tr>
          </thead>
          <tbody className="tabular">
            {rows.map((r) => (
              <tr key={r.symbol} className="border-t border-line">
                <th scope="row" className="py-1.5 pr-3 text-left font-medium">{r.symbol}</th>
                <td className="py-1.5 pr-3 text-right">{r.trades}</td>
                <td className="py-1.5 pr-3 text-right">{decimal(r.volume ?? 0, 2)}</td>
                <td className="py-1.5 pr-3 text-right">
                  {r.won_pct === null || r.won_pct === undefined ? "—" : percent(r.won_pct > 1 ? r.won_pct / 100 : r.won_pct, 1)}
                </td>
                <td className={`py-1.5 text-right font-semibold ${r.net_profit > 0 ? "text-good" : r.net_profit < 0 ? "text-bad" : ""}`}>
                  {signedMoney(r.net_profit, currency)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="w-full" style={{ height: Math.max(160, rows.length * 28 + 40) }} role="img"
        aria-label="Bar chart of the net profit by symbol">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows} layout="vertical" accessibilityLayer={false} margin={{ left: 8, right: 16 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--line)" horizontal={false} />
            <XAxis type="number" stroke="var(--muted)" fontSize={11} />
            <YAxis type="category" dataKey="symbol" stroke="var(--muted)" fontSize={11} width={72} />
            <Tooltip
              formatter={(v) => signedMoney(Number(v), currency)}
              contentStyle={{ background: "var(--surface)", border: "1px solid var(--line)", color: "var(--ink)" }}
              cursor={{ fill: "var(--surface-2)" }}
            />
            <Bar dataKey="net_profit" name="Net profit" isAnimationActive={false}>
              {rows.map((r) => <Cell key={r.symbol} fill={r.net_profit >= 0 ? "var(--good)" : "var(--bad)"} />)}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  );
}
