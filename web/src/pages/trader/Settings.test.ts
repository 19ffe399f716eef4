import { act, cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useSession, type User } from "../../session/store";
import { answer, fakeApi, requests, resetApi } from "../public/fake-api";
import { axeProblems, renderPage } from "../public/test-utils";
import Settings, { groupSecret, recoveryCodesText } from "./Settings";

vi.mock("../../api/client", async (original) => ({
  ...(await original<typeof import("../../api/client")>()),
  api: fakeApi,
}));
const adoptTokens = vi.fn(async () => {});
const signOut = vi.fn(async () => useSession.getState().signOut());
vi.mock("../../session/auth", () => ({ adoptTokens: () => adoptTokens(), signOut: () => signOut() }));
vi.mock("qrcode", () => ({ toDataURL: async () => "data:image/png;base64,iVBORw0KGgo=" }));

const USER: User = { id: 7, email: "ann@example.com", display_name: "Ann", role: "trader",
  email_verified: true, two_factor: false, created_at: "2026-03-02T09:00:00Z" };
const CODES = Array.from({ length: 10 }, (_, i) => `abcd${i}-1234${i}`);

function here() {
  return screen.getByTestId("here").textContent;
}

describe("Settings", () => {
  beforeEach(() => {
    resetApi();
    adoptTokens.mockClear();
    signOut.mockClear();
    answer("GET", "/api/v1/tenant", { status: 200, body: { name: "Acme Funding" } });
    useSession.setState({ status: "signed-in", accessToken: "t", user: USER });
  });
  afterEach(cleanup);

  it("keeps the tab in the address", async () => {
    answer("GET", "/api/v1/me/notifications", { status: 200, body: { purchase: true, account_opened: true,
      failed: true, passed: true, phase_opened: false, stopped: true, reinstated: true,
      essential: ["purchase", "failed", "stopped", "reinstated"] } });
    const { container } = renderPage(Settings, "/settings/security", "/settings/:tab");
    expect(screen.getByRole("tab", { name: "Security" }).getAttribute("aria-selected")).toBe("true");
    expect(screen.getByRole("button", { name: "Enable two-factor authentication" })).toBeTruthy();
    expect(await axeProblems(container)).toEqual([]);
    const notifications = screen.getByRole("tab", { name: "Notifications" });
    fireEvent.mouseDown(notifications);
    await waitFor(() => expect(here()).toBe("/settings/notifications"));
    expect(notifications.getAttribute("aria-selected")).toBe("true");

    const receipts = await screen.findByRole("switch", { name: "Payment receipts" });
    expect(receipts.getAttribute("aria-checked")).toBe("true");
    expect((receipts as HTMLButtonElement).disabled).toBe(true);
    const phase = screen.getByRole("switch", { name: "Next phase opened" });
    expect(phase.getAttribute("aria-checked")).toBe("false");
    answer("PUT", "/api/v1/me/notifications", (init) => ({ status: 200, body: { purchase: true,
      account_opened: true, failed: true, passed: true, phase_opened: (init?.body as { phase_opened: boolean }).phase_opened,
      stopped: true, reinstated: true, essential: ["purchase", "failed", "stopped", "reinstated"] } }));
    fireEvent.click(phase);
    await waitFor(() => expect(phase.getAttribute("aria-checked")).toBe("true"));
    expect(requests.at(-1)).toEqual({ method: "PUT", path: "/api/v1/me/notifications", body: { phase_opened: true } });
    expect(await axeProblems(container)).toEqual([]);
  });

  it("turns two-factor authentication on and shows the recovery codes once", async () => {
    answer("POST", "/api/v1/me/2fa/setup", { status: 200,
      body: { secret: "JBSWY3DPEHPK3PXP", otpauth_uri: "otpauth://totp/Acme:ann%40example.com?secret=JBSWY3DPEHPK3PXP" } });
    answer("POST", "/api/v1/me/2fa/confirm", { status: 422,
      body: { error: { code: "totp_invalid", message: "$.code: the code is wrong or was already used" } } });
    answer("POST", "/api/v1/me/2fa/confirm", { status: 200, body: { recovery_codes: CODES } });
    answer("GET", "/api/v1/me", { status: 200, body: { ...USER, two_factor: true } });
    const { container } = renderPage(Settings, "/settings/security", "/settings/:tab");
    fireEvent.click(screen.getByRole("button", { name: "Enable two-factor authentication" }));
    const qr = await screen.findByRole("img", { name: /QR code to add this account/ });
    expect(qr.getAttribute("src")).toMatch(/^data:image\/png/);
    expect(screen.getByText("JBSW Y3DP EHPK 3PXP")).toBeTruthy();
    expect(await axeProblems(container)).toEqual([]);
    fireEvent.change(screen.getByLabelText("Authentication code"), { target: { value: "000 000" } });
    fireEvent.click(screen.getByRole("button", { name: "Confirm" }));
    expect(await screen.findByText(/The code is wrong or was already used/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Confirm" }));
    const list = await screen.findByRole("list", { name: "Recovery codes" });
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual(CODES);
    expect(screen.getByText("These codes are shown only once.")).toBeTruthy();
    expect(requests.filter((r) => r.path === "/api/v1/me/2fa/confirm").at(-1)?.body).toEqual({ code: "000000" });
    await waitFor(() => expect(useSession.getState().user?.two_factor).toBe(true));
    expect(await axeProblems(container)).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "I have saved them" }));
    expect(screen.queryByRole("list", { name: "Recovery codes" })).toBeNull();
    expect(screen.getByRole("button", { name: "Disable two-factor authentication" })).toBeTruthy();
  });

  it("turns two-factor authentication off with a recovery code", async () => {
    useSession.setState({ user: { ...USER, two_factor: true } });
    answer("POST", "/api/v1/me/2fa/disable", { status: 204 });
    answer("GET", "/api/v1/me", { status: 200, body: USER });
    renderPage(Settings, "/settings/security", "/settings/:tab");
    fireEvent.click(screen.getByRole("button", { name: "Use a recovery code instead" }));
    fireEvent.change(screen.getByLabelText("Recovery code"), { target: { value: " abcde-12345 " } });
    fireEvent.click(screen.getByRole("button", { name: "Disable two-factor authentication" }));
    expect(await screen.findByRole("button", { name: "Enable two-factor authentication" })).toBeTruthy();
    expect(requests.find((r) => r.path === "/api/v1/me/2fa/disable")?.body).toEqual({ code: "abcde-12345" });
  });

  it("changes the password and adopts the new tokens", async () => {
    answer("POST", "/api/v1/me/password", { status: 422, body: { error: { code: "validation_failed",
      message: "bad", fields: [{ path: "$.new_password", message: "the password must be at least 10 characters" }] } } });
    answer("POST", "/api/v1/me/password", { status: 200,
      body: { access_token: "a", refresh_token: null, expires_in: 900, token_type: "Bearer" } });
    renderPage(Settings, "/settings/security", "/settings/:tab");
    fireEvent.change(screen.getByLabelText("Current password"), { target: { value: "old password" } });
    fireEvent.change(screen.getByLabelText("New password"), { target: { value: "short" } });
    fireEvent.change(screen.getByLabelText("Confirm new password"), { target: { value: "short" } });
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByText("The password must be at least 10 characters")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(adoptTokens).toHaveBeenCalledOnce());
    expect(requests.at(-1)?.body).toEqual({ current_password: "old password", new_password: "short", session: "cookie" });
  });

  it("saves the display name", async () => {
    answer("PATCH", "/api/v1/me", { status: 200, body: { ...USER, display_name: "Ann B." } });
    renderPage(Settings, "/settings", "/settings");
    expect(screen.getByRole("tab", { name: "Profile" }).getAttribute("aria-selected")).toBe("true");
    fireEvent.change(screen.getByLabelText("Display name"), { target: { value: " Ann B. " } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(useSession.getState().user?.display_name).toBe("Ann B."));
    expect(requests.at(-1)).toEqual({ method: "PATCH", path: "/api/v1/me", body: { display_name: "Ann B." } });
  });

  it("signs out everywhere after a confirmation", async () => {
    answer("POST", "/api/v1/me/sessions/revoke", { status: 204 });
    renderPage(Settings, "/settings/security", "/settings/:tab");
    fireEvent.click(screen.getByRole("button", { name: "Sign out everywhere" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Sign out everywhere?" });
    await act(async () => fireEvent.click(within(dialog).getByRole("button", { name: "Sign out everywhere" })));
    await waitFor(() => expect(here()).toBe("/login"));
    expect(signOut).toHaveBeenCalledOnce();
    expect(requests.some((r) => r.path === "/api/v1/me/sessions/revoke")).toBe(true);
  });

  it("sends an unknown tab to the first", async () => {
    renderPage(Settings, "/settings/nope", "/settings/:tab");
    await waitFor(() => expect(here()).toBe("/settings"));
  });

  it("words the recovery file and groups the key", () => {
    const text = recoveryCodesText(["a-b", "c-d"], "Acme", "ann@example.com");
    expect(text.split("\n")[0]).toBe("Recovery codes for Acme — ann@example.com");
    expect(text).toContain("\na-b\nc-d\n");
    expect(groupSecret("JBSWY3DPEHPK3PXPAB")).toBe("JBSW Y3DP EHPK 3PXP AB");
  });
});
