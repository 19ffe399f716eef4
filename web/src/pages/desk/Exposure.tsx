/** The risk desk's "Exposure": the firm's open book per symbol (net and gross lots and
 * notional, like a dealing desk's net position screen), the accounts most concentrated in
 * one symbol and the open positions count; refetched every 5 s while the tab is shown.
 * The chart (Recharts) loads lazily, in its own chunk. */
import { lazy, Suspense, useCallback, useMemo, useState } from "react";
import { Link } from "react-router";
import { DASH, decimal, money, percent, time } from "../../format/numbers";
import { Card, Empty, ErrorState, InfoTip, Loading, PageTitle } from "../../ui/kit";
import { LOCAL_ZONE, useExposure } from "./parts/api";
import { ABS_KEYS, chartRows, side, sortBy, type ConcentratedAccount, type SymbolExposure } from "./parts/exposure";
import { nextSort, type Sort, type SortDirection } from "./parts/floors";
import { DeskNav } from "./parts/DeskNav";
import { SortHeader } from "./parts/SortHeader";

const NetLotsChart = lazy(() => import("./parts/NetLotsChart"));

const TOP = 50;
const CHART_SYMBOLS = 30;

type SymbolKey = "symbol" | "net_lots" | "gross_lots" | "net_notional" | "gross_notional" | "positions" | "accounts";
type AccountKey = "account" | "gross_lots" | "symbols" | "largest_symbol" | "largest_lots" | "concentration_pct";

const textFirstUp = (key: string): SortDirection => (key === "symbol" || key === "account" || key === "largest_symbol" ? "ascending" : "descending");

function signed(value: number, digits = 2): string {
  const text = decimal(value, digits);
  return value > 0 ? `+${text}` : text;
}

function tone(value: number): string {
  return value > 0 ? "text-good" : value < 0 ? "text-bad" : "";
}

