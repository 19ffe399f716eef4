/** One account, live: the header numbers, the objectives, the equity chart with its
 * floors, the breach prices, and MetaTrader's statistics, the journal, the calendar and
 * the symbols in tabs (`?tab=`). Charts load lazily: nothing of them is in other pages. */
import { Tabs } from "radix-ui";
import { lazy, memo, Suspense, useEffect, useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import type { TradingDay } from "../../format/numbers";
import { money } from "../../format/numbers";
import { seedMetrics } from "../../live/store";
import { objectiveStates, type RuleDocument } from "../../objectives/rules";
import { ApiError } from "../../api/errors";
import { isStaff, useSession } from "../../session/store";
import { Card, Empty, ErrorState, InfoTip, Loading, PageTitle } from "../../ui/kit";
import { answerKey, answerText, metAndBreached, type Answer } from "./account/answers";
import { AnswersList } from "./account/AnswersList";
import {
  findAccount, phaseDocument, useAccountEvents, useAccountLive, useAccountSnapshot, useCalendar, useChallenges, useProgram,
  useStatistics,
} from "./account/api";
import { BreachPrices } from "./account/BreachPrices";
import { consistencyReading } from "./account/calendar";
import { breachPrices, effectiveStatus, todayPnl, tradingDays } from "./account/metrics";
import { ObjectivesList } from "./account/Objectives";
import { AccountStatus, Figure, LiveMarker, PnlFigure } from "./account/parts";
import { StatisticsPanel } from "./account/Statistics";
import { TradesPanel } from "./account/Trades";
import { setAccountCurrency, useAnswerToasts, useLiveAnswers, useStatusOverride } from "./account/useAnswerToasts";

const EquityChart = lazy(() => import("./account/EquityChart"));
const CalendarPanel = lazy(() => import("./account/CalendarPanel"));
const SymbolsPanel = lazy(() => import("./account/SymbolsPanel"));
// The desk's panel: its own chunk, asked for only when staff open the page.
const AccountDesk = lazy(() => import("../desk/AccountDesk"));

const TABS = [
  ["statistics", "Statistics"],
  ["journal", "Journal"],
  ["calendar", "Calendar"],
  ["symbols", "Symbols"],
  ["events", "Rule events"],
] as const;
type Tab = (typeof TABS)[number][0];

function isTab(value: string | null): value is Tab {
  return TABS.some(([key]) => key === value);
}

function useStatus(login: string, rowStatus: string | undefined): string {
  const live = useAccountLive(login);
  return effectiveStatus(useStatusOverride(login), live, rowStatus);
}

/** The live header: status, equity, balance, today's P/L, live or stale. */
const Header = memo(function Header({ login, rowStatus, currency, timeZone }:
  { login: string; rowStatus: string | undefined; currency: string; timeZone: string | undefined }) {
  const m = useAccountLive(login);
  const status = useStatus(login, rowStatus);
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <AccountStatus status={status} />
        <LiveMarker metrics={m} timeZone={timeZone} />
      </div>
      <dl className="grid grid-cols-2 gap-3 sm:flex sm:flex-wrap sm:gap-6">
        <Figure label="Equity" value={money(m?.equity, currency)} wide testId="account-equity" />
        <Figure label="Balance" value={money(m?.balance, currency)} wide testId="account-balance" />
        <PnlFigure label="Today's P/L" value={todayPnl(m)} currency={currency} testId="account-today" />
        <Figure label="Open positions" value={m?.open_positions === null || m?.open_positions === undefined ? "—" : String(m.open_positions)} />
      </dl>
    </div>
  );
});

/** A failed, passed, paused or stopped account says so, with the answer that did it. */
function StatusBanner({ login, rowStatus, answers, currency }:
  { login: string; rowStatus: string | undefined; answers: readonly Answer[]; currency: string }) {
  const status = useStatus(login, rowStatus);
  if (status === "active") return null;
  const cause = [...answers].reverse().find((a) =>
    status === "passed" ? a.type === "passed" : a.type === "breach" && a.action !== "warn");
  const tone = status === "passed" ? "border-good text-good" : status === "paused" ? "border-warn text-warn" : "border-bad text-bad";
  const words: Record<string, string> = {
    failed: "This account has failed.",
    passed: "This phase is passed.",
    paused: "Trading is paused until the next trading day.",
    stopped: "The risk desk stopped this account.",
    disabled: "This account is disabled.",
  };
  return (
    <div role="status" data-testid="account-banner" className={`rounded-lg border-l-4 bg-surface p-3 ${tone}`}>
      <p className="font-semibold">{words[status] ?? `Status: ${status}`}</p>
      {cause ? <p className="tabular text-sm text-ink">{answerText(cause, currency).title}</p> : null}
    </div>
  );
}

