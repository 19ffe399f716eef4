/** The firm settings page's pure parts: list fields, the API's field errors, the preview. */
import { ApiError } from "../../api/errors";

export const COLOR = /^#[0-9a-fA-F]{6}$/;

/** A list typed one a line (or separated by commas or spaces), without blanks. */
export function lines(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

/** The first message the API gave for a path or any path under it (`$.domains[2]`). */
export function fieldError(error: unknown, path: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const key = Object.keys(error.fields).find((k) => k === path || k.startsWith(`${path}[`) || k.startsWith(`${path}.`));
  return key ? error.fields[key] : undefined;
}

/** A sample of the trader's pages in the firm's colours, font and (checked) CSS, in the
 * app's outline (#root > div > header, main), so rules written for the site apply here
 * too. The frame is sandboxed with no scripts; its one style element carries this page's
 * CSP nonce. */
export function previewDocument(css: string, primary: string, accent: string, nonce: string): string {
  const safe = css.replace(/<\/style/gi, "");  // the gateway refuses it too
  return `<!doctype html><html><head><meta charset="utf-8"><style nonce="${nonce}">
:root { --brand: ${primary}; --brand-accent: ${accent}; }
body { margin: 0; font: 14px system-ui, sans-serif; color: #111827; background: #f4f5f7; }
header { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: #fff; border-bottom: 1px solid #d1d5db; }
main { padding: 16px; } .card { background: #fff; border: 1px solid #d1d5db; border-radius: 8px; padding: 12px; margin-bottom: 12px; }
.bg-brand { background: var(--brand); } .text-white { color: #fff; } .text-brand { color: var(--brand); }
.btn { border: 0; border-radius: 6px; padding: 8px 14px; font: inherit; }
.bar { height: 8px; border-radius: 4px; background: var(--brand-accent); width: 60%; }
${safe}
</style></head><body><div id="root"><div><header><strong data-part="firm-name">Your firm</strong><nav>Dashboard · Challenges · Programs</nav>
<button class="btn bg-brand text-white">Sign up</button></header>
<main><section class="card"><h2>Account 100234</h2><p>Equity <strong>25,312.40 USD</strong></p><div class="bar"></div></section>
<section class="card"><h2 class="text-brand">25k Evaluation</h2><p>Profit target 8% · Max loss 8%</p>
<button class="btn bg-brand text-white">Buy</button></section></main></div></div></body></html>`;
}

