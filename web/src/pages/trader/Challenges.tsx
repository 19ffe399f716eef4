/** Every challenge the trader bought, newest first. */
import { Link } from "react-router";
import { dateTime, money } from "../../format/numbers";
import { Empty, ErrorState, Loading, PageTitle, StatusBadge } from "../../ui/kit";
import { currentAccount, programOf, useChallenges, usePrograms } from "./challenge-data";

export default function Challenges() {
  const challenges = useChallenges();
  const programs = usePrograms();
  const start = <Link to="/challenges/new" className="rounded-md bg-brand px-4 py-2 text-sm font-medium text-white">Start a challenge</Link>;
  if (challenges.isPending) return <Loading label="Loading your challenges" />;
  if (challenges.isError) return <ErrorState error={challenges.error} retry={() => void challenges.refetch()} />;
  const rows = [...challenges.data].sort((a, b) => b.created_at.localeCompare(a.created_at));
  return (
    <div>
      <PageTitle actions={start}>Challenges</PageTitle>
      {rows.length === 0 ? (
        <Empty>You have no challenge yet. <Link className="text-brand underline" to="/programs">See the programs</Link>.</Empty>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-line bg-surface">
          <table className="w-full text-sm">
            <caption className="sr-only">Your challenges</caption>
            <thead className="text-left text-muted">
              <tr>
                <th scope="col" className="p-3">Challenge</th>
                <th scope="col" className="p-3">Phase</th>
                <th scope="col" className="p-3">Status</th>
                <th scope="col" className="p-3">Account</th>
                <th scope="col" className="p-3 text-right">Price</th>
                <th scope="col" className="p-3">Bought</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-line">
              {rows.map((c) => {
                const account = currentAccount(c);
                return (
                  <tr key={c.id}>
                    <td className="p-3"><Link className="font-medium text-brand underline" to={`/challenges/${c.id}`}>{programOf(programs.data, c)?.name ?? c.program} #{c.id}</Link></td>
                    <td className="p-3">{c.phase_name}</td>
                    <td className="p-3"><StatusBadge status={c.status} /></td>
                    <td className="p-3">{account ? <Link className="font-mono underline" to={`/accounts/${account.login}`}>{account.login}</Link> : "—"}</td>
                    <td className="tabular p-3 text-right">{money(c.price, c.currency)}</td>
                    <td className="p-3 text-muted">{dateTime(c.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
