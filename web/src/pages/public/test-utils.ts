/** Rendering a page for a test: a fresh query cache, a memory router at `url`, and a
 * stand-in for every other route that shows where the page navigated to. Tests are .ts
 * (createElement, no JSX): routes.tsx loads every .tsx under pages/ as a page. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import axe from "axe-core";
import { createElement as h, type ComponentType } from "react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";

function Elsewhere() {
  const location = useLocation();
  return h("p", { "data-testid": "location" }, location.pathname + location.search);
}

/** Where the router is now, whichever route shows. */
function Here() {
  const location = useLocation();
  return h("p", { "data-testid": "here", hidden: true }, location.pathname + location.search);
}

export function renderPage(page: ComponentType, url: string, pattern?: string) {
  const client = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  const path = pattern ?? new URL(url, "http://test").pathname;
  const result = render(
    h(QueryClientProvider, { client },
      h(MemoryRouter, { initialEntries: [url] },
        h(Here),
        h(Routes, null,
          h(Route, { path, element: h("main", null, h(page)) }),
          h(Route, { path: "*", element: h(Elsewhere) })))),
  );
  return { ...result, client };
}

/** axe-core's serious and critical findings (colour contrast needs a real browser). */
export async function axeProblems(container: Element): Promise<string[]> {
  const results = await axe.run(container, {
    rules: { "color-contrast": { enabled: false }, region: { enabled: false } },
  });
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(" | ")}`);
}
