/** The analyst's pages against a stubbed gateway: what is sent, what is shown, the
 * refusals, and axe's serious/critical rules. (A .ts file: pages/**\/*.tsx are routed.) */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, configure, fireEvent, render, screen, waitFor } from "@testing-library/react";
import axe from "axe-core";
import { createElement as h, type ComponentType } from "react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { fileProblem, MAX_REPORT_BYTES } from "./parts/api";

vi.hoisted(() => {
  // openapi-fetch builds Requests from relative paths, which Node's Request refuses
  const Base = globalThis.Request;
  globalThis.Request = class extends Base {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === "string" && input.startsWith("/") ? `http://localhost${input}` : input, init);
    }
  } as typeof Request;
});

configure({ asyncUtilTimeout: 10_000 });
vi.setConfig({ testTimeout: 30_000 });

vi.mock("../trader/account/EquityChart", () => ({
  default: ({ points }: { points?: unknown[] }) => h("div", { "data-testid": "equity-chart", "data-points": points?.length ?? -1 }),
}));

const REPORT = {
  account: "1512497509", kind: "mt5-history", currency: "USD", stored_as: null,
  statistics: { total_net_profit: -5025.89, total_trades: 58, profit_trades: 20, trading_days: 1 },
  equity: [{ ts: "2026-02-02T17:16:03Z", equity: 100000, balance: 100000 },
    { ts: "2026-02-02T17:30:16Z", equity: 94974.11, balance: 94974.11 }],
  calendar: [{ date: "2026-02-02", net_profit: -5025.89, trades: 58 }],
};

interface Sent { url: URL; method: string; body: Uint8Array; type: string | null }
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
let sent: Sent[] = [];
let answer: [number, unknown] = [200, REPORT];
let hang = false;

const FOUND = [{ account: "B-100", program: "broker-10k", currency: "EUR", opened_at: "2026-02-01T09:00:00Z" },
  { account: "B-200", program: "broker-10k", currency: "EUR", opened_at: "2026-02-03T09:00:00Z" }];

const COHORTS = [
  { program: "default.gold-10k.p1", period: "2026-02-01", accounts: 10, passed: 3, failed: 5, stopped: 1, running: 1,
    pass_rate_pct: 30, fail_rate_pct: 50, failures_by_rule: [{ rule: "daily_loss", accounts: 3 }, { rule: "max_loss", accounts: 2 }],
    avg_days_to_pass: 4.5, median_days_to_pass: 4, avg_days_to_fail: 2.25, median_days_to_fail: 2, trades: 120, lots: 12.5, net_profit: -1234.56 },
  { program: "default.gold-10k.p1", period: "2026-03-01", accounts: 4, passed: 1, failed: 1, stopped: 0, running: 2,
    pass_rate_pct: 25, fail_rate_pct: 25, failures_by_rule: [{ rule: "daily_loss", accounts: 1 }],
    avg_days_to_pass: 6, median_days_to_pass: 6, avg_days_to_fail: 1, median_days_to_fail: 1, trades: 40, lots: 3, net_profit: 10 },
];

const GOLD = { id: 3, slug: "gold-10k", name: "Gold 10K", price: "99.00", currency: "USD", account_size: "10000.00", advance: "auto",
  addons: [], active: true, updated_at: "2026-01-01T00:00:00Z",
  phases: [{ name: "Phase 1", engine_program: "default.gold-10k.p1",
    document: { rules: { daily_loss: { limit: 0.05, action: "fail" }, max_loss: { limit: 0.1, mode: "static" } } } }] };
const WHATIF = { program: "default.gold-10k.p1", variant: {}, accounts: 12, events: 3456,
  baseline: { by_status: { failed: 5, active: 7 }, failures_by_rule: { daily_loss: 5 } },
  with_variant: { by_status: { failed: 7, active: 5 }, failures_by_rule: { daily_loss: 7 } },
  changed: [{ account: "T9P1", before: { status: "active", rule: null, ts: null }, after: { status: "failed", rule: "daily_loss", ts: "2026-02-03T10:00:00Z" } }] };

