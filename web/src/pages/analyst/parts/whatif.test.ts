import { describe, expect, it } from "vitest";
import { changesFrom, ruleValues } from "./whatif";

const DOC = { initial_balance: 10000, rules: { daily_loss: { limit: 0.05, action: "fail" }, max_loss: { limit: 0.1, mode: "static" },
  min_trading_days: { days: 4 } } };

describe("the what-if form", () => {
  it("lists the rules' numbers, and only theirs", () => {
    expect(ruleValues(DOC).map((v) => [v.path.join("."), v.value])).toEqual([
      ["rules.daily_loss.limit", 0.05], ["rules.max_loss.limit", 0.1], ["rules.min_trading_days.days", 4]]);
    expect(ruleValues(null)).toEqual([]);
  });
  it("sends only what changed, nested", () => {
    const values = ruleValues(DOC);
    expect(changesFrom(values, { "rules.daily_loss.limit": "0.04", "rules.max_loss.limit": "0.1", "rules.min_trading_days.days": "" }))
      .toEqual({ changes: { rules: { daily_loss: { limit: 0.04 } } } });
    expect(changesFrom(values, {})).toEqual({ changes: {} });
    expect(changesFrom(values, { "rules.max_loss.limit": "ten" })).toEqual({ error: "rules.max_loss.limit: ten is not a number" });
  });
});
