import { describe, expect, test } from "bun:test";
import {
  AlreadyExistsError,
  ConflictError,
  errorFromStatus,
  ForbiddenError,
  GoneError,
  InvalidError,
  KubeApiError,
  NotFoundError,
  ServerTimeoutError,
  statusFromBody,
  TooManyRequestsError,
  UnauthorizedError,
} from "../../../src/kube/errors.ts";

const ctx = { method: "PUT", path: "/api/v1/namespaces/a/configmaps/c" };

describe("errorFromStatus", () => {
  test("maps each code to its class", () => {
    const cases: [number, string, new (...a: never[]) => KubeApiError][] = [
      [401, "Unauthorized", UnauthorizedError],
      [403, "Forbidden", ForbiddenError],
      [404, "NotFound", NotFoundError],
      [409, "Conflict", ConflictError],
      [410, "Expired", GoneError],
      [429, "TooManyRequests", TooManyRequestsError],
      [504, "Timeout", ServerTimeoutError],
      [500, "ServerTimeout", ServerTimeoutError],
      [500, "InternalError", KubeApiError],
    ];
    for (const [code, reason, cls] of cases) {
      const err = errorFromStatus({ kind: "Status", code, reason, message: "m" }, ctx);
      expect(err).toBeInstanceOf(cls);
      expect(err.code).toBe(code);
      expect(err.reason).toBe(reason);
    }
  });

  test("AlreadyExists is a ConflictError told apart by reason", () => {
    const exists = errorFromStatus(
      { code: 409, reason: "AlreadyExists", message: 'configmaps "c" already exists' },
      ctx,
    );
    expect(exists).toBeInstanceOf(AlreadyExistsError);
    expect(exists).toBeInstanceOf(ConflictError);
    expect((exists as ConflictError).alreadyExists).toBe(true);
    const stale = errorFromStatus({ code: 409, reason: "Conflict", message: "the object has been modified" }, ctx);
    expect(stale).not.toBeInstanceOf(AlreadyExistsError);
    expect((stale as ConflictError).alreadyExists).toBe(false);
  });

  test("Invalid carries the causes and names the field paths in its message", () => {
    const err = errorFromStatus(
      {
        kind: "Status",
        code: 422,
        reason: "Invalid",
        message: 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value',
        details: {
          causes: [
            { field: "metadata.name", reason: "FieldValueInvalid", message: "Invalid value: must be lowercase" },
            { field: "data[x y]", reason: "FieldValueInvalid", message: "bad key" },
          ],
        },
      },
      ctx,
    );
    expect(err).toBeInstanceOf(InvalidError);
    const invalid = err as InvalidError;
    expect(invalid.causes).toEqual([
      { field: "metadata.name", reason: "FieldValueInvalid", message: "Invalid value: must be lowercase" },
      { field: "data[x y]", reason: "FieldValueInvalid", message: "bad key" },
    ]);
    expect(invalid.message).toContain("fields: metadata.name, data[x y]");
    expect(invalid.message).toContain(ctx.path);
  });

  test("throttling and server timeouts are retryable, others not", () => {
    expect(errorFromStatus({ code: 429, details: { retryAfterSeconds: 3 } }, ctx).retryable).toBe(true);
    expect(
      (errorFromStatus({ code: 429, details: { retryAfterSeconds: 3 } }, ctx) as TooManyRequestsError)
        .retryAfterSeconds,
    ).toBe(3);
    expect(errorFromStatus({ code: 504 }, ctx).retryable).toBe(true);
    expect(errorFromStatus({ code: 404 }, ctx).retryable).toBe(false);
  });
});

describe("statusFromBody", () => {
  test("keeps a Status body, fills a missing code from HTTP", () => {
    expect(statusFromBody(404, { kind: "Status", reason: "NotFound" }, "Not Found")).toEqual({
      kind: "Status",
      reason: "NotFound",
      code: 404,
    });
  });
  test("turns a plain-text answer into a Status with the reason for the code", () => {
    const s = statusFromBody(503, "upstream connect error\n", "Service Unavailable");
    expect(s).toMatchObject({ code: 503, reason: "ServiceUnavailable", message: "upstream connect error" });
    expect(statusFromBody(502, "", "Bad Gateway").message).toBe("Bad Gateway");
  });
});
