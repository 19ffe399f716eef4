/** Log in: e-mail and password, then — for an account with two-factor auth — the code
 * from the authenticator app or a recovery code. */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { signIn, type Credentials } from "../../session/auth";
import { useSession } from "../../session/store";
import { Button, Field, FormError } from "../../ui/kit";
import { errorCode, fieldError, formError } from "./forms";
import { safeNext } from "./next";
import { AuthPanel, TextLink } from "./parts";

type Step = "password" | "second-factor";
type Method = "totp" | "recovery";

/** What the gateway's codes mean for a person at this form. */
const MESSAGES: Record<string, string> = {
  totp_invalid: "The code is wrong or was already used. Wait for the next code in your app and try again.",
  recovery_code_invalid: "The recovery code is wrong or was already used.",
};

export default function Login() {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const status = useSession((s) => s.status);
  const [step, setStep] = useState<Step>("password");
  const [method, setMethod] = useState<Method>("totp");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState("");

  const login = useMutation({
    mutationFn: (credentials: Credentials) => signIn(credentials),
    onSuccess: () => navigate(next, { replace: true }),
    onError: (error) => {
      if (errorCode(error) === "totp_required") setStep("second-factor");
    },
  });

  // Already signed in (a bookmarked /login): straight on.
  if (status === "signed-in" && login.isIdle) return <Navigate to={next} replace />;

  const error = errorCode(login.error) === "totp_required" ? null : login.error;
  const code422 = errorCode(error);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (login.isPending) return;
    const credentials: Credentials = { email: email.trim(), password };
    if (step === "second-factor") {
      if (method === "totp") credentials.totp_code = code.replace(/\s+/g, "");
      else credentials.recovery_code = recovery.trim();
    }
    login.mutate(credentials);
  }

  function startOver() {
    setStep("password");
    setCode("");
    setRecovery("");
    setPassword("");
    login.reset();
  }

  if (step === "second-factor") {
    const codeError = code422 === "totp_invalid" ? MESSAGES.totp_invalid : fieldError(error, "totp_code");
    const recoveryError = code422 === "recovery_code_invalid" ? MESSAGES.recovery_code_invalid
      : fieldError(error, "recovery_code");
    const shownHere = code422 === "totp_invalid" || code422 === "recovery_code_invalid";
    return (
      <AuthPanel
        title="Two-factor authentication"
        intro={method === "totp"
          ? "Enter the 6-digit code your authenticator app shows for this account."
          : "Enter one of the recovery codes you saved when you turned on two-factor authentication. Each works once."}
        footer={<button type="button" className="text-ink underline decoration-brand decoration-2 underline-offset-4 hover:decoration-ink" onClick={startOver}>
          Log in with another account
        </button>}
      >
        <form onSubmit={submit} className="flex flex-col gap-4">
          {method === "totp" ? (
            <Field key="totp" label="Authentication code" name="totp_code" value={code}
              onChange={(e) => setCode(e.target.value)} required autoFocus
              inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7}
              className="tabular" error={codeError} />
          ) : (
            <Field key="recovery" label="Recovery code" name="recovery_code" value={recovery}
              onChange={(e) => setRecovery(e.target.value)} required autoFocus
              autoComplete="off" spellCheck={false} placeholder="xxxxx-xxxxx" error={recoveryError} />
          )}
          {shownHere ? null : <FormError error={formError(error, ["totp_code", "recovery_code"])} />}
          <Button type="submit" busy={login.isPending}>Log in</Button>
          <Button tone="ghost" onClick={() => {
            setMethod(method === "totp" ? "recovery" : "totp");
            login.reset();
          }}>
            {method === "totp" ? "Use a recovery code instead" : "Use the authentication code instead"}
          </Button>
        </form>
      </AuthPanel>
    );
  }

  return (
    <AuthPanel
      title="Log in"
      intro="Log in to follow your challenges and accounts."
      footer={
        <>
          <TextLink to="/forgot-password">Forgot your password?</TextLink>
          <p className="text-muted">New here? <TextLink to="/register">Create an account</TextLink></p>
        </>
      }
    >
      <form onSubmit={submit} className="flex flex-col gap-4">
        <Field label="Email" name="email" type="email" value={email} required autoFocus
          autoComplete="username" inputMode="email" spellCheck={false}
          onChange={(e) => setEmail(e.target.value)} error={fieldError(error, "email")} />
        <Field label="Password" name="password" type="password" value={password} required
          autoComplete="current-password"
          onChange={(e) => setPassword(e.target.value)} error={fieldError(error, "password")} />
        {code422 === "email_not_verified" ? (
          <p role="alert" className="rounded-md border border-warn p-3 text-sm text-warn">
            Confirm your e-mail address first: open the link in the message we sent when you
            registered. No message? Ask for a <TextLink to="/forgot-password">password reset link</TextLink>:
            using it confirms your address too.
          </p>
        ) : (
          <FormError error={formError(error, ["email", "password"])} />
        )}
        <Button type="submit" busy={login.isPending}>Log in</Button>
      </form>
    </AuthPanel>
  );
}
