import { describe, expect, it } from "vitest";
import { cohortsCsv, csvField, failuresByRule, type Cohort } from "./cohorts";

function cohort(over: Partial<Cohort>): Cohort {
  return { program: "default.gold-10k.p1", period: "2026-02-01", accounts: 10, passed: 3, failed: 5, stopped: 1, running: 1,
    pass_rate_pct: 30, fail_rate_pct: 50, failures_by_rule: [], avg_days_to_pass: 4.5, median_days_to_pass: 4,
    avg_days_to_fail: null, median_days_to_fail: null, trades: 120, lots: 12.5, net_profit: -1234.56, ...over };
}

describe("csvField", () => {
  it("quotes commas, quotes and line breaks, and nothing else", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField(null)).toBe("");
    expect(csvField(-1234.56)).toBe("-1234.56");
    expect(csvField(Number.NaN)).toBe("");
  });
  it("keeps a spreadsheet from running text as a formula", () => {
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvField("-x,y")).toBe(`"'-x,y"`);
    expect(csvField("@sum")).toBe("'@sum");
  });
});

describe("cohortsCsv", () => {
  it("writes a header and a row per cohort, failures in one field", () => {
    const csv = cohortsCsv([cohort({ program: "acme, 10k", failures_by_rule: [{ rule: "daily_loss", accounts: 3 }, { rule: "max_loss", accounts: 2 }] })]);
    const [header, row, end] = csv.split("\r\n");
    expect(header).toBe("Program,Period,Accounts,Passed,Failed,Stopped,Running,Pass rate %,Fail rate %,Avg days to pass," +
      "Median days to pass,Avg days to fail,Median days to fail,Trades,Lots,Net profit,Failures by rule");
    expect(row).toBe('"acme, 10k",2026-02-01,10,3,5,1,1,30,50,4.5,4,,,120,12.5,-1234.56,daily_loss: 3; max_loss: 2');
    expect(end).toBe("");
  });
});

describe("failuresByRule", () => {
  it("sums the rules over the cohorts, most first", () => {
    expect(failuresByRule([
      cohort({ failures_by_rule: [{ rule: "max_loss", accounts: 2 }, { rule: "daily_loss", accounts: 1 }] }),
      cohort({ failures_by_rule: [{ rule: "daily_loss", accounts: 4 }, { rule: "consistency", accounts: 2 }] }),
    ])).toEqual([{ rule: "daily_loss", accounts: 5 }, { rule: "consistency", accounts: 2 }, { rule: "max_loss", accounts: 2 }]);
  });
});
