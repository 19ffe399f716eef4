/** Small pieces the dashboard and the account page share: figures that never shift,
 * the floor meters, the live/stale marker, the account status badge. */
import { memo } from "react";
import { money, percent, signedMoney, time } from "../../../format/numbers";
import { useLink } from "../../../live/store";
import { Bar, StatusBadge } from "../../../ui/kit";
import type { AccountMetrics } from "./api";
import { distanceTone, floorDistance } from "./metrics";

export function Figure({ label, value, tone, wide = false, testId }:
  { label: string; value: string; tone?: "good" | "bad" | undefined; wide?: boolean; testId?: string }) {
  return (
    <div className={`flex min-w-0 flex-col ${wide ? "sm:min-w-40" : "sm:min-w-32"}`}>
      <dt className="text-xs text-muted">{label}</dt>
      <dd data-testid={testId}
        className={`tabular truncate text-base font-semibold sm:text-lg ${tone === "good" ? "text-good" : tone === "bad" ? "text-bad" : ""}`}>
        {value}
      </dd>
    </div>
  );
}

export function pnlTone(value: number | null): "good" | "bad" | undefined {
  if (value === null || value === 0) return undefined;
  return value > 0 ? "good" : "bad";
}

export const PnlFigure = memo(function PnlFigure({ label, value, currency, testId }:
  { label: string; value: number | null; currency: string; testId?: string }) {
  return <Figure label={label} value={signedMoney(value, currency)} tone={pnlTone(value)} {...(testId ? { testId } : {})} />;
});

/** Distance to one floor: a bar of the allowed loss left, the money left and its share. */
export const FloorMeter = memo(function FloorMeter({ name, equity, floor, allowed, currency }:
  { name: string; equity: number | null | undefined; floor: number | null | undefined; allowed: number | null; currency: string }) {
  const d = floorDistance(equity, floor, allowed);
  const label = d
    ? `${name}: ${money(d.left, currency)} left above the floor of ${money(d.floor, currency)}` +
      (d.share !== null ? ` (${percent(d.share, 1)} of the allowed loss)` : "")
    : `${name}: no numbers yet`;
  return (
    <div className="flex flex-col gap-1">
      <div className="flex items-baseline justify-between gap-2 text-sm">
        <span className="text-muted">{name}</span>
        <span className="tabular text-right">
          {d ? <>{money(d.left, currency)} left{d.share !== null ? <span className="text-muted"> · {percent(d.share, 1)}</span> : null}</> : "—"}
        </span>
      </div>
      <Bar value={d ? d.share ?? (d.left > 0 ? 1 : 0) : null} label={label} tone={d ? distanceTone(d.share) : "brand"} />
      <div className="tabular text-xs text-muted">floor {money(floor, currency)}</div>
    </div>
  );
});

export function AccountStatus({ status }: { status: string }) {
  return (
    <span data-testid="account-status" data-status={status}>
      <span className="sr-only">Account status: </span>
      <StatusBadge status={status} />
    </span>
  );
}

/** Live, stale (the gateway cannot reach the broker) or offline (no link). */
export function LiveMarker({ metrics, timeZone }: { metrics: AccountMetrics | undefined; timeZone?: string | undefined }) {
  const link = useLink((s) => s.state);
  const state = !metrics ? "waiting" : link !== "live" ? "offline" : metrics.stale ? "stale" : "live";
  const text = { waiting: "Waiting for numbers", offline: "Not live", stale: "Stale — broker unreachable", live: "Live" }[state];
  const asOf = metrics?.as_of ?? metrics?.ts ?? null;
  return (
    <span data-testid="account-live" data-state={state}
      className="inline-flex min-w-0 items-center gap-2 text-sm text-muted">
      <span aria-hidden="true"
        className={`h-2.5 w-2.5 shrink-0 rounded-full ${state === "live" ? "bg-good" : state === "stale" ? "bg-warn" : "bg-line"}`} />
      <span>{text}</span>
      {asOf ? <span className="tabular hidden sm:inline">· {time(asOf, timeZone)}</span> : null}
    </span>
  );
}
