/** MetaTrader's report statistics, under its own names, grouped as its report groups them. */
import { decimal, money, percent } from "../../../format/numbers";
import { Empty, ErrorState, Loading } from "../../../ui/kit";
import { useStatistics, type AccountStatistics, type HistoryRange } from "./api";

type Kind = "money" | "count" | "pct" | "ratio" | "seconds" | "share";
type Row = [label: string, key: keyof AccountStatistics, kind: Kind, extra?: [keyof AccountStatistics, Kind]];

const GROUPS: [string, Row[]][] = [
  ["Results", [
    ["Total Net Profit", "total_net_profit", "money"],
    ["Gross Profit", "gross_profit", "money"],
    ["Gross Loss", "gross_loss", "money"],
    ["Profit Factor", "profit_factor", "ratio"],
    ["Expected Payoff", "expected_payoff", "money"],
    ["Recovery Factor", "recovery_factor", "ratio"],
    ["Sharpe Ratio", "sharpe_ratio", "ratio"],
    ["Win rate", "win_rate", "pct"],
    ["Best day share", "best_day_share", "share"],
    ["Trading days", "trading_days", "count"],
  ]],
  ["Drawdown", [
    ["Balance Drawdown Absolute", "balance_drawdown_absolute", "money"],
    ["Balance Drawdown Maximal", "balance_drawdown_maximal", "money", ["balance_drawdown_maximal_pct", "pct"]],
    ["Balance Drawdown Relative", "balance_drawdown_relative", "pct", ["balance_drawdown_relative_money", "money"]],
  ]],
  ["Trades", [
    ["Total Trades", "total_trades", "count"],
    ["Total Deals", "total_deals", "count"],
    ["Short Trades (won %)", "short_trades", "count", ["short_trades_won_pct", "pct"]],
    ["Long Trades (won %)", "long_trades", "count", ["long_trades_won_pct", "pct"]],
    ["Profit Trades (% of total)", "profit_trades", "count", ["profit_trades_pct", "pct"]],
    ["Loss Trades (% of total)", "loss_trades", "count", ["loss_trades_pct", "pct"]],
    ["Largest profit trade", "largest_profit_trade", "money"],
    ["Largest loss trade", "largest_loss_trade", "money"],
    ["Average profit trade", "average_profit_trade", "money"],
    ["Average loss trade", "average_loss_trade", "money"],
  ]],
  ["Runs", [
    ["Maximum consecutive wins ($)", "max_consecutive_wins", "count", ["max_consecutive_wins_money", "money"]],
    ["Maximum consecutive losses ($)", "max_consecutive_losses", "count", ["max_consecutive_losses_money", "money"]],
    ["Maximal consecutive profit (count)", "maximal_consecutive_profit", "money", ["maximal_consecutive_profit_count", "count"]],
    ["Maximal consecutive loss (count)", "maximal_consecutive_loss", "money", ["maximal_consecutive_loss_count", "count"]],
    ["Average consecutive wins", "average_consecutive_wins", "ratio"],
    ["Average consecutive losses", "average_consecutive_losses", "ratio"],
  ]],
  ["Holding and model", [
    ["Minimal position holding time", "minimal_holding_seconds", "seconds"],
    ["Maximal position holding time", "maximal_holding_seconds", "seconds"],
    ["Average position holding time", "average_holding_seconds", "seconds"],
    ["Z-Score", "z_score", "ratio", ["z_score_pct", "pct"]],
    ["AHPR", "ahpr", "ratio", ["ahpr_pct", "pct"]],
    ["GHPR", "ghpr", "ratio", ["ghpr_pct", "pct"]],
    ["LR Correlation", "lr_correlation", "ratio"],
    ["LR Standard Error", "lr_standard_error", "ratio"],
  ]],
];

/** `3d 04:05:06` / `04:05:06` (MetaTrader prints holding times this way). */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  const days = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60]
    .map((x) => String(x).padStart(2, "0")).join(":");
  return days ? `${days}d ${hms}` : hms;
}

function show(value: number | null | undefined, kind: Kind, currency: string): string {
  switch (kind) {
    case "money": return money(value, currency);
    case "count": return decimal(value, 0);
    case "pct": return value === null || value === undefined ? "—" : `${decimal(value, 2)}%`;
    case "share": return percent(value, 1);
    case "seconds": return duration(value);
    default: return decimal(value, 2);
  }
}

export function StatisticsPanel({ login, currency, range }: { login: string; currency: string; range?: HistoryRange }) {
  const stats = useStatistics(login, range);
  if (stats.isPending) return <Loading label="Loading the statistics" />;
  if (stats.isError) return <ErrorState error={stats.error} retry={() => void stats.refetch()} />;
  return <StatisticsTable data={stats.data} currency={currency} />;
}

/** The statistics as given (an account's from the API, or an uploaded report's). */
export function StatisticsTable({ data, currency }: { data: AccountStatistics | undefined; currency: string }) {
  if (!data || !data.total_trades) return <Empty>No closed trade yet: the statistics start with the first one.</Empty>;
  return (
    <div className="grid grid-cols-1 gap-4 md:grid-cols-2" data-testid="statistics">
      {GROUPS.map(([group, rows]) => (
        <section key={group} aria-label={group}>
          <h3 className="mb-1 text-sm font-semibold">{group}</h3>
          <dl className="divide-y divide-line text-sm">
            {rows.map(([label, key, kind, extra]) => (
              <div key={key} className="flex justify-between gap-3 py-1.5">
                <dt className="text-muted">{label}</dt>
                <dd className="tabular text-right">
                  {show(data[key] as number | null | undefined, kind, currency)}
                  {extra ? <span className="text-muted"> ({show(data[extra[0]] as number | null | undefined, extra[1], currency)})</span> : null}
                </dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
    </div>
  );
}
