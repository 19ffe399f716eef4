/** Errors on forms: the 422 `fields` on their inputs, the rest above the form. */
import { ApiError } from "../../api/errors";

/** "the password must…" → "The password must…". */
export function sentence(text: string): string {
  return text ? text[0]!.toUpperCase() + text.slice(1) : text;
}

/** The path a 422 without `fields` names in its message (`"$.code: the code is wrong"`,
 * as some gateway checks word it), with the rest of the message. */
function messagePath(error: ApiError): [string, string] | null {
  if (error.status !== 422 || Object.keys(error.fields).length > 0) return null;
  const match = /^(\$\.[A-Za-z0-9_.[\]]+): (.+)$/s.exec(error.message);
  return match ? [match[1]!, match[2]!] : null;
}

/** The API's message for a field (`email` → `$.email`), if the error names it. */
export function fieldError(error: unknown, name: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const message = error.field(name) ?? (messagePath(error)?.[0] === `$.${name}` ? messagePath(error)?.[1] : undefined);
  return message === undefined ? undefined : sentence(message);
}

/** The error to show above the form: none when a 422 named only fields the form shows
 * (each is shown on its input), else the error itself. */
export function formError(error: unknown, shown: readonly string[]): unknown {
  if (!error) return null;
  if (error instanceof ApiError && error.status === 422) {
    const named = messagePath(error);
    const paths = named ? [named[0]] : Object.keys(error.fields);
    if (paths.length > 0 && paths.every((path) => shown.some((name) => path === `$.${name}`))) {
      return null;
    }
  }
  return error;
}

/** The error's code when it is an API error ("totp_required"…), else null. */
export function errorCode(error: unknown): string | null {
  return error instanceof ApiError ? error.code : null;
}
