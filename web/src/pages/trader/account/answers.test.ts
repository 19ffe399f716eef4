import { describe, expect, it } from "vitest";
import { answerKey, answerText, fromAccountEvent, fromMessage, metAndBreached, statusAfter, toAnswer } from "./answers";

describe("engine answers", () => {
  it("words a daily-loss breach with the rule and the amounts", () => {
    const a = fromMessage({ id: "41", event: { type: "breach", account: "T1", rule: "daily_loss", ts: "2026-03-02T10:00:00Z",
      equity: 94999.5, floor: 95000, action: "fail" } });
    const text = answerText(a, "USD");
    expect(text.title).toBe("Daily loss limit breached — equity $94,999.50 at floor $95,000.00");
    expect(text.tone).toBe("bad");
    expect(text.body).toContain("T1 has failed");
    expect(a.id).toBe("41");
    expect(statusAfter(a)).toBe("failed");
  });

  it("words pauses, exposure, objectives, passes and resumes", () => {
    const pause = toAnswer({ type: "breach", account: "T1", rule: "daily_loss", ts: "t", equity: 1, floor: 2, action: "pause" }, "1");
    expect(statusAfter(pause)).toBe("paused");
    expect(answerText(pause).body).toContain("paused");
    const lots = toAnswer({ type: "breach", account: "T1", rule: "max_exposure", ts: "t", equity: 1, action: "warn", lots: 12, max_lots: 10 }, "2");
    expect(answerText(lots).title).toBe("Maximum exposure exceeded — 12 lots open, at most 10");
    expect(statusAfter(lots)).toBeNull();
    const objective = toAnswer({ type: "objective", account: "T1", objective: "profit_target", ts: "t" }, "3");
    expect(objective).toMatchObject({ rule: "profit_target", objective: "profit_target" });
    expect(answerText(objective)).toMatchObject({ title: "Profit target objective met", tone: "good" });
    expect(answerText(toAnswer({ type: "passed", account: "T1", ts: "t" }, "4")).tone).toBe("good");
    expect(statusAfter(toAnswer({ type: "resumed", account: "T1", ts: "t" }, "5"))).toBe("active");
  });

  it("reads an item of the account's events: kind and rule at the top, the engine's line under `event`", () => {
    const a = fromAccountEvent({ id: "0:57:0", account: "T9", kind: "breach", rule: "max_loss", ts: "2026-03-02T10:00:00Z",
      event: { type: "breach", account: "T9", rule: "max_loss", ts: "2026-03-02T10:00:00Z", equity: 89_999.99, floor: 90_000, action: "fail" } as never,
      replacement_account: "T9R" });
    expect(a).toEqual({ id: "0:57:0", type: "breach", account: "T9", ts: "2026-03-02T10:00:00Z", rule: "max_loss", objective: null,
      equity: 89_999.99, floor: 90_000, action: "fail", lots: null, max_lots: null, replacement_account: "T9R" });
    expect(answerText(a).title).toBe("Maximum loss limit breached — equity $89,999.99 at floor $90,000.00");
    const met = fromAccountEvent({ id: "0:58:0", account: "T9", kind: "objective", rule: "min_trading_days", ts: "2026-03-03T00:00:00Z",
      event: { type: "objective", account: "T9", objective: "min_trading_days", ts: "2026-03-03T00:00:00Z" } as never, replacement_account: null });
    expect(met).toMatchObject({ type: "objective", objective: "min_trading_days" });
  });

  it("knows an answer by its id on the websocket and in the history alike", () => {
    const line = { type: "breach", account: "T9", rule: "max_loss", ts: "2026-03-02T10:00:00Z", equity: 1, floor: 2, action: "fail" } as const;
    const live = fromMessage({ id: "0:57:0", event: line });
    const stored = fromAccountEvent({ id: "0:57:0", account: "T9", kind: "breach", rule: "max_loss", ts: "2026-03-02T10:00:00.000000Z",
      event: line as never, replacement_account: null });
    expect(live.id).toBe("0:57:0");
    expect(stored.id).toBe("0:57:0");
    expect(answerKey(stored)).toBe(answerKey(live));
  });

  it("collects the objectives met and the rules breached (warnings are not breaches)", () => {
    const answers = [
      toAnswer({ type: "objective", account: "A", objective: "min_trading_days", ts: "1" }, "a"),
      toAnswer({ type: "breach", account: "A", rule: "daily_loss", action: "pause", ts: "2" }, "b"),
      toAnswer({ type: "breach", account: "A", rule: "max_exposure", action: "warn", ts: "3" }, "c"),
    ];
    expect(metAndBreached(answers)).toEqual({ met: ["min_trading_days"], breached: ["daily_loss"] });
  });
});
