/** The link from the reset mail: choose a new password (every session of the account
 * ends, and the address counts as confirmed). */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { api, call } from "../../api/client";
import { Button, Field, FormError } from "../../ui/kit";
import { errorCode, fieldError, formError } from "./forms";
import { AuthPanel, ButtonLink, Outcome, PASSWORD_HINT, TextLink } from "./parts";

export default function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const reset = useMutation({
    mutationFn: (value: string) =>
      call(api.POST("/api/v1/auth/password/reset", { body: { token, password: value } })),
  });

  if (!token || errorCode(reset.error) === "token_invalid") {
    return (
      <Outcome title="This link no longer works" tone="bad">
        <p>{token
          ? "The link is invalid, was already used or has expired (reset links work for one hour, once)."
          : "The address has no reset token. Open the link from the message again."}</p>
        <ButtonLink to="/forgot-password">Ask for a new link</ButtonLink>
      </Outcome>
    );
  }
  if (reset.isSuccess) {
    return (
      <Outcome title="Your password is changed">
        <p>Every session of your account has been signed out. Log in with the new password.</p>
        <ButtonLink to="/login">Log in</ButtonLink>
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
    reset.mutate(password);
  }

  return (
    <AuthPanel title="Choose a new password" footer={<TextLink to="/login">Back to the login</TextLink>}>
      <form onSubmit={submit} className="flex flex-col gap-4">
        <Field label="New password" name="password" type="password" value={password} required autoFocus
          autoComplete="new-password" onChange={(e) => setPassword(e.target.value)}
          hint={PASSWORD_HINT} error={fieldError(reset.error, "password")} />
        <Field label="Confirm new password" name="confirm" type="password" value={confirm} required
          autoComplete="new-password" onChange={(e) => setConfirm(e.target.value)}
          error={mismatch ? "The two passwords differ." : undefined} />
        <FormError error={formError(reset.error, ["password"])} />
        <Button type="submit" busy={reset.isPending}>Set new password</Button>
      </form>
    </AuthPanel>
  );
}
