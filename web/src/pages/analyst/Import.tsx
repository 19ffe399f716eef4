/** Report import: a MetaTrader report (MT5 history HTML/XLSX, MT5 tester HTML, MT4
 * statement) read by the gateway and shown with the account page's statistics, chart and
 * calendar. Nothing is kept unless "Keep its history" is ticked with an account name. */
import { useMutation } from "@tanstack/react-query";
import { lazy, Suspense, useId, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { ApiError } from "../../api/errors";
import { Button, Card, Field, FormError, Loading, PageTitle } from "../../ui/kit";
import { StatisticsTable } from "../trader/account/Statistics";
import { AnalystNav } from "./parts/Nav";
import { fileProblem, uploadReport, type ReportOut } from "./parts/api";

const EquityChart = lazy(() => import("../trader/account/EquityChart"));
const CalendarPanel = lazy(() => import("../trader/account/CalendarPanel"));

const KINDS: Record<ReportOut["kind"], string> = {
  "mt5-history": "MT5 trade history",
  "mt5-tester": "MT5 strategy tester",
  "mt4-statement": "MT4 statement",
};

function Result({ report }: { report: ReportOut }) {
  return (
    <div className="flex flex-col gap-4" data-testid="report-result">
      <p className="text-sm">
        Account <span className="font-mono font-semibold">{report.account}</span> · {KINDS[report.kind]} · {report.currency}
        {report.stored_as ? (
          <> · kept as{" "}
            <Link className="font-mono text-brand underline" to={`/analyst/history?account=${encodeURIComponent(report.stored_as)}`}>
              {report.stored_as}
            </Link>
          </>
        ) : <> · not kept</>}
      </p>
      <Card title="Balance">
        <p className="mb-2 text-xs text-muted">A report lists deals, not prices: the equity shown is the balance after each deal.</p>
        <Suspense fallback={<Loading label="Loading the chart" />}>
          <EquityChart login={report.account} doc={null} day={null} currency={report.currency} points={report.equity} />
        </Suspense>
      </Card>
      <Card title="Statistics">
        <StatisticsTable data={report.statistics} currency={report.currency} />
      </Card>
      <Card title="Daily P/L (UTC days)">
        <Suspense fallback={<Loading label="Loading the calendar" />}>
          <CalendarPanel days={report.calendar} currency={report.currency} />
        </Suspense>
      </Card>
    </div>
  );
}

export default function Import() {
  const fileId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [keep, setKeep] = useState(false);
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const upload = useMutation({
    mutationFn: ({ chosen, storeAs }: { chosen: File; storeAs?: string }) => uploadReport(chosen, storeAs),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = fileProblem(file);
    const nameProblem = keep && !name.trim() ? "Give the account a name to keep its history under." : null;
    setProblem(found ?? nameProblem);
    if (found || nameProblem || !file) return;
    upload.mutate(keep ? { chosen: file, storeAs: name.trim() } : { chosen: file });
  };
  const nameError = upload.error instanceof ApiError ? upload.error.fields["store_as"] : undefined;

  return (
    <div className="flex flex-col gap-4">
      <PageTitle>Report import</PageTitle>
      <AnalystNav />
      <Card>
        <form className="flex flex-col gap-3" onSubmit={submit} noValidate aria-label="Report upload">
          <div className="flex flex-col gap-1">
            <label htmlFor={fileId} className="text-sm font-medium">MetaTrader report</label>
            <input id={fileId} type="file" accept=".html,.htm,.xlsx" className="text-sm"
              onChange={(e) => { setFile(e.target.files?.[0] ?? null); setProblem(null); upload.reset(); }} />
            <p className="text-xs text-muted">MT5 trade history (HTML or XLSX), MT5 strategy tester (HTML) or MT4 statement (HTML), up to 32 MiB.</p>
          </div>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} />
            Keep this account's history in the firm's history
          </label>
          {keep ? (
            <Field label="Account name to keep it under" value={name} maxLength={256}
              onChange={(e) => setName(e.target.value)} error={nameError}
              hint="A new name: an account the history already holds is refused." />
          ) : null}
          {problem ? <p role="alert" className="rounded-md border border-bad p-3 text-sm text-bad">{problem}</p> : null}
          <FormError error={upload.error} />
          <div><Button type="submit" busy={upload.isPending}>Read the report</Button></div>
        </form>
      </Card>
      {upload.isPending ? <Loading label="Reading the report" /> : null}
      {upload.data ? <Result report={upload.data} /> : null}
    </div>
  );
}
