/** One program in detail: its phases side by side, every rule in words, the trading
 * day, add-ons and the button that starts a challenge. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { api, call } from "../../api/client";
import { ApiError } from "../../api/errors";
import { money } from "../../format/numbers";
import { ErrorState, Loading } from "../../ui/kit";
import {
  Addons, advanceWords, Figure, PhaseRules, sharedTradingDay, size, StartButton, tradingDayWords,
  type ProgramOut,
} from "./program-parts";

const COLUMNS: Record<number, string> = { 1: "", 2: "md:grid-cols-2", 3: "md:grid-cols-2 lg:grid-cols-3" };

function Back() {
  return (
    <Link to="/programs" className="text-sm text-ink underline decoration-brand decoration-2 underline-offset-4 hover:decoration-ink">
      ← All programs
    </Link>
  );
}

function Detail({ program }: { program: ProgramOut }) {
  const shared = sharedTradingDay(program);
  const phases = program.phases.length;
  return (
    <div className="flex flex-col gap-6">
      <Back />
      <div className="flex flex-col gap-4 rounded-lg border border-line bg-surface p-4 shadow-sm sm:flex-row sm:items-end sm:justify-between sm:p-6">
        <div className="flex flex-col gap-3">
          <h1 id="program-name" className="text-2xl font-semibold">{program.name}</h1>
          <dl className="grid grid-cols-2 gap-x-8 gap-y-2 sm:flex sm:flex-wrap">
            <Figure label="Account size">{size(program.account_size, program.currency)}</Figure>
            <Figure label="Price">{money(program.price, program.currency)}</Figure>
            <Figure label="Phases">{phases}</Figure>
          </dl>
          <p className="text-sm text-muted">{advanceWords(program.advance, phases)}</p>
          {shared ? (
            <p className="text-sm">
              <span className="font-medium">Trading day: </span>
              {tradingDayWords(shared)}. Daily limits start again when it starts.
            </p>
          ) : null}
        </div>
        <StartButton slug={program.slug} describedBy="program-name" className="w-full sm:w-auto" />
      </div>
      <section aria-labelledby="phases-title" className="flex flex-col gap-3">
        <h2 id="phases-title" className="text-lg font-semibold">Phases and rules</h2>
        <ol className={`grid grid-cols-1 gap-4 ${COLUMNS[phases] ?? "md:grid-cols-2 lg:grid-cols-3"}`}>
          {program.phases.map((phase, index) => (
            <li key={`${index}-${phase.name}`} className="rounded-lg border border-line bg-surface p-4 shadow-sm">
              <p className="mb-1 text-xs uppercase tracking-wide text-muted">Step {index + 1} of {phases}</p>
              <PhaseRules program={program} phase={phase} showDay={!shared} />
            </li>
          ))}
        </ol>
      </section>
      {program.addons.length > 0 ? (
        <section className="max-w-md rounded-lg border border-line bg-surface p-4 shadow-sm">
          <Addons program={program} />
        </section>
      ) : null}
    </div>
  );
}

export default function Program() {
  const { slug = "" } = useParams();
  const client = useQueryClient();
  const program = useQuery({
    queryKey: ["programs", slug],
    queryFn: () => call(api.GET("/api/v1/programs/{slug}", { params: { path: { slug } } })),
    // from the list when the visitor came from it: no spinner between the two
    placeholderData: () => client.getQueryData<ProgramOut[]>(["programs"])?.find((p) => p.slug === slug),
    staleTime: 60_000,
  });
  if (program.isPending) return <Loading label="Loading the program" />;
  if (program.isError) {
    if (program.error instanceof ApiError && program.error.status === 404) {
      return (
        <div className="mx-auto max-w-md py-12 text-center">
          <h1 className="mb-2 text-2xl font-semibold">Program not found</h1>
          <p className="mb-6 text-muted">This firm has no program on sale at this address. It may
            have been withdrawn or renamed.</p>
          <Link to="/programs" className="text-ink underline decoration-brand decoration-2 underline-offset-4 hover:decoration-ink">See all programs</Link>
        </div>
      );
    }
    return (
      <div className="flex flex-col gap-4">
        <Back />
        <ErrorState error={program.error} retry={() => void program.refetch()} />
      </div>
    );
  }
  return <Detail program={program.data} />;
}
