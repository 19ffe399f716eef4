/** History explorer: find any account of the firm's history (the platform's, a broker's,
 * an imported one), then its statistics, equity curve and daily P/L calendar over a range
 * of UTC days — the account page's own components, read with the staff's rights. */
import { lazy, Suspense, useEffect, useId, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { dateTime } from "../../format/numbers";
import { Button, Card, Empty, ErrorState, Field, Loading, PageTitle } from "../../ui/kit";
import { useCalendar, type HistoryRange } from "../trader/account/api";
import { StatisticsPanel } from "../trader/account/Statistics";
import { AnalystNav } from "./parts/Nav";
import { useAccountSearch, type AccountFound } from "./parts/api";
import { dayRange } from "./parts/range";

const EquityChart = lazy(() => import("../trader/account/EquityChart"));
const CalendarPanel = lazy(() => import("../trader/account/CalendarPanel"));

const SEARCH_DELAY_MS = 300;

function useDebounced(text: string): string {
  const [settled, setSettled] = useState(text);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(text), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);
  return settled;
}

function Search({ onPick }: { onPick: (account: string) => void }) {
  const [text, setText] = useState("");
  const query = useDebounced(text.trim());
  const found = useAccountSearch(query);
  const listId = useId();
  return (
    <Card title="Find an account">
      <Field label="Login or program" type="search" value={text} onChange={(e) => setText(e.target.value)}
        maxLength={256} autoComplete="off" aria-controls={listId}
        hint="Every account of the firm's history: the platform's, a broker's, an imported report's." />
      <div id={listId} className="mt-3" aria-live="polite">
        {found.isPending ? <Loading label="Searching" /> : found.isError ? (
          <ErrorState error={found.error} retry={() => void found.refetch()} />
        ) : found.data.length === 0 ? (
          <Empty>{query ? `No account matches “${query}”.` : "The firm's history has no account yet."}</Empty>
        ) : (
          <ul className="divide-y divide-line text-sm" data-testid="account-results">
            {found.data.map((a) => (
              <li key={a.account}>
                <button type="button" onClick={() => onPick(a.account)}
                  className="flex w-full flex-wrap items-baseline justify-between gap-x-3 gap-y-0.5 py-2 text-left hover:bg-surface-2">
                  <span className="font-mono font-semibold text-brand">{a.account}</span>
                  <span className="text-xs text-muted">{a.program} · {a.currency} · opened {dateTime(a.opened_at)} UTC</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}

function RangeForm({ from, to, onApply }: { from: string; to: string; onApply: (from: string, to: string) => void }) {
  const [start, setStart] = useState(from);
  const [end, setEnd] = useState(to);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { setStart(from); setEnd(to); }, [from, to]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const picked = dayRange(start, end);
    setError("error" in picked ? picked.error : null);
    if (!("error" in picked)) onApply(start, end);
  };
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-3" aria-label="Range of the history" noValidate>
      <Field label="From (UTC day)" type="date" value={start} onChange={(e) => setStart(e.target.value)} />
      <Field label="To (UTC day, included)" type="date" value={end} onChange={(e) => setEnd(e.target.value)} />
      <Button type="submit" tone="secondary">Show</Button>
      {from || to ? <Button tone="ghost" onClick={() => onApply("", "")}>All time</Button> : null}
      {error ? <p role="alert" className="w-full text-sm text-bad">{error}</p> : null}
    </form>
  );
}

function Calendar({ login, currency, range }: { login: string; currency: string; range: HistoryRange }) {
  const days = useCalendar(login, range);
  if (days.isPending) return <Loading label="Loading the calendar" />;
  if (days.isError) return <ErrorState error={days.error} retry={() => void days.refetch()} />;
  return (
    <Suspense fallback={<Loading label="Loading the calendar" />}>
      <CalendarPanel days={days.data} currency={currency} />
    </Suspense>
  );
}

function AccountHistory({ login, range }: { login: string; range: HistoryRange }) {
  // The account's currency from the search (an exact login comes first).
  const found = useAccountSearch(login, 1);
  const account: AccountFound | undefined = found.data?.find((a) => a.account === login);
  if (found.isPending) return <Loading label="Loading the account" />;
  if (found.isError) return <ErrorState error={found.error} retry={() => void found.refetch()} />;
  const currency = account?.currency ?? "USD";
  return (
    <div className="flex flex-col gap-4" data-testid="account-history">
      <Card title="Equity and balance">
        <Suspense fallback={<Loading label="Loading the chart" />}>
          <EquityChart login={login} doc={null} day={null} currency={currency} range={range} />
        </Suspense>
      </Card>
      <Card title="Statistics">
        <StatisticsPanel login={login} currency={currency} range={range} />
      </Card>
      <Card title="Daily P/L (UTC days)">
        <Calendar login={login} currency={currency} range={range} />
      </Card>
    </div>
  );
}

export default function History() {
  const [params, setParams] = useSearchParams();
  const login = params.get("account") ?? "";
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const picked = dayRange(from, to);
  const update = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next);
  };
  return (
    <div className="flex flex-col gap-4">
      <PageTitle>History explorer</PageTitle>
      <AnalystNav />
      <Search onPick={(account) => update({ account })} />
      {login ? (
        <>
          <Card title={<>Account <span className="font-mono">{login}</span></>}>
            <RangeForm from={from} to={to} onApply={(start, end) => update({ from: start, to: end })} />
          </Card>
          {"error" in picked ? <ErrorState error={new Error(picked.error)} />
            : <AccountHistory key={login} login={login} range={picked.range} />}
        </>
      ) : <Empty>Pick an account to see its statistics, equity curve and calendar.</Empty>}
    </div>
  );
}
