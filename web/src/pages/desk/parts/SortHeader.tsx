/** A sortable column header: a button inside the <th>, aria-sort on the sorted column
 * only, an arrow drawn for the eye (hidden from screen readers, which hear aria-sort). */
import type { ReactNode } from "react";
import type { Sort } from "./floors";

export function SortHeader<K extends string>({ column, sort, onSort, children, align = "left", className = "" }: {
  column: K; sort: Sort<K>; onSort: (key: K) => void; children: ReactNode;
  align?: "left" | "right"; className?: string;
}) {
  const active = sort.key === column;
  return (
    <th scope="col" aria-sort={active ? sort.direction : undefined}
      className={`py-1 pr-3 font-medium ${align === "right" ? "text-right" : "text-left"} ${className}`}>
      <button type="button" onClick={() => onSort(column)}
        className={`inline-flex min-h-8 items-center gap-1 rounded px-1 -mx-1 hover:text-ink ${active ? "text-ink" : ""}`}>
        {children}
        <span aria-hidden="true" className="w-3 text-center">
          {active ? (sort.direction === "ascending" ? "▲" : "▼") : "↕"}
        </span>
      </button>
    </th>
  );
}
