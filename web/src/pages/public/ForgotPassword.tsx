/** Ask for a password-reset link. The gateway answers the same whether or not the
 * address has an account, and so does this page. */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, call } from "../../api/client";
import { Button, Field, FormError } from "../../ui/kit";
import { fieldError, formError } from "./forms";
import { AuthPanel, Outcome, TextLink } from "./parts";

export default function ForgotPassword() {
  const [email, setEmail] = useState("");
  const forgot = useMutation({
    mutationFn: (address: string) =>
      call(api.POST("/api/v1/auth/password/forgot", { body: { email: address } })).then(() => address),
  });

  if (forgot.isSuccess) {
    return (
      <Outcome title="Check your mail" tone="info">
        <p>If an account exists for <strong className="break-all">{forgot.data}</strong>, a link to
          choose a new password is on its way. It works for one hour, once.</p>
        <p className="text-muted">Nothing after a few minutes? Look in the spam folder, or{" "}
          <button type="button" className="text-ink underline decoration-brand decoration-2 underline-offset-4 hover:decoration-ink" onClick={() => forgot.reset()}>
            try another address
          </button>.
        </p>
        <p><TextLink to="/login">Back to the login</TextLink></p>
      </Outcome>
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    forgot.mutate(email.trim());
  }

  return (
    <AuthPanel
      title="Forgot your password?"
      intro="Give the address you registered with; we will mail you a link to choose a new password."
      footer={<TextLink to="/login">Back to the login</TextLink>}
    >
      <form onSubmit={submit} className="flex flex-col gap-4">
        <Field label="Email" name="email" type="email" value={email} required autoFocus
          autoComplete="email" inputMode="email" spellCheck={false}
          onChange={(e) => setEmail(e.target.value)} error={fieldError(forgot.error, "email")} />
        <FormError error={formError(forgot.error, ["email"])} />
        <Button type="submit" busy={forgot.isPending}>Send reset link</Button>
      </form>
    </AuthPanel>
  );
}
