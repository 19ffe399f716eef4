/** What-if designer: a program phase's rule values as a form; the changed values re-run
 * over the cohort of accounts opened in the days picked (the recorded feed replayed by
 * the gateway's what-if endpoint), then which outcomes change, before and after.
 *
 * The endpoint answers synchronously (within the history store's 30 s): the page shows
 * the time running and a Cancel that stops waiting (the gateway finishes its run). */
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, call, type Schemas } from "../../api/client";
import { Button, Card, Empty, ErrorState, Field, FormError, Loading, PageTitle } from "../../ui/kit";
import { AnalystNav } from "./parts/Nav";
import { dayRange } from "./parts/range";
import { changesFrom, ruleValues } from "./parts/whatif";

type WhatIfOut = Schemas["WhatIfOut"];
type Outcome = Schemas["OutcomeOut"];

function outcome(o: Outcome): string {
  return o.rule ? `${o.status} (${o.rule})` : o.status;
}

function Summary({ result }: { result: WhatIfOut }) {
  const statuses = [...new Set([...Object.keys(result.baseline.by_status), ...Object.keys(result.with_variant.by_status)])].sort();
  return (
    <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="What-if summary">
      <table className="w-full text-sm" data-testid="whatif-summary">
        <caption className="sr-only">Accounts per outcome, as recorded and with the variant</caption>
        <thead className="text-left text-xs text-muted">
          <tr><th scope="col" className="py-1.5 pr-3">Outcome</th><th scope="col" className="py-1.5 pr-3 text-right">As recorded</th>
            <th scope="col" className="py-1.5 text-right">With the variant</th></tr>
        </thead>
        <tbody className="tabular">
          {statuses.map((s) => (
            <tr key={s} className="border-t border-line">
              <th scope="row" className="py-1.5 pr-3 text-left font-medium">{s}</th>
              <td className="py-1.5 pr-3 text-right">{result.baseline.by_status[s] ?? 0}</td>
              <td className="py-1.5 text-right">{result.with_variant.by_status[s] ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Changed({ result }: { result: WhatIfOut }) {
  if (result.changed.length === 0) return <Empty>No account's outcome changes with these values.</Empty>;
  return (
    <div className="overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Accounts whose outcome changes">
      <table className="w-full min-w-[28rem] text-sm" data-testid="whatif-changed">
        <caption className="sr-only">Accounts whose outcome changes: before and after</caption>
        <thead className="text-left text-xs text-muted">
          <tr><th scope="col" className="py-1.5 pr-3">Account</th><th scope="col" className="py-1.5 pr-3">Before</th>
            <th scope="col" className="py-1.5">After</th></tr>
        </thead>
        <tbody>
          {result.changed.map((c) => (
            <tr key={c.account} className="border-t border-line">
              <th scope="row" className="py-1.5 pr-3 text-left font-mono text-xs">{c.account}</th>
              <td className="py-1.5 pr-3">{outcome(c.before)}</td>
              <td className="py-1.5">{outcome(c.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Elapsed({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return <>{Math.max(0, Math.round((now - since) / 1000))} s</>;
}

export default function WhatIf() {
  const [slug, setSlug] = useState("");
  const [loaded, setLoaded] = useState("");
  const [phase, setPhase] = useState(0);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const [started, setStarted] = useState(0);

  const program = useQuery({
    queryKey: ["program", loaded],
    enabled: Boolean(loaded),
    queryFn: () => call(api.GET("/api/v1/programs/{slug}", { params: { path: { slug: loaded } } })),
  });
  const phases = program.data?.phases ?? [];
  const values = ruleValues(phases[phase]?.document ?? null);

  const run = useMutation({
    mutationFn: (body: Schemas["WhatIfIn"]) => {
      abort.current = new AbortController();
      setStarted(Date.now());
      return call(api.POST("/api/v1/analytics/what-if", { body, signal: abort.current.signal }));
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const picked = dayRange(from, to);
    const changed = changesFrom(values, texts);
    const error = "error" in picked ? picked.error : "error" in changed ? changed.error
      : Object.keys(changed.changes).length === 0 ? "Change at least one rule value." : null;
    setProblem(error);
    if (error || "error" in picked || "error" in changed) return;
    const body: Schemas["WhatIfIn"] = { program: loaded, changes: changed.changes as Schemas["WhatIfIn"]["changes"], ...picked.range };
    if (phases.length > 1) body.phase = phase + 1;
    run.mutate(body);
  };

  return (
    <div className="flex flex-col gap-4">
      <PageTitle>What-if designer</PageTitle>
      <AnalystNav />
      <Card title="Program">
        <form className="flex flex-wrap items-end gap-3" aria-label="Program to vary" noValidate
          onSubmit={(e) => { e.preventDefault(); setLoaded(slug.trim()); setTexts({}); setPhase(0); run.reset(); }}>
          <Field label="Program slug" value={slug} maxLength={200} onChange={(e) => setSlug(e.target.value)} />
          <Button type="submit" tone="secondary" disabled={!slug.trim()}>Load its rules</Button>
        </form>
      </Card>
      {!loaded ? <Empty>Load a program to vary its rule values.</Empty>
        : program.isPending ? <Loading label="Loading the program" />
        : program.isError ? <ErrorState error={program.error} retry={() => void program.refetch()} /> : (
          <Card title={`Rules of ${program.data.name}`}>
            <form className="flex flex-col gap-3" onSubmit={submit} noValidate aria-label="Rule values">
              {phases.length > 1 ? (
                <div className="flex flex-col gap-1">
                  <label htmlFor="whatif-phase" className="text-sm font-medium">Phase</label>
                  <select id="whatif-phase" value={phase} className="min-h-10 rounded-md border border-line bg-surface px-3 py-2 text-ink"
                    onChange={(e) => { setPhase(Number(e.target.value)); setTexts({}); }}>
                    {phases.map((p, i) => <option key={p.engine_program} value={i}>{p.name}</option>)}
                  </select>
                </div>
              ) : null}
              {values.length === 0 ? <Empty>This phase has no numeric rule value.</Empty> : (
                <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
                  {values.map((v) => {
                    const key = v.path.join(".");
                    return <Field key={key} label={key.replace(/^rules\./, "")} inputMode="decimal" value={texts[key] ?? String(v.value)}
                      onChange={(e) => setTexts({ ...texts, [key]: e.target.value })} hint={`Recorded: ${v.value}`} />;
                  })}
                </div>
              )}
              <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
                <Field label="Cohort opened from (UTC day)" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
                <Field label="Cohort opened to (UTC day, included)" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
              </div>
              {problem ? <p role="alert" className="rounded-md border border-bad p-3 text-sm text-bad">{problem}</p> : null}
              <FormError error={run.error} />
              <div className="flex flex-wrap gap-2">
                <Button type="submit" busy={run.isPending}>Run the variant</Button>
                {run.isPending ? <Button tone="secondary" onClick={() => { abort.current?.abort(); run.reset(); }}>Cancel</Button> : null}
              </div>
              {run.isPending ? (
                <p role="status" className="text-sm text-muted">Replaying the cohort's feed… <Elapsed since={started} /></p>
              ) : null}
            </form>
          </Card>
        )}
      {run.data ? (
        <Card title={`${run.data.accounts} accounts, ${run.data.events} events replayed`}>
          <div className="flex flex-col gap-4" data-testid="whatif-result">
            <Summary result={run.data} />
            <h3 className="text-sm font-semibold">Outcomes that change ({run.data.changed.length})</h3>
            <Changed result={run.data} />
          </div>
        </Card>
      ) : null}
    </div>
  );
}
