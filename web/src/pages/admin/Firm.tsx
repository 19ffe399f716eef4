/** The firm's admins: its settings and white label. Name, colours (a warning when white
 * text on the primary colour is hard to read), a font from the safe list (system fonts:
 * nothing is fetched), support e-mail, allowed origins, domains; the logo and favicon
 * (uploaded, re-encoded by the gateway); the firm's own CSS, checked by the gateway as it
 * is typed and previewed in a sandboxed frame (no scripts) on a sample of the trader's
 * pages. Every refusal shows the API's own words next to its field. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useId, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { api, call, type Schemas } from "../../api/client";
import { ApiError, describeError } from "../../api/errors";
import { COLOR, fieldError, lines, previewDocument } from "./firm";
import { Button, Card, ErrorState, Field, FormError, Loading, PageTitle } from "../../ui/kit";

type Settings = Schemas["TenantOut"];
type Font = Schemas["BrandingIn"]["font"];

const FONTS: { value: NonNullable<Font>; label: string; stack: string }[] = [
  { value: "system", label: "System (the device's own)", stack: "system-ui, sans-serif" },
  { value: "humanist", label: "Humanist sans", stack: "Seravek, Ubuntu, Calibri, 'DejaVu Sans', sans-serif" },
  { value: "geometric", label: "Geometric sans", stack: "Avenir, Montserrat, Corbel, 'URW Gothic', sans-serif" },
  { value: "serif", label: "Serif", stack: "Charter, 'Bitstream Charter', Cambria, 'DejaVu Serif', serif" },
  { value: "rounded", label: "Rounded sans", stack: "ui-rounded, Quicksand, Comfortaa, Manjari, Calibri, sans-serif" },
  { value: "mono", label: "Monospace", stack: "ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace" },
];
function TextArea({ label, error, hint, ...rest }: { label: string; error?: string | undefined; hint?: ReactNode }
  & React.TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId();
  const described = [error ? `${id}-error` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ");
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium">{label}</label>
      <textarea id={id} {...rest} aria-invalid={error ? true : undefined} aria-describedby={described || undefined}
        className={`min-h-20 rounded-md border bg-surface px-3 py-2 font-mono text-sm text-ink ${error ? "border-bad" : "border-line"}`} />
      {hint ? <p id={`${id}-hint`} className="text-xs text-muted">{hint}</p> : null}
      {error ? <p id={`${id}-error`} className="text-sm text-bad" role="alert">{error}</p> : null}
    </div>
  );
}

function ColourField({ label, value, onChange, error }:
  { label: string; value: string; onChange: (v: string) => void; error?: string | undefined }) {
  const local = value && !COLOR.test(value) ? "a colour as #rrggbb (six hexadecimal digits)" : undefined;
  return (
    <div className="flex items-end gap-2">
      <Field label={label} value={value} onChange={(e) => onChange(e.target.value)} error={local ?? error}
        className="flex-1" spellCheck={false} />
      <input type="color" aria-label={`${label}: pick`} value={COLOR.test(value) ? value.toLowerCase() : "#000000"}
        onChange={(e) => onChange(e.target.value)} className="mb-1 h-10 w-12 rounded-md border border-line bg-surface" />
    </div>
  );
}

/** Load the page's stylesheet again (``/theme.css`` after new colours, ``/brand.css``
 * after new CSS), so this page shows what the trader's pages now show. */
function refreshStylesheet(path: string, url?: string): void {
  const link = document.querySelector<HTMLLinkElement>(`link[rel="stylesheet"][href^="${path}"]`);
  if (url === "") { link?.remove(); return; }
  const href = url ?? `${path}?t=${Date.now()}`;
  if (link) { link.href = href; return; }
  const added = document.createElement("link");
  added.rel = "stylesheet";
  added.href = href;
  document.head.appendChild(added);
}

