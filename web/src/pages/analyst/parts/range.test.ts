import { describe, expect, it } from "vitest";
import { dayRange } from "./range";

describe("dayRange", () => {
  it("gives whole UTC days, the last one included", () => {
    expect(dayRange("2026-02-01", "2026-02-28")).toEqual({ range: { since: "2026-02-01T00:00:00Z", until: "2026-03-01T00:00:00Z" } });
    expect(dayRange("2026-12-31", "2026-12-31")).toEqual({ range: { since: "2026-12-31T00:00:00Z", until: "2027-01-01T00:00:00Z" } });
  });
  it("leaves an empty end open", () => {
    expect(dayRange("", "")).toEqual({ range: {} });
    expect(dayRange("2026-02-01", "")).toEqual({ range: { since: "2026-02-01T00:00:00Z" } });
    expect(dayRange("", "2026-02-28")).toEqual({ range: { until: "2026-03-01T00:00:00Z" } });
  });
  it("names what is wrong", () => {
    expect(dayRange("2026-02-30", "")).toEqual({ error: "From: 2026-02-30 is not a date (YYYY-MM-DD)." });
    expect(dayRange("", "soon")).toEqual({ error: "To: soon is not a date (YYYY-MM-DD)." });
    expect(dayRange("2026-03-02", "2026-03-01")).toEqual({ error: "From must not be after To." });
  });
});
