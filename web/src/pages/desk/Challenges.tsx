/** The challenges monitor: the firm's challenges, the phases passed under review first,
 * filtered by status, program and trader; an admin approves a phase under review after a
 * confirmation naming the trader and the phase (the risk role sees why it cannot). */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { AlertDialog } from "radix-ui";
import { useState } from "react";
import { Link } from "react-router";
import { api, call } from "../../api/client";
import { useSession } from "../../session/store";
import { Button, Empty, ErrorState, Field, FormError, Loading, PageTitle, StatusBadge } from "../../ui/kit";
import { toast } from "../../ui/toast";
import {
  approvalBlock, approvalQuestion, challengeQuery, DEFAULT_FILTERS, PAGE_SIZE, STATUS_CHOICES, traderOf,
  type ChallengeFilters, type DeskChallenge,
} from "./parts/challenges";
import { DeskNav } from "./parts/DeskNav";
import { isAdmin, nextCursor, useDebounced, when } from "./parts/desk";
import { DIALOG, Select } from "./parts/controls";

const KEY = ["desk", "challenges"] as const;


function ApproveDialog({ challenge, onClose }: { challenge: DeskChallenge | null; onClose(): void }) {
  const client = useQueryClient();
  const approve = useMutation({
    mutationFn: (c: DeskChallenge) => call(api.POST("/api/v1/admin/challenges/{challenge_id}/approve", {
      params: { path: { challenge_id: c.id } } })),
    onSuccess: (done, c) => {
      const opened = done.accounts[done.accounts.length - 1]?.login;
      toast(`${c.passed_phase_name ?? "Phase"} approved`, `${done.phase_name} opened${opened ? ` on account ${opened}` : ""} for ${traderOf(c)}.`, "good");
      void client.invalidateQueries({ queryKey: KEY });
      onClose();
    },
  });
  return (
    <AlertDialog.Root open={challenge !== null} onOpenChange={(open) => { if (!open && !approve.isPending) { approve.reset(); onClose(); } }}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <AlertDialog.Content className={DIALOG}>
          <AlertDialog.Title className="mb-2 text-lg font-semibold">Approve the phase?</AlertDialog.Title>
          <AlertDialog.Description className="mb-4 text-sm">
            {challenge ? approvalQuestion(challenge) : ""}
          </AlertDialog.Description>
          <FormError error={approve.error} />
          <div className="mt-4 flex flex-wrap justify-end gap-2">
            <AlertDialog.Cancel asChild><Button tone="secondary" disabled={approve.isPending}>Cancel</Button></AlertDialog.Cancel>
            <Button busy={approve.isPending} onClick={() => challenge && approve.mutate(challenge)}>
              Approve {challenge?.passed_phase_name ?? "the phase"}
            </Button>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

function Row({ c, blocked, onApprove }: { c: DeskChallenge; blocked: (c: DeskChallenge) => string | null; onApprove(c: DeskChallenge): void }) {
  const why = blocked(c);
  const updated = when(c.updated_at);
  const hint = `why-${c.id}`;
  return (
    <tr data-testid="challenge-row" data-id={c.id} data-status={c.status}>
      <td className="p-2 tabular">#{c.id}</td>
      <td className="p-2"><span className="block">{c.trader_name || c.trader_email}</span>
        {c.trader_name ? <span className="block text-xs text-muted">{c.trader_email}</span> : null}</td>
      <td className="p-2">{c.program}</td>
      <td className="p-2"><StatusBadge status={c.status} /></td>
      <td className="p-2">{c.status === "review" ? <>{c.passed_phase_name} passed<span className="block text-xs text-muted">{c.phase_name} waits</span></> : c.phase_name}</td>
      <td className="p-2">
        {c.accounts.length === 0 ? <span className="text-muted">none yet</span> : (
          <ul className="flex flex-col gap-0.5">
            {c.accounts.map((a) => (
              <li key={a.login}><Link className="font-mono text-brand underline" to={`/accounts/${encodeURIComponent(a.login)}`}>{a.login}</Link>
                {" "}<span className="text-xs text-muted">{a.status}</span></li>
            ))}
          </ul>
        )}
      </td>
      <td className="whitespace-nowrap p-2 tabular"><time dateTime={c.updated_at} title={updated.utc}>{updated.text}</time></td>
      <td className="p-2">
        {c.status !== "review" ? null : why === null ? (
          <Button className="min-h-8 px-3 py-1 text-xs" aria-label={`Approve ${c.passed_phase_name ?? "the phase"} of ${traderOf(c)}`} onClick={() => onApprove(c)}>Approve</Button>
        ) : (
          <>
            <Button tone="secondary" className="min-h-8 px-3 py-1 text-xs" disabled aria-describedby={hint}>Approve</Button>
            <p id={hint} className="mt-1 max-w-40 text-xs text-muted">{why}</p>
          </>
        )}
      </td>
    </tr>
  );
}

export default function Challenges() {
  const role = useSession((s) => s.user?.role);
  const [filters, setFilters] = useState<ChallengeFilters>(DEFAULT_FILTERS);
  const [text, setText] = useState("");
  const q = useDebounced(text);
  const asked = { ...filters, q };
  const programs = useQuery({ queryKey: ["programs"], queryFn: () => call(api.GET("/api/v1/programs")) });
  const list = useInfiniteQuery({
    queryKey: [...KEY, asked],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => call(api.GET("/api/v1/risk/challenges", { params: { query: challengeQuery(asked, pageParam) } })),
    getNextPageParam: (page) => nextCursor(page, PAGE_SIZE) ?? undefined,
  });
  const [approving, setApproving] = useState<DeskChallenge | null>(null);
  const rows = list.data?.pages.flat() ?? [];
  const blocked = (c: DeskChallenge) => approvalBlock(role, c);
  const programChoices: [string, string][] = [["", "Every program"], ...(programs.data ?? []).map((p): [string, string] => [p.slug, p.name])];

  return (
    <div>
      <PageTitle>Challenges</PageTitle>
      <DeskNav />
      {isAdmin(role) ? null : (
        <p className="mb-3 text-sm text-muted">You see every challenge; approving a phase under review is for an admin or the owner.</p>
      )}
      <form className="mb-4 flex flex-wrap items-end gap-3" role="search" aria-label="Filter the challenges" onSubmit={(e) => e.preventDefault()}>
        <Select label="Status" value={filters.status} options={STATUS_CHOICES}
          onChange={(status) => setFilters((f) => ({ ...f, status: status as ChallengeFilters["status"] }))} />
        <Select label="Program" value={filters.program} options={programChoices}
          onChange={(program) => setFilters((f) => ({ ...f, program }))} />
        <Field label="Trader or account" type="search" value={text} className="w-56"
          placeholder="e-mail, name or login" onChange={(e) => setText(e.target.value)} />
      </form>

      {list.isPending ? <Loading label="Loading the challenges" /> : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : rows.length === 0 ? (
        <Empty>{filters.status === "review" && !filters.program && !q
          ? "No phase waits for a review." : "No challenge matches these filters."}</Empty>
      ) : (
        <>
          <div className="relative overflow-x-auto rounded-lg border border-line bg-surface" tabIndex={0} role="region" aria-label="Challenges table">
            <table className="w-full min-w-[48rem] text-sm" data-testid="challenges">
              <caption className="sr-only">The firm&apos;s challenges, newest first</caption>
              <thead className="text-left text-muted">
                <tr>
                  <th scope="col" className="p-2">Challenge</th>
                  <th scope="col" className="p-2">Trader</th>
                  <th scope="col" className="p-2">Program</th>
                  <th scope="col" className="p-2">Status</th>
                  <th scope="col" className="p-2">Phase</th>
                  <th scope="col" className="p-2">Accounts</th>
                  <th scope="col" className="p-2">Updated</th>
                  <th scope="col" className="p-2">Action</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-line">
                {rows.map((c) => <Row key={c.id} c={c} blocked={blocked} onApprove={setApproving} />)}
              </tbody>
            </table>
          </div>
          <div className="mt-3 flex flex-wrap items-center gap-3 text-sm text-muted">
            <span aria-live="polite" data-testid="challenges-count">{rows.length} challenge{rows.length === 1 ? "" : "s"} shown</span>
            {list.hasNextPage ? (
              <Button tone="secondary" busy={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>Show more</Button>
            ) : null}
          </div>
        </>
      )}
      <ApproveDialog challenge={approving} onClose={() => setApproving(null)} />
    </div>
  );
}
