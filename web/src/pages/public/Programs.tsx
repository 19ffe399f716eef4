/** The firm's programs as a pricing table: size, price, each phase's rules in words,
 * add-ons, and a button to start a challenge. */
import { useQuery } from "@tanstack/react-query";
import { useId } from "react";
import { Link } from "react-router";
import { api, call } from "../../api/client";
import { money } from "../../format/numbers";
import { Empty, ErrorState, Loading, PageTitle } from "../../ui/kit";
import {
  Addons, Figure, PhaseRules, size, StartButton, type ProgramOut,
} from "./program-parts";

export function usePrograms() {
  return useQuery({
    queryKey: ["programs"],
    queryFn: () => call(api.GET("/api/v1/programs")),
    staleTime: 60_000,
  });
}

function ProgramCard({ program }: { program: ProgramOut }) {
  const id = useId();
  const phases = program.phases.length;
  return (
    <article aria-labelledby={`${id}-name`}
      className="flex flex-col gap-4 rounded-lg border border-line bg-surface p-4 shadow-sm sm:p-5">
      <header className="flex flex-col gap-1">
        <h2 id={`${id}-name`} className="text-lg font-semibold">
          <Link to={`/programs/${encodeURIComponent(program.slug)}`} className="hover:underline">{program.name}</Link>
        </h2>
        <p className="text-sm text-muted">{phases === 1 ? "1 phase" : `${phases} phases`}</p>
      </header>
      <dl className="grid grid-cols-2 gap-3">
        <Figure label="Account size">{size(program.account_size, program.currency)}</Figure>
        <Figure label="Price">{money(program.price, program.currency)}</Figure>
      </dl>
      <StartButton slug={program.slug} describedBy={`${id}-name`} className="w-full" />
      <div className="flex flex-col gap-4 border-t border-line pt-4">
        {program.phases.map((phase, index) => (
          <PhaseRules key={`${index}-${phase.name}`} program={program} phase={phase} />
        ))}
      </div>
      <Addons program={program} />
      <Link to={`/programs/${encodeURIComponent(program.slug)}`} aria-describedby={`${id}-name`}
        className="mt-auto text-sm font-medium text-ink underline decoration-brand decoration-2 underline-offset-4 hover:decoration-ink">
        Full details
      </Link>
    </article>
  );
}

/** Those on sale, smallest account first. */
export function onSale(programs: readonly ProgramOut[]): ProgramOut[] {
  return programs
    .filter((program) => program.active)
    .sort((a, b) => Number(a.account_size) - Number(b.account_size) || Number(a.price) - Number(b.price));
}

export default function Programs() {
  const programs = usePrograms();
  const list = programs.data ? onSale(programs.data) : [];
  return (
    <div>
      <PageTitle>Programs</PageTitle>
      <p className="mb-6 max-w-2xl text-muted">
        Pick an account size, pass the evaluation under its rules, and trade the firm's capital.
        Every rule is listed below in plain words.
      </p>
      {programs.isPending ? (
        <Loading label="Loading the programs" />
      ) : programs.isError ? (
        <ErrorState error={programs.error} retry={() => void programs.refetch()} />
      ) : list.length === 0 ? (
        <Empty>No programs are on sale at the moment. Please come back later.</Empty>
      ) : (
        <div className="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3">
          {list.map((program) => <ProgramCard key={program.id} program={program} />)}
        </div>
      )}
    </div>
  );
}
