import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, call } from "../api/client";
import { refresh, signIn } from "./auth";
import { useSession } from "./store";

interface Seen { method: string; path: string; auth: string | null; body: string }

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const USER = { id: 1, email: "t@x.test", display_name: "T", role: "trader", email_verified: true,
  two_factor: false, created_at: "2026-01-01T00:00:00Z" };

describe("the session", () => {
  let seen: Seen[];
  let issued: number;
  let expired: Set<string>;

  beforeEach(() => {
    vi.useFakeTimers();
    seen = [];
    issued = 0;
    expired = new Set();
    vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
      const path = new URL(request.url).pathname;
      const auth = request.headers.get("Authorization");
      seen.push({ method: request.method, path, auth, body: await request.clone().text() });
      if (path === "/api/v1/auth/login" || path === "/api/v1/auth/refresh") {
        issued += 1;
        return json(200, { access_token: `access-${issued}`, refresh_token: null, expires_in: 900 });
      }
      if (auth && expired.has(auth.slice(7))) {
        return json(401, { error: { code: "token_expired", message: "the token has expired", fields: [] } });
      }
      if (path === "/api/v1/me") return json(200, USER);
      return json(404, { error: { code: "not_found", message: "no", fields: [] } });
    }));
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    useSession.getState().signOut();
  });

  it("asks for the refresh token as a cookie and keeps it out of page scripts", async () => {
    await signIn({ email: "t@x.test", password: "pw" });
    const login = seen.find((s) => s.path === "/api/v1/auth/login")!;
    expect(JSON.parse(login.body)).toMatchObject({ session: "cookie" });
    expect(useSession.getState().accessToken).toBe("access-1");
    expect(useSession.getState().user?.email).toBe("t@x.test");
    expect(JSON.stringify(useSession.getState())).not.toContain("refresh");
  });

  it("renews the access token a minute before it expires", async () => {
    await signIn({ email: "t@x.test", password: "pw" });
    await vi.advanceTimersByTimeAsync(839_000);
    expect(seen.filter((s) => s.path === "/api/v1/auth/refresh")).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen.filter((s) => s.path === "/api/v1/auth/refresh")).toHaveLength(1);
    expect(useSession.getState().accessToken).toBe("access-2");
  });

  it("an expired token is refreshed once and the call retried", async () => {
    await signIn({ email: "t@x.test", password: "pw" });
    expired.add("access-1");
    const me = await call(api.GET("/api/v1/me"));
    expect(me.email).toBe("t@x.test");
    const calls = seen.filter((s) => s.path === "/api/v1/me").map((s) => s.auth);
    // signing in reads /me; the call with the expired token; the refresh reads /me; the retry
    expect(calls).toEqual(["Bearer access-1", "Bearer access-1", "Bearer access-2", "Bearer access-2"]);
    expect(seen.filter((s) => s.path === "/api/v1/auth/refresh")).toHaveLength(1);
  });

  it("concurrent refreshes share one request", async () => {
    await signIn({ email: "t@x.test", password: "pw" });
    await Promise.all([refresh(), refresh(), refresh()]);
    expect(seen.filter((s) => s.path === "/api/v1/auth/refresh")).toHaveLength(1);
  });
});
