import { describe, expect, it } from "vitest";
import type { RuleDocument } from "../../../objectives/rules";
import { canAppend, joinSeries, normalise, reconstructFloors, steps, Throttle, toSeconds } from "./series";

const t = (iso: string) => toSeconds(iso);

describe("joining history with live points", () => {
  it("keeps the history and extends it with the live points past its end", () => {
    const history = [{ time: 10, value: 1 }, { time: 20, value: 2 }, { time: 30, value: 3 }];
    const live = [{ time: 25, value: 9 }, { time: 30, value: 8 }, { time: 31, value: 4 }, { time: 31, value: 5 }, { time: 40, value: 6 }];
    expect(joinSeries(history, live)).toEqual([
      { time: 10, value: 1 }, { time: 20, value: 2 }, { time: 30, value: 3 }, { time: 31, value: 5 }, { time: 40, value: 6 },
    ]);
  });

  it("sorts and keeps one point a second (the later wins)", () => {
    expect(normalise([{ time: 2, value: 1 }, { time: 1, value: 1 }, { time: 2, value: 3 }])).toEqual([
      { time: 1, value: 1 }, { time: 2, value: 3 },
    ]);
    expect(joinSeries([], [{ time: 5, value: 1 }])).toEqual([{ time: 5, value: 1 }]);
  });

  it("allows updates at or after the last time only", () => {
    expect(canAppend(null, { time: 1, value: 0 })).toBe(true);
    expect(canAppend(5, { time: 5, value: 0 })).toBe(true);
    expect(canAppend(5, { time: 4, value: 0 })).toBe(false);
  });

  it("keeps a step line to its changes and its last point", () => {
    expect(steps([{ time: 1, value: 5 }, { time: 2, value: 5 }, { time: 3, value: 6 }, { time: 4, value: 6 }, { time: 5, value: 6 }]))
      .toEqual([{ time: 1, value: 5 }, { time: 3, value: 6 }, { time: 5, value: 6 }]);
  });
});

describe("the floors over the history", () => {
  const doc: RuleDocument = {
    initial_balance: 100_000,
    day: { timezone: "UTC", starts_at: "00:00" },
    rules: { daily_loss: { limit: 0.05 }, max_loss: { limit: 0.1, mode: "trailing_equity" } },
  };
  const rows = [
    { ts: "2026-03-02T09:00:00Z", equity: 100_000, balance: 100_000 },
    { ts: "2026-03-02T12:00:00Z", equity: 101_000, balance: 100_000 },
    { ts: "2026-03-02T18:00:00Z", equity: 100_500, balance: 100_800 },
    { ts: "2026-03-03T09:00:00Z", equity: 102_000, balance: 101_500 },
  ];

  it("resets the daily floor at the day boundary from the day's starting balance", () => {
    const { daily } = reconstructFloors(rows, doc, null);
    expect(daily).toEqual([
      { time: t("2026-03-02T09:00:00Z"), value: 95_000 },
      { time: t("2026-03-03T09:00:00Z"), value: 96_500 },
    ]);
  });

  it("raises a trailing maximum-loss floor with the highest equity", () => {
    const { maxLoss } = reconstructFloors(rows, doc, null);
    expect(maxLoss).toEqual([
      { time: t("2026-03-02T09:00:00Z"), value: 90_000 },
      { time: t("2026-03-02T12:00:00Z"), value: 91_000 },
      { time: t("2026-03-03T09:00:00Z"), value: 92_000 },
    ]);
  });

  it("stops a trailing floor at lock_at and keeps a static one flat", () => {
    const locked = reconstructFloors(rows, { ...doc, rules: { max_loss: { limit: 0.01, mode: "trailing_equity", lock_at: 0 } } }, null);
    expect(locked.maxLoss.map((p) => p.value)).toEqual([99_000, 100_000, 100_000]); // the last point reaches the end
    const flat = reconstructFloors(rows, { ...doc, rules: { max_loss: { amount: 5_000 } } }, null);
    expect(flat.maxLoss.map((p) => p.value)).toEqual([95_000, 95_000]);
  });

  it("follows the program's day start in its zone", () => {
    // day starts 17:00 New York (21:00 UTC in March after DST? 2026-03-02 is EST: 22:00 UTC)
    const zoned: RuleDocument = { ...doc, day: { timezone: "America/New_York", starts_at: "17:00" } };
    const { daily } = reconstructFloors(rows, zoned, null);
    // 18:00 UTC is 13:00 New York: same trading day as 09:00 UTC; 2026-03-03 09:00 UTC is the next
    expect(daily.map((p) => p.value)).toEqual([95_000, 96_500]);
  });

  it("draws nothing without a document", () => {
    expect(reconstructFloors(rows, null, null)).toEqual({ daily: [], maxLoss: [] });
  });
});

describe("the live throttle", () => {
  it("hands out at most one value per period, the latest", () => {
    let now = 0;
    const th = new Throttle<number>(250, () => now);
    expect(th.push(1)).toBe(1);
    now = 100;
    expect(th.push(2)).toBeNull();
    expect(th.push(3)).toBeNull();
    expect(th.waiting).toBe(true);
    now = 250;
    expect(th.take()).toBe(3);
    expect(th.take()).toBeNull();
  });
});
