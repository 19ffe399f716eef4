/** The firm's audit log for its admins: who did what to what and when, filtered by actor,
 * action, target and time range, each entry opening on its before and after. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { Fragment, useState } from "react";
import { api, call } from "../../api/client";
import { useSession } from "../../session/store";
import { Button, Empty, ErrorState, Field, Loading, PageTitle } from "../../ui/kit";
import {
  ACTIONS, auditQuery, diffLines, entrySummary, NO_FILTERS, PAGE_SIZE, rangeProblem, TARGETS,
  type AuditEntry, type AuditFilters,
} from "./parts/audit";
import { DeskNav } from "./parts/DeskNav";
import { isAdmin, nextCursor, useDebounced, when } from "./parts/desk";
import { Select } from "./parts/controls";


function Diff({ entry }: { entry: AuditEntry }) {
  const lines = diffLines(entry.before, entry.after);
  if (lines.length === 0) return <p className="text-sm text-muted">No before or after was recorded.</p>;
  return (
    <table className="w-full text-sm" data-testid="audit-diff">
      <caption className="sr-only">Before and after of {entrySummary(entry)}</caption>
      <thead className="text-left text-xs text-muted">
        <tr><th scope="col" className="p-1">Field</th><th scope="col" className="p-1">Before</th><th scope="col" className="p-1">After</th></tr>
      </thead>
      <tbody>
        {lines.map((line) => (
          <tr key={line.key} data-changed={line.changed || undefined} className={line.changed ? "bg-warn/10" : undefined}>
            <th scope="row" className="p-1 text-left font-mono font-normal">{line.key}{line.changed ? <span className="sr-only"> (changed)</span> : null}</th>
            <td className="break-all p-1 font-mono">{line.before}</td>
            <td className={`break-all p-1 font-mono ${line.changed ? "font-semibold" : ""}`}>{line.after}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Entry({ entry }: { entry: AuditEntry }) {
  const [open, setOpen] = useState(false);
  const at = when(entry.at);
  const panel = `audit-${entry.id}`;
  return (
    <Fragment>
      <tr data-testid="audit-row" data-id={entry.id}>
        <td className="whitespace-nowrap p-2 tabular"><time dateTime={entry.at} title={at.utc}>{at.text}</time></td>
        <td className="break-all p-2">{entry.actor ?? <span className="text-muted">the platform</span>}</td>
        <td className="p-2 font-mono text-xs">{entry.action}</td>
        <td className="p-2">{entry.target_type.replace("_", " ")} <span className="font-mono">{entry.target_id}</span></td>
        <td className="p-2">{entry.reason ?? ""}</td>
        <td className="p-2">
          <button type="button" aria-expanded={open} aria-controls={panel}
            aria-label={`${open ? "Hide" : "Show"} changes of ${entrySummary(entry)}`}
            className="rounded border border-line px-2 py-1 text-xs hover:bg-surface-2" onClick={() => setOpen((o) => !o)}>
            {open ? "Hide changes" : "Show changes"}
          </button>
        </td>
      </tr>
      {open ? (
        <tr id={panel}><td colSpan={6} className="bg-surface-2/40 p-2"><Diff entry={entry} /></td></tr>
      ) : null}
    </Fragment>
  );
}

export default function Audit() {
  const role = useSession((s) => s.user?.role);
  const admin = isAdmin(role);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const typed = useDebounced(filters);
  const problem = rangeProblem(typed);
  const list = useInfiniteQuery({
    queryKey: ["desk", "audit", typed],
    enabled: admin && problem === null,
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => call(api.GET("/api/v1/admin/audit", { params: { query: auditQuery(typed, pageParam) } })),
    getNextPageParam: (page) => nextCursor(page, PAGE_SIZE) ?? undefined,
  });
  const rows = list.data?.pages.flat() ?? [];
  const set = (change: Partial<AuditFilters>) => setFilters((f) => ({ ...f, ...change }));

  if (!admin) {
    return (
      <div>
        <PageTitle>Audit log</PageTitle>
        <DeskNav />
        <Empty>Only an admin or the owner reads the audit log.</Empty>
      </div>
    );
  }
  const filtered = Object.values(filters).some((v) => v !== "");
  return (
    <div>
      <PageTitle>Audit log</PageTitle>
      <DeskNav />
      <form role="search" aria-label="Filter the audit log" className="mb-4 flex flex-wrap items-end gap-3" onSubmit={(e) => e.preventDefault()}>
        <Field label="Actor's e-mail" type="search" value={filters.actor} className="w-48" onChange={(e) => set({ actor: e.target.value })} />
        <Select label="Action" value={filters.action} options={[["", "Every action"], ...ACTIONS.map((a): [string, string] => [a, a])]}
          onChange={(action) => set({ action: action as AuditFilters["action"] })} />
        <Select label="Target kind" value={filters.targetType} options={[["", "Any kind"], ...TARGETS.map((t): [string, string] => [t, t.replace("_", " ")])]}
          onChange={(targetType) => set({ targetType: targetType as AuditFilters["targetType"] })} />
        <Field label="Target id or login" type="search" value={filters.target} className="w-40" onChange={(e) => set({ target: e.target.value })} />
        <Field label="From (your time)" type="datetime-local" value={filters.from} onChange={(e) => set({ from: e.target.value })} />
        <Field label="To (your time)" type="datetime-local" value={filters.to} error={problem ?? undefined} onChange={(e) => set({ to: e.target.value })} />
        {filtered ? <Button tone="secondary" onClick={() => setFilters(NO_FILTERS)}>Clear the filters</Button> : null}
      </form>
      {problem ? null : list.isPending ? <Loading label="Loading the audit log" /> : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : rows.length === 0 ? (
        <Empty>{filtered ? "No entry matches these filters." : "Nothing has been done yet."}</Empty>
      ) : (
        <>
          <div className="relative overflow-x-auto rounded-lg border border-line bg-surface" tabIndex={0} role="region" aria-label="Audit log table">
            <table className="w-full min-w-[48rem] text-sm" data-testid="audit">
              <caption className="sr-only">The audit log, newest first</caption>
              <thead className="text-left text-muted">
                <tr>
                  <th scope="col" className="p-2">When</th>
                  <th scope="col" className="p-2">Actor</th>
                  <th scope="col" className="p-2">Action</th>
                  <th scope="col" className="p-2">Target</th>
                  <th scope="col" className="p-2">Reason</th>
                  <th scope="col" className="p-2"><span className="sr-only">Before and after</span></th>
                </tr>
              </thead>
              <tbody className="divide-y divide-line">
                {rows.map((entry) => <Entry key={entry.id} entry={entry} />)}
              </tbody>
            </table>
          </div>
          <div className="mt-3 flex flex-wrap items-center gap-3 text-sm text-muted">
            <span aria-live="polite">{rows.length} entr{rows.length === 1 ? "y" : "ies"} shown</span>
            {list.hasNextPage ? <Button tone="secondary" busy={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>Show more</Button> : null}
          </div>
        </>
      )}
    </div>
  );
}
