/** The trade journal: closed trades, newest first (MetaTrader's Positions table). */
import { useState } from "react";
import { dateTime, decimal, price, signedMoney } from "../../../format/numbers";
import { Button, Empty, ErrorState, Loading } from "../../../ui/kit";
import { useTrades } from "./api";

const PAGE = 50;

export function TradesPanel({ login, currency, timeZone }: { login: string; currency: string; timeZone?: string | undefined }) {
  const trades = useTrades(login);
  const [shown, setShown] = useState(PAGE);
  if (trades.isPending) return <Loading label="Loading the trade journal" />;
  if (trades.isError) return <ErrorState error={trades.error} retry={() => void trades.refetch()} />;
  if (trades.data === null) return <Empty>The trade journal is not available on this server yet.</Empty>;
  if (trades.data.length === 0) return <Empty>No closed trade yet.</Empty>;
  const rows = trades.data.slice(0, shown);
  return (
    <div className="flex flex-col gap-3">
      <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Trade journal table">
        <table className="w-full min-w-[44rem] text-sm" data-testid="trades">
          <caption className="sr-only">Closed trades, newest first</caption>
          <thead className="text-left text-xs text-muted">
            <tr>
              <th scope="col" className="py-1 pr-3 font-medium">Closed</th>
              <th scope="col" className="py-1 pr-3 font-medium">Symbol</th>
              <th scope="col" className="py-1 pr-3 font-medium">Type</th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">Volume</th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">Open price</th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">Close price</th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">Commission</th>
              <th scope="col" className="py-1 pr-3 text-right font-medium">Swap</th>
              <th scope="col" className="py-1 text-right font-medium">Profit</th>
            </tr>
          </thead>
          <tbody className="tabular">
            {rows.map((t) => (
              <tr key={t.key} className="border-t border-line">
                <td className="whitespace-nowrap py-1.5 pr-3" title={t.open_time ? `Opened ${dateTime(t.open_time, timeZone)}` : undefined}>
                  {dateTime(t.close_time, timeZone)}
                </td>
                <th scope="row" className="py-1.5 pr-3 text-left font-medium">{t.symbol}</th>
                <td className={`py-1.5 pr-3 ${t.side === "buy" ? "text-good" : t.side === "sell" ? "text-bad" : ""}`}>{t.side ?? "—"}</td>
                <td className="py-1.5 pr-3 text-right">{decimal(t.volume, 2)}</td>
                <td className="py-1.5 pr-3 text-right">{price(t.open_price)}</td>
                <td className="py-1.5 pr-3 text-right">{price(t.close_price)}</td>
                <td className="py-1.5 pr-3 text-right">{signedMoney(t.commission, currency)}</td>
                <td className="py-1.5 pr-3 text-right">{signedMoney(t.swap, currency)}</td>
                <td className={`py-1.5 text-right font-semibold ${(t.net ?? 0) > 0 ? "text-good" : (t.net ?? 0) < 0 ? "text-bad" : ""}`}>
                  {signedMoney(t.net, currency)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="flex items-center justify-between gap-2 text-sm text-muted">
        <span>{rows.length} of {trades.data.length}{trades.data.length >= 200 ? "+" : ""} trades</span>
        {shown < trades.data.length ? (
          <Button tone="secondary" onClick={() => setShown((x) => x + PAGE)}>Show more</Button>
        ) : null}
      </div>
    </div>
  );
}
