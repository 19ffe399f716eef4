/** A program as a trader reads it: size and price, each phase's rules in words, the
 * trading day, add-ons, and the button that starts a challenge. Shared by the list and
 * the detail page. */
import { useId, type ReactNode } from "react";
import { useNavigate } from "react-router";
import type { Schemas } from "../../api/client";
import { money, nextDayStart } from "../../format/numbers";
import { describeRules, type RuleDocument } from "../../objectives/rules";
import { Button } from "../../ui/kit";

export type ProgramOut = Schemas["ProgramOut"];
export type PhaseOut = Schemas["PhaseOut"];

/** The phase's rule document with the program's currency and size filled in. */
export function phaseDocument(program: ProgramOut, phase: PhaseOut): RuleDocument {
  const doc = phase.document as unknown as RuleDocument;
  return { currency: program.currency, initial_balance: Number(program.account_size), ...doc };
}

const wholeFormats = new Map<string, Intl.NumberFormat>();

/** `$10,000` for a whole amount (an account size), else money()'s `$10,000.50`. */
export function size(amount: string, currency: string): string {
  const value = Number(amount);
  if (!Number.isInteger(value)) return money(amount, currency);
  let format = wholeFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat(undefined, { style: "currency", currency, maximumFractionDigits: 0, minimumFractionDigits: 0 });
    wholeFormats.set(currency, format);
  }
  return format.format(value);
}

/** `no-time-limit` → `No time limit`. */
export function addonName(name: string): string {
  const words = name.replace(/[-_]+/g, " ").trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : name;
}

export function advanceWords(advance: string, phases: number): string {
  if (phases <= 1) return "One phase.";
  return advance === "review"
    ? "When you pass a phase, the firm reviews it before your next account opens."
    : "When you pass a phase, your next account opens at once.";
}

/** "Starts at 17:00, America/New_York time (23:00 your time)". */
export function tradingDayWords(doc: RuleDocument, now = new Date()): string {
  const zone = doc.day?.timezone ?? "UTC";
  const start = doc.day?.starts_at ?? "00:00";
  let text = `Starts at ${start}, ${zone === "UTC" ? "UTC" : `${zone} time`}`;
  try {
    const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (here && here !== zone) {
      const next = nextDayStart(now, { timezone: zone, starts_at: start });
      const local = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }).format(next);
      text += ` (${local} your time)`;
    }
  } catch {
    // an unknown zone: say what the program says
  }
  return text;
}

/** The same trading day in every phase (the usual case), or null. */
export function sharedTradingDay(program: ProgramOut): RuleDocument | null {
  const docs = program.phases.map((phase) => phaseDocument(program, phase));
  const key = (d: RuleDocument) => `${d.day?.timezone ?? "UTC"}|${d.day?.starts_at ?? "00:00"}`;
  const first = docs[0];
  return first && docs.every((d) => key(d) === key(first)) ? first : null;
}

export function PhaseRules({ program, phase, headingLevel = 3, showDay = false }:
  { program: ProgramOut; phase: PhaseOut; headingLevel?: 3 | 4; showDay?: boolean }) {
  const doc = phaseDocument(program, phase);
  const lines = describeRules(doc);
  const Heading = headingLevel === 3 ? "h3" : "h4";
  return (
    <div className="flex flex-col gap-2">
      <Heading className="font-semibold">{phase.name}</Heading>
      {lines.length === 0 ? (
        <p className="text-sm text-muted">No trading rules in this phase.</p>
      ) : (
        <dl className="flex flex-col gap-2 text-sm">
          {lines.map((line) => (
            <div key={line.rule}>
              <dt className="font-medium">{line.title}</dt>
              <dd className="text-muted">{line.words}</dd>
            </div>
          ))}
          {showDay ? (
            <div>
              <dt className="font-medium">Trading day</dt>
              <dd className="text-muted">{tradingDayWords(doc)}</dd>
            </div>
          ) : null}
        </dl>
      )}
    </div>
  );
}

export function Addons({ program }: { program: ProgramOut }) {
  const id = useId();
  if (program.addons.length === 0) return null;
  return (
    <div className="flex flex-col gap-1">
      <h3 id={id} className="text-sm font-semibold">Optional add-ons</h3>
      <ul aria-labelledby={id} className="flex flex-col gap-1 text-sm">
        {program.addons.map((addon) => (
          <li key={addon.name} className="flex justify-between gap-3">
            <span>{addonName(addon.name)}</span>
            <span className="tabular whitespace-nowrap">+{money(addon.price, program.currency)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function buyPath(slug: string): string {
  return `/challenges/new?program=${encodeURIComponent(slug)}`;
}

/** "Start challenge" (a signed-out visitor is sent to log in first by the route). */
export function StartButton({ slug, describedBy, className = "" }:
  { slug: string; describedBy?: string; className?: string }) {
  const navigate = useNavigate();
  return (
    <Button aria-describedby={describedBy} className={className} onClick={() => navigate(buyPath(slug))}>
      Start challenge
    </Button>
  );
}

/** One headline number of a program (size, price, phases) with its label. */
export function Figure({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="text-xs uppercase tracking-wide text-muted">{label}</dt>
      <dd className="tabular text-2xl font-semibold">{children}</dd>
    </div>
  );
}
