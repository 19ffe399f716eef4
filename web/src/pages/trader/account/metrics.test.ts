import { describe, expect, it } from "vitest";
import type { AccountMetrics } from "./api";
import { allowedLoss, breachDigits, breachPriceShown, breachPrices, floorDistance, todayPnl, tradingDays } from "./metrics";

const M: AccountMetrics = { login: "A", status: "active" };

describe("live numbers", () => {
  it("counts today's P/L from the equity at the start of the trading day", () => {
    expect(todayPnl({ ...M, equity: 101_234.56, day_start_equity: 100_000, day_start_balance: 99_000 })).toBe(1234.56);
    expect(todayPnl({ ...M, equity: 99_000, day_start_balance: 100_000 })).toBeNull();
    expect(todayPnl({ ...M, equity: 99_000, day_start_equity: null })).toBeNull();
    expect(todayPnl(undefined)).toBeNull();
    expect(tradingDays({ ...M, trading_days: 3 })).toBe(3);
    expect(tradingDays(M)).toBeNull();
  });

  it("measures the distance to a floor as money left and a share of the allowed loss", () => {
    expect(floorDistance(96_000, 95_000, 5_000)).toEqual({ left: 1000, share: 0.2, floor: 95_000 });
    expect(floorDistance(94_000, 95_000, 5_000)).toEqual({ left: 0, share: 0, floor: 95_000 });
    expect(floorDistance(96_000, 95_000, null)).toEqual({ left: 1000, share: null, floor: 95_000 });
    expect(floorDistance(null, 95_000, 5_000)).toBeNull();
    expect(allowedLoss({ initial_balance: 100_000, rules: { daily_loss: { limit: 0.05 } } }, "daily")).toBe(5000);
    expect(allowedLoss({ rules: { max_loss: { amount: 7_000 } } }, "max_loss")).toBe(7000);
    expect(allowedLoss(null, "daily")).toBeNull();
  });

  it("gives the snapshot's breach prices, none when it carries none", () => {
    const rows = [{ symbol: "EURUSD", price: 1.0712, quote: "bid" as const, net_volume: 2, floor: "daily" as const }];
    expect(breachPrices(M)).toBeNull();
    expect(breachPrices({ ...M, breach_prices: null })).toBeNull();
    expect(breachPrices({ ...M, breach_prices: [] })).toEqual([]);
    expect(breachPrices({ ...M, breach_prices: rows })).toBe(rows);
  });

  it("shows a breach price at six significant figures, rounded toward the breach", () => {
    expect(breachDigits(1.071234567)).toBe(5);
    expect(breachDigits(0.654321)).toBe(6);
    expect(breachDigits(151.23456)).toBe(3);
    expect(breachDigits(2315.123456)).toBe(2);
    expect(breachDigits(38_123.4)).toBe(2);
    // net long: the bid falls to it, so up; net short: the ask rises to it, so down
    expect(breachPriceShown({ price: 1.071231, quote: "bid" })).toEqual({ value: 1.07124, digits: 5 });
    expect(breachPriceShown({ price: 1.071239, quote: "ask" })).toEqual({ value: 1.07123, digits: 5 });
    expect(breachPriceShown({ price: 1.0712, quote: "bid" })).toEqual({ value: 1.0712, digits: 5 });
    expect(breachPriceShown({ price: 2315.1234, quote: "bid" })).toEqual({ value: 2315.13, digits: 2 });
    expect(breachPriceShown({ price: null, quote: null })).toBeNull();
  });
});
