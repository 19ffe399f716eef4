import { describe, expect, it } from "vitest";
import { dateTime, money, nextDayStart, percent, price, signedMoney, tradingDay } from "./numbers";

describe("money", () => {
  it("formats in the account's currency, strings exactly", () => {
    expect(money(100000, "USD", "en-US")).toBe("$100,000.00");
    expect(money("155.10", "EUR", "en-US")).toBe("€155.10");
    expect(money(1234.5, "EUR", "de-DE").replace(/\s/g, " ")).toBe("1.234,50 €");
    expect(money(null, "USD")).toBe("—");
    expect(money(Number.NaN, "USD")).toBe("—");
  });
  it("signs P/L with a real minus", () => {
    expect(signedMoney(120, "USD", "en-US")).toBe("+$120.00");
    expect(signedMoney(-35.1, "USD", "en-US")).toBe("−$35.10");
    expect(signedMoney(0, "USD", "en-US")).toBe("$0.00");
  });
  it("percent and prices", () => {
    expect(percent(0.125, 2, "en-US")).toBe("12.5%");
    expect(percent(-0.05, 2, "en-US")).toBe("−5%");
    expect(price(1.08345, "en-US")).toBe("1.08345");
    expect(price(2000.5, "en-US")).toBe("2,000.50");
  });
});

describe("time in the firm's zone", () => {
  it("shows instants in the zone asked", () => {
    expect(dateTime("2026-03-02T08:00:00Z", "Europe/Prague", "en-GB")).toBe("2 Mar 2026, 09:00");
    expect(dateTime("garbage", "UTC")).toBe("—");
  });
  it("puts an instant in its trading day (zone and start, DST-correct)", () => {
    const prague = { timezone: "Europe/Prague", starts_at: "00:00" };
    expect(tradingDay(new Date("2026-03-02T22:59:59Z"), prague)).toBe("2026-03-02");
    expect(tradingDay(new Date("2026-03-02T23:00:00Z"), prague)).toBe("2026-03-03");
    // summer time: midnight in Prague is 22:00 UTC
    expect(tradingDay(new Date("2026-07-01T21:59:59Z"), prague)).toBe("2026-07-01");
    expect(tradingDay(new Date("2026-07-01T22:00:00Z"), prague)).toBe("2026-07-02");
    // a day starting at 17:00 New York time (forex) is named by the date it starts on,
    // as the engine names it
    const ny = { timezone: "America/New_York", starts_at: "17:00" };
    expect(tradingDay(new Date("2026-01-05T21:59:00Z"), ny)).toBe("2026-01-04");
    expect(tradingDay(new Date("2026-01-05T22:00:00Z"), ny)).toBe("2026-01-05");
  });
  it("finds the next day boundary (when the daily floor resets)", () => {
    const prague = { timezone: "Europe/Prague", starts_at: "00:00" };
    expect(nextDayStart(new Date("2026-03-02T10:00:00Z"), prague).toISOString()).toBe("2026-03-02T23:00:00.000Z");
    // across the spring change (29 March 2026): the day after it starts at 22:00 UTC
    expect(nextDayStart(new Date("2026-03-29T10:00:00Z"), prague).toISOString()).toBe("2026-03-29T22:00:00.000Z");
    const utc = { timezone: "UTC", starts_at: "00:00" };
    expect(nextDayStart(new Date("2026-03-02T23:59:59Z"), utc).toISOString()).toBe("2026-03-03T00:00:00.000Z");
  });
});