function gateway(url: URL): [number, unknown] {
  const path = url.pathname;
  if (path === "/api/v1/programs/gold-10k") return [200, GOLD];
  if (path === "/api/v1/analytics/what-if") return [200, WHATIF];
  if (path === "/api/v1/analytics/cohorts") {
    const program = url.searchParams.get("program");
    if (program && program !== "gold-10k") {
      return [422, { error: { code: "validation_failed", message: `program: no program '${program}' in this firm` } }];
    }
    return [200, COHORTS];
  }
  if (path === "/api/v1/analytics/reports") return answer;
  if (path === "/api/v1/analytics/accounts") {
    const q = (url.searchParams.get("q") ?? "").toLowerCase();
    return [200, FOUND.filter((a) => a.account.toLowerCase().includes(q) || a.program.includes(q))
      .slice(0, Number(url.searchParams.get("limit") ?? 20))];
  }
  if (path === "/api/v1/accounts/B-200/statistics") return [200, { total_trades: 4, total_net_profit: 321.5, trading_days: 2 }];
  if (path === "/api/v1/accounts/B-200/calendar") return [200, [{ date: "2026-02-03", net_profit: 321.5, trades: 4 }]];
  return [404, { error: { code: "not_found", message: "no such resource" } }];
}

beforeAll(() => {
  vi.stubGlobal("fetch", vi.fn(async (input: Request) => {
    sent.push({ url: new URL(input.url), method: input.method, body: new Uint8Array(await input.arrayBuffer()),
      type: input.headers.get("Content-Type") });
    if (hang && input.url.endsWith("/api/v1/analytics/what-if")) {
      return new Promise<Response>((_, reject) => input.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    }
    const [status, body] = gateway(new URL(input.url));
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }));
});

afterEach(() => {
  cleanup();
  sent = [];
  answer = [200, REPORT];
});

async function show(path: string) {
  const [{ default: Import }, { default: History }, { default: Cohorts }] = await Promise.all([
    import("./Import"), import("./History"), import("./Cohorts")]);
  const { default: WhatIf } = await import("./WhatIf");
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter([
    { path: "/analyst/import", element: h(Import as ComponentType) },
    { path: "/analyst/history", element: h(History as ComponentType) },
    { path: "/analyst", element: h(Cohorts as ComponentType) },
    { path: "/analyst/what-if", element: h(WhatIf as ComponentType) },
  ], { initialEntries: [path] });
  const view = render(h(QueryClientProvider, { client }, h(RouterProvider, { router })));
  return { ...view, router };
}

async function serious(container: HTMLElement) {
  const result = await axe.run(container, { rules: { "color-contrast": { enabled: false } } });
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes[0]?.html}`);
}

function choose(file: File) {
  fireEvent.change(screen.getByLabelText("MetaTrader report"), { target: { files: [file] } });
}

const FILE_BYTES = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]);

describe("a report file before it is sent", () => {
  it("is refused when missing, empty or over the gateway's limit", () => {
    expect(fileProblem(null)).toBe("Choose a report file.");
    expect(fileProblem(new File([], "a.xlsx"))).toBe("a.xlsx is empty.");
    const big = new File(["x"], "big.html");
    Object.defineProperty(big, "size", { value: MAX_REPORT_BYTES + 1 });
    expect(fileProblem(big)).toContain("up to 32 MiB");
    expect(fileProblem(new File(["x"], "ok.html"))).toBeNull();
  });
});

describe("report import", () => {
  it("sends the file as it is, keeps nothing, and shows the statistics, curve and calendar", async () => {
    const { container } = await show("/analyst/import");
    choose(new File([FILE_BYTES], "ReportHistory.xlsx"));
    fireEvent.click(screen.getByRole("button", { name: "Read the report" }));
    const result = await screen.findByTestId("report-result");
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request!.method).toBe("POST");
    expect(request!.url.pathname).toBe("/api/v1/analytics/reports");
    expect(request!.url.searchParams.get("file")).toBe("ReportHistory.xlsx");
    expect(request!.url.searchParams.has("store_as")).toBe(false);
    expect([...request!.body]).toEqual([...FILE_BYTES]);
    expect(request!.type).toBe("application/octet-stream");
    expect(result.textContent).toContain("1512497509");
    expect(result.textContent).toContain("not kept");
    expect(screen.getByTestId("statistics").textContent).toContain("5,025.89");
    expect((await screen.findByTestId("equity-chart")).getAttribute("data-points")).toBe("2");
    expect((await screen.findByTestId("calendar")).textContent).toContain("58 tr.");
    expect(await serious(container)).toEqual([]);
  });

  it("keeps the history under the name given, and asks for one", async () => {
    await show("/analyst/import");
    choose(new File([FILE_BYTES], "r.xlsx"));
    fireEvent.click(screen.getByLabelText(/Keep this account's history/));
    fireEvent.click(screen.getByRole("button", { name: "Read the report" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Give the account a name");
    expect(sent).toHaveLength(0);
    answer = [200, { ...REPORT, stored_as: "ftmo-trial" }];
    fireEvent.change(screen.getByLabelText("Account name to keep it under"), { target: { value: " ftmo-trial " } });
    fireEvent.click(screen.getByRole("button", { name: "Read the report" }));
    const kept = await screen.findByRole("link", { name: "ftmo-trial" });
    expect(kept.getAttribute("href")).toBe("/analyst/history?account=ftmo-trial");
    expect(sent[0]!.url.searchParams.get("store_as")).toBe("ftmo-trial");
  });

  it("shows what the gateway says is wrong with the file", async () => {
    answer = [422, { error: { code: "validation_failed", message: "notes.html: not a MetaTrader report (no Deals/Positions table found)",
      fields: [{ path: "$", message: "not a MetaTrader report" }] } }];
    const { container } = await show("/analyst/import");
    choose(new File(["<table><td>x</td></table>"], "notes.html"));
    fireEvent.click(screen.getByRole("button", { name: "Read the report" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("no Deals/Positions table found"));
    expect(screen.queryByTestId("report-result")).toBeNull();
    expect(await serious(container)).toEqual([]);
  });
});

describe("the history explorer", () => {
  it("finds an account and shows its history over the days picked", async () => {
    const { container, router } = await show("/analyst/history");
    await waitFor(() => expect(screen.getByTestId("account-results").querySelectorAll("li")).toHaveLength(2));
    fireEvent.change(screen.getByLabelText("Login or program"), { target: { value: "b-2" } });
    await waitFor(() => expect(screen.getByTestId("account-results").querySelectorAll("li")).toHaveLength(1));
    fireEvent.click(screen.getByRole("button", { name: /B-200/ }));
    await waitFor(() => expect(router.state.location.search).toBe("?account=B-200"));
    expect((await screen.findByTestId("statistics")).textContent).toContain("€321.50");
    expect((await screen.findByTestId("calendar")).textContent).toContain("4 tr.");
    expect(await serious(container)).toEqual([]);

    sent = [];
    fireEvent.change(screen.getByLabelText("From (UTC day)"), { target: { value: "2026-02-01" } });
    fireEvent.change(screen.getByLabelText("To (UTC day, included)"), { target: { value: "2026-02-28" } });
    fireEvent.click(screen.getByRole("button", { name: "Show" }));
    await waitFor(() => expect(router.state.location.search).toBe("?account=B-200&from=2026-02-01&to=2026-02-28"));
    await waitFor(() => expect(sent.some((r) => r.url.pathname.endsWith("/statistics"))).toBe(true));
    for (const request of sent.filter((r) => r.url.pathname.startsWith("/api/v1/accounts/B-200/"))) {
      expect(request.url.searchParams.get("since")).toBe("2026-02-01T00:00:00Z");
      expect(request.url.searchParams.get("until")).toBe("2026-03-01T00:00:00Z");
    }
  });

  it("says what is wrong with a range and with an unknown account", async () => {
    await show("/analyst/history?account=NOPE&from=2026-03-05&to=2026-03-01");
    expect((await screen.findAllByRole("alert")).some((a) => a.textContent?.includes("From must not be after To."))).toBe(true);
    cleanup();
    await show("/analyst/history?account=NOPE");
    await waitFor(() => expect(screen.getAllByRole("alert").some((a) => a.textContent?.includes("no such resource"))).toBe(true));
  });
});

describe("the cohorts page", () => {
  it("shows the cohorts as a table and downloads it as CSV", async () => {
    const saved: Blob[] = [];
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: (blob: Blob) => { saved.push(blob); return "blob:cohorts"; }, revokeObjectURL: () => undefined }));
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined);
    const { container } = await show("/analyst");
    const table = await screen.findByTestId("cohorts-table");
    expect(table.querySelectorAll("tbody tr")).toHaveLength(2);
    expect(table.textContent).toContain("daily_loss 3, max_loss 2");
    expect(table.textContent).toContain("4.5 / 4");
    expect(sent[0]!.url.searchParams.get("period")).toBe("month");
    expect(await serious(container)).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Download CSV" }));
    expect(click).toHaveBeenCalledOnce();
    const csv = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result as string);
      reader.readAsText(saved[0]!);
    });
    expect(csv.split("\r\n")[1]).toBe("default.gold-10k.p1,2026-02-01,10,3,5,1,1,30,50,4.5,4,2.25,2,120,12.5,-1234.56,daily_loss: 3; max_loss: 2");
    click.mockRestore();
  });

  it("sends the filters and shows the gateway's refusal", async () => {
    const { router } = await show("/analyst");
    await screen.findByTestId("cohorts-table");
    fireEvent.change(screen.getByLabelText("Period"), { target: { value: "week" } });
    fireEvent.change(screen.getByLabelText(/^Program/), { target: { value: "nope" } });
    fireEvent.click(screen.getByRole("button", { name: "Show" }));
    await waitFor(() => expect(router.state.location.search).toBe("?period=week&program=nope"));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("no program 'nope'"));
    const last = sent[sent.length - 1]!;
    expect(last.url.searchParams.get("period")).toBe("week");
    expect(last.url.searchParams.get("program")).toBe("nope");
  });
});

describe("the what-if designer", () => {
  it("sends only the changed rule values over the cohort, and shows what changes", async () => {
    const { container } = await show("/analyst/what-if");
    fireEvent.change(screen.getByLabelText("Program slug"), { target: { value: "gold-10k" } });
    fireEvent.click(screen.getByRole("button", { name: "Load its rules" }));
    const limit = await screen.findByLabelText("daily_loss.limit");
    expect((limit as HTMLInputElement).value).toBe("0.05");
    fireEvent.click(screen.getByRole("button", { name: "Run the variant" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Change at least one rule value.");
    fireEvent.change(limit, { target: { value: "0.04" } });
    fireEvent.change(screen.getByLabelText("Cohort opened from (UTC day)"), { target: { value: "2026-02-01" } });
    fireEvent.click(screen.getByRole("button", { name: "Run the variant" }));
    const changed = await screen.findByTestId("whatif-changed");
    expect(changed.textContent).toContain("T9P1");
    expect(changed.textContent).toContain("failed (daily_loss)");
    expect(screen.getByTestId("whatif-summary").textContent).toContain("failed57");
    const posted = sent.find((r) => r.url.pathname === "/api/v1/analytics/what-if")!;
    expect(JSON.parse(text(posted.body))).toEqual({ program: "gold-10k", changes: { rules: { daily_loss: { limit: 0.04 } } },
      since: "2026-02-01T00:00:00Z" });
    expect(await serious(container)).toEqual([]);
  });
});

describe("a long what-if run", () => {
  it("shows the time running and stops waiting on Cancel", async () => {
    hang = true;
    try {
      await show("/analyst/what-if");
      fireEvent.change(screen.getByLabelText("Program slug"), { target: { value: "gold-10k" } });
      fireEvent.click(screen.getByRole("button", { name: "Load its rules" }));
      fireEvent.change(await screen.findByLabelText("max_loss.limit"), { target: { value: "0.08" } });
      fireEvent.click(screen.getByRole("button", { name: "Run the variant" }));
      expect((await screen.findByRole("status")).textContent).toMatch(/Replaying the cohort's feed… \d+ s/);
      fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
      await waitFor(() => expect(screen.queryByRole("status")).toBeNull());
      expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
      expect(screen.queryByTestId("whatif-result")).toBeNull();
      expect((screen.getByRole("button", { name: "Run the variant" }) as HTMLButtonElement).disabled).toBe(false);
    } finally {
      hang = false;
    }
  });
});
