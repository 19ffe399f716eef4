/** Pieces the sign-in pages share: the centred panel, an outcome whose heading takes
 * the focus (a screen reader hears what happened), links styled as links. */
import { useEffect, useRef, type ReactNode } from "react";
import { Link } from "react-router";

/** The gateway's password policy, said before the person types (it refuses the rest
 * with a 422 on the field). */
export const PASSWORD_HINT =
  "At least 10 characters, not a common password and not your e-mail address.";

export function AuthPanel({ title, intro, children, footer }:
  { title: string; intro?: ReactNode; children: ReactNode; footer?: ReactNode }) {
  return (
    <div className="mx-auto w-full max-w-md py-4 sm:py-10">
      <section className="rounded-lg border border-line bg-surface p-5 shadow-sm sm:p-6">
        <h1 className="mb-1 text-2xl font-semibold">{title}</h1>
        {intro ? <div className="mb-4 text-sm text-muted">{intro}</div> : <div className="mb-4" />}
        {children}
      </section>
      {footer ? <div className="mt-4 flex flex-col items-center gap-2 text-sm">{footer}</div> : null}
    </div>
  );
}

/** The end of a flow ("Check your mail"): its heading is focused when it appears. */
export function Outcome({ title, tone = "good", children }:
  { title: string; tone?: "good" | "bad" | "info"; children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [title]);
  const border = { good: "border-good", bad: "border-bad", info: "border-line" }[tone];
  return (
    <div className="mx-auto w-full max-w-md py-4 sm:py-10">
      <section className={`rounded-lg border-t-4 ${border} border-x border-b border-x-line border-b-line bg-surface p-5 shadow-sm sm:p-6`}>
        <h1 ref={heading} tabIndex={-1} className="mb-3 text-2xl font-semibold outline-none">{title}</h1>
        <div className="flex flex-col gap-3 text-sm">{children}</div>
      </section>
    </div>
  );
}

/** Links: the ink colour (always readable) underlined in the firm's colour (which may be
 * too light or too dark to read as text on one of the themes). */
export function TextLink({ to, children }: { to: string; children: ReactNode }) {
  return <Link to={to} className="font-medium text-ink underline decoration-brand decoration-2 underline-offset-4 hover:decoration-ink">{children}</Link>;
}

/** A link that looks like the primary button (for the one next step of an outcome). */
export function ButtonLink({ to, children }: { to: string; children: ReactNode }) {
  return (
    <Link to={to}
      className="inline-flex min-h-10 w-fit items-center justify-center rounded-md bg-brand px-4 py-2 text-sm font-medium text-white hover:opacity-90">
      {children}
    </Link>
  );
}
