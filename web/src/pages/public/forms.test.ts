import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/errors";
import { fieldError, formError, sentence } from "./forms";

const unprocessable = (fields: { path: string; message: string }[]) =>
  new ApiError(422, { error: { code: "validation_failed", message: "bad", fields } }, null);

describe("form errors", () => {
  it("puts a 422's field message on its input, capitalised", () => {
    const error = unprocessable([{ path: "$.password", message: "the password is too short" }]);
    expect(fieldError(error, "password")).toBe("The password is too short");
    expect(fieldError(error, "email")).toBeUndefined();
    expect(fieldError(new Error("x"), "password")).toBeUndefined();
  });

  it("shows the error above the form only when no input shows it", () => {
    const onField = unprocessable([{ path: "$.password", message: "too short" }]);
    expect(formError(onField, ["email", "password"])).toBeNull();
    const elsewhere = unprocessable([{ path: "$.session", message: "unknown" }]);
    expect(formError(elsewhere, ["email", "password"])).toBe(elsewhere);
    const noFields = unprocessable([]);
    expect(formError(noFields, ["email"])).toBe(noFields);
    const limited = new ApiError(429, { error: { code: "rate_limited", message: "Too many." } }, "60");
    expect(formError(limited, ["email"])).toBe(limited);
    expect(formError(null, ["email"])).toBeNull();
  });

  it("reads the field from a 422 that names it only in its message", () => {
    const error = new ApiError(422, { error: { code: "totp_invalid",
      message: "$.code: the code is wrong or was already used" } }, null);
    expect(fieldError(error, "code")).toBe("The code is wrong or was already used");
    expect(fieldError(error, "email")).toBeUndefined();
    expect(formError(error, ["code"])).toBeNull();
    expect(formError(error, ["email"])).toBe(error);
  });

  it("capitalises a sentence", () => {
    expect(sentence("abc")).toBe("Abc");
    expect(sentence("")).toBe("");
  });
});
