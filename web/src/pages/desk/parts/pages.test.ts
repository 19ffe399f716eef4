/** The two desk pages against a stubbed gateway: states, sorting headers, the row window,
 * live numbers on the first rows only, and axe's serious/critical rules.
 * (A .ts file on purpose: pages/**\/*.tsx are lazily routed modules.) */
import { act, cleanup, configure, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { createElement as h } from "react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { axeProblems, renderPage } from "../../public/test-utils";

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

const subscribed = new Set<string>();
const LIVE: Record<string, unknown> = { A0001: { login: "A0001", status: "paused", equity: 9_000, daily_floor: 9_500, max_loss_floor: 9_000, ts: "2026-03-02T10:00:00Z" } };
vi.mock("../../../live/store", async () => {
  const { useEffect } = await import("react");
  return {
    useLiveMetrics: (login: string | undefined) => {
      useEffect(() => {
        if (!login) return;
        subscribed.add(login);
        return () => void subscribed.delete(login);
      }, [login]);
      return login ? LIVE[login] : undefined;
    },
  };
});
vi.mock("./NetLotsChart", () => ({ default: () => h("div", { "data-testid": "net-lots-chart" }) }));

const { default: Floors } = await import("../Floors");
const { default: Exposure } = await import("../Exposure");

function floor(i: number) {
  const account = `A${String(i).padStart(4, "0")}`;
  return { account, ts: "2026-03-02T09:59:00Z", status: "active", equity: 10_000, balance: 10_000,
    daily_floor: 9_500, max_loss_floor: 9_000, headroom: 500, headroom_pct: 5 };
}
const ROWS = Array.from({ length: 250 }, (_, i) => ({ ...floor(i), equity: 10_000 + i * 10 }));
const EXPOSURE = {
  symbols: [
    { symbol: "EURUSD", currency: "USD", net_lots: 3, gross_lots: 11, net_notional: 325_000, gross_notional: 1_190_000, positions: 9, accounts: 4 },
    { symbol: "XAUUSD", currency: "USD", net_lots: -2, gross_lots: 2, net_notional: -460_000, gross_notional: 460_000, positions: 2, accounts: 1 },
  ],
  open_positions: 11,
  most_concentrated: [{ account: "A0007", gross_lots: 4, symbols: 2, largest_symbol: "XAUUSD", largest_lots: 3, concentration_pct: 75 }],
  nearest_floors: ROWS,
};

let failing = false;
beforeAll(() => {
  vi.stubGlobal("fetch", vi.fn(async (input: Request) => {
    const { pathname } = new URL(input.url);
    const [status, body] = failing ? [500, { error: { code: "internal", message: "boom" } }]
      : pathname === "/api/v1/analytics/exposure" ? [200, EXPOSURE] : [404, { error: { code: "not_found", message: "no" } }];
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }));
});
afterEach(() => {
  cleanup();
  failing = false;
});

describe("Floors", () => {
  it("lists the nearest first, 100 rows a page, live numbers on the first 100", async () => {
    const { container } = renderPage(Floors, "/desk/floors");
    const table = await screen.findByRole("table", { name: /live accounts by distance/i });
    const body = within(table).getAllByRole("rowgroup")[1]!;
    expect(within(body).getAllByRole("row")).toHaveLength(100);
    // A0001 is live: paused and through its daily floor, so it sorts first… as of the REST order
    // (the order is the last refresh's); its cells show the live distance
    const first = within(body).getAllByRole("row")[0]!;
    expect(within(first).getByRole("link").textContent).toBe("A0000");
    const a1 = within(body).getByRole("link", { name: "A0001" }).closest("tr")!;
    expect(within(a1).getByTestId("floor-distance").textContent).toBe("−500");
    expect(within(a1).getByText(/paused/i)).toBeTruthy();
    expect(subscribed.size).toBe(100);
    expect(screen.getByTestId("floors-count").textContent).toMatch(/Showing 100 of 250/);
    fireEvent.click(screen.getByRole("button", { name: "Show 100 more" }));
    expect(within(body).getAllByRole("row")).toHaveLength(200);
    expect(subscribed.size).toBe(100);
    expect(screen.getByTestId("floors-updated").textContent).toMatch(/Last updated/);
    expect(await axeProblems(container)).toEqual([]);
  });

  it("sorts by a header button and says so with aria-sort", async () => {
    renderPage(Floors, "/desk/floors");
    const table = await screen.findByRole("table", { name: /live accounts by distance/i });
    const distance = within(table).getByRole("button", { name: /distance/i });
    expect(distance.closest("th")!.getAttribute("aria-sort")).toBe("ascending");
    const equity = within(table).getByRole("button", { name: /equity/i });
    fireEvent.click(equity);
    expect(equity.closest("th")!.getAttribute("aria-sort")).toBe("descending");
    expect(distance.closest("th")!.hasAttribute("aria-sort")).toBe(false);
    const body = within(table).getAllByRole("rowgroup")[1]!;
    expect(within(within(body).getAllByRole("row")[0]!).getByRole("link").textContent).toBe("A0249");
    fireEvent.click(equity);
    expect(equity.closest("th")!.getAttribute("aria-sort")).toBe("ascending");
  });

  it("opens an account on a row click", async () => {
    renderPage(Floors, "/desk/floors");
    const table = await screen.findByRole("table", { name: /live accounts by distance/i });
    const cell = within(table).getAllByRole("meter")[2]!;
    await act(async () => void fireEvent.click(cell));
    expect(screen.getByTestId("location").textContent).toBe("/accounts/A0002");
  });

  it("shows the error with a retry", async () => {
    failing = true;
    renderPage(Floors, "/desk/floors");
    expect((await screen.findByRole("alert")).textContent).toBeTruthy();
    expect(screen.getByRole("button", { name: "Try again" })).toBeTruthy();
  });
});

describe("Exposure", () => {
  it("shows the per-symbol table, the chart, the concentrated accounts and the count", async () => {
    const { container } = renderPage(Exposure, "/desk/exposure");
    const symbols = await screen.findByRole("table", { name: /open exposure by symbol/i });
    expect(within(symbols).getAllByRole("row")).toHaveLength(3);
    expect(await screen.findByTestId("net-lots-chart")).toBeTruthy();
    expect(screen.getByTestId("open-positions-count").textContent).toBe("11");
    const conc = screen.getByRole("table", { name: /most concentrated/i });
    expect(within(conc).getByRole("link", { name: "A0007" }).getAttribute("href")).toBe("/accounts/A0007");
    expect(within(conc).getByText("75%")).toBeTruthy();
    const net = within(symbols).getByRole("button", { name: /net lots/i });
    fireEvent.click(net);
    expect(net.closest("th")!.getAttribute("aria-sort")).toBe("descending");
    expect(screen.getByTestId("exposure-updated").textContent).toMatch(/Last updated/);
    await waitFor(async () => expect(await axeProblems(container)).toEqual([]));
  });
});