function SymbolsTable({ rows }: { rows: readonly SymbolExposure[] }) {
  const [sort, setSort] = useState<Sort<SymbolKey>>({ key: "gross_lots", direction: "descending" });
  const onSort = useCallback((key: SymbolKey) => setSort((s) => nextSort(s, key, textFirstUp)), []);
  const sorted = useMemo(() => sortBy(rows, sort, "symbol", ABS_KEYS), [rows, sort]);
  return (
    <div className="relative overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Exposure by symbol table">
      <table className="w-full min-w-[46rem] text-sm" data-testid="exposure-symbols">
        <caption className="sr-only">
          Open exposure by symbol: net (long minus short) and gross (long plus short) lots and notional,
          notional in the accounts' currency shown per row
        </caption>
        <thead className="text-left text-xs text-muted">
          <tr>
            <SortHeader column="symbol" sort={sort} onSort={onSort}>Symbol</SortHeader>
            <SortHeader column="net_lots" sort={sort} onSort={onSort} align="right">Net lots</SortHeader>
            <SortHeader column="gross_lots" sort={sort} onSort={onSort} align="right">Gross lots</SortHeader>
            <SortHeader column="net_notional" sort={sort} onSort={onSort} align="right">Net notional</SortHeader>
            <SortHeader column="gross_notional" sort={sort} onSort={onSort} align="right">Gross notional</SortHeader>
            <SortHeader column="positions" sort={sort} onSort={onSort} align="right">Positions</SortHeader>
            <SortHeader column="accounts" sort={sort} onSort={onSort} align="right">Accounts</SortHeader>
          </tr>
        </thead>
        <tbody className="tabular">
          {sorted.map((s) => (
            <tr key={`${s.symbol}|${s.currency}`} className="border-t border-line">
              <th scope="row" className="py-1.5 pr-3 text-left font-medium">
                {s.symbol} <span className="text-xs font-normal text-muted">{s.currency}</span>
              </th>
              <td className={`py-1.5 pr-3 text-right ${tone(s.net_lots)}`}>
                {signed(s.net_lots)} <span className="text-xs text-muted">{side(s.net_lots)}</span>
              </td>
              <td className="py-1.5 pr-3 text-right">{decimal(s.gross_lots, 2)}</td>
              <td className={`py-1.5 pr-3 text-right ${tone(s.net_notional)}`}>{money(s.net_notional, s.currency).replace("-", "−")}</td>
              <td className="py-1.5 pr-3 text-right">{money(s.gross_notional, s.currency)}</td>
              <td className="py-1.5 pr-3 text-right">{s.positions}</td>
              <td className="py-1.5 text-right">{s.accounts}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ConcentrationTable({ rows }: { rows: readonly ConcentratedAccount[] }) {
  const [sort, setSort] = useState<Sort<AccountKey>>({ key: "concentration_pct", direction: "descending" });
  const onSort = useCallback((key: AccountKey) => setSort((s) => nextSort(s, key, textFirstUp)), []);
  const sorted = useMemo(() => sortBy(rows, sort, "account"), [rows, sort]);
  return (
    <div className="relative overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Most concentrated accounts table">
      <table className="w-full min-w-[40rem] text-sm" data-testid="exposure-concentrated">
        <caption className="sr-only">
          Accounts most concentrated in one symbol: the largest symbol's share of the account's gross lots
        </caption>
        <thead className="text-left text-xs text-muted">
          <tr>
            <SortHeader column="account" sort={sort} onSort={onSort}>Account</SortHeader>
            <SortHeader column="concentration_pct" sort={sort} onSort={onSort} align="right">Concentration</SortHeader>
            <SortHeader column="largest_symbol" sort={sort} onSort={onSort}>Largest symbol</SortHeader>
            <SortHeader column="largest_lots" sort={sort} onSort={onSort} align="right">Its lots</SortHeader>
            <SortHeader column="gross_lots" sort={sort} onSort={onSort} align="right">Gross lots</SortHeader>
            <SortHeader column="symbols" sort={sort} onSort={onSort} align="right">Symbols</SortHeader>
          </tr>
        </thead>
        <tbody className="tabular">
          {sorted.map((a) => (
            <tr key={a.account} className="border-t border-line">
              <th scope="row" className="py-1.5 pr-3 text-left font-medium">
                <Link to={`/accounts/${encodeURIComponent(a.account)}`} className="font-mono text-brand underline-offset-2 hover:underline">
                  {a.account}
                </Link>
              </th>
              <td className="py-1.5 pr-3 text-right font-semibold">{percent(a.concentration_pct / 100, 1)}</td>
              <td className="py-1.5 pr-3">{a.largest_symbol}</td>
              <td className="py-1.5 pr-3 text-right">{decimal(a.largest_lots, 2)}</td>
              <td className="py-1.5 pr-3 text-right">{decimal(a.gross_lots, 2)}</td>
              <td className="py-1.5 text-right">{a.symbols}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function Exposure() {
  const query = useExposure(TOP);
  const symbols = query.data?.symbols;
  const chart = useMemo(() => (symbols ? chartRows(symbols, CHART_SYMBOLS) : []), [symbols]);
  const updated = query.dataUpdatedAt ? time(new Date(query.dataUpdatedAt), LOCAL_ZONE) : DASH;
  const title = (
    <>
    <PageTitle actions={query.data ? (
      <p className="text-sm text-muted" data-testid="exposure-updated">
        Last updated {updated}{query.isFetching ? " · refreshing" : ""}
      </p>
    ) : null}>
      Exposure
    </PageTitle>
    <DeskNav />
    </>
  );

  if (query.isPending) return <>{title}<Loading label="Loading the firm's exposure" /></>;
  if (query.isError && !query.data) {
    return <>{title}<ErrorState error={query.error} retry={() => void query.refetch()} /></>;
  }
  const data = query.data;
  const accounts = data.symbols.reduce((n, s) => Math.max(n, s.accounts), 0);

  return (
    <div className="flex flex-col gap-4">
      {title}
      {query.isError ? <ErrorState error={query.error} retry={() => void query.refetch()} /> : null}
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3" data-testid="exposure-summary">
        <div className="rounded-lg border border-line bg-surface p-3">
          <dt className="text-xs text-muted">Open positions</dt>
          <dd className="tabular text-2xl font-semibold" data-testid="open-positions-count">{data.open_positions}</dd>
        </div>
        <div className="rounded-lg border border-line bg-surface p-3">
          <dt className="text-xs text-muted">Symbols held</dt>
          <dd className="tabular text-2xl font-semibold">{data.symbols.length}</dd>
        </div>
        <div className="col-span-2 rounded-lg border border-line bg-surface p-3 sm:col-span-1">
          <dt className="text-xs text-muted">Most accounts on one symbol</dt>
          <dd className="tabular text-2xl font-semibold">{accounts}</dd>
        </div>
      </dl>

      {data.symbols.length === 0 ? (
        <Card title="By symbol"><Empty>No open position in the firm.</Empty></Card>
      ) : (
        <>
          <Card title={
            <span className="inline-flex items-center">
              Net lots by symbol
              <InfoTip label="What net lots are">
                Long lots minus short lots of every account on the symbol; green is net long,
                red net short. The {CHART_SYMBOLS} largest either way are drawn.
              </InfoTip>
            </span>
          }>
            <Suspense fallback={<Loading label="Loading the chart" />}>
              <NetLotsChart rows={chart} />
            </Suspense>
          </Card>
          <Card title="By symbol">
            <SymbolsTable rows={data.symbols} />
          </Card>
        </>
      )}

      <Card title={
        <span className="inline-flex items-center">
          Most concentrated accounts
          <InfoTip label="What concentration is">
            The largest symbol's lots as a share of the account's gross lots (long plus short on
            every symbol).
          </InfoTip>
        </span>
      }>
        {data.most_concentrated.length === 0 ? <Empty>No account holds a position.</Empty> : (
          <ConcentrationTable rows={data.most_concentrated} />
        )}
      </Card>
    </div>
  );
}