function LiveObjectives({ login, doc, rowStatus, answers, days }: {
  login: string; doc: RuleDocument; rowStatus: string | undefined; answers: readonly Answer[];
  days: { bestDayProfit: number | null; totalProfit: number | null };
}) {
  const m = useAccountLive(login);
  const status = useStatus(login, rowStatus);
  const stats = useStatistics(login);
  const { met, breached } = useMemo(() => metAndBreached(answers), [answers]);
  const views = useMemo(() => objectiveStates(doc, {
    status,
    balance: m?.balance ?? null,
    equity: m?.equity ?? null,
    daily_floor: m?.daily_floor ?? null,
    max_loss_floor: m?.max_loss_floor ?? null,
    trading_days: tradingDays(m) ?? stats.data?.trading_days ?? null,
    met, breached, ...days,
  }), [doc, status, m, stats.data, met, breached, days]);
  if (!views.length) return <Empty>This phase has no rule to show.</Empty>;
  return <ObjectivesList views={views} />;
}

function LiveBreachPrices({ login }: { login: string }) {
  const m = useAccountLive(login);
  const rows = useMemo(() => breachPrices(m), [m]);
  return <BreachPrices rows={rows} openPositions={m?.open_positions} />;
}

export default function Account() {
  const { login = "" } = useParams();
  const staff = useSession((s) => isStaff(s.user));
  useAnswerToasts();
  const [params, setParams] = useSearchParams();
  const tabParam = params.get("tab");
  const tab: Tab = isTab(tabParam) ? tabParam : "statistics";

  const challenges = useChallenges();
  const found = useMemo(() => findAccount(challenges.data, login), [challenges.data, login]);
  const account = found?.account;
  const challenge = found?.challenge;
  const snapshot = useAccountSnapshot(login);
  useEffect(() => {
    if (snapshot.data) seedMetrics(snapshot.data);
  }, [snapshot.data]);
  const program = useProgram(challenge?.program, account?.engine_program);
  const phase = useMemo(() => phaseDocument(program.data, account), [program.data, account]);
  const doc = phase?.doc ?? null;
  const currency = doc?.currency ?? challenge?.currency ?? "USD";
  const timeZone = doc?.day?.timezone;
  const day = useMemo<TradingDay | null>(() => (doc?.day?.timezone
    ? { timezone: doc.day.timezone, starts_at: doc.day.starts_at ?? "00:00" } : null), [doc]);
  useEffect(() => setAccountCurrency(login, currency), [login, currency]);

  const events = useAccountEvents(login);
  const liveAnswers = useLiveAnswers(login);
  const answers = useMemo(() => {
    // one answer, come live and in the history, once (the history's: it knows overrides)
    const byKey = new Map<string, Answer>();
    for (const a of liveAnswers) byKey.set(answerKey(a), a);
    for (const a of events.data ?? []) byKey.set(answerKey(a), a);
    return [...byKey.values()].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  }, [events.data, liveAnswers]);
  const newestFirst = useMemo(() => [...answers].reverse(), [answers]);

  const calendar = useCalendar(login);
  const days = useMemo(() => consistencyReading(calendar.data ?? []), [calendar.data]);

  const notFound = snapshot.error instanceof ApiError && snapshot.error.status === 404 && challenges.isSuccess && !found;
  if (!login || notFound) {
    return (
      <div>
        <PageTitle>Account {login}</PageTitle>
        <Empty>
          <p className="mb-2">There is no account {login} among yours.</p>
          <Link className="text-brand underline" to="/dashboard">Back to the dashboard</Link>
        </Empty>
      </div>
    );
  }
  if (challenges.isPending && snapshot.isPending) return <Loading label={`Loading account ${login}`} />;

  const title = program.data?.name ?? challenge?.program ?? null;
  const phaseName = phase?.name ?? (account ? `Phase ${account.phase}` : null);
  const rowStatus = account?.status ?? snapshot.data?.status;

  return (
    <div className="flex flex-col gap-4">
      <PageTitle actions={challenge ? (
        <Link className="text-sm text-brand underline" to={`/challenges/${challenge.id}`}>Challenge #{challenge.id}</Link>
      ) : null}>
        <span className="font-mono">{login}</span>
      </PageTitle>
      <Card>
        <p className="mb-3 text-sm text-muted" data-testid="account-program">
          {title ?? (challenges.isPending || program.isPending ? "…" : "No program on record")}
          {phaseName ? ` · ${phaseName}` : ""}
          {challenge ? <> · challenge <span className="uppercase">{challenge.status.replace(/_/g, " ")}</span></> : null}
        </p>
        {snapshot.isError && !(snapshot.error instanceof ApiError && snapshot.error.status === 404) ? (
          <ErrorState error={snapshot.error} retry={() => void snapshot.refetch()} />
        ) : null}
        <Header login={login} rowStatus={rowStatus} currency={currency} timeZone={timeZone} />
      </Card>
      <StatusBanner login={login} rowStatus={rowStatus} answers={answers} currency={currency} />
      {staff ? (
        <Suspense fallback={<Loading label="Loading the desk's panel" />}>
          <AccountDesk login={login} status={rowStatus} />
        </Suspense>
      ) : null}
      {challenges.isError ? <ErrorState error={challenges.error} retry={() => void challenges.refetch()} /> : null}

      <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
        <Card title="Equity and floors" className="min-w-0 lg:col-span-2">
          <Suspense fallback={<div className="h-64 sm:h-80"><Loading label="Loading the chart" /></div>}>
            <EquityChart login={login} doc={doc} day={day} currency={currency} />
          </Suspense>
        </Card>
        <Card title="Objectives" className="min-w-0">
          {program.isError ? <ErrorState error={program.error} retry={() => void program.refetch()} />
            : doc ? <LiveObjectives login={login} doc={doc} rowStatus={rowStatus} answers={answers} days={days} />
            : program.isPending && challenge ? <Loading label="Loading the rules" />
            : <Empty>No rule document is on record for this account.</Empty>}
        </Card>
      </div>

      <Card title={<>Breach prices<InfoTip label="What is a breach price?">
        For each symbol you hold, the price at which your equity would touch the nearest
        floor, every other price staying where it is: the bid for a symbol you hold long,
        the ask for one you hold short. Computed by the risk engine with its own arithmetic.
      </InfoTip></>}>
        <LiveBreachPrices login={login} />
      </Card>

      <Card>
        <Tabs.Root value={tab} onValueChange={(value) => {
          const next = new URLSearchParams(params);
          next.set("tab", value);
          setParams(next, { replace: true });
        }}>
          <Tabs.List aria-label="Account history" className="mb-4 flex gap-1 overflow-x-auto border-b border-line">
            {TABS.map(([key, label]) => (
              <Tabs.Trigger key={key} value={key}
                className="whitespace-nowrap border-b-2 border-transparent px-3 py-2 text-sm text-muted data-[state=active]:border-brand data-[state=active]:font-semibold data-[state=active]:text-ink">
                {label}
              </Tabs.Trigger>
            ))}
          </Tabs.List>
          <Tabs.Content value="statistics"><StatisticsPanel login={login} currency={currency} /></Tabs.Content>
          <Tabs.Content value="journal"><TradesPanel login={login} currency={currency} timeZone={timeZone} /></Tabs.Content>
          <Tabs.Content value="calendar">
            {calendar.isPending ? <Loading label="Loading the calendar" />
              : calendar.isError ? <ErrorState error={calendar.error} retry={() => void calendar.refetch()} />
              : <Suspense fallback={<Loading label="Loading the calendar" />}><CalendarPanel days={calendar.data} currency={currency} /></Suspense>}
          </Tabs.Content>
          <Tabs.Content value="symbols">
            <Suspense fallback={<Loading label="Loading the symbols" />}><SymbolsPanel login={login} currency={currency} /></Suspense>
          </Tabs.Content>
          <Tabs.Content value="events">
            {events.isPending ? <Loading label="Loading the rule events" />
              : events.isError ? <ErrorState error={events.error} retry={() => void events.refetch()} />
              : <AnswersList answers={newestFirst} currency={currency} timeZone={timeZone} />}
          </Tabs.Content>
        </Tabs.Root>
      </Card>
    </div>
  );
}
