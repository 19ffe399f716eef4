/** The trader's settings: profile, security (password, two-factor auth, sessions) and
 * notification preferences, one tab each, the tab in the address (/settings/security). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { AlertDialog, Switch, Tabs } from "radix-ui";
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Navigate, useNavigate, useParams } from "react-router";
import { api, call, type Schemas } from "../../api/client";
import { useTenant } from "../../app/tenant";
import { day } from "../../format/numbers";
import { adoptTokens, signOut } from "../../session/auth";
import { useSession, type User } from "../../session/store";
import { Button, Card, ErrorState, Field, FormError, Loading, PageTitle } from "../../ui/kit";
import { toast } from "../../ui/toast";
import { errorCode, fieldError, formError } from "../public/forms";
import { PASSWORD_HINT } from "../public/parts";

type Notifications = Schemas["NotificationsOut"];


export const TABS = ["profile", "security", "notifications"] as const;
export type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, string> = { profile: "Profile", security: "Security", notifications: "Notifications" };

/** Fetch the caller again (after a change the server made to it) into the session. */
async function reloadUser(): Promise<void> {
  useSession.getState().setUser(await call(api.GET("/api/v1/me")));
}

function copy(text: string, what: string): void {
  if (!navigator.clipboard) {
    toast("Copying is not available here", `Select the ${what} and copy them yourself.`, "bad");
    return;
  }
  navigator.clipboard.writeText(text).then(
    () => toast(`${what[0]!.toUpperCase()}${what.slice(1)} copied`, undefined, "good"),
    () => toast("Could not copy", `Select the ${what} and copy them yourself.`, "bad"),
  );
}

/** The recovery codes as a text file a person can keep. */
export function recoveryCodesText(codes: readonly string[], firm: string, email: string): string {
  return [
    `Recovery codes${firm ? ` for ${firm}` : ""} — ${email}`,
    "",
    "Each code logs you in once in place of the code from your authenticator app.",
    "Keep them somewhere safe; anyone with a code and your password can log in.",
    "",
    ...codes,
    "",
  ].join("\n");
}

