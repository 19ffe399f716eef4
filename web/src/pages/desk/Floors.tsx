/** The risk desk's "Nearest floors": the firm's live accounts closest to a floor, like a
 * dealing desk's margin-call list. The list comes from the exposure endpoint (up to 5,000,
 * refetched every 5 s while the tab is shown); the first 100 rows shown also take the
 * websocket's live numbers, and only their cells re-render on a tick. Distance to the
 * nearest floor = equity − max(daily floor, max-loss floor), in the account's currency and
 * as a percent of the equity (the gateway's `headroom_pct` base). The order is the last
 * refresh's: rows do not jump under the pointer between refreshes. */
import { memo, useCallback, useMemo, useState, type MouseEvent } from "react";
import { Link, useNavigate } from "react-router";
import { useLiveMetrics } from "../../live/store";
import { DASH, dateTime, decimal, percent, time } from "../../format/numbers";
import { Bar, Button, Card, Empty, ErrorState, InfoTip, Loading, PageTitle, StatusBadge } from "../../ui/kit";
import { LOCAL_ZONE, useExposure, type NearestFloor } from "./parts/api";
import {
  barOf, distanceToFloor, isLive, LIVE_ROWS, moreRows, nextSort, overlay, PAGE_ROWS, sortFloors, windowRows,
  type FloorSortKey, type Sort, type SortDirection,
} from "./parts/floors";
import { DeskNav } from "./parts/DeskNav";
import { SortHeader } from "./parts/SortHeader";

/** The firm's live accounts, nearest first: up to the API's limit. */
const TOP = 5000;
const DEFAULT_SORT: Sort<FloorSortKey> = { key: "distance", direction: "ascending" };
const SORT_WORDS: Record<FloorSortKey, string> = {
  distance: "distance (percent of equity)", account: "account", status: "status", equity: "equity",
};
const initialDirection = (key: FloorSortKey): SortDirection => (key === "equity" ? "descending" : "ascending");

function amount(value: number | null | undefined): string {
  return decimal(value ?? null, 2);
}

/** The cells that move with the live numbers: one account's subscription each. */
function LiveCells({ row, live }: { row: NearestFloor; live: boolean }) {
  const metrics = useLiveMetrics(live ? row.account : undefined);
  const now = overlay(row, metrics);
  const d = distanceToFloor(now);
  const bar = barOf(d.ofEquity);
  const asOf = metrics?.ts ?? metrics?.as_of ?? row.ts;
  const stale = metrics?.stale === true;
  const tone = d.money !== null && d.money <= 0 ? "text-bad font-semibold" : "";
  return (
    <>
      <td className={`py-1.5 pr-3 text-right ${tone}`} data-testid="floor-distance">{amount(d.money)}</td>
      <td className={`py-1.5 pr-3 text-right ${tone}`}>{percent(d.ofEquity, 2)}</td>
      <td className="py-1.5 pr-3">
        <Bar value={bar.value} tone={bar.tone}
          label={`Distance to the nearest floor of ${row.account}: ${percent(d.ofEquity, 2)} of equity`} />
      </td>
      <td className="py-1.5 pr-3"><StatusBadge status={now.status} /></td>
      <td className="py-1.5 pr-3 text-right">{amount(now.equity)}</td>
      <td className="truncate py-1.5 pr-3 text-right">
        {d.floor === null ? DASH : (
          <>{amount(d.floor)} <span className="text-xs text-muted">{d.which === "daily" ? "daily" : "max loss"}</span></>
        )}
      </td>
      <td className="truncate py-1.5 text-xs text-muted">
        {live ? (
          <span title={dateTime(asOf, LOCAL_ZONE)}>
            {stale ? "stale · " : "live · "}{time(asOf, LOCAL_ZONE)}
          </span>
        ) : <span title={dateTime(asOf, LOCAL_ZONE)}>{time(asOf, LOCAL_ZONE)}</span>}
      </td>
    </>
  );
}

function sameRow(a: NearestFloor, b: NearestFloor): boolean {
  return a.account === b.account && a.status === b.status && a.equity === b.equity && a.ts === b.ts &&
    a.daily_floor === b.daily_floor && a.max_loss_floor === b.max_loss_floor;
}

/** One row; a refetch that leaves its numbers alone does not re-render it. */
const FloorRow = memo(function FloorRow({ row, live, onOpen }:
  { row: NearestFloor; live: boolean; onOpen: (account: string) => void }) {
  const onClick = (event: MouseEvent<HTMLTableRowElement>) => {
    // the account's link handles its own clicks (and modifier keys, new tabs)
    if ((event.target as HTMLElement).closest("a, button")) return;
    onOpen(row.account);
  };
  return (
    <tr className="cursor-pointer border-t border-line hover:bg-surface-2" onClick={onClick}>
      <th scope="row" className="truncate py-1.5 pr-3 text-left font-medium">
        <Link to={`/accounts/${encodeURIComponent(row.account)}`} className="font-mono text-brand underline-offset-2 hover:underline">
          {row.account}
        </Link>
      </th>
      <LiveCells row={row} live={live} />
    </tr>
  );
}, (a, b) => a.live === b.live && a.onOpen === b.onOpen && sameRow(a.row, b.row));

