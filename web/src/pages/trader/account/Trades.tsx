/** The trade journal: the open positions, then the closed trades newest first
 * (MetaTrader's Positions table: one row a closing deal, its money that deal's). */
import { useMemo } from "react";
import { dateTime, decimal, price, signedMoney } from "../../../format/numbers";
import { Button, Empty, ErrorState, Loading } from "../../../ui/kit";
import { useTradeJournal, type OpenPosition, type Trade } from "./api";
import { journal } from "./journal";

function sideClass(side: "buy" | "sell"): string {
  return side === "buy" ? "text-good" : "text-bad";
}

function tone(value: number): string {
  return value > 0 ? "text-good" : value < 0 ? "text-bad" : "";
}

function OpenPositions({ rows, timeZone }: { rows: readonly OpenPosition[]; timeZone?: string | undefined }) {
  if (!rows.length) return <p className="text-sm text-muted" data-testid="open-positions-empty">No open position.</p>;
  return (
    <div className="relative overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Open positions table">
      <table className="w-full min-w-[32rem] text-sm" data-testid="open-positions">
        <caption className="sr-only">Open positions</caption>
        <thead className="text-left text-xs text-muted">
          <tr>
            <th scope="col" className="py-1 pr-3 font-medium">Opened</th>
            <th scope="col" className="py-1 pr-3 font-medium">Position</th>
            <th scope="col" className="py-1 pr-3 font-medium">Symbol</th>
            <th scope="col" className="py-1 pr-3 font-medium">Type</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Volume</th>
            <th scope="col" className="py-1 text-right font-medium">Open price</th>
          </tr>
        </thead>
        <tbody className="tabular">
          {rows.map((p) => (
            <tr key={p.position} className="border-t border-line">
              <td className="whitespace-nowrap py-1.5 pr-3">{dateTime(p.opened_at, timeZone)}</td>
              <td className="py-1.5 pr-3 font-mono text-xs">{p.position}</td>
              <th scope="row" className="py-1.5 pr-3 text-left font-medium">{p.symbol}</th>
              <td className={`py-1.5 pr-3 ${sideClass(p.side)}`}>{p.side}</td>
              <td className="py-1.5 pr-3 text-right">{decimal(p.volume, 2)}</td>
              <td className="py-1.5 text-right">{price(p.open_price)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ClosedTrades({ rows, currency, timeZone }:
  { rows: readonly Trade[]; currency: string; timeZone?: string | undefined }) {
  return (
    <div className="relative overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Trade journal table">
      <table className="w-full min-w-[56rem] text-sm" data-testid="trades">
        <caption className="sr-only">Closed trades, newest first</caption>
        <thead className="text-left text-xs text-muted">
          <tr>
            <th scope="col" className="py-1 pr-3 font-medium">Closed</th>
            <th scope="col" className="py-1 pr-3 font-medium">Position</th>
            <th scope="col" className="py-1 pr-3 font-medium">Symbol</th>
            <th scope="col" className="py-1 pr-3 font-medium">Type</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Volume</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Open price</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Close price</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Commission</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Swap</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Fee</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Profit</th>
            <th scope="col" className="py-1 text-right font-medium">Net</th>
          </tr>
        </thead>
        <tbody className="tabular">
          {rows.map((t) => (
            <tr key={t.deal} className="border-t border-line">
              <td className="whitespace-nowrap py-1.5 pr-3" title={t.opened_at ? `Opened ${dateTime(t.opened_at, timeZone)}` : undefined}>
                {dateTime(t.closed_at, timeZone)}
              </td>
              <td className="py-1.5 pr-3 font-mono text-xs">{t.position}</td>
              <th scope="row" className="py-1.5 pr-3 text-left font-medium">{t.symbol}</th>
              <td className={`py-1.5 pr-3 ${sideClass(t.side)}`}>{t.side}</td>
              <td className="py-1.5 pr-3 text-right">{decimal(t.volume, 2)}</td>
              <td className="py-1.5 pr-3 text-right">{price(t.open_price)}</td>
              <td className="py-1.5 pr-3 text-right">{price(t.close_price)}</td>
              <td className="py-1.5 pr-3 text-right">{signedMoney(t.commission, currency)}</td>
              <td className="py-1.5 pr-3 text-right">{signedMoney(t.swap, currency)}</td>
              <td className="py-1.5 pr-3 text-right">{signedMoney(t.fee, currency)}</td>
              <td className={`py-1.5 pr-3 text-right ${tone(t.profit)}`}>{signedMoney(t.profit, currency)}</td>
              <td className={`py-1.5 text-right font-semibold ${tone(t.net)}`}>{signedMoney(t.net, currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TradesPanel({ login, currency, timeZone }: { login: string; currency: string; timeZone?: string | undefined }) {
  const query = useTradeJournal(login);
  const { open, trades, more } = useMemo(() => journal(query.data?.pages), [query.data]);
  if (query.isPending) return <Loading label="Loading the trade journal" />;
  if (query.isError && !query.isFetchNextPageError) {
    return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  }
  return (
    <div className="flex flex-col gap-4">
      <section aria-labelledby="journal-open" className="flex flex-col gap-2">
        <h3 id="journal-open" className="text-sm font-semibold">Open positions</h3>
        <OpenPositions rows={open} timeZone={timeZone} />
      </section>
      <section aria-labelledby="journal-closed" className="flex flex-col gap-2">
        <h3 id="journal-closed" className="text-sm font-semibold">Closed trades</h3>
        {trades.length === 0 ? <Empty>No closed trade yet.</Empty> : (
          <ClosedTrades rows={trades} currency={currency} timeZone={timeZone} />
        )}
        {query.isFetchNextPageError ? (
          <ErrorState error={query.error} retry={() => void query.fetchNextPage()} />
        ) : null}
        {trades.length ? (
          <div className="flex items-center justify-between gap-2 text-sm text-muted">
            <span data-testid="trades-count">{trades.length} closed trade{trades.length === 1 ? "" : "s"}{more ? " so far" : ""}</span>
            {more ? (
              <Button tone="secondary" busy={query.isFetchingNextPage}
                onClick={() => void query.fetchNextPage()}>
                Load more
              </Button>
            ) : null}
          </div>
        ) : null}
      </section>
    </div>
  );
}
