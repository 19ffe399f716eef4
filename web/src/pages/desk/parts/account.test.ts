/** The desk's panel of an account page against a stubbed gateway: the trader and the
 * challenge found, the open events acknowledged, the stop confirmed by the account's
 * login, the audit trail asked only for admins. */
import { act, cleanup, configure, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { createElement as h } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useSession, type User } from "../../../session/store";
import { axeProblems, renderPage } from "../../public/test-utils";
import { challengeOf, stoppable, trail } from "./account";
import type { AuditEntry } from "./audit";
import type { DeskChallenge } from "./challenges";

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

const { default: AccountDesk } = await import("../AccountDesk");
const Page = () => h(AccountDesk, { login: "T1C5P1", status: "active" });

const CHALLENGE = {
  id: 5, program: "gold-10k", status: "active", phase: 0, phase_name: "Phase 1", passed_phase_name: null,
  trader_id: 7, trader_email: "ana@trader.test", trader_name: "Ana",
  accounts: [{ login: "T1C5P1", phase: 0, engine_program: "p1", status: "active", created_at: "2026-12-01T00:00:00Z" }],
  created_at: "2026-12-01T00:00:00Z", updated_at: "2026-12-01T00:00:00Z",
} as DeskChallenge;
const EVENT = { id: "e1", account: "T1C5P1", kind: "breach", rule: "daily_loss", ts: "2026-12-03T06:00:00Z",
  payload: { action: "pause", equity: 9400, floor: 9500 }, acknowledged_at: null, overridden_at: null,
  override_reason: null, replacement_account: null, account_status: "paused" };
const ENTRY = { id: 3, actor: "boss@firm.test", action: "breach.override", target_type: "challenge", target_id: "5",
  before: { account_status: "failed" }, after: { account_status: "active" }, reason: "bad tick", at: "2026-12-03T06:05:00Z" };

function signedIn(role: User["role"]) {
  useSession.setState({ status: "signed-in", user: { id: 1, email: `${role}@firm.test`, display_name: "", role, email_verified: true, two_factor: false, created_at: "2026-01-01T00:00:00Z" } });
}

describe("the panel's logic", () => {
  it("finds the challenge holding exactly this account, merges trails newest first", () => {
    const other = { ...CHALLENGE, id: 6, accounts: [{ ...CHALLENGE.accounts[0]!, login: "T1C5P1R1" }] };
    expect(challengeOf([other, CHALLENGE], "T1C5P1")!.id).toBe(5);
    expect(challengeOf([other], "T1C5P1")).toBeNull();
    const a = { id: 2 } as AuditEntry;
    const b = { id: 9 } as AuditEntry;
    expect(trail([a], [b, a], undefined).map((e) => e.id)).toEqual([9, 2]);
    expect(stoppable("paused")).toBe(true);
    expect(stoppable("failed")).toBe(false);
  });
});

describe("the desk's panel", () => {
  let asked: string[];
  beforeEach(() => {
    asked = [];
    vi.stubGlobal("fetch", vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      asked.push(`${input.method} ${url.pathname}${url.search}`);
      const reply: [number, unknown] =
        url.pathname === "/api/v1/risk/challenges" ? [200, [CHALLENGE]]
        : url.pathname === "/api/v1/risk/events" ? [200, [EVENT]]
        : url.pathname === "/api/v1/admin/audit" ? [200, url.searchParams.get("target_type") === "challenge" ? [ENTRY] : []]
        : input.method === "POST" && url.pathname.endsWith("/acknowledge") ? [200, { ...EVENT, acknowledged_at: "2026-12-03T06:06:00Z" }]
        : input.method === "POST" && url.pathname.endsWith("/stop") ? [204, null]
        : [404, { error: { code: "not_found", message: "no" } }];
      return new Response(reply[0] === 204 ? null : JSON.stringify(reply[1]), { status: reply[0], headers: { "Content-Type": "application/json" } });
    }));
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("shows the risk role the trader, the open events and the stop, not the audit trail", async () => {
    signedIn("risk");
    const { container } = renderPage(Page, "/accounts/T1C5P1");
    expect((await screen.findByTestId("account-desk-trader")).textContent).toContain("Ana (ana@trader.test)");
    const events = await screen.findByTestId("desk-open-events");
    expect(events.textContent).toContain("breach");
    expect(asked).toContain("GET /api/v1/risk/events?account=T1C5P1&state=open&kind=all&limit=100");
    expect(screen.getByText("The audit trail is for an admin or the owner.")).toBeTruthy();
    expect(asked.some((a) => a.includes("/admin/"))).toBe(false);
    expect(await axeProblems(container)).toEqual([]);
    await act(async () => void fireEvent.click(within(events).getByRole("button", { name: /^Acknowledge breach/ })));
    await waitFor(() => expect(asked).toContain("POST /api/v1/risk/events/e1/acknowledge"));
  });

  it("stops the account only once its login is typed, with a reason", async () => {
    signedIn("admin");
    renderPage(Page, "/accounts/T1C5P1");
    expect((await screen.findByTestId("desk-audit-trail")).textContent).toContain("account_status: failed → active");
    fireEvent.click(screen.getByRole("button", { name: "Stop account…" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(within(dialog).getByRole("heading").textContent).toBe("Stop account T1C5P1?");
    const confirm = within(dialog).getByRole("button", { name: "Stop account T1C5P1" }) as HTMLButtonElement;
    fireEvent.change(within(dialog).getByLabelText("Reason for the stop"), { target: { value: "copy trading" } });
    expect(confirm.disabled).toBe(true);
    fireEvent.change(within(dialog).getByLabelText("Type T1C5P1 to confirm"), { target: { value: "T1C5P1" } });
    expect(confirm.disabled).toBe(false);
    await act(async () => void fireEvent.click(confirm));
    await waitFor(() => expect(asked).toContain("POST /api/v1/risk/accounts/T1C5P1/stop"));
  });
});
