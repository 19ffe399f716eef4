/** The analyst's pages, one link each (the current one marked). */
import { NavLink } from "react-router";

const PAGES: [string, string][] = [
  ["/analyst", "Cohorts"],
  ["/analyst/history", "History explorer"],
  ["/analyst/import", "Report import"],
  ["/analyst/what-if", "What-if"],
];

export function AnalystNav() {
  return (
    <nav aria-label="Analytics pages" className="mb-4 flex flex-wrap gap-2 text-sm">
      {PAGES.map(([to, label]) => (
        <NavLink key={to} to={to} end
          className={({ isActive }) => `rounded-md px-3 py-1.5 ${isActive ? "bg-brand text-white" : "border border-line text-ink hover:bg-surface-2"}`}>
          {label}
        </NavLink>
      ))}
    </nav>
  );
}
