/** The tab's live connection and the latest numbers of each account, for React.
 *
 * Numbers land in a plain map outside React; components read one account each through
 * useSyncExternalStore, so a tick re-renders only what shows that account. While the
 * tab is hidden nothing is drawn: the map keeps only each account's latest snapshot, and
 * on return every view is told at once (catching up from the latest snapshot). */
import { useEffect, useSyncExternalStore } from "react";
import { create } from "zustand";
import { refresh } from "../session/auth";
import { useSession } from "../session/store";
import { LiveSocket, type EngineAnswer, type LinkState, type Metrics, type RiskEventMessage } from "./socket";

export const useLink = create<{ state: LinkState }>()(() => ({ state: "idle" }));

const latest = new Map<string, Metrics>();
const listeners = new Map<string, Set<() => void>>();
const answerListeners = new Set<(message: RiskEventMessage) => void>();
const riskListeners = new Set<(message: RiskEventMessage) => void>();
const dirty = new Set<string>();

function hidden(): boolean {
  return typeof document !== "undefined" && document.visibilityState === "hidden";
}

// Ticks are told to the views once a frame: every account that moved since the last
// frame at once, so React renders them in one pass and the browser lays out once (a desk
// with a hundred accounts ticking would otherwise render once per websocket message).
const pending = new Set<string>();
let scheduled = false;
const nextFrame: (run: () => void) => void = typeof requestAnimationFrame === "function"
  ? (run) => void requestAnimationFrame(run)
  : (run) => void setTimeout(run, 16);

/** Tells the views now what is waiting for the next frame (tests; a frame does it). */
export function flushTicks(): void {
  flush();
}

function flush(): void {
  scheduled = false;
  const accounts = [...pending];
  pending.clear();
  for (const account of accounts) tell(account);
}

function tell(account: string): void {
  for (const listener of listeners.get(account) ?? []) listener();
}

function notify(account: string): void {
  if (hidden()) {
    dirty.add(account);
    return;
  }
  pending.add(account);
  if (!scheduled) {
    scheduled = true;
    nextFrame(flush);
  }
}

if (typeof document !== "undefined") {
  document.addEventListener("visibilitychange", () => {
    if (hidden()) return;
    const accounts = [...dirty, ...pending];
    dirty.clear();
    pending.clear();
    for (const account of accounts) tell(account);
    for (const listener of resumeListeners) listener();
  });
}

const resumeListeners = new Set<() => void>();

/** Called when a hidden tab is shown again (charts reload their history). */
export function onResume(listener: () => void): () => void {
  resumeListeners.add(listener);
  return () => resumeListeners.delete(listener);
}

function wsUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss" : "ws"}://${host}/ws`;
}

export const live = new LiveSocket({
  url: wsUrl,
  token: async (force) => {
    const session = useSession.getState();
    if (force || !session.accessToken || session.expiresAt - Date.now() < 30_000) {
      if (!(await refresh())) return null;
    }
    return useSession.getState().accessToken;
  },
  events: {
    onState: (state) => useLink.setState({ state }),
    onMetrics: (account, data) => {
      latest.set(account, data);
      notify(account);
    },
    onRiskEvent: (message) => {
      for (const listener of answerListeners) listener(message);
      for (const listener of riskListeners) listener(message);
    },
    onError: () => undefined,
  },
});

/** Runs the link while someone is signed in. */
export function useLiveLink(): void {
  const status = useSession((s) => s.status);
  useEffect(() => {
    if (status === "signed-in") live.start();
    else live.stop();
  }, [status]);
}

/** The latest live numbers of one account (subscribed while the component is mounted). */
export function useLiveMetrics(login: string | undefined): Metrics | undefined {
  useEffect(() => {
    if (!login) return;
    live.subscribe([login]);
    return () => live.unsubscribe([login]);
  }, [login]);
  return useSyncExternalStore(
    (listener) => {
      if (!login) return () => undefined;
      let set = listeners.get(login);
      if (!set) listeners.set(login, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
    () => (login ? latest.get(login) : undefined),
  );
}

/** Calls `listener` with every engine answer about the subscribed accounts. */
export function useEngineAnswers(listener: (message: RiskEventMessage) => void): void {
  useEffect(() => {
    answerListeners.add(listener);
    return () => {
      answerListeners.delete(listener);
    };
  }, [listener]);
}

/** The firm's whole risk feed (staff only): subscribes while mounted and calls
 * `listener` with every `risk_event`. */
export function useRiskFeed(listener: (message: RiskEventMessage) => void): void {
  useEffect(() => {
    riskListeners.add(listener);
    live.subscribeRisk();
    return () => {
      live.unsubscribeRisk();
      riskListeners.delete(listener);
    };
  }, [listener]);
}

/** Seeds the live map (REST snapshot before the first frame arrives). */
export function seedMetrics(data: Metrics): void {
  if (!latest.has(data.login)) {
    latest.set(data.login, data);
    notify(data.login);
  }
}

export type { EngineAnswer, LinkState, Metrics, RiskEventMessage };
