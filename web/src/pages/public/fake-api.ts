/** A stand-in for the gateway in page tests: each method answers what the test queued
 * for `METHOD path`, in openapi-fetch's result shape, so the real `call` handles it. */
import { vi } from "vitest";

export interface Answer { status: number; body?: unknown; retryAfter?: string }
type Handler = (init: { body?: unknown; params?: unknown } | undefined) => Answer;

const routes = new Map<string, Handler[]>();

export const requests: { method: string; path: string; body: unknown }[] = [];

/** Queue an answer; a route with one answer left keeps giving it. */
export function answer(method: string, path: string, reply: Answer | Handler): void {
  const list = routes.get(`${method} ${path}`) ?? [];
  list.push(typeof reply === "function" ? reply : () => reply);
  routes.set(`${method} ${path}`, list);
}

export function resetApi(): void {
  routes.clear();
  requests.length = 0;
}

function method(name: string) {
  return vi.fn(async (path: string, init?: { body?: unknown; params?: unknown }) => {
    requests.push({ method: name, path, body: init?.body });
    const list = routes.get(`${name} ${path}`);
    const handler = list && (list.length > 1 ? list.shift() : list[0]);
    const reply = handler ? handler(init) : { status: 404, body: { error: { code: "not_found", message: "no such route" } } };
    const ok = reply.status < 400;
    const headers = new Headers(reply.retryAfter ? { "Retry-After": reply.retryAfter } : {});
    const response = new Response(null, { status: reply.status, headers });
    return ok ? { data: reply.body, response } : { error: reply.body, response };
  });
}

export const fakeApi = { GET: method("GET"), POST: method("POST"), PUT: method("PUT"), PATCH: method("PATCH") };
