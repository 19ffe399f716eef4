/** Create a trader account; the gateway mails a link that confirms the address. */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, call } from "../../api/client";
import { Button, Field, FormError } from "../../ui/kit";
import { errorCode, fieldError, formError } from "./forms";
import { AuthPanel, Outcome, PASSWORD_HINT, TextLink } from "./parts";

export default function Register() {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mismatch, setMismatch] = useState(false);

  const register = useMutation({
    mutationFn: (body: { email: string; password: string; display_name: string }) =>
      call(api.POST("/api/v1/auth/register", { body })),
  });

  if (register.isSuccess) {
    return (
      <Outcome title="Check your mail">
        <p>
          We sent a link to <strong className="break-all">{register.data.email}</strong>. Open it to
          confirm your address (it works for 48 hours); then you can log in.
        </p>
        <p className="text-muted">
          Nothing after a few minutes? Look in the spam folder, or check the address and{" "}
          <button type="button" className="text-ink underline decoration-brand decoration-2 underline-offset-4 hover:decoration-ink" onClick={() => register.reset()}>
            register again
          </button>.
        </p>
        <p><TextLink to="/login">Go to the login</TextLink></p>
      </Outcome>
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (password !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    register.mutate({ email: email.trim(), password, display_name: name.trim() });
  }

  const error = register.error;
  const taken = errorCode(error) === "email_taken";
  return (
    <AuthPanel
      title="Create your account"
      intro="An account lets you buy a challenge and follow it live."
      footer={<p className="text-muted">Already registered? <TextLink to="/login">Log in</TextLink></p>}
    >
      <form onSubmit={submit} className="flex flex-col gap-4">
        <Field label="Display name" name="display_name" value={name} autoComplete="name" maxLength={100}
          onChange={(e) => setName(e.target.value)} error={fieldError(error, "display_name")}
          hint="Shown in the app and in our mail; it can be changed later." />
        <Field label="Email" name="email" type="email" value={email} required autoComplete="email"
          inputMode="email" spellCheck={false} onChange={(e) => setEmail(e.target.value)}
          error={taken ? "An account with this address exists." : fieldError(error, "email")} />
        {taken ? (
          <p className="-mt-2 text-sm">
            <TextLink to="/login">Log in</TextLink> or{" "}
            <TextLink to="/forgot-password">reset the password</TextLink>.
          </p>
        ) : null}
        <Field label="Password" name="password" type="password" value={password} required
          autoComplete="new-password" onChange={(e) => setPassword(e.target.value)}
          hint={PASSWORD_HINT} error={fieldError(error, "password")} />
        <Field label="Confirm password" name="confirm" type="password" value={confirm} required
          autoComplete="new-password" onChange={(e) => setConfirm(e.target.value)}
          error={mismatch ? "The two passwords differ." : undefined} />
        {taken ? null : <FormError error={formError(error, ["email", "password", "display_name"])} />}
        <Button type="submit" busy={register.isPending}>Create account</Button>
      </form>
    </AuthPanel>
  );
}