export default function Floors() {
  const query = useExposure(1, TOP);
  const navigate = useNavigate();
  const [sort, setSort] = useState<Sort<FloorSortKey>>(DEFAULT_SORT);
  const [limit, setLimit] = useState(PAGE_ROWS);
  const rows = query.data?.nearest_floors;
  const sorted = useMemo(() => (rows ? sortFloors(rows, sort) : []), [rows, sort]);
  const { shown, hidden } = windowRows(sorted, limit);
  const onSort = useCallback((key: FloorSortKey) => setSort((s) => nextSort(s, key, initialDirection)), []);
  const onOpen = useCallback((account: string) => void navigate(`/accounts/${encodeURIComponent(account)}`), [navigate]);

  const updated = query.dataUpdatedAt ? time(new Date(query.dataUpdatedAt), LOCAL_ZONE) : DASH;
  const title = (
    <>
    <PageTitle actions={query.data ? (
      <p className="text-sm text-muted" data-testid="floors-updated" aria-live="off">
        Last updated {updated}{query.isFetching ? " · refreshing" : ""}
      </p>
    ) : null}>
      Nearest floors
    </PageTitle>
    <DeskNav />
    </>
  );

  if (query.isPending) return <>{title}<Loading label="Loading the accounts nearest a floor" /></>;
  if (query.isError && !query.data) {
    return <>{title}<ErrorState error={query.error} retry={() => void query.refetch()} /></>;
  }

  return (
    <>
      {title}
      {query.isError ? <ErrorState error={query.error} retry={() => void query.refetch()} /> : null}
      <Card title={
        <span className="inline-flex items-center">
          Live accounts closest to a floor
          <InfoTip label="How the distance is computed">
            Distance = equity − the higher of the daily floor and the max-loss floor, in the
            account's own currency; the percent is that distance as a share of the equity.
            A full bar is 10 % of the equity or more. The first {LIVE_ROWS} rows shown take live
            numbers; the others and the order are as of the last refresh (every 5 s).
          </InfoTip>
        </span>
      }>
        {sorted.length === 0 ? <Empty>No live account with a floor right now.</Empty> : (
          <>
            <div className="relative overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Nearest floors table">
              {/* Fixed layout: a cell whose number moves never makes the browser measure
                  every row again to size the columns (2,000 accounts, ticking). */}
              <table className="w-full min-w-[52rem] table-fixed text-sm" data-testid="nearest-floors">
                <caption className="sr-only">
                  Live accounts by distance to their nearest floor; amounts in each account's currency,
                  percent of equity. Sorted by {SORT_WORDS[sort.key]}, {sort.direction}.
                </caption>
                <colgroup>
                  <col className="w-32" /><col className="w-28" /><col className="w-24" /><col className="w-28" />
                  <col className="w-28" /><col className="w-28" /><col className="w-40" /><col />
                </colgroup>
                <thead className="text-left text-xs text-muted">
                  <tr>
                    <SortHeader column="account" sort={sort} onSort={onSort}>Account</SortHeader>
                    <SortHeader column="distance" sort={sort} onSort={onSort} align="right">Distance</SortHeader>
                    <th scope="col" className="py-1 pr-3 text-right font-medium">% of equity</th>
                    <th scope="col" className="py-1 pr-3 font-medium"><span className="sr-only">Distance bar</span></th>
                    <SortHeader column="status" sort={sort} onSort={onSort}>Status</SortHeader>
                    <SortHeader column="equity" sort={sort} onSort={onSort} align="right">Equity</SortHeader>
                    <th scope="col" className="py-1 pr-3 text-right font-medium">Nearest floor</th>
                    <th scope="col" className="py-1 font-medium">As of</th>
                  </tr>
                </thead>
                <tbody className="tabular">
                  {shown.map((row, i) => (
                    <FloorRow key={row.account} row={row} live={isLive(i)} onOpen={onOpen} />
                  ))}
                </tbody>
              </table>
            </div>
            <div className="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm text-muted">
              <span data-testid="floors-count" aria-live="polite">
                Showing {shown.length} of {sorted.length} account{sorted.length === 1 ? "" : "s"}
                {rows && rows.length >= TOP ? ` (the ${TOP} nearest)` : ""}
              </span>
              {hidden > 0 ? (
                <Button tone="secondary" onClick={() => setLimit((l) => moreRows(l, sorted.length))}>
                  Show {Math.min(PAGE_ROWS, hidden)} more
                </Button>
              ) : null}
            </div>
          </>
        )}
      </Card>
    </>
  );
}
