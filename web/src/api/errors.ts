/** The gateway's one error shape, as an exception the pages can show. */
import type { components } from "./schema";

type ErrorBody = components["schemas"]["ErrorBody"];

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** `$.path` → message, from a 422's `fields`. */
  readonly fields: Record<string, string>;
  /** Seconds to wait, from a 429's `Retry-After`. */
  readonly retryAfter: number | null;
  readonly part: string | null;

  constructor(status: number, body: unknown, retryAfter: string | null) {
    const detail = isErrorBody(body) ? body.error : null;
    super(detail?.message ?? `the server answered ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = detail?.code ?? (status === 0 ? "network" : `http_${status}`);
    this.fields = {};
    for (const field of detail?.fields ?? []) this.fields[field.path] = field.message;
    const wait = retryAfter === null ? NaN : Number.parseInt(retryAfter, 10);
    this.retryAfter = Number.isFinite(wait) ? wait : null;
    this.part = detail?.part ?? null;
  }

  /** The message for a form field (`email` → `$.email`), if the API named it. */
  field(name: string): string | undefined {
    return this.fields[`$.${name}`];
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === "object" && body !== null && "error" in body &&
    typeof (body as ErrorBody).error?.message === "string";
}

/** What to tell a person about any error. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429 && error.retryAfter !== null) {
      return `${error.message} Try again in ${waitText(error.retryAfter)}.`;
    }
    if (error.code === "network") return "The server cannot be reached. Check your connection.";
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
