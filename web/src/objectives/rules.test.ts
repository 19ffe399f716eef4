import { describe, expect, it } from "vitest";
import { describeRules, objectiveStates, type RuleDocument } from "./rules";

const FTMO: RuleDocument = {
  id: "ftmo-2step-100k-p1",
  currency: "USD",
  initial_balance: 100000,
  day: { timezone: "Europe/Prague", starts_at: "00:00" },
  rules: {
    daily_loss: { limit: 0.05, of: "initial_balance", reference: "day_start_balance", action: "fail" },
    max_loss: { limit: 0.1, of: "initial_balance", mode: "static" },
    profit_target: { target: 0.1 },
    min_trading_days: { days: 4, count: "position_opened" },
    consistency: { max_best_day_share: 0.5 },
  },
};

const reading = { status: "active", met: [] as string[], breached: [] as string[] };

describe("rules in words", () => {
  it("words every rule of the program with its money", () => {
    const lines = describeRules(FTMO);
    expect(lines.map((l) => l.rule)).toEqual(
      ["profit_target", "daily_loss", "max_loss", "min_trading_days", "consistency"]);
    expect(lines[0]!.words).toContain("$110,000.00");
    expect(lines[1]!.words).toContain("5% ($5,000.00)");
    expect(lines[1]!.words).toContain("the day's starting balance");
    expect(lines[2]!.words).toContain("below the initial balance");
    expect(lines[3]!.words).toContain("at least 4 days");
  });
  it("says a pause is a pause", () => {
    const doc = { ...FTMO, rules: { daily_loss: { limit: 0.04, action: "pause" } } };
    expect(describeRules(doc)[0]!.words).toContain("pauses the account");
  });
});

describe("objective states", () => {
  it("a loss limit is passing, then at risk under a quarter left, then failed", () => {
    const at = (equity: number) => objectiveStates(FTMO, {
      ...reading, balance: 100000, equity, daily_floor: 95000, max_loss_floor: 90000,
    }).find((o) => o.rule === "daily_loss")!;
    expect(at(99000).state).toBe("passing");
    expect(at(99000).progress).toBeCloseTo(0.8);
    expect(at(96000).state).toBe("at_risk"); // 1,000 of 5,000 left
    expect(at(95000).state).toBe("failed"); // touching the floor is a breach
    expect(at(96000).detail).toContain("$1,000.00 left");
  });
  it("the profit target progresses with the balance and is met by the engine's word", () => {
    const view = (balance: number, met: string[] = []) => objectiveStates(FTMO, {
      ...reading, met, balance, equity: balance, daily_floor: 95000, max_loss_floor: 90000,
    }).find((o) => o.rule === "profit_target")!;
    expect(view(105000).progress).toBeCloseTo(0.5);
    expect(view(105000).state).toBe("pending");
    expect(view(110000, ["profit_target"]).state).toBe("met");
  });
  it("trading days and consistency", () => {
    const views = objectiveStates(FTMO, {
      ...reading, trading_days: 3, bestDayProfit: 6000, totalProfit: 10000,
    });
    const days = views.find((o) => o.rule === "min_trading_days")!;
    expect(days.detail).toBe("3 of 4 days");
    expect(days.state).toBe("pending");
    expect(views.find((o) => o.rule === "consistency")!.state).toBe("at_risk"); // 60% > 50%
  });
  it("a failed account shows the breached rule failed", () => {
    const views = objectiveStates(FTMO, {
      status: "failed", met: [], breached: ["max_loss"], balance: 89000, equity: 89000,
      daily_floor: 95000, max_loss_floor: 90000,
    });
    expect(views.find((o) => o.rule === "max_loss")!.state).toBe("failed");
    expect(views.find((o) => o.rule === "profit_target")!.state).toBe("failed");
  });
});
