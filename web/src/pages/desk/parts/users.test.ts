/** The users page: the change's body and question, and the page against a stubbed
 * gateway (the risk role fetches nothing, a search asks the API, a change is confirmed and
 * what the API refuses is shown in its words). */
import { act, cleanup, configure, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useSession, type User } from "../../../session/store";
import { axeProblems, renderPage } from "../../public/test-utils";
import { changeBody, changeQuestion, reasonProblem, usersQuery, type AdminUser } from "./users";

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

const { default: Users } = await import("../Users");

function person(id: number, email: string, role: AdminUser["role"], disabled = false): AdminUser {
  return { id, email, display_name: "", role, email_verified: true, two_factor: false, created_at: "2026-01-01T00:00:00Z", disabled };
}

function signedIn(role: User["role"]) {
  useSession.setState({ status: "signed-in", user: { ...person(1, `${role}@firm.test`, role) } });
}

describe("a user change", () => {
  it("sends only what changes, a reason only when given", () => {
    expect(changeBody({ kind: "role", role: "risk" }, " ")).toEqual({ role: "risk" });
    expect(changeBody({ kind: "disable" }, " fraud ")).toEqual({ disabled: true, reason: "fraud" });
    expect(changeBody({ kind: "enable" }, "")).toEqual({ disabled: false });
    expect(usersQuery("", undefined)).toEqual({ limit: 50 });
    expect(usersQuery("ana", 7)).toEqual({ q: "ana", limit: 50, after: 7 });
  });

  it("names the user and what happens", () => {
    const ana = person(2, "ana@trader.test", "trader");
    expect(changeQuestion(ana, { kind: "role", role: "risk" })).toBe("Change ana@trader.test's role from trader to risk?");
    expect(changeQuestion(ana, { kind: "disable" })).toMatch(/^Disable ana@trader.test\? They are signed out/);
    expect(reasonProblem("")).toBeNull();
    expect(reasonProblem("ab")).toMatch(/at least 3/);
    expect(reasonProblem("x".repeat(501))).toMatch(/at most 500/);
  });
});

describe("the Users page", () => {
  let users: AdminUser[];
  let asked: URL[];
  let patches: unknown[];
  beforeEach(() => {
    users = [person(1, "admin@firm.test", "admin"), person(2, "ana@trader.test", "trader"), person(3, "peer@firm.test", "admin")];
    asked = [];
    patches = [];
    vi.stubGlobal("fetch", vi.fn(async (input: Request) => {
      const url = new URL(input.url);
      asked.push(url);
      let reply: [number, unknown] = [404, { error: { code: "not_found", message: "no" } }];
      if (url.pathname === "/api/v1/admin/users") {
        const q = url.searchParams.get("q") ?? "";
        reply = [200, users.filter((u) => u.email.includes(q))];
      } else if (input.method === "PATCH") {
        const id = Number(url.pathname.split("/").pop());
        const body = await input.json() as { disabled?: boolean };
        patches.push(body);
        reply = id === 3
          ? [403, { error: { code: "rank", message: "a admin ranks at or above you (admin): only the owner acts on them" } }]
          : [200, (users = users.map((u) => (u.id === id ? { ...u, disabled: body.disabled ?? u.disabled } : u))).find((u) => u.id === id)];
      }
      return new Response(JSON.stringify(reply[1]), { status: reply[0], headers: { "Content-Type": "application/json" } });
    }));
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("asks nothing for the risk role and says why", async () => {
    signedIn("risk");
    renderPage(Users, "/desk/users");
    expect(await screen.findByText(/Only an admin or the owner manages/)).toBeTruthy();
    expect(asked).toEqual([]);
  });

  it("searches, disables after a confirmation, and shows the API's refusal", async () => {
    signedIn("admin");
    const { container } = renderPage(Users, "/desk/users");
    expect(await screen.findAllByTestId("user-row")).toHaveLength(3);
    expect(await axeProblems(container)).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Disable ana@trader.test" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog.textContent).toContain("Disable ana@trader.test?");
    expect(patches).toEqual([]);
    fireEvent.change(within(dialog).getByLabelText(/Reason/), { target: { value: "chargeback" } });
    await act(async () => void fireEvent.click(within(dialog).getByRole("button", { name: "Disable" })));
    expect(patches).toEqual([{ disabled: true, reason: "chargeback" }]);
    await waitFor(() => expect(screen.getByRole("button", { name: "Enable ana@trader.test" })).toBeTruthy());

    fireEvent.click(screen.getByRole("button", { name: "Disable peer@firm.test" }));
    const refused = await screen.findByRole("alertdialog");
    await act(async () => void fireEvent.click(within(refused).getByRole("button", { name: "Disable" })));
    expect((await within(refused).findByRole("alert")).textContent).toBe("a admin ranks at or above you (admin): only the owner acts on them");
    fireEvent.click(within(refused).getByRole("button", { name: "Cancel" }));

    fireEvent.change(screen.getByLabelText("E-mail or name"), { target: { value: "peer" } });
    await waitFor(() => expect(screen.getAllByTestId("user-row")).toHaveLength(1));
    expect(asked.some((u) => u.searchParams.get("q") === "peer")).toBe(true);
  });
});
