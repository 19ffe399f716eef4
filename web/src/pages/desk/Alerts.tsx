/** The risk desk's live alert feed for the whole firm: the history from
 * `GET /risk/events` and the live `risk_event`s of the risk feed, newest first, one row
 * per answer. The desk acknowledges, overrides a false failure and stops an account.
 *
 * Live alerts are buffered and added at most every 100 ms (the desk may get dozens a
 * second); rows are memoised and at most MAX_ROWS are drawn. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { AlertDialog, Dialog } from "radix-ui";
import { memo, useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, call } from "../../api/client";
import { describeError } from "../../api/errors";
import { useTenant } from "../../app/tenant";
import { useLink, useRiskFeed, type RiskEventMessage } from "../../live/store";
import { useSession } from "../../session/store";
import { Button, Empty, ErrorState, Field, FormError, Loading, PageTitle, StatusBadge } from "../../ui/kit";
import { toast } from "../../ui/toast";
import {
  addLive, amountText, applyFilters, canOverride, canStop, deskTitle, fromLive, fromRiskEvent,
  mergeAlerts, NO_FILTERS, openCount, programsOf, readPrefs, ruleText, writePrefs,
  type Alert, type DeskPrefs, type Filters,
} from "./alerts";
import { DeskNav } from "./parts/DeskNav";
import { DIALOG, Select } from "./parts/controls";

const MAX_ROWS = 500;
const FLUSH_MS = 100;
const EVENTS_KEY = ["desk", "events"] as const;

const LOCAL = new Intl.DateTimeFormat(undefined, {
  day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

function utc(at: number): string {
  return at ? `${new Date(at).toISOString().replace("T", " ").slice(0, 19)} UTC` : "";
}

// ------------------------------------------------------------------------- sound, notices

let audio: AudioContext | null = null;

/** A short beep made by WebAudio (no sound file). */
function beep(): void {
  const Context = typeof window === "undefined" ? undefined : window.AudioContext;
  if (!Context) return;
  try {
    audio ??= new Context();
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.25);
  } catch {
    // no audio device: the page still shows the alert
  }
}

function notifyBreaches(breaches: readonly Alert[]): void {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  const [first] = breaches;
  if (!first) return;
  const title = breaches.length === 1 ? `Breach on ${first.account}` : `${breaches.length} new breaches`;
  try {
    new Notification(title, { body: `${ruleText(first)} — ${amountText(first)}`, tag: "proptrade-desk" });
  } catch {
    // some browsers allow notifications only from a service worker
  }
}

function usePrefs(userId: number | undefined): [DeskPrefs, (next: DeskPrefs) => void] {
  const storage = typeof localStorage === "undefined" ? undefined : localStorage;
  const [prefs, setPrefs] = useState<DeskPrefs>(() => readPrefs(storage, userId ?? 0));
  useEffect(() => setPrefs(readPrefs(storage, userId ?? 0)), [storage, userId]);
  const save = useCallback((next: DeskPrefs) => {
    setPrefs(next);
    if (userId !== undefined) writePrefs(storage, userId, next);
  }, [storage, userId]);
  return [prefs, save];
}

// ------------------------------------------------------------------------------ the feed

function useHistory() {
  return useQuery({
    queryKey: EVENTS_KEY,
    queryFn: () => call(api.GET("/api/v1/risk/events", { params: { query: { kind: "all", limit: 200 } } })),
    select: (items) => items.map(fromRiskEvent),
  });
}