function SettingsForm({ settings, onColours }:
  { settings: Settings; onColours: (primary: string, accent: string) => void }) {
  const client = useQueryClient();
  const [name, setName] = useState(settings.branding.name);
  const [primary, setPrimary] = useState(settings.branding.primary_color ?? "#0f766e");
  const [accent, setAccent] = useState(settings.branding.accent_color ?? "#f59e0b");
  const [font, setFont] = useState<NonNullable<Font>>(settings.branding.font ?? "system");
  const [email, setEmail] = useState(settings.branding.support_email ?? "");
  const [origins, setOrigins] = useState(settings.cors_origins.join("\n"));
  const [domains, setDomains] = useState(settings.domains.join("\n"));
  const [warnings, setWarnings] = useState(settings.warnings ?? []);
  useEffect(() => {
    if (COLOR.test(primary) && COLOR.test(accent)) onColours(primary, accent);
  }, [primary, accent, onColours]);
  const save = useMutation({
    mutationFn: () => call(api.PUT("/api/v1/admin/tenant", {
      body: {
        branding: { name, primary_color: primary, accent_color: accent, font, support_email: email,
          logo_url: settings.branding.logo_url ?? "" },
        cors_origins: lines(origins), domains: lines(domains),
      },
    })),
    onSuccess: (out) => {
      setWarnings(out.warnings ?? []);
      refreshStylesheet("/theme.css");
      void client.invalidateQueries({ queryKey: ["tenant"] });
      void client.invalidateQueries({ queryKey: ["admin", "tenant"] });
    },
  });
  const bad = !COLOR.test(primary) || !COLOR.test(accent);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!bad) save.mutate();
  };
  const error = save.error;
  const fontId = useId();
  return (
    <Card title="Name, colours and domains">
      <form onSubmit={submit} className="grid gap-4 md:grid-cols-2" noValidate>
        <Field label="Firm name" value={name} onChange={(e) => setName(e.target.value)} required
          error={fieldError(error, "$.branding.name")} />
        <Field label="Support e-mail" type="email" value={email} onChange={(e) => setEmail(e.target.value)}
          error={fieldError(error, "$.branding.support_email")} />
        <ColourField label="Primary colour" value={primary} onChange={setPrimary}
          error={fieldError(error, "$.branding.primary_color")} />
        <ColourField label="Accent colour" value={accent} onChange={setAccent}
          error={fieldError(error, "$.branding.accent_color")} />
        <div className="flex flex-col gap-1">
          <label htmlFor={fontId} className="text-sm font-medium">Font</label>
          <select id={fontId} value={font} onChange={(e) => setFont(e.target.value as NonNullable<Font>)}
            className="min-h-10 rounded-md border border-line bg-surface px-3 py-2 text-ink">
            {FONTS.map((f) => <option key={f.value} value={f.value}>{f.label}</option>)}
          </select>
          <p className="text-xs text-muted" style={{ fontFamily: FONTS.find((f) => f.value === font)?.stack }}>
            Sample: The quick brown fox jumps over the lazy dog — 0123456789
          </p>
        </div>
        <div className="hidden md:block" />
        <TextArea label="Domains (one a line, the first is primary)" value={domains} rows={3}
          onChange={(e) => setDomains(e.target.value)} spellCheck={false} error={fieldError(error, "$.domains")}
          hint="Each must not be another firm's. Point its DNS at the platform first." />
        <TextArea label="Allowed browser origins (one a line)" value={origins} rows={3}
          onChange={(e) => setOrigins(e.target.value)} spellCheck={false} error={fieldError(error, "$.cors_origins")}
          hint="https://app.example.com — other sites allowed to call the API from a browser." />
        {warnings.length ? (
          <ul role="status" className="md:col-span-2 rounded-md border border-warn p-3 text-sm text-warn">
            {warnings.map((w) => <li key={w.path}>{w.message}</li>)}
          </ul>
        ) : null}
        {error && !(error instanceof ApiError && Object.keys(error.fields).length) ? (
          <div className="md:col-span-2"><FormError error={error} /></div>) : null}
        <div className="flex items-center gap-3 md:col-span-2">
          <Button type="submit" busy={save.isPending} disabled={bad}>Save settings</Button>
          {save.isSuccess ? <span role="status" className="text-sm text-good">Saved.</span> : null}
        </div>
      </form>
    </Card>
  );
}

function ImageUpload({ what, label, current }: { what: "logo" | "favicon"; label: string; current: string }) {
  const client = useQueryClient();
  const id = useId();
  const upload = useMutation({
    mutationFn: (file: File) => {
      const path = what === "logo" ? "/api/v1/admin/tenant/logo" : "/api/v1/admin/tenant/favicon";
      return call(api.PUT(path, {
        body: file as unknown as string,
        bodySerializer: (body: unknown) => body as BodyInit,
        headers: { "Content-Type": file.type || "application/octet-stream" },
      }));
    },
    onSuccess: () => void client.invalidateQueries({ queryKey: ["tenant"] }),
  });
  const shown = upload.data?.url ?? current;
  return (
    <div className="flex flex-col gap-2">
      <label htmlFor={id} className="text-sm font-medium">{label}</label>
      <div className="flex flex-wrap items-center gap-3">
        {shown ? <img src={shown} alt={`Current ${what}`} className="h-10 w-auto rounded border border-line bg-surface-2 p-1" />
          : <span className="text-sm text-muted">None yet</span>}
        <input id={id} type="file" accept="image/png,image/jpeg,image/webp,image/x-icon,.ico"
          aria-describedby={`${id}-hint`} className="max-w-full text-sm"
          onChange={(e) => { const file = e.target.files?.[0]; if (file) upload.mutate(file); e.target.value = ""; }} />
      </div>
      <p id={`${id}-hint`} className="text-xs text-muted">PNG, JPEG, WebP or ICO, at most 512 KiB (no SVG).</p>
      {upload.isPending ? <p role="status" className="text-sm text-muted">Uploading…</p> : null}
      {upload.isSuccess ? <p role="status" className="text-sm text-good">Uploaded.</p> : null}
      {upload.error ? <p role="alert" className="text-sm text-bad">{describeError(upload.error)}</p> : null}
    </div>
  );
}

