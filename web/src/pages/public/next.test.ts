import { describe, expect, it } from "vitest";
import { safeNext } from "./next";

describe("safeNext", () => {
  it("keeps a path on this site, with its query and hash", () => {
    expect(safeNext("/challenges/12")).toBe("/challenges/12");
    expect(safeNext("/challenges/new?program=gold-10k")).toBe("/challenges/new?program=gold-10k");
    expect(safeNext("/accounts/T1C7P1#trades")).toBe("/accounts/T1C7P1#trades");
  });

  it("falls back without a next", () => {
    expect(safeNext(null)).toBe("/dashboard");
    expect(safeNext(undefined)).toBe("/dashboard");
    expect(safeNext("")).toBe("/dashboard");
    expect(safeNext(null, "/programs")).toBe("/programs");
  });

  it.each([
    "//evil.example",
    "//evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "dashboard",
    "/\t/evil.example",
    "/\n/evil.example",
    " /dashboard",
    "/%0a/evil",
  ])("refuses %j", (raw) => {
    const out = safeNext(raw);
    expect(out.startsWith("/")).toBe(true);
    expect(out.startsWith("//")).toBe(false);
    expect(new URL(out, "https://firm.example").origin).toBe("https://firm.example");
    if (raw !== "/%0a/evil") expect(out).toBe("/dashboard");
  });

  it("does not loop back to the login", () => {
    expect(safeNext("/login")).toBe("/dashboard");
    expect(safeNext("/login?next=/x")).toBe("/dashboard");
    expect(safeNext("/register")).toBe("/dashboard");
    expect(safeNext("/logins-report")).toBe("/logins-report");
  });

  it("normalises dot segments", () => {
    expect(safeNext("/a/../settings")).toBe("/settings");
  });

  it("refuses very long values", () => {
    expect(safeNext(`/${"a".repeat(3000)}`)).toBe("/dashboard");
  });
});
