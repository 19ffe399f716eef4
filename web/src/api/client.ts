/** The typed API client, generated from the gateway's own OpenAPI document
 * (src/api/schema.d.ts; `npm run api` regenerates it, a test fails when it drifts). */
import createClient from "openapi-fetch";
import { useSession } from "../session/store";
import { ApiError } from "./errors";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** Sent with every call: the gateway refuses a cookie-borne refresh without it. */
export const CLIENT_HEADER = { "X-PropTrade-Client": "web" } as const;

type Refresher = () => Promise<boolean>;
let refresher: Refresher = async () => false;

/** The session module registers how to get a new access token (see session/auth.ts). */
export function setRefresher(refresh: Refresher): void {
  refresher = refresh;
}

/** fetch with the access token; one 401 on an expired token refreshes and retries once. */
async function authedFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  const token = useSession.getState().accessToken;
  if (token && !request.headers.has("Authorization")) {
    request.headers.set("Authorization", `Bearer ${token}`);
  }
  let response: Response;
  try {
    response = await fetch(request);
  } catch {
    throw new ApiError(0, null, null);
  }
  if (response.status === 401 && token && !new URL(request.url).pathname.startsWith("/api/v1/auth/")) {
    if (await refresher()) {
      const fresh = useSession.getState().accessToken;
      if (fresh) retry.headers.set("Authorization", `Bearer ${fresh}`);
      return fetch(retry);
    }
  }
  return response;
}

export const api = createClient<paths>({
  baseUrl: typeof location === "undefined" ? "" : location.origin,
  headers: CLIENT_HEADER,
  credentials: "same-origin",
  fetch: authedFetch,
});

/** The data of an openapi-fetch result, or the API's error as an ApiError. */
export async function call<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok || error !== undefined) {
    throw new ApiError(response.status, error, response.headers.get("Retry-After"));
  }
  return data as T;
}
