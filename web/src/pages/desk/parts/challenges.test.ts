/** The challenges monitor: its filters, who may approve, the confirmation; and the page
 * against a stubbed gateway (review first, the risk role told why it cannot approve, an
 * admin's approval confirmed by name and the list asked again). */
import { act, cleanup, configure, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useSession, type User } from "../../../session/store";
import { axeProblems, renderPage } from "../../public/test-utils";
import { approvalBlock, approvalQuestion, challengeQuery, DEFAULT_FILTERS, type DeskChallenge } from "./challenges";
import { compact, deskLinks, nextCursor } from "./desk";

vi.hoisted(() => {
  const Base = globalThis.Request;
  globalThis.Request = class extends Base {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === "string" && input.startsWith("/") ? `http://localhost${input}` : input, init);
    }
  } as typeof Request;
});
configure({ asyncUtilTimeout: 10_000 });
vi.setConfig({ testTimeout: 30_000 });

const { default: Challenges } = await import("../Challenges");

function challenge(id: number, over: Partial<DeskChallenge> = {}): DeskChallenge {
  return {
    id, program: "gold-10k", status: "review", phase: 1, phase_name: "Phase 2", passed_phase_name: "Phase 1",
    trader_id: 7, trader_email: "ana@trader.test", trader_name: "Ana Trader",
    accounts: [{ login: `T1C${id}P1`, phase: 0, engine_program: "default.gold-10k.p1", status: "passed", created_at: "2026-12-01T10:00:00Z" }],
    created_at: "2026-12-01T10:00:00Z", updated_at: "2026-12-02T10:00:00Z", ...over,
  };
}

function user(role: User["role"]): User {
  return { id: 1, email: `${role}@firm.test`, display_name: "", role, email_verified: true, two_factor: false, created_at: "2026-01-01T00:00:00Z" };
}

describe("the monitor's logic", () => {
  it("asks for the phases under review first, without empty filters", () => {
    expect(challengeQuery(DEFAULT_FILTERS)).toEqual({ status: "review", limit: 50 });
    expect(challengeQuery({ status: "", program: " gold-10k ", q: "  " }, 40)).toEqual({ program: "gold-10k", limit: 50, before: 40 });
    expect(compact({ a: "", b: undefined, c: 0 })).toEqual({ c: 0 });
  });

  it("pages by the last id of a full page only", () => {
    expect(nextCursor([{ id: 9 }, { id: 4 }], 2)).toBe(4);
    expect(nextCursor([{ id: 9 }], 2)).toBeNull();
    expect(nextCursor([], 0)).toBeNull();
  });

  it("lets admins and the owner approve a phase under review, and says why not to others", () => {
    expect(approvalBlock("admin", challenge(1))).toBeNull();
    expect(approvalBlock("owner", challenge(1))).toBeNull();
    expect(approvalBlock("risk", challenge(1))).toMatch(/admin or the owner/);
    expect(approvalBlock("admin", challenge(1, { status: "active" }))).toMatch(/under review/);
  });

  it("names the trader and the phase in the confirmation", () => {
    expect(approvalQuestion(challenge(12))).toBe(
      "Approve Ana Trader (ana@trader.test)'s Phase 1 on gold-10k (challenge #12)? Phase 2 opens on a new account.");
    expect(approvalQuestion(challenge(3, { trader_name: "" }))).toMatch(/^Approve ana@trader.test's Phase 1/);
  });

  it("shows Users and Audit to admins only", () => {
    expect(deskLinks("risk").map((l) => l.label)).toEqual(["Alerts", "Floors", "Exposure", "Challenges"]);
    expect(deskLinks("owner").map((l) => l.label)).toEqual(["Alerts", "Floors", "Exposure", "Challenges", "Users", "Audit"]);
  });
});

describe("the Challenges page", () => {
  let listed: DeskChallenge[];
  let asked: URL[];
  let approved: string[];
  beforeEach(() => {
    listed = [challenge(12), challenge(11, { trader_email: "bob@trader.test", trader_name: "Bob" })];
    asked = [];
    approved = [];
    vi.stubGlobal("fetch", vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      asked.push(url);
      let body: unknown = { error: { code: "not_found", message: "no" } };
      let status = 404;
      if (url.pathname === "/api/v1/risk/challenges") {
        const wanted = url.searchParams.get("status");
        [status, body] = [200, listed.filter((c) => !wanted || c.status === wanted)];
      } else if (url.pathname === "/api/v1/programs") {
        [status, body] = [200, [{ slug: "gold-10k", name: "Gold 10k" }]];
      } else if (/^\/api\/v1\/admin\/challenges\/\d+\/approve$/.test(url.pathname) && input.method === "POST") {
        const id = Number(url.pathname.split("/")[5]);
        approved.push(String(id));
        listed = listed.map((c) => (c.id === id ? { ...c, status: "active", passed_phase_name: null } : c));
        [status, body] = [200, { ...challenge(id), status: "active", accounts: [{ login: `T1C${id}P2` }] }];
      }
      return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
    }));
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("tells the risk role why it cannot approve", async () => {
    useSession.setState({ user: user("risk"), status: "signed-in" });
    const { container } = renderPage(Challenges, "/desk/challenges");
    const rows = await screen.findAllByTestId("challenge-row");
    expect(rows).toHaveLength(2);
    expect(asked.find((u) => u.pathname === "/api/v1/risk/challenges")!.searchParams.get("status")).toBe("review");
    const button = within(rows[0]!).getByRole("button", { name: "Approve" }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(button.getAttribute("aria-describedby")).toBeTruthy();
    expect(document.getElementById(button.getAttribute("aria-describedby")!)!.textContent).toMatch(/admin or the owner/);
    expect(screen.queryByRole("link", { name: "Users" })).toBeNull();
    expect(await axeProblems(container)).toEqual([]);
  });

  it("lets an admin approve after a confirmation naming the trader and the phase", async () => {
    useSession.setState({ user: user("admin"), status: "signed-in" });
    renderPage(Challenges, "/desk/challenges");
    const button = await screen.findByRole("button", { name: "Approve Phase 1 of Bob (bob@trader.test)" });
    fireEvent.click(button);
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog.textContent).toContain("Approve Bob (bob@trader.test)'s Phase 1 on gold-10k (challenge #11)?");
    expect(approved).toEqual([]);
    await act(async () => void fireEvent.click(within(dialog).getByRole("button", { name: "Approve Phase 1" })));
    expect(approved).toEqual(["11"]);
    await waitFor(() => expect(screen.getAllByTestId("challenge-row")).toHaveLength(1));
    expect(screen.getByTestId("challenge-row").getAttribute("data-id")).toBe("12");
    expect(screen.getByRole("link", { name: "Audit" })).toBeTruthy();
  });

  it("filters by status and trader, and shows the empty state", async () => {
    useSession.setState({ user: user("admin"), status: "signed-in" });
    renderPage(Challenges, "/desk/challenges");
    await screen.findAllByTestId("challenge-row");
    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "failed" } });
    expect(await screen.findByText("No challenge matches these filters.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Trader or account"), { target: { value: "bob" } });
    await waitFor(() => expect(asked.some((u) => u.searchParams.get("q") === "bob" && u.searchParams.get("status") === "failed")).toBe(true));
  });
});
