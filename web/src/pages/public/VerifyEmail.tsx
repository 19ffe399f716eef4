/** The link from the registration mail: confirms the address once, on load. */
import { useMutation } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useSearchParams } from "react-router";
import { api, call } from "../../api/client";
import { describeError } from "../../api/errors";
import { useSession } from "../../session/store";
import { Button, Loading } from "../../ui/kit";
import { errorCode } from "./forms";
import { ButtonLink, Outcome, TextLink } from "./parts";

export default function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const signedIn = useSession((s) => s.status === "signed-in");
  const verify = useMutation({
    mutationFn: (value: string) => call(api.POST("/api/v1/auth/verify", { body: { token: value } })),
  });
  // A token is spent by its first use: post it once, even when StrictMode runs effects twice.
  const posted = useRef<string | null>(null);
  const { mutate } = verify;
  useEffect(() => {
    if (token && posted.current !== token) {
      posted.current = token;
      mutate(token);
    }
  }, [token, mutate]);

  if (!token) {
    return (
      <Outcome title="This link is incomplete" tone="bad">
        <p>The address has no confirmation token. Open the link from the message again, or copy
          the whole address from it into the browser.</p>
      </Outcome>
    );
  }
  if (verify.isSuccess) {
    return (
      <Outcome title="Your e-mail address is confirmed">
        <p>Thank you{verify.data.display_name ? `, ${verify.data.display_name}` : ""}: <strong className="break-all">{verify.data.email}</strong> is confirmed.</p>
        {signedIn
          ? <ButtonLink to="/dashboard">Go to your dashboard</ButtonLink>
          : <ButtonLink to="/login">Log in</ButtonLink>}
      </Outcome>
    );
  }
  if (verify.isError) {
    const used = errorCode(verify.error) === "token_invalid";
    return (
      <Outcome title={used ? "This link no longer works" : "We could not confirm your address"} tone="bad">
        {used ? (
          <>
            <p>The link is invalid, was already used or has expired (links work for 48 hours).</p>
            <p>If you already confirmed your address, just <TextLink to="/login">log in</TextLink>.
              Otherwise ask for a <TextLink to="/forgot-password">password reset link</TextLink>:
              choosing a password with it confirms your address too.</p>
          </>
        ) : (
          <>
            <p role="alert">{describeError(verify.error)}</p>
            <Button tone="secondary" className="w-fit" onClick={() => mutate(token)}>Try again</Button>
          </>
        )}
      </Outcome>
    );
  }
  return <Loading label="Confirming your e-mail address" />;
}
