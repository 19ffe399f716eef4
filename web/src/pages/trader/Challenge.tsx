/** One challenge: checkout while it awaits payment, then its phases, the account of each
 * phase, and what happens next (the next phase, a review by the firm, the end). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { api, call } from "../../api/client";
import { ApiError, describeError } from "../../api/errors";
import { dateTime, money } from "../../format/numbers";
import { Button, Card, ErrorState, Loading, PageTitle, StatusBadge } from "../../ui/kit";
import { toast } from "../../ui/toast";
import { programOf, useChallenge, usePrograms, type ChallengeOut } from "./challenge-data";

function Checkout({ challenge }: { challenge: ChallengeOut }) {
  const queryClient = useQueryClient();
  const payment = challenge.payment;
  const pay = useMutation({
    mutationFn: () => call(api.POST("/api/v1/challenges/{challenge_id}/confirm-payment", {
      params: { path: { challenge_id: challenge.id } } })),
    onSuccess: async (updated) => {
      queryClient.setQueryData(["challenge", challenge.id], updated);
      await queryClient.invalidateQueries({ queryKey: ["challenges"] });
      toast("Payment received", `${updated.phase_name} has started.`, "good");
    },
  });
  const byFirm = pay.error instanceof ApiError && pay.error.code === "payment_settled_by_firm";
  return (
    <Card title="Payment">
      <dl className="tabular mb-4 grid grid-cols-[auto_1fr] gap-x-6 gap-y-1 text-sm">
        <dt className="text-muted">Amount</dt>
        <dd className="font-semibold">{money(payment?.amount ?? challenge.price, payment?.currency ?? challenge.currency)}</dd>
        {payment ? (
          <>
            <dt className="text-muted">Reference</dt><dd className="font-mono">{payment.reference}</dd>
            <dt className="text-muted">Method</dt><dd>{payment.provider === "manual" ? "Bank transfer or as agreed with the firm" : payment.provider}</dd>
          </>
        ) : null}
      </dl>
      {byFirm ? (
        <p role="status" className="rounded-md border border-line p-3 text-sm">
          The firm confirms this payment when it receives it, quoting the reference above; your
          challenge starts then and you will get an e-mail.
        </p>
      ) : (
        <>
          {pay.isError ? <p role="alert" className="mb-3 text-sm text-bad">{describeError(pay.error)}</p> : null}
          <Button busy={pay.isPending} onClick={() => pay.mutate()}>Pay {money(payment?.amount ?? challenge.price, challenge.currency)}</Button>
        </>
      )}
    </Card>
  );
}

const NEXT: Record<string, string> = {
  review: "You passed this phase. The firm reviews it before the next one opens; you will get an e-mail.",
  passed: "You passed every phase of this challenge.",
  failed: "This challenge ended: a rule was broken. The account page shows which and when.",
  cancelled: "This challenge was cancelled.",
};

export default function Challenge() {
  const id = Number(useParams().id);
  const challenge = useChallenge(id);
  const programs = usePrograms();
  if (!Number.isInteger(id) || id <= 0) return <ErrorState error={new Error("There is no such challenge.")} />;
  if (challenge.isPending) return <Loading label="Loading the challenge" />;
  if (challenge.isError) return <ErrorState error={challenge.error} retry={() => void challenge.refetch()} />;
  const c = challenge.data;
  const program = programOf(programs.data, c);
  const phases = program?.phases ?? [];
  return (
    <div className="mx-auto flex max-w-4xl flex-col gap-4">
      <PageTitle actions={<StatusBadge status={c.status} />}>
        {program?.name ?? c.program} <span className="text-muted">#{c.id}</span>
      </PageTitle>
      {c.status === "pending_payment" ? <Checkout challenge={c} /> : null}
      {NEXT[c.status] ? <p role="status" className="rounded-md border border-line bg-surface p-3">{NEXT[c.status]}</p> : null}
      <Card title="Phases">
        <ol className="flex flex-col gap-3 sm:flex-row">
          {(phases.length ? phases.map((p) => p.name) : [c.phase_name]).map((name, index) => {
            const number = index + 1;
            const state = number < c.phase || c.status === "passed" ? "done"
              : number === c.phase ? (c.status === "failed" ? "failed" : "current") : "later";
            return (
              <li key={name} aria-current={state === "current" ? "step" : undefined}
                className={`flex-1 rounded-md border p-3 ${state === "current" ? "border-brand" : "border-line"}`}>
                <div className="text-xs uppercase text-muted">Phase {number}</div>
                <div className="font-semibold">{name}</div>
                <div className="text-sm text-muted">
                  {{ done: "Passed", current: c.status === "review" ? "Under review" : "In progress", failed: "Failed", later: "Not started" }[state]}
                </div>
              </li>
            );
          })}
        </ol>
      </Card>
      <Card title="Accounts">
        {c.accounts.length === 0 ? (
          <p className="text-sm text-muted">The account opens when the payment is received.</p>
        ) : (
          <ul className="flex flex-col divide-y divide-line">
            {[...c.accounts].reverse().map((account) => (
              <li key={account.login} className="flex flex-wrap items-center gap-3 py-2">
                <Link className="font-mono font-semibold text-brand underline" to={`/accounts/${account.login}`}>{account.login}</Link>
                <span className="text-sm text-muted">Phase {account.phase}</span>
                <StatusBadge status={account.status} />
                <span className="ml-auto text-sm text-muted">opened {dateTime(account.created_at)}</span>
              </li>
            ))}
          </ul>
        )}
      </Card>
      <p className="text-sm text-muted">Bought {dateTime(c.created_at)} for {money(c.price, c.currency)}.</p>
    </div>
  );
}
