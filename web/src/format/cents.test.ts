import { describe, expect, it } from "vitest";
import { fromCents, sumAmounts, toCents } from "./cents";

describe("cents", () => {
  it("adds decimal strings exactly, where floats would not", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(sumAmounts(["0.10", "0.20"])).toBe("0.30");
    expect(sumAmounts(["155", "19.9", "0.05"])).toBe("174.95");
    expect(sumAmounts([])).toBe("0.00");
  });
  it("reads and writes cents", () => {
    expect(toCents("99999999999.99")).toBe(9_999_999_999_999);
    expect(fromCents(5)).toBe("0.05");
    expect(fromCents(-250)).toBe("-2.50");
  });
  it("refuses what is not an amount", () => {
    expect(() => toCents("1.234")).toThrow(/not an amount/);
    expect(() => toCents("-1")).toThrow();
    expect(() => toCents("1e3")).toThrow();
  });
});
