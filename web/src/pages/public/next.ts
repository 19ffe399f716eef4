/** Where to go after logging in: the `?next=` the sign-in guard sent, if it is a path on
 * this site. Anything else (`//evil.example`, `/\evil.example`, `https://…`, `javascript:`,
 * control characters) goes to the fallback: an open redirect would let a phishing link
 * pass through the firm's own login page. */
const BASE = "https://proptrade.invalid";

export function safeNext(raw: string | null | undefined, fallback = "/dashboard"): string {
  if (!raw || raw.length > 2000) return fallback;
  // one leading slash, then not a second one or a backslash (browsers read `/\` as `//`)
  if (!raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return fallback;
  // backslashes, tabs and newlines are dropped or rewritten by URL parsers: refuse them
  if (/[\\\u0000-\u001f\u007f]/.test(raw)) return fallback;
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== BASE) return fallback;
  // back to the login (or another auth page) would loop
  if (/^\/(login|register|forgot-password|reset-password|verify-email)(\/|$)/.test(url.pathname)) {
    return fallback;
  }
  return url.pathname + url.search + url.hash;
}
