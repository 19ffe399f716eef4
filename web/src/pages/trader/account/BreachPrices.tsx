/** For each symbol held, the price at which the account touches its nearest floor (the
 * bid for a symbol held net long, the ask for one held net short). */
import { memo } from "react";
import { decimal } from "../../../format/numbers";
import type { BreachPrice } from "./api";
import { breachPriceShown } from "./metrics";

const formats = new Map<number, Intl.NumberFormat>();

function fixed(value: number, digits: number): string {
  let format = formats.get(digits);
  if (!format) formats.set(digits, (format = new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })));
  return format.format(value);
}

function held(volume: number): string {
  if (volume === 0) return "Flat";
  return `${volume > 0 ? "Long" : "Short"} ${decimal(Math.abs(volume), 2)} lots`;
}

function Price({ row }: { row: BreachPrice }) {
  const shown = breachPriceShown(row);
  if (!shown) {
    return (
      <span className="text-muted">
        <span aria-hidden="true">— </span>
        {row.net_volume === 0 ? "hedged to zero" : "none reaches the floor"}
      </span>
    );
  }
  return (
    <>
      <span className="font-semibold text-bad">{fixed(shown.value, shown.digits)}</span>
      {row.quote ? <span className="text-muted"> {row.quote}</span> : null}
    </>
  );
}

export const BreachPrices = memo(function BreachPrices({ rows, openPositions }:
  { rows: readonly BreachPrice[] | null; openPositions: number | null | undefined }) {
  if (rows === null || rows.length === 0) {
    const open = openPositions ?? 0;
    return (
      <p className="text-sm text-muted" data-testid="breach-prices-empty">
        {!open ? "No open positions: no price can breach a floor."
          : rows === null ? `${open} position${open === 1 ? "" : "s"} open; waiting for the breach prices.`
          : "No floor applies to this account now: no price can breach one."}
      </p>
    );
  }
  return (
    <div className="relative overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Breach prices table">
      <table className="w-full min-w-[22rem] text-sm" data-testid="breach-prices">
        <caption className="sr-only">The price of each symbol at which the account touches a floor</caption>
        <thead className="text-left text-xs text-muted">
          <tr>
            <th scope="col" className="py-1 pr-3 font-medium">Symbol</th>
            <th scope="col" className="py-1 pr-3 font-medium">Held</th>
            <th scope="col" className="py-1 pr-3 text-right font-medium">Breach price</th>
            <th scope="col" className="py-1 font-medium">Floor</th>
          </tr>
        </thead>
        <tbody className="tabular">
          {rows.map((row) => (
            <tr key={row.symbol} className="border-t border-line">
              <th scope="row" className="py-1.5 pr-3 text-left font-medium">{row.symbol}</th>
              <td className="py-1.5 pr-3">{held(row.net_volume)}</td>
              <td className="py-1.5 pr-3 text-right"><Price row={row} /></td>
              <td className="py-1.5">{row.floor === "daily" ? "Daily loss" : "Maximum loss"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
});