function useNonce(): string {
  return useMemo(() => document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? "", []);
}

function CssEditor({ primary, accent }: { primary: string; accent: string }) {
  const client = useQueryClient();
  const current = useQuery({
    queryKey: ["admin", "tenant", "css"],
    queryFn: () => call(api.GET("/api/v1/admin/tenant/css")),
  });
  const [draft, setDraft] = useState<string | null>(null);
  const [checked, setChecked] = useState<{ css: string; error: unknown }>({ css: "", error: null });
  const text = draft ?? current.data?.css ?? "";
  const nonce = useNonce();
  useEffect(() => {  // the gateway checks what is typed, 400 ms after the last key
    const timer = window.setTimeout(() => {
      api.POST("/api/v1/admin/tenant/css/check", { body: { css: text } }).then(
        ({ data, error, response }) => {
          if (response.ok && data) setChecked({ css: data.css, error: null });
          else setChecked((before) => ({ css: before.css, error: new ApiError(response.status, error, null) }));
        },
        (error: unknown) => setChecked((before) => ({ ...before, error })));
    }, 400);
    return () => window.clearTimeout(timer);
  }, [text]);
  const save = useMutation({
    mutationFn: () => call(api.PUT("/api/v1/admin/tenant/css", { body: { css: text } })),
    onSuccess: (out) => {
      setDraft(null);
      client.setQueryData(["admin", "tenant", "css"], out);
      refreshStylesheet("/brand.css", out.url);
    },
  });
  if (current.isPending) return <Loading label="Loading the firm's CSS" />;
  if (current.isError) return <ErrorState error={current.error} retry={() => void current.refetch()} />;
  const problem = save.error ?? checked.error;
  return (
    <Card title="Custom CSS">
      <div className="grid gap-4 lg:grid-cols-2">
        <div className="flex flex-col gap-3">
          <TextArea label="The firm's own CSS" value={text} rows={14} spellCheck={false}
            onChange={(e) => setDraft(e.target.value)} error={problem ? describeError(problem) : undefined}
            hint="At most 32 KiB. No @import, no url() except the firm's own uploads (/brand/logo.png), no fonts from elsewhere, no expression() or javascript:." />
          <div className="flex items-center gap-3">
            <Button onClick={() => save.mutate()} busy={save.isPending} disabled={Boolean(checked.error)}>Save CSS</Button>
            {save.isSuccess && draft === null ? <span role="status" className="text-sm text-good">Saved: the firm's pages use it now.</span> : null}
          </div>
        </div>
        <div className="flex flex-col gap-1">
          <span className="text-sm font-medium" id="css-preview-label">Preview (the last CSS that passed the check)</span>
          <iframe title="Preview of the trader's pages with this CSS" aria-labelledby="css-preview-label"
            sandbox="" srcDoc={previewDocument(checked.css, primary, accent, nonce)}
            className="h-80 w-full rounded-md border border-line bg-white" data-testid="css-preview" />
        </div>
      </div>
    </Card>
  );
}

export default function Firm() {
  const [colours, setColours] = useState<[string, string] | null>(null);
  const onColours = useCallback((primary: string, accent: string) => setColours([primary, accent]), []);
  const settings = useQuery({
    queryKey: ["admin", "tenant"],
    queryFn: () => call(api.GET("/api/v1/admin/tenant")),
  });
  const tenant = useQuery({
    queryKey: ["tenant"],
    queryFn: () => call(api.GET("/api/v1/tenant")),
    staleTime: 5 * 60_000,
  });
  return (
    <div className="flex flex-col gap-4">
      <PageTitle>Firm settings</PageTitle>
      {settings.isPending ? <Loading label="Loading the firm's settings" /> : settings.isError ? (
        <ErrorState error={settings.error} retry={() => void settings.refetch()} />
      ) : (
        <>
          <SettingsForm settings={settings.data} onColours={onColours} />
          <Card title="Logo and favicon">
            <div className="grid gap-6 md:grid-cols-2">
              <ImageUpload what="logo" label="Logo" current={tenant.data?.logo_url ?? ""} />
              <ImageUpload what="favicon" label="Favicon" current={tenant.data?.favicon_url ?? ""} />
            </div>
          </Card>
          <CssEditor primary={colours?.[0] ?? settings.data.branding.primary_color ?? "#0f766e"}
            accent={colours?.[1] ?? settings.data.branding.accent_color ?? "#f59e0b"} />
        </>
      )}
    </div>
  );
}
