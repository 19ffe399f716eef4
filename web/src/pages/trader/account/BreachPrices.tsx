/** For each symbol held, the price at which the account touches its nearest floor. */
import { memo } from "react";
import { price } from "../../../format/numbers";
import type { BreachPrice } from "./metrics";

export const BreachPrices = memo(function BreachPrices({ rows, openPositions }:
  { rows: readonly BreachPrice[] | null; openPositions: number | null | undefined }) {
  if (rows === null || rows.length === 0) {
    return (
      <p className="text-sm text-muted" data-testid="breach-prices-empty">
        {rows === null && openPositions
          ? `${openPositions} position${openPositions === 1 ? "" : "s"} open; breach prices are not available yet.`
          : "No open positions: no price can breach a floor."}
      </p>
    );
  }
  return (
    <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Breach prices table">
      <table className="w-full min-w-[22rem] text-sm" data-testid="breach-prices">
        <caption className="sr-only">The price of each symbol at which the account touches a floor</caption>
        <thead className="text-left text-xs text-muted">
          <tr>
            <th scope="col" className="py-1 pr-3 font-medium">Symbol</th>
            <th scope="col" className="py-1 pr-3 font-medium">Side</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Now</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Breach price</th>
            <th scope="col" className="py-1 font-medium">Floor</th>
          </tr>
        </thead>
        <tbody className="tabular">
          {rows.map((row) => (
            <tr key={`${row.symbol}-${row.floor}-${row.side ?? ""}`} className="border-t border-line">
              <th scope="row" className="py-1.5 pr-3 text-left font-medium">{row.symbol}</th>
              <td className="py-1.5 pr-3">{row.side ?? "—"}{row.volume !== null && row.volume !== undefined ? ` ${row.volume}` : ""}</td>
              <td className="py-1.5 pr-3 text-right">{price(row.current)}</td>
              <td className="py-1.5 pr-3 text-right font-semibold text-bad">{price(row.price)}</td>
              <td className="py-1.5">{row.floor === "daily" ? "Daily loss" : "Maximum loss"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
});
