import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createElement as h, StrictMode } from "react";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { answer, fakeApi, requests, resetApi } from "./fake-api";
import ForgotPassword from "./ForgotPassword";
import Register from "./Register";
import ResetPassword from "./ResetPassword";
import VerifyEmail from "./VerifyEmail";
import { axeProblems, renderPage } from "./test-utils";

vi.mock("../../api/client", async (original) => ({
  ...(await original<typeof import("../../api/client")>()),
  api: fakeApi,
}));

const user = { id: 1, email: "ann@example.com", display_name: "Ann", role: "trader",
  email_verified: false, two_factor: false, created_at: "2026-03-02T09:00:00Z" };

describe("account pages", () => {
  beforeEach(resetApi);
  afterEach(cleanup);

  it("registers and says where the mail went", async () => {
    answer("POST", "/api/v1/auth/register", { status: 422, body: { error: { code: "validation_failed",
      message: "$.password: the password is one of the most common passwords",
      fields: [{ path: "$.password", message: "the password is one of the most common passwords" }] } } });
    answer("POST", "/api/v1/auth/register", { status: 201, body: user });
    const { container } = renderPage(Register, "/register");
    expect(await axeProblems(container)).toEqual([]);
    fireEvent.change(screen.getByLabelText("Display name"), { target: { value: "Ann" } });
    fireEvent.change(screen.getByLabelText("Email"), { target: { value: "ann@example.com" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "password123" } });
    fireEvent.change(screen.getByLabelText("Confirm password"), { target: { value: "password12" } });
    fireEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("The two passwords differ.")).toBeTruthy();
    expect(requests).toHaveLength(0);
    fireEvent.change(screen.getByLabelText("Confirm password"), { target: { value: "password123" } });
    fireEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("The password is one of the most common passwords")).toBeTruthy();
    expect(screen.getByLabelText("Password").getAttribute("aria-invalid")).toBe("true");
    fireEvent.click(screen.getByRole("button", { name: "Create account" }));
    const heading = await screen.findByRole("heading", { name: "Check your mail" });
    expect(document.activeElement).toBe(heading);
    expect(screen.getByText("ann@example.com")).toBeTruthy();
    expect(requests.at(-1)?.body).toEqual({ email: "ann@example.com", password: "password123", display_name: "Ann" });
    expect(await axeProblems(container)).toEqual([]);
  });

  it("confirms an address once, even under StrictMode", async () => {
    answer("POST", "/api/v1/auth/verify", { status: 200, body: { ...user, email_verified: true } });
    const client = new QueryClient();
    render(h(StrictMode, null, h(QueryClientProvider, { client },
      h(MemoryRouter, { initialEntries: ["/verify-email?token=abc"] }, h(VerifyEmail)))));
    expect(await screen.findByRole("heading", { name: "Your e-mail address is confirmed" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Log in" }).getAttribute("href")).toBe("/login");
    expect(requests).toEqual([{ method: "POST", path: "/api/v1/auth/verify", body: { token: "abc" } }]);
  });

  it("explains a used or expired confirmation link", async () => {
    answer("POST", "/api/v1/auth/verify", { status: 400, body: { error: { code: "token_invalid",
      message: "the link is invalid, used or expired" } } });
    const { container } = renderPage(VerifyEmail, "/verify-email?token=old");
    expect(await screen.findByRole("heading", { name: "This link no longer works" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "password reset link" }).getAttribute("href")).toBe("/forgot-password");
    expect(await axeProblems(container)).toEqual([]);
  });

  it("asks for a reset link without saying whether the account exists", async () => {
    answer("POST", "/api/v1/auth/password/forgot", { status: 429, retryAfter: "30",
      body: { error: { code: "rate_limited", message: "Too many requests." } } });
    answer("POST", "/api/v1/auth/password/forgot", { status: 202, body: { status: "accepted" } });
    renderPage(ForgotPassword, "/forgot-password");
    fireEvent.change(screen.getByLabelText("Email"), { target: { value: "who@example.com" } });
    fireEvent.click(screen.getByRole("button", { name: "Send reset link" }));
    expect(await screen.findByText("Too many requests. Try again in 30 seconds.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Send reset link" }));
    expect(await screen.findByText(/If an account exists for/)).toBeTruthy();
    expect(screen.getByText("who@example.com")).toBeTruthy();
  });

  it("sets a new password with the token, then links to the login", async () => {
    answer("POST", "/api/v1/auth/password/reset", { status: 204 });
    const { container } = renderPage(ResetPassword, "/reset-password?token=t0k");
    expect(await axeProblems(container)).toEqual([]);
    fireEvent.change(screen.getByLabelText("New password"), { target: { value: "a long new one" } });
    fireEvent.change(screen.getByLabelText("Confirm new password"), { target: { value: "a long new one" } });
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Set new password" })));
    await waitFor(() => expect(screen.getByRole("heading", { name: "Your password is changed" })).toBeTruthy());
    expect(requests.at(-1)?.body).toEqual({ token: "t0k", password: "a long new one" });
    expect(screen.getByRole("link", { name: "Log in" }).getAttribute("href")).toBe("/login");
  });

  it("offers a new link when the reset token is spent", async () => {
    answer("POST", "/api/v1/auth/password/reset", { status: 400, body: { error: { code: "token_invalid",
      message: "the link is invalid, used or expired" } } });
    renderPage(ResetPassword, "/reset-password?token=old");
    fireEvent.change(screen.getByLabelText("New password"), { target: { value: "a long new one" } });
    fireEvent.change(screen.getByLabelText("Confirm new password"), { target: { value: "a long new one" } });
    fireEvent.click(screen.getByRole("button", { name: "Set new password" }));
    expect(await screen.findByRole("link", { name: "Ask for a new link" })).toBeTruthy();
  });
});
