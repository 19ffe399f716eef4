/** The audit log page: its filters as the API takes them, an entry's before and after,
 * and the page against a stubbed gateway (filters asked of the API, an entry expanded). */
import { cleanup, configure, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useSession, type User } from "../../../session/store";
import { axeProblems, renderPage } from "../../public/test-utils";
import { auditQuery, diffLines, localToIso, NO_FILTERS, rangeProblem, type AuditEntry } from "./audit";

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

const { default: Audit } = await import("../Audit");

// (the generated type says Record<string, never> for the free-form before and after)
const ENTRIES = [
  { id: 9, actor: "peer@firm.test", action: "user.update", target_type: "user", target_id: "4",
    before: { role: "trader", disabled: false }, after: { role: "trader", disabled: true }, reason: "fraud", at: "2026-12-03T06:10:00Z" },
  { id: 8, actor: null, action: "program.create", target_type: "program", target_id: "1",
    before: null, after: { slug: "gold-10k" }, reason: null, at: "2026-12-03T06:00:00Z" },
] as unknown as AuditEntry[];

describe("the audit log's logic", () => {
  it("marks what changed, every field of both sides in order", () => {
    expect(diffLines({ role: "trader", disabled: false }, { role: "trader", disabled: true })).toEqual([
      { key: "disabled", before: "false", after: "true", changed: true },
      { key: "role", before: "trader", after: "trader", changed: false },
    ]);
    expect(diffLines(null, { slug: "gold-10k", phases: [1] })).toEqual([
      { key: "phases", before: "—", after: "[1]", changed: true },
      { key: "slug", before: "—", after: "gold-10k", changed: true },
    ]);
    expect(diffLines(null, null)).toEqual([]);
  });

  it("asks the API in UTC and leaves out empty filters", () => {
    expect(auditQuery(NO_FILTERS)).toEqual({ limit: 50 });
    const from = "2026-12-03T07:00";
    expect(localToIso(from)).toBe(new Date(from).toISOString());
    expect(localToIso("")).toBeUndefined();
    expect(auditQuery({ ...NO_FILTERS, actor: " peer ", action: "user.update", targetType: "user", target: "4", from }, 8)).toEqual({
      actor: "peer", action: "user.update", target_type: "user", target: "4", from: new Date(from).toISOString(), limit: 50, before: 8 });
    expect(rangeProblem({ from: "2026-12-03T07:00", to: "2026-12-03T06:00" })).toMatch(/after its start/);
    expect(rangeProblem({ from: "2026-12-03T06:00", to: "2026-12-03T07:00" })).toBeNull();
  });
});

describe("the Audit page", () => {
  let asked: URL[];
  beforeEach(() => {
    asked = [];
    vi.stubGlobal("fetch", vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      asked.push(url);
      const action = url.searchParams.get("action");
      const body = url.pathname === "/api/v1/admin/audit" ? ENTRIES.filter((e) => !action || e.action === action) : [];
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    }));
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("asks nothing for the risk role", async () => {
    useSession.setState({ status: "signed-in", user: { id: 1, email: "r@firm.test", display_name: "", role: "risk", email_verified: true, two_factor: false, created_at: "2026-01-01T00:00:00Z" } as User });
    renderPage(Audit, "/desk/audit");
    expect(await screen.findByText(/Only an admin or the owner reads/)).toBeTruthy();
    expect(asked).toEqual([]);
  });

  it("filters by action and opens an entry on its before and after", async () => {
    useSession.setState({ status: "signed-in", user: { id: 1, email: "a@firm.test", display_name: "", role: "owner", email_verified: true, two_factor: false, created_at: "2026-01-01T00:00:00Z" } as User });
    const { container } = renderPage(Audit, "/desk/audit");
    expect(await screen.findAllByTestId("audit-row")).toHaveLength(2);
    expect(screen.getByText("the platform")).toBeTruthy();
    const toggle = screen.getByRole("button", { name: "Show changes of user.update on user 4" });
    fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    const diff = screen.getByTestId("audit-diff");
    const changed = within(diff).getAllByRole("row").filter((r) => r.hasAttribute("data-changed"));
    expect(changed.map((r) => r.textContent)).toEqual(["disabled (changed)falsetrue"]);
    expect(await axeProblems(container)).toEqual([]);
    fireEvent.change(screen.getByLabelText("Action"), { target: { value: "program.create" } });
    await waitFor(() => expect(screen.getAllByTestId("audit-row")).toHaveLength(1));
    expect(asked.at(-1)!.searchParams.get("action")).toBe("program.create");
    fireEvent.change(screen.getByLabelText("From (your time)"), { target: { value: "2026-12-03T08:00" } });
    fireEvent.change(screen.getByLabelText("To (your time)"), { target: { value: "2026-12-03T07:00" } });
    expect(await screen.findByText("The end of the range must be after its start.")).toBeTruthy();
  });
});
