/** One challenge on the dashboard: its program, status and phase, and its current
 * account's live numbers — equity, balance, today's P/L and the two floors. A tick
 * re-renders only the card of the account it is about. */
import { memo, useEffect } from "react";
import { Link } from "react-router";
import { money } from "../../../format/numbers";
import { seedMetrics } from "../../../live/store";
import { Card, StatusBadge } from "../../../ui/kit";
import { currentAccount, phaseDocument, useAccountLive, useAccountSnapshot, useProgram, type Challenge } from "./api";
import { allowedLoss, effectiveStatus, todayPnl } from "./metrics";
import { AccountStatus, Figure, FloorMeter, LiveMarker, PnlFigure } from "./parts";
import { setAccountCurrency, useStatusOverride } from "./useAnswerToasts";

export const AccountCard = memo(function AccountCard({ challenge }: { challenge: Challenge }) {
  const account = currentAccount(challenge);
  const program = useProgram(challenge.program, account?.engine_program);
  const phase = phaseDocument(program.data, account);
  const currency = phase?.doc.currency ?? challenge.currency;
  useEffect(() => {
    if (account) setAccountCurrency(account.login, currency);
  }, [account, currency]);
  const title = program.data?.name ?? challenge.program;
  const earlier = challenge.accounts.filter((a) => a !== account);
  return (
    <Card
      title={<span>{title}</span>}
      actions={<StatusBadge status={challenge.status} />}
      className="flex flex-col"
    >
      <p className="mb-3 text-sm text-muted">
        {challenge.phase_name ? `${challenge.phase_name} · ` : ""}
        <Link className="text-brand underline" to={`/challenges/${challenge.id}`}
          aria-label={`Challenge ${challenge.id}: ${title}`}>
          Challenge #{challenge.id}
        </Link>
      </p>
      {account ? (
        <LiveAccount login={account.login} rowStatus={account.status} currency={currency}
          dailyAllowed={allowedLoss(phase?.doc, "daily")} maxAllowed={allowedLoss(phase?.doc, "max_loss")}
          timeZone={phase?.doc.day?.timezone} />
      ) : (
        <p className="text-sm text-muted">
          {challenge.status === "pending_payment" ? "The account opens once the payment is received." : "No account yet."}
        </p>
      )}
      {earlier.length ? (
        <p className="mt-3 text-xs text-muted">
          Earlier accounts:{" "}
          {earlier.map((a, i) => (
            <span key={a.login}>
              {i ? ", " : ""}
              <Link className="underline" to={`/accounts/${encodeURIComponent(a.login)}`}>{a.login}</Link> ({a.status})
            </span>
          ))}
        </p>
      ) : null}
    </Card>
  );
});

function LiveAccount({ login, rowStatus, currency, dailyAllowed, maxAllowed, timeZone }: {
  login: string; rowStatus: string; currency: string; dailyAllowed: number | null; maxAllowed: number | null;
  timeZone: string | undefined;
}) {
  const live = useAccountLive(login);
  const snapshot = useAccountSnapshot(login, live === undefined);
  useEffect(() => {
    if (snapshot.data) seedMetrics(snapshot.data);
  }, [snapshot.data]);
  const override = useStatusOverride(login);
  const m = live;
  const status = effectiveStatus(override, m, rowStatus);
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <Link to={`/accounts/${encodeURIComponent(login)}`} className="font-mono text-sm text-brand underline"
          aria-label={`Open account ${login}`}>
          {login}
        </Link>
        <AccountStatus status={status} />
      </div>
      <dl className="grid grid-cols-3 gap-2">
        <Figure label="Equity" value={money(m?.equity, currency)} />
        <Figure label="Balance" value={money(m?.balance, currency)} />
        <PnlFigure label="Today's P/L" value={todayPnl(m)} currency={currency} />
      </dl>
      <FloorMeter name="Daily loss" equity={m?.equity} floor={m?.daily_floor} allowed={dailyAllowed} currency={currency} />
      <FloorMeter name="Maximum loss" equity={m?.equity} floor={m?.max_loss_floor} allowed={maxAllowed} currency={currency} />
      <div className="flex items-center justify-between gap-2">
        <LiveMarker metrics={m} timeZone={timeZone} />
        {snapshot.isError && !m ? <span className="text-xs text-bad">Numbers unavailable</span> : null}
      </div>
    </div>
  );
}
