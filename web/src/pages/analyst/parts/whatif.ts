/** The what-if form's model: a program phase's numeric rule values as fields, and the
 * fields the analyst changed as the endpoint's `changes` (a nested merge). */

export interface RuleValue {
  path: string[]; // under the document: ["rules", "daily_loss", "limit"]
  value: number;
}

/** Every number under the document's `rules`, in document order. */
export function ruleValues(document: unknown): RuleValue[] {
  const out: RuleValue[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (typeof node === "number" && Number.isFinite(node)) out.push({ path, value: node });
    else if (node && typeof node === "object" && !Array.isArray(node)) {
      for (const [key, child] of Object.entries(node as Record<string, unknown>)) walk(child, [...path, key]);
    }
  };
  const rules = (document as { rules?: unknown } | null)?.rules;
  walk(rules, ["rules"]);
  return out;
}

/** The fields whose text differs from the recorded value, as a nested `changes` object;
 * an error naming the field when a text is not a number. */
export function changesFrom(values: readonly RuleValue[], texts: Readonly<Record<string, string>>):
  { changes: Record<string, unknown> } | { error: string } {
  const changes: Record<string, unknown> = {};
  for (const field of values) {
    const key = field.path.join(".");
    const text = texts[key];
    if (text === undefined || text.trim() === "") continue;
    const number = Number(text.trim());
    if (!Number.isFinite(number)) return { error: `${key}: ${text} is not a number` };
    if (number === field.value) continue;
    let node = changes;
    for (const part of field.path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[field.path[field.path.length - 1]!] = number;
  }
  return { changes };
}
