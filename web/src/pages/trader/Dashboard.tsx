/** The trader's dashboard: every challenge with its current account's live numbers. */
import { Link } from "react-router";
import { Empty, ErrorState, Loading, PageTitle } from "../../ui/kit";
import { AccountCard } from "./account/AccountCard";
import { useChallenges, type Challenge } from "./account/api";
import { useAnswerToasts } from "./account/useAnswerToasts";

const ORDER: Record<string, number> = { active: 0, review: 1, pending_payment: 2, passed: 3, failed: 4, cancelled: 5 };

function byInterest(a: Challenge, b: Challenge): number {
  return (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) || b.created_at.localeCompare(a.created_at);
}

export default function Dashboard() {
  useAnswerToasts();
  const challenges = useChallenges();
  return (
    <div>
      <PageTitle actions={<Link to="/programs" className="rounded-md border border-line bg-surface px-4 py-2 text-sm">New challenge</Link>}>
        Dashboard
      </PageTitle>
      {challenges.isPending ? <Loading label="Loading your challenges" /> :
        challenges.isError ? <ErrorState error={challenges.error} retry={() => void challenges.refetch()} /> :
        challenges.data.length === 0 ? (
          <Empty>
            <p className="mb-2">You have no challenge yet.</p>
            <Link to="/programs" className="text-brand underline">Choose a program to start one</Link>
          </Empty>
        ) : (
          <ul className="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3" aria-label="Your challenges">
            {[...challenges.data].sort(byInterest).map((challenge) => (
              <li key={challenge.id} className="min-w-0">
                <AccountCard challenge={challenge} />
              </li>
            ))}
          </ul>
        )}
    </div>
  );
}