/** The live alerts, added in batches; `onBatch` hears each batch (sound, notices). */
function useLiveAlerts(onBatch: (batch: readonly Alert[]) => void): Alert[] {
  const [kept, setKept] = useState<Alert[]>([]);
  const buffer = useRef<Alert[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const batchRef = useRef(onBatch);
  batchRef.current = onBatch;
  const listener = useCallback((message: RiskEventMessage) => {
    buffer.current.push(fromLive(message));
    timer.current ??= setTimeout(() => {
      timer.current = null;
      const batch = buffer.current;
      buffer.current = [];
      setKept((before) => addLive(before, batch));
      batchRef.current(batch);
    }, FLUSH_MS);
  }, []);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  useRiskFeed(listener);
  return kept;
}

/** After the link comes back, the history fills what the socket missed. */
function useRefetchOnReconnect(refetch: () => void): void {
  const state = useLink((s) => s.state);
  const was = useRef(state);
  useEffect(() => {
    if (state === "live" && was.current === "reconnecting") refetch();
    was.current = state;
  }, [state, refetch]);
}

// ---------------------------------------------------------------------------------- rows

interface RowProps {
  alert: Alert;
  selected: boolean;
  onSelect(id: string, on: boolean): void;
  onAcknowledge(alert: Alert): void;
  onOverride(alert: Alert): void;
  onStop(login: string): void;
}

const AlertRow = memo(function AlertRow({ alert, selected, onSelect, onAcknowledge, onOverride, onStop }: RowProps) {
  const label = `${alert.kind}${alert.rule ? ` (${ruleText(alert)})` : ""} on ${alert.account} at ${utc(alert.at)}`;
  return (
    <tr data-testid="alert-row" data-id={alert.id} data-state={alert.state}
      className={alert.kind === "breach" && alert.state === "open" ? "bg-bad/5" : undefined}>
      <td className="p-2">
        {alert.acknowledged ? null : (
          <input type="checkbox" className="h-4 w-4" checked={selected}
            aria-label={`Select ${label}`} onChange={(e) => onSelect(alert.id, e.target.checked)} />
        )}
      </td>
      <td className="whitespace-nowrap p-2 tabular"><time dateTime={alert.ts} title={utc(alert.at)}>{alert.at ? LOCAL.format(alert.at) : alert.ts}</time></td>
      <td className="p-2"><Link className="font-mono text-brand underline" to={`/accounts/${alert.account}`}>{alert.account}</Link>
        {alert.accountStatus ? <> <StatusBadge status={alert.accountStatus} /></> : null}</td>
      <td className="p-2 capitalize">{alert.kind}{alert.action && alert.kind === "breach" ? ` · ${alert.action}` : ""}</td>
      <td className="p-2">{ruleText(alert)}</td>
      <td className="p-2 tabular" data-testid="alert-amount">{amountText(alert)}</td>
      <td className="p-2" data-testid="alert-state">
        <span className={alert.state === "open" ? "font-semibold text-bad" : "text-muted"}>{alert.state}</span>
        {alert.replacement ? <span className="block text-xs text-muted">→ <Link className="underline" to={`/accounts/${alert.replacement}`}>{alert.replacement}</Link></span> : null}
      </td>
      <td className="p-2">
        <div className="flex flex-wrap gap-1">
          {alert.acknowledged ? null : (
            <button type="button" className="rounded border border-line px-2 py-1 text-xs hover:bg-surface-2"
              aria-label={`Acknowledge ${label}`} onClick={() => onAcknowledge(alert)}>Acknowledge</button>
          )}
          {canOverride(alert) ? (
            <button type="button" className="rounded border border-line px-2 py-1 text-xs hover:bg-surface-2"
              aria-label={`Override ${label}`} onClick={() => onOverride(alert)}>Override</button>
          ) : null}
          {canStop(alert) ? (
            <button type="button" className="rounded border border-bad px-2 py-1 text-xs text-bad hover:bg-surface-2"
              aria-label={`Stop account ${alert.account}`} onClick={() => onStop(alert.account)}>Stop</button>
          ) : null}
        </div>
      </td>
    </tr>
  );
});

// ------------------------------------------------------------------------------- dialogs


function OverrideDialog({ alert, onClose, onDone }: { alert: Alert | null; onClose(): void; onDone(): void }) {
  const [reason, setReason] = useState("");
  const [missing, setMissing] = useState(false);
  const id = useId();
  const override = useMutation({
    mutationFn: (a: Alert) => call(api.POST("/api/v1/risk/events/{event_id}/override", {
      params: { path: { event_id: a.id } }, body: { reason: reason.trim() } })),
    onSuccess: (event) => {
      toast("Breach overridden", event.replacement_account
        ? `The challenge goes on on account ${event.replacement_account}.` : undefined, "good");
      onDone();
      onClose();
    },
  });
  useEffect(() => {
    setReason("");
    setMissing(false);
    override.reset();
  }, [alert?.id]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!alert) return;
    if (!reason.trim()) {
      setMissing(true);
      return;
    }
    override.mutate(alert);
  };
  return (
    <Dialog.Root open={alert !== null} onOpenChange={(open) => !open && !override.isPending && onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <Dialog.Content className={DIALOG}>
          <Dialog.Title className="mb-2 text-lg font-semibold">Override the breach on {alert?.account}</Dialog.Title>
          <Dialog.Description className="mb-4 text-sm text-muted">
            A false failure: the challenge goes on on a new account of the same phase, opened at
            the failed account&apos;s last balance. Every failing breach of this instant is overridden with it.
          </Dialog.Description>
          <form onSubmit={submit} noValidate>
            <div className="flex flex-col gap-1">
              <label htmlFor={id} className="text-sm font-medium">Reason</label>
              <textarea id={id} rows={3} value={reason} required
                aria-invalid={missing || undefined} aria-describedby={missing ? `${id}-error` : undefined}
                onChange={(e) => { setReason(e.target.value); setMissing(false); }}
                className={`rounded-md border bg-surface px-3 py-2 text-ink ${missing ? "border-bad" : "border-line"}`} />
              {missing ? <p id={`${id}-error`} role="alert" className="text-sm text-bad">Give the reason for the override.</p> : null}
            </div>
            <div className="mt-3"><FormError error={override.error} /></div>
            <div className="mt-4 flex flex-wrap justify-end gap-2">
              <Dialog.Close asChild><Button tone="secondary" disabled={override.isPending}>Cancel</Button></Dialog.Close>
              <Button type="submit" busy={override.isPending}>Override</Button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** The emergency stop: the account is named, and its login typed again to confirm. */
function StopDialog({ login, onClose, onDone }: { login: string | null; onClose(): void; onDone(): void }) {
  const [typed, setTyped] = useState("");
  const [account, setAccount] = useState("");
  const [reason, setReason] = useState("");
  const target = login || account.trim();
  const stop = useMutation({
    mutationFn: () => call(api.POST("/api/v1/risk/accounts/{login}/stop", {
      params: { path: { login: target } }, body: { reason: reason.trim() } })),
    onSuccess: () => {
      toast(`Account ${target} stopped`, "It is disabled at the broker and its challenge has failed.", "good");
      onDone();
      onClose();
    },
  });
  useEffect(() => {
    setTyped("");
    setAccount("");
    setReason("");
    stop.reset();
  }, [login]);
  const ready = target !== "" && reason.trim() !== "" && (!login || typed.trim() === login);
  return (
    <AlertDialog.Root open={login !== null} onOpenChange={(open) => !open && !stop.isPending && onClose()}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <AlertDialog.Content className={DIALOG}>
          <AlertDialog.Title className="mb-2 text-lg font-semibold">
            {login ? `Stop account ${login}?` : "Stop an account"}
          </AlertDialog.Title>
          <AlertDialog.Description className="mb-4 text-sm text-muted">
            An emergency stop disables the account at the broker and fails its challenge. It cannot be undone here.
          </AlertDialog.Description>
          <form className="flex flex-col gap-3" onSubmit={(e) => { e.preventDefault(); if (ready) stop.mutate(); }}>
            {login ? (
              <Field label={`Type ${login} to confirm`} value={typed} autoComplete="off" spellCheck={false}
                onChange={(e) => setTyped(e.target.value)} />
            ) : (
              <Field label="Account login" value={account} autoComplete="off" spellCheck={false}
                onChange={(e) => setAccount(e.target.value)} />
            )}
            <Field label="Reason for the stop" value={reason} onChange={(e) => setReason(e.target.value)} />
            <FormError error={stop.error} />
            <div className="flex flex-wrap justify-end gap-2">
              <AlertDialog.Cancel asChild><Button tone="secondary" disabled={stop.isPending}>Cancel</Button></AlertDialog.Cancel>
              <Button type="submit" tone="danger" disabled={!ready} busy={stop.isPending}>
                {target ? `Stop account ${target}` : "Stop the account"}
              </Button>
            </div>
          </form>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

// ------------------------------------------------------------------------------ controls


function Toggle({ label, on, onChange }: { label: string; on: boolean; onChange(on: boolean): void }) {
  return (
    <label className="inline-flex items-center gap-2 text-sm">
      <input type="checkbox" className="h-4 w-4" checked={on} onChange={(e) => onChange(e.target.checked)} />
      {label}
    </label>
  );
}

// ---------------------------------------------------------------------------------- page

export default function Alerts() {
  const user = useSession((s) => s.user);
  const firm = useTenant().data?.name ?? "";
  const client = useQueryClient();
  const history = useHistory();
  const [prefs, setPrefs] = usePrefs(user?.id);
  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;

  const onBatch = useCallback((batch: readonly Alert[]) => {
    const breaches = batch.filter((a) => a.kind === "breach");
    if (breaches.length === 0) return;
    if (prefsRef.current.sound) beep();
    if (prefsRef.current.notify) notifyBreaches(breaches);
  }, []);
  const live = useLiveAlerts(onBatch);
  const refresh = useCallback(() => void client.invalidateQueries({ queryKey: EVENTS_KEY }), [client]);
  useRefetchOnReconnect(refresh);

  const all = useMemo(() => mergeAlerts(history.data ?? [], live), [history.data, live]);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const shown = useMemo(() => applyFilters(all, filters), [all, filters]);
  const rows = shown.length > MAX_ROWS ? shown.slice(0, MAX_ROWS) : shown;
  const programs = useMemo(() => programsOf(all), [all]);
  const open = openCount(all);

  useEffect(() => {
    const before = document.title;
    return () => {
      document.title = before;
    };
  }, []);
  useEffect(() => {
    document.title = deskTitle(open, firm);
  }, [open, firm]);

  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const onSelect = useCallback((id: string, on: boolean) => setSelected((before) => {
    const next = new Set(before);
    if (on) next.add(id);
    else next.delete(id);
    return next;
  }), []);

  const acknowledge = useMutation({
    mutationFn: async (ids: readonly string[]) => {
      const results = await Promise.allSettled(ids.map((id) => call(api.POST(
        "/api/v1/risk/events/{event_id}/acknowledge", { params: { path: { event_id: id } } }))));
      return results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as unknown);
    },
    onSuccess: (failures, ids) => {
      const done = ids.length - failures.length;
      if (done > 0) toast(done === 1 ? "Alert acknowledged" : `${done} alerts acknowledged`, undefined, "good");
      if (failures.length > 0) toast(`${failures.length} not acknowledged`, describeError(failures[0]), "bad");
      setSelected((before) => {
        const next = new Set(before);
        for (const id of ids) next.delete(id);
        return next;
      });
    },
    onError: (error) => toast("Not acknowledged", describeError(error), "bad"),
    onSettled: refresh,
  });
  const ackMutate = acknowledge.mutate;
  const onAcknowledge = useCallback((alert: Alert) => ackMutate([alert.id]), [ackMutate]);
  const [overriding, setOverriding] = useState<Alert | null>(null);
  const [stopping, setStopping] = useState<string | null>(null);

  const selectable = rows.filter((a) => !a.acknowledged);
  const chosen = [...selected].filter((id) => all.some((a) => a.id === id && !a.acknowledged));
  const allChosen = selectable.length > 0 && selectable.every((a) => selected.has(a.id));

  const kinds: [string, string][] = [["all", "All kinds"], ["breach", "Breaches"], ["objective", "Objectives"], ["passed", "Passed"], ["resumed", "Resumed"]];
  const states: [string, string][] = [["all", "Every state"], ["open", "Open"], ["acknowledged", "Acknowledged"], ["overridden", "Overridden"]];

  return (
    <div>
      <PageTitle actions={<Button tone="danger" onClick={() => setStopping("")}>Stop an account…</Button>}>
        Risk desk
      </PageTitle>
      <DeskNav />
      <p className="mb-3 text-sm" role="status" data-testid="open-count">
        {open === 0 ? "No breach waiting for the desk." : `${open} breach${open === 1 ? "" : "es"} waiting for the desk.`}
      </p>

      <div className="mb-4 flex flex-wrap items-end gap-3">
        <Select label="Kind" value={filters.kind} options={kinds}
          onChange={(kind) => setFilters((f) => ({ ...f, kind: kind as Filters["kind"] }))} />
        <Select label="State" value={filters.state} options={states}
          onChange={(state) => setFilters((f) => ({ ...f, state: state as Filters["state"] }))} />
        {programs.length > 0 ? (
          <Select label="Program" value={filters.program} options={[["", "Every program"], ...programs.map((p): [string, string] => [p, p])]}
            onChange={(program) => setFilters((f) => ({ ...f, program }))} />
        ) : null}
        <Field label="Account or trader" type="search" value={filters.text} className="w-44"
          onChange={(e) => setFilters((f) => ({ ...f, text: e.target.value }))} />
        <div className="flex flex-col gap-1">
          <Toggle label="Sound on breaches" on={prefs.sound} onChange={(sound) => {
            setPrefs({ ...prefs, sound });
            if (sound) beep(); // a user's gesture lets the page make sound from now on
          }} />
          <Toggle label="Browser notifications" on={prefs.notify} onChange={(notify) => {
            if (!notify || typeof Notification === "undefined") {
              setPrefs({ ...prefs, notify: false });
              if (notify) toast("This browser has no notifications", undefined, "bad");
              return;
            }
            void Notification.requestPermission().then((permission) => {
              if (permission === "granted") setPrefs({ ...prefs, notify: true });
              else toast("Notifications are blocked", "Allow them for this site in the browser's settings.", "bad");
            });
          }} />
        </div>
      </div>

      <div className="mb-3 flex flex-wrap items-center gap-2">
        <Button tone="secondary" disabled={chosen.length === 0} busy={acknowledge.isPending}
          onClick={() => acknowledge.mutate(chosen)}>
          Acknowledge selected{chosen.length ? ` (${chosen.length})` : ""}
        </Button>
        {shown.length > MAX_ROWS ? <span className="text-sm text-muted">Showing the newest {MAX_ROWS} of {shown.length}.</span> : null}
      </div>

      {history.isPending ? <Loading label="Loading the alerts" /> : history.isError ? (
        <ErrorState error={history.error} retry={() => void history.refetch()} />
      ) : rows.length === 0 ? (
        <Empty>{all.length === 0 ? "No alert yet. New ones appear here as they happen." : "No alert matches these filters."}</Empty>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-line bg-surface">
          <table className="w-full text-sm" data-testid="alerts">
            <caption className="sr-only">The firm&apos;s alerts, newest first</caption>
            <thead className="text-left text-muted">
              <tr>
                <th scope="col" className="p-2">
                  <input type="checkbox" className="h-4 w-4" checked={allChosen} disabled={selectable.length === 0}
                    aria-label="Select every alert shown"
                    onChange={(e) => setSelected(e.target.checked ? new Set(selectable.map((a) => a.id)) : new Set())} />
                </th>
                <th scope="col" className="p-2">Time</th>
                <th scope="col" className="p-2">Account</th>
                <th scope="col" className="p-2">Kind</th>
                <th scope="col" className="p-2">Rule</th>
                <th scope="col" className="p-2">Amount</th>
                <th scope="col" className="p-2">State</th>
                <th scope="col" className="p-2">Actions</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-line">
              {rows.map((alert) => (
                <AlertRow key={alert.id} alert={alert} selected={selected.has(alert.id)} onSelect={onSelect}
                  onAcknowledge={onAcknowledge} onOverride={setOverriding} onStop={setStopping} />
              ))}
            </tbody>
          </table>
        </div>
      )}

      <OverrideDialog alert={overriding} onClose={() => setOverriding(null)} onDone={refresh} />
      <StopDialog login={stopping} onClose={() => setStopping(null)} onDone={refresh} />
    </div>
  );
}
