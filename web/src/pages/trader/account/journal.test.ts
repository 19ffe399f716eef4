import { describe, expect, it } from "vitest";
import type { Trade, TradeJournal } from "./api";
import { journal } from "./journal";

function trade(deal: string, net: number): Trade {
  return { opened_at: "2026-03-02T09:00:00Z", closed_at: "2026-03-02T10:00:00Z", symbol: "EURUSD", side: "buy", volume: 1,
    open_price: 1.08, close_price: 1.081, profit: net + 7, commission: -7, swap: 0, fee: 0, net, position: "P" + deal, deal };
}

describe("the trade journal", () => {
  it("joins pages, keeps the first page's open positions and says whether more remain", () => {
    const open = [{ opened_at: "2026-03-02T11:00:00Z", symbol: "XAUUSD", side: "sell" as const, volume: 0.5, open_price: 2315.4, position: "9" }];
    const pages: TradeJournal[] = [
      { trades: [trade("3", 10), trade("2", -5)], open_positions: open, next_offset: 2 },
      // a trade closed between the two pages: the second page starts one trade late
      { trades: [trade("2", -5), trade("1", 3)], open_positions: null, next_offset: null },
    ];
    const j = journal(pages);
    expect(j.open).toEqual(open);
    expect(j.trades.map((t) => t.deal)).toEqual(["3", "2", "1"]);
    expect(j.more).toBe(false);
    expect(journal(pages.slice(0, 1)).more).toBe(true);
    expect(journal(undefined)).toEqual({ open: [], trades: [], more: false });
  });
});
