/** The platform owner's firms: every firm with its health now (users, accounts and live
 * ones, breaches since 00:00 UTC, paid revenue per currency today and ever), and a form to
 * create a firm with its domains. The API answers only the platform's owner (an owner of
 * the default firm, at its host); a firm's own owner is told so. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, call, type Schemas } from "../../api/client";
import { ApiError } from "../../api/errors";
import { money } from "../../format/numbers";
import { Button, Card, Empty, ErrorState, Field, FormError, Loading, PageTitle } from "../../ui/kit";
import { COLOR, fieldError, lines } from "./firm";

type Revenue = Schemas["RevenueOut"];

function amounts(revenue: readonly Revenue[]): string {
  return revenue.length ? revenue.map((r) => money(r.amount, r.currency)).join(" · ") : "—";
}

function CreateFirm() {
  const client = useQueryClient();
  const [slug, setSlug] = useState("");
  const [name, setName] = useState("");
  const [primary, setPrimary] = useState("#0f766e");
  const [domains, setDomains] = useState("");
  const create = useMutation({
    mutationFn: () => call(api.POST("/api/v1/owner/tenants", {
      body: { slug, domains: lines(domains), branding: { name, primary_color: primary } },
    })),
    onSuccess: () => {
      setSlug(""); setName(""); setDomains("");
      void client.invalidateQueries({ queryKey: ["owner", "firms"] });
    },
  });
  const error = create.error;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Card title="Create a firm">
      <form onSubmit={onSubmit} className="grid gap-3 sm:grid-cols-2" noValidate>
        <Field label="Slug (a-z, 0-9, -)" value={slug} onChange={(e) => setSlug(e.target.value)}
          required error={fieldError(error, "$.slug")} />
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required
          error={fieldError(error, "$.branding.name")} />
        <Field label="Primary colour" value={primary} onChange={(e) => setPrimary(e.target.value)}
          error={COLOR.test(primary) ? fieldError(error, "$.branding.primary_color") : "a colour as #rrggbb"} />
        <label className="flex flex-col gap-1 text-sm font-medium">
          Domains (one a line, the first is primary)
          <textarea value={domains} onChange={(e) => setDomains(e.target.value)} rows={2}
            className="rounded-md border border-line bg-surface px-3 py-2 font-normal text-ink" />
          {[0, 1, 2].map((i) => fieldError(error, `$.domains[${i}]`)).filter(Boolean).map((text) => (
            <span key={text} className="text-xs text-bad">{text}</span>
          ))}
        </label>
        <div className="flex items-center gap-3 sm:col-span-2">
          <Button type="submit" busy={create.isPending} disabled={!COLOR.test(primary)}>Create the firm</Button>
          {create.isSuccess ? <span role="status" className="text-sm text-good">Created.</span> : null}
        </div>
        {error && !(error instanceof ApiError && error.status === 422) ? <FormError error={error} /> : null}
      </form>
    </Card>
  );
}

export default function Firms() {
  const query = useQuery({
    queryKey: ["owner", "firms"],
    queryFn: () => call(api.GET("/api/v1/owner/tenants")),
    refetchInterval: 30_000,
    retry: (count, error) => !(error instanceof ApiError && error.status === 404) && count < 2,
  });
  const title = <PageTitle>Firms</PageTitle>;
  if (query.isPending) return <>{title}<Loading label="Loading the firms" /></>;
  if (query.isError) {
    if (query.error instanceof ApiError && query.error.status === 404) {
      return <>{title}<Empty>Only the platform's owner (an owner of the default firm, on its own site) sees the firms.</Empty></>;
    }
    return <>{title}<ErrorState error={query.error} retry={() => void query.refetch()} /></>;
  }
  const firms = query.data;
  return (
    <>
      {title}
      <Card title="Every firm, now">
        <div className="overflow-x-auto [contain:inline-size]" tabIndex={0} role="region" aria-label="Firms table">
          <table className="w-full min-w-[48rem] text-sm" data-testid="firms">
            <caption className="sr-only">Firms with their users, accounts, breaches since 00:00 UTC and paid revenue</caption>
            <thead className="text-left text-xs text-muted">
              <tr>
                <th scope="col" className="py-1 pr-3 font-medium">Firm</th>
                <th scope="col" className="py-1 pr-3 font-medium">Domains</th>
                <th scope="col" className="py-1 pr-3 text-right font-medium">Users</th>
                <th scope="col" className="py-1 pr-3 text-right font-medium">Accounts (live)</th>
                <th scope="col" className="py-1 pr-3 text-right font-medium">Breaches today (UTC)</th>
                <th scope="col" className="py-1 pr-3 text-right font-medium">Revenue today</th>
                <th scope="col" className="py-1 text-right font-medium">Revenue, all time</th>
              </tr>
            </thead>
            <tbody className="tabular">
              {firms.map((firm) => (
                <tr key={firm.id} className="border-t border-line">
                  <th scope="row" className="py-1.5 pr-3 text-left font-medium">
                    {firm.name} <span className="font-mono text-xs text-muted">{firm.slug}</span>
                  </th>
                  <td className="py-1.5 pr-3">{firm.domains.length ? firm.domains.join(", ") : "—"}</td>
                  <td className="py-1.5 pr-3 text-right">{firm.users}</td>
                  <td className="py-1.5 pr-3 text-right">{firm.accounts} ({firm.live_accounts})</td>
                  <td className={`py-1.5 pr-3 text-right ${firm.breaches_today ? "font-semibold text-bad" : ""}`}>{firm.breaches_today}</td>
                  <td className="py-1.5 pr-3 text-right">{amounts(firm.revenue_today)}</td>
                  <td className="py-1.5 text-right">{amounts(firm.revenue)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      <div className="mt-4"><CreateFirm /></div>
    </>
  );
}
