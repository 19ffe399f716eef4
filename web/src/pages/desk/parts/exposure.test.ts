import { describe, expect, it } from "vitest";
import { ABS_KEYS, chartRows, side, sortBy, type SymbolExposure } from "./exposure";

const sym = (symbol: string, net_lots: number, gross_lots: number): SymbolExposure => ({
  symbol, currency: "USD", net_lots, gross_lots, net_notional: net_lots * 100_000,
  gross_notional: gross_lots * 100_000, positions: 1, accounts: 1,
});

const rows = [sym("EURUSD", 2, 10), sym("XAUUSD", -5, 5), sym("GBPUSD", 1, 10), sym("US30", 0, 3)];

describe("sortBy", () => {
  it("sorts numbers with ties by the tie field", () => {
    expect(sortBy(rows, { key: "gross_lots", direction: "descending" }, "symbol").map((r) => r.symbol))
      .toEqual(["EURUSD", "GBPUSD", "XAUUSD", "US30"]);
  });
  it("sorts net lots by size either way when asked", () => {
    expect(sortBy(rows, { key: "net_lots", direction: "descending" }, "symbol", ABS_KEYS).map((r) => r.symbol))
      .toEqual(["XAUUSD", "EURUSD", "GBPUSD", "US30"]);
    expect(sortBy(rows, { key: "net_lots", direction: "ascending" }, "symbol").map((r) => r.symbol))
      .toEqual(["XAUUSD", "US30", "GBPUSD", "EURUSD"]);
  });
  it("sorts text with a numeric collation and leaves the input alone", () => {
    const copy = [...rows];
    expect(sortBy(rows, { key: "symbol", direction: "ascending" }, "symbol").map((r) => r.symbol))
      .toEqual(["EURUSD", "GBPUSD", "US30", "XAUUSD"]);
    expect(rows).toEqual(copy);
  });
});

describe("chartRows", () => {
  it("keeps the largest net positions either way, at most the limit", () => {
    expect(chartRows(rows, 2)).toEqual([{ symbol: "XAUUSD", net_lots: -5 }, { symbol: "EURUSD", net_lots: 2 }]);
    expect(chartRows([], 5)).toEqual([]);
  });
});

describe("side", () => {
  it("names the net position", () => {
    expect([side(1), side(-0.01), side(0)]).toEqual(["long", "short", "flat"]);
  });
});
