/** The account's equity and balance, with its daily and maximum-loss floors as step lines
 * (TradingView Lightweight Charts™; this module is loaded lazily, only on the account page).
 *
 * History comes from `/equity`; live snapshots extend it with `series.update` — never
 * `setData` per tick — at most four times a second, nothing while the tab is hidden, and
 * the history is reloaded when the tab is shown again. The chart is created once per
 * mount, resized by a ResizeObserver, recoloured from the theme's CSS variables and
 * removed on unmount. */
import {
  AreaSeries, createChart, LineSeries, LineStyle, LineType, TickMarkType,
  type IChartApi, type IPriceLine, type ISeriesApi, type Time, type UTCTimestamp,
} from "lightweight-charts";
import { memo, useEffect, useMemo, useRef } from "react";
import { money, type TradingDay } from "../../../format/numbers";
import { onResume } from "../../../live/store";
import type { RuleDocument } from "../../../objectives/rules";
import { ErrorState, Spinner } from "../../../ui/kit";
import { useAccountLive, useEquityHistory, type AccountMetrics, type EquityRow, type HistoryRange } from "./api";
import {
  FLUSH_MS, joinSeries, reconstructFloors, steps, Throttle, toSeconds, type LiveRow, type Point,
} from "./series";

type Line = ISeriesApi<"Line">;
interface Drawn {
  chart: IChartApi;
  equity: ISeriesApi<"Area">;
  balance: Line;
  daily: Line;
  maxLoss: Line;
  target: IPriceLine | null;
}

/** Live rows kept for redraws (one a second: about five hours). */
const LIVE_LIMIT = 18_000;

/** A theme colour as `#rrggbb`, resolved by the browser (the variables hold
 * `light-dark(…)` pairs, which only a computed colour settles). */
function cssVar(name: string, fallback: string): string {
  if (typeof document === "undefined" || !document.body) return fallback;
  const probe = document.createElement("span");
  probe.style.color = `var(${name}, ${fallback})`;
  document.body.appendChild(probe);
  const rgb = getComputedStyle(probe).color;
  probe.remove();
  const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
  return m ? `#${[m[1], m[2], m[3]].map((x) => Number(x).toString(16).padStart(2, "0")).join("")}` : fallback;
}

