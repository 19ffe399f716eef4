/** The engine's answers about the account, newest first: every breach, objective met,
 * pass and resume, in the words of the toasts. */
import { Link } from "react-router";
import { dateTime } from "../../../format/numbers";
import { Empty } from "../../../ui/kit";
import { answerText, type Answer } from "./answers";

const DOT = { bad: "bg-bad", good: "bg-good", info: "bg-brand" } as const;

export function AnswersList({ answers, currency, timeZone }:
  { answers: readonly Answer[]; currency: string; timeZone?: string | undefined }) {
  if (!answers.length) return <Empty>No breach or objective yet.</Empty>;
  return (
    <ol className="divide-y divide-line" aria-label="Rule events, newest first" data-testid="answers">
      {answers.map((a) => {
        const text = answerText(a, currency);
        return (
          <li key={a.id} className="flex items-start gap-3 py-2" data-type={a.type}>
            <span aria-hidden="true" className={`mt-1.5 h-2.5 w-2.5 shrink-0 rounded-full ${DOT[text.tone]}`} />
            <div className="min-w-0">
              <p className="tabular font-medium">{text.title}</p>
              <p className="text-sm text-muted">{text.body} <span className="tabular">{dateTime(a.ts, timeZone)}</span></p>
              {a.replacement_account ? (
                <p className="text-sm">
                  Overridden by the risk desk: the challenge goes on on account{" "}
                  <Link className="font-mono text-brand underline" to={`/accounts/${encodeURIComponent(a.replacement_account)}`}>
                    {a.replacement_account}
                  </Link>.
                </p>
              ) : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
