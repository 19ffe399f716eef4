/** The desk's part of an account page (staff only, loaded lazily: a trader's pages never
 * fetch it): the trader and the challenge, the emergency stop with a confirmation naming
 * the account, the account's open risk events with acknowledge and override (with a
 * reason), and, for admins, the account's audit trail. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { AlertDialog, Dialog } from "radix-ui";
import { useId, useState } from "react";
import { Link } from "react-router";
import { api, call } from "../../api/client";
import { describeError } from "../../api/errors";
import { useSession } from "../../session/store";
import { Button, Card, Empty, ErrorState, Field, FormError, Loading, StatusBadge } from "../../ui/kit";
import { toast } from "../../ui/toast";
import { amountText, canOverride, fromRiskEvent, ruleText, type Alert } from "./alerts";
import { challengeOf, stoppable, trail } from "./parts/account";
import { diffLines, entrySummary } from "./parts/audit";
import { traderOf } from "./parts/challenges";
import { isAdmin, when } from "./parts/desk";
import { DIALOG } from "./parts/controls";


function StopDialog({ login, open, onClose, onDone }: { login: string; open: boolean; onClose(): void; onDone(): void }) {
  const [typed, setTyped] = useState("");
  const [reason, setReason] = useState("");
  const stop = useMutation({
    mutationFn: () => call(api.POST("/api/v1/risk/accounts/{login}/stop", { params: { path: { login } }, body: { reason: reason.trim() } })),
    onSuccess: () => {
      toast(`Account ${login} stopped`, "It is disabled at the broker and its challenge has failed.", "good");
      onDone();
      close();
    },
  });
  function close() {
    setTyped("");
    setReason("");
    stop.reset();
    onClose();
  }
  const ready = typed.trim() === login && reason.trim().length >= 3;
  return (
    <AlertDialog.Root open={open} onOpenChange={(o) => { if (!o && !stop.isPending) close(); }}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <AlertDialog.Content className={DIALOG}>
          <AlertDialog.Title className="mb-2 text-lg font-semibold">Stop account {login}?</AlertDialog.Title>
          <AlertDialog.Description className="mb-4 text-sm text-muted">
            An emergency stop disables the account at the broker and fails its challenge. It cannot be undone here.
          </AlertDialog.Description>
          <form className="flex flex-col gap-3" onSubmit={(e) => { e.preventDefault(); if (ready) stop.mutate(); }}>
            <Field label={`Type ${login} to confirm`} value={typed} autoComplete="off" spellCheck={false} onChange={(e) => setTyped(e.target.value)} />
            <Field label="Reason for the stop" value={reason} hint="At least 3 characters; kept in the audit log." onChange={(e) => setReason(e.target.value)} />
            <FormError error={stop.error} />
            <div className="flex flex-wrap justify-end gap-2">
              <AlertDialog.Cancel asChild><Button tone="secondary" disabled={stop.isPending}>Cancel</Button></AlertDialog.Cancel>
              <Button type="submit" tone="danger" disabled={!ready} busy={stop.isPending}>Stop account {login}</Button>
            </div>
          </form>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

function OverrideDialog({ alert, onClose, onDone }: { alert: Alert | null; onClose(): void; onDone(): void }) {
  const [reason, setReason] = useState("");
  const id = useId();
  const override = useMutation({
    mutationFn: (a: Alert) => call(api.POST("/api/v1/risk/events/{event_id}/override", {
      params: { path: { event_id: a.id } }, body: { reason: reason.trim() } })),
    onSuccess: (event) => {
      toast("Breach overridden", event.replacement_account ? `The challenge goes on on account ${event.replacement_account}.` : undefined, "good");
      onDone();
      close();
    },
  });
  function close() {
    setReason("");
    override.reset();
    onClose();
  }
  return (
    <Dialog.Root open={alert !== null} onOpenChange={(o) => { if (!o && !override.isPending) close(); }}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <Dialog.Content className={DIALOG}>
          <Dialog.Title className="mb-2 text-lg font-semibold">Override the breach on {alert?.account}</Dialog.Title>
          <Dialog.Description className="mb-4 text-sm text-muted">
            A false failure: the challenge goes on on a new account of the same phase, at the failed account&apos;s last balance.
          </Dialog.Description>
          <form onSubmit={(e) => { e.preventDefault(); if (alert && reason.trim().length >= 3) override.mutate(alert); }}>
            <div className="flex flex-col gap-1">
              <label htmlFor={id} className="text-sm font-medium">Reason (at least 3 characters)</label>
              <textarea id={id} rows={3} value={reason} required onChange={(e) => setReason(e.target.value)}
                className="rounded-md border border-line bg-surface px-3 py-2 text-ink" />
            </div>
            <div className="mt-3"><FormError error={override.error} /></div>
            <div className="mt-4 flex flex-wrap justify-end gap-2">
              <Dialog.Close asChild><Button tone="secondary" disabled={override.isPending}>Cancel</Button></Dialog.Close>
              <Button type="submit" disabled={reason.trim().length < 3} busy={override.isPending}>Override</Button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function OpenEvents({ login }: { login: string }) {
  const client = useQueryClient();
  const key = ["desk", "account", login, "open-events"];
  const events = useQuery({
    queryKey: key,
    queryFn: () => call(api.GET("/api/v1/risk/events", { params: { query: { account: login, state: "open", kind: "all", limit: 100 } } })),
    select: (items) => items.map(fromRiskEvent),
  });
  const refresh = () => void client.invalidateQueries({ queryKey: ["desk"] });
  const acknowledge = useMutation({
    mutationFn: (a: Alert) => call(api.POST("/api/v1/risk/events/{event_id}/acknowledge", { params: { path: { event_id: a.id } } })),
    onSuccess: () => toast("Alert acknowledged", undefined, "good"),
    onError: (error) => toast("Not acknowledged", describeError(error), "bad"),
    onSettled: refresh,
  });
  const [overriding, setOverriding] = useState<Alert | null>(null);
  if (events.isPending) return <Loading label="Loading the account's open events" />;
  if (events.isError) return <ErrorState error={events.error} retry={() => void events.refetch()} />;
  if (events.data.length === 0) return <Empty>No open risk event on this account.</Empty>;
  return (
    <>
      <ul className="divide-y divide-line" data-testid="desk-open-events">
        {events.data.map((a) => {
          const at = when(a.ts);
          const label = `${a.kind}${a.rule ? ` (${ruleText(a)})` : ""} at ${at.utc}`;
          return (
            <li key={a.id} className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
              <span><span className="capitalize">{a.kind}</span>{a.action ? ` · ${a.action}` : ""} — {ruleText(a)} <span className="text-muted">{amountText(a)}</span>
                <time className="block text-xs text-muted" dateTime={a.ts} title={at.utc}>{at.text}</time></span>
              <span className="flex gap-1">
                <button type="button" className="rounded border border-line px-2 py-1 text-xs hover:bg-surface-2"
                  aria-label={`Acknowledge ${label}`} disabled={acknowledge.isPending} onClick={() => acknowledge.mutate(a)}>Acknowledge</button>
                {canOverride(a) ? (
                  <button type="button" className="rounded border border-line px-2 py-1 text-xs hover:bg-surface-2"
                    aria-label={`Override ${label}`} onClick={() => setOverriding(a)}>Override</button>
                ) : null}
              </span>
            </li>
          );
        })}
      </ul>
      <OverrideDialog alert={overriding} onClose={() => setOverriding(null)} onDone={refresh} />
    </>
  );
}

function AuditTrail({ login, challengeId }: { login: string; challengeId: number | null }) {
  const own = useQuery({
    queryKey: ["desk", "account", login, "audit"],
    queryFn: () => call(api.GET("/api/v1/admin/audit", { params: { query: { target_type: "account", target: login, limit: 100 } } })),
  });
  const ofChallenge = useQuery({
    queryKey: ["desk", "challenge", challengeId, "audit"],
    enabled: challengeId !== null,
    queryFn: () => call(api.GET("/api/v1/admin/audit", { params: { query: { target_type: "challenge", target: String(challengeId), limit: 100 } } })),
  });
  if (own.isPending) return <Loading label="Loading the audit trail" />;
  const failed = own.error ?? ofChallenge.error;
  if (failed) return <ErrorState error={failed} retry={() => { void own.refetch(); void ofChallenge.refetch(); }} />;
  const entries = trail(own.data, ofChallenge.data);
  if (entries.length === 0) return <Empty>No admin or desk action on this account yet.</Empty>;
  return (
    <ul className="divide-y divide-line text-sm" data-testid="desk-audit-trail">
      {entries.map((entry) => {
        const at = when(entry.at);
        const changed = diffLines(entry.before, entry.after).filter((line) => line.changed);
        return (
          <li key={entry.id} className="py-2">
            <span className="font-mono text-xs">{entry.action}</span> <span className="text-muted">by {entry.actor ?? "the platform"}</span>
            <time className="ml-1 text-xs text-muted" dateTime={entry.at} title={at.utc}>{at.text}</time>
            <span className="sr-only"> ({entrySummary(entry)})</span>
            {changed.length ? (
              <ul className="mt-1 text-xs">
                {changed.map((line) => <li key={line.key}><span className="font-mono">{line.key}</span>: {line.before} → {line.after}</li>)}
              </ul>
            ) : null}
            {entry.reason ? <p className="text-xs text-muted">Reason: {entry.reason}</p> : null}
          </li>
        );
      })}
    </ul>
  );
}

export default function AccountDesk({ login, status }: { login: string; status: string | undefined }) {
  const role = useSession((s) => s.user?.role);
  const client = useQueryClient();
  const found = useQuery({
    queryKey: ["desk", "account", login, "challenge"],
    queryFn: () => call(api.GET("/api/v1/risk/challenges", { params: { query: { q: login, limit: 20 } } })),
  });
  const challenge = challengeOf(found.data, login);
  const [stopping, setStopping] = useState(false);
  const done = () => {
    void client.invalidateQueries({ queryKey: ["desk"] });
    void client.invalidateQueries({ queryKey: ["account", login] });
  };
  return (
    <section aria-label="The risk desk" className="flex flex-col gap-4" data-testid="account-desk">
      <Card title="Risk desk" actions={stoppable(status) ? (
        <Button tone="danger" onClick={() => setStopping(true)}>Stop account…</Button>
      ) : null}>
        {found.isPending ? <Loading label="Finding the account's challenge" /> : found.isError ? (
          <ErrorState error={found.error} retry={() => void found.refetch()} />
        ) : challenge ? (
          <p className="text-sm" data-testid="account-desk-trader">
            Trader {traderOf(challenge)} · {challenge.program} · challenge #{challenge.id} <StatusBadge status={challenge.status} />
            {" "}<Link className="text-brand underline" to="/desk/challenges">Challenges monitor</Link>
          </p>
        ) : <p className="text-sm text-muted">No challenge of the platform holds this account (the broker&apos;s own).</p>}
        <h3 className="mb-1 mt-4 text-sm font-semibold">Open risk events</h3>
        <OpenEvents login={login} />
      </Card>
      <Card title="Audit trail">
        {isAdmin(role) ? <AuditTrail login={login} challengeId={challenge?.id ?? null} />
          : <p className="text-sm text-muted">The audit trail is for an admin or the owner.</p>}
      </Card>
      <StopDialog login={login} open={stopping} onClose={() => setStopping(false)} onDone={done} />
    </section>
  );
}
