/** Controls the desk's pages share: a labelled select and the look of their dialogs. */
import { useId } from "react";

/** The classes of a desk dialog's content (Radix Dialog), centred, at most 30rem wide. */
export const DIALOG = "fixed left-1/2 top-1/2 z-50 w-[min(30rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 rounded-lg border border-line bg-surface p-5 text-ink shadow-xl";

/** A native select with its label; `options` are [value, text] pairs. */
export function Select({ label, value, options, onChange }:
  { label: string; value: string; options: readonly (readonly [string, string])[]; onChange(value: string): void }) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium">{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}
        className="min-h-10 rounded-md border border-line bg-surface px-2 text-ink">
        {options.map(([v, text]) => <option key={v} value={v}>{text}</option>)}
      </select>
    </div>
  );
}