/** `#rrggbb` (or `#rgb`) with an alpha, as rgba(); any other colour as it is. */
export function withAlpha(color: string, alpha: number): string {
  let hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color)?.[1];
  if (!hex) return color;
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join("");
  const n = Number.parseInt(hex, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function palette() {
  return {
    surface: cssVar("--surface", "#ffffff"),
    ink: cssVar("--ink", "#111827"),
    muted: cssVar("--muted", "#4b5563"),
    line: cssVar("--line", "#d1d5db"),
    brand: cssVar("--color-brand", "#1d4ed8"),
    good: cssVar("--good", "#047857"),
    bad: cssVar("--bad", "#b91c1c"),
    warn: cssVar("--warn", "#92400e"),
  };
}

function colour(drawn: Drawn): void {
  const p = palette();
  drawn.chart.applyOptions({
    layout: { background: { color: p.surface }, textColor: p.muted, attributionLogo: false },
    grid: { vertLines: { color: withAlpha(p.line, 0.5) }, horzLines: { color: withAlpha(p.line, 0.5) } },
    rightPriceScale: { borderColor: p.line },
    timeScale: { borderColor: p.line },
  });
  drawn.equity.applyOptions({ lineColor: p.brand, topColor: withAlpha(p.brand, 0.25), bottomColor: withAlpha(p.brand, 0.02) });
  drawn.balance.applyOptions({ color: p.ink });
  drawn.daily.applyOptions({ color: p.warn });
  drawn.maxLoss.applyOptions({ color: p.bad });
  drawn.target?.applyOptions({ color: p.good });
}

export function liveRow(m: AccountMetrics): LiveRow {
  return {
    time: toSeconds(m.ts ?? m.as_of),
    equity: m.equity ?? null,
    balance: m.balance ?? null,
    daily: m.daily_floor ?? null,
    maxLoss: m.max_loss_floor ?? null,
  };
}

function pick(rows: readonly LiveRow[], key: "equity" | "balance" | "daily" | "maxLoss"): Point[] {
  const out: Point[] = [];
  for (const r of rows) {
    const value = r[key];
    if (value !== null) out.push({ time: r.time, value });
  }
  return out;
}

function asData(points: readonly Point[]) {
  return points.map((p) => ({ time: p.time as UTCTimestamp, value: p.value }));
}

export interface EquityChartProps {
  login: string;
  doc: RuleDocument | null;
  day: TradingDay | null;
  currency: string;
  /** The curve as given (an uploaded report's): nothing fetched, nothing live. */
  points?: readonly EquityRow[];
  /** A window of the history (no live extension when it has an end). */
  range?: HistoryRange;
}

export default memo(function EquityChart({ login, doc, day, currency, points, range }: EquityChartProps) {
  const fetched = useEquityHistory(login, 1000, range, points === undefined);
  const history = points === undefined ? fetched
    : { data: points, isPending: false, isError: false as const, error: null, refetch: fetched.refetch };
  const metrics = useAccountLive(points === undefined && !range?.until ? login : undefined);
  const box = useRef<HTMLDivElement>(null);
  const drawn = useRef<Drawn | null>(null);
  const live = useRef<LiveRow[]>([]);
  const lastTime = useRef<number | null>(null);
  const throttle = useRef(new Throttle<LiveRow>(FLUSH_MS));
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const historyEnd = useRef<number>(-Infinity);
  const formatterCurrency = useRef(currency);
  formatterCurrency.current = currency;

  const zone = day?.timezone ?? "UTC";
  const formats = useMemo(() => ({
    tick: new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: "2-digit", minute: "2-digit" }),
    date: new Intl.DateTimeFormat(undefined, { timeZone: zone, day: "numeric", month: "short" }),
    full: new Intl.DateTimeFormat(undefined, { timeZone: zone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" }),
  }), [zone]);

  // The chart: once per mount.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const chart = createChart(el, {
      width: el.clientWidth,
      height: el.clientHeight,
      // TradingView's attribution is in the page's footer: the logo would add a <style>
      // element the CSP refuses (it carries no nonce)
      layout: { attributionLogo: false },
      rightPriceScale: { borderVisible: true },
      timeScale: { timeVisible: true, secondsVisible: false, rightOffset: 4 },
      crosshair: { mode: 0 },
      localization: { priceFormatter: (v: number) => money(v, formatterCurrency.current) },
    });
    const equity = chart.addSeries(AreaSeries, { lineWidth: 2, title: "Equity", priceLineVisible: false });
    const balance = chart.addSeries(LineSeries, { lineWidth: 1, title: "Balance", priceLineVisible: false, lastValueVisible: false });
    const stepped = { lineWidth: 1 as const, lineType: LineType.WithSteps, lineStyle: LineStyle.Dashed,
      priceLineVisible: false, crosshairMarkerVisible: false };
    const daily = chart.addSeries(LineSeries, { ...stepped, title: "Daily floor" });
    const maxLoss = chart.addSeries(LineSeries, { ...stepped, title: "Max loss floor" });
    drawn.current = { chart, equity, balance, daily, maxLoss, target: null };
    colour(drawn.current);
    const resize = new ResizeObserver((entries) => {
      const rect = entries[0]?.contentRect;
      if (rect && rect.width > 0 && rect.height > 0) chart.resize(Math.floor(rect.width), Math.floor(rect.height));
    });
    resize.observe(el);
    const recolour = () => {
      if (drawn.current) colour(drawn.current);
    };
    const theme = new MutationObserver(recolour);
    theme.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme", "style", "class"] });
    const media = window.matchMedia?.("(prefers-color-scheme: dark)");
    media?.addEventListener?.("change", recolour);
    return () => {
      resize.disconnect();
      theme.disconnect();
      media?.removeEventListener?.("change", recolour);
      if (timer.current) clearTimeout(timer.current);
      drawn.current = null;
      chart.remove();
    };
  }, []);

  // Times in the program's zone.
  useEffect(() => {
    drawn.current?.chart.applyOptions({
      localization: { timeFormatter: (t: Time) => formats.full.format(new Date((t as number) * 1000)) },
      timeScale: {
        tickMarkFormatter: (t: Time, type: TickMarkType) =>
          (type <= TickMarkType.DayOfMonth ? formats.date : formats.tick).format(new Date((t as number) * 1000)),
      },
    });
  }, [formats]);

  // The profit target as a line on the equity scale.
  useEffect(() => {
    const d = drawn.current;
    if (!d) return;
    if (d.target) d.equity.removePriceLine(d.target);
    d.target = null;
    const t = doc?.rules?.profit_target?.target;
    const initial = doc?.initial_balance;
    if (t !== undefined && initial !== undefined) {
      d.target = d.equity.createPriceLine({ price: initial * (1 + t), title: "Target", lineStyle: LineStyle.Dotted,
        lineWidth: 1, axisLabelVisible: true, color: palette().good });
    }
  }, [doc]);

  // History (and whenever it is reloaded): one setData for each series.
  useEffect(() => {
    const d = drawn.current;
    const rows = history.data;
    if (!d || !rows) return;
    const end = rows.length ? toSeconds(rows[rows.length - 1]!.ts) : -Infinity;
    historyEnd.current = end;
    live.current = live.current.filter((r) => r.time > end);
    const past = rows.map((r) => ({ time: toSeconds(r.ts), equity: r.equity, balance: r.balance }));
    const floors = reconstructFloors(rows, doc, day);
    const equity = joinSeries(past.map((r) => ({ time: r.time, value: r.equity })), pick(live.current, "equity"));
    d.equity.setData(asData(equity));
    d.balance.setData(asData(joinSeries(past.map((r) => ({ time: r.time, value: r.balance })), pick(live.current, "balance"))));
    d.daily.setData(asData(steps(joinSeries(floors.daily, pick(live.current, "daily")))));
    d.maxLoss.setData(asData(steps(joinSeries(floors.maxLoss, pick(live.current, "maxLoss")))));
    lastTime.current = equity.length ? equity[equity.length - 1]!.time : null;
    d.chart.timeScale().fitContent();
  }, [history.data, doc, day]);

  // Live ticks: tiny work per tick, drawn at most every FLUSH_MS.
  useEffect(() => {
    if (!metrics || metrics.login !== login) return;
    const draw = (row: LiveRow) => {
      const d = drawn.current;
      if (!d || row.time <= historyEnd.current) return;
      if (lastTime.current !== null && row.time < lastTime.current) return; // never back in time
      const rows = live.current;
      const prev = rows[rows.length - 1];
      if (prev && prev.time === row.time) rows[rows.length - 1] = row;
      else {
        rows.push(row);
        if (rows.length > LIVE_LIMIT) rows.splice(0, rows.length - LIVE_LIMIT);
      }
      const time = row.time as UTCTimestamp;
      if (row.equity !== null) d.equity.update({ time, value: row.equity });
      if (row.balance !== null) d.balance.update({ time, value: row.balance });
      if (row.daily !== null) d.daily.update({ time, value: row.daily });
      if (row.maxLoss !== null) d.maxLoss.update({ time, value: row.maxLoss });
      lastTime.current = row.time;
    };
    const flush = () => {
      timer.current = null;
      if (document.hidden) return; // the resume reloads everything
      const row = throttle.current.take();
      if (row) draw(row);
      else if (throttle.current.waiting) timer.current = setTimeout(flush, FLUSH_MS);
    };
    const ready = throttle.current.push(liveRow(metrics));
    if (ready && !document.hidden) draw(ready);
    else if (!timer.current) timer.current = setTimeout(flush, FLUSH_MS);
  }, [metrics, login]);

  // A hidden tab drew nothing: reload the history when it is shown again.
  const refetch = history.refetch;
  useEffect(() => onResume(() => void refetch()), [refetch]);

  return (
    <div className="flex flex-col gap-2">
      <div className="relative h-64 w-full sm:h-80">
        <div ref={box} className="absolute inset-0" role="img" data-testid="equity-chart"
          aria-label={`Chart of the equity and balance of account ${login}, with the daily and maximum loss floors`} />
        {history.isPending ? (
          <div className="absolute inset-0 flex items-center justify-center gap-2 text-muted" role="status">
            <Spinner /> Loading the history…
          </div>
        ) : null}
      </div>
      {history.isError ? <ErrorState error={history.error} retry={() => void history.refetch()} /> : null}
      {history.data && history.data.length === 0 && !metrics ? (
        <p className="text-sm text-muted">No history yet: the chart starts with the account's first numbers.</p>
      ) : null}
      <ul className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted" aria-label="Chart legend">
        <li className="flex items-center gap-1.5"><span aria-hidden="true" className="h-0.5 w-4 bg-brand" />Equity</li>
        <li className="flex items-center gap-1.5"><span aria-hidden="true" className="h-0.5 w-4 bg-ink" />Balance</li>
        <li className="flex items-center gap-1.5"><span aria-hidden="true" className="h-0 w-4 border-t border-dashed border-warn" />Daily loss floor</li>
        <li className="flex items-center gap-1.5"><span aria-hidden="true" className="h-0 w-4 border-t border-dashed border-bad" />Maximum loss floor</li>
        {doc?.rules?.profit_target ? (
          <li className="flex items-center gap-1.5"><span aria-hidden="true" className="h-0 w-4 border-t border-dotted border-good" />Profit target</li>
        ) : null}
      </ul>
    </div>
  );
});
