import { describe, expect, it } from "vitest";
import {
  barOf, distanceToFloor, isLive, LIVE_ROWS, moreRows, nextSort, overlay, PAGE_ROWS, sortFloors, windowRows,
  type FloorRow, type SortDirection,
} from "./floors";

const row = (account: string, equity: number, daily: number | null, maxLoss: number | null, status = "active"): FloorRow =>
  ({ account, status, equity, daily_floor: daily, max_loss_floor: maxLoss });

describe("distanceToFloor", () => {
  it("takes the higher floor and gives money and percent of equity", () => {
    const d = distanceToFloor({ equity: 10_000, daily_floor: 9_500, max_loss_floor: 9_000 });
    expect(d).toEqual({ floor: 9_500, which: "daily", money: 500, ofEquity: 0.05 });
    expect(distanceToFloor({ equity: 10_000, daily_floor: 9_000, max_loss_floor: 9_200 }).which).toBe("max_loss");
  });
  it("ignores a missing floor; none gives no distance", () => {
    expect(distanceToFloor({ equity: 100, daily_floor: null, max_loss_floor: 90 }).money).toBe(10);
    expect(distanceToFloor({ equity: 100, daily_floor: null, max_loss_floor: null }))
      .toEqual({ floor: null, which: null, money: null, ofEquity: null });
  });
  it("is negative through a floor, rounds to the cent, no percent at zero equity", () => {
    const d = distanceToFloor({ equity: 9_400.004, daily_floor: 9_500, max_loss_floor: null });
    expect(d.money).toBe(-100);
    expect(distanceToFloor({ equity: 0, daily_floor: 10, max_loss_floor: null }).ofEquity).toBeNull();
  });
});

describe("overlay", () => {
  it("takes live fields over the REST row, keeping those the frame lacks", () => {
    const base = row("1", 100, 90, 80);
    expect(overlay({ ...base }, { equity: 95, status: "paused" }))
      .toEqual({ status: "paused", equity: 95, daily_floor: 90, max_loss_floor: 80 });
    expect(overlay(base, undefined)).toBe(base);
  });
});

describe("sortFloors", () => {
  const rows = [
    row("10", 10_000, 9_500, 9_000),   // 5 %
    row("2", 10_000, 9_900, 9_000),    // 1 %
    row("3", 5_000, null, null),        // none
    row("4", 10_000, 10_100, 9_000, "paused"), // −1 %
  ];
  it("defaults to the nearest first, rows without a floor last either way", () => {
    expect(sortFloors(rows, { key: "distance", direction: "ascending" }).map((r) => r.account))
      .toEqual(["4", "2", "10", "3"]);
    expect(sortFloors(rows, { key: "distance", direction: "descending" }).map((r) => r.account))
      .toEqual(["10", "2", "4", "3"]);
  });
  it("sorts accounts numerically, by status and equity with ties by account", () => {
    expect(sortFloors(rows, { key: "account", direction: "ascending" }).map((r) => r.account))
      .toEqual(["2", "3", "4", "10"]);
    expect(sortFloors(rows, { key: "status", direction: "descending" }).map((r) => r.account))
      .toEqual(["4", "2", "3", "10"]);
    expect(sortFloors(rows, { key: "equity", direction: "ascending" }).map((r) => r.account))
      .toEqual(["3", "2", "4", "10"]);
  });
  it("does not mutate its input", () => {
    const copy = [...rows];
    sortFloors(rows, { key: "equity", direction: "descending" });
    expect(rows).toEqual(copy);
  });
  it("sorts 2,000 rows quickly", () => {
    const many = Array.from({ length: 2_000 }, (_, i) => row(String(i), 10_000 + (i * 7919) % 1000, 9_500, 9_000));
    const t = performance.now();
    sortFloors(many, { key: "distance", direction: "ascending" });
    expect(performance.now() - t).toBeLessThan(50);
  });
});

describe("nextSort", () => {
  const initial = (k: string): SortDirection => (k === "equity" ? "descending" : "ascending");
  it("flips the same column and starts a new one at its own direction", () => {
    expect(nextSort({ key: "distance", direction: "ascending" }, "distance", initial))
      .toEqual({ key: "distance", direction: "descending" });
    expect(nextSort({ key: "distance", direction: "ascending" }, "equity", initial))
      .toEqual({ key: "equity", direction: "descending" });
  });
});

describe("windowing", () => {
  const many = Array.from({ length: 2_000 }, (_, i) => i);
  it("renders one page at first and a page more each time", () => {
    const first = windowRows(many, PAGE_ROWS);
    expect(first.shown.length).toBe(PAGE_ROWS);
    expect(first.hidden).toBe(2_000 - PAGE_ROWS);
    const next = moreRows(PAGE_ROWS, many.length);
    expect(windowRows(many, next).shown.length).toBe(2 * PAGE_ROWS);
    expect(moreRows(1_900, many.length)).toBe(2_000);
    expect(windowRows(many, 2_000).hidden).toBe(0);
  });
  it("keeps short lists whole and never shows less than a page", () => {
    const few = [1, 2, 3];
    expect(windowRows(few, 0).shown).toBe(few);
    expect(windowRows(many, 0).shown.length).toBe(PAGE_ROWS);
  });
  it("subscribes live numbers for the first rows only", () => {
    expect(isLive(0)).toBe(true);
    expect(isLive(LIVE_ROWS - 1)).toBe(true);
    expect(isLive(LIVE_ROWS)).toBe(false);
    expect(LIVE_ROWS).toBeLessThanOrEqual(200);
  });
});

describe("barOf", () => {
  it("fills to 10 % of equity and tones by nearness", () => {
    expect(barOf(0.05)).toEqual({ value: 0.5, tone: "good" });
    expect(barOf(0.2).value).toBe(1);
    expect(barOf(0.02).tone).toBe("warn");
    expect(barOf(-0.01)).toEqual({ value: 0, tone: "bad" });
    expect(barOf(null)).toEqual({ value: null, tone: "bad" });
  });
});
