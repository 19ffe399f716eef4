import { describe, expect, it } from "vitest";
import { allowedLoss, breachPrices, floorDistance, todayPnl } from "./metrics";

describe("live numbers", () => {
  it("counts today's P/L from the day-start value when the snapshot carries it", () => {
    expect(todayPnl({ login: "A", status: "active", equity: 101_234.56, day_start_equity: 100_000 })).toBe(1234.56);
    expect(todayPnl({ login: "A", status: "active", equity: 99_000, day_start_balance: 100_000 })).toBe(-1000);
    expect(todayPnl({ login: "A", status: "active", equity: 99_000 })).toBeNull();
    expect(todayPnl(undefined)).toBeNull();
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

  it("reads breach prices, and none when the snapshot has no such field", () => {
    expect(breachPrices({ login: "A", status: "active" })).toBeNull();
    expect(breachPrices({ login: "A", status: "active", breach_prices: [
      { symbol: "EURUSD", price: 1.0712, floor: "daily", side: "buy", volume: 2 }, { symbol: 3 }, "x",
    ] })).toEqual([{ symbol: "EURUSD", price: 1.0712, floor: "daily", side: "buy", volume: 2, current: null }]);
  });
});
