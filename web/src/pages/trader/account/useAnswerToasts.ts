/** Engine answers → toasts, once per tab, and the status they leave each account in.
 *
 * Both the dashboard and the account page mount this hook; answers are deduplicated by
 * their id at module level, so one answer raises one toast however many views listen
 * (and a re-sent answer after a reconnect raises none). Each answer also updates the
 * account's status at once and refreshes the challenge and account queries. */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { create } from "zustand";
import { useEngineAnswers, type RiskEventMessage } from "../../../live/store";
import { toast } from "../../../ui/toast";
import { answerText, fromMessage, statusAfter, type Answer } from "./answers";

const SEEN_LIMIT = 2000;
const seen = new Set<string>();

/** True the first time an id is offered in this tab. */
export function firstTime(id: string): boolean {
  if (seen.has(id)) return false;
  seen.add(id);
  if (seen.size > SEEN_LIMIT) {
    const oldest = seen.values().next().value;
    if (oldest !== undefined) seen.delete(oldest);
  }
  return true;
}

/** What the engine's answers said during this tab's life, per account. */
interface AnswerState {
  status: Record<string, string>;
  live: Record<string, Answer[]>;
  record(answer: Answer): void;
}

export const useAnswerStore = create<AnswerState>()((set) => ({
  status: {},
  live: {},
  record: (answer) => set((state) => {
    const next = statusAfter(answer);
    const list = state.live[answer.account] ?? [];
    return {
      status: next ? { ...state.status, [answer.account]: next } : state.status,
      live: { ...state.live, [answer.account]: [...list.slice(-49), answer] },
    };
  }),
}));

const EMPTY: Answer[] = [];

export function useStatusOverride(login: string | undefined): string | undefined {
  return useAnswerStore((s) => (login ? s.status[login] : undefined));
}

export function useLiveAnswers(login: string | undefined): Answer[] {
  return useAnswerStore((s) => (login ? s.live[login] ?? EMPTY : EMPTY));
}

const currencies = new Map<string, string>();

/** Pages tell which currency an account counts in (its rule document's). */
export function setAccountCurrency(login: string, currency: string | undefined): void {
  if (currency) currencies.set(login, currency);
}

/** Raises a toast for each new engine answer and applies it to the account's status. */
export function useAnswerToasts(): void {
  const client = useQueryClient();
  const listener = useCallback((message: RiskEventMessage) => {
    const answer = fromMessage(message);
    if (!answer || !firstTime(answer.id)) return;
    useAnswerStore.getState().record(answer);
    const text = answerText(answer, currencies.get(answer.account) ?? "USD");
    toast(text.title, text.body, text.tone);
    if (answer.type === "objective") return;
    void client.invalidateQueries({
      predicate: (query) => {
        const [head, second] = query.queryKey;
        return head === "challenges" || head === "challenge" ||
          (head === "account" && second === answer.account);
      },
    });
  }, [client]);
  useEngineAnswers(listener);
}
