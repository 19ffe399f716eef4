import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/errors";
import { COLOR, fieldError, lines, previewDocument } from "./firm";

describe("the firm settings page", () => {
  it("reads lists one a line, by commas or spaces, without blanks", () => {
    expect(lines("a.example\n\n b.example, c.example  ")).toEqual(["a.example", "b.example", "c.example"]);
    expect(lines("  \n")).toEqual([]);
  });

  it("shows the API's message under the field it names, or under its list", () => {
    const error = new ApiError(422, { error: { code: "validation_failed", message: "m", fields: [
      { path: "$.domains[1]", message: "beta.example is another firm's domain" },
      { path: "$.branding.primary_color", message: "bad colour" }] } }, null);
    expect(fieldError(error, "$.domains")).toBe("beta.example is another firm's domain");
    expect(fieldError(error, "$.branding.primary_color")).toBe("bad colour");
    expect(fieldError(error, "$.branding.name")).toBeUndefined();
    expect(fieldError(new Error("x"), "$.domains")).toBeUndefined();
  });

  it("takes colours only as #rrggbb", () => {
    expect(COLOR.test("#b4121B")).toBe(true);
    for (const bad of ["red", "#fff", "#b4121b1", " #b4121b"]) expect(COLOR.test(bad)).toBe(false);
  });

  it("previews in the app's outline with the nonce on its one style element", () => {
    const page = previewDocument("#root > div > header { background: #fde68a }", "#b4121b", "#1b4fb4", "N0NCE");
    expect(page.match(/<style/g)).toHaveLength(1);
    expect(page).toContain('<style nonce="N0NCE">');
    expect(page).toContain("--brand: #b4121b; --brand-accent: #1b4fb4;");
    expect(page).toContain('<div id="root"><div><header>');
    expect(page).toContain("#root > div > header { background: #fde68a }");
    expect(page).not.toContain("<script");
  });

  it("never lets the CSS end its style element", () => {
    const page = previewDocument("a{}</style><script>alert(1)</script>", "#000000", "#000000", "n");
    expect(page).not.toMatch(/<\/style><script/i);
    expect(page.match(/<\/style/gi)).toHaveLength(1);
  });
});
