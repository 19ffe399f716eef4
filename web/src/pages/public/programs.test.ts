import { cleanup, fireEvent, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { answer, resetApi, fakeApi } from "./fake-api";
import Program from "./Program";
import { addonName, tradingDayWords } from "./program-parts";
import Programs from "./Programs";
import { axeProblems, renderPage } from "./test-utils";

vi.mock("../../api/client", async (original) => ({
  ...(await original<typeof import("../../api/client")>()),
  api: fakeApi,
}));

const doc = (rules: object) => ({ id: "default.x.p1", currency: "USD", initial_balance: 10000,
  day: { timezone: "America/New_York", starts_at: "17:00" }, rules });

const GOLD = {
  id: 1, slug: "gold-10k", name: "Gold 10k", price: "99.00", currency: "USD", account_size: "10000",
  advance: "auto", active: true, updated_at: "2026-03-02T09:00:00Z",
  addons: [{ name: "no-time-limit", price: "20.00" }],
  phases: [
    { name: "Phase 1", engine_program: "default.gold-10k.p1", document: doc({
      profit_target: { target: 0.1 }, daily_loss: { limit: 0.05 }, max_loss: { limit: 0.1, mode: "static" } }) },
    { name: "Phase 2", engine_program: "default.gold-10k.p2", document: doc({
      profit_target: { target: 0.05 }, max_loss: { limit: 0.1 } }) },
  ],
};
const SILVER = { ...GOLD, id: 2, slug: "silver-5k", name: "Silver 5k", price: "49.00", account_size: "5000",
  addons: [], phases: [GOLD.phases[0]!] };

describe("programs", () => {
  beforeEach(resetApi);
  afterEach(cleanup);

  it("lists the programs on sale, smallest first, with their rules in words", async () => {
    answer("GET", "/api/v1/programs", { status: 200, body: [GOLD, SILVER, { ...GOLD, id: 3, slug: "old", name: "Old", active: false }] });
    const { container } = renderPage(Programs, "/programs");
    const cards = await screen.findAllByRole("article");
    expect(cards.map((card) => card.getAttribute("aria-labelledby") && within(card).getByRole("heading", { level: 2 }).textContent))
      .toEqual(["Silver 5k", "Gold 10k"]);
    const gold = screen.getByRole("article", { name: "Gold 10k" });
    expect(within(gold).getByText("$10,000")).toBeTruthy();
    expect(within(gold).getByText("$99.00")).toBeTruthy();
    expect(within(gold).getAllByText("Profit target")).toHaveLength(2);
    expect(within(gold).getByText(/Reach a balance of \$11,000\.00/)).toBeTruthy();
    expect(within(gold).getByText("No time limit")).toBeTruthy();
    fireEvent.click(within(gold).getByRole("button", { name: "Start challenge" }));
    expect(screen.getByTestId("location").textContent).toBe("/challenges/new?program=gold-10k");
    expect(await axeProblems(container)).toEqual([]);
  });

  it("says so when the firm has no program", async () => {
    answer("GET", "/api/v1/programs", { status: 200, body: [] });
    renderPage(Programs, "/programs");
    expect(await screen.findByText(/No programs are on sale/)).toBeTruthy();
  });

  it("shows an error with a retry", async () => {
    answer("GET", "/api/v1/programs", { status: 503, body: { error: { code: "unavailable", message: "PostgreSQL does not answer." } } });
    answer("GET", "/api/v1/programs", { status: 200, body: [SILVER] });
    renderPage(Programs, "/programs");
    expect(await screen.findByText("PostgreSQL does not answer.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("article", { name: "Silver 5k" })).toBeTruthy();
  });

  it("shows one program's phases, trading day and buy button", async () => {
    answer("GET", "/api/v1/programs/{slug}", { status: 200, body: GOLD });
    const { container } = renderPage(Program, "/programs/gold-10k", "/programs/:slug");
    expect(await screen.findByRole("heading", { level: 1, name: "Gold 10k" })).toBeTruthy();
    expect(screen.getByRole("heading", { name: "Phase 1" })).toBeTruthy();
    expect(screen.getByRole("heading", { name: "Phase 2" })).toBeTruthy();
    expect(screen.getByText(/Starts at 17:00, America\/New_York time/)).toBeTruthy();
    expect(screen.getByText(/Equity may not fall 5% \(\$500\.00\) below the day's starting balance/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Start challenge" }));
    expect(screen.getByTestId("location").textContent).toBe("/challenges/new?program=gold-10k");
    expect(await axeProblems(container)).toEqual([]);
  });

  it("says clearly when a program does not exist", async () => {
    answer("GET", "/api/v1/programs/{slug}", { status: 404, body: { error: { code: "not_found", message: "no such program" } } });
    renderPage(Program, "/programs/nope", "/programs/:slug");
    expect(await screen.findByRole("heading", { name: "Program not found" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "See all programs" }).getAttribute("href")).toBe("/programs");
  });

  it("words add-ons and the trading day", () => {
    expect(addonName("no-time-limit")).toBe("No time limit");
    expect(addonName("refund_x2")).toBe("Refund x2");
    expect(tradingDayWords({})).toMatch(/^Starts at 00:00, UTC/);
    expect(tradingDayWords({ day: { timezone: "Nowhere/Else", starts_at: "17:00" } })).toBe("Starts at 17:00, Nowhere/Else time");
  });
});
