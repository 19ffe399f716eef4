import { cleanup, fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../api/errors";
import type { Credentials } from "../../session/auth";
import Login from "./Login";
import { axeProblems, renderPage } from "./test-utils";

const signIn = vi.fn<(c: Credentials) => Promise<void>>();
vi.mock("../../session/auth", () => ({ signIn: (c: Credentials) => signIn(c) }));

const fail = (status: number, code: string, message: string, retryAfter: string | null = null,
  fields: { path: string; message: string }[] = []) =>
  new ApiError(status, { error: { code, message, fields } }, retryAfter);

function fillPassword() {
  fireEvent.change(screen.getByLabelText("Email"), { target: { value: " ann@example.com " } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: "correct horse" } });
  fireEvent.click(screen.getByRole("button", { name: "Log in" }));
}

describe("Login", () => {
  beforeEach(() => signIn.mockReset());
  afterEach(cleanup);

  it("logs in and goes to the safe next path", async () => {
    signIn.mockResolvedValue();
    renderPage(Login, "/login?next=%2Fchallenges%2Fnew%3Fprogram%3Dgold-10k");
    fillPassword();
    await waitFor(() => expect(screen.getByTestId("location").textContent).toBe("/challenges/new?program=gold-10k"));
    expect(signIn).toHaveBeenCalledWith({ email: "ann@example.com", password: "correct horse" });
  });

  it("ignores a next that leaves the site", async () => {
    signIn.mockResolvedValue();
    renderPage(Login, "/login?next=%2F%2Fevil.example");
    fillPassword();
    await waitFor(() => expect(screen.getByTestId("location").textContent).toBe("/dashboard"));
  });

  it("asks for the two-factor code, or a recovery code instead", async () => {
    signIn.mockRejectedValueOnce(fail(401, "totp_required", "a two-factor code is required"));
    signIn.mockRejectedValueOnce(fail(401, "totp_invalid", "the two-factor code is wrong or was already used"));
    signIn.mockRejectedValueOnce(fail(401, "recovery_code_invalid", "the recovery code is wrong"));
    signIn.mockResolvedValueOnce();
    const { container } = renderPage(Login, "/login");
    fillPassword();
    const code = await screen.findByLabelText("Authentication code");
    expect(document.activeElement).toBe(code);
    expect(await axeProblems(container)).toEqual([]);
    fireEvent.change(code, { target: { value: "123 456" } });
    fireEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByText(/The code is wrong or was already used/)).toBeTruthy();
    expect(signIn).toHaveBeenLastCalledWith({ email: "ann@example.com", password: "correct horse", totp_code: "123456" });

    fireEvent.click(screen.getByRole("button", { name: "Use a recovery code instead" }));
    const recovery = screen.getByLabelText("Recovery code");
    fireEvent.change(recovery, { target: { value: "abcde-12345" } });
    fireEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByText(/recovery code is wrong or was already used/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Log in" }));
    await waitFor(() => expect(screen.getByTestId("location").textContent).toBe("/dashboard"));
    expect(signIn).toHaveBeenLastCalledWith({ email: "ann@example.com", password: "correct horse", recovery_code: "abcde-12345" });
  });

  it("shows a 429 with its wait and 422 messages on their fields", async () => {
    signIn.mockRejectedValueOnce(fail(429, "rate_limited", "Too many failed logins.", "120"));
    signIn.mockRejectedValueOnce(fail(422, "validation_failed", "bad", null,
      [{ path: "$.email", message: "not an e-mail address" }]));
    const { container } = renderPage(Login, "/login");
    fillPassword();
    expect(await screen.findByText("Too many failed logins. Try again in 2 minutes.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Log in" }));
    const message = await screen.findByText("Not an e-mail address");
    expect(screen.getByLabelText("Email").getAttribute("aria-describedby")).toContain(message.id);
    expect(screen.queryByText("Too many failed logins. Try again in 2 minutes.")).toBeNull();
    expect(await axeProblems(container)).toEqual([]);
  });

  it("links to registration and password reset", () => {
    renderPage(Login, "/login");
    expect(screen.getByRole("link", { name: "Create an account" }).getAttribute("href")).toBe("/register");
    expect(screen.getByRole("link", { name: "Forgot your password?" }).getAttribute("href")).toBe("/forgot-password");
  });
});