function download(text: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** `JBSWY3DPEHPK3PXP` → `JBSW Y3DP EHPK 3PXP` (easier to type from). */
export function groupSecret(secret: string): string {
  return (secret.match(/.{1,4}/g) ?? []).join(" ");
}

// ----------------------------------------------------------------------------- profile

function ProfileTab({ user }: { user: User }) {
  const [name, setName] = useState(user.display_name);
  const save = useMutation({
    mutationFn: async (display_name: string) => call(api.PATCH("/api/v1/me", { body: { display_name } })),
    onSuccess: (updated) => {
      useSession.getState().setUser(updated);
      setName(updated.display_name);
      toast("Profile saved", undefined, "good");
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate(name.trim());
  }
  return (
    <div className="flex max-w-xl flex-col gap-4">
      <Card title="Profile">
        <form onSubmit={submit} className="flex flex-col gap-4">
          <Field label="Display name" name="display_name" value={name} maxLength={100} autoComplete="name"
            onChange={(e) => setName(e.target.value)} error={fieldError(save.error, "display_name")}
            hint="Shown in the app and in the mail we send you." />
          <FormError error={formError(save.error, ["display_name"])} />
          <Button type="submit" className="w-fit" busy={save.isPending}
            disabled={name.trim() === user.display_name}>Save</Button>
        </form>
      </Card>
      <Card title="Account">
        <dl className="grid grid-cols-1 gap-3 text-sm sm:grid-cols-[10rem_1fr]">
          <dt className="text-muted">Email</dt>
          <dd className="break-all">
            {user.email}{" "}
            <span className={user.email_verified ? "text-good" : "text-warn"}>
              ({user.email_verified ? "confirmed" : "not confirmed"})
            </span>
          </dd>
          <dt className="text-muted">Member since</dt>
          <dd>{day(user.created_at.slice(0, 10))}</dd>
        </dl>
      </Card>
    </div>
  );
}

// ---------------------------------------------------------------------------- security

function PasswordCard() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation({
    mutationFn: async (body: { current_password: string; new_password: string }) => {
      // the other sessions end; this one goes on with a fresh refresh cookie
      const tokens = await call(api.POST("/api/v1/me/password", { body: { ...body, session: "cookie" } }));
      await adoptTokens(tokens);
    },
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setConfirm("");
      toast("Password changed", "Use the new password the next time you log in.", "good");
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (next !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    change.mutate({ current_password: current, new_password: next });
  }
  return (
    <Card title="Password">
      <form onSubmit={submit} className="flex flex-col gap-4">
        <Field label="Current password" name="current_password" type="password" required value={current}
          autoComplete="current-password" onChange={(e) => setCurrent(e.target.value)}
          error={fieldError(change.error, "current_password")} />
        <Field label="New password" name="new_password" type="password" required value={next}
          autoComplete="new-password" onChange={(e) => setNext(e.target.value)} hint={PASSWORD_HINT}
          error={fieldError(change.error, "new_password")} />
        <Field label="Confirm new password" name="confirm" type="password" required value={confirm}
          autoComplete="new-password" onChange={(e) => setConfirm(e.target.value)}
          error={mismatch ? "The two passwords differ." : undefined} />
        <FormError error={formError(change.error, ["current_password", "new_password"])} />
        <Button type="submit" className="w-fit" busy={change.isPending}>Change password</Button>
      </form>
    </Card>
  );
}

/** The code a person types to prove the second factor: from the app, or a recovery code. */
function SecondFactorField({ recovery, value, onChange, error }:
  { recovery: boolean; value: string; onChange: (value: string) => void; error: string | undefined }) {
  return recovery ? (
    <Field key="recovery" label="Recovery code" name="recovery_code" value={value} required
      autoComplete="off" spellCheck={false} placeholder="xxxxx-xxxxx"
      onChange={(e) => onChange(e.target.value)} error={error} />
  ) : (
    <Field key="totp" label="Authentication code" name="code" value={value} required
      inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7} className="tabular"
      onChange={(e) => onChange(e.target.value)} error={error} />
  );
}

function codeMessage(error: unknown, recovery: boolean): string | undefined {
  const code = errorCode(error);
  if (code === "totp_invalid") return "The code is wrong or was already used. Wait for the next code in your app.";
  if (code === "recovery_code_invalid") return "The recovery code is wrong or was already used.";
  return recovery ? fieldError(error, "code") ?? fieldError(error, "recovery_code") : fieldError(error, "code");
}

function QrCode({ uri }: { uri: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    setSrc(null);
    setFailed(false);
    // loaded only when someone sets up two-factor auth
    import("qrcode")
      .then((qr) => qr.toDataURL(uri, { margin: 1, width: 192, errorCorrectionLevel: "M" }))
      .then((url) => live && setSrc(url), () => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [uri]);
  return (
    <div className="flex h-52 w-52 shrink-0 items-center justify-center rounded-md border border-line bg-white">
      {src ? (
        <img src={src} width={192} height={192} className="h-48 w-48"
          alt="QR code to add this account to your authenticator app (the key beside it is the same, to type by hand)" />
      ) : failed ? (
        <p className="p-3 text-center text-sm text-bad">The QR code could not be drawn; type the key instead.</p>
      ) : (
        <span className="text-sm text-muted">Drawing the QR code…</span>
      )}
    </div>
  );
}

/** A heading that takes the focus when it appears (the button that led here is gone). */
function FocusedHeading({ children }: { children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return <h3 ref={heading} tabIndex={-1} className="text-base font-semibold outline-none">{children}</h3>;
}

function RecoveryCodes({ codes, user, onDone }: { codes: string[]; user: User; onDone: () => void }) {
  const tenant = useTenant();
  const text = recoveryCodesText(codes, tenant.data?.name ?? "", user.email);
  return (
    <div className="flex flex-col gap-4">
      <FocusedHeading>Two-factor authentication is on. Save your recovery codes</FocusedHeading>
      <div className="rounded-md border border-warn bg-warn/10 p-3 text-sm">
        <p className="font-semibold text-warn">These codes are shown only once.</p>
        <p>If you lose your phone, a recovery code is the only way into your account. Each works once.
          Keep them somewhere safe (a password manager, or on paper), not on the phone with the app.</p>
      </div>
      <ol aria-label="Recovery codes" data-testid="recovery-codes"
        className="grid grid-cols-2 gap-x-6 gap-y-1 rounded-md border border-line bg-surface-2 p-3 font-mono text-sm tabular sm:w-fit">
        {codes.map((code) => <li key={code}>{code}</li>)}
      </ol>
      <div className="flex flex-wrap gap-2">
        <Button tone="secondary" onClick={() => copy(codes.join("\n"), "recovery codes")}>Copy codes</Button>
        <Button tone="secondary" onClick={() => download(text, "recovery-codes.txt")}>Download as text</Button>
        <Button onClick={onDone}>I have saved them</Button>
      </div>
    </div>
  );
}

function TwoFactorCard({ user, codes, setCodes }:
  { user: User; codes: string[] | null; setCodes: (codes: string[] | null) => void }) {
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState(false);
  const setup = useMutation({
    mutationFn: () => call(api.POST("/api/v1/me/2fa/setup")),
    onSuccess: () => setCode(""),
  });
  const confirm = useMutation({
    mutationFn: (value: string) => call(api.POST("/api/v1/me/2fa/confirm", { body: { code: value } })),
    onSuccess: (out) => {
      setCodes(out.recovery_codes);
      setup.reset();
      setCode("");
      void reloadUser();
    },
  });
  const disable = useMutation({
    mutationFn: (value: string) => call(api.POST("/api/v1/me/2fa/disable", { body: { code: value } })),
    onSuccess: () => {
      setCode("");
      setRecovery(false);
      toast("Two-factor authentication is off", undefined, "good");
      void reloadUser();
    },
  });
  const secretId = useId();

  let body: ReactNode;
  if (codes) {
    body = <RecoveryCodes codes={codes} user={user} onDone={() => setCodes(null)} />;
  } else if (user.two_factor) {
    body = (
      <form className="flex flex-col gap-4" onSubmit={(event) => {
        event.preventDefault();
        disable.mutate(recovery ? code.trim() : code.replace(/\s+/g, ""));
      }}>
        <p className="text-sm">
          <span className="font-semibold text-good">On.</span> Logging in asks for a code from your
          authenticator app. To turn it off, enter a current code{recovery ? " — or a recovery code" : ""}.
        </p>
        <SecondFactorField recovery={recovery} value={code} onChange={setCode}
          error={codeMessage(disable.error, recovery)} />
        <FormError error={errorCode(disable.error)?.match(/^(totp|recovery_code)_invalid$/)
          ? null : formError(disable.error, ["code"])} />
        <div className="flex flex-wrap gap-2">
          <Button type="submit" tone="danger" busy={disable.isPending}>Disable two-factor authentication</Button>
          <Button tone="ghost" onClick={() => {
            setRecovery(!recovery);
            setCode("");
            disable.reset();
          }}>{recovery ? "Use the authentication code instead" : "Use a recovery code instead"}</Button>
        </div>
      </form>
    );
  } else if (setup.data) {
    const { secret, otpauth_uri } = setup.data;
    body = (
      <form className="flex flex-col gap-4" onSubmit={(event) => {
        event.preventDefault();
        confirm.mutate(code.replace(/\s+/g, ""));
      }}>
        <FocusedHeading>Set up your authenticator app</FocusedHeading>
        <ol className="flex list-decimal flex-col gap-4 pl-5 text-sm">
          <li>
            <p className="mb-2">Scan this QR code with an authenticator app (Google Authenticator,
              1Password, Authy, Microsoft Authenticator…).</p>
            <div className="flex flex-col gap-3 sm:flex-row sm:items-start">
              <QrCode uri={otpauth_uri} />
              <div className="flex flex-col gap-2">
                <p id={secretId}>Cannot scan it? Type this key in the app instead:</p>
                <code aria-labelledby={secretId} data-testid="totp-secret"
                  className="w-fit break-all rounded-md bg-surface-2 px-2 py-1 font-mono text-base tabular">
                  {groupSecret(secret)}
                </code>
                <Button tone="secondary" className="w-fit" onClick={() => copy(secret, "key")}>Copy the key</Button>
              </div>
            </div>
          </li>
          <li>
            <p className="mb-2">Enter the 6-digit code the app shows for this account.</p>
            <SecondFactorField recovery={false} value={code} onChange={setCode}
              error={codeMessage(confirm.error, false)} />
          </li>
        </ol>
        <FormError error={errorCode(confirm.error) === "totp_invalid" ? null : formError(confirm.error, ["code"])} />
        <div className="flex flex-wrap gap-2">
          <Button type="submit" busy={confirm.isPending}>Confirm</Button>
          <Button tone="ghost" onClick={() => {
            setup.reset();
            confirm.reset();
          }}>Cancel</Button>
        </div>
      </form>
    );
  } else {
    body = (
      <div className="flex flex-col gap-3">
        <p className="text-sm">
          <span className="font-semibold">Off.</span> With two-factor authentication, logging in needs
          your password and a code from an app on your phone: a stolen password alone is not enough.
        </p>
        <FormError error={setup.error} />
        <Button className="w-fit" busy={setup.isPending} onClick={() => setup.mutate()}>
          Enable two-factor authentication
        </Button>
      </div>
    );
  }
  return <Card title="Two-factor authentication">{body}</Card>;
}

function SessionsCard() {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [open, setOpen] = useState(false);
  const revoke = useMutation({
    mutationFn: async () => {
      await call(api.POST("/api/v1/me/sessions/revoke"));
      await signOut();
    },
    onSuccess: () => {
      // the next person to log in on this tab sees none of this one's data
      client.removeQueries({ predicate: (query) => !["tenant", "programs"].includes(String(query.queryKey[0])) });
      toast("Signed out everywhere", "Every session of your account has ended, this one too.", "good");
      navigate("/login", { replace: true });
    },
  });
  return (
    <Card title="Sessions">
      <p className="mb-3 text-sm">
        Lost a device, or logged in on a computer that is not yours? End every session of your
        account, on every device, this one included.
      </p>
      <AlertDialog.Root open={open} onOpenChange={(next) => !revoke.isPending && setOpen(next)}>
        <AlertDialog.Trigger asChild>
          <Button tone="danger">Sign out everywhere</Button>
        </AlertDialog.Trigger>
        <AlertDialog.Portal>
          <AlertDialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
          <AlertDialog.Content
            className="fixed left-1/2 top-1/2 z-50 w-[min(28rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 rounded-lg border border-line bg-surface p-5 text-ink shadow-xl">
            <AlertDialog.Title className="mb-2 text-lg font-semibold">Sign out everywhere?</AlertDialog.Title>
            <AlertDialog.Description className="mb-4 text-sm text-muted">
              Every device signed in to your account is signed out, this one too. You will need your
              password{"\u00a0"}— and your code, with two-factor authentication — to log in again.
            </AlertDialog.Description>
            <FormError error={revoke.error} />
            <div className="mt-4 flex flex-wrap justify-end gap-2">
              <AlertDialog.Cancel asChild>
                <Button tone="secondary" disabled={revoke.isPending}>Cancel</Button>
              </AlertDialog.Cancel>
              {/* not AlertDialog.Action: that would close the dialog before the answer */}
              <Button tone="danger" busy={revoke.isPending} onClick={() => revoke.mutate()}>
                Sign out everywhere
              </Button>
            </div>
          </AlertDialog.Content>
        </AlertDialog.Portal>
      </AlertDialog.Root>
    </Card>
  );
}

// ----------------------------------------------------------------------- notifications

type Kind = Exclude<keyof Notifications, "essential">;

const KINDS: { kind: Kind; title: string; words: string }[] = [
  { kind: "purchase", title: "Payment receipts", words: "The receipt when a challenge's payment is received." },
  { kind: "account_opened", title: "Account opened", words: "Your first phase's account is open: its login, program and rules." },
  { kind: "passed", title: "Phase passed", words: "You passed a phase, and what follows." },
  { kind: "phase_opened", title: "Next phase opened", words: "The next phase's account is open: its login and rules." },
  { kind: "failed", title: "Challenge failed", words: "A rule was breached and the challenge failed: rule, equity, floor and time." },
  { kind: "stopped", title: "Account stopped", words: "The risk desk stopped your account." },
  { kind: "reinstated", title: "Challenge reinstated", words: "The risk desk overrode a failure: the challenge goes on on a new account." },
];

function NotificationRow({ kind, title, words, on, essential, onChange }:
  { kind: Kind; title: string; words: string; on: boolean; essential: boolean; onChange: (on: boolean) => void }) {
  const id = useId();
  return (
    <li className="flex items-start justify-between gap-4 py-3">
      <div className="flex flex-col gap-0.5">
        <label htmlFor={id} className="font-medium">{title}</label>
        <p id={`${id}-words`} className="text-sm text-muted">
          {words}{essential ? <span className="ml-1 font-medium text-ink">Always sent.</span> : null}
        </p>
      </div>
      <Switch.Root id={id} name={kind} checked={on} disabled={essential}
        aria-describedby={`${id}-words`} onCheckedChange={onChange}
        className="relative mt-1 inline-flex h-6 w-11 shrink-0 items-center rounded-full bg-muted transition-colors data-[state=checked]:bg-brand disabled:cursor-not-allowed disabled:opacity-60">
        <Switch.Thumb className="block h-5 w-5 translate-x-0.5 rounded-full bg-white shadow transition-transform data-[state=checked]:translate-x-5" />
      </Switch.Root>
    </li>
  );
}

function NotificationsTab() {
  const client = useQueryClient();
  const key = ["me", "notifications"];
  const prefs = useQuery({ queryKey: key, queryFn: () => call(api.GET("/api/v1/me/notifications")) });
  const update = useMutation({
    mutationFn: (change: Partial<Record<Kind, boolean>>) =>
      call(api.PUT("/api/v1/me/notifications", { body: change })),
    onMutate: async (change) => {
      await client.cancelQueries({ queryKey: key });
      const before = client.getQueryData<Notifications>(key);
      if (before) client.setQueryData<Notifications>(key, { ...before, ...change });
      return { before };
    },
    onError: (error, _change, context) => {
      if (context?.before) client.setQueryData(key, context.before);
      toast("The change was not saved", error instanceof Error ? error.message : undefined, "bad");
    },
    onSuccess: (saved) => client.setQueryData(key, saved),
  });
  return (
    <Card title="E-mail notifications" className="max-w-2xl">
      {prefs.isPending ? (
        <Loading label="Loading your preferences" />
      ) : prefs.isError ? (
        <ErrorState error={prefs.error} retry={() => void prefs.refetch()} />
      ) : (
        <>
          <p className="text-sm text-muted">
            Choose which messages we e-mail you; changes are saved at once. Those marked “always
            sent” record money taken or a change to what you may do, so they cannot be turned off.
          </p>
          <ul className="divide-y divide-line">
            {KINDS.map(({ kind, title, words }) => (
              <NotificationRow key={kind} kind={kind} title={title} words={words} on={prefs.data[kind]}
                essential={prefs.data.essential.includes(kind)}
                onChange={(on) => update.mutate({ [kind]: on })} />
            ))}
          </ul>
        </>
      )}
    </Card>
  );
}

// ------------------------------------------------------------------------------ page

export default function Settings() {
  const { tab } = useParams();
  const navigate = useNavigate();
  const user = useSession((s) => s.user);
  // recovery codes live here: switching tabs must not lose the only time they are shown
  const [codes, setCodes] = useState<string[] | null>(null);
  if (tab !== undefined && !(TABS as readonly string[]).includes(tab)) return <Navigate to="/settings" replace />;
  const current: Tab = (tab as Tab | undefined) ?? "profile";
  return (
    <div>
      <PageTitle>Settings</PageTitle>
      <Tabs.Root value={current} onValueChange={(value) => navigate(`/settings/${value}`, { replace: true })}>
        <Tabs.List aria-label="Settings" className="mb-4 flex gap-1 overflow-x-auto border-b border-line">
          {TABS.map((value) => (
            <Tabs.Trigger key={value} value={value}
              className="-mb-px whitespace-nowrap border-b-2 border-transparent px-3 py-2 text-sm text-muted data-[state=active]:border-brand data-[state=active]:font-semibold data-[state=active]:text-ink">
              {TAB_LABEL[value]}
            </Tabs.Trigger>
          ))}
        </Tabs.List>
        {user === null ? (
          <Loading label="Loading your account" />
        ) : (
          <>
            <Tabs.Content value="profile"><ProfileTab key={user.id} user={user} /></Tabs.Content>
            <Tabs.Content value="security" className="flex max-w-2xl flex-col gap-4">
              <PasswordCard />
              <TwoFactorCard user={user} codes={codes} setCodes={setCodes} />
              <SessionsCard />
            </Tabs.Content>
            <Tabs.Content value="notifications"><NotificationsTab /></Tabs.Content>
          </>
        )}
      </Tabs.Root>
    </div>
  );
}
