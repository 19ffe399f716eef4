/** The trader's accounts through the API: challenges, the account snapshot, its program's
 * rule document, history (equity, statistics, calendar, symbols), the trade journal and
 * the engine's answers (events). Query keys are shared with the other pages:
 * ["challenges"], ["challenge", id], ["account", login, …], ["program", ref]. */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../../api/client";
import { ApiError } from "../../../api/errors";
import { useLiveMetrics } from "../../../live/store";
import type { RuleDocument } from "../../../objectives/rules";
import { fromAccountEvent } from "./answers";

export type Challenge = Schemas["ChallengeOut"];
export type TradingAccount = Schemas["TradingAccountOut"];
export type Program = Schemas["ProgramOut"];
export type AccountMetrics = Schemas["AccountMetrics"];
/** One held symbol's breach price (price null when hedged flat, unquoted, or beyond zero). */
export type BreachPrice = Schemas["BreachPriceOut"];
export type AccountStatistics = Schemas["AccountStatistics"];
export type SymbolRow = Schemas["SymbolStatistics"];
export type DailyRow = Schemas["DailyPnl"];
export type EquityRow = Schemas["EquityPoint"];
/** A closed trade: one closing deal (a whole or partial close); money is that deal's. */
export type Trade = Schemas["TradeOut"];
export type OpenPosition = Schemas["OpenPositionOut"];
export type TradeJournal = Schemas["TradeJournalOut"];
export type AccountEvent = Schemas["AccountEventOut"];

/** Closed trades a page of the journal. */
export const TRADES_PAGE = 100;

/** An account's latest live numbers: the websocket's `metrics.data`, which the gateway
 * sends with AccountMetrics' fields (live/socket.ts types it loosely), or the REST
 * snapshot seeded before the first frame. */
export function useAccountLive(login: string | undefined): AccountMetrics | undefined {
  return useLiveMetrics(login) as AccountMetrics | undefined;
}

/** A challenge's current account: the newest one. */
export function currentAccount(challenge: Challenge): TradingAccount | undefined {
  let newest: TradingAccount | undefined;
  for (const a of challenge.accounts) {
    if (!newest || a.created_at > newest.created_at ||
      (a.created_at === newest.created_at && a.phase > newest.phase)) newest = a;
  }
  return newest;
}

export function useChallenges() {
  return useQuery({
    queryKey: ["challenges", "mine"],
    queryFn: () => call(api.GET("/api/v1/challenges", { params: { query: { all: "0" } } })),
  });
}

export function findAccount(challenges: readonly Challenge[] | undefined, login: string):
  { challenge: Challenge; account: TradingAccount } | null {
  for (const challenge of challenges ?? []) {
    const account = challenge.accounts.find((a) => a.login === login);
    if (account) return { challenge, account };
  }
  return null;
}

export function useAccountSnapshot(login: string | undefined, enabled = true) {
  return useQuery({
    queryKey: ["account", login, "snapshot"],
    enabled: Boolean(login) && enabled,
    queryFn: () => call(api.GET("/api/v1/accounts/{login}", { params: { path: { login: login ?? "" } } })),
  });
}

/** A program by the name a challenge gives: its slug, else (from the list) its id or the
 * engine program id of one of its phases. */
async function loadProgram(ref: string, engineProgram: string | undefined): Promise<Program | null> {
  try {
    return await call(api.GET("/api/v1/programs/{slug}", { params: { path: { slug: ref } } }));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  const all = await call(api.GET("/api/v1/programs"));
  return all.find((p) => p.slug === ref || String(p.id) === ref ||
    (engineProgram !== undefined && p.phases.some((ph) => ph.engine_program === engineProgram))) ?? null;
}

export function useProgram(ref: string | undefined, engineProgram?: string) {
  return useQuery({
    queryKey: ["program", ref],
    enabled: Boolean(ref),
    staleTime: 5 * 60_000,
    queryFn: () => loadProgram(ref ?? "", engineProgram),
  });
}

/** The rule document of the account's phase: by its engine program id, else by number. */
export function phaseDocument(program: Program | null | undefined, account: TradingAccount | undefined):
  { doc: RuleDocument; name: string } | null {
  if (!program || !account) return null;
  const phase = program.phases.find((p) => p.engine_program === account.engine_program) ??
    program.phases[account.phase - 1];
  if (!phase) return null;
  const doc = (phase.document ?? {}) as RuleDocument;
  const size = Number(program.account_size);
  return {
    doc: { currency: program.currency, ...doc,
      initial_balance: doc.initial_balance ?? (Number.isFinite(size) ? size : undefined) },
    name: phase.name,
  };
}

/** A window of an account's history: ISO 8601 times, [since, until); absent: all time. */
export interface HistoryRange {
  since?: string;
  until?: string;
}

/** The range as query parameters (empty ends left out); the query keys of the whole
 * history stay as they were. */
function rangeQuery(range: HistoryRange | undefined): HistoryRange {
  const query: HistoryRange = {};
  if (range?.since) query.since = range.since;
  if (range?.until) query.until = range.until;
  return query;
}

function rangeKey(range: HistoryRange | undefined): unknown[] {
  const query = rangeQuery(range);
  return query.since || query.until ? [query] : [];
}

export function useEquityHistory(login: string, points = 1000, range?: HistoryRange, enabled = true) {
  return useQuery({
    queryKey: ["account", login, "equity", points, ...rangeKey(range)],
    enabled,
    queryFn: () => call(api.GET("/api/v1/accounts/{login}/equity", {
      params: { path: { login }, query: { points, ...rangeQuery(range) } } })),
    staleTime: Infinity,
  });
}

export function useStatistics(login: string, range?: HistoryRange) {
  return useQuery({
    queryKey: ["account", login, "statistics", ...rangeKey(range)],
    queryFn: () => call(api.GET("/api/v1/accounts/{login}/statistics", {
      params: { path: { login }, query: rangeQuery(range) } })),
  });
}

export function useCalendar(login: string, range?: HistoryRange) {
  return useQuery({
    queryKey: ["account", login, "calendar", ...rangeKey(range)],
    queryFn: () => call(api.GET("/api/v1/accounts/{login}/calendar", {
      params: { path: { login }, query: rangeQuery(range) } })),
  });
}

export function useSymbols(login: string) {
  return useQuery({
    queryKey: ["account", login, "symbols"],
    queryFn: () => call(api.GET("/api/v1/accounts/{login}/symbols", { params: { path: { login } } })),
  });
}

/** The trade journal a page at a time: `next_offset` is the next page's offset (null on
 * the last page); the first page also carries the open positions (open=1). */
export function useTradeJournal(login: string, limit = TRADES_PAGE) {
  return useInfiniteQuery({
    queryKey: ["account", login, "trades", limit],
    initialPageParam: 0,
    queryFn: ({ pageParam }) => call(api.GET("/api/v1/accounts/{login}/trades", {
      params: { path: { login }, query: { limit, offset: pageParam, open: pageParam === 0 ? "1" : "0" } },
    })),
    getNextPageParam: (last) => last.next_offset ?? undefined,
  });
}

/** The engine's answers about the account (every kind), as answers. */
export function useAccountEvents(login: string, limit = 1000) {
  return useQuery({
    queryKey: ["account", login, "events", limit],
    queryFn: async () => {
      const events = await call(api.GET("/api/v1/accounts/{login}/events", {
        params: { path: { login }, query: { kind: "all", limit } },
      }));
      return events.map(fromAccountEvent);
    },
  });
}
