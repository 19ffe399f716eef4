import { describe, expect, it } from "vitest";
import { answerText, fromMessage, metAndBreached, statusAfter, toAnswer } from "./answers";

describe("engine answers", () => {
  it("words a daily-loss breach with the rule and the amounts", () => {
    const a = fromMessage({ id: 41, event: { type: "breach", account: "T1", rule: "daily_loss", ts: "2026-03-02T10:00:00Z",
      equity: 94999.5, floor: 95000, action: "fail" } });
    expect(a).not.toBeNull();
    const text = answerText(a!, "USD");
    expect(text.title).toBe("Daily loss limit breached — equity $94,999.50 at floor $95,000.00");
    expect(text.tone).toBe("bad");
    expect(text.body).toContain("T1 has failed");
    expect(a!.id).toBe("41");
    expect(statusAfter(a!)).toBe("failed");
  });

  it("words pauses, exposure, objectives, passes and resumes", () => {
    const pause = toAnswer({ type: "breach", account: "T1", rule: "daily_loss", ts: "t", equity: 1, floor: 2, action: "pause" })!;
    expect(statusAfter(pause)).toBe("paused");
    expect(answerText(pause).body).toContain("paused");
    const lots = toAnswer({ type: "breach", account: "T1", rule: "max_exposure", ts: "t", equity: 1, action: "warn", lots: 12, max_lots: 10 })!;
    expect(answerText(lots).title).toBe("Maximum exposure exceeded — 12 lots open, at most 10");
    expect(statusAfter(lots)).toBeNull();
    const objective = toAnswer({ type: "objective", account: "T1", objective: "profit_target", ts: "t" })!;
    expect(answerText(objective)).toMatchObject({ title: "Profit target objective met", tone: "good" });
    expect(answerText(toAnswer({ type: "passed", account: "T1", ts: "t" })!).tone).toBe("good");
    expect(statusAfter(toAnswer({ type: "resumed", account: "T1", ts: "t" })!)).toBe("active");
  });

  it("reads history items with `kind` and a payload, and derives an id when none is given", () => {
    const a = toAnswer({ kind: "breach", rule: "max_loss", ts: "2026-03-02T10:00:00Z", payload: { equity: "89999.99", floor: 90000, action: "fail" } },
      undefined, "T9")!;
    expect(a).toMatchObject({ type: "breach", account: "T9", equity: 89999.99, floor: 90000 });
    expect(a.id).toBe("T9|breach|max_loss|2026-03-02T10:00:00Z");
    expect(toAnswer({ type: "state" })).toBeNull();
    expect(toAnswer(null)).toBeNull();
  });

  it("collects the objectives met and the rules breached (warnings are not breaches)", () => {
    const answers = [
      toAnswer({ type: "objective", account: "A", objective: "min_trading_days", ts: "1" })!,
      toAnswer({ type: "breach", account: "A", rule: "daily_loss", action: "pause", ts: "2" })!,
      toAnswer({ type: "breach", account: "A", rule: "max_exposure", action: "warn", ts: "3" })!,
    ];
    expect(metAndBreached(answers)).toEqual({ met: ["min_trading_days"], breached: ["daily_loss"] });
  });
});
