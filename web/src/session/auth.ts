/** Signing in and out, and keeping the access token fresh.
 *
 * The gateway sets the rotating refresh token as an HttpOnly, SameSite=Strict cookie
 * scoped to /api/v1/auth when a login asks for `session: "cookie"`; this module never
 * sees it. The access token (15 minutes) is kept in memory and renewed a minute before
 * it expires; a reload restores the session from the cookie. */
import { api, call, setRefresher, type Schemas } from "../api/client";
import { ApiError } from "../api/errors";
import { useSession } from "./store";

const EARLY_MS = 60_000;
/** A hint (not a credential) that this browser holds a session cookie, so an anonymous
 * visit does not start with a refresh the gateway must refuse. */
const HINT = "proptrade.session";

function hint(on: boolean): void {
  try {
    if (on) localStorage.setItem(HINT, "1");
    else localStorage.removeItem(HINT);
  } catch {
    // storage refused (private mode): every start tries the cookie
  }
}

function hinted(): boolean {
  try {
    return localStorage.getItem(HINT) !== null;
  } catch {
    return true;
  }
}
let timer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<boolean> | null = null;

function schedule(expiresIn: number): void {
  clearTimeout(timer);
  const delay = Math.max(5_000, expiresIn * 1000 - EARLY_MS);
  timer = setTimeout(() => void refresh(), delay);
}

async function accept(tokens: Schemas["TokensOut"]): Promise<void> {
  hint(true);
  useSession.getState().signIn(tokens.access_token, tokens.expires_in);
  schedule(tokens.expires_in);
  const user = await call(api.GET("/api/v1/me"));
  useSession.getState().setUser(user);
}

/** One refresh at a time across every tab of the site: the refresh token rotates, and a
 * second tab presenting the spent one would end the session (reuse detection). Each tab
 * takes the lock in turn and presents the cookie as the previous one left it. */
function exclusively<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  return locks ? (locks.request("proptrade-refresh", work) as Promise<T>) : work();
}

/** A new access token from the refresh cookie; false when there is no session. */
export function refresh(): Promise<boolean> {
  inflight ??= (async () => {
    try {
      const tokens = await exclusively(() =>
        call(api.POST("/api/v1/auth/refresh", { body: { session: "cookie" } })));
      await accept(tokens);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 0) {
        // offline: keep what we have and try again shortly
        timer = setTimeout(() => void refresh(), 10_000);
        return useSession.getState().accessToken !== null;
      }
      clearTimeout(timer);
      hint(false);
      useSession.getState().signOut();
      return false;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

setRefresher(refresh);

export interface Credentials {
  email: string;
  password: string;
  totp_code?: string;
  recovery_code?: string;
}

export async function signIn(credentials: Credentials): Promise<void> {
  const tokens = await call(api.POST("/api/v1/auth/login", {
    body: { ...credentials, session: "cookie" },
  }));
  await accept(tokens);
}

/** Ends this session (the cookie's family is revoked and the cookie cleared). */
export async function signOut(): Promise<void> {
  clearTimeout(timer);
  try {
    await call(api.POST("/api/v1/auth/logout", { body: {} }));
  } catch {
    // signed out locally whatever the server says
  }
  hint(false);
  useSession.getState().signOut();
}

/** Called once at start: a session survives a reload through the refresh cookie. */
export async function restoreSession(): Promise<void> {
  if (hinted()) await refresh();
  else useSession.getState().signOut();
}

/** After a password change or similar the server hands out new tokens. */
export async function adoptTokens(tokens: Schemas["TokensOut"]): Promise<void> {
  await accept(tokens);
}
