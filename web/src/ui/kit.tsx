/** Small building blocks every page uses: buttons, fields, cards, badges, bars and the
 * loading / empty / error states. */
import { Tooltip } from "radix-ui";
import { useId, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode } from "react";
import { describeError } from "../api/errors";

type Tone = "primary" | "secondary" | "danger" | "ghost";

const TONES: Record<Tone, string> = {
  primary: "bg-brand text-white hover:opacity-90 disabled:opacity-50",
  secondary: "border border-line bg-surface text-ink hover:bg-surface-2 disabled:opacity-50",
  danger: "bg-bad text-surface hover:opacity-90 disabled:opacity-50",
  ghost: "text-ink hover:bg-surface-2",
};

export function Button({ tone = "primary", busy = false, className = "", children, ...rest }:
  ButtonHTMLAttributes<HTMLButtonElement> & { tone?: Tone; busy?: boolean }) {
  return (
    <button
      type="button"
      {...rest}
      disabled={rest.disabled || busy}
      aria-busy={busy || undefined}
      className={`inline-flex min-h-10 items-center justify-center gap-2 rounded-md px-4 py-2 text-sm font-medium ${TONES[tone]} ${className}`}
    >
      {busy ? <Spinner small /> : null}
      {children}
    </button>
  );
}

export function Field({ label, error, hint, className = "", ...input }:
  InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string | undefined; hint?: ReactNode }) {
  const id = useId();
  const described = [error ? `${id}-error` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ");
  return (
    <div className={`flex flex-col gap-1 ${className}`}>
      <label htmlFor={id} className="text-sm font-medium">{label}</label>
      <input
        id={id}
        {...input}
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        className={`min-h-10 rounded-md border bg-surface px-3 py-2 text-ink ${error ? "border-bad" : "border-line"}`}
      />
      {hint ? <p id={`${id}-hint`} className="text-xs text-muted">{hint}</p> : null}
      {error ? <p id={`${id}-error`} className="text-sm text-bad" role="alert">{error}</p> : null}
    </div>
  );
}

export function Card({ title, actions, children, className = "" }:
  { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`rounded-lg border border-line bg-surface p-4 shadow-sm ${className}`}>
      {title || actions ? (
        <header className="mb-3 flex items-center justify-between gap-2">
          {title ? <h2 className="text-base font-semibold">{title}</h2> : <span />}
          {actions}
        </header>
      ) : null}
      {children}
    </section>
  );
}

export function Spinner({ small = false }: { small?: boolean }) {
  return (
    <span
      aria-hidden="true"
      className={`inline-block animate-spin rounded-full border-2 border-current border-t-transparent ${small ? "h-4 w-4" : "h-6 w-6"}`}
    />
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <div role="status" className="flex items-center gap-3 p-6 text-muted">
      <Spinner /> <span>{label}…</span>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="rounded-md border border-dashed border-line p-6 text-center text-muted">{children}</div>;
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div role="alert" className="flex flex-wrap items-center gap-3 rounded-md border border-bad p-4 text-bad">
      <span>{describeError(error)}</span>
      {retry ? <Button tone="secondary" onClick={retry}>Try again</Button> : null}
    </div>
  );
}

export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  return <p role="alert" className="rounded-md border border-bad p-3 text-sm text-bad">{describeError(error)}</p>;
}

const STATUS_TONE: Record<string, string> = {
  active: "bg-good text-surface",
  passed: "bg-good text-surface",
  paused: "bg-warn text-surface",
  review: "bg-warn text-surface",
  pending_payment: "bg-warn text-surface",
  failed: "bg-bad text-surface",
  stopped: "bg-bad text-surface",
  disabled: "bg-bad text-surface",
  cancelled: "bg-surface-2 text-muted",
};

const STATUS_WORDS: Record<string, string> = {
  pending_payment: "awaiting payment",
  review: "under review",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`inline-flex rounded-full px-2 py-0.5 text-xs font-semibold uppercase tracking-wide ${STATUS_TONE[status] ?? "bg-surface-2 text-muted"}`}>
      {STATUS_WORDS[status] ?? status}
    </span>
  );
}

/** A horizontal bar (0…1) with a text label; fixed height so live changes never shift. */
export function Bar({ value, label, tone = "brand" }:
  { value: number | null; label: string; tone?: "brand" | "good" | "warn" | "bad" }) {
  const width = value === null ? 0 : Math.round(Math.max(0, Math.min(1, value)) * 1000) / 10;
  const color = { brand: "bg-brand", good: "bg-good", warn: "bg-warn", bad: "bg-bad" }[tone];
  return (
    <div
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value === null ? undefined : width}
      className="h-2 w-full overflow-hidden rounded-full bg-surface-2"
    >
      {/* Scaled, not sized: a moving bar costs the compositor, never a layout of the page
          (a desk of 100 bars ticking four times a second laid out every frame). */}
      <div className={`h-full w-full origin-left ${color} transition-transform duration-300`}
        style={{ transform: `scaleX(${width / 100})` }} />
    </div>
  );
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
      <h1 className="text-2xl font-semibold">{children}</h1>
      {actions}
    </div>
  );
}

/** A small ⓘ that explains a figure on hover and on keyboard focus (Radix Tooltip). */
export function InfoTip({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Tooltip.Provider delayDuration={300}>
    <Tooltip.Root>
      <Tooltip.Trigger asChild>
        <button type="button" aria-label={label}
          className="ml-1 inline-flex h-4 w-4 items-center justify-center rounded-full border border-current font-serif text-[0.7rem] font-bold italic leading-none text-muted hover:text-ink">
          i
        </button>
      </Tooltip.Trigger>
      <Tooltip.Portal>
        <Tooltip.Content sideOffset={6}
          className="z-50 max-w-72 rounded-md border border-line bg-surface p-2 text-sm text-ink shadow-lg">
          {children}
          <Tooltip.Arrow className="fill-surface" />
        </Tooltip.Content>
      </Tooltip.Portal>
    </Tooltip.Root>
    </Tooltip.Provider>
  );
}
