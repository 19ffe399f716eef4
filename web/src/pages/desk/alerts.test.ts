import { describe, expect, it } from "vitest";
import {
  addLive, amountText, applyFilters, canOverride, canStop, deskTitle, fromLive, fromRiskEvent, mergeAlerts,
  NO_FILTERS, openCount, prefsKey, programsOf, readPrefs, ruleText, writePrefs, type RiskEventOut,
} from "./alerts";

function rest(id: string, over: Partial<RiskEventOut> = {}): RiskEventOut {
  return {
    id, account: "T1", kind: "breach", rule: "max_loss", ts: "2026-03-02T10:00:00Z",
    payload: { type: "breach", account: "T1", rule: "max_loss", equity: 8950, floor: 9000, action: "fail" } as never,
    acknowledged_at: null, overridden_at: null, override_reason: null, replacement_account: null,
    account_status: "failed", ...over,
  };
}

function liveFrame(id: string, account = "T2", ts = "2026-03-02T11:00:00Z", extra: Record<string, unknown> = {}) {
  return fromLive({ id, event: { type: "breach", account, ts, rule: "daily_loss", equity: 9400, floor: 9500, action: "pause", ...extra } });
}

describe("the desk's alerts", () => {
  it("reads the REST items and the live frames alike", () => {
    const a = fromRiskEvent(rest("0:1:0"));
    expect(a).toMatchObject({ id: "0:1:0", kind: "breach", state: "open", equity: 8950, floor: 9000, action: "fail", accountStatus: "failed", live: false });
    expect(amountText(a)).toBe("$50.00 below the floor");
    expect(ruleText(a)).toBe("Maximum loss limit");
    expect(canOverride(a)).toBe(true);
    expect(canStop(a)).toBe(false);
    const l = liveFrame("0:2:0");
    expect(l).toMatchObject({ state: "open", accountStatus: "paused", live: true });
    expect(canOverride(l)).toBe(false);
    expect(canStop(l)).toBe(true);
    expect(fromRiskEvent(rest("x", { acknowledged_at: "t" })).state).toBe("acknowledged");
    expect(fromRiskEvent(rest("x", { acknowledged_at: "t", overridden_at: "t", replacement_account: "T1R1" })))
      .toMatchObject({ state: "overridden", replacement: "T1R1" });
    expect(canOverride(fromRiskEvent(rest("x", { overridden_at: "t" })))).toBe(false);
    const objective = fromLive({ id: "o", event: { type: "objective", account: "T3", ts: "2026-03-02T12:00:00Z", objective: "profit_target" } });
    expect(amountText(objective)).toBe("Profit target objective met");
    expect(amountText(liveFrame("e", "T4", undefined, { lots: 12, max_lots: 10, equity: null }))).toBe("12 lots (max 10)");
  });

  it("merges history and live newest first, one alert per id, the REST answer winning", () => {
    const history = [fromRiskEvent(rest("0:1:0")), fromRiskEvent(rest("0:2:0", { ts: "2026-03-02T11:00:00Z", acknowledged_at: "t" }))];
    const live = [liveFrame("0:2:0"), liveFrame("0:3:0", "T2", "2026-03-02T12:00:00Z")];
    const merged = mergeAlerts(history, live);
    expect(merged.map((a) => a.id)).toEqual(["0:3:0", "0:2:0", "0:1:0"]);
    expect(merged[1]).toMatchObject({ state: "acknowledged", live: false });
    expect(mergeAlerts(history, live, 2).map((a) => a.id)).toEqual(["0:3:0", "0:2:0"]);
  });

  it("adds live batches without duplicates, capped", () => {
    const first = addLive([], [liveFrame("a", "T2", "2026-03-02T10:00:00Z"), liveFrame("a", "T2", "2026-03-02T10:00:00Z")]);
    expect(first.map((a) => a.id)).toEqual(["a"]);
    const second = addLive(first, [liveFrame("b", "T2", "2026-03-02T10:00:01Z"), liveFrame("a")]);
    expect(second.map((a) => a.id)).toEqual(["b", "a"]);
    expect(addLive(second, [liveFrame("b")])).toBe(second);
    const many = Array.from({ length: 30 }, (_, i) => liveFrame(`m${i}`, "T2", new Date(Date.UTC(2026, 2, 3, 0, 0, i)).toISOString()));
    const capped = addLive(second, many, 10);
    expect(capped).toHaveLength(10);
    expect(capped[0]?.id).toBe("m29");
  });

  it("filters by kind, state, account or trader, and program", () => {
    const all = [
      fromRiskEvent(rest("1", { payload: { equity: 1, floor: 2, action: "fail", program: "default.gold.p1", trader: "ana@x.test" } as never })),
      fromRiskEvent(rest("2", { account: "T7", acknowledged_at: "t" })),
      fromLive({ id: "3", event: { type: "objective", account: "T8", ts: "2026-03-02T10:00:00Z", objective: "profit_target" } }),
    ];
    expect(applyFilters(all, NO_FILTERS)).toHaveLength(3);
    expect(applyFilters(all, { ...NO_FILTERS, kind: "objective" }).map((a) => a.id)).toEqual(["3"]);
    expect(applyFilters(all, { ...NO_FILTERS, state: "acknowledged" }).map((a) => a.id)).toEqual(["2"]);
    expect(applyFilters(all, { ...NO_FILTERS, text: " t7 " }).map((a) => a.id)).toEqual(["2"]);
    expect(applyFilters(all, { ...NO_FILTERS, text: "ANA@" }).map((a) => a.id)).toEqual(["1"]);
    expect(programsOf(all)).toEqual(["default.gold.p1"]);
    expect(applyFilters(all, { ...NO_FILTERS, program: "default.gold.p1" }).map((a) => a.id)).toEqual(["1"]);
  });

  it("counts the open breaches in the tab's title", () => {
    const all = [
      fromRiskEvent(rest("1")), fromRiskEvent(rest("2", { acknowledged_at: "t" })), liveFrame("3"),
      fromLive({ id: "4", event: { type: "passed", account: "T8", ts: "2026-03-02T10:00:00Z" } }),
    ];
    expect(openCount(all)).toBe(2);
    expect(deskTitle(2, "Acme Funding")).toBe("(2) Risk desk — Acme Funding");
    expect(deskTitle(0, "Acme Funding")).toBe("Risk desk — Acme Funding");
    expect(deskTitle(1, "")).toBe("(1) Risk desk");
  });

  it("remembers sound and notifications per user, off by default", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    expect(readPrefs(storage, 7)).toEqual({ sound: false, notify: false });
    writePrefs(storage, 7, { sound: true, notify: false });
    expect(readPrefs(storage, 7)).toEqual({ sound: true, notify: false });
    expect(readPrefs(storage, 8)).toEqual({ sound: false, notify: false });
    store.set(prefsKey(9), "not json");
    expect(readPrefs(storage, 9)).toEqual({ sound: false, notify: false });
  });
});
