/** The trade journal's pages as one list: the open positions (the first page's) and the
 * closed trades, newest first. Pages are fetched by offset, so a trade closing while the
 * trader pages shifts the later pages by one: a deal already shown is not shown twice. */
import type { OpenPosition, Trade, TradeJournal } from "./api";

export interface Journal {
  open: OpenPosition[];
  trades: Trade[];
  /** More closed trades to load. */
  more: boolean;
}

export function journal(pages: readonly TradeJournal[] | undefined): Journal {
  const seen = new Set<string>();
  const trades: Trade[] = [];
  for (const page of pages ?? []) {
    for (const trade of page.trades) {
      if (seen.has(trade.deal)) continue;
      seen.add(trade.deal);
      trades.push(trade);
    }
  }
  const last = pages?.[pages.length - 1];
  return { open: pages?.[0]?.open_positions ?? [], trades, more: last ? last.next_offset !== null : false };
}
