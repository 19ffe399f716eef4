import { describe, expect, it } from "vitest";
import { consistencyReading, monthGrid, monthsOf } from "./calendar";

describe("the calendar", () => {
  it("lays a month out Monday first", () => {
    // March 2026 starts on a Sunday and has 31 days
    const grid = monthGrid(2026, 3, [{ date: "2026-03-02", net_profit: 120.5, trades: 3 }, { date: "2026-03-03", net_profit: -20, trades: 1 }]);
    expect(grid.weeks[0]!.slice(0, 6)).toEqual([null, null, null, null, null, null]);
    expect(grid.weeks[0]![6]).toMatchObject({ date: "2026-03-01", day: 1, pnl: null });
    expect(grid.weeks[1]![0]).toMatchObject({ date: "2026-03-02", pnl: { net_profit: 120.5 } });
    expect(grid.weeks.every((w) => w.length === 7)).toBe(true);
    expect(grid.weeks.flat().filter(Boolean)).toHaveLength(31);
    expect(grid.total).toBe(100.5);
    expect(grid.trades).toBe(4);
  });

  it("handles February of a leap year and a month starting on Monday", () => {
    const feb = monthGrid(2028, 2, []);
    expect(feb.weeks.flat().filter(Boolean)).toHaveLength(29);
    const june = monthGrid(2026, 6, []); // 1 June 2026 is a Monday
    expect(june.weeks[0]![0]).toMatchObject({ date: "2026-06-01" });
  });

  it("lists every month between the first and the last trading day", () => {
    expect(monthsOf([{ date: "2025-11-30", net_profit: 1, trades: 1 }, { date: "2026-02-01", net_profit: 1, trades: 1 }]))
      .toEqual(["2025-11", "2025-12", "2026-01", "2026-02"]);
    expect(monthsOf([])).toEqual([]);
  });

  it("reads the best day's share for the consistency rule", () => {
    expect(consistencyReading([{ date: "a", net_profit: 300, trades: 1 }, { date: "b", net_profit: -100, trades: 1 }, { date: "c", net_profit: 100, trades: 1 }]))
      .toEqual({ bestDayProfit: 300, totalProfit: 300 });
    expect(consistencyReading([])).toEqual({ bestDayProfit: null, totalProfit: null });
  });
});
