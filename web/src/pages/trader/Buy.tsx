/** Buying a challenge: the program, add-ons, the price (exact, from the firm's prices),
 * then checkout through the firm's payment provider. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, call } from "../../api/client";
import { ApiError } from "../../api/errors";
import { money } from "../../format/numbers";
import { sumAmounts } from "../../format/cents";
import { describeRules, type RuleDocument } from "../../objectives/rules";
import { Button, Card, Empty, ErrorState, FormError, Loading, PageTitle } from "../../ui/kit";
import { usePrograms, type ProgramOut } from "./challenge-data";

function ProgramChoice({ program, chosen, onChoose }:
  { program: ProgramOut; chosen: boolean; onChoose: () => void }) {
  return (
    <label className={`flex cursor-pointer flex-col gap-1 rounded-lg border p-4 ${chosen ? "border-brand ring-2 ring-brand" : "border-line"}`}>
      <span className="flex items-center gap-2">
        <input type="radio" name="program" checked={chosen} onChange={onChoose} className="h-4 w-4" />
        <span className="font-semibold">{program.name}</span>
      </span>
      <span className="tabular text-sm text-muted">
        {money(program.account_size, program.currency)} account · {program.phases.length} phase{program.phases.length === 1 ? "" : "s"}
      </span>
      <span className="tabular text-lg font-semibold">{money(program.price, program.currency)}</span>
    </label>
  );
}

export default function Buy() {
  const [params, setParams] = useSearchParams();
  const programs = usePrograms();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [addons, setAddons] = useState<string[]>([]);
  const slug = params.get("program") ?? programs.data?.[0]?.slug ?? "";
  const program = programs.data?.find((p) => p.slug === slug);

  const total = useMemo(() => {
    if (!program) return null;
    const chosen = program.addons.filter((a) => addons.includes(a.name)).map((a) => a.price);
    return sumAmounts([program.price, ...chosen]);
  }, [program, addons]);

  const buy = useMutation({
    mutationFn: () => call(api.POST("/api/v1/challenges", { body: { program: slug, addons } })),
    onSuccess: async (challenge) => {
      await queryClient.invalidateQueries({ queryKey: ["challenges"] });
      navigate(`/challenges/${challenge.id}?checkout=1`);
    },
  });

  if (programs.isPending) return <Loading label="Loading the programs" />;
  if (programs.isError) return <ErrorState error={programs.error} retry={() => void programs.refetch()} />;
  if (!programs.data.length) return <Empty>This firm offers no program yet.</Empty>;

  const phase = program?.phases[0];
  return (
    <div className="mx-auto max-w-4xl">
      <PageTitle>Start a challenge</PageTitle>
      <form
        className="grid gap-6 md:grid-cols-[1fr_20rem]"
        onSubmit={(event) => {
          event.preventDefault();
          if (program) buy.mutate();
        }}
      >
        <div className="flex flex-col gap-4">
          <fieldset className="grid gap-3 sm:grid-cols-2">
            <legend className="mb-2 font-semibold">Program</legend>
            {programs.data.map((p) => (
              <ProgramChoice key={p.slug} program={p} chosen={p.slug === slug}
                onChoose={() => {
                  setAddons([]);
                  setParams({ program: p.slug }, { replace: true });
                }} />
            ))}
          </fieldset>
          {program && program.addons.length > 0 ? (
            <fieldset className="flex flex-col gap-2">
              <legend className="mb-2 font-semibold">Add-ons</legend>
              {program.addons.map((addon) => (
                <label key={addon.name} className="flex items-center gap-3 rounded-md border border-line p-3">
                  <input
                    type="checkbox"
                    className="h-4 w-4"
                    checked={addons.includes(addon.name)}
                    onChange={(event) => setAddons((all) => event.target.checked
                      ? [...all, addon.name] : all.filter((name) => name !== addon.name))}
                  />
                  <span className="flex-1">{addon.name}</span>
                  <span className="tabular">+{money(addon.price, program.currency)}</span>
                </label>
              ))}
            </fieldset>
          ) : null}
          {phase ? (
            <Card title={`${phase.name}: the rules`}>
              <ul className="flex flex-col gap-2 text-sm">
                {describeRules(phase.document as RuleDocument).map((line) => (
                  <li key={line.rule}><span className="font-medium">{line.title}.</span> {line.words}</li>
                ))}
              </ul>
              {program && program.phases.length > 1 ? (
                <p className="mt-3 text-sm text-muted">
                  Then: {program.phases.slice(1).map((p) => p.name).join(", ")}.{" "}
                  <Link className="underline" to={`/programs/${program.slug}`}>All phases</Link>
                </p>
              ) : null}
            </Card>
          ) : null}
        </div>
        <Card title="Order" className="h-fit md:sticky md:top-4">
          {program && total !== null ? (
            <dl className="tabular flex flex-col gap-2 text-sm">
              <div className="flex justify-between"><dt>{program.name}</dt><dd>{money(program.price, program.currency)}</dd></div>
              {program.addons.filter((a) => addons.includes(a.name)).map((a) => (
                <div key={a.name} className="flex justify-between"><dt>{a.name}</dt><dd>{money(a.price, program.currency)}</dd></div>
              ))}
              <div className="mt-2 flex justify-between border-t border-line pt-2 text-base font-semibold">
                <dt>Total</dt><dd data-testid="order-total">{money(total, program.currency)}</dd>
              </div>
            </dl>
          ) : <p className="text-sm text-muted">Choose a program.</p>}
          <FormError error={buy.error instanceof ApiError && buy.error.status === 422
            ? new Error(Object.values(buy.error.fields)[0] ?? buy.error.message) : buy.error} />
          <Button type="submit" className="mt-4 w-full" busy={buy.isPending} disabled={!program}>
            Continue to payment
          </Button>
          <p className="mt-2 text-xs text-muted">The price is the firm's; you confirm the payment on the next step.</p>
        </Card>
      </form>
    </div>
  );
}
